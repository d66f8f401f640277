"""Host files: `emu run --root DIR` shows DIR as the guest's `/`, read-only unless --root-writable.

emu/kernel/fs.py's `lookup` walks a guest path one component at a time, as Linux's
namei does inside a chroot: `..` never climbs above the root and a symlink's target is
resolved again inside the root. It asks this module only about components it has
already resolved, so every host path built here is DIR joined with names that contain
no `..` and no symlinks. Opens use O_NOFOLLOW as a second guard. (A host process
renaming directories under DIR at the same time could still race with a lookup: emu
keeps a guest in, it is not a barrier against the host's own users.)
"""

import errno
import os
import stat as st

from .fs import (DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN, O_ACCMODE, O_APPEND,
                 O_CREAT, O_DIRECTORY, O_EXCL, O_PATH, O_RDONLY, O_TRUNC, DirectoryFile, SeekableFile, Stat)

class HostRoot:
    """The host directory that is the guest's `/`."""

    def __init__(self, path: str, *, writable: bool = False):
        self.path = os.path.realpath(path)
        self.writable = writable
        if not os.path.isdir(self.path):
            raise NotADirectoryError(f"--root {path}: not a directory")

    def host_path(self, parts) -> str:
        """DIR/parts...; `parts` come from fs.lookup (no '..', no symlinks on the way)."""
        path = os.path.join(self.path, *parts)
        if os.path.commonpath([self.path, path]) != self.path:
            raise AssertionError(f"host path {path} outside the root")      # an emu bug
        return path

    def readlink_if_symlink(self, parts):
        """The target of `parts` if it is a symlink, None if it is something else, or -errno."""
        path = self.host_path(parts)
        try:
            if not st.S_ISLNK(os.lstat(path).st_mode):
                return None
            return os.readlink(path)
        except OSError as err:
            return -err.errno

    def lstat(self, parts):
        try:
            return Stat.from_host(os.lstat(self.host_path(parts)))
        except OSError as err:
            return -err.errno

    def open(self, parts, flags: int, mode: int):
        """A HostFile or HostDirectory for `parts`; -EROFS for writes unless --root-writable."""
        path = self.host_path(parts)
        guest_path = "/" + "/".join(parts)
        exists = os.path.lexists(path)
        if flags & O_CREAT and flags & O_EXCL and exists:
            return -errno.EEXIST
        if not exists and not flags & O_CREAT:
            return -errno.ENOENT
        if os.path.isdir(path) and not os.path.islink(path):
            if flags & O_ACCMODE != O_RDONLY or flags & O_CREAT:
                return -errno.EISDIR
            return HostDirectory(flags, guest_path, Stat.from_host(os.lstat(path)), path)
        if flags & O_DIRECTORY:
            return -errno.ENOTDIR
        # O_CREAT of a file that exists writes nothing (Linux opens it on a read-only mount).
        wants_write = flags & O_ACCMODE != O_RDONLY or flags & O_TRUNC or (flags & O_CREAT and not exists)
        if wants_write and not self.writable and not flags & O_PATH:
            return -errno.EROFS
        host_flags = (flags & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND)) | os.O_NOFOLLOW | os.O_CLOEXEC
        if flags & O_PATH:
            host_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, host_flags, mode & 0o7777)
            if flags & O_CREAT and not exists:
                os.fchmod(fd, mode & 0o7777)      # the guest's umask applied, not the host's too
        except OSError as err:
            return -err.errno
        return HostFile(fd, flags, guest_path)


def d_type(entry: os.DirEntry) -> int:
    """getdents64's d_type for a host directory entry (not following symlinks)."""
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return DT_UNKNOWN
    for test, value in ((st.S_ISREG, DT_REG), (st.S_ISDIR, DT_DIR), (st.S_ISLNK, DT_LNK), (st.S_ISCHR, DT_CHR),
                        (st.S_ISBLK, DT_BLK), (st.S_ISFIFO, DT_FIFO), (st.S_ISSOCK, DT_SOCK)):
        if test(mode):
            return value
    return DT_UNKNOWN


class HostFile(SeekableFile):
    """A regular host file (or anything else os.open gives), read and written at offsets."""

    def __init__(self, fd: int, flags: int, path: str):
        super().__init__(flags, path)
        self.fd = fd

    def release(self):
        os.close(self.fd)

    def size(self):
        return os.fstat(self.fd).st_size

    def pread(self, offset, count):
        try:
            return os.pread(self.fd, min(count, 1 << 24), offset)
        except OSError as err:
            return -err.errno

    def pwrite(self, offset, data):
        try:
            return os.pwrite(self.fd, data, offset)
        except OSError as err:
            return -err.errno

    def stat(self):
        return Stat.from_host(os.fstat(self.fd))


class HostDirectory(DirectoryFile):
    """An open host directory: getdents64, fstat and *at() lookups."""

    def __init__(self, flags, path, stat_result, host_path: str):
        super().__init__(flags, path)
        self.stat_result = stat_result
        self.host_path = host_path

    def listing(self, kernel):
        """The host directory's entries (in the host's order), with the files emu registers
        at this path (/dev/null ...) in place of host ones of the same name."""
        try:
            with os.scandir(self.host_path) as scan:
                entries = [(entry.name, entry.inode(), d_type(entry)) for entry in scan]
            parent = os.lstat(os.path.dirname(self.host_path) if self.path != "/" else self.host_path)
        except OSError as err:
            return -err.errno
        devices = kernel.devices.children(self.path)
        entries = [entry for entry in entries if entry[0] not in devices]
        entries += [(name, 0, dtype) for name, dtype in sorted(devices.items())]
        return [(".", self.stat_result.ino, DT_DIR), ("..", parent.st_ino, DT_DIR)] + entries

    def stat(self):
        return self.stat_result
