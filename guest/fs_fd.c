/* fs_fd: the fd table: open, close, dup, dup2, dup3, fcntl, shared offsets, errno values. */
#include "rt.h"

#define BAD ((void *)0x10)

int main(void)
{
    char buf[64];
    int fd = sys_open("/proc/meminfo", O_RDONLY, 0);
    ok(fd == 3, "the first open gets the lowest free fd, 3 (got %d)", fd);
    ok(sys_read(fd, buf, 10) == 10, "read 10 bytes");
    int copy = sys_dup(fd);
    ok(copy == 4, "dup gives the next lowest fd");
    ok(sys_lseek(copy, 0, SEEK_CUR) == 10, "a dup shares the file offset");
    ok(sys_read(copy, buf, 5) == 5 && sys_lseek(fd, 0, SEEK_CUR) == 15, "reading one moves the other");
    ok(sys_fcntl(fd, F_GETFL, 0) == O_LARGEFILE, "F_GETFL shows O_RDONLY|O_LARGEFILE");
    ok(sys_fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND | O_WRONLY) == 0, "F_SETFL");
    ok(sys_fcntl(copy, F_GETFL, 0) == (O_LARGEFILE | O_NONBLOCK | O_APPEND),
       "F_SETFL changes the shared status flags, never the access mode");
    ok(sys_fcntl(fd, F_GETFD, 0) == 0, "FD_CLOEXEC is off by default");
    ok(sys_fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && sys_fcntl(fd, F_GETFD, 0) == FD_CLOEXEC, "F_SETFD sets FD_CLOEXEC");
    ok(sys_fcntl(copy, F_GETFD, 0) == 0, "FD_CLOEXEC belongs to the fd, not the file");
    ok(sys_fcntl(fd, F_DUPFD, 10) == 10, "F_DUPFD gives the lowest fd >= arg");
    ok(sys_fcntl(fd, F_DUPFD_CLOEXEC, 10) == 11, "F_DUPFD_CLOEXEC skips used fds");
    ok(sys_fcntl(11, F_GETFD, 0) == FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
    ok(sys_fcntl(10, F_GETFD, 0) == 0, "F_DUPFD clears FD_CLOEXEC");
    ok(sys_fcntl(fd, F_DUPFD, 1 << 20) == -22, "F_DUPFD beyond RLIMIT_NOFILE is -EINVAL");
    ok(sys_fcntl(fd, 9999, 0) == -22, "an unknown fcntl command is -EINVAL");
    ok(sys_fcntl(99, F_GETFD, 0) == -9, "fcntl on a closed fd is -EBADF");

    ok(sys_dup2(fd, 20) == 20, "dup2 to a chosen fd");
    ok(sys_fcntl(20, F_GETFD, 0) == 0, "dup2 clears FD_CLOEXEC");
    ok(sys_dup2(fd, fd) == fd, "dup2(fd, fd) returns fd");
    ok(sys_dup2(99, 5) == -9, "dup2 from a closed fd is -EBADF");
    ok(sys_dup2(99, 99) == -9, "dup2(bad, bad) is -EBADF");
    ok(sys_dup2(fd, -1) == -9, "dup2 to -1 is -EBADF");
    ok(sys_dup2(fd, 1 << 20) == -9, "dup2 beyond RLIMIT_NOFILE is -EBADF");
    ok(sys_dup3(fd, fd, 0) == -22, "dup3(fd, fd) is -EINVAL");
    ok(sys_dup3(fd, 21, O_NONBLOCK) == -22, "dup3 with a flag other than O_CLOEXEC is -EINVAL");
    ok(sys_dup3(fd, 21, O_CLOEXEC) == 21 && sys_fcntl(21, F_GETFD, 0) == FD_CLOEXEC, "dup3 with O_CLOEXEC");
    int z = sys_open("/dev/zero", O_RDONLY, 0);
    ok(sys_dup2(z, 20) == 20 && sys_read(20, buf, 4) == 4 && buf[0] == 0, "dup2 over an open fd closes it first");
    ok(sys_lseek(fd, 0, SEEK_CUR) == 15, "the file dup2 replaced is still open through fd");

    ok(sys_close(copy) == 0, "close");
    ok(sys_close(copy) == -9, "closing twice is -EBADF");
    ok(sys_close(-1) == -9, "close(-1) is -EBADF");
    ok(sys_read(copy, buf, 1) == -9, "read from a closed fd is -EBADF");
    ok(sys_dup(copy) == -9, "dup of a closed fd is -EBADF");
    ok(sys_dup(fd) == copy, "the freed fd is reused first");
    ok(sys_write(fd, "x", 1) == -9, "write to an O_RDONLY fd is -EBADF");
    int w = sys_open("/dev/null", O_WRONLY, 0);
    ok(sys_read(w, buf, 1) == -9, "read from an O_WRONLY fd is -EBADF");
    ok(sys_fcntl(w, F_GETFL, 0) == (O_WRONLY | O_LARGEFILE), "F_GETFL of O_WRONLY");
    int c = sys_open("/dev/null", O_RDWR | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
    ok(sys_fcntl(c, F_GETFD, 0) == FD_CLOEXEC, "open with O_CLOEXEC sets FD_CLOEXEC");
    ok(sys_fcntl(c, F_GETFL, 0) == (O_RDWR | O_LARGEFILE), "O_CLOEXEC, O_CREAT, O_TRUNC are not status flags");

    int last = 0, n;
    while ((n = sys_dup(0)) >= 0)
        last = n;
    ok(last == 1023, "fds go up to 1023 (RLIMIT_NOFILE 1024), got %d", last);
    ok(n == -24, "then dup is -EMFILE");
    ok(sys_open("/dev/null", O_RDONLY, 0) == -24, "and open is -EMFILE");
    for (int i = 100; i < 1024; i++)
        sys_close(i);
    ok(sys_dup(0) == 100, "after closing, fds are free again");
    return done_testing();
}
