"""The guest kernel: what Linux does in software, written in Python.

Laid out as Linux's own tree is:

- `arch/`  the x86-64 entry layer: the ring-0 stub, trap frames, user-memory access and
           the Linux ABI's struct layouts (Linux's arch/x86/);
- `mm/`    memory management: VMAs, the kernel's page-table edits, frames, page faults,
           mmap/mprotect/munmap/madvise, hugetlb (Linux's mm/);
- `fs/`    files: fd tables, the VFS, host files, devices, pipes, sockets, poll/epoll
           (Linux's fs/ and net/unix/);
- `tasks/` processes, threads, the scheduler, signals, futexes, exec and clocks (Linux's kernel/);
- `kernel.py` boots the kernel and dispatches traps and syscalls; `syscalls.py` is the table.

The kernel may import `emu.hardware`, never `emu.debug` or the command line, and never
Unicorn: it drives the CPU through the operations in docs/architecture.md.
"""
