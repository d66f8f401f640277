/* libc/kmem_limits: Linux's buffer limits as a program sees them. How many sends of each
   size fit in a unix socket pair (each send is an skb whose truesize counts against
   SO_SNDBUF, 212992: 278 one-byte messages), with the default and a small SO_SNDBUF;
   F_GETPIPE_SZ and F_SETPIPE_SZ's rounding, EPERM past pipe-max-size, EINVAL, EBUSY,
   EBADF on a non-pipe; how much a pipe of each size holds. The same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static char buffer[1 << 20];

static void fill(int type, int size, int sndbuf)
{
    int sv[2];
    socketpair(AF_UNIX, type, 0, sv);
    if (sndbuf)
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    long sends = 0, bytes = 0, r;
    while ((r = send(sv[0], buffer, size, 0)) > 0)
        sends++, bytes += r;
    printf("%s %7d bytes, sndbuf %6d: %4ld sends, %7ld bytes, then %s\n", type == SOCK_STREAM ? "stream" : "dgram ",
           size, sndbuf, sends, bytes, strerrorname_np(errno));
    close(sv[0]);
    close(sv[1]);
}

static void result(const char *what, long r)
{
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int sizes[] = {1, 100, 200, 500, 1000, 2000, 4000, 5000, 8000, 16000, 65536, 1 << 20};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        fill(SOCK_STREAM, sizes[i], 0);
        fill(SOCK_DGRAM, sizes[i], 0);
        fill(SOCK_SEQPACKET, sizes[i], 0);
    }
    fill(SOCK_STREAM, 1000, 4096);
    fill(SOCK_DGRAM, 1000, 4096);
    fill(SOCK_STREAM, 65536, 50000);

    int p[2];
    pipe(p);
    result("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    long sizes_set[] = {0, 1, 4096, 4097, 65536, 100000, 1048576, 1048577, 1L << 31, (1L << 31) + 1, 1L << 32, -1};
    for (unsigned i = 0; i < sizeof sizes_set / sizeof *sizes_set; i++) {
        char what[64];
        snprintf(what, sizeof what, "F_SETPIPE_SZ %ld", sizes_set[i]);
        result(what, fcntl(p[1], F_SETPIPE_SZ, sizes_set[i]));
        result("  then F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    }
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    result("F_SETPIPE_SZ on a socket", fcntl(sv[0], F_SETPIPE_SZ, 4096));
    result("F_GETPIPE_SZ on a socket", fcntl(sv[0], F_GETPIPE_SZ));
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    long pipe_sizes[] = {4096, 65536, 1048576};
    for (unsigned i = 0; i < 3; i++) {
        fcntl(p[1], F_SETPIPE_SZ, pipe_sizes[i]);
        long held = 0, r;
        while ((r = write(p[1], buffer, 1000)) > 0)
            held += r;
        printf("pipe of %7ld holds %7ld bytes in writes of 1000, then %s\n", pipe_sizes[i], held, strerrorname_np(errno));
        result("  shrinking it to a page", fcntl(p[1], F_SETPIPE_SZ, 4096));
        while (read(p[0], buffer, sizeof buffer) > 0 && fcntl(p[0], F_GETFL) >= 0) {
            int queued;
            ioctl(p[0], FIONREAD, &queued);
            if (!queued)
                break;
        }
    }
    return 0;
}
