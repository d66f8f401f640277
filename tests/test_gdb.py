"""`emu run --gdb PORT` driven by the machine's real gdb in batch mode (docs/debugging.md).

Each test starts emu with a free port, waits for its "waiting for gdb" line, runs
`gdb -batch -ex ...` against it and checks gdb's output and emu's.
"""

import shutil
import signal
import socket
import re
import subprocess
import sys
import time

import pytest

from emu_runner import REPO

GDB = shutil.which("gdb")
pytestmark = pytest.mark.skipif(GDB is None, reason="no gdb on this machine")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_emu(elf: str, port: int, options: tuple = (), args: tuple = ()) -> subprocess.Popen:
    emu = subprocess.Popen([sys.executable, "-m", "emu", "run", "--gdb", str(port), *options, elf, *args], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = emu.stderr.readline()
    assert "waiting for gdb on 127.0.0.1" in line, line
    return emu


def gdb_args(elf: str, port: int, commands) -> list:
    args = [GDB, "-nx", "-batch", "-ex", "set pagination off", "-ex", f"file {elf}",
            "-ex", f"target remote :{port}"]
    for command in commands:
        args += ["-ex", command]
    return args


def debug(elf: str, *commands, timeout: float = 60, options: tuple = (), args: tuple = ()):
    """Run gdb's `commands` against `emu run --gdb`; return (gdb output, emu's stdout+stderr, status)."""
    port = free_port()
    emu = start_emu(elf, port, options, args)
    try:
        gdb = subprocess.run(gdb_args(elf, port, commands), cwd=REPO, capture_output=True,
                             text=True, timeout=timeout)
        out, err = emu.communicate(timeout=timeout)
    finally:
        if emu.poll() is None:
            emu.kill()
            emu.communicate()
    assert "Traceback" not in err, err
    return gdb.stdout + gdb.stderr, out + err, emu.returncode


def test_registers_breakpoint_and_stepi():
    gdb, emu, status = debug(
        "guest/hello.elf",
        "info registers rip cs ss fs_base gs_base cr0 cr3 cr4 efer",
        "break main", "continue", "p/x $pc", "stepi", "p/x $pc", "continue")
    assert "_start () at guest/lib/start.S" in gdb                # the first stop: the entry point
    assert "cr0            0x80010033" in gdb                      # PE PG WP ...
    assert "efer           0xd01" in gdb                           # SCE LME LMA NXE
    assert "cs             0x33" in gdb                            # ring 3
    assert "Breakpoint 1, main (" in gdb
    assert "$1 = 0x401000" in gdb and "$2 = 0x401002" in gdb       # stepi: one instruction
    assert "exited normally" in gdb
    assert "Hello from a guest in ring 3!" in emu and status == 0


def test_memory_read_write_and_unmapped_is_an_error():
    gdb, emu, status = debug(
        "guest/hello.elf", "break main", "continue",
        "x/2i $pc", "set var *(char *)($rsp - 256) = 0x5a", "p/x *(unsigned char *)($rsp - 256)",
        "x/x 0xdead0000", "x/x 0xffff800000000000",
        "maintenance packet Qqemu.PhyMemMode:1", "x/gx 0x200000",
        "maintenance packet Qqemu.PhyMemMode:0", "monitor phys", "continue")
    assert "=> 0x401000 <main>:" in gdb
    assert "$1 = 0x5a" in gdb
    assert "Cannot access memory at address 0xdead0000" in gdb
    assert "Cannot access memory at address 0xffff800000000000" in gdb     # non-canonical
    assert "0x200000:\t0x" in gdb                                 # physical: the stub's first bytes
    assert "use virtual addresses" in gdb
    assert status == 0


def test_watchpoint_hit_reports_the_write():
    gdb, emu, status = debug(
        "guest/pf_roundtrip.elf", "watch -l big[3*4096]", "continue", "p big[3*4096]", "delete", "continue")
    assert "Hardware watchpoint 1: -location big[3*4096]" in gdb
    assert "New value = 22" in gdb
    assert "check_bss () at guest/pf_roundtrip.c:27" in gdb      # after the writing instruction
    assert "exited normally" in gdb and status == 0


def test_read_watchpoint():
    gdb, emu, status = debug(
        # gdb ignores a read watchpoint whose value changed (it blames a write), so the
        # watch is set once the page holds its final value: after the first loop's writes.
        "guest/pf_roundtrip.elf", "break pf_roundtrip.c:30", "continue", "delete 1", "rwatch big[5*4096]",
        "continue", "p/x $pc", "delete", "continue")
    assert "Hardware read watchpoint 2: big[5*4096]" in gdb
    assert "Value = " in gdb
    assert "check_bss () at guest/pf_roundtrip.c:3" in gdb
    assert "exited normally" in gdb and status == 0


def test_stepping_through_the_stubs_page_fault_handler():
    gdb, emu, status = debug(
        "guest/pf_roundtrip.elf", "add-symbol-file guest/kernel/stub.elf", "break vec_14", "continue",
        "info registers rip cs cr2", "stepi", "stepi", "x/i $pc",
        "delete", "hbreak trap_hypercall", "continue", "x/i $pc", "stepi", "x/i $pc",
        "monitor walk $cr2", "delete", "continue")
    assert "Breakpoint 1, 0xffffffff80200135 in vec_14 ()" in gdb
    assert "cs             0x10" in gdb                           # ring 0
    assert "<trap_common>:\tpush   %rax" in gdb                   # two steps: push 14, jmp
    assert "<trap_hypercall>:\tout    %al,$0xe0" in gdb
    assert "<trap_return>:\tpop    %r15" in gdb                   # the hypercall ran the kernel
    assert "stopped: leaf pte maps a 4K page" in gdb             # the fault was handled
    assert "exited normally" in gdb and status == 0


def test_fatal_fault_stops_with_sigsegv_at_the_faulting_rip():
    gdb, emu, status = debug("guest/ro_write.elf", "continue", "p/x $pc", "continue")
    assert "Program received signal SIGSEGV" in gdb
    assert "$1 = 0x401020" in gdb
    assert "Program terminated with signal SIGSEGV" in gdb
    assert status == 128 + 11


def source_line(path: str, text: str) -> int:
    """The line number of the first line of guest source `path` that contains `text`."""
    lines = (REPO / path).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_monitor_walk_of_a_huge_page_and_the_other_commands():
    after_first_write = source_line("guest/test_cow.c", "the write took, the rest of the page is zero")
    after_fork = source_line("guest/test_cow.c", "char report[2] = {0, 0};")
    gdb, emu, status = debug(
        "guest/test_cow.elf", f"break test_cow.c:{after_first_write}", "continue", "monitor vmas",
        'eval "monitor walk %lu", p', "monitor pool", "monitor tlb", "monitor pt", "monitor idt",
        f"break test_cow.c:{after_fork}", "continue", "monitor proc", "delete", "continue")
    assert "/dev/page-huge" in gdb and "ops=page-huge" in gdb and "ops=default" in gdb
    assert "pde[445]" in gdb and "(P RW US A D PS NX)" in gdb
    assert "stopped: leaf pde maps a 2M page" in gdb
    assert "HugePages_Free  31" in gdb
    assert "TLB 2M:" in gdb and "Unicorn TLB fills" in gdb
    assert "1 x 2M -> pa" in gdb and "kernel half" in gdb
    assert "14 #PF  0xffffffff80200135 vec_14   DPL 0" in gdb and " 3 #BP  " in gdb and "DPL 3" in gdb
    assert "*g  1" in gdb and "    2     1" in gdb                # the child exists, gdb follows pid 1
    assert "exited normally" in gdb and status == 0


def test_ctrl_c_interrupts_a_running_guest():
    port = free_port()
    emu = start_emu("guest/spin.elf", port)
    gdb = subprocess.Popen(gdb_args("guest/spin.elf", port, ["continue", "p/x $pc", "kill"]), cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2.5)
        gdb.send_signal(signal.SIGINT)           # what Ctrl-C in gdb's terminal does
        out, _ = gdb.communicate(timeout=30)
        emu.communicate(timeout=30)
    finally:
        for proc in (gdb, emu):
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert "Program received signal SIGINT" in out
    assert "$1 = 0x401010" in out
    assert emu.returncode == 128 + 9


def test_gdb_listens_only_on_localhost_and_refuses_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "emu", "run", "--gdb", str(port), "guest/hello.elf"],
                                cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_timeout_does_not_count_time_stopped_in_gdb():
    """--timeout 2, gdb holds the guest stopped for 2 s, then it sleeps 1 s: it finishes."""
    gdb, emu, status = debug("guest/sleep.elf", "shell sleep 2", "continue", options=("--timeout", "2"), args=("1",))
    assert "exited normally" in gdb
    assert "--timeout" not in emu and status == 0


