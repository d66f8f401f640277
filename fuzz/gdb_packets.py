"""The gdb packet campaign: malformed, huge and binary packets at `emu run --gdb PORT`.

emu listens on 127.0.0.1 only. Each input is one packet (or a burst of raw bytes, an
interrupt, an abrupt disconnect); after it the stub must still answer `?` with a stop
reply within HANG_SECONDS, emu's stderr must hold no traceback and no "gdb stub bug"
line, and emu's resident set must stay under RSS_BOUND. A resume (c, s, vCont), a kill
(k, vKill), a detach or a disconnect ends the session by design (the guest runs to its
end, or gdb killed it): that is a clean outcome, and emu is started again.

RawGdb, the client, is also what tests/test_gdb_packets.py drives emu with.
"""

import random
import re
import socket
import subprocess
import sys
import tempfile
import time

from .common import REPO, Budget, Outcome, Tally

GUEST = "guest/hello.elf"
HANG_SECONDS = 5.0
RSS_BOUND = 768 << 20       # hello.elf under emu is about 100 MiB; a packet must not add hundreds
STUB_BUG = b"gdb stub bug"


def checksum(data: bytes) -> bytes:
    return b"%02x" % (sum(data) & 0xFF)


def frame(payload: bytes | str) -> bytes:
    """$PAYLOAD#CS: a well-framed packet with a good checksum."""
    data = payload.encode("latin-1") if isinstance(payload, str) else payload
    return b"$" + data + b"#" + checksum(data)


class RawGdb:
    """A gdb client without gdb: raw bytes out, reply packets in (acking them)."""

    def __init__(self, port: int, *, timeout: float = HANG_SECONDS):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.ack = True

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self, timeout: float | None = None) -> bytes | None:
        """The next reply packet's payload; None if none came in `timeout` seconds.
        Raises ConnectionError when emu closed the connection."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            match = re.search(rb"\$([^#]*)#[0-9a-fA-F]{2}", self.buf)
            if match:
                self.buf = self.buf[match.end():]
                if self.ack:
                    self.sock.sendall(b"+")
                return match.group(1)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                raise ConnectionError("emu closed the gdb connection")
            self.buf += data

    def ask(self, payload: bytes | str, timeout: float | None = None) -> bytes | None:
        """Send one well-framed packet and return its reply."""
        self.send_raw(frame(payload))
        return self.reply(timeout)

    def alive(self, timeout: float | None = None) -> bool:
        """Does the stub still answer `?` with a stop reply? Replies left over from the
        input before (none expected, but a burst may hold several packets) are skipped."""
        self.buf = b""
        self.send_raw(frame("?"))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            got = self.reply(deadline - time.monotonic())
            if got is None:
                return False
            if re.fullmatch(rb"T[0-9a-f]{2}.*thread:[0-9a-fp.]+;", got):
                return True
        return False

    def no_ack(self) -> None:
        assert self.ask("QStartNoAckMode") == b"OK"
        self.ack = False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmuUnderGdb:
    """`emu run --gdb PORT GUEST`, its stderr in a file, and a RawGdb connected to it."""

    def __init__(self, guest: str = GUEST):
        """(--timeout 10: a client may leave the guest in a loop, e.g. with `P` on rip; time
        stopped in gdb does not count.)"""
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "emu", "run", "--timeout", "10", "--gdb", str(free_port()), guest], cwd=REPO,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     start_new_session=True)
        self.port = self.wait_for_port()
        self.gdb = RawGdb(self.port)

    def wait_for_port(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = re.search(rb"waiting for gdb on 127\.0\.0\.1:(\d+)", self.stderr_text())
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"emu did not listen: {self.stderr_text()[-400:]!r}")

    def stderr_text(self) -> bytes:
        self.stderr.seek(0)
        return self.stderr.read()

    def rss(self) -> int:
        """emu's resident set in bytes (VmRSS), 0 once it has gone."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def broken(self) -> bool:
        text = self.stderr_text()
        return b"Traceback (most recent call last)" in text or STUB_BUG in text

    def stop(self) -> None:
        try:
            self.gdb.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.close()


