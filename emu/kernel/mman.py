"""Memory system calls: mmap, munmap, mprotect, brk, madvise, mremap (Linux mm/mmap.c, mm/mprotect.c)."""

SYSCALLS = {}