def test_gdb_follows_an_execve_of_process_1():
    """With exec events (gdb asks for them), an execve stops with T05exec:PATH: gdb loads
    the new program and stops at its main again, with the new argv."""
    gdb, emu, status = debug("guest/exec.elf", "break main", "continue", "p argc", "continue", "p argc",
                             "p argv[1]", "continue")
    assert "executing new program" in gdb and gdb.count("Breakpoint 1, main (") == 2
    assert "$1 = 1" in gdb and "$2 = 3" in gdb and '"final"' in gdb
    assert "exited with code 03" in gdb and status == 3


def test_remote_get_and_info_proc_read_the_guest_kernels_proc_maps(tmp_path):
    """vFile host I/O: /proc/PID/maps comes from emu's kernel (a missing pid is ENOENT);
    gdb's `remote get` fetches it, and `info proc mappings` (gdb's Linux code, enabled by
    the target description's org.gnu.gdb.i386.linux feature; the pid comes from the
    multiprocess thread-ids) shows it."""
    maps, missing = tmp_path / "maps", tmp_path / "missing"
    gdb, emu, status = debug("guest/hello.elf", "break main", "continue", f"remote get /proc/1/maps {maps}",
                             f"remote get /proc/9/maps {missing}", "info proc mappings", "info inferiors",
                             "continue")
    lines = maps.read_text().splitlines()
    assert lines[0].startswith("00400000-00401000 r--p") and lines[-1].endswith("[stack]")
    assert "Remote I/O error: No such file or directory" in gdb and not missing.exists()
    assert "does not support file transfer" not in gdb and status == 0
    assert "Mapped address spaces:" in gdb and re.search(r"0x7fffff7ff000 +0x7ffffffff000 +0x800000 .*\[stack\]", gdb)
    assert "process 1" in gdb and "[Inferior 1 (process 1) exited normally]" in gdb


