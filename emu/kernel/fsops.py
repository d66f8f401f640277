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
import struct
import time

from .fs import AT_FDCWD, AT_SYMLINK_NOFOLLOW, fd_file, resolve_path, signed32, user_path
from .hostfs import HostDirectory, HostFile
from .mm import UserFault, copy_from_user

AT_REMOVEDIR = 0x200
AT_EMPTY_PATH = 0x1000
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def host_target(kernel, proc, dirfd: int, path_va: int, *, follow: bool = False):
    """(host path, guest path string as given) of a path to change, or -errno. With
    follow=False the last component is taken as it is, a trailing slash or not (the
    calls themselves say what a slash means: `slashed`)."""
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
    return kernel.root.host_path(found.parts), path


def last_name(path: str) -> str:
    """The path's last component ("" for "/")."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def slashed(path: str) -> bool:
    """Does the last component carry a trailing slash ("dir/")?"""
    return path.endswith("/") and path.rstrip("/") != ""


def is_dir(host: str) -> bool:
    return os.path.isdir(host) and not os.path.islink(host)


def create_slash_error(host: str, path: str) -> int:
    """filename_create for a name that is not a directory's: with a trailing slash it is
    -EEXIST if something is there, else -ENOENT; 0 if there is no slash."""
    if not slashed(path):
        return 0
    return -errno.EEXIST if os.path.lexists(host) else -errno.ENOENT


def host_call(action, *args, **options) -> int:
    try:
        action(*args, **options)
    except OSError as err:
        return -err.errno
    return 0


# ---- directories and names -------------------------------------------------------------

def sys_mkdirat(kernel, proc, dirfd, path_va, mode, *_):
    target = host_target(kernel, proc, signed32(dirfd), path_va)
    if isinstance(target, int):
        return -errno.EEXIST if target in (-errno.EPERM, -errno.EBUSY) else target
    host, path = target
    if last_name(path) in ("", ".", "..") or os.path.lexists(host):
        return -errno.EEXIST                 # (a symlink there too, dangling or not)
    mode &= 0o1777 & ~proc.fs.umask
    error = host_call(os.mkdir, host, mode)
    return error or host_call(os.chmod, host, mode)       # exactly: the host's own umask is not the guest's


def sys_mkdir(kernel, proc, path_va, mode, *_):
    return sys_mkdirat(kernel, proc, AT_FDCWD, path_va, mode)


def sys_unlinkat(kernel, proc, dirfd, path_va, flags, *_):
    if flags & ~AT_REMOVEDIR:
        return -errno.EINVAL
    target = host_target(kernel, proc, signed32(dirfd), path_va)
    if isinstance(target, int):
        return target
    host, path = target
    name = last_name(path)
    if flags & AT_REMOVEDIR:                 # rmdir
        if name == ".":
            return -errno.EINVAL
        if name == "..":
            return -errno.ENOTEMPTY
        if name == "":
            return -errno.EBUSY
        if os.path.lexists(host) and not is_dir(host):
            return -errno.ENOTDIR            # (a symlink to a directory too: rmdir does not follow)
        return host_call(os.rmdir, host)
    if name == "" or is_dir(host):
        return -errno.EISDIR
    if slashed(path):                        # do_unlinkat's "slashes"
        return -errno.ENOTDIR if os.path.lexists(host) else -errno.ENOENT
    return host_call(os.unlink, host)


def sys_unlink(kernel, proc, path_va, *_):
    return sys_unlinkat(kernel, proc, AT_FDCWD, path_va, 0)


def sys_rmdir(kernel, proc, path_va, *_):
    return sys_unlinkat(kernel, proc, AT_FDCWD, path_va, AT_REMOVEDIR)


def sys_renameat2(kernel, proc, olddirfd, old_va, newdirfd, new_va, flags, *_):
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or \
            flags & RENAME_NOREPLACE and flags & RENAME_EXCHANGE:
        return -errno.EINVAL
    if flags & (RENAME_EXCHANGE | RENAME_WHITEOUT):
        return -errno.EINVAL                 # not in emu (docs/kernel.md)
    old = host_target(kernel, proc, signed32(olddirfd), old_va)
    if isinstance(old, int):
        return old
    new = host_target(kernel, proc, signed32(newdirfd), new_va)
    if isinstance(new, int):
        return new
    if last_name(old[1]) in ("", ".", "..") or last_name(new[1]) in ("", ".", ".."):
        return -errno.EBUSY
    if not os.path.lexists(old[0]):
        return -errno.ENOENT
    if not is_dir(old[0]) and (slashed(old[1]) or slashed(new[1])):
        return -errno.ENOTDIR                # only a directory's name may end in a slash
    if flags & RENAME_NOREPLACE and os.path.lexists(new[0]):
        return -errno.EEXIST
    return host_call(os.rename, old[0], new[0])


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
    return create_slash_error(*where) or host_call(os.symlink, target, where[0])


def sys_symlink(kernel, proc, target_va, path_va, *_):
    return sys_symlinkat(kernel, proc, target_va, AT_FDCWD, path_va)


def sys_linkat(kernel, proc, olddirfd, old_va, newdirfd, new_va, flags, *_):
    if flags & ~(0x400 | AT_EMPTY_PATH):     # AT_SYMLINK_FOLLOW, AT_EMPTY_PATH
        return -errno.EINVAL
    new = host_target(kernel, proc, signed32(newdirfd), new_va)
    if isinstance(new, int):
        return -errno.EEXIST if new in (-errno.EPERM, -errno.EBUSY) else new
    if flags & AT_EMPTY_PATH and user_path(kernel, proc, old_va, empty_ok=True) == "":
        file = fd_file(proc, signed32(olddirfd))     # the file open at olddirfd (root may)
        if file is None:
            return -errno.EBADF
        if not isinstance(file, HostFile):
            return -errno.EXDEV if not isinstance(file, HostDirectory) else -errno.EPERM
        return create_slash_error(*new) or link_open_file(file.fd, new[0])
    else:
        old = host_target(kernel, proc, signed32(olddirfd), old_va, follow=bool(flags & 0x400))
        if isinstance(old, int):
            return old
        if is_dir(old[0]):
            return -errno.EPERM              # no hard links to directories
        source, follow = old[0], False
    return create_slash_error(*new) or host_call(os.link, source, new[0], follow_symlinks=follow)


def link_open_file(fd: int, path: str) -> int:
    """The host's linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH): Python's os.link has no
    AT_EMPTY_PATH (and going through /proc/self/fd is EXDEV)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.linkat(fd, b"", AT_FDCWD, os.fsencode(path), AT_EMPTY_PATH) != 0:
        return -ctypes.get_errno()
    return 0


