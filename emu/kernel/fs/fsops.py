"""System calls that change the file tree under `--root DIR --root-writable`: mkdir,
rmdir, unlink, rename, link, symlink; and a file's size, mode, times and sync.

Each resolves its path as Linux's namei does for these calls: every component but the
last is followed, the last never is (unlink removes a symlink, not its target), and the
last may be missing (mkdir makes it). The work is then the host's (os.mkdir, os.rename
...) on DIR joined with the resolved components, and a host error is the guest's errno.
Without --root-writable every change is -EROFS, as on a read-only mount; emu's own files
(/dev/null, /proc/...) are -EPERM, as a virtual file system says.
"""

import errno
import os
import stat
import struct
import time

from ..arch.syscall import SyscallError
from .vfs import AT_FDCWD, AT_SYMLINK_NOFOLLOW, fd_file, resolve_path, signed32
from ..arch.uaccess import copy_from_user, user_path
from .hostfs import HostDirectory, HostFile

AT_REMOVEDIR = 0x200
AT_EMPTY_PATH = 0x1000
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def host_target(kernel, proc, dirfd: int, path_va: int, *, follow: bool = False):
    """(Lookup, guest path string as given) of a path to change, or -errno. With
    follow=False the last component is taken as it is, a trailing slash or not (the
    calls themselves say what a slash means: `slashed`). The Lookup's anchor
    (found.dir, found.name) is what every host call below is relative to."""
    path = user_path(kernel, proc, path_va)
    if isinstance(path, int):
        return path
    resolved = resolve_path(kernel, proc, dirfd, path if follow else path.rstrip("/") or "/", follow=follow)
    if isinstance(resolved, int):
        return resolved
    found, _ = resolved
    if found.device is not None or kernel.devices.is_directory(found.path):
        return -errno.EPERM                  # emu's own files: a virtual file system
    if kernel.root is None:
        return -errno.EROFS if found.parts else -errno.EBUSY
    if not kernel.root.writable:
        return -errno.EROFS
    return found, path


def last_name(path: str) -> str:
    """The path's last component ("" for "/")."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def slashed(path: str) -> bool:
    """Does the last component carry a trailing slash ("dir/")?"""
    return path.endswith("/") and path.rstrip("/") != ""


def lstat_at(found):
    """The host's lstat of the anchor, or None if there is nothing (or no way to it)."""
    try:
        return os.stat(found.name, dir_fd=found.dir.fd, follow_symlinks=False)
    except OSError:
        return None


def exists(found) -> bool:
    return lstat_at(found) is not None


def is_dir(found) -> bool:
    """A directory itself (a symlink to one is not)."""
    info = lstat_at(found)
    return info is not None and stat.S_ISDIR(info.st_mode)


def create_slash_error(found, path: str) -> int:
    """filename_create for a name that is not a directory's: with a trailing slash it is
    -EEXIST if something is there, else -ENOENT; 0 if there is no slash."""
    if not slashed(path):
        return 0
    return -errno.EEXIST if exists(found) else -errno.ENOENT


def host_call(action, *args, **options) -> int:
    try:
        action(*args, **options)
    except OSError as err:
        return -err.errno
    return 0


def chmod_at(found, mode: int) -> int:
    """fchmodat(dir, name, mode) without following a symlink: the object is opened with
    O_PATH | O_NOFOLLOW and changed through its /proc/self/fd magic link (the inode that
    fd holds, as glibc's fchmodat(AT_SYMLINK_NOFOLLOW) does); a symlink's mode cannot be
    changed (-EOPNOTSUPP)."""
    try:
        fd = os.open(found.name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=found.dir.fd)
    except OSError as err:
        return -err.errno
    try:
        if stat.S_ISLNK(os.fstat(fd).st_mode):
            return -errno.EOPNOTSUPP
        return host_call(os.chmod, f"/proc/self/fd/{fd}", mode)
    finally:
        os.close(fd)


# ---- directories and names -------------------------------------------------------------

def sys_mkdirat(kernel, proc, dirfd, path_va, mode, *_):
    target = host_target(kernel, proc, signed32(dirfd), path_va)
    if isinstance(target, int):
        return -errno.EEXIST if target in (-errno.EPERM, -errno.EBUSY) else target
    found, path = target
    if last_name(path) in ("", ".", "..") or exists(found):
        raise SyscallError(errno.EEXIST)                 # (a symlink there too, dangling or not)
    mode &= 0o1777 & ~proc.fs.umask
    error = host_call(os.mkdir, found.name, mode, dir_fd=found.dir.fd)
    return error or chmod_at(found, mode)    # exactly: the host's own umask is not the guest's


