"""The hardware: what an x86-64 machine does by itself, before any software runs.

The CPU (Unicorn, and the exception delivery the SDM describes around it), the MMU's
four-level walk, the TLB, the paging-entry formats, physical memory and instruction
decoding. Everything here follows the Intel SDM (Vol. 3A chapters 4 and 6), and nothing
here knows there is a kernel: this package imports nothing from `emu.kernel` or
`emu.debug`. The kernel talks to it only through the operations docs/architecture.md lists.
"""