def sys_link(kernel, proc, old_va, new_va, *_):
    return sys_linkat(kernel, proc, AT_FDCWD, old_va, AT_FDCWD, new_va, 0)


# ---- size, mode, times, sync ------------------------------------------------------------

def sys_truncate(kernel, proc, path_va, length, *_):
    if length >> 63:
        return -errno.EINVAL
    target = host_target(kernel, proc, AT_FDCWD, path_va, follow=True)
    if isinstance(target, int):
        return target
    if os.path.isdir(target[0]):
        return -errno.EISDIR
    return host_call(os.truncate, target[0], length)


def sys_ftruncate(kernel, proc, fd, length, *_):
    file = fd_file(proc, signed32(fd))
    if file is None:
        return -errno.EBADF
    if length >> 63:
        return -errno.EINVAL
    if not isinstance(file, HostFile) or (file.flags & 3) == os.O_RDONLY:
        return -errno.EINVAL                 # not open for writing, or not a regular file
    return host_call(os.ftruncate, file.fd, length)


def sys_fsync(kernel, proc, fd, *_):
    """fsync and fdatasync: the host's, for a host file or directory; -EINVAL for a file
    without an fsync op (pipes, sockets, devices, /proc), as vfs_fsync says."""
    file = fd_file(proc, signed32(fd))
    if file is None:
        return -errno.EBADF
    if isinstance(file, HostFile):
        return host_call(os.fsync, file.fd)
    if isinstance(file, HostDirectory):
        return host_call(fsync_path, file.host_path)
    return -errno.EINVAL


def fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sys_fchmodat(kernel, proc, dirfd, path_va, mode, *_):
    target = host_target(kernel, proc, signed32(dirfd), path_va, follow=True)
    if isinstance(target, int):
        return target
    return host_call(os.chmod, target[0], mode & 0o7777)