# -- inputs ------------------------------------------------------------------------

# Valid packets of gdb's vocabulary, to be mutated. Resumes and kills are kept apart:
# they end a session (see the module docstring).
VOCABULARY = [
    "?", "g", "p0", "p10", "p39", "pff", "P0=0000000000000000", "m401000,10", "m0,1",
    "M401000,1:90", "Z0,401000,1", "z0,401000,1", "Z1,401004,1", "z1,401004,1",
    "Z2,402000,8", "z2,402000,8", "Z3,402000,4", "z3,402000,4", "Z4,402000,1", "z4,402000,1",
    "Hg1", "Hc-1", "Hg0", "T1", "qSupported:multiprocess+;swbreak+;hwbreak+;exec-events+",
    "qXfer:features:read:target.xml:0,ffb", "qAttached", "qC", "qfThreadInfo", "qsThreadInfo",
    "qThreadExtraInfo,1", "qRcmd,68656c70", "qRcmd,77616c6b2024727370", "qRcmd,7074",
    "qRcmd,7072", "qSymbol::", "Qqemu.PhyMemMode:0", "qqemu.PhyMemMode", "vCont?",
    "vMustReplyEmpty", "vFile:setfs:0", "vFile:open:2f70726f632f312f6d617073,0,0",
    "vFile:pread:1,100,0", "vFile:close:1", "X401000,0:", "qTStatus", "qOffsets",
    "vFile:open:2f6465762f7a65726f,0,0", "qL1200000000000000000", "!", "QNonStop:0",
    # registers a hostile client may set before a resume: rip, eflags, cs, ss, ds, st0,
    # fctrl, mxcsr, fs_base, cr0, cr3, cr4
    "P10=0010400000000000", "P11=02020000", "P12=33000000", "P13=2b000000", "P14=00000000",
    "P18=00000000000000000000", "P20=7f030000", "P38=801f0000", "P39=0000000000000000",
    "P3b=33000180", "P3d=0000000000000000", "P3e=a0060000",
]
SESSION_ENDERS = ["c", "s", "vCont;c", "vCont;s:1", "C05", "S05;401000", "k", "vKill;1", "D", "D;1"]
HEX_NUMBERS = ["0", "1", "-1", "ffffffffffffffff", "10000000000000000", "7fffffffffffffff",
               "fffffffffffff000", "401000", "zz", "", " 1", "0x10", "1_0", "+1", "f" * 40]


def mutate(rng: random.Random, packet: str) -> bytes:
    """One mutant of `packet`: a field replaced by an odd number, cut, repeated, bytes
    flipped or inserted (binary, $ # } *), or the packet grown huge."""
    data = bytearray(packet.encode())
    how = rng.randrange(8)
    if how == 0:                                          # a field becomes an odd number
        fields = re.split(r"([,:;=])", packet)
        slots = [i for i in range(0, len(fields), 2)]
        i = rng.choice(slots)
        fields[i] = (fields[i][:1] if i == 0 else "") + rng.choice(HEX_NUMBERS)
        return "".join(fields).encode("latin-1")
    if how == 1:                                          # truncated
        return bytes(data[:rng.randrange(len(data) + 1)])
    if how == 2:                                          # a byte flipped
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if how == 3:                                          # special bytes inserted
        at = rng.randrange(len(data) + 1)
        return bytes(data[:at]) + bytes(rng.choice(b"$#}*\x00\x03\xff,:;=")
                                         for _ in range(rng.randrange(1, 4))) + bytes(data[at:])
    if how == 4:                                          # random bytes after the command letter
        return bytes(data[:1]) + rng.randbytes(rng.randrange(1, 64))
    if how == 5:                                          # a huge field
        return bytes(data) + rng.choice([b"0", b"f", b",", b"a"]) * rng.choice([100, 5000, 0x3ff0, 100000])
    if how == 6:                                          # a field repeated
        return bytes(data) + rng.choice([b",", b";", b":"]) + bytes(data[1:])
    return rng.randbytes(rng.randrange(0, 40))            # pure junk


