/* fs_pipe: pipes in one process: write then read, EOF, O_NONBLOCK, capacity, atomicity, errno values. */
#include "rt.h"

static char big[100000];

int main(void)
{
    int fds[2];
    char buf[64];
    struct stat st;
    ok(sys_pipe(fds) == 0 && fds[0] == 3 && fds[1] == 4, "pipe gives fds 3 and 4");
    ok(sys_write(fds[1], "hello", 5) == 5, "write 5 bytes");
    ok(sys_ioctl(fds[0], FIONREAD, buf) == 0 && *(int *)buf == 5, "FIONREAD says 5");
    ok(sys_read(fds[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0, "read the first 3");
    ok(sys_read(fds[0], buf, 64) == 2 && memcmp(buf, "lo", 2) == 0, "a read returns what is there");
    ok(sys_read(fds[0], buf, 0) == 0, "a read of 0 bytes is 0");
    ok(sys_write(fds[0], "x", 1) == -9, "write to the read end is -EBADF");
    ok(sys_read(fds[1], buf, 1) == -9, "read from the write end is -EBADF");
    ok(sys_lseek(fds[0], 0, SEEK_SET) == -29, "lseek on a pipe is -ESPIPE");
    ok(sys_lseek(fds[0], 0, 99) == -22, "lseek with a bad whence is -EINVAL first");
    ok(sys_pread64(fds[0], buf, 1, 0) == -29, "pread on a pipe is -ESPIPE");
    ok(sys_fstat(fds[0], &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO, "fstat: S_IFIFO");
    ok((st.st_mode & 07777) == 0600 && st.st_size == 0 && st.st_nlink == 1, "mode 0600, size 0, one link");
    ok(sys_fcntl(fds[0], F_GETFL, 0) == O_RDONLY && sys_fcntl(fds[1], F_GETFL, 0) == O_WRONLY,
       "F_GETFL: O_RDONLY and O_WRONLY, no O_LARGEFILE");
    ok(sys_ioctl(fds[0], TCGETS, buf) == -25, "TCGETS on a pipe is -ENOTTY");

    struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    ok(sys_writev(fds[1], out, 3) == 6, "writev gathers 6 bytes");
    char x[2], y[10];
    struct iovec in[2] = {{x, 2}, {y, 10}};
    ok(sys_readv(fds[0], in, 2) == 6 && memcmp(x, "ab", 2) == 0 && memcmp(y, "cdef", 4) == 0, "readv scatters them");
    ok(sys_writev(fds[1], out, -1) == -22, "writev with iovcnt -1 is -EINVAL");
    ok(sys_writev(fds[1], out, 1025) == -22, "writev with iovcnt > IOV_MAX is -EINVAL");
    ok(sys_writev(fds[1], (void *)0x10, 1) == -14, "writev with a bad iovec is -EFAULT");
    ok(sys_write(fds[1], (void *)0x10, 1) == -14, "write from a bad buffer is -EFAULT");
    ok(sys_write(fds[1], "z", 1) == 1 && sys_read(fds[0], (void *)0x10, 1) == -14, "read into a bad buffer is -EFAULT");
    ok(sys_read(fds[0], buf, 1) == 1 && buf[0] == 'z', "and the byte is still in the pipe");

    ok(sys_close(fds[1]) == 0, "close the write end");
    ok(sys_read(fds[0], buf, 1) == 0, "no writers and empty: EOF");
    ok(sys_close(fds[0]) == 0, "close the read end");

    ok(sys_pipe((void *)0x10) == -14, "pipe into a bad pointer is -EFAULT");
    ok(sys_dup(0) == 3, "and leaves no fds behind");
    sys_close(3);
    ok(sys_pipe2(fds, O_APPEND) == -22, "pipe2 with a bad flag is -EINVAL");
    ok(sys_pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2(O_NONBLOCK | O_CLOEXEC)");
    ok(sys_fcntl(fds[0], F_GETFD, 0) == FD_CLOEXEC && sys_fcntl(fds[1], F_GETFD, 0) == FD_CLOEXEC, "both close-on-exec");
    ok(sys_fcntl(fds[0], F_GETFL, 0) == O_NONBLOCK, "O_NONBLOCK shows in F_GETFL");
    ok(sys_read(fds[0], buf, 1) == -11, "empty and non-blocking: -EAGAIN");
    ok(sys_write(fds[1], big, sizeof big) == 65536, "a big non-blocking write fills the 64 KiB pipe");
    ok(sys_write(fds[1], big, 1) == -11, "a full pipe: -EAGAIN");
    ok(sys_read(fds[0], big, 4096) == 4096, "read one page");
    ok(sys_write(fds[1], big, 4097) == 4096, "a write over PIPE_BUF may be partial");
    ok(sys_read(fds[0], big, 100) == 100, "read 100 bytes");
    ok(sys_write(fds[1], big, 101) == -11, "a write up to PIPE_BUF is atomic: all or -EAGAIN");
    int total = 0, n;
    while ((n = sys_read(fds[0], big, sizeof big)) > 0)
        total += n;
    ok(total == 65436 && n == -11, "65436 bytes left to read, then -EAGAIN");
    ok(sys_fcntl(fds[0], F_SETFL, 0) == 0 && sys_fcntl(fds[0], F_GETFL, 0) == O_RDONLY, "F_SETFL clears O_NONBLOCK");
    return done_testing();
}
