"""Host files: `emu run --root DIR` shows DIR as the guest's `/`, read-only unless --root-writable.

Nothing here names a host file by a path from the host's `/`. emu holds an fd of DIR
(O_PATH) and an fd of every host directory a guest stands on: each open directory, the
working directory, and each directory a lookup passes (`HostDir`). emu/kernel/fs/vfs.py's
`lookup` walks a guest path one component at a time from one of those, as Linux's namei
does inside a chroot: `fstatat(AT_SYMLINK_NOFOLLOW)` says what the name is, a directory
is entered with `openat(O_PATH | O_DIRECTORY | O_NOFOLLOW)`, a symlink is read with
`readlinkat` and its target resolved again inside the root, and `..` at the root stays
there. A lookup ends at an anchor `(HostDir of the parent, last name)`, and every host
call on it is an `*at()` call relative to that fd with O_NOFOLLOW or AT_SYMLINK_NOFOLLOW
(`os.*(name, dir_fd=..., follow_symlinks=False)`). So no host call resolves more than
one component, and none follows a symlink: the host kernel cannot be led out of DIR by
anything a guest plants, even between a check and a use. (docs/kernel.md, "Root
confinement", lists the calls.)
"""

import errno
import os
import stat as st

from .vfs import (DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN, O_ACCMODE, O_APPEND,
                 O_CREAT, O_DIRECTORY, O_EXCL, O_PATH, O_RDONLY, O_TRUNC, DirectoryFile, SeekableFile, Stat)

DIR_PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class HostDir:
    """A held host directory fd: what a lookup, an open directory or the working
    directory stands on. `parts` is its guest path as last known (a hint: a rename may
    have moved it; `HostRoot.guest_parts` gives the true one). The fd is closed when
    the last reference goes (CPython frees the object at once)."""

    def __init__(self, fd: int, parts: tuple):
        self.fd = fd
        self.parts = parts

    def __del__(self, close=os.close):
        try:
            close(self.fd)           # (bound at definition: it also runs at interpreter exit)
        except OSError:
            pass

    def identity(self) -> tuple:
        info = os.fstat(self.fd)
        return info.st_dev, info.st_ino


def host_error(call, *args, **options):
    """call(*args, **options), or -errno of the host's OSError."""
    try:
        return call(*args, **options)
    except OSError as err:
        return -err.errno


