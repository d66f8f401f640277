"""Process system calls: fork/clone, wait4, exit, kill, getpid, and what glibc's start-up asks.

fork copies the address space VMA by VMA through each VMA's `copy_vma` pagetable op
(copy-on-write for ordinary memory); the child resumes after the `syscall` instruction
with rax = 0. wait4 reports a zombie child with Linux's status encoding:

    exited:   (status & 0xff) << 8          WIFEXITED, WEXITSTATUS
    signaled: signo (& 0x7f)                WIFSIGNALED, WTERMSIG
"""

import copy
import errno
import os
import signal
import struct
import time

from ..arch.syscall import SyscallError
from ...hardware.paging import (ENTRY_SIZE, PAGE_SIZE, PHYS_ADDR_MASK, PTE_P, PTE_PS, PTRS_PER_TABLE, USER_TOP)
from . import futex
from ..fs.vfs import NOFILE
from ..mm.memory import VM_DONTCOPY, Mm, VmaList, pt_ops
from ..arch.uaccess import UserFault, copy_from_user, copy_to_user, read_user_string
from ..mm.memory import exit_mmap as mm_exit_mmap
from ...hardware.physmem import OutOfMemory
from ..mm.pagetable import PageTables
from .clock import pack_rusage
from .process import ZOMBIE, Usage
from .sched import Block
from .signals import SI_USER, SIGINFO_SIZE, SigInfo

WNOHANG = 1
__WNOTHREAD, __WALL, __WCLONE = 0x2000_0000, 0x4000_0000, 0x8000_0000
# clone flags (include/uapi/linux/sched.h). The low byte (CSIGNAL) is the exit signal.
CSIGNAL = 0xFF
CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT, CLONE_THREAD = 0x2000, 0x4000, 0x8000, 0x10000
CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID = 0x40000, 0x80000, 0x100000, 0x200000
CLONE_DETACHED, CLONE_UNTRACED, CLONE_CHILD_SETTID = 0x400000, 0x800000, 0x1000000
CLONE_NEWNS = 0x20000
# What emu's clone does (CLONE_FS shares the cwd; CLONE_SYSVSEM holds trivially: no SysV IPC),
# CLONE_PTRACE and CLONE_UNTRACED mean nothing without ptrace, CLONE_DETACHED is ignored.
CLONE_SUPPORTED = (CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PTRACE | CLONE_VFORK |
                   CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID |
                   CLONE_DETACHED | CLONE_UNTRACED | CLONE_CHILD_SETTID)
SI_TKILL = -6
ARCH_SET_FS, ARCH_GET_FS = 0x1002, 0x1003
RLIMIT_CORE, RLIMIT_STACK, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK = 4, 3, 6, 7, 8
RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO = 11, 12, 13, 14
RLIM_NLIMITS = 16
RLIM_INFINITY = (1 << 64) - 1
NR_OPEN = 1 << 20                          # fs.nr_open: no RLIMIT_NOFILE above it
# A new process's limits (what a login on a small Linux box has): the others are unlimited.
# emu enforces RLIMIT_NOFILE; the others are kept and reported only (docs/kernel.md).
RLIMITS = {RLIMIT_CORE: (0, RLIM_INFINITY), RLIMIT_STACK: (8 << 20, RLIM_INFINITY), RLIMIT_NPROC: (2048, 2048),
           RLIMIT_NOFILE: (NOFILE, 4096), RLIMIT_MEMLOCK: (8 << 20, 8 << 20), RLIMIT_SIGPENDING: (2048, 2048),
           RLIMIT_MSGQUEUE: (819200, 819200), RLIMIT_NICE: (0, 0), RLIMIT_RTPRIO: (0, 0)}


def default_rlimits() -> dict:
    return {resource: list(RLIMITS.get(resource, (RLIM_INFINITY, RLIM_INFINITY))) for resource in range(RLIM_NLIMITS)}


