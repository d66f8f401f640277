"""emu: a full-system x86-64 emulator with a Python MMU, built on Unicorn."""

__version__ = "0.1.0"
