"""Unix-domain socket pairs (socketpair(AF_UNIX, ...), net/unix/af_unix.c).

Two connected sockets, each with its own receive queue: what one sends, the other
receives. SOCK_STREAM carries bytes; SOCK_DGRAM and SOCK_SEQPACKET carry messages (a
short read truncates one, MSG_TRUNC says so). Each socket has Linux's `sk_shutdown`
bits: shutdown(SHUT_WR) on one is RCV_SHUTDOWN on the other (EOF once the queue is
empty), and closing a stream or seqpacket socket shuts its peer down both ways; a
datagram sent to a closed peer is ECONNREFUSED. Writing where the other side cannot
read is EPIPE and SIGPIPE (not with MSG_NOSIGNAL). sendmsg/recvmsg carry SCM_RIGHTS:
the open files travel with the bytes and become new fds of the receiver. Sockets that
only files in flight keep open (a socket sent over itself, then closed) are found and
freed by `unix_gc`, as Linux's garbage collector does.

What a socket has sent and its peer has not read yet is counted as Linux counts it:
each send is one sk_buff (a stream's long write several, of at most SKB_MAX_HEAD(0) +
32 KiB) whose `truesize` (payload and slab overhead, `skb_truesize`) is the sender's
sk_wmem_alloc. A send waits while that reaches SO_SNDBUF (212992 by default), so 278
one-byte messages fit, as on Linux; poll says POLLOUT while it is a quarter of SO_SNDBUF
or less (unix_writable). The same truesize is charged to kernel memory (kmem.py); when
that is exhausted a send is -ENOBUFS (alloc_skb_with_frags) and socketpair -ENOMEM.

Simplifications: socket(), bind, connect, listen and
accept are not here (no named sockets, no network).
"""

import errno
import os
import struct
import time
import stat as st
from collections import deque

from ..arch.syscall import SyscallError
from .vfs import (O_CLOEXEC, O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, POLLWRBAND,
                  OpenFile, Stat, WouldBlock, fd_file, next_ino, send_sigpipe, signed32, user_iovecs)

from ..arch.uaccess import UserFault, copy_from_user, copy_to_user, put_user
from ...hardware.paging import PAGE_SIZE
from ..mm.kmem import FILE_COST, SOCKET_COST, UNBOUNDED
from ..tasks.sched import Block

AF_UNIX = 1
SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET = 1, 2, 5
SOCK_NONBLOCK, SOCK_CLOEXEC = O_NONBLOCK, O_CLOEXEC
RCV_SHUTDOWN, SEND_SHUTDOWN = 1, 2
SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_CMSG_CLOEXEC = 0x2, 0x20, 0x40, 0x4000, 0x4000_0000
POLLRDHUP = 0x2000
SOL_SOCKET, SCM_RIGHTS, SCM_CREDENTIALS = 1, 1, 2
SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN = 3, 4, 7, 8, 30, 38, 39
SO_REUSEADDR, SO_KEEPALIVE, SO_PASSCRED, SO_PEERCRED, SO_RCVTIMEO, SO_SNDTIMEO = 2, 9, 16, 17, 20, 21
FLAG_OPTIONS = (SO_REUSEADDR, SO_KEEPALIVE, SO_PASSCRED)     # kept and read back; nothing more
FIONREAD = 0x541B
TIMEVAL = struct.Struct("<qq")
SOCK_BUF = 212992                              # net.core.wmem_default / rmem_default
SOCK_BUF_MAX = 212992                          # net.core.wmem_max / rmem_max (Linux's default)
SKB_HEAD_OVERHEAD = 256                        # SKB_DATA_ALIGN(sizeof(struct sk_buff))
SKB_SHINFO = 320                               # SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
SKB_MAX_HEAD = 4096 - SKB_SHINFO               # SKB_MAX_HEAD(0): a head that fits one page
SKB_MAX_ALLOC = 4 * 4096 - SKB_SHINFO          # SKB_MAX_ORDER(0, 2): a datagram's largest head
UNIX_SKB_FRAGS_SZ = 32768                      # the page fragments one stream skb may carry
SOCKFS_DEV = 0x08
MSGHDR = struct.Struct("<QI4xQQQQi4x")        # name, namelen, iov, iovlen, control, controllen, flags
CMSGHDR = struct.Struct("<Qii")               # cmsg_len, cmsg_level, cmsg_type
SCM_MAX_FD = 253


