"""The kernel's own slips, made into a guest's answer (issue 10, points 9-12 and 14):
a user pointer fault that a system call let through, guest-controlled text in emu's
messages, and host memory per fork+exec. The signal-frame, waitid and clone cases are
libc/kfix_sigframe and libc/kfix_wait, compared against native runs in test_libc.py."""

import gc
import io
import shutil
import struct

from emu.hardware import cpu as cpu_module
from emu.kernel import kernel as kernel_module
from emu.kernel.arch.uaccess import UserFault
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


# -- host memory per fork+exec -----------------------------------------------------------------

def vm_rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_host_memory_per_fork_exec_is_bounded(guests, monkeypatch):
    """Fork+exec in a loop: QEMU's translation cache is bounded (emu/hardware/cpu.py TCG_BUFFER_SIZE,
    here made 1 MiB so that a short run fills it many times), and no Python object of the
    kernel is left behind per process: growth from the 50th exec to the 250th is small."""
    monkeypatch.setattr(cpu_module, "TCG_BUFFER_SIZE", 1 << 20, raising=False)
    samples = []
    exec_image = kernel_module.Kernel.exec_image

    def sampled(self, *args, **kwargs):
        if len(samples) in (50, 250):
            gc.collect()
            samples.append((vm_rss_kib(), len(gc.get_objects())))
        else:
            samples.append(None)
        return exec_image(self, *args, **kwargs)

    monkeypatch.setattr(kernel_module.Kernel, "exec_image", sampled)
    out = io.BytesIO()
    machine = Machine(Options(stdout=out, root=str(guests.parent)))
    report = machine.run(str(guests / "libc/kfix_forkexec.elf"), ["kfix_forkexec", "260", "/guest/hello.elf"], [])
    assert report.status == 0 and out.getvalue() == b"/guest/hello.elf: exit 0 x260\n"
    (rss_50, objects_50), (rss_250, objects_250) = samples[50], samples[250]
    assert objects_250 - objects_50 < 200, (objects_50, objects_250)
    assert rss_250 - rss_50 < 3 * 1024, f"VmRSS grew by {rss_250 - rss_50} KiB over 200 fork+execs"


def exit_elf(status: int) -> bytes:
    """A 4 KiB static ELF whose code is `mov eax, 60; mov edi, status; syscall`: two of
    them differ in one byte of code, at the same address and the same file offset."""
    code = b"\xb8\x3c\x00\x00\x00" + b"\xbf" + struct.pack("<I", status) + b"\x0f\x05"
    entry_offset = 64 + 56
    header = (b"\x7fELF\x02\x01\x01" + bytes(9)
              + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x400000 + entry_offset, 64, 0, 0, 64, 56, 1, 0, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 4096, 4096, 4096)   # PT_LOAD R+X
    return (header + phdr + code).ljust(4096, b"\0")


def test_a_freed_frame_of_code_never_runs_its_old_translation(guests, tmp_path):
    """Two programs alike but for their code, exec'd in turn: a frame of one is freed at
    its exit and may hold the other's code next, at the same address. QEMU's translation
    cache is keyed by physical address and does not see emu's host-side writes, so the
    kernel flushes it once code frames were freed (emu/hardware/physmem.py code_freed)."""
    (tmp_path / "one.elf").write_bytes(exit_elf(1))
    (tmp_path / "two.elf").write_bytes(exit_elf(2))
    (tmp_path / "one.elf").chmod(0o755)
    (tmp_path / "two.elf").chmod(0o755)
    shutil.copy(guests / "libc/kfix_forkexec.elf", tmp_path / "loop.elf")
    result = run_emu("run", "--root", tmp_path, tmp_path / "loop.elf", "200", "/one.elf", "/two.elf", timeout=60)
    assert result.stdout == "/one.elf: exit 1 x100\n/two.elf: exit 2 x100\n", result.stdout + result.stderr
