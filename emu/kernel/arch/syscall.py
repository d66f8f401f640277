"""How a system call fails: `raise SyscallError(errno.EINVAL)`, as gVisor's syserror and Linux's -E returns.

A handler returns its result (a count, an address, a file descriptor, or a Block when it
must wait) and raises SyscallError for a failure. `Kernel.on_syscall` turns the error into
the negative errno Linux puts in rax. A bad user pointer raises UserFault, a SyscallError
whose errno is EFAULT (emu/kernel/arch/uaccess.py), so a handler that lets it through
returns -EFAULT just as Linux's copy_from_user callers do; kernel code that must do
something else on a bad pointer (a signal frame, a robust futex list) catches UserFault.
"""

import errno


class SyscallError(Exception):
    """A system call's failure: `errno` is the positive Linux error number."""

    def __init__(self, code: int, why: str = ""):
        super().__init__(why or errno.errorcode.get(code, str(code)))
        self.errno = code

    @property
    def result(self) -> int:
        """The value for rax: -errno."""
        return -self.errno


class UserFault(SyscallError):
    """A kernel access to user memory failed: EFAULT (a bad pointer from user space)."""

    def __init__(self, va: int):
        super().__init__(errno.EFAULT, f"bad user address {va:#x}")
        self.va = va