def sys_mkdir(kernel, proc, path_va, mode, *_):
    return sys_mkdirat(kernel, proc, AT_FDCWD, path_va, mode)


def sys_unlinkat(kernel, proc, dirfd, path_va, flags, *_):
    if flags & ~AT_REMOVEDIR:
        raise SyscallError(errno.EINVAL)
    target = host_target(kernel, proc, signed32(dirfd), path_va)
    if isinstance(target, int):
        return target
    found, path = target
    name = last_name(path)
    if flags & AT_REMOVEDIR:                 # rmdir
        if name == ".":
            raise SyscallError(errno.EINVAL)
        if name == "..":
            raise SyscallError(errno.ENOTEMPTY)
        if name == "":
            raise SyscallError(errno.EBUSY)
        if exists(found) and not is_dir(found):
            raise SyscallError(errno.ENOTDIR)            # (a symlink to a directory too: rmdir does not follow)
        return host_call(os.rmdir, found.name, dir_fd=found.dir.fd)
    if name == "" or is_dir(found):
        raise SyscallError(errno.EISDIR)
    if slashed(path):                        # do_unlinkat's "slashes"
        return -errno.ENOTDIR if exists(found) else -errno.ENOENT
    return host_call(os.unlink, found.name, dir_fd=found.dir.fd)


def sys_unlink(kernel, proc, path_va, *_):
    return sys_unlinkat(kernel, proc, AT_FDCWD, path_va, 0)


def sys_rmdir(kernel, proc, path_va, *_):
    return sys_unlinkat(kernel, proc, AT_FDCWD, path_va, AT_REMOVEDIR)


