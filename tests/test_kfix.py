"""The kernel's own slips, made into a guest's answer (issue 10, points 9-12 and 14):
a user pointer fault that a system call let through, guest-controlled text in emu's
messages, and host memory per fork+exec. The signal-frame, waitid and clone cases are
libc/kfix_sigframe and libc/kfix_wait, compared against native runs in test_libc.py."""

import io
import shutil
import struct

from emu.kernel import kernel as kernel_module
from emu.kernel.mm import UserFault
from emu.machine import Machine, Options
from emu.text import printable
from tests.emu_runner import run_emu


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


# -- guest-controlled text in emu's messages (emu/text.py) ---------------------------------

PT_INTERP, PT_GNU_STACK = 3, 0x6474E551
HOSTILE = "\x1b[2J\nemu: fake"


def with_interp(src, dst, interp: bytes):
    """`src` with its PT_GNU_STACK header made a PT_INTERP naming `interp` (appended)."""
    raw = bytearray(src.read_bytes())
    phoff, = struct.unpack_from("<Q", raw, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", raw, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", raw, at)[0] == PT_GNU_STACK:
            struct.pack_into("<I", raw, at, PT_INTERP)
            struct.pack_into("<QQQQ", raw, at + 8, len(raw), 0, 0, len(interp) + 1)   # offset vaddr paddr filesz
            break
    else:
        raise AssertionError("no PT_GNU_STACK to reuse")
    dst.write_bytes(bytes(raw) + interp + b"\0")
    return dst


def test_printable_escapes_what_a_terminal_would_act_on():
    assert printable("/bin/ok é") == "/bin/ok é"
    assert printable(HOSTILE) == "\\x1b[2J\\nemu: fake"
    assert printable(b"a\xff\x07\\b") == "a\\xff\\x07\\\\b"
    assert printable("\u202eevil") == "\\u202eevil"


def test_an_elfs_interpreter_name_cannot_write_to_the_terminal(guests, tmp_path):
    elf = with_interp(guests / "hello.elf", tmp_path / "dyn.elf", HOSTILE.encode())
    result = run_emu("run", elf)
    assert result.returncode == 2
    assert "\x1b" not in result.stderr and result.stderr.count("\n") == 1, repr(result.stderr)
    assert "needs \\x1b[2J\\nemu: fake" in result.stderr


def test_a_program_path_is_escaped_in_the_kill_message_and_the_trace(guests, tmp_path):
    name = tmp_path / "u\x1b]0;title\x07\nd"
    shutil.copy(guests / "ud.elf", name)
    result = run_emu("run", "--trace", "fault", name)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith(("[fault]", "emu:")) for line in lines), lines
    assert any("u\\x1b]0;title\\x07\\nd (pid 1) killed by SIGILL" in line for line in lines)
