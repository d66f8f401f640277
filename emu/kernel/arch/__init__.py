"""The x86-64 entry layer: the ring-0 stub, trap frames, user-memory access, the Linux ABI's structs.

What Linux keeps in arch/x86/: the code a trap or a syscall enters first, and the byte
layouts user space and the kernel agree on.
"""
