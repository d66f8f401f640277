"""The debugger and teaching tools: they watch the machine and the kernel, and change neither's rules.

The gdb remote stub and its monitor commands, `emu walk`'s explanations, traces, the run
report and the statistics. They may import the hardware and the kernel; nothing below
imports them (the kernel and the CPU are handed a tracer and a stats object at boot).
"""