def sys_renameat2(kernel, proc, olddirfd, old_va, newdirfd, new_va, flags, *_):
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or \
            flags & RENAME_NOREPLACE and flags & RENAME_EXCHANGE:
        raise SyscallError(errno.EINVAL)
    if flags & (RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise SyscallError(errno.EINVAL)                 # not in emu (docs/kernel.md)
    old = host_target(kernel, proc, signed32(olddirfd), old_va)
    if isinstance(old, int):
        return old
    new = host_target(kernel, proc, signed32(newdirfd), new_va)
    if isinstance(new, int):
        return new
    if last_name(old[1]) in ("", ".", "..") or last_name(new[1]) in ("", ".", ".."):
        raise SyscallError(errno.EBUSY)
    if not exists(old[0]):
        raise SyscallError(errno.ENOENT)
    if not is_dir(old[0]) and (slashed(old[1]) or slashed(new[1])):
        raise SyscallError(errno.ENOTDIR)                # only a directory's name may end in a slash
    if flags & RENAME_NOREPLACE and exists(new[0]):
        raise SyscallError(errno.EEXIST)
    return host_call(os.rename, old[0].name, new[0].name, src_dir_fd=old[0].dir.fd, dst_dir_fd=new[0].dir.fd)


def sys_renameat(kernel, proc, olddirfd, old_va, newdirfd, new_va, *_):
    return sys_renameat2(kernel, proc, olddirfd, old_va, newdirfd, new_va, 0)


def sys_rename(kernel, proc, old_va, new_va, *_):
    return sys_renameat2(kernel, proc, AT_FDCWD, old_va, AT_FDCWD, new_va, 0)


def sys_symlinkat(kernel, proc, target_va, newdirfd, path_va, *_):
    """A symlink holds its target as written; emu resolves it inside the root when it is
    followed, so an absolute target means DIR/target there (as in a chroot)."""
    target = user_path(kernel, proc, target_va)
    if isinstance(target, int):
        return target
    where = host_target(kernel, proc, signed32(newdirfd), path_va)
    if isinstance(where, int):
        return -errno.EEXIST if where in (-errno.EPERM, -errno.EBUSY) else where
    found = where[0]
    return create_slash_error(*where) or host_call(os.symlink, target, found.name, dir_fd=found.dir.fd)


def sys_symlink(kernel, proc, target_va, path_va, *_):
    return sys_symlinkat(kernel, proc, target_va, AT_FDCWD, path_va)


def sys_linkat(kernel, proc, olddirfd, old_va, newdirfd, new_va, flags, *_):
    if flags & ~(0x400 | AT_EMPTY_PATH):     # AT_SYMLINK_FOLLOW, AT_EMPTY_PATH
        raise SyscallError(errno.EINVAL)
    new = host_target(kernel, proc, signed32(newdirfd), new_va)
    if isinstance(new, int):
        return -errno.EEXIST if new in (-errno.EPERM, -errno.EBUSY) else new
    if flags & AT_EMPTY_PATH and user_path(kernel, proc, old_va, empty_ok=True) == "":
        file = fd_file(proc, signed32(olddirfd), raw=True)   # the file at olddirfd (O_PATH too)
        if file is None:
            raise SyscallError(errno.EBADF)
        if not isinstance(file, HostFile):
            return -errno.EXDEV if not isinstance(file, HostDirectory) else -errno.EPERM
        return create_slash_error(*new) or link_open_file(file.fd, new[0])
    else:
        old = host_target(kernel, proc, signed32(olddirfd), old_va, follow=bool(flags & 0x400))
        if isinstance(old, int):
            return old
        if is_dir(old[0]):
            raise SyscallError(errno.EPERM)              # no hard links to directories
    source, dest = old[0], new[0]
    return create_slash_error(*new) or host_call(os.link, source.name, dest.name, src_dir_fd=source.dir.fd,
                                                 dst_dir_fd=dest.dir.fd, follow_symlinks=False)


def link_open_file(fd: int, dest) -> int:
    """The host's linkat(fd, "", dest's dir fd, dest's name, AT_EMPTY_PATH): Python's
    os.link has no AT_EMPTY_PATH (and going through /proc/self/fd is EXDEV)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.linkat(fd, b"", dest.dir.fd, os.fsencode(dest.name), AT_EMPTY_PATH) != 0:
        return -ctypes.get_errno()
    return 0


def sys_link(kernel, proc, old_va, new_va, *_):
    return sys_linkat(kernel, proc, AT_FDCWD, old_va, AT_FDCWD, new_va, 0)


# ---- size, mode, times, sync ------------------------------------------------------------

def sys_truncate(kernel, proc, path_va, length, *_):
    if length >> 63:
        raise SyscallError(errno.EINVAL)
    target = host_target(kernel, proc, AT_FDCWD, path_va, follow=True)
    if isinstance(target, int):
        return target
    info = lstat_at(target[0])
    if info is None:
        raise SyscallError(errno.ENOENT)
    if stat.S_ISDIR(info.st_mode):
        raise SyscallError(errno.EISDIR)
    if not stat.S_ISREG(info.st_mode):
        raise SyscallError(errno.EINVAL)                 # do_sys_truncate: only a regular file
    return truncate_at(target[0], length)


def truncate_at(found, length: int) -> int:
    """truncate(2) of the regular file at the anchor: opened there with O_NOFOLLOW
    (and O_NONBLOCK, so nothing swapped in can make the open wait), then ftruncate."""
    try:
        fd = os.open(found.name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=found.dir.fd)
    except OSError as err:
        return -err.errno
    try:
        return host_call(os.ftruncate, fd, length)
    finally:
        os.close(fd)


def sys_ftruncate(kernel, proc, fd, length, *_):
    file = fd_file(proc, signed32(fd))
    if file is None:
        raise SyscallError(errno.EBADF)
    if length >> 63:
        raise SyscallError(errno.EINVAL)
    if not isinstance(file, HostFile) or (file.flags & 3) == os.O_RDONLY:
        raise SyscallError(errno.EINVAL)                 # not open for writing, or not a regular file
    return host_call(os.ftruncate, file.fd, length)


def sys_fsync(kernel, proc, fd, *_):
    """fsync and fdatasync: the host's, for a host file or directory; -EINVAL for a file
    without an fsync op (pipes, sockets, devices, /proc), as vfs_fsync says."""
    file = fd_file(proc, signed32(fd))
    if file is None:
        raise SyscallError(errno.EBADF)
    if isinstance(file, HostFile):
        return host_call(os.fsync, file.fd)
    if isinstance(file, HostDirectory):
        return host_call(os.fsync, file.fd)
    raise SyscallError(errno.EINVAL)


def sys_fchmodat(kernel, proc, dirfd, path_va, mode, *_):
    target = host_target(kernel, proc, signed32(dirfd), path_va, follow=True)
    if isinstance(target, int):
        return target
    return chmod_at(target[0], mode & 0o7777)


def sys_chmod(kernel, proc, path_va, mode, *_):
    return sys_fchmodat(kernel, proc, AT_FDCWD, path_va, mode)


def host_file_to_change(kernel, proc, fd: int):
    """What futimens changes: the host fd of the file open at `fd` (an O_PATH one is
    -EBADF, as Linux's fdget gives); or -errno
    (pipes and emu's own files have no times to set here: -EPERM)."""
    file = fd_file(proc, signed32(fd))
    if file is None:
        return -errno.EBADF
    if not isinstance(file, (HostFile, HostDirectory)):
        return -errno.EPERM
    if not kernel.root.writable:
        return -errno.EROFS
    return file.fd


def sys_fchmod(kernel, proc, fd, mode, *_):
    """A host file's or directory's mode on the host; a pipe's or socket's in emu (its
    fstat shows it)."""
    file = fd_file(proc, signed32(fd))
    if file is None:
        raise SyscallError(errno.EBADF)
    if isinstance(file, (HostFile, HostDirectory)):
        if not kernel.root.writable:
            raise SyscallError(errno.EROFS)
        return host_call(os.fchmod, file.fd, mode & 0o7777)
    return file.chmod(mode & 0o7777)


def sys_utimensat(kernel, proc, dirfd, path_va, times_va, flags, *_):
    """Access and modification times: now, UTIME_OMIT or a time. (A NULL path with a dirfd,
    futimens's form, is that open file.)"""
    if flags & ~AT_SYMLINK_NOFOLLOW:
        raise SyscallError(errno.EINVAL)
    if not path_va and (flags or signed32(dirfd) == AT_FDCWD):
        return -errno.EINVAL if flags else -errno.EFAULT     # (no path, and no fd to use)
    times = None
    if times_va:
        raw = struct.unpack("<qqqq", copy_from_user(proc.mm, kernel.mmu, times_va, 32))
        times = (raw[0:2], raw[2:4])
        if any(ns not in (UTIME_NOW, UTIME_OMIT) and not 0 <= ns < 1_000_000_000 for _, ns in times):
            raise SyscallError(errno.EINVAL)
        if times[0][1] == times[1][1] == UTIME_OMIT:
            return 0                         # nothing to do, before any lookup (do_utimes)
    if path_va:
        target = host_target(kernel, proc, signed32(dirfd), path_va, follow=not flags & AT_SYMLINK_NOFOLLOW)
        if isinstance(target, int):
            return target
        where = target[0]                    # the anchor; the lookup followed a link if asked
    else:
        where = host_file_to_change(kernel, proc, dirfd)
        if isinstance(where, int) and where < 0:
            return where
    if times is None:
        return utime_at(where, None)
    try:
        now = os.fstat(where) if isinstance(where, int) else os.stat(where.name, dir_fd=where.dir.fd,
                                                                       follow_symlinks=False)
    except OSError as err:
        return -err.errno
    current = (now.st_atime_ns, now.st_mtime_ns)
    ns = []
    for (seconds, nsec), old in zip(times, current):
        ns.append(old if nsec == UTIME_OMIT else None if nsec == UTIME_NOW else seconds * 1_000_000_000 + nsec)
    wall = time.time_ns()
    ns = tuple(wall if value is None else value for value in ns)
    return utime_at(where, ns)


def utime_at(where, ns) -> int:
    """futimens(fd) for an fd; for an anchor utimensat(dir, name, AT_SYMLINK_NOFOLLOW):
    never the host's following of a link (a followed one was followed inside the root
    by the lookup already). ns None: now."""
    if isinstance(where, int):
        return host_call(os.utime, where) if ns is None else host_call(os.utime, where, ns=ns)
    options = {"dir_fd": where.dir.fd, "follow_symlinks": False}
    return host_call(os.utime, where.name, **options) if ns is None else \
        host_call(os.utime, where.name, ns=ns, **options)


def sys_umask(kernel, proc, mask, *_):
    """The creation mask: returned and replaced. open(O_CREAT) and mkdir take it from the
    mode they are given. Threads share it (CLONE_FS); fork copies it."""
    old, proc.fs.umask = proc.fs.umask, mask & 0o777
    return old