# -- address spaces ------------------------------------------------------------------

def dup_mm(kernel, parent: Mm) -> Mm:
    """fork's copy of an address space: new page tables, every VMA through copy_vma.

    Raises OutOfMemory with nothing leaked: a half-made copy is torn down again.
    """
    pt = PageTables(kernel.mem, kernel.frames)
    pt.share_kernel_half(kernel.kernel_pt)
    child = copy.copy(parent)
    child.pt, child.vmas, child.active, child.rss, child.mmap_cache, child.users = pt, VmaList(), False, 0, None, 1
    child.hiwater_rss = 0
    try:
        for vma in parent.vmas:
            if vma.flags & VM_DONTCOPY:             # madvise(MADV_DONTFORK)
                continue
            child.insert_vma(copy.copy(vma))
            pt_ops(vma, "copy_vma").copy_vma(child, parent, vma)
    except OutOfMemory:
        exit_mmap(kernel, child)
        raise
    return child


def exit_mmap(kernel, mm: Mm) -> None:
    """Tear down an address space: every VMA through its ops, then the PML4 itself."""
    mm_exit_mmap(mm)
    free_user_tables(kernel, mm.pt.pml4_pa, level=4)


def mmput(kernel, mm: Mm) -> None:
    """A task stops using `mm` (exit, execve); the last one tears it down."""
    mm.users -= 1
    if not mm.users:
        exit_mmap(kernel, mm)


def free_user_tables(kernel, table_pa: int, level: int) -> None:
    """Free the page-table pages under the user half of `table_pa`, then the table."""
    count = PTRS_PER_TABLE // 2 if level == 4 else PTRS_PER_TABLE
    if level > 1:
        for index in range(count):
            entry = kernel.mem.read_u64(table_pa + index * ENTRY_SIZE)
            if entry & PTE_P and not (level == 2 and entry & PTE_PS):
                free_user_tables(kernel, entry & PHYS_ADDR_MASK, level - 1)
    kernel.frames.put_frame(table_pa)


# -- fork, exit, wait ----------------------------------------------------------------

def sys_fork(kernel, proc, *_):
    return kernel.clone(proc, flags=signal.SIGCHLD)


def sys_vfork(kernel, proc, *_):
    return kernel.clone(proc, flags=CLONE_VM | CLONE_VFORK | signal.SIGCHLD)


def sys_clone(kernel, proc, flags, stack, parent_tid, child_tid, tls, *_):
    """clone(flags, stack, parent_tid, child_tid, tls): x86-64's argument order."""
    flags &= 0xFFFF_FFFF
    error = check_clone_flags(flags)
    if error:
        return error
    return kernel.clone(proc, flags=flags, stack=stack, parent_tid=parent_tid, child_tid=child_tid, tls=tls)


# struct clone_args (include/uapi/linux/sched.h): flags, pidfd, child_tid, parent_tid,
# exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
CLONE_ARGS = struct.Struct("<11Q")
CLONE_ARGS_SIZE_VER0 = 64                # the first version: up to tls
CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP = 1 << 32, 1 << 33


