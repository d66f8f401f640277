"""The gdb stub: `emu run --gdb PORT` serves gdb's remote serial protocol (RSP) over TCP.

gdb debugs process 1 and the ring-0 stub while they serve it: registers (with CR0, CR2,
CR3, CR4 and EFER through a target description), memory through emu's MMU (a software
walk that sets no A/D bit, fills no TLB and faults nothing in), software and hardware
breakpoints, write/read/access watchpoints, stepi, continue, Ctrl-C, a stop on a fatal
fault, `monitor` commands (emu/debug/monitor.py) and QEMU's physical-memory mode. The design
and its exact semantics are in docs/debugging.md.

Costs: nothing unless gdb asked for it. A breakpoint is a UC_HOOK_CODE hook limited to
its own address; a watchpoint is a TLB-fill hook that hands Unicorn the watched pages
without the permission the watch is about, so only their first access comes back to
Python; Ctrl-C is polled between slices of 2 million instructions, not per instruction.
"""

import errno
import os
import re
import select
import signal
import socket
import struct
import sys
from dataclasses import dataclass, replace

from unicorn import (UC_HOOK_CODE, UC_HOOK_TLB_FILL, UC_MEM_READ, UC_MEM_WRITE, UC_PROT_READ, UC_PROT_WRITE,
                     UcError)
from unicorn import x86_const as ux

from ..hardware.cpu import NEVER, NO_PREEMPTION
from ..kernel.fs.devices import generate_maps
from ..kernel.tasks.process import RUNNABLE
from ..hardware.mmu import Access, GeneralProtection, PageFault, PagingRegs, walk
from ..hardware.paging import CR3_ADDR_MASK, PAGE_SHIFT, PAGE_SIZE

CR3_PWT, CR3_PCD = 1 << 3, 1 << 4      # SDM Vol. 3A, 4.5: CR3 bits 3 and 4 (no PCID: CR4.PCIDE is 0)
from ..kernel.arch.stub import TRAPFRAME_REGS

POLL_INSNS = 2_000_000         # instructions between two looks for Ctrl-C while the guest runs
PACKET_SIZE = 0x4000           # the largest packet gdb may send (qSupported PacketSize) and emu sends
MSR_EFER = 0xC000_0080
E_MALFORMED = "E01"            # a packet the protocol does not allow (gdbserver's write_enn)
E_FAULT = "E0e"                # EFAULT: memory gdb asked for is not mapped
E_INVAL = "E16"                # EINVAL: well-formed, but a value emu cannot take (register, thread, bound)
# GDB File-I/O errno values (gdb's remote protocol, "Errno Values"), for vFile replies.
FILEIO_ENOENT, FILEIO_EBADF, FILEIO_EACCES, FILEIO_EMFILE, FILEIO_EINVAL = 2, 9, 13, 24, 22
MAX_HOST_FILES = 32            # vFile descriptors open at once
# Client-given numbers never size work or memory (docs/debugging.md, "Limits"):
MAX_BREAKPOINTS = 4096         # Z0/Z1 at once: each is a Unicorn code hook
MAX_WATCHPOINTS = 16           # Z2/Z3/Z4 at once
WATCH_MAX_LENGTH = PAGE_SIZE   # bytes one watchpoint covers, so it spans at most 2 pages
ADDRESS_LIMIT = 1 << 64


# -- parsing packets -------------------------------------------------------------------
# Every field of a packet is read by one of these; a field the protocol does not allow
# raises ProtocolError, which the dispatcher answers with its `reply` (E01).

class ProtocolError(Exception):
    """A malformed packet: answered with `reply`, and the stub serves on."""

    def __init__(self, why: str, reply: str = E_MALFORMED):
        super().__init__(why)
        self.reply = reply


HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")


def parse_hex(text: str, what: str = "number", *, bits: int = 64) -> int:
    """An unsigned hex field of at most `bits` bits: digits only (no sign, 0x, space or _)."""
    if not HEX_DIGITS.fullmatch(text):
        raise ProtocolError(f"{what} {text[:20]!r} is not hex")
    value = int(text, 16)
    if value >> bits:
        raise ProtocolError(f"{what} {text[:20]!r} is over {bits} bits")
    return value


def parse_hex_bytes(text: str, what: str = "data") -> bytes:
    """Hex-encoded bytes: an even number of hex digits (possibly none)."""
    if text and not HEX_DIGITS.fullmatch(text) or len(text) % 2:
        raise ProtocolError(f"{what} is not an even number of hex digits")
    return bytes.fromhex(text)


def parse_fields(text: str, count: int, what: str, sep: str = ",") -> list[str]:
    """Exactly `count` fields separated by `sep`."""
    fields = text.split(sep)
    if len(fields) != count:
        raise ProtocolError(f"{what} needs {count} fields separated by {sep!r}")
    return fields


def parse_range(text: str, what: str = "address,length") -> tuple[int, int]:
    """ADDR,LENGTH (memory packets)."""
    where, length = parse_fields(text, 2, what)
    return parse_hex(where, "address"), parse_hex(length, "length")

