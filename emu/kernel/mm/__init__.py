"""Memory management: VMAs, the kernel's page-table edits, frames, page faults, mmap and hugetlb.

What Linux keeps in mm/. A page fault arrives here from the entry layer, finds its VMA and
calls the VMA's pagetable_ops `fault` (the device plugin's, hugetlb's or the generic one).
"""
