/* libc/edge_fs_opath: O_PATH fds and O_CREAT|O_EXCL on a link, as Linux has them.
   argv[1]: an empty scratch directory (natively), or / under emu with a writable --root.
   An O_PATH fd names a place and nothing more: every call that needs an open file
   (fdget in fs/file.c) is EBADF, while fstat, fchdir, dup, a dirfd and the fd flags of
   fcntl take it (fdget_raw). O_CREAT|O_EXCL never follows a last symlink (EEXIST). */
#include "edges.h"
#include <sys/mman.h>
#include <sys/syscall.h>
int main(int argc, char **argv)
{
    if (argc > 1 && chdir(argv[1]) < 0)
        return 2;
    char buf[64];
    struct stat sb;
    symlink("target", "l");
    R("open(l, O_CREAT|O_EXCL) through a dangling link", open("l", O_CREAT | O_EXCL | O_WRONLY, 0644));
    R("target made by it", access("target", F_OK));
    R("open(l, O_NOFOLLOW)", open("l", O_NOFOLLOW | O_RDONLY));
    int f = open("l", O_CREAT | O_WRONLY, 0644);
    R("open(l, O_CREAT) creates the target", f >= 0);
    close(f);
    R("open(target, O_CREAT|O_EXCL)", open("target", O_CREAT | O_EXCL | O_WRONLY, 0644));
    symlink("target", "l2");
    R("open(l2, O_CREAT|O_EXCL) through a link to a file", open("l2", O_CREAT | O_EXCL | O_WRONLY, 0644));
    int p = open("target", O_PATH | O_RDWR | O_TRUNC | O_APPEND);
    R("read(O_PATH)", read(p, buf, 4));
    R("write(O_PATH)", write(p, "x", 1));
    R("pread(O_PATH)", pread(p, buf, 4, 0));
    R("lseek(O_PATH)", lseek(p, 0, SEEK_SET));
    R("ftruncate(O_PATH)", ftruncate(p, 0));
    R("fsync(O_PATH)", fsync(p));
    R("fchmod(O_PATH)", fchmod(p, 0600));
    R("futimens(O_PATH)", futimens(p, NULL));
    R("ioctl(O_PATH, FIONREAD)", ioctl(p, FIONREAD, buf));
    R("mmap(O_PATH)", mmap(0, 4096, PROT_READ, MAP_PRIVATE, p, 0) == MAP_FAILED ? -1 : 0);
    R("fstat(O_PATH)", fstat(p, &sb));
    R("fstatat(O_PATH, \"\", AT_EMPTY_PATH)", fstatat(p, "", &sb, AT_EMPTY_PATH));
    R("F_GETFL(O_PATH) keeps O_PATH only", fcntl(p, F_GETFL) == O_PATH);
    R("F_SETFD(O_PATH)", fcntl(p, F_SETFD, FD_CLOEXEC));
    R("F_GETFD(O_PATH)", fcntl(p, F_GETFD));
    R("F_SETFL(O_PATH)", fcntl(p, F_SETFL, O_NONBLOCK));
    R("dup(O_PATH)", dup(p) >= 0);
    R("fchdir(O_PATH file)", fchdir(p));
    printf("poll(O_PATH) revents %#x\n", pollrev(p, POLLIN));
    mkdir("d", 0755);
    int d = open("d", O_PATH | O_DIRECTORY);
    R("F_GETFL(O_PATH|O_DIRECTORY)", fcntl(d, F_GETFL) == (O_PATH | O_DIRECTORY));
    R("openat(O_PATH dir, x, O_CREAT)", openat(d, "x", O_CREAT | O_WRONLY, 0600) >= 0);
    R("getdents64(O_PATH dir)", syscall(SYS_getdents64, d, buf, sizeof buf));
    R("fchdir(O_PATH dir)", fchdir(d));
    R("access(x) in it", access("x", F_OK));
    return 0;
}