def sys_clone3(kernel, proc, args_va, size, *_):
    """clone3(args, size): clone's arguments in a struct, checked as copy_clone_args_from_user
    and clone3_args_valid do. glibc's pthread_create tries it first."""
    if size < CLONE_ARGS_SIZE_VER0:
        raise SyscallError(errno.EINVAL)
    if size > PAGE_SIZE:
        raise SyscallError(errno.E2BIG)
    raw = copy_from_user(proc.mm, kernel.mmu, args_va, size)
    if any(raw[CLONE_ARGS.size:]):
        raise SyscallError(errno.E2BIG)                  # a newer struct asking for something emu does not know
    (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
     cgroup) = CLONE_ARGS.unpack(raw.ljust(CLONE_ARGS.size, b"\0")[:CLONE_ARGS.size])
    if exit_signal & ~CSIGNAL or exit_signal > 64:
        raise SyscallError(errno.EINVAL)
    if flags & (CLONE_DETACHED | CSIGNAL) or flags >> 32 & ~3:
        raise SyscallError(errno.EINVAL)                 # bits clone3 does not take (CSIGNAL is exit_signal here)
    if flags & CLONE_THREAD and exit_signal:
        raise SyscallError(errno.EINVAL)
    if bool(stack) != bool(stack_size):
        raise SyscallError(errno.EINVAL)                 # clone3_stack_valid: both or neither
    if set_tid or set_tid_size or flags & (CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP):
        raise SyscallError(errno.EINVAL)                 # choosing pids, cgroups, CLONE_CLEAR_SIGHAND: not in emu
    error = check_clone_flags(flags)
    if error:
        return error
    return kernel.clone(proc, flags=flags | exit_signal, stack=stack + stack_size if stack else 0,
                        parent_tid=parent_tid, child_tid=child_tid, tls=tls)


def check_clone_flags(flags: int) -> int:
    """copy_process's checks, with its errors; 0 if emu can do it."""
    if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS:
        return -errno.EINVAL
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        return -errno.EINVAL             # threads share signal handlers
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        return -errno.EINVAL             # shared handlers need shared memory
    if flags & ~CLONE_SUPPORTED:
        return -errno.EINVAL             # namespaces, pidfds, CLONE_PARENT: not in emu (docs/kernel.md)
    return 0


def sys_exit(kernel, proc, status, *_):
    """exit: this thread only (the process ends with its last thread)."""
    kernel.exit_task(proc, (status & 0xFF) << 8)
    return 0


def sys_exit_group(kernel, proc, status, *_):
    kernel.exit_process(proc, (status & 0xFF) << 8)
    return 0


def as_int(value: int) -> int:
    """A 64-bit register holding a C `int` argument (pid_t, a signal number) as a signed int."""
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value & 0x8000_0000 else value


def sys_wait4(kernel, proc, pid, status_va, options, rusage_va, *_):
    """wait4 (kernel_wait4): the child is reaped first; then its status and rusage are
    written, and a bad pointer there makes the answer -EFAULT (the child stays reaped)."""
    pid, options = as_int(pid), options & 0xFFFF_FFFF
    if options & ~(WNOHANG | 0x2 | 0x8 | __WNOTHREAD | __WALL | __WCLONE):
        raise SyscallError(errno.EINVAL)

    def answer(child, result: int) -> int:
        if child is None:
            return result
        if status_va:
            copy_to_user(proc.mm, kernel.mmu, status_va, struct.pack("<i", child.exit_status))
        copy_rusage(kernel, proc, rusage_va, child)
        return result

    return do_wait(kernel, proc, lambda child: pid in (-1, 0) or child.pid == pid or pid < -1, options, answer,
                   f"wait4({pid})")


P_ALL, P_PID, P_PGID = 0, 1, 2
CLD_EXITED, CLD_KILLED = 1, 2                # si_code of a SIGCHLD
WEXITED, WSTOPPED, WCONTINUED, WNOWAIT = 4, 2, 8, 0x100_0000
# The siginfo fields waitid writes, one by one (Linux's unsafe_put_user calls): si_signo,
# si_errno, si_code at 0; si_pid, si_uid, si_status at 16. The rest is left as it was.
WAITID_HEAD, WAITID_TAIL = struct.Struct("<iii"), struct.Struct("<iIi")
WAITID_TAIL_OFFSET = 16


