/* fs_pipe_fork: a pipe between two processes: blocking reads and writes, EOF, shared offsets. */
#include "rt.h"

static char big[100000];

int main(void)
{
    int fds[2];
    ok(sys_pipe(fds) == 0, "pipe");
    long pid = sys_fork();
    if (pid == 0) {
        sys_close(fds[0]);
        for (int i = 0; i < (int)sizeof big; i++)
            big[i] = (char)i;
        /* More than the 64 KiB pipe holds: the writer waits for the reader. */
        long n = sys_write(fds[1], big, sizeof big);
        sys_exit(n == sizeof big ? 0 : 1);
    }
    sys_close(fds[1]);
    static char got[100000];
    long total = 0, n;
    while ((n = sys_read(fds[0], got + total, 7000)) > 0)
        total += n;
    ok(n == 0, "EOF once the writer has exited");
    int same = 1;
    for (long i = 0; i < total; i++)
        same &= got[i] == (char)i;
    ok(total == (long)sizeof big && same, "all 100000 bytes in order");
    int status = -1;
    ok(sys_wait4(pid, &status, 0, 0) == pid && status == 0, "the writer's whole write returned 100000");

    int fd = sys_open("/proc/meminfo", O_RDONLY, 0);
    pid = sys_fork();
    if (pid == 0) {
        char c[10];
        sys_exit(sys_read(fd, c, 10) == 10 ? 0 : 1);
    }
    sys_wait4(pid, &status, 0, 0);
    ok(status == 0, "the child read 10 bytes (status %d)", status);
    ok(sys_lseek(fd, 0, SEEK_CUR) == 10, "a forked child shares the file offset");
    return done_testing();
}