def test_threads_are_gdb_threads():
    """Every thread of process 1 is a gdb thread (qfThreadInfo, qThreadExtraInfo); a
    breakpoint hit by any of them stops the machine in that thread; `thread N` reads that
    thread's saved registers (Hg) and `stepi` steps it (vCont;s:N), switching the CPU to it."""
    gdb, emu, status = debug(
        "guest/libc/threads.elf", "break adder", "continue", "info threads", "thread 1", "bt 2",
        "thread 3", "p/x $pc", "stepi", "p/x $pc", "info threads", "delete", "continue", timeout=120)
    assert "Thread 2 hit Breakpoint 1, 0x" in gdb and "in adder ()" in gdb
    assert "* 2    Thread 1.2 (tid 2, on the CPU)" in gdb         # pid.tid: multiprocess thread-ids
    assert "Thread 1.1 (tid 1, in futex)" in gdb                # main waits in pthread_join
    assert "__pthread_clockjoin_ex" in gdb                      # thread 1's own stack
    before, after = (int(value, 16) for value in re.findall(r"\$\d+ = (0x[0-9a-f]+)", gdb)[:2])
    assert before < after < before + 16                         # thread 3 took one instruction
    assert "* 3    Thread 1.3 (tid 3, on the CPU)" in gdb
    assert "exited normally" in gdb and status == 0
    assert "counter 8000" in emu


def test_stepping_user_steps_over_the_fault_handling():
    """By default a step of an instruction that page-faults ends at the stub's handler, as on
    hardware; `monitor stepping user` makes it end after the instruction, as gdb on Linux."""
    line = source_line("guest/pf_roundtrip.c", "if (((volatile char *)big)[off] != 0)")
    machine, _, _ = debug("guest/pf_roundtrip.elf", f"break pf_roundtrip.c:{line}", "continue", "stepi",
                          "p/x $pc", "kill")
    user, _, status = debug("guest/pf_roundtrip.elf", "monitor stepping user", f"break pf_roundtrip.c:{line}",
                            "continue", "x/i $pc", "stepi", "p/x $pc", "info registers cs", "delete", "continue")
    assert "$1 = 0xffffffff80200135" in machine                 # vec_14: the #PF handler
    assert "stepping user: a step ends after the user instruction" in user
    assert "movzbl (%rax),%edx" in user                         # the load that faults
    pc = int(re.search(r"\$1 = (0x[0-9a-f]+)", user).group(1), 16)
    assert 0x401000 < pc < 0x800000                             # the next user instruction
    assert "cs             0x33" in user
    assert "exited normally" in user and status == 0