def sys_waitid(kernel, proc, idtype, id_, info_va, options, rusage_va, *_):
    """waitid: which children (P_ALL, P_PID; P_PGID: emu has one process group), what
    for (WEXITED; emu stops and continues nobody, so WSTOPPED and WCONTINUED find
    nothing), a siginfo for the answer, and WNOWAIT to leave the child a zombie.

    As Linux's waitid does, the siginfo is written whatever the answer (zeros when no
    child is reported, even with -ECHILD or -EINVAL), and a bad one is -EFAULT."""
    idtype, id_, options = as_int(idtype), as_int(id_), options & 0xFFFF_FFFF

    def answer(child, result: int) -> int:
        if child is not None:
            copy_rusage(kernel, proc, rusage_va, child)
        if info_va:
            write_waitid_info(kernel, proc, info_va, child)
        return 0 if child is not None else result

    if options & ~(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE) or \
            not options & (WEXITED | WSTOPPED | WCONTINUED) or idtype not in (P_ALL, P_PID, P_PGID) or \
            idtype == P_PID and id_ <= 0:
        return answer(None, -errno.EINVAL)
    if not options & WEXITED:                # nothing is ever stopped or continued in emu
        return answer(None, 0 if options & WNOHANG else -errno.ECHILD)
    return do_wait(kernel, proc, lambda child: idtype != P_PID or child.pid == id_, options, answer, "waitid",
                   keep=bool(options & WNOWAIT))


def write_waitid_info(kernel, proc, info_va: int, child) -> None:
    """waitid's siginfo: SIGCHLD, how `child` ended, its pid; all zero for no child."""
    if not 0 <= info_va <= USER_TOP - SIGINFO_SIZE:
        raise UserFault(info_va)             # user_write_access_begin: the whole siginfo
    signo = code = pid = value = 0
    if child is not None:
        status, signo, pid = child.exit_status, signal.SIGCHLD, child.pid
        code, value = (CLD_KILLED, status & 0x7F) if status & 0x7F else (CLD_EXITED, status >> 8 & 0xFF)
    copy_to_user(proc.mm, kernel.mmu, info_va, WAITID_HEAD.pack(signo, 0, code))
    copy_to_user(proc.mm, kernel.mmu, info_va + WAITID_TAIL_OFFSET, WAITID_TAIL.pack(pid, 0, value))


def copy_rusage(kernel, proc, rusage_va: int, child) -> None:
    """The reported child's rusage, with its own reaped children's. Raises UserFault."""
    if rusage_va:
        usage = Usage()
        usage.add(child.ended_usage)
        usage.add(child.children_usage)
        copy_to_user(proc.mm, kernel.mmu, rusage_va, pack_rusage(usage))


def do_wait(kernel, proc, matches, options: int, answer, what: str, *, keep: bool = False):
    """wait4's and waitid's work (kernel/exit.c's do_wait): a zombie child that `matches`
    and is eligible is reaped (unless `keep`: WNOWAIT) and then reported; with none yet,
    WNOHANG answers now, else the caller waits. `answer(child, result)` writes what
    the caller asked for (child None: nothing reported, result 0 or -ECHILD) and gives
    the call's result; as on Linux, the child is reaped even if that write faults."""
    children = proc.leader.children             # any thread waits for the process's children

    def eligible(child) -> bool:
        """Linux's eligible_child: a child whose exit signal is not SIGCHLD (a "clone"
        child) only with __WCLONE, the others only without it; every one with __WALL."""
        return bool(options & __WALL) or (child.exit_signal != signal.SIGCHLD) == bool(options & __WCLONE)

    def candidate(child) -> bool:
        return matches(child) and eligible(child)

    if not any(map(candidate, children)):
        return answer(None, -errno.ECHILD)

    def zombie():
        # A leader that exited before its threads is no zombie yet (delay_group_leader).
        # (Asked again each time: an execve in a thread puts a new task in its leader's place.)
        return next((c for c in children if c.state == ZOMBIE and not c.threads and candidate(c)), None)

    def reap():
        child = zombie()
        if not keep:
            kernel.reap(proc, child)
        return answer(child, child.pid)

    if zombie() is not None:
        return reap()
    if options & WNOHANG:
        return answer(None, 0)
    return Block(ready=lambda: zombie() is not None, complete=reap, what=what)