def raw_input_bytes(rng: random.Random) -> tuple[str, bytes]:
    """(kind, bytes) for one input that is not a plain well-framed packet."""
    payload = mutate(rng, rng.choice(VOCABULARY))
    how = rng.randrange(6)
    if how == 0:
        return "bad checksum", b"$" + payload + b"#" + rng.choice([b"00", b"zz", b"g", b""])
    if how == 1:
        return "no #", b"$" + payload
    if how == 2:
        return "interrupt", b"\x03" * rng.randrange(1, 4)
    if how == 3:
        return "junk between packets", rng.randbytes(rng.randrange(1, 200)).replace(b"$", b"")
    if how == 4:
        return "overlong", b"$" + b"m" * rng.choice([0x4001, 0x10000, 0x100000])
    return "several at once", b"".join(frame(mutate(rng, rng.choice(VOCABULARY))) for _ in range(5))


def one_input(rng: random.Random) -> tuple[str, bytes, bool]:
    """(description, bytes to send, is it valid?) for the next input."""
    roll = rng.random()
    if roll < 0.01:
        return "disconnect", b"", False
    if roll < 0.02:
        packet = rng.choice(SESSION_ENDERS)
        return f"valid {packet!r}", frame(packet), True
    if roll < 0.25:
        kind, data = raw_input_bytes(rng)
        return kind, data, False
    if roll < 0.35:
        packet = rng.choice(VOCABULARY)
        return f"valid {packet!r}", frame(packet), True
    payload = mutate(rng, rng.choice(VOCABULARY + SESSION_ENDERS))
    return f"mutant {payload[:60]!r}", frame(payload), False


def campaign(rng: random.Random, budget: Budget) -> Tally:
    tally = Tally("gdb packets")
    sessions = 0
    emu = None
    peak_rss = 0
    try:
        while budget.spend():
            if emu is None:
                emu = EmuUnderGdb()
                sessions += 1
                history = []                  # this session's inputs: the reproducer
                if rng.random() < 0.3:
                    emu.gdb.no_ack()
                    history.append(frame("QStartNoAckMode"))
            what, data, valid = one_input(rng)
            history.append(data if what != "disconnect" else b"<disconnect>")
            outcome, detail = try_input(emu, what, data, valid)
            peak_rss = max(peak_rss, emu.rss())
            tally.add(outcome, reproducer=f"{what}; the session's inputs: {b''.join(history)[-3000:]!r}",
                      detail=detail)
            if emu.proc.poll() is not None or outcome not in (Outcome.OK, Outcome.REFUSED):
                emu.stop()
                emu = None
    finally:
        if emu is not None:
            emu.stop()
    tally.figures.update(sessions=sessions, peak_rss_mib=peak_rss >> 20)
    return tally


def try_input(emu: EmuUnderGdb, what: str, data: bytes, valid: bool) -> tuple[Outcome, str]:
    """Send one input and classify by what emu did next: the stub answers `?` (OK for a
    valid packet, REFUSED for the others), or the session ended by design (a resume ran
    the guest to its end, a kill, a detach, a disconnect: OK once emu has exited without
    a traceback), else a HANG; a traceback or a "gdb stub bug" line on stderr is a
    TRACEBACK, a resident set over RSS_BOUND HOST_MEMORY."""
    try:
        if what == "disconnect":
            emu.gdb.close()
            alive = False
        else:
            emu.gdb.send_raw(data)
            alive = emu.gdb.alive()
    except (ConnectionError, OSError):
        alive = False
    if emu.broken():
        return Outcome.TRACEBACK, emu.stderr_text().decode(errors="replace")[-600:]
    if emu.rss() > RSS_BOUND:
        return Outcome.HOST_MEMORY, f"VmRSS {emu.rss() >> 20} MiB"
    if alive:
        return (Outcome.OK if valid else Outcome.REFUSED), ""
    try:
        emu.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        return Outcome.HANG, "the stub did not answer ? and emu did not end"
    if emu.broken():
        return Outcome.TRACEBACK, emu.stderr_text().decode(errors="replace")[-600:]
    return Outcome.OK, ""
