"""emu's paravirtual port: how the ring-0 stub calls into the Python kernel.

There is no such device on a real PC. The stub (guest/kernel/stub.S) executes
`out HC_PORT, al` with al = a hypercall number; Unicorn hands that OUT to the CPU
model (Cpu.on_out), which passes it on to the kernel. The stub leaves the arguments
in its mailbox, two words the kernel names by symbol: `hc_frame` (the kernel virtual
address of the trap frame it saved) and `hc_cr2` (CR2 at the trap).

This module is the hardware's half of that contract, the numbers the CPU listens for.
The trap frame's layout is the kernel's half (emu/kernel/arch/stub.py): the CPU hands
over the frame's address and the kernel reads it (Kernel.read_trap_frame).
"""

HC_PORT = 0xE0          # the I/O port the stub writes to
HC_BOOT = 1             # the stub is in ring 0 with an empty trap frame: enter the first program
HC_TRAP = 2             # the stub saved an exception's trap frame: the kernel decides what it means