def sys_kill(kernel, proc, pid, sig, *_):
    pid, sig = as_int(pid), as_int(sig)
    if not 0 <= sig <= 64:
        raise SyscallError(errno.EINVAL)
    if pid > 0:                          # a thread's id names its process too
        task = kernel.procs.get(pid)
        targets = [task] if task is not None and task.process_alive else []
    else:
        processes = [p for p in kernel.procs.values() if p is p.leader and p.process_alive]
        if pid == -1:
            targets = [p for p in processes if p.pid != 1 and p is not proc.leader]
        else:
            targets = processes          # one process group: emu has one
    if not targets:
        raise SyscallError(errno.ESRCH)
    for target in targets:
        if sig:
            kernel.send_signal(target, SigInfo(sig, code=SI_USER, pid=proc.tgid))
    return 0


def sys_tgkill(kernel, proc, tgid, tid, sig, *_):
    """tgkill: a signal for thread `tid` alone, if it is in process `tgid`."""
    tgid, tid, sig = as_int(tgid), as_int(tid), as_int(sig)
    if tgid <= 0 or tid <= 0 or not 0 <= sig <= 64:
        raise SyscallError(errno.EINVAL)
    return kill_thread(kernel, proc, tid, sig, tgid)


def sys_tkill(kernel, proc, tid, sig, *_):
    tid, sig = as_int(tid), as_int(sig)
    if tid <= 0 or not 0 <= sig <= 64:
        raise SyscallError(errno.EINVAL)
    return kill_thread(kernel, proc, tid, sig)


def kill_thread(kernel, proc, tid: int, sig: int, tgid: int | None = None) -> int:
    task = kernel.procs.get(tid)
    if task is None or not task.process_alive or tgid is not None and task.tgid != tgid:
        return -errno.ESRCH
    if sig and task.alive:       # (a leader that exited while its threads run: 0, and nothing)
        kernel.send_signal(task, SigInfo(sig, code=SI_TKILL, pid=proc.tgid), thread=True)
    return 0


CPU_MASK_BYTES = 8                     # cpumask_size(): one long holds emu's one CPU


def sched_task(kernel, proc, pid: int):
    """The task a sched_* call names: 0 for the caller, else a tid (find_process_by_pid)."""
    pid = as_int(pid)
    if pid < 0:
        return None
    task = proc if pid == 0 else kernel.procs.get(pid)
    return task if task is not None and task.alive else None


def sys_sched_getaffinity(kernel, proc, pid, length, mask_va, *_):
    """The CPUs a task may run on: emu has one, CPU 0. Returns the bytes written."""
    if length * 8 < 1 or length % 8:
        raise SyscallError(errno.EINVAL)
    if sched_task(kernel, proc, pid) is None:
        raise SyscallError(errno.ESRCH)
    size = min(length, CPU_MASK_BYTES)
    copy_to_user(proc.mm, kernel.mmu, mask_va, (1).to_bytes(CPU_MASK_BYTES, "little")[:size])
    return size


def sys_sched_setaffinity(kernel, proc, pid, length, mask_va, *_):
    """Accepted if the mask has CPU 0 (the only one); -EINVAL otherwise, as Linux says for
    a mask with no online CPU."""
    raw = copy_from_user(proc.mm, kernel.mmu, mask_va, min(length, CPU_MASK_BYTES)) if length else b""
    if sched_task(kernel, proc, pid) is None:
        raise SyscallError(errno.ESRCH)
    return 0 if raw and raw[0] & 1 else -errno.EINVAL


def sys_getcpu(kernel, proc, cpu_va, node_va, *_):
    """CPU 0 on node 0."""
    for va in (cpu_va, node_va):
        if va:
            copy_to_user(proc.mm, kernel.mmu, va, bytes(4))
    return 0


PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME = 15, 16
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
TASK_COMM_LEN = 16


def sys_prctl(kernel, proc, option, arg2, arg3, arg4, arg5, *_):
    """The prctl options emu has: a task's name, the parent-death signal, the dumpable
    flag, no_new_privs. Any other is -EINVAL, as Linux says for an option it lacks."""
    option = as_int(option)
    if option == PR_SET_NAME:
        raw = read_user_string(proc.mm, kernel.mmu, arg2, TASK_COMM_LEN)     # strncpy_from_user
        if raw is None:
            raw = copy_from_user(proc.mm, kernel.mmu, arg2, TASK_COMM_LEN - 1)
        proc.comm = raw[:TASK_COMM_LEN - 1].decode(errors="replace")
        return 0
    if option == PR_GET_NAME:
        copy_to_user(proc.mm, kernel.mmu, arg2, proc.comm.encode()[:TASK_COMM_LEN - 1].ljust(TASK_COMM_LEN, b"\0"))
        return 0
    if option == PR_SET_PDEATHSIG:
        if not 0 <= arg2 <= 64:
            raise SyscallError(errno.EINVAL)
        proc.pdeath_signal = arg2
        return 0
    if option == PR_GET_PDEATHSIG:
        copy_to_user(proc.mm, kernel.mmu, arg2, struct.pack("<i", proc.pdeath_signal))
        return 0
    if option == PR_GET_DUMPABLE:
        return 1 if proc.leader.dumpable else 0
    if option == PR_SET_DUMPABLE:
        if arg2 not in (0, 1):
            raise SyscallError(errno.EINVAL)
        proc.leader.dumpable = bool(arg2)
        return 0
    if option == PR_SET_NO_NEW_PRIVS:
        if arg2 != 1 or arg3 or arg4 or arg5:
            raise SyscallError(errno.EINVAL)
        proc.no_new_privs = True
        return 0
    if option == PR_GET_NO_NEW_PRIVS:
        return -errno.EINVAL if arg2 or arg3 or arg4 or arg5 else int(proc.no_new_privs)
    raise SyscallError(errno.EINVAL)


def sys_sched_yield(kernel, proc, *_):
    kernel.request_resched()
    return 0


# -- identity and start-up -------------------------------------------------------------

def sys_getpid(kernel, proc, *_):
    return proc.tgid


def sys_gettid(kernel, proc, *_):
    return proc.pid


def sys_getppid(kernel, proc, *_):
    return proc.leader.ppid


def sys_getuid(kernel, proc, *_):
    return 0


def sys_arch_prctl(kernel, proc, code, addr, *_):
    if code == ARCH_SET_FS:
        if addr >= 1 << 47:
            raise SyscallError(errno.EPERM)
        proc.fs_base = addr
        kernel.cpu.set_fs_base(addr)
        return 0
    if code == ARCH_GET_FS:
        copy_to_user(proc.mm, kernel.mmu, addr, struct.pack("<Q", proc.fs_base))
        return 0
    raise SyscallError(errno.EINVAL)


def sys_set_tid_address(kernel, proc, tidptr, *_):
    proc.clear_child_tid = tidptr
    return proc.pid


def sys_set_robust_list(kernel, proc, head, length, *_):
    """Where the thread's list of held robust mutexes starts; walked when it exits
    (futex.exit_robust_list)."""
    if length != futex.ROBUST_LIST_HEAD.size:
        raise SyscallError(errno.EINVAL)
    proc.robust_list = head
    return 0


def sys_get_robust_list(kernel, proc, pid, head_va, len_va, *_):
    task = sched_task(kernel, proc, pid)
    if task is None:
        raise SyscallError(errno.ESRCH)
    copy_to_user(proc.mm, kernel.mmu, head_va, struct.pack("<Q", task.robust_list))
    copy_to_user(proc.mm, kernel.mmu, len_va, struct.pack("<Q", futex.ROBUST_LIST_HEAD.size))
    return 0


