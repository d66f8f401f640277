"""Kernel memory: what the guest kernel allocates for itself, taken from guest RAM.

Linux's pipe pages, socket buffers (skbs), epoll items, files and fd tables come from
the same page allocator as user memory (the slab sits on top of it), so a guest cannot
make its kernel hold more than the machine's RAM. emu keeps those buffers in Python
objects, so it counts them instead: `KernelMemory` charges their Linux sizes against
the frame allocator that `--memory` sizes, holding real 4 KiB frames for them (never
mapped, never written). When no frame is left, the charge fails and the guest's call
fails as Linux's does when an allocation fails: -ENOMEM (pipe_write, alloc_fd,
ep_insert, eventfd), -ENOBUFS (alloc_skb_with_frags), -ENFILE (get_pipe_inode), never
the emulator. The frames go back as the buffers drain and the objects close.

What may import it: the file side of the kernel (fs, af_unix, eventpoll). It imports
only physmem.
"""

from ...hardware.physmem import OutOfMemory
from ...hardware.paging import PAGE_SIZE

# Linux's object sizes (x86-64, 6.x: /proc/slabinfo's objsize, or the struct sizes).
FILE_COST = 192                  # struct file (the filp cache)
SOCKET_COST = 832 + 1024         # sock_inode_cache, and the UNIX cache's struct unix_sock
PIPE_COST = 1024                 # the pipe's inode and pipe_inode_info
PIPE_BUFFER_COST = 40            # struct pipe_buffer: one per slot (kcalloc'd in alloc_pipe_info)
EP_ITEM_COST = 128 + 56          # struct epitem + struct eppoll_entry (fs/eventpoll.c EP_ITEM_COST)
FD_SLOT_COST = 8                 # struct file * in the fd array (fs/file.c alloc_fdtable)
SPARE_FRAMES = 16                # frames kept back after a release, so a busy pipe does not churn


class KernelMemory:
    """Bytes charged by kernel objects, backed by whole frames from `frames`.

    `frames` None is an unbounded accountant (a kernel without RAM, in unit tests).
    """

    __slots__ = ("frames", "held", "used", "epoll_watches", "epolls", "carriers")

    def __init__(self, frames):
        self.frames = frames
        self.held: list[int] = []      # pas of the frames backing the charges
        self.used = 0                  # bytes charged
        self.epoll_watches = 0         # the user's epoll items (user->epoll_watches; one user here)
        self.epolls: set = set()       # the open epoll files, to sweep for items of closed files
        self.carriers: set = set()     # unix sockets whose queues may hold files (af_unix.unix_gc)

    def charge(self, size: int, *, nofail: bool = False) -> bool:
        """Take `size` more bytes; False (and nothing taken) if RAM is exhausted. With
        `nofail` (Linux's __GFP_NOFAIL, for small allocations a caller cannot undo) the
        bytes are counted even then, without frames behind them."""
        need = self.used + size
        if self.frames is not None:
            while len(self.held) * PAGE_SIZE < need:
                try:
                    self.held.append(self.frames.alloc_frame())
                except OutOfMemory:
                    if nofail:
                        break
                    self.trim()
                    return False
        self.used = need
        return True

    def uncharge(self, size: int) -> None:
        """Give back `size` bytes of an earlier charge."""
        self.used -= size
        assert self.used >= 0, "kernel memory uncharged more than it was charged"
        self.trim()

    def trim(self) -> None:
        """Free frames past what the charges need (all of them once nothing is charged)."""
        keep = -(-self.used // PAGE_SIZE)
        if self.used:
            keep += SPARE_FRAMES
        while len(self.held) > keep:
            self.frames.put_frame(self.held.pop())

    def total_pages(self) -> int:
        """The RAM the frame allocator manages, in pages (Linux's totalram_pages)."""
        return self.frames.total_chunks * (2 << 20) // PAGE_SIZE if self.frames is not None else 1 << 20


UNBOUNDED = KernelMemory(None)
