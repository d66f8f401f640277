"""Tasks: processes, threads, the scheduler, signals, futexes, exec and clocks.

What Linux keeps in kernel/ (and fs/exec.c, which builds a new task image).
"""
