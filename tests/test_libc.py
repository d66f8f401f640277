"""Real glibc programs (gcc -static): the same output and status natively and under emu.

They also pin the system calls glibc's start-up and these programs need: under
`--trace syscall`, nothing may come back -ENOSYS except rseq (which glibc handles).
"""

import re

import pytest

from tests.emu_runner import run_emu, run_native

pytestmark = pytest.mark.usefixtures("guests")
PROGRAMS = [("hello", ("one",)), ("kfix_sigframe", ()), ("sigcontext_trap", ()), ("kfix_wait", ()), ("fork_pipe", ()), ("segv", ()), ("signal_fpu", ()), ("altstack", ()), ("clocks", ()), ("alarm", ()), ("poll", ()), ("futex", ()), ("threads", ()), ("thread_edges", ()), ("sigwait", ()), ("prctl", ()), ("epoll", ()), ("rlimit", ()), ("rusage", ()), ("timerfd", ()), ("sockets", ()), ("signalfd", ())]
PROGRAMS += [(f"edge_{name}", ()) for name in ("sock_shutdown", "sock_fds", "sock_dgram", "sock_sigpipe", "epoll_et", "epoll",
                                                 "close_while_blocked", "timerfd", "sock_options")]


@pytest.mark.parametrize("name,args", PROGRAMS, ids=[name for name, _ in PROGRAMS])
def test_same_as_native(name, args):
    native = run_native(f"guest/libc/{name}.elf", *args)
    emulated = run_emu("run", "--timeout", "60", f"guest/libc/{name}.elf", *args)
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode == 0


@pytest.mark.parametrize("name,args", PROGRAMS, ids=[name for name, _ in PROGRAMS])
def test_no_missing_syscalls(name, args):
    result = run_emu("run", "--trace", "syscall", f"guest/libc/{name}.elf", *args)
    missing = {m for m in re.findall(r"\] pid \d+ (\w+)\(.*not implemented", result.stderr)}
    assert missing <= {"rseq"}, missing


def test_max_map_count_same_as_native():
    """guest/libc/map_count.c: mmap until ENOMEM (65 531 VMAs), then what munmap, mprotect,
    madvise, mremap and brk do at vm.max_map_count and just below it. The host's limit must
    be Linux's default, which emu has."""
    with open("/proc/sys/vm/max_map_count") as limit:
        if limit.read().strip() != "65530":
            pytest.skip("the host's vm.max_map_count is not the default 65530")
    native = run_native("guest/libc/map_count.elf")
    emulated = run_emu("run", "--timeout", "60", "guest/libc/map_count.elf")
    assert "counted right" in native.stdout
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode == 0
