"""emu plugins: devices and pagetable_ops that a guest kernel can load (filled by a later issue)."""
