"""Errors that are emu's own fault, kept apart from everything a guest can cause."""


class EmulatorBug(Exception):
    """Something emu itself got wrong (never a guest's fault): a Python traceback is fair."""