class HostRoot:
    """The host directory that is the guest's `/`."""

    def __init__(self, path: str, *, writable: bool = False):
        self.path = os.path.realpath(path)
        self.writable = writable
        try:
            self.dir = HostDir(os.open(self.path, DIR_PATH_FLAGS), ())
        except OSError:
            raise NotADirectoryError(f"--root {path}: not a directory") from None
        self.ident = self.dir.identity()

    def host_path(self, parts) -> str:
        """DIR/parts...: the host name of a program exec runs (proc.path); it is opened
        again only through open_host_path."""
        return os.path.join(self.path, *parts)

    def open_host_path(self, path: str, flags: int = os.O_RDONLY) -> int:
        """os.open of a host path emu keeps (the running program, a mapped file): one
        inside the root is walked from the root fd without following any link (a guest
        may have put one there since); one outside is the user's own, out of the
        guest's reach. Raises OSError."""
        relative = os.path.relpath(os.path.abspath(path), self.path)
        if relative == ".." or relative.startswith("../"):
            return os.open(path, flags | os.O_CLOEXEC)
        *parents, last = relative.split("/")
        here = self.dir
        for name in parents:
            here = self.child(here, name, ())
            if not isinstance(here, HostDir):
                raise OSError(errno.ELOOP if isinstance(here, str) else -here, "not a directory on the way")
        return os.open(last, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=here.fd)

    # -- walking (fs.lookup's steps) --

    def is_root(self, directory: HostDir) -> bool:
        return directory is self.dir or directory.identity() == self.ident

    def child(self, directory: HostDir, name: str, parts: tuple):
        """The directory `name` in `directory` as a HostDir, the target string if it is a
        symlink, or -errno (-ENOTDIR for anything else)."""
        try:
            mode = os.stat(name, dir_fd=directory.fd, follow_symlinks=False).st_mode
            if st.S_ISLNK(mode):
                return os.readlink(name, dir_fd=directory.fd)
            if not st.S_ISDIR(mode):
                return -errno.ENOTDIR
            return HostDir(os.open(name, DIR_PATH_FLAGS, dir_fd=directory.fd), parts)
        except OSError as err:
            return -err.errno

    def parent(self, directory: HostDir, parts: tuple):
        """`..` of `directory`: itself at the root (as in a chroot)."""
        if self.is_root(directory):
            return self.dir
        return host_error(lambda: HostDir(os.open("..", DIR_PATH_FLAGS, dir_fd=directory.fd), parts))

    def readlink_at(self, directory: HostDir, name: str):
        """The target of `name` if it is a symlink, None if it is something else, or -errno."""
        try:
            if not st.S_ISLNK(os.stat(name, dir_fd=directory.fd, follow_symlinks=False).st_mode):
                return None
            return os.readlink(name, dir_fd=directory.fd)
        except OSError as err:
            return -err.errno

    def guest_parts(self, directory: HostDir):
        """The guest path (a tuple of names) at which `directory` is now, or None if it
        was removed or is not under the root any more. The hint `directory.parts` is
        checked by walking it from the root; if a rename made it wrong, the path is
        found again by climbing `..` and matching inodes (as getcwd's d_path follows
        the dentry), and the hint updated."""
        if os.fstat(directory.fd).st_nlink == 0:
            return None
        want = directory.identity()
        if self.walk_parts(directory.parts) == want:
            return directory.parts
        names, here = [], directory
        for _ in range(4096):
            ident = here.identity()
            if ident == self.ident:
                directory.parts = tuple(reversed(names))
                return directory.parts
            up = host_error(lambda: HostDir(os.open("..", DIR_PATH_FLAGS, dir_fd=here.fd), ()))
            if isinstance(up, int) or up.identity() == ident:
                return None              # the host's `/`: not below the root
            name = entry_named(up, ident)
            if name is None:
                return None
            names.append(name)
            here = up
        return None

    def walk_parts(self, parts: tuple):
        """(dev, ino) of the directory at guest path `parts`, walked without following links."""
        here = self.dir
        for name in parts:
            here = self.child(here, name, ())
            if not isinstance(here, HostDir):
                return None
        return here.identity()

    # -- the objects a lookup ends at: (directory, name) --

    def lstat(self, directory: HostDir, name: str):
        try:
            return Stat.from_host(os.stat(name, dir_fd=directory.fd, follow_symlinks=False))
        except OSError as err:
            return -err.errno

    def open_dir(self, directory: HostDir, name: str, parts: tuple, flags: int = O_PATH):
        """A HostDir of the directory `name` (opened for reading unless O_PATH), or -errno."""
        host_flags = DIR_PATH_FLAGS if flags & O_PATH else os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        return host_error(lambda: HostDir(os.open(name, host_flags, dir_fd=directory.fd), parts))

    def open(self, directory: HostDir, name: str, parts: tuple, flags: int, mode: int):
        """A HostFile or HostDirectory for `name` in `directory`; -EROFS for writes unless
        --root-writable."""
        guest_path = "/" + "/".join(parts)
        info = host_error(os.stat, name, dir_fd=directory.fd, follow_symlinks=False)
        exists = not isinstance(info, int)
        if isinstance(info, int) and info != -errno.ENOENT:
            return info
        if flags & O_CREAT and flags & O_EXCL and exists:
            return -errno.EEXIST
        if not exists and not flags & O_CREAT:
            return -errno.ENOENT
        if exists and st.S_ISDIR(info.st_mode):
            if flags & O_ACCMODE != O_RDONLY or flags & O_CREAT:
                return -errno.EISDIR
            held = self.open_dir(directory, name, parts, flags)
            return held if isinstance(held, int) else HostDirectory(flags, guest_path, held)
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
            fd = os.open(name, host_flags, mode & 0o7777, dir_fd=directory.fd)
            if flags & O_CREAT and not exists:
                os.fchmod(fd, mode & 0o7777)      # the guest's umask applied, not the host's too
        except OSError as err:
            return -err.errno
        return HostFile(fd, flags, guest_path)


def entry_named(directory: HostDir, ident: tuple):
    """The name in `directory` of the directory whose (dev, ino) is `ident`, or None."""
    try:
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=directory.fd)
    except OSError:
        return None
    try:
        with os.scandir(fd) as scan:
            for entry in scan:
                if entry.inode() == ident[1] and entry.is_dir(follow_symlinks=False) and \
                        entry.stat(follow_symlinks=False).st_dev == ident[0]:
                    return entry.name
    except OSError:
        return None
    finally:
        os.close(fd)
    return None


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
    """An open host directory: getdents64, fstat, fchmod, futimens, fsync and *at()
    lookups, all through the held fd `dir` (never its path: after a rename the fd still
    is the directory it was opened on, as in Linux). An O_PATH open holds an O_PATH fd,
    so the calls that need a real open file get the host's -EBADF, as Linux's do."""

    def __init__(self, flags, path, held: HostDir):
        super().__init__(flags, path)
        self.dir = held

    @property
    def fd(self) -> int:
        return self.dir.fd

    def listing(self, kernel):
        """The host directory's entries (in the host's order), with the files emu registers
        at this path (/dev/null ...) in place of host ones of the same name. A removed
        directory has none: -ENOENT, as iterate_dir says for a dead directory."""
        try:
            here = os.fstat(self.dir.fd)
            if here.st_nlink == 0:
                return -errno.ENOENT     # (the host's readdir would say end of directory)
            with os.scandir(self.dir.fd) as scan:
                entries = [(entry.name, entry.inode(), d_type(entry)) for entry in scan]
            parent = here if kernel.root.is_root(self.dir) else os.stat("..", dir_fd=self.dir.fd)
        except OSError as err:
            return -err.errno
        devices = kernel.devices.children(self.path)
        entries = [entry for entry in entries if entry[0] not in devices]
        entries += [(name, 0, dtype) for name, dtype in sorted(devices.items())]
        return [(".", here.st_ino, DT_DIR), ("..", parent.st_ino, DT_DIR)] + entries

    def stat(self):
        return Stat.from_host(os.fstat(self.dir.fd))
