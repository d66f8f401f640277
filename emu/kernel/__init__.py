"""The guest kernel: what Linux does in software, written in Python (page tables, VMAs, syscalls)."""