def sys_chmod(kernel, proc, path_va, mode, *_):
    return sys_fchmodat(kernel, proc, AT_FDCWD, path_va, mode)


def host_file_to_change(kernel, proc, fd: int):
    """What futimens changes: the host fd or path of the file open at `fd`; or -errno
    (pipes and emu's own files have no times to set here: -EPERM)."""
    file = fd_file(proc, signed32(fd))
    if file is None:
        return -errno.EBADF
    if not isinstance(file, (HostFile, HostDirectory)):
        return -errno.EPERM
    if not kernel.root.writable:
        return -errno.EROFS
    return file.fd if isinstance(file, HostFile) else file.host_path


def sys_fchmod(kernel, proc, fd, mode, *_):
    """A host file's or directory's mode on the host; a pipe's or socket's in emu (its
    fstat shows it)."""
    file = fd_file(proc, signed32(fd))
    if file is None:
        return -errno.EBADF
    if isinstance(file, (HostFile, HostDirectory)):
        if not kernel.root.writable:
            return -errno.EROFS
        return host_call(os.chmod, file.fd if isinstance(file, HostFile) else file.host_path, mode & 0o7777)
    return file.chmod(mode & 0o7777)


def sys_utimensat(kernel, proc, dirfd, path_va, times_va, flags, *_):
    """Access and modification times: now, UTIME_OMIT or a time. (A NULL path with a dirfd,
    futimens's form, is that open file.)"""
    if flags & ~AT_SYMLINK_NOFOLLOW:
        return -errno.EINVAL
    if not path_va and (flags or signed32(dirfd) == AT_FDCWD):
        return -errno.EINVAL if flags else -errno.EFAULT     # (no path, and no fd to use)
    times = None
    if times_va:
        try:
            raw = struct.unpack("<qqqq", copy_from_user(proc.mm, kernel.mmu, times_va, 32))
        except UserFault:
            return -errno.EFAULT
        times = (raw[0:2], raw[2:4])
        if any(ns not in (UTIME_NOW, UTIME_OMIT) and not 0 <= ns < 1_000_000_000 for _, ns in times):
            return -errno.EINVAL
        if times[0][1] == times[1][1] == UTIME_OMIT:
            return 0                         # nothing to do, before any lookup (do_utimes)
    if path_va:
        target = host_target(kernel, proc, signed32(dirfd), path_va, follow=not flags & AT_SYMLINK_NOFOLLOW)
        if isinstance(target, int):
            return target
        where = target[0]
    else:
        where = host_file_to_change(kernel, proc, dirfd)
        if isinstance(where, int) and where < 0:
            return where
    if times is None:
        return host_call(os.utime, where)
    try:
        now = os.stat(where, follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW) if isinstance(where, str) \
            else os.fstat(where)
    except OSError as err:
        return -err.errno
    current = (now.st_atime_ns, now.st_mtime_ns)
    ns = []
    for (seconds, nsec), old in zip(times, current):
        ns.append(old if nsec == UTIME_OMIT else None if nsec == UTIME_NOW else seconds * 1_000_000_000 + nsec)
    wall = time.time_ns()
    ns = tuple(wall if value is None else value for value in ns)
    if not isinstance(where, str):
        return host_call(os.utime, where, ns=ns)
    return host_call(os.utime, where, ns=ns, follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW)


def sys_umask(kernel, proc, mask, *_):
    """The creation mask: returned and replaced. open(O_CREAT) and mkdir take it from the
    mode they are given. Threads share it (CLONE_FS); fork copies it."""
    old, proc.fs.umask = proc.fs.umask, mask & 0o777
    return old


SYSCALLS = {
    74: sys_fsync,
    75: sys_fsync,           # fdatasync
    76: sys_truncate,
    77: sys_ftruncate,
    82: sys_rename,
    83: sys_mkdir,
    84: sys_rmdir,
    86: sys_link,
    87: sys_unlink,
    88: sys_symlink,
    90: sys_chmod,
    91: sys_fchmod,
    95: sys_umask,
    258: sys_mkdirat,
    263: sys_unlinkat,
    264: sys_renameat,
    265: sys_linkat,
    266: sys_symlinkat,
    268: sys_fchmodat,
    280: sys_utimensat,
    316: sys_renameat2,
}
