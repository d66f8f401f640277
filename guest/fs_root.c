/* fs_root: host files under `emu run --root DIR` (made by tests/test_fs.py), as in a chroot.
   With the argument "ro" it also checks that the root is read-only (emu only). */
#include "rt.h"

int main(int argc, char **argv)
{
    char buf[64];
    struct stat st;
    int fd = sys_open("/hello.txt", O_RDONLY, 0);
    ok(fd >= 0 && sys_read(fd, buf, 64) == 12 && memcmp(buf, "hello, root\n", 12) == 0, "read /hello.txt");
    ok(sys_fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && st.st_size == 12, "fstat: S_IFREG, 12 bytes");
    ok(sys_fcntl(fd, F_GETFL, 0) == O_LARGEFILE, "F_GETFL: O_RDONLY|O_LARGEFILE");
    ok(sys_lseek(fd, -5, SEEK_END) == 7 && sys_read(fd, buf, 64) == 5 && memcmp(buf, "root\n", 5) == 0, "lseek SEEK_END");
    ok(sys_lseek(fd, -100, SEEK_CUR) == -22, "lseek before 0 is -EINVAL");
    ok(sys_pread64(fd, buf, 4, 2) == 4 && memcmp(buf, "llo,", 4) == 0 && sys_lseek(fd, 0, SEEK_CUR) == 12,
       "pread reads at an offset and leaves the file offset alone");
    ok(sys_pread64(fd, buf, 4, -1) == -22, "pread at a negative offset is -EINVAL");
    ok(sys_open("hello.txt", O_RDONLY, 0) >= 0, "a relative path from /");
    ok(sys_open("/../../../hello.txt", O_RDONLY, 0) >= 0, "/.. is / (no way out by ..)");
    ok(sys_open("/../secret.txt", O_RDONLY, 0) == -2, "a file next to the root is not there");
    ok(sys_open("/link_rel", O_RDONLY, 0) >= 0, "a relative symlink");
    ok(sys_open("/link_abs", O_RDONLY, 0) >= 0, "an absolute symlink resolves inside the root");
    ok(sys_open("/dir/link_up", O_RDONLY, 0) >= 0, "a symlink with ../../.. stays inside");
    ok(sys_open("/link_out", O_RDONLY, 0) == -2, "a symlink to ../secret.txt cannot get out");
    ok(sys_open("/link_etc", O_RDONLY, 0) == -2, "a symlink to /etc/passwd is the root's /etc/passwd");
    ok(sys_open("/loop1", O_RDONLY, 0) == -40, "a symlink loop is -ELOOP");
    ok(sys_open("/dangling", O_RDONLY, 0) == -2, "a dangling symlink is -ENOENT");
    ok(sys_open("/link_rel", O_RDONLY | O_NOFOLLOW, 0) == -40, "O_NOFOLLOW on a symlink is -ELOOP");
    ok(sys_lstat("/link_rel", &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK, "lstat sees the link");
    ok(sys_stat("/link_rel", &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG, "stat follows it");
    ok(sys_newfstatat(AT_FDCWD, "/link_rel", &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == S_IFLNK,
       "fstatat with AT_SYMLINK_NOFOLLOW");
    long n = sys_readlink("/link_rel", buf, sizeof buf);
    ok(n == 9 && memcmp(buf, "hello.txt", 9) == 0, "readlink gives the target as written");
    ok(sys_readlink("/hello.txt", buf, sizeof buf) == -22, "readlink of a file is -EINVAL");
    ok(sys_open("/hello.txt/x", O_RDONLY, 0) == -20, "a file used as a directory is -ENOTDIR");
    ok(sys_open("/hello.txt", O_RDONLY | O_DIRECTORY, 0) == -20, "O_DIRECTORY on a file is -ENOTDIR");
    int dir = sys_open("/dir", O_RDONLY | O_DIRECTORY, 0);
    ok(dir >= 0 && sys_fstat(dir, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR, "open a directory");
    ok(sys_read(dir, buf, 10) == -21, "read from a directory is -EISDIR");
    ok(sys_open("/dir", O_WRONLY, 0) == -21, "a directory opened for writing is -EISDIR");
    int inner = sys_openat(dir, "inner.txt", O_RDONLY, 0);
    ok(inner >= 0 && sys_read(inner, buf, 64) == 6 && memcmp(buf, "inner\n", 6) == 0, "openat relative to a directory fd");
    ok(sys_openat(dir, "../hello.txt", O_RDONLY, 0) >= 0, "openat(dir, ../hello.txt)");
    ok(sys_access("/hello.txt", R_OK) == 0, "access R_OK");
    ok(sys_access("/hello.txt", X_OK) == -13, "access X_OK of a non-executable file is -EACCES even for root");
    ok(sys_access("/missing", F_OK) == -2, "access of a missing file is -ENOENT");
    ok(sys_stat("/", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR, "stat / is a directory");
    if (argc > 1 && argv[1][0] == 'r') {
        ok(sys_open("/hello.txt", O_WRONLY, 0) == -30, "writing to the read-only root is -EROFS");
        ok(sys_open("/new.txt", O_WRONLY | O_CREAT, 0644) == -30, "creating a file is -EROFS");
        ok(sys_open("/hello.txt", O_RDONLY | O_CREAT, 0644) >= 0, "O_CREAT of an existing file opens it");
        ok(sys_open("/hello.txt", O_RDONLY | O_TRUNC, 0) == -30, "O_TRUNC is -EROFS");
        ok(sys_open("/hello.txt", O_RDONLY | O_CREAT | O_EXCL, 0644) == -17, "O_EXCL of an existing file is -EEXIST");
        ok(sys_access("/hello.txt", W_OK) == -30, "access W_OK is -EROFS");
    }
    return done_testing();
}