def kmalloc_size(size: int) -> int:
    """The memory kmalloc gives for `size` bytes: a power of two (96 and 192 too), from
    a slab up to 8 KiB and from the page allocator above (kmalloc_large: 2^order pages)."""
    if 64 < size <= 96 or 128 < size <= 192:
        return 96 if size <= 96 else 192
    return max(8, 1 << (size - 1).bit_length())


def skb_truesize(head: int, frags: int = 0) -> int:
    """An skb's truesize: its struct, its kmalloc'd head with skb_shared_info, and the
    pages of its fragments (`frags` bytes)."""
    return SKB_HEAD_OVERHEAD + kmalloc_size(((head + 63) & ~63) + SKB_SHINFO) + -(-frags // PAGE_SIZE) * PAGE_SIZE


def dgram_skb(size: int) -> tuple[int, int]:
    """unix_dgram_sendmsg's split of a message: past SKB_MAX_ALLOC, whole pages of it go
    to fragments. (head, fragment bytes)."""
    frags = min(size, -(-max(0, size - SKB_MAX_ALLOC) // PAGE_SIZE) * PAGE_SIZE)
    return size - frags, frags


def stream_skb(size: int) -> tuple[int, int]:
    """unix_stream_sendmsg's split of one skb of `size` bytes: (head, fragment bytes)."""
    frags = min(size, -(-max(0, size - SKB_MAX_HEAD) // PAGE_SIZE) * PAGE_SIZE)
    return size - frags, frags


class UnixSocket(OpenFile):
    pollable = True

    def __init__(self, kind: int, flags: int, kmem=UNBOUNDED):
        super().__init__(O_RDWR | flags, "")
        self.kmem = kmem                       # charged: this socket, and what is queued to it
        self.truesizes = deque()               # each queue entry's skb truesize
        self.charged = 0                       # their sum: the peer's sk_wmem_alloc
        self.kind = kind
        self.ino = next_ino()
        self.path = f"socket:[{self.ino}]"
        self.queue = deque()                   # received: bytes (stream: chunks) with their files
        self.queued = 0                        # payload bytes in the queue
        self.peer: "UnixSocket | None" = None
        self.shutdown = 0                      # sk_shutdown: RCV_SHUTDOWN | SEND_SHUTDOWN
        self.closed = False
        self.error = 0                         # sk_err: ECONNRESET once, when the peer closed with data unread
        self.in_changes = 0                    # wake-ups for readers: data came, shutdown, an error
        self.out_changes = 0                   # wake-ups for writers: the peer read, or went
        self.sndbuf = self.rcvbuf = SOCK_BUF
        self.mode = 0o777
        self.flag_options = dict.fromkeys(FLAG_OPTIONS, 0)
        self.timeouts = {SO_RCVTIMEO: 0.0, SO_SNDTIMEO: 0.0}    # seconds; 0: wait for ever
        self.peer_cred = (0, 0, 0)             # SO_PEERCRED: pid, uid, gid of whoever made the pair

    @property
    def messages(self) -> bool:
        return self.kind != SOCK_STREAM

    def release(self):
        self.closed = True
        peer = self.peer
        if peer is not None and self.kind != SOCK_DGRAM:
            peer.shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN       # unix_release_sock
            if self.queue:
                peer.error = errno.ECONNRESET                  # it closed with data unread
            peer.in_changes += 1
        if peer is not None:
            peer.out_changes += 1
        for _data, files in self.queue:        # files in flight that nobody received
            for file in files:
                file.put()
        self.queue.clear()
        self.truesizes.clear()
        self.kmem.carriers.discard(self)
        self.kmem.uncharge(self.charged + SOCKET_COST + FILE_COST)
        self.charged = 0

    # -- receiving --------------------------------------------------------------------------

    def receive(self, count: int, flags: int):
        """(data, files, full length, truncated) of what a read takes now; 0 for EOF;
        WouldBlock, or -errno."""
        if not self.messages and count == 0:     # takes no bytes, but the files of the first chunk
            if not self.queue:
                return b"", [], 0, False
            chunk, files = self.queue[0]
            if files and not flags & MSG_PEEK:
                self.queue[0] = (chunk, [])
            return b"", files, 0, False
        if not self.queue:
            if self.error:
                error, self.error = self.error, 0
                return -error
            if self.shutdown & RCV_SHUTDOWN and self.kind != SOCK_DGRAM:
                return 0                        # EOF
            if self.kind == SOCK_SEQPACKET and (self.peer is None or self.peer.closed):
                return 0
            if self.shutdown & RCV_SHUTDOWN:    # a datagram socket: -EAGAIN if it may not wait,
                return WouldBlock(lambda: bool(self.queue), instead=0)     # else 0 at once
            return WouldBlock(lambda: bool(self.queue) or bool(self.shutdown & RCV_SHUTDOWN))
        if self.messages:
            data, files = self.queue[0]
            if not flags & MSG_PEEK:
                self.queue.popleft()
                self.queued -= len(data)
                self.dequeued()
                self.wake_writer()
            return data[:count], files, len(data), len(data) > count
        # A stream: bytes up to `count`, stopping where files ride along (they come with
        # the first byte of the send that carried them, as Linux's unix_stream_read_generic).
        out, files, taken = bytearray(), [], 0
        for chunk, chunk_files in self.queue:
            out += chunk[:count - len(out)]
            files += chunk_files
            if len(out) == count or chunk_files:   # files end a read (unix_stream_read_generic)
                break
        if not flags & MSG_PEEK:
            left = len(out)
            while left:
                chunk, _ = self.queue[0]
                if len(chunk) <= left:
                    self.queue.popleft()
                    self.dequeued()
                    left -= len(chunk)
                else:
                    self.queue[0] = (chunk[left:], [])
                    left = 0
            self.queued -= len(out)
            self.wake_writer()
        return bytes(out), files, len(out), False

    def put(self):
        """fput; a socket left open only by files in flight may be garbage now."""
        super().put()
        if self.refcount and self.kmem.carriers:
            unix_gc(self.kmem.carriers)

    def enqueue(self, data: bytes, files: list, truesize: int) -> bool:
        """Queue what the peer sent, charging its skb; False if kernel memory is exhausted."""
        if not self.kmem.charge(truesize):
            return False
        if files:
            self.kmem.carriers.add(self)
        self.queue.append((data, [file.get() for file in files]))
        self.truesizes.append(truesize)
        self.charged += truesize
        self.queued += len(data)
        self.in_changes += 1
        return True

    def dequeued(self) -> None:
        """The first skb was consumed: its memory goes back (kfree_skb)."""
        truesize = self.truesizes.popleft()
        self.charged -= truesize
        self.kmem.uncharge(truesize)

    def wmem_full(self) -> bool:
        """sock_alloc_send_pskb waits while sk_wmem_alloc >= sk_sndbuf (what this socket
        sent that the peer holds)."""
        return self.peer.charged >= self.sndbuf

    def wake_writer(self) -> None:
        """Room in this queue: the peer, as a writer, may go on."""
        if self.peer is not None:
            self.peer.out_changes += 1

    def read(self, kernel, proc, count, sink):
        got = self.receive(count, 0)
        if not isinstance(got, tuple):
            return got
        data, files, _, _ = got
        for file in files:                    # read() cannot take files: they are dropped
            file.put()
        sink(data)
        return len(data)

    # -- sending ------------------------------------------------------------------------------

    def send(self, kernel, proc, data: bytes, files: list, flags: int):
        """How many bytes went (a message all or nothing), WouldBlock, or -errno."""
        peer = self.peer
        if self.kind == SOCK_DGRAM:
            if peer is None:
                return -errno.ENOTCONN          # (after ECONNREFUSED, no peer is left)
            if peer.closed:
                self.peer = None                # unix_dgram_sendmsg forgets the dead peer
                return -errno.ECONNREFUSED
            if self.shutdown & SEND_SHUTDOWN or peer.shutdown & RCV_SHUTDOWN:
                return -errno.EPIPE
        if self.shutdown & SEND_SHUTDOWN or peer is None or peer.closed or peer.shutdown & RCV_SHUTDOWN:
            if not flags & MSG_NOSIGNAL and self.kind == SOCK_STREAM:   # (only streams raise SIGPIPE)
                send_sigpipe(kernel, proc)
            return -errno.EPIPE
        if not data and not self.messages:
            return 0                            # a stream sends nothing for nothing
        if self.messages:
            if len(data) > self.sndbuf - 32:
                return -errno.EMSGSIZE
            head, frags = dgram_skb(len(data))
        else:
            head, frags = stream_skb(min(len(data), (self.sndbuf >> 1) - 64, SKB_MAX_HEAD + UNIX_SKB_FRAGS_SZ))
        if self.wmem_full():
            return WouldBlock(lambda: peer.closed or bool(peer.shutdown & RCV_SHUTDOWN) or not self.wmem_full())
        part = bytes(data[:head + frags])
        if not peer.enqueue(part, files, skb_truesize(head, frags)):
            return -errno.ENOBUFS
        return len(part)

    def write(self, kernel, proc, data):
        return self.send(kernel, proc, data, [], 0)

    # -- the rest -----------------------------------------------------------------------------

    def poll(self):
        """unix_poll: readable, shut down, hung up; writable while the peer's queue has
        room (even after a shutdown or the peer's close: the write then fails)."""
        mask = POLLERR if self.error else 0
        if self.queue:
            mask |= POLLIN | POLLRDNORM
        if self.shutdown & RCV_SHUTDOWN:
            mask |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN:
            mask |= POLLHUP
        peer = self.peer
        if peer is None or peer.closed or peer.charged << 2 <= self.sndbuf:     # unix_writable
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND
        return mask

    def poll_generation(self, events: int = ~0):
        """The wake-ups that concern `events` (Linux filters them by key)."""
        return (self.in_changes if events & (POLLIN | POLLRDNORM) else 0) + \
            (self.out_changes if events & (POLLOUT | POLLWRNORM) else 0)

    def stat(self):
        return Stat(st.S_IFSOCK | self.mode, dev=SOCKFS_DEV, ino=self.ino)

    def chmod(self, mode):
        self.mode = mode
        return 0

    def ioctl(self, kernel, proc, request, arg):
        """FIONREAD (SIOCINQ): a stream's queued bytes, or the next message's size."""
        if request != FIONREAD:
            return -errno.ENOTTY
        waiting = len(self.queue[0][0]) if self.messages and self.queue else self.queued
        return put_user(kernel, proc, arg, struct.pack("<i", waiting))


def unix_gc(carriers: set) -> None:
    """net/unix/garbage.c: free the sockets that nothing but other such sockets' queues
    keeps open. `carriers` are the sockets whose queues may hold files.

    A candidate is a socket all of whose references are files in flight in some queue.
    One that a non-candidate's queue holds is reachable, and so is everything in a
    reachable one's queue; the other candidates are garbage: their queues are purged,
    which drops their last references.
    """
    in_flight: dict = {}
    for carrier in list(carriers):
        held = [file for _data, files in carrier.queue for file in files if isinstance(file, UnixSocket)]
        if not any(files for _data, files in carrier.queue):
            carriers.discard(carrier)
        for file in held:
            in_flight[file] = in_flight.get(file, 0) + 1
    candidates = {sock for sock, count in in_flight.items() if sock.refcount == count}
    if not candidates:
        return
    reachable = [sock for carrier in carriers if carrier not in candidates
                 for _data, files in carrier.queue for sock in files if sock in candidates]
    alive = set()
    while reachable:
        sock = reachable.pop()
        if sock in alive:
            continue
        alive.add(sock)
        reachable += [file for _data, files in sock.queue for file in files if file in candidates]
    garbage = candidates - alive
    doomed = []
    for sock in garbage:
        doomed += [file for _data, files in sock.queue for file in files]
        sock.queue = deque((data, []) for data, _files in sock.queue)
        carriers.discard(sock)
    for file in doomed:
        file.put()


# ---- system calls ---------------------------------------------------------------------------

def sys_socketpair(kernel, proc, domain, kind, protocol, sv_va, *_):
    domain, kind, protocol = signed32(domain), signed32(kind), signed32(protocol)
    flags = kind & (SOCK_NONBLOCK | SOCK_CLOEXEC)
    kind &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC)
    if domain != AF_UNIX:
        return -errno.EAFNOSUPPORT if not 0 <= domain < 46 else -errno.EOPNOTSUPP
    if kind not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
        return -errno.ESOCKTNOSUPPORT if 0 < kind <= 10 else -errno.EINVAL
    if protocol not in (0, AF_UNIX):
        raise SyscallError(errno.EPROTONOSUPPORT)
    if not kernel.kmem.charge(2 * (SOCKET_COST + FILE_COST)):
        raise SyscallError(errno.ENOMEM)                   # unix_create1: sk_alloc failed
    ends = UnixSocket(kind, flags & SOCK_NONBLOCK, kernel.kmem), UnixSocket(kind, flags & SOCK_NONBLOCK, kernel.kmem)
    ends[0].peer, ends[1].peer = ends[1], ends[0]
    ends[0].peer_cred = ends[1].peer_cred = (proc.tgid, 0, 0)
    fds = []
    for number, end in enumerate(ends):
        fd = proc.files.install(end, cloexec=bool(flags & SOCK_CLOEXEC))
        if fd < 0:
            for opened in fds:
                proc.files.close(opened)
            for unopened in ends[number:]:
                unopened.release()             # (never installed: its memory goes back here)
            return fd
        fds.append(fd)
    if put_user(kernel, proc, sv_va, struct.pack("<ii", *fds)):
        for opened in fds:
            proc.files.close(opened)
        raise SyscallError(errno.EFAULT)
    return 0


def socket_of(proc, fd: int):
    file = fd_file(proc, signed32(fd))
    if file is None:
        return -errno.EBADF
    return file if isinstance(file, UnixSocket) else -errno.ENOTSOCK


def waiting(result, sock, flags: int, again, timeout_option: int = SO_RCVTIMEO):
    """A WouldBlock becomes -EAGAIN (non-blocking) or a Block that tries `again()`, holding
    a reference to the socket meanwhile (another thread's close() does not end it). With
    SO_RCVTIMEO or SO_SNDTIMEO set, the wait ends with -EAGAIN when that runs out."""
    if not isinstance(result, WouldBlock):
        return result
    if sock.flags & O_NONBLOCK or flags & MSG_DONTWAIT:
        return -errno.EAGAIN
    if result.instead is not None:            # __skb_wait_for_more_packets: shut down, no wait
        return result.instead
    timeout = sock.timeouts[timeout_option]
    deadline = time.monotonic() + timeout if timeout else None
    expired = lambda: deadline is not None and time.monotonic() >= deadline

    def complete():
        return -errno.EAGAIN if expired() and not result.ready() else again()

    return Block(lambda: result.ready() or expired(), complete, what="socket", release=sock.get().put,
                 deadline=deadline)


def do_send(kernel, proc, sock, data: bytes, files: list, flags: int, done: int = 0):
    """Send all of `data` (a stream waits for room; a message goes whole)."""
    while True:
        result = sock.send(kernel, proc, data[done:], files if not done else [], flags)
        if isinstance(result, WouldBlock):
            if done and (sock.flags & O_NONBLOCK or flags & MSG_DONTWAIT):
                return done
            return waiting(result, sock, flags, lambda: do_send(kernel, proc, sock, data, files, flags, done),
                           SO_SNDTIMEO)
        if result < 0:
            return done or result
        done += result
        if done >= len(data) or sock.messages:
            return done


def sys_sendto(kernel, proc, fd, buf, length, flags, addr_va, addrlen, *_):
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock
    if addr_va:
        return send_to_address(kernel, proc, sock, addr_va, addrlen)
    data = copy_from_user(proc.mm, kernel.mmu, buf, length)
    return do_send(kernel, proc, sock, data, [], flags)


def send_to_address(kernel, proc, sock, addr_va: int, addrlen: int) -> int:
    """A send to a named address: a connected stream says EISCONN; a datagram socket would
    look the name up, and emu has no named sockets: -ENOENT for a path that is not there,
    -ECONNREFUSED for one that is (it is no socket) or an abstract name."""
    if sock.kind != SOCK_DGRAM:
        return -errno.EISCONN
    addrlen = signed32(addrlen)
    if not 2 < addrlen <= 110:
        return -errno.EINVAL
    try:
        raw = copy_from_user(proc.mm, kernel.mmu, addr_va, addrlen)
    except UserFault:
        return -errno.EFAULT
    if struct.unpack_from("<H", raw)[0] != AF_UNIX:
        return -errno.EINVAL
    name = raw[2:]
    if name[:1] == b"\0":
        return -errno.ECONNREFUSED
    from .vfs import lookup, stat_lookup
    found = lookup(kernel, os.fsdecode(name.split(b"\0")[0]), base=proc.fs.cwd)
    if isinstance(found, int):
        return found
    return -errno.ECONNREFUSED if not isinstance(stat_lookup(kernel, proc, found), int) else -errno.ENOENT


def sys_recvfrom(kernel, proc, fd, buf, length, flags, addr_va, addrlen_va, *_):
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock

    def attempt():
        got = sock.receive(length, flags)
        if not isinstance(got, tuple):
            return waiting(got, sock, flags, attempt)
        data, files, full, _ = got
        for file in files if not flags & MSG_PEEK else ():    # recvfrom takes no files: dropped
            file.put()
        copy_to_user(proc.mm, kernel.mmu, buf, data)
        if addr_va and addrlen_va:         # an unnamed peer has no address: length 0
            copy_to_user(proc.mm, kernel.mmu, addrlen_va, struct.pack("<I", 0))
        return full if flags & MSG_TRUNC and sock.messages else len(data)

    return attempt()


def socket_and_message(kernel, proc, fd: int, msg_va: int):
    """sendmsg's and recvmsg's start: (socket, the struct msghdr's fields, its iovecs), or -errno."""
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock
    try:
        fields = MSGHDR.unpack(copy_from_user(proc.mm, kernel.mmu, msg_va, MSGHDR.size))
    except UserFault:
        return -errno.EFAULT
    vectors = user_iovecs(kernel, proc, fields[2], fields[3])
    return vectors if isinstance(vectors, int) else (sock, fields, vectors)


def sys_sendmsg(kernel, proc, fd, msg_va, flags, *_):
    started = socket_and_message(kernel, proc, fd, msg_va)
    if isinstance(started, int):
        return started
    sock, (name, namelen, _, _, control, controllen, _), vectors = started
    data = b"".join(copy_from_user(proc.mm, kernel.mmu, base, size) for base, size in vectors)
    control_data = copy_from_user(proc.mm, kernel.mmu, control, controllen) if controllen else b""
    if name:
        return send_to_address(kernel, proc, sock, name, namelen)
    files = []
    offset = 0
    while offset + CMSGHDR.size <= len(control_data):    # SCM_RIGHTS: the files to pass
        length, level, kind = CMSGHDR.unpack_from(control_data, offset)
        if length < CMSGHDR.size or offset + length > len(control_data):
            raise SyscallError(errno.EINVAL)
        if level != SOL_SOCKET or kind == SCM_CREDENTIALS:
            # Another level's is not the socket layer's (__scm_send skips it). Credentials
            # are checked by nobody here (everyone is root) and not passed on: emu's
            # sockets never set SO_PASSCRED's delivery going (docs/kernel.md).
            offset += (length + 7) & ~7
            continue
        if kind != SCM_RIGHTS:
            raise SyscallError(errno.EINVAL)
        count = (length - CMSGHDR.size) // 4
        if count > SCM_MAX_FD:
            raise SyscallError(errno.EINVAL)
        for (number,) in struct.iter_unpack("<i", control_data[offset + CMSGHDR.size:offset + CMSGHDR.size + 4 * count]):
            file = fd_file(proc, number)
            if file is None:
                raise SyscallError(errno.EBADF)
            files.append(file)
        offset += (length + 7) & ~7
    return do_send(kernel, proc, sock, data, files, flags)


def sys_recvmsg(kernel, proc, fd, msg_va, flags, *_):
    started = socket_and_message(kernel, proc, fd, msg_va)
    if isinstance(started, int):
        return started
    sock, (name, _, _, _, control, controllen, _), vectors = started

    def attempt():
        got = sock.receive(sum(size for _, size in vectors), flags)
        if not isinstance(got, tuple):
            return waiting(got, sock, flags, attempt)
        data, files, full, truncated = got
        msg_flags = MSG_TRUNC if truncated else 0
        done = 0
        for base, size in vectors:
            copy_to_user(proc.mm, kernel.mmu, base, data[done:done + size])
            done += size
        room = max(0, (controllen - CMSGHDR.size) // 4) if files else 0
        if files and room < len(files):
            msg_flags |= 0x8                # MSG_CTRUNC: the files that do not fit are dropped
        passed = []
        for file in files[:room]:
            number = proc.files.install(file, cloexec=bool(flags & MSG_CMSG_CLOEXEC))
            if number < 0:
                msg_flags |= 0x8
                break
            passed.append(number)
        for file in files:                  # the queue's references
            if not flags & MSG_PEEK:
                file.put()
        used = 0
        if passed:
            length = CMSGHDR.size + 4 * len(passed)
            copy_to_user(proc.mm, kernel.mmu, control, CMSGHDR.pack(length, SOL_SOCKET, SCM_RIGHTS) +
                         struct.pack(f"<{len(passed)}i", *passed))
            used = min((length + 7) & ~7, controllen)      # scm_detach_fds: CMSG_SPACE, or what fits
        fields = MSGHDR.unpack(copy_from_user(proc.mm, kernel.mmu, msg_va, MSGHDR.size))
        name_size = 0 if name else fields[1]          # unnamed peer: 0; no msg_name: left as it was
        copy_to_user(proc.mm, kernel.mmu, msg_va, MSGHDR.pack(fields[0], name_size, fields[2], fields[3],
                                                              fields[4], used, msg_flags))
        return full if flags & MSG_TRUNC and sock.messages else len(data)

    return attempt()


def sys_shutdown(kernel, proc, fd, how, *_):
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock
    how = signed32(how)
    if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
        raise SyscallError(errno.EINVAL)
    mode = (how + 1) & (RCV_SHUTDOWN | SEND_SHUTDOWN)     # SHUT_RD 1, SHUT_WR 2, SHUT_RDWR 3
    sock.shutdown |= mode
    sock.in_changes += 1
    peer = sock.peer
    if peer is not None and sock.kind != SOCK_DGRAM:
        peer.shutdown |= (RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0) | (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0)
        peer.in_changes += 1
    return 0


def sys_getsockopt(kernel, proc, fd, level, name, value_va, length_va, *_):
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock
    if signed32(level) != SOL_SOCKET:
        raise SyscallError(errno.ENOPROTOOPT)
    error, sock.error = (sock.error, 0) if signed32(name) == SO_ERROR else (sock.error, sock.error)
    values = {SO_TYPE: sock.kind, SO_ERROR: error, SO_SNDBUF: sock.sndbuf, SO_RCVBUF: sock.rcvbuf, SO_ACCEPTCONN: 0,
              SO_PROTOCOL: 0, SO_DOMAIN: AF_UNIX, **sock.flag_options}
    name = signed32(name)
    if name == SO_PEERCRED:
        return put_option(kernel, proc, value_va, length_va, struct.pack("<iII", *sock.peer_cred))
    if name in sock.timeouts:
        seconds = sock.timeouts[name]
        return put_option(kernel, proc, value_va, length_va,
                          TIMEVAL.pack(int(seconds), round((seconds - int(seconds)) * 1_000_000)))
    if name not in values:
        raise SyscallError(errno.ENOPROTOOPT)
    return put_option(kernel, proc, value_va, length_va, struct.pack("<i", values[name]))


def put_option(kernel, proc, value_va, length_va, value: bytes) -> int:
    """getsockopt's answer: as much of `value` as the caller's length takes, and its length."""
    try:
        length = struct.unpack("<i", copy_from_user(proc.mm, kernel.mmu, length_va, 4))[0]
        if length < 0:
            return -errno.EINVAL
        size = min(length, len(value))
        copy_to_user(proc.mm, kernel.mmu, value_va, value[:size])
        copy_to_user(proc.mm, kernel.mmu, length_va, struct.pack("<i", size))
    except UserFault:
        return -errno.EFAULT
    return 0


def sys_setsockopt(kernel, proc, fd, level, name, value_va, length, *_):
    """SO_SNDBUF and SO_RCVBUF (Linux doubles the value, at least 4608 and 2304); any other
    option is -ENOPROTOOPT here."""
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock
    name = signed32(name)
    if signed32(level) != SOL_SOCKET or name not in (SO_SNDBUF, SO_RCVBUF, *FLAG_OPTIONS, *sock.timeouts):
        raise SyscallError(errno.ENOPROTOOPT)
    if name in sock.timeouts:                  # a struct timeval; 0 waits for ever
        if signed32(length) < TIMEVAL.size:
            raise SyscallError(errno.EINVAL)
        seconds, usec = TIMEVAL.unpack(copy_from_user(proc.mm, kernel.mmu, value_va, TIMEVAL.size))
        if not 0 <= usec < 1_000_000:
            raise SyscallError(errno.EDOM)
        sock.timeouts[name] = max(0, seconds) + usec / 1_000_000
        return 0
    if signed32(length) < 4:
        raise SyscallError(errno.EINVAL)
    value = struct.unpack("<i", copy_from_user(proc.mm, kernel.mmu, value_va, 4))[0]
    if name in FLAG_OPTIONS:
        sock.flag_options[name] = int(value != 0)
        return 0
    value = min(max(value, 0), SOCK_BUF_MAX) * 2
    if name == SO_SNDBUF:
        sock.sndbuf = max(value, 4608)
    else:
        sock.rcvbuf = max(value, 2304)
    return 0


def sys_getsockname(kernel, proc, fd, addr_va, length_va, *_):
    """An unnamed socket: its address is the family alone (2 bytes)."""
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock
    length = struct.unpack("<i", copy_from_user(proc.mm, kernel.mmu, length_va, 4))[0]
    if length < 0:
        raise SyscallError(errno.EINVAL)
    copy_to_user(proc.mm, kernel.mmu, addr_va, struct.pack("<H", AF_UNIX)[:length])
    copy_to_user(proc.mm, kernel.mmu, length_va, struct.pack("<i", 2))
    return 0


def sys_getpeername(kernel, proc, fd, addr_va, length_va, *_):
    sock = socket_of(proc, fd)
    if isinstance(sock, int):
        return sock
    if sock.peer is None:
        raise SyscallError(errno.ENOTCONN)
    return sys_getsockname(kernel, proc, fd, addr_va, length_va)
