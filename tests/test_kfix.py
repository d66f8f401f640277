"""The kernel's own slips, made into a guest's answer (issue 10, points 9-12 and 14):
a user pointer fault that a system call let through, guest-controlled text in emu's
messages, and host memory per fork+exec. The signal-frame, waitid and clone cases are
libc/kfix_sigframe and libc/kfix_wait, compared against native runs in test_libc.py."""

import io

from emu.kernel import kernel as kernel_module
from emu.kernel.mm import UserFault
from emu.machine import Machine, Options


def test_a_stray_user_fault_is_efault_not_a_dead_emulator(guests, monkeypatch):
    """The dispatcher's last resort: a handler that lets UserFault out answers -EFAULT."""
    calls = []

    def leaky_write(kernel, proc, fd, buf, count, *_):
        calls.append(fd)
        raise UserFault(buf)

    monkeypatch.setitem(kernel_module.SYSCALLS, 1, leaky_write)
    out = io.BytesIO()
    machine = Machine(Options(stdout=out))
    report = machine.run(str(guests / "hello.elf"), ["hello.elf", "3"], [])
    assert calls and out.getvalue() == b""
    assert report.status == 3