def sys_rseq(kernel, proc, *_):
    raise SyscallError(errno.ENOSYS)                  # glibc copes: it then runs without rseq


def sys_prlimit64(kernel, proc, pid, resource, new_va, old_va, *_):
    """A process's resource limit: the old one to `old_va`, then the new one from `new_va`
    (do_prlimit). Everyone is root here, so a hard limit may rise, up to NR_OPEN for
    RLIMIT_NOFILE. A new RLIMIT_NOFILE applies to the fd table at once."""
    resource = as_int(resource)
    if not 0 <= resource < RLIM_NLIMITS:
        raise SyscallError(errno.EINVAL)
    pid = as_int(pid)
    target = proc if pid == 0 else kernel.procs.get(pid) if pid > 0 else None
    if target is None or not target.process_alive:   # (a leader that exited first still names its process)
        raise SyscallError(errno.ESRCH)
    limits = target.leader.rlimits
    new = struct.unpack("<QQ", copy_from_user(proc.mm, kernel.mmu, new_va, 16)) if new_va else None
    if new is not None and new[0] > new[1]:
        raise SyscallError(errno.EINVAL)
    if new is not None and resource == RLIMIT_NOFILE and new[1] > NR_OPEN:
        raise SyscallError(errno.EPERM)
    if old_va:
        copy_to_user(proc.mm, kernel.mmu, old_va, struct.pack("<QQ", *limits[resource]))
    if new is not None:
        limits[resource] = list(new)
        if resource == RLIMIT_NOFILE:
            for task in target.leader.threads:      # (their fd tables: one, unless CLONE_FILES was not given)
                task.files.nofile = min(new[0], NR_OPEN)
    return 0


def sys_getrlimit(kernel, proc, resource, old_va, *_):
    return sys_prlimit64(kernel, proc, 0, resource, 0, old_va) if old_va else -errno.EFAULT


def sys_setrlimit(kernel, proc, resource, new_va, *_):
    return sys_prlimit64(kernel, proc, 0, resource, new_va, 0) if new_va else -errno.EFAULT


SYSINFO = struct.Struct("<qQQQQQQQQQHxxxxxxQQI")     # struct sysinfo, then _f[] (112 bytes in all)


def sys_sysinfo(kernel, proc, info_va, *_):
    """Uptime (the monotonic clock, in whole seconds rounded up), RAM and free RAM as the
    frame allocator counts them (/proc/meminfo's MemTotal and MemFree), no swap, and the
    number of tasks. emu keeps no load average: the three loads are 0."""
    from ..fs.devices import meminfo_values
    memory = meminfo_values(kernel)
    uptime_ns = time.monotonic_ns()
    uptime = uptime_ns // 1_000_000_000 + (1 if uptime_ns % 1_000_000_000 else 0)
    tasks = sum(1 for task in kernel.procs.values() if task.alive)
    packed = SYSINFO.pack(uptime, 0, 0, 0, memory["MemTotal"], memory["MemFree"], 0, 0, 0, 0,
                          min(tasks, 0xFFFF), 0, 0, 1).ljust(112, b"\0")
    copy_to_user(proc.mm, kernel.mmu, info_va, packed)
    return 0


def sys_getrandom(kernel, proc, buf, length, flags, *_):
    if flags & ~0x7:
        raise SyscallError(errno.EINVAL)
    length = min(length, 1 << 25)
    copy_to_user(proc.mm, kernel.mmu, buf, os.urandom(length))
    return length


UTS_FIELDS = ("Linux", "emu", "6.1.0-emu", "#1 SMP emu", "x86_64", "(none)")


def sys_uname(kernel, proc, buf, *_):
    data = b"".join(field.encode().ljust(65, b"\0") for field in UTS_FIELDS)
    copy_to_user(proc.mm, kernel.mmu, buf, data)
    return 0
