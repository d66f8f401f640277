"""The gdb stub against a hostile client: raw packets over a socket, no gdb needed.

One `emu run --gdb PORT guest/hello.elf` (stopped at its entry point) takes a table of
malformed packets; each must get gdbserver's kind of answer (E01 for a malformed packet,
E16 for a value out of bounds, the empty reply for an unknown packet) and then the stub
must still answer `?`, with no traceback and no "gdb stub bug" line on emu's stderr.
Client-given numbers (lengths, ranges, offsets) must not size emu's memory or work:
emu's VmRSS stays small and each reply comes at once. docs/debugging.md, "Limits".
"""

import re
import socket
import time
import types

import pytest

from emu.debug.gdbstub import G_PACKET_BYTES, MAX_HOST_FILES, MAX_WATCHPOINTS, PACKET_SIZE, Connection, GdbStub
from fuzz.gdb_packets import EmuUnderGdb, frame

STOP = rb"T[0-9a-f]{2}.*thread:[0-9a-fp.]+;"     # a stop reply, as `?` gets
E01, E16, E0E, EMPTY, OK = rb"E01", rb"E16", rb"E0e", rb"", rb"OK"
G_BYTES = G_PACKET_BYTES

# (packet payload, the replies expected before the stub answers `?`). Unmapped: 0xdead0000.
MALFORMED = [
    # g/G: registers
    ("G", [E01]), ("G0", [E01]), ("Gzz", [E01]), ("G00", [E01]),
    ("G" + "00" * (G_BYTES - 1), [E01]), ("G" + "00" * (G_BYTES + 1), [E01]),
    ("G" + "zz" * G_BYTES, [E01]), ("G " + "00" * G_BYTES, [E01]),
    # p/P: one register
    ("p", [E01]), ("pzz", [E01]), ("p-1", [E01]), ("p 1", [E01]), ("p0x1", [E01]), ("p1_0", [E01]),
    ("p+1", [E01]), ("p" + "f" * 17, [E01]), ("pffff", [E16]), ("p0", [rb"[0-9a-f]{16}"]),
    ("P", [E01]), ("P0", [E01]), ("P0=", [E01]), ("P0=zz", [E01]), ("P0=0", [E01]), ("P=00", [E01]),
    ("Pzz=0000000000000000", [E01]), ("P0=00", [E01]), ("P0=" + "00" * 9, [E01]), ("P0=00=00", [E01]),
    ("Pffff=0000000000000000", [E16]), ("P-1=0000000000000000", [E01]),
    # m: read memory
    ("m", [E01]), ("m0", [E01]), ("m,", [E01]), ("mzz,1", [E01]), ("m0,zz", [E01]), ("m0,1,2", [E01]),
    ("m-1,1", [E01]), ("m0,-1", [E01]), ("m,1", [E01]), ("m0,", [E01]), ("m 0,1", [E01]),
    ("m0x401000,1", [E01]), ("m401000,", [E01]), ("m10000000000000000,1", [E01]),
    ("m401000,10000000000000000", [E01]), ("m}401000,1", [E01]), ("m401000,1*!", [E01]),
    ("m401000,0", [EMPTY]), ("mdead0000,10", [E0E]), ("mdead0000,ffffffffffffffff", [E0E]),
    ("m401000,ffffffffffffffff", [rb"([0-9a-f]{2}){1,%d}" % (PACKET_SIZE // 2)]),
    # M: write memory
    ("M", [E01]), ("M0", [E01]), ("M401000,1", [E01]), ("M401000,1:", [E01]), ("M401000,1:zz", [E01]),
    ("M401000,1:0", [E01]), ("M401000,2:00", [E01]), ("M401000,1:0000", [E01]), ("Mzz,1:00", [E01]),
    ("M401000,zz:00", [E01]), ("M401000:00", [E01]), ("M401000,1:00:00", [E01]),
    ("Mffffffffffffffff,2:0000", [E01]), ("M401000,ffffffffffffffff:00", [E01]),
    ("Mdead0000,1:00", [E0E]),
    # X (binary write) is not supported: gdb falls back to M
    ("X401000,0:", [EMPTY]), ("X401000,2:}\x03}\x04", [EMPTY]), ("X", [EMPTY]), ("Xzz,zz:\xff\x00", [EMPTY]),
    # Z/z: breakpoints and watchpoints
    ("Z", [E01]), ("Z0", [E01]), ("Z0,", [E01]), ("Z0,401000", [E01]), ("Z0,401000,1,2", [E01]),
    ("Zzz,401000,1", [E01]), ("Z0,zz,1", [E01]), ("Z0,401000,zz", [E01]), ("Z-1,401000,1", [E01]),
    ("Z0,,1", [E01]), ("Z0,401000,", [E01]), ("Z9,401000,1", [EMPTY]), ("Zffffffffffffffff,401000,1", [EMPTY]),
    ("z", [E01]), ("z2", [E01]), ("z2,0", [E01]), ("z2,zz,1", [E01]), ("z0,401000", [E01]),
    ("Z2,0,ffffffffffffffff", [E16]), ("Z2,0,1001", [E16]), ("Z2,ffffffffffffffff,8", [E16]),
    ("Z3,401000,2000", [E16]), ("Z4,0,10000000000000000", [E01]),
    # H, T: threads
    ("Hgzz", [E01]), ("Hg-2", [E01]), ("Hgp", [E01]), ("Hgp1.zz", [E01]), ("Hgpzz.1", [E01]),
    ("Hg99", [E16]), ("Hc" + "f" * 16, [E01]), ("Hx1", [OK]), ("Hg", [OK]), ("Hgp-1", [OK]),
    ("T", [E16]), ("Tzz", [E01]), ("T-1", [E16]), ("T99", [E16]), ("Tp1.", [E16]), ("T1 ", [E01]),
    # vCont and the plain resumes: a malformed one must not resume
    ("vCont;", [E01]), ("vCont;x", [E01]), ("vCont;s:", [E01]), ("vCont;s:zz", [E01]), ("vCont;cx", [E01]),
    ("vCont;Czz", [E01]), ("vCont;C", [E01]), ("vCont;t", [E01]), ("vCont;r1,2", [E01]), ("vCont;c;", [E01]),
    ("vCont;;", [E01]), ("vCont;S100", [E01]), ("vCont;s:p1.zz", [E01]),
    ("vCont?", [rb"vCont;c;C;s;S"]), ("vCont", [EMPTY]), ("vContx", [EMPTY]),
    ("czz", [E01]), ("c-1", [E01]), ("c 1", [E01]), ("sxyz", [E01]), ("C", [E01]), ("Czz", [E01]),
    ("C05;zz", [E01]), ("S", [E01]), ("S05;", [E01]), ("C100", [E01]), ("c" + "f" * 17, [E01]),
    # qXfer
    ("qXfer:features:read:target.xml:zz", [E01]), ("qXfer:features:read:target.xml:", [E01]),
    ("qXfer:features:read:target.xml:0", [E01]), ("qXfer:features:read:target.xml:0,zz", [E01]),
    ("qXfer:features:read:target.xml", [E01]), ("qXfer:features:read:", [E01]),
    ("qXfer:features:read:target.xml:0,1:2", [E01]), ("qXfer:features:read:foo.xml:0,10", [rb"E00"]),
    ("qXfer:features:read:target.xml:0,ffffffffffffffff", [rb"l<\?xml.*</target>"]),
    ("qXfer:features:read:target.xml:ffffffffffffffff,10", [rb"l"]),
    ("qXfer:libraries:read::0,10", [EMPTY]), ("qXfer:features:write:target.xml:0:", [EMPTY]),
    # other queries
    ("qThreadExtraInfo,", [E16]), ("qThreadExtraInfo,zz", [E01]), ("qThreadExtraInfo", [EMPTY]),
    ("qRcmd,zz", [E01]), ("qRcmd,6", [E01]), ("qRcmd,", [rb"O[0-9a-f]+", OK]),
    ("qRcmd,77616c6b202d31", [rb"O[0-9a-f]+", OK]),                        # walk -1
    ("qRcmd,77616c6b2024737430", [rb"O[0-9a-f]+", OK]),                    # walk $st0
    ("qRcmd,77616c6b20246f7269675f726178", [rb"O[0-9a-f]+", OK]),          # walk $orig_rax
    ("qRcmd,77616c6b207a7a", [rb"O[0-9a-f]+", OK]), ("qRcmd,00", [rb"O[0-9a-f]+", OK]),
    ("q", [EMPTY]), ("Q", [EMPTY]), ("qAttached:zz", [rb"1"]), ("qSupported:\xff\x00", [rb"PacketSize=.*"]),
    # vFile
    ("vFile:open:", [E01]), ("vFile:open:zz,0,0", [E01]), ("vFile:open:2f,0", [E01]), ("vFile:open:2f,zz,0", [E01]),
    ("vFile:open:2f00,0,0", [rb"F-1,16"]), ("vFile:open:2f6e6f6e6578697374656e74,0,0", [rb"F-1,2"]),
    ("vFile:open:2f,1,0", [rb"F-1,d"]), ("vFile:pread:", [E01]), ("vFile:pread:1", [E01]),
    ("vFile:pread:zz,1,0", [E01]), ("vFile:pread:63,10,0", [rb"F-1,9"]),
    ("vFile:pread:1,10,ffffffffffffffff", [E01]), ("vFile:close:", [E01]), ("vFile:close:zz", [E01]),
    ("vFile:close:63", [rb"F-1,9"]), ("vFile:unlink:2f", [EMPTY]), ("vFile:", [EMPTY]),
    # unknown and empty packets (the empty packet once resumed the target)
    ("", [EMPTY]), ("!", [EMPTY]), ("\x00", [EMPTY]), ("\xff\xfe", [EMPTY]), ("}", [EMPTY]), ("*", [EMPTY]),
    ("A", [EMPTY]), ("b", [EMPTY]), ("B", [EMPTY]), ("d", [EMPTY]), ("i", [EMPTY]), ("r", [EMPTY]),
    ("t", [EMPTY]), ("x", [EMPTY]), ("vKillzz", [EMPTY]), ("qL", [EMPTY]),
]

# Raw bytes that are not one well-framed packet, with the replies expected (ack mode).
FRAMING = [
    (b"$?#00", []),                               # bad checksum: a '-', no reply
    (b"$m401000,1#zz", []),
    (b"$m401000,1#", []),                         # a cut checksum: the next '$' starts the next packet
    (b"$m401000,1#0", []),
    (b"$m401000,1", []),                          # no '#': the next '$' starts again
    (b"$$$$", []), (b"#00", []), (b"+++---", []), (b"\x03", []), (b"\x03\x03$\x03", []),
    (b"$" + b"m" * (PACKET_SIZE + 10) + b"#00", []),           # overlong: refused, then skipped
    (b"$" + b"0" * 0x100000, []),                               # 1 MiB without '#'
    (bytes(range(256)), []), (bytes(range(255, -1, -1)), []),
    (b"$?#3F", [STOP]),                           # upper-case checksum digits are fine
    (frame("p0") + frame("pzz") + frame("q"), [rb"[0-9a-f]{16}", E01, EMPTY]),
    (b"$*#2a", [EMPTY]),
]


class Sessions:
    """One emu for the whole table; a new one only after a case failed (it may have
    ended or wedged emu), so that each case is judged on its own."""

    def __init__(self):
        self.current = None
        self.errors = b""
        self.healthy = False

    def get(self) -> EmuUnderGdb:
        if not self.healthy:
            self.close()
            self.current = EmuUnderGdb()
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.errors += self.current.stderr_text()
            self.current.stop()
            self.current = None


@pytest.fixture(scope="module")
def sessions():
    holder = Sessions()
    yield holder
    holder.close()
    assert b"Traceback" not in holder.errors and b"gdb stub bug" not in holder.errors, \
        holder.errors.decode(errors="replace")


@pytest.fixture
def emu(sessions):
    session = sessions.get()
    session.passed = False
    yield session
    sessions.healthy = session.passed       # set by `check` once all went well


def exchange(emu, data: bytes, expected: list) -> list:
    """Send `data` and then `?`; the replies before the stop reply that answers `?`."""
    emu.gdb.send_raw(data + frame("?"))
    stops_wanted = 1 + expected.count(STOP)
    replies = []
    while True:
        reply = emu.gdb.reply(timeout=5)
        assert reply is not None, f"no answer to ? after {data[:60]!r}; got {replies}"
        replies.append(reply)
        if re.fullmatch(STOP, reply, re.S):
            stops_wanted -= 1
            if not stops_wanted:
                return replies[:-1]


def check(emu, data: bytes, expected: list) -> None:
    replies = exchange(emu, data, expected)
    assert len(replies) == len(expected) and all(
        re.fullmatch(want, got, re.S) for want, got in zip(expected, replies)), (data[:80], replies)
    assert emu.proc.poll() is None
    assert not emu.broken(), emu.stderr_text().decode(errors="replace")[-800:]
    emu.passed = True


@pytest.mark.parametrize("packet,expected", MALFORMED, ids=[repr(p[:24]) for p, _ in MALFORMED])
def test_malformed_packet_is_answered_and_the_stub_serves_on(emu, packet, expected):
    check(emu, frame(packet), expected)


@pytest.mark.parametrize("data,expected", FRAMING, ids=[repr(d[:16]) for d, _ in FRAMING])
def test_framing_junk_is_skipped_and_the_stub_serves_on(emu, data, expected):
    check(emu, data, expected)


def test_watchpoints_are_bounded_in_number(emu):
    for i in range(MAX_WATCHPOINTS):
        check(emu, frame(f"Z2,{0x402000 + 8 * i:x},8"), [OK])
    check(emu, frame("Z2,403000,8"), [E16])
    check(emu, frame("z2,402000,8"), [OK])                      # one removed: room for one
    check(emu, frame("Z2,403000,8"), [OK])
    for i in range(1, MAX_WATCHPOINTS):
        check(emu, frame(f"z2,{0x402000 + 8 * i:x},8"), [OK])
    check(emu, frame("z2,403000,8"), [OK])


def rss_mib(emu) -> float:
    return emu.rss() / (1 << 20)


def test_client_numbers_do_not_size_memory_or_work():
    """Before: Z2,0,ffffffffffffffff was never answered while emu's RSS grew by GBs; a
    vFile:open of /dev/zero read it forever; a packet without '#' grew the buffer."""
    emu = EmuUnderGdb()
    try:
        gdb = emu.gdb
        assert re.fullmatch(STOP, gdb.ask("?"))
        before = rss_mib(emu)
        for packet, want in [("Z2,0,ffffffffffffffff", E16), ("Z3,0,ffffffffffffffff", E16),
                             ("Z4,1000,7fffffffffffffff", E16), ("m0,ffffffffffffffff", E0E),
                             ("qXfer:features:read:target.xml:0,ffffffffffffffff", rb"l<.*"),
                             ("vFile:open:2f6465762f7a65726f,0,0", rb"F1"),           # /dev/zero
                             ("vFile:pread:1,ffffffffffffffff,0", rb"F2000;\x00{8192}"),
                             ("vFile:close:1", rb"F0")]:
            started = time.monotonic()
            reply = gdb.ask(packet, timeout=5)
            assert reply is not None and re.fullmatch(want, reply, re.S), (packet, reply and reply[:40])
            assert time.monotonic() - started < 2, packet
        gdb.send_raw(b"$" + b"0" * (16 << 20))                  # 16 MiB, no '#'
        assert gdb.alive(timeout=10)
        assert rss_mib(emu) - before < 32, (before, rss_mib(emu))
        assert not emu.broken(), emu.stderr_text()
    finally:
        emu.stop()


def test_no_ack_mode_takes_any_checksum_and_the_empty_packet_does_not_resume():
    emu = EmuUnderGdb()
    try:
        emu.gdb.no_ack()
        check(emu, b"$p0#00", [rb"[0-9a-f]{16}"])            # no-ack mode: checksums are not checked
        check(emu, frame(""), [EMPTY])
        check(emu, frame("pzz"), [E01])
    finally:
        emu.stop()


def test_cr3_only_takes_a_page_table_root():
    """Before: `P` of CR3 = 0 was taken, and after a detach emu looped in Unicorn for ever
    (no exception could be delivered), deaf to --timeout."""
    emu = EmuUnderGdb()
    try:
        cr3 = emu.gdb.ask("p3d")
        check(emu, frame("P3d=0000000000000000"), [E16])
        check(emu, frame("P3d=" + (int.from_bytes(bytes.fromhex(cr3.decode()), "little") | 1 << 40)
                         .to_bytes(8, "little").hex()), [E16])
        check(emu, frame("P3d=" + cr3.decode()), [OK])          # the same address space is fine
        assert emu.gdb.ask("D") == OK
        assert emu.proc.wait(timeout=20) == 0
    finally:
        emu.stop()


def test_vfile_descriptors_are_bounded(emu):
    dev_null = "vFile:open:" + b"/dev/null".hex() + ",0,0"
    for fd in range(1, MAX_HOST_FILES + 1):
        check(emu, frame(dev_null), [rb"F%x" % fd])
    check(emu, frame(dev_null), [rb"F-1,18"])                   # EMFILE
    check(emu, frame("vFile:close:5"), [rb"F0"])
    check(emu, frame(dev_null), [rb"F5"])                       # the lowest free one again
    for fd in range(1, MAX_HOST_FILES + 1):
        check(emu, frame(f"vFile:close:{fd:x}"), [rb"F0"])


def test_an_unexpected_exception_is_named_in_one_line_and_answered(capsys):
    """The last resort of the dispatch loop: an emu bug in a handler is no traceback."""
    stub = GdbStub.__new__(GdbStub)
    sent = []
    stub.conn = types.SimpleNamespace(send=sent.append)
    stub.handle = lambda packet: 1 // 0
    assert stub.handle_guarded("g") is None
    assert sent == ["E01"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "emu: gdb stub bug: ZeroDivisionError" in err and "'g'" in err



def test_bytes_sent_while_the_guest_runs_are_bounded_and_ctrl_c_still_counts():
    """Before: the poll for Ctrl-C read for as long as bytes came (a client streaming
    kept the guest from running) and kept every byte (the buffer grew without bound)."""
    ours, client = socket.socketpair()
    with ours, client:
        client.setblocking(False)
        sent = 0
        try:
            while sent < 8 << 20:
                sent += client.send(b"m" * 65536)
        except BlockingIOError:
            pass
        conn = Connection(ours)
        assert not conn.poll_interrupt()
        assert len(conn.buf) <= PACKET_SIZE, (sent, len(conn.buf))
        client.setblocking(True)
        client.sendall(b"\x03")
        while not conn.poll_interrupt():          # the 0x03 comes after what is queued
            assert not conn.closed
        assert len(conn.buf) <= PACKET_SIZE


@pytest.mark.parametrize("connected", [False, True], ids=["waiting for gdb", "stopped in gdb"])
def test_a_signal_to_emu_ends_a_wait_for_gdb(connected):
    """SIGTERM to emu while its stub waits for gdb (to connect, or for the next packet):
    the run ends in one line with status 143, as it does while the guest runs."""
    import signal
    emu = EmuUnderGdb()
    try:
        if connected:
            assert re.match(STOP, emu.gdb.ask("?"))
        emu.proc.send_signal(signal.SIGTERM)
        assert emu.proc.wait(timeout=10) == 128 + signal.SIGTERM
        text = emu.stderr_text()
        assert b"stopped: emu got SIGTERM" in text and b"Traceback" not in text
    finally:
        emu.stop()