# -- the target description --------------------------------------------------------
# (name, bits, type, feature). gdb's amd64 code requires every register of
# org.gnu.gdb.i386.core (x87 included); the order here is the register numbering.
GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")
X87_CONTROL = ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")
CONTROL_REGS = ("cr0", "cr2", "cr3", "cr4", "efer")
REGISTERS = (
    [(name, 64, "int64", "core") for name in GPRS]
    + [("rip", 64, "code_ptr", "core"), ("eflags", 32, "int32", "core")]
    + [(name, 32, "int32", "core") for name in SEGMENTS]
    + [(f"st{i}", 80, "i387_ext", "core") for i in range(8)]
    + [(name, 32, "int", "core") for name in X87_CONTROL]
    + [(f"xmm{i}", 128, "vec128", "sse") for i in range(16)]
    + [("mxcsr", 32, "int", "sse")]
    + [("fs_base", 64, "int64", "segments"), ("gs_base", 64, "int64", "segments")]
    + [(name, 64, "int64", "system") for name in CONTROL_REGS]
    + [("orig_rax", 64, "int", "linux")]
)
REG_NUMBER = {name: number for number, (name, *_rest) in enumerate(REGISTERS)}
G_PACKET_BYTES = sum(bits // 8 for _name, bits, *_rest in REGISTERS)      # g's reply, G's data
FEATURES = {"core": "org.gnu.gdb.i386.core", "sse": "org.gnu.gdb.i386.sse",
            "segments": "org.gnu.gdb.i386.segments", "system": "org.emu.x86.system",
            "linux": "org.gnu.gdb.i386.linux"}
VEC128 = """<vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>
<union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>
<field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/>
<field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>"""


def target_xml() -> str:
    parts = ['<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">',
             "<target><architecture>i386:x86-64</architecture>"]
    for key, feature in FEATURES.items():
        parts.append(f'<feature name="{feature}">')
        if key == "sse":
            parts.append(VEC128)
        for number, (name, bits, kind, where) in enumerate(REGISTERS):
            if where == key:
                group = ' group="system"' if key == "system" else ""
                parts.append(f'<reg name="{name}" bitsize="{bits}" type="{kind}" regnum="{number}"{group}/>')
        parts.append("</feature>")
    parts.append("</target>")
    return "".join(parts)


# Unicorn register ids, for the registers that are plain integers in Unicorn.
UC_IDS = {name: getattr(ux, f"UC_X86_REG_{name.upper()}") for name in GPRS + SEGMENTS}
UC_IDS.update(rip=ux.UC_X86_REG_RIP, eflags=ux.UC_X86_REG_RFLAGS, fs_base=ux.UC_X86_REG_FS_BASE,
              gs_base=ux.UC_X86_REG_GS_BASE, cr0=ux.UC_X86_REG_CR0, cr2=ux.UC_X86_REG_CR2,
              cr3=ux.UC_X86_REG_CR3, cr4=ux.UC_X86_REG_CR4, fctrl=ux.UC_X86_REG_FPCW,
              fstat=ux.UC_X86_REG_FPSW, ftag=ux.UC_X86_REG_FPTAG, mxcsr=ux.UC_X86_REG_MXCSR,
              **{f"xmm{i}": getattr(ux, f"UC_X86_REG_XMM{i}") for i in range(16)},
              **{f"st{i}": getattr(ux, f"UC_X86_REG_ST{i}") for i in range(8)})

# Watchpoint kinds (Z2 write, Z3 read, Z4 access), the Unicorn permission each withholds
# from the watched pages, and the stop-reply key gdb expects.
WATCH_WRITE, WATCH_READ, WATCH_ACCESS = 2, 3, 4
WATCH_PROT = {WATCH_WRITE: UC_PROT_WRITE, WATCH_READ: UC_PROT_READ, WATCH_ACCESS: UC_PROT_READ | UC_PROT_WRITE}
WATCH_STOP_KEY = {WATCH_WRITE: "watch", WATCH_READ: "rwatch", WATCH_ACCESS: "awatch"}
PROT_OF_ACCESS = {UC_MEM_READ: UC_PROT_READ, UC_MEM_WRITE: UC_PROT_WRITE}


@dataclass(frozen=True)
class Watchpoint:
    kind: int           # WATCH_WRITE / WATCH_READ / WATCH_ACCESS
    va: int
    length: int

    def pages(self):
        return range(self.va >> PAGE_SHIFT, ((self.va + self.length - 1) >> PAGE_SHIFT) + 1)

    def catches(self, uc_access: int, va: int, size: int) -> bool:
        return bool(WATCH_PROT[self.kind] & PROT_OF_ACCESS.get(uc_access, 0)) and \
            va < self.va + self.length and self.va < va + size


@dataclass(frozen=True)
class Stop:
    """Why the target stopped, as gdb's stop reply says it."""
    signo: int
    extra: str = ""           # e.g. "watch:401000;" or "hwbreak:;"
    thread: str = "1"         # the thread that stopped, as a thread-id (filled in by `serve`)

    def reply(self) -> str:
        return f"T{self.signo:02x}{self.extra}thread:{self.thread};"


class FileIOError(Exception):
    """A vFile request that fails: the reply is F-1,ERRNO with this GDB File-I/O errno."""

    def __init__(self, fileio_errno: int):
        super().__init__(fileio_errno)
        self.fileio_errno = fileio_errno


@dataclass
class TargetFile:
    """A file gdb opened with vFile:open: bytes emu made (/proc/PID/maps) or a host fd,
    read with pread, so that a huge file or /dev/zero costs one reply, never its size."""
    data: bytes = b""
    fd: int | None = None

    def pread(self, count: int, offset: int) -> bytes:
        if self.fd is None:
            return self.data[offset:offset + count]
        try:
            return os.pread(self.fd, count, offset)
        except OSError:
            raise FileIOError(FILEIO_EACCES) from None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def escape_binary(data: bytes) -> bytes:
    """RSP binary escaping for qXfer replies: # $ } * become } followed by byte ^ 0x20."""
    out = bytearray()
    for byte in data:
        if byte in b"#$}*":
            out += bytes((0x7D, byte ^ 0x20))
        else:
            out.append(byte)
    return bytes(out)


WAIT_TICK = 0.2          # seconds between looks at emu's own signals while waiting for gdb


class HostSignalled(BaseException):
    """emu itself got a signal while the stub waited for gdb (emu/hostsignals.py). A
    BaseException: the packet handlers' last-resort guard must not answer it."""


class Connection:
    """One gdb connection: framing, checksums, acks, and Ctrl-C detection."""

    def __init__(self, sock: socket.socket, *, waiting=lambda: None):
        self.sock = sock
        self.buf = b""
        self.ack = True
        self.interrupted = False
        self.closed = False
        self.waiting = waiting        # called every WAIT_TICK while blocked (may raise HostSignalled)

    def _fill(self, *, block: bool) -> bool:
        if not block and not select.select([self.sock], [], [], 0)[0]:
            return False
        while block and not select.select([self.sock], [], [], WAIT_TICK)[0]:
            self.waiting()
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def poll_interrupt(self) -> bool:
        """Non-blocking: did gdb send Ctrl-C (0x03) while the target ran? One recv per
        poll, and at most a PacketSize of other bytes kept, however much a client sends."""
        if not self.closed:
            self._fill(block=False)
        if b"\x03" in self.buf:
            self.buf = self.buf.replace(b"\x03", b"", 1)
            self.interrupted = True
        self.buf = self.buf[-PACKET_SIZE:]
        return self.interrupted

    def recv_packet(self) -> str | None:
        """The next packet's payload (acked), or None once gdb has gone."""
        while True:
            start = self.buf.find(b"$")
            if b"\x03" in self.buf[:start if start >= 0 else len(self.buf)]:
                self.interrupted = True
            if start >= 0:
                end = self.buf.find(b"#", start)
                # A '$' is never inside a packet (binary data escapes it): a second one
                # starts the packet again, as gdb's own reader does.
                start = self.buf.rfind(b"$", start, end if end >= 0 else len(self.buf))
                if end < 0 and len(self.buf) - start > PACKET_SIZE:
                    self.drop_overlong()
                    continue
                if end >= 0 and len(self.buf) >= end + 3:
                    payload = self.buf[start + 1:end]
                    sent = self.buf[end + 1:end + 3]
                    if b"$" in sent:       # a cut checksum: the '$' starts the next packet
                        self.buf = self.buf[end + 1 + sent.index(b"$"):]
                        if self.ack:
                            self.send_raw(b"-")
                        continue
                    self.buf = self.buf[end + 3:]
                    if self.ack:
                        good = sent.lower() == f"{checksum(payload):02x}".encode()
                        self.send_raw(b"+" if good else b"-")
                        if not good:
                            continue
                    return payload.decode("latin-1")
            elif self.buf:
                self.buf = b""          # acks (+/-) and stray bytes between packets
            if self.closed or not self._fill(block=True):
                return None

    def drop_overlong(self) -> None:
        """A packet longer than the PacketSize emu announced: refuse it like one with a bad
        checksum (a '-' in ack mode) and drop what came of it; the rest of it, up to its
        '#', comes as stray bytes and is dropped too. So the buffer never holds more than
        one PacketSize and one recv, whatever a client sends."""
        if self.ack:
            self.send_raw(b"-")
        self.buf = b""

    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def send(self, payload: str | bytes) -> None:
        data = payload.encode("latin-1") if isinstance(payload, str) else payload
        packet = b"$" + data + b"#" + f"{checksum(data):02x}".encode()
        try:
            self.sock.sendall(packet)
        except OSError:
            self.closed = True
        # The ack (+) is skipped by recv_packet with the other bytes between packets.

    def output(self, text: str) -> None:
        """Console output for gdb (an 'O' packet), e.g. monitor command results."""
        for start in range(0, len(text), PACKET_SIZE // 2 - 8):
            self.send("O" + text[start:start + PACKET_SIZE // 2 - 8].encode().hex())


class GdbStub:
    """gdb's view of one Machine: process 1 (or whichever pid `follow` names) and the stub.

    Cpu.run calls `before_slice` between emu_start calls, and `on_watch_probe` when a
    watched page was touched; between them the guest runs at full speed.
    """

    def __init__(self, machine, port: int, *, host: str = "127.0.0.1"):
        self.machine = machine
        self.cpu = machine.cpu
        self.kernel = machine.kernel
        self.mmu = machine.mmu
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))       # OSError (port in use) reaches the CLI
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.stop = None                # a Stop to report at the next slice boundary
        self.last_stop = Stop(signal.SIGTRAP)
        self.stepping = False
        self.detached = False
        self.breakpoints = {}           # va -> Unicorn hook handle
        self.skip_bp_at = None          # the resume rip: its breakpoint has been reported
        self.watchpoints = []
        self.watch_pages = {}           # vpn -> Unicorn permission bits withheld
        self.watch_hook = None
        self.watch_probe = None         # (page va, Unicorn access) the watched fill refused
        self.watch_suspended = False
        self.frame_override = None      # the trap frame, during a fatal-fault stop
        self.phys_mode = False          # Qqemu.PhyMemMode:1 / `monitor phys on`
        self.proc = None                # the process gdb follows (process 1): its leader task
        self.thread = None              # the thread whose registers gdb reads and writes (Hg)
        self.resume_thread = None       # the thread gdb asked to step or continue (Hc), if one
        self.step_rip = self.step_task = None     # where the step gdb asked for started
        self.stepped_into_kernel = False          # it raised an exception: the stub runs
        self.step_from_user = False
        self.user_steps = False         # `monitor stepping user`: a step never stops in ring 0
        self.entry_hook = None
        self.greeted = False
        self.hw = set()                 # the breakpoints gdb inserted as hardware ones (Z1)
        self.exec_events = False        # gdb asked for exec events (qSupported exec-events+)
        self.multiprocess = False       # gdb's multiprocess extensions (pPID.TID thread-ids)
        self.host_files = {}            # vFile descriptors: fd -> TargetFile

    # -- set-up ----------------------------------------------------------------------

    def attach(self) -> None:
        """Follow process 1; the first stop is at the program's entry point. Called at the
        first slice (Cpu.run), once exec has made process 1."""
        self.proc = self.kernel.init
        entry = self.kernel.start.entry
        self.entry_hook = self.cpu.uc.hook_add(UC_HOOK_CODE, self.on_entry, begin=entry, end=entry)
        # A fault process 1 cannot survive stops it first (Kernel.force_signal calls this).
        self.kernel.on_fatal_signal = self.fatal_stop
        self.kernel.on_exec = self.exec_stop

    def on_entry(self, uc, address, size, _data):
        self.cpu.uc.hook_del(self.entry_hook)
        self.entry_hook = None
        self.stop = Stop(signal.SIGTRAP)
        uc.emu_stop()

    def accept(self) -> None:
        print(f"emu: waiting for gdb on 127.0.0.1:{self.port} (target remote :{self.port})",
              file=sys.stderr, flush=True)
        while not select.select([self.listener], [], [], WAIT_TICK)[0]:
            self.check_host_signal()
        sock, _ = self.listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.listener.close()
        self.conn = Connection(sock, waiting=self.check_host_signal)

    def check_host_signal(self) -> None:
        """While the stub waits for gdb: a signal to emu itself (Ctrl-C, kill) ends the wait."""
        if self.cpu.host_signal is not None:
            raise HostSignalled()

    # -- the run loop's side ---------------------------------------------------------

    def before_slice(self, rip: int, count: int, budget_us: int):
        """Between two emu_start calls: report a stop and serve gdb, or poll for Ctrl-C.
        Returns (rip, count, timeout in us) for the next emu_start. A signal to emu while
        it waits for gdb returns at once: the run loop then ends the run."""
        try:
            return self.serve_slice(rip, count, budget_us)
        except HostSignalled:
            return rip, count, budget_us

    def serve_slice(self, rip: int, count: int, budget_us: int):
        self.watch_probe = None
        if self.proc is None:
            self.attach()
        if self.stepping and self.stop is None and self.step_on(rip):
            self.start_counting()
            return rip, 1, budget_us
        if self.stepping:
            self.stepping = False
            self.stop = self.stop or Stop(signal.SIGTRAP)
        if self.stop is None and self.conn is not None and self.conn.poll_interrupt():
            self.stop = Stop(signal.SIGINT)
        if self.stop is not None:
            if self.conn is None:
                self.accept()
            stop, self.stop = self.stop, None
            self.cpu.set_reg("rip", rip)
            self.serve(stop)
            rip = self.cpu.reg("rip")
            self.skip_bp_at = rip           # its breakpoint, if any, was just reported
        else:
            self.skip_bp_at = None          # e.g. a handler's first instruction after delivery
        if self.detached or self.cpu.stopped:
            return rip, count, budget_us
        if self.stepping:
            self.start_counting()
            return rip, 1, budget_us
        # Poll for Ctrl-C every POLL_INSNS instructions. A slice counted in instructions
        # stops between two of them; emu_start's timeout stops from Unicorn's timer
        # thread, which once lost a system call (see Cpu.run).
        self.start_counting()
        return rip, POLL_INSNS if count in (0, NO_PREEMPTION) else min(count, POLL_INSNS), budget_us

    def step_on(self, rip: int) -> bool:
        """Does the step gdb asked for go on? Only with `monitor stepping user`: a user
        instruction that raised an exception (a page fault) left the CPU in the ring-0 stub;
        step on through it, and when its iretq retries the instruction, step that too, so
        the step ends after the instruction, as a step of a program on Linux does. The
        default (`machine`) stops at the handler's first instruction, as on hardware."""
        if not self.user_steps or not self.step_from_user or self.cpu.stopped:
            return False
        if self.cpu.read_cpl() != 3:
            self.stepped_into_kernel = True
            return True
        if self.stepped_into_kernel:
            self.stepped_into_kernel = False
            return rip == self.step_rip and self.kernel.current is self.step_task      # the retry
        return False

    def start_counting(self) -> None:
        """Single steps are emu_start(count=1), and polls are slices of POLL_INSNS: both
        need Unicorn's instruction counter (Cpu.start_counting)."""
        self.cpu.start_counting()

    def stop_pending(self) -> bool:
        return self.stop is not None

    def on_breakpoint(self, uc, address, size, _data):
        if address == self.skip_bp_at:
            self.skip_bp_at = None
            return
        if not self.following(self.kernel.current):
            return                              # other processes run on (docs/debugging.md)
        self.stop = Stop(signal.SIGTRAP, "hwbreak:;" if address in self.hw else "swbreak:;")
        uc.emu_stop()

    def exec_stop(self, proc, path: str) -> None:
        """Process 1 ran execve: if gdb asked for exec events, stop with one (T05exec:PATH)
        at the new program's first instruction, so gdb loads its symbols and sets the
        breakpoints again; the stop is reported at the next slice."""
        if proc.tgid == self.proc.tgid:
            self.proc = proc                # a thread's execve gave it the leader's place
        if proc is self.proc and self.exec_events and not self.detached:
            self.stop = Stop(signal.SIGTRAP, f"exec:{os.path.abspath(path).encode().hex()};")

    def fatal_stop(self, sig: int, frame: dict) -> None:
        """Process 1 takes a fault it cannot survive: stop with its signal, showing the
        faulting instruction's registers (the trap `frame`), before the kernel kills it."""
        if self.conn is None or self.conn.closed or self.detached:
            return
        self.frame_override = frame
        try:
            self.serve(Stop(sig))
        finally:
            self.frame_override = None
            self.stepping = False          # the process dies whatever gdb asked

    def finish(self) -> None:
        """The machine stopped: tell gdb how process 1 ended."""
        if self.conn is None or self.conn.closed or self.detached:
            return
        status = self.kernel.init.exit_status
        process = f";process:{self.proc.tgid:x}" if self.multiprocess else ""
        if status is None:
            self.conn.send(f"X09{process}")
        elif status & 0x7F:
            self.conn.send(f"X{status & 0x7F:02x}{process}")
        else:
            self.conn.send(f"W{(status >> 8) & 0xFF:02x}{process}")
        self.conn.sock.close()

    # -- the RSP command loop --------------------------------------------------------

    def following(self, task) -> bool:
        """Is `task` a thread of the process gdb follows?"""
        return task is not None and task.tgid == self.proc.tgid and task.alive

    def thread_id(self, task) -> str:
        """A thread-id as gdb's packets write it: the tid in hex, or with gdb's multiprocess
        extensions pPID.TID, which tells gdb the process's pid (for `info proc`)."""
        return f"p{task.tgid:x}.{task.pid:x}" if self.multiprocess else f"{task.pid:x}"

    def parse_thread_id(self, text: str) -> int:
        """A thread-id from gdb: a tid, 0 for any thread, -1 for all (pPID.TID and pPID too)."""
        if text.startswith("p"):
            pid, _, text = text[1:].partition(".")
            if pid != "-1":
                parse_hex(pid, "process id")
            text = text or "-1"
        return -1 if text == "-1" else parse_hex(text or "0", "thread id", bits=63)

    def threads(self) -> list:
        """The followed process's live threads, the leader first: gdb's thread list."""
        return sorted(self.proc.leader.threads, key=lambda task: task.pid)

    def stopped_thread(self):
        """The thread a stop is reported for: the one on the CPU if it is one of ours
        (it hit the breakpoint or took the step), else the first one."""
        current = self.kernel.current
        if self.following(current):
            return current
        threads = self.threads()
        return threads[0] if threads else self.proc

    def serve(self, stop: Stop) -> None:
        """Report `stop` and answer gdb until it resumes (c, s), detaches or kills."""
        self.thread = self.stopped_thread()
        self.resume_thread = None
        stop = replace(stop, thread=self.thread_id(self.thread))
        self.last_stop = stop
        if self.greeted:
            self.conn.send(stop.reply())
        self.greeted = True                # the first stop is reported when gdb asks '?'

        self.conn.interrupted = False
        while True:
            packet = self.conn.recv_packet()
            if packet is None:             # gdb went away: run on as if detached
                self.detach()
                return
            if self.handle_guarded(packet) == "resume":
                return

    def handle_guarded(self, packet: str) -> str | None:
        """`handle`, with a malformed packet answered E01 and the stub serving on. Any
        other exception is an emu bug: it is named in one line and answered E NN too,
        so that no client can end emu with a traceback."""
        try:
            return self.handle(packet)
        except ProtocolError as err:
            self.conn.send(err.reply)
        except Exception as err:           # the last resort, see the docstring
            print(f"emu: gdb stub bug: {type(err).__name__}: {err} (answering packet {packet[:40]!r}); "
                  f"replied {E_MALFORMED}", file=sys.stderr, flush=True)
            self.conn.send(E_MALFORMED)
        return None

    def handle(self, packet: str) -> str | None:
        """Answer one packet; "resume" when the target is to run (c, s, vCont, D, k)."""
        cmd, body = packet[:1], packet[1:]
        if packet.startswith("vCont;"):
            return self.resume_vcont(packet[len("vCont;"):])
        if packet.startswith("vKill;"):            # the multiprocess form of k
            self.conn.send("OK")
            self.kill()
            return "resume"
        if cmd and cmd in "cCsS":
            address = self.parse_resume(cmd, body)
            self.stepping = cmd in "sS"
            if self.stepping:
                self.switch_for_step()
            if address is not None:
                self.cpu.set_reg("rip", address)
            self.step_rip, self.step_task = self.cpu.reg("rip"), self.kernel.current
            self.step_from_user = self.cpu.read_cpl() == 3
            self.stepped_into_kernel = False
            return "resume"
        reply = self.answer(cmd, body, packet)
        if reply is not None:
            self.conn.send(reply)
        return "resume" if cmd in ("D", "k") else None

    @staticmethod
    def parse_resume(cmd: str, body: str) -> int | None:
        """c [ADDR], s [ADDR], C SIG[;ADDR], S SIG[;ADDR]: the address to resume at, if any.
        (The signal is not delivered: docs/debugging.md.)"""
        if cmd in "CS":
            sig, semicolon, body = body.partition(";")
            parse_hex(sig, "signal", bits=8)
            if semicolon and not body:
                raise ProtocolError(f"{cmd} packet with an empty address")
        return parse_hex(body, "address") if body else None

    def resume_vcont(self, actions: str) -> str:
        """vCont;s:TID;c (step thread TID, the others may run) or vCont;c. One CPU and
        all-stop mode: a step runs one instruction of that thread, nothing else."""
        steps = [self.parse_vcont_action(action) for action in actions.split(";")]
        step = next((tid for tid in steps if tid is not None), None)
        self.stepping = step is not None
        if self.stepping:
            step = self.thread_by_id(step) if step > 0 else None
            self.resume_thread = step
            self.switch_for_step()
        self.step_rip, self.step_task = self.cpu.reg("rip"), self.kernel.current
        self.step_from_user = self.cpu.read_cpl() == 3
        self.stepped_into_kernel = False
        return "resume"

    def parse_vcont_action(self, action: str) -> int | None:
        """One vCont action (c, C SIG, s, S SIG, each with an optional :TID): the thread-id
        it steps (-1 for any), or None for a continue."""
        kind, colon, tid = action.partition(":")
        if kind[:1] not in ("c", "C", "s", "S") or kind[:1] in "cs" and kind[1:]:
            raise ProtocolError(f"vCont action {action[:20]!r} is not c, C, s or S")
        if kind[:1] in "CS":
            parse_hex(kind[1:], "signal", bits=8)
        if colon and not tid:
            raise ProtocolError("vCont action with an empty thread-id")
        tid = self.parse_thread_id(tid) if tid else -1
        return tid if kind[:1] in "sS" else None

    def answer(self, cmd: str, body: str, packet: str) -> str | None:
        if cmd == "?":
            return self.last_stop.reply()
        if cmd == "g":
            return "".join(self.read_register(n).hex() for n in range(len(REGISTERS)))
        if cmd == "G":
            data = parse_hex_bytes(body, "registers")
            if len(data) != G_PACKET_BYTES:
                raise ProtocolError(f"G packet of {len(data)} bytes, not {G_PACKET_BYTES}")
            self.write_registers(data)
            return "OK"
        if cmd == "p":
            number = parse_hex(body, "register")
            return self.read_register(number).hex() if number < len(REGISTERS) else E_INVAL
        if cmd == "P":
            number, value = parse_fields(body, 2, "P packet", "=")
            return self.write_register(parse_hex(number, "register"), parse_hex_bytes(value, "value"))
        if cmd == "m":
            va, length = parse_range(body)
            if length == 0:
                return ""
            data = self.read_memory(va, min(length, PACKET_SIZE // 2, ADDRESS_LIMIT - va))
            return data.hex() if data else E_FAULT
        if cmd == "M":
            where, hexdata = parse_fields(body, 2, "M packet", ":")
            va, length = parse_range(where)
            data = parse_hex_bytes(hexdata)
            if len(data) != length or va + length > ADDRESS_LIMIT:
                raise ProtocolError(f"M packet: {len(data)} bytes of data for a length of {length}")
            return "OK" if self.write_memory(va, data) else E_FAULT
        if cmd and cmd in "Zz":
            return self.set_point(cmd == "Z", body)
        if cmd == "D":
            self.detach()
            return "OK"
        if cmd == "k":
            self.kill()
            return None
        if cmd == "H":
            return self.select_thread(body[:1], self.parse_thread_id(body[1:]))
        if cmd == "T":
            return "OK" if self.thread_by_id(self.parse_thread_id(body)) is not None else E_INVAL
        if packet == "vCont?":
            return "vCont;c;C;s;S"
        if cmd == "v" and body.startswith("File:"):
            return self.host_io(body[len("File:"):])
        if cmd == "q":
            return self.query(body)
        if cmd == "Q":
            return self.set_query(body)
        return ""                          # not supported: vCont?, X, vMustReplyEmpty ...

    # -- host I/O (vFile): how gdb reads files on the target -----------------------------

    def host_io(self, body: str) -> str | bytes:
        """vFile:open/pread/close/setfs, read-only. /proc/PID/maps comes from the guest
        kernel (so `info proc mappings PID` works); any other path is a host file, as
        gdbserver serves them (gdb reads program files this way)."""
        op, _, args = body.partition(":")
        if op == "setfs":
            return "F0"
        if op == "open":
            name, flags, _mode = parse_fields(args, 3, "vFile:open")
            if parse_hex(flags, "flags") & 3:           # O_WRONLY or O_RDWR
                return f"F-1,{FILEIO_EACCES:x}"
            if len(self.host_files) >= MAX_HOST_FILES:
                return f"F-1,{FILEIO_EMFILE:x}"
            try:
                source = self.target_file(os.fsdecode(parse_hex_bytes(name, "file name")))
            except FileIOError as err:
                return f"F-1,{err.fileio_errno:x}"
            fd = min(set(range(1, MAX_HOST_FILES + 1)) - set(self.host_files))
            self.host_files[fd] = source
            return f"F{fd:x}"
        if op == "pread":
            fd, count, offset = parse_fields(args, 3, "vFile:pread")
            fd, count, offset = parse_hex(fd, "fd"), parse_hex(count, "count"), parse_hex(offset, "offset", bits=63)
            if fd not in self.host_files:
                return f"F-1,{FILEIO_EBADF:x}"
            try:
                chunk = self.host_files[fd].pread(min(count, PACKET_SIZE // 2), offset)
            except FileIOError as err:
                return f"F-1,{err.fileio_errno:x}"
            return f"F{len(chunk):x};".encode() + escape_binary(chunk)
        if op == "close":
            source = self.host_files.pop(parse_hex(args, "fd", bits=63), None)
            if source is None:
                return f"F-1,{FILEIO_EBADF:x}"
            source.close()
            return "F0"
        return ""                                        # pwrite, unlink, readlink, fstat: not supported

    def target_file(self, path: str) -> "TargetFile":
        """What vFile:open opens: /proc/PID/maps as the guest kernel's bytes, any other
        path as a host fd, opened O_NONBLOCK so that a FIFO cannot block the stub.
        Raises FileIOError."""
        match = re.fullmatch(r"/proc/(\d+|self)/maps", path)
        if match:
            pid = self.proc.pid if match.group(1) == "self" else int(match.group(1))
            proc = self.kernel.procs.get(pid)
            if proc is None or not proc.alive:
                raise FileIOError(FILEIO_ENOENT)
            return TargetFile(data=generate_maps(self.kernel, proc).encode())
        if "\0" in path:
            raise FileIOError(FILEIO_EINVAL)
        try:
            return TargetFile(fd=os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))
        except OSError as err:
            raise FileIOError(FILEIO_ENOENT if err.errno == errno.ENOENT else FILEIO_EACCES) from None

    def query(self, body: str) -> str:
        if body.startswith("Supported"):
            self.exec_events = "exec-events+" in body
            self.multiprocess = "multiprocess+" in body
            return (f"PacketSize={PACKET_SIZE:x};qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+"
                    + (";exec-events+" if self.exec_events else "") + (";multiprocess+" if self.multiprocess else ""))
        if body.startswith("Xfer:features:read:"):
            return self.read_features(body[len("Xfer:features:read:"):])
        if body == "Attached" or body.startswith("Attached:"):
            return "1"
        if body == "C":
            return f"QC{self.thread_id(self.thread)}"
        if body == "fThreadInfo":
            return "m" + ",".join(self.thread_id(task) for task in self.threads())
        if body == "sThreadInfo":
            return "l"
        if body.startswith("ThreadExtraInfo,"):
            task = self.thread_by_id(self.parse_thread_id(body[len("ThreadExtraInfo,"):]))
            if task is None:
                return E_INVAL
            what = "on the CPU" if task is self.kernel.current else \
                f"in {task.block.what}" if task.block is not None and task.block.what else task.state
            return f"tid {task.pid}, {what}".encode().hex()
        if body.startswith("Rcmd,"):
            from .monitor import run_monitor_command
            text = run_monitor_command(self, parse_hex_bytes(body[5:], "command").decode(errors="replace"))
            if text:
                self.conn.output(text if text.endswith("\n") else text + "\n")
            return "OK"
        if body == "qemu.PhyMemMode":
            return "1" if self.phys_mode else "0"
        if body.startswith("Symbol"):
            return "OK"
        return ""

    @staticmethod
    def read_features(args: str) -> bytes | str:
        """qXfer:features:read:ANNEX:OFFSET,LENGTH: a piece of target.xml (at most half a
        PacketSize, whatever LENGTH says); E00 for another annex, as the protocol says."""
        annex, offset_length = parse_fields(args, 2, "qXfer:features:read", ":")
        offset, length = parse_range(offset_length, "offset,length")
        if annex != "target.xml":
            return "E00"
        data = target_xml().encode()
        chunk = data[offset:offset + min(length, PACKET_SIZE // 2)]
        return ("l" if offset + len(chunk) >= len(data) else "m").encode() + escape_binary(chunk)

    def set_query(self, body: str) -> str:
        if body == "StartNoAckMode":
            self.conn.send("OK")
            self.conn.ack = False
            return None
        if body.startswith("qemu.PhyMemMode:"):
            self.phys_mode = body.endswith("1")
            return "OK"
        return ""

    def detach(self) -> None:
        for va in list(self.breakpoints):
            self.remove_breakpoint(va)
        self.watchpoints = []
        self.update_watch_pages()
        self.detached = True
        self.stepping = False
        self.cpu.debugger = None
        if self.conn is not None and not self.conn.closed:
            self.conn.closed = True

    def kill(self) -> None:
        self.detached = True
        self.cpu.debugger = None
        self.kernel.report.lines = [f"emu: {self.kernel.init.path} (pid 1) killed by gdb"]
        self.kernel.exit_process(self.kernel.init, signal.SIGKILL)
        self.cpu.stop()

    # -- registers -------------------------------------------------------------------

    def thread_by_id(self, tid: int):
        """Thread `tid` of the followed process, or None."""
        task = self.kernel.procs.get(tid)
        return task if self.following(task) else None

    def select_thread(self, op: str, tid: int) -> str:
        """Hg (registers) and Hc (step and continue) choose a thread; 0 and -1 mean any."""
        task = None
        if tid not in (0, -1):
            task = self.thread_by_id(tid)
            if task is None:
                return E_INVAL
        if op == "g":
            self.thread = task or self.thread
        elif op == "c":
            self.resume_thread = task
        return "OK"

    def switch_for_step(self) -> None:
        """A step of a thread that is not on the CPU: switch to it first (one CPU, so this
        is what a scheduler would do), if it can run; a thread blocked in a system call
        cannot take a step, and the one on the CPU steps instead. The thread is Hc's, or
        with Hc0/Hc-1 (gdb's "resume all, step the selected one") Hg's, as gdbserver does."""
        task = self.resume_thread or self.thread
        kernel = self.kernel
        if task is None or task is kernel.current or task.state != RUNNABLE or self.cpu.read_cpl() != 3:
            return               # (in the stub, the one kernel stack holds the current thread's frame)
        current = kernel.current
        current.context = self.cpu.uc.context_save()
        kernel.switch_to(self.cpu, task)
        self.thread = task

    def register_source(self):
        """What `uc.reg_read` should read: the CPU if the selected thread is on it, else
        that thread's saved context."""
        task = self.thread if self.thread is not None and self.thread.alive else self.proc
        if task is None or self.kernel.current is task or task.context is None:
            return self.cpu.uc
        return task.context

    def reg_value(self, name: str) -> int:
        if self.frame_override is not None:
            if name in TRAPFRAME_REGS or name in ("rip", "rsp", "cs", "ss"):
                return self.frame_override[name]
            if name == "eflags":
                return self.frame_override["rflags"]
        source = self.register_source()
        if name == "efer":
            return self.mmu.efer
        return source.reg_read(UC_IDS[name])

    def read_register(self, number: int) -> bytes:
        name, bits, kind, _ = REGISTERS[number]
        if name in UC_IDS or name == "efer":
            try:
                value = self.reg_value(name)
            except UcError:
                value = 0
        elif name == "orig_rax":
            value = -1                    # Linux's "not in a system call" (gdb stops only between instructions)
        else:
            value = 0                     # the x87 pointer registers: not kept by emu
        if name.startswith("st"):
            # Unicorn returns (mantissa, exponent) for ST registers.
            mantissa, exponent = value if isinstance(value, tuple) else (0, 0)
            return struct.pack("<QH", mantissa, exponent)
        return (value & ((1 << bits) - 1)).to_bytes(bits // 8, "little")

    def write_register(self, number: int, data: bytes) -> str:
        if number >= len(REGISTERS):
            return E_INVAL
        name, bits, kind, _ = REGISTERS[number]
        if len(data) != bits // 8:
            raise ProtocolError(f"{len(data)} bytes for the {bits}-bit register {name}")
        if name not in UC_IDS or name.startswith("st") or self.frame_override is not None:
            return "OK"                   # accepted and ignored (docs/debugging.md)
        try:
            return self.set_register(name, int.from_bytes(data, "little"))
        except UcError:
            return E_INVAL                # e.g. a selector Unicorn will not load

    def set_register(self, name: str, value: int) -> str:
        if name == "cr3":
            if value & CR3_ADDR_MASK != value & ~(CR3_PWT | CR3_PCD) or not self.is_pml4(value):
                return E_INVAL
            self.cpu.switch_cr3(value)            # the TLBs are flushed, as by MOV to CR3
            return "OK"
        if name in ("cr0", "cr4"):
            self.cpu.uc.reg_write(UC_IDS[name], value)
            getattr(self.mmu, f"load_{name}")(value)
            return "OK"
        self.register_source().reg_write(UC_IDS[name], value)
        return "OK"

    def is_pml4(self, cr3: int) -> bool:
        """Does `cr3` point at a live process's pml4? gdb may switch address spaces
        (`set $cr3`), but a CR3 at a page that is no page table would leave the CPU
        unable to deliver an exception, looping in Unicorn with no way out."""
        pml4_pa = cr3 & CR3_ADDR_MASK
        return any(task.alive and task.mm.pt.pml4_pa == pml4_pa for task in self.kernel.procs.values())

    def write_registers(self, data: bytes) -> None:
        offset = 0
        for number, (name, bits, _, _) in enumerate(REGISTERS):
            size = bits // 8
            if name in GPRS or name in ("rip", "eflags"):
                self.write_register(number, data[offset:offset + size])
            offset += size

    # -- memory ----------------------------------------------------------------------

    def paging_regs(self) -> PagingRegs:
        cr3 = self.reg_value("cr3") if self.frame_override is None else self.cpu.reg("cr3")
        return PagingRegs(cr3, self.mmu.cr0, self.mmu.cr4, self.mmu.efer)

    def to_physical(self, va: int) -> int | None:
        """The physical address of `va` as gdb sees it: a software walk at CPL 0 that sets
        no A/D bit and fills no TLB; None if not mapped (gdb gets an error reply)."""
        if self.phys_mode:
            return va if va < self.machine.mem.size else None
        try:
            return walk(self.machine.mem, va, Access.READ, self.paging_regs(), cpl=0, update_ad=False).pa
        except (PageFault, GeneralProtection):
            return None

    def read_memory(self, va: int, length: int) -> bytes:
        """Up to `length` bytes at `va`, stopping at the first unmapped byte."""
        out = bytearray()
        while len(out) < length:
            at = va + len(out)
            pa = self.to_physical(at)
            if pa is None:
                break
            chunk = min(length - len(out), PAGE_SIZE - (at & (PAGE_SIZE - 1)))
            out += self.machine.mem.read(pa, chunk)
        return bytes(out)

    def write_memory(self, va: int, data: bytes) -> bool:
        """Write through the page tables (read-only pages too, as ptrace does)."""
        pieces, done = [], 0
        while done < len(data):
            at = va + done
            pa = self.to_physical(at)
            if pa is None:
                return False
            chunk = min(len(data) - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)))
            pieces.append((pa, data[done:done + chunk]))
            done += chunk
        for pa, piece in pieces:
            self.machine.mem.write(pa, piece)
            self.machine.frames.written(pa)       # a physical-mode write may hit a free frame
        self.cpu.uc.ctl_flush_tb()         # the write may have changed code QEMU translated
        return True

    # -- breakpoints and watchpoints -------------------------------------------------

    def set_point(self, insert: bool, body: str) -> str:
        """Z/z TYPE,ADDR,KIND[;cond...]: insert or remove a breakpoint (0 software, 1
        hardware) or a watchpoint (2 write, 3 read, 4 access; KIND is its length). Beyond
        MAX_BREAKPOINTS, MAX_WATCHPOINTS or WATCH_MAX_LENGTH the answer is E16, as a
        target out of debug registers answers; an unknown TYPE is unsupported (empty)."""
        kind, where, length = parse_fields(body.split(";")[0], 3, "Z packet")
        kind, va, length = parse_hex(kind, "type"), parse_hex(where, "address"), parse_hex(length, "kind")
        if kind in (0, 1):
            if not insert:
                self.remove_breakpoint(va)
            elif va not in self.breakpoints and len(self.breakpoints) >= MAX_BREAKPOINTS:
                return E_INVAL
            else:
                self.add_breakpoint(va, hardware=kind == 1)
            return "OK"
        if kind not in WATCH_PROT:
            return ""
        point = Watchpoint(kind, va, max(1, length))
        if not insert:
            if point in self.watchpoints:
                self.watchpoints.remove(point)
                self.update_watch_pages()
            return "OK"
        if point.length > WATCH_MAX_LENGTH or va + point.length > ADDRESS_LIMIT \
                or len(self.watchpoints) >= MAX_WATCHPOINTS:
            return E_INVAL
        self.watchpoints.append(point)
        self.update_watch_pages()
        return "OK"

    def add_breakpoint(self, va: int, *, hardware: bool) -> None:
        if hardware:
            self.hw.add(va)
        if va not in self.breakpoints:
            self.breakpoints[va] = self.cpu.uc.hook_add(UC_HOOK_CODE, self.on_breakpoint, begin=va, end=va)
            # QEMU adds a hook's call only to code it translates afterwards.
            self.cpu.uc.ctl_flush_tb()

    def remove_breakpoint(self, va: int) -> None:
        handle = self.breakpoints.pop(va, None)
        self.hw.discard(va)
        if handle is not None:
            self.cpu.uc.hook_del(handle)
            self.cpu.uc.ctl_flush_tb()

    def update_watch_pages(self) -> None:
        """Recompute the watched pages; swap in (or out) the watching TLB-fill hook."""
        pages = {}
        for point in self.watchpoints:
            for vpn in point.pages():
                pages[vpn] = pages.get(vpn, 0) | WATCH_PROT[point.kind]
        self.watch_pages = pages
        uc = self.cpu.uc
        if pages and self.watch_hook is None:
            uc.hook_del(self.mmu.fill_hook)
            self.watch_hook = uc.hook_add(UC_HOOK_TLB_FILL, self.tlb_fill_watched)
        elif not pages and self.watch_hook is not None:
            uc.hook_del(self.watch_hook)
            self.watch_hook = None
            self.mmu.fill_hook = uc.hook_add(UC_HOOK_TLB_FILL, self.mmu.fill_callback)
        self.mmu.flush_unicorn()           # Unicorn may hold full rights to a watched page

    def tlb_fill_watched(self, uc, va, uc_access, entry, data) -> bool:
        """The MMU's fill hook, with the watched pages' watched rights withheld: the first
        such access stops emulation (a 'watch probe') with RIP at the instruction."""
        withheld = self.watch_pages.get(va >> PAGE_SHIFT)
        if withheld is None or self.watch_suspended:
            return self.mmu.fill_callback(uc, va, uc_access, entry, data)
        if not self.mmu.fill_callback(uc, va, uc_access, entry, data):
            return False                   # a real fault wins
        if PROT_OF_ACCESS.get(uc_access, 0) & withheld:
            self.mmu.pending_fault = None
            self.watch_probe = (va, uc_access)
            return False
        entry.perms &= ~withheld
        return True

    def on_watch_probe(self) -> int:
        """A watched page was touched: find the exact access, let the instruction run once
        with the watch off, and stop if a watchpoint's range was hit. Returns the rip."""
        cpu = self.cpu
        _page, uc_access = self.watch_probe
        self.watch_probe = None
        rip = cpu.reg("rip")
        recipes = cpu.recipes.get(cpu.read_code(rip), rip)
        accesses = [(recipe.address(self.reg_for_recipe), recipe.size) for recipe in recipes]
        hit = None
        if self.following(self.kernel.current):
            hit = next((point for point in self.watchpoints for va, size in accesses
                        if point.catches(uc_access, va, size)), None)
        self.watch_suspended = True
        cpu.mmu.pending_fault = None
        self.skip_bp_at = rip
        self.start_counting()
        try:
            cpu.uc.emu_start(rip, NEVER, count=1)
        except UcError as err:
            self.watch_suspended = False
            self.mmu.flush_unicorn()
            return cpu.after_unicorn_error(err)      # the access faulted: no watch hit
        finally:
            self.watch_suspended = False
        self.mmu.flush_unicorn()           # drop the unwatched translation the step used
        if cpu.pending is not None:
            exc, cpu.pending = cpu.pending, None
            return cpu.deliver(exc)
        if hit is not None:
            self.stop = Stop(signal.SIGTRAP, f"{WATCH_STOP_KEY[hit.kind]}:{hit.va:x};")
        return cpu.reg("rip")

    def reg_for_recipe(self, name: str) -> int:
        return self.cpu.uc.reg_read(UC_IDS.get(name) or getattr(ux, f"UC_X86_REG_{name.upper()}"))
