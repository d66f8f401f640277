/* libc/kmem_exhaust: kernel buffers come out of the machine's memory. Under a small
   --memory, socket pairs with full queues, then pipes of 1 MiB filled, then epoll
   watches, until the kernel says no: the call fails with ENOMEM / ENOBUFS / ENFILE /
   ENOSPC (or EMFILE at the fd limit), and the process goes on. Each round is run twice,
   the second after closing everything, and must get about as far: the memory came
   back. Run under emu (natively the host's RAM is far larger: argv[1] caps the rounds). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 20000
static int fds[MAX_FDS];
static char chunk[65536];
static long cap = MAX_FDS;

static const char *stopped(int error)
{
    return error ? strerrorname_np(error) : "the cap";
}

/* Socket pairs, each filled one way until EAGAIN; returns how many, *error why it stopped. */
static int socket_round(int *error, long *queued)
{
    int n = 0;
    *error = 0;
    *queued = 0;
    while (2 * n + 2 <= cap) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
            *error = errno;
            break;
        }
        fds[2 * n] = sv[0], fds[2 * n + 1] = sv[1];
        n++;
        long r;
        while ((r = send(sv[0], chunk, sizeof chunk, 0)) > 0)
            *queued += r;
        if (errno != EAGAIN) {
            *error = errno;
            break;
        }
    }
    for (int i = 0; i < 2 * n; i++)
        close(fds[i]);
    return n;
}

static int pipe_round(int *error, long *queued)
{
    int n = 0;
    *error = 0;
    *queued = 0;
    while (2 * n + 2 <= cap) {
        int p[2];
        if (pipe2(p, O_NONBLOCK) < 0) {
            *error = errno;
            break;
        }
        fds[2 * n] = p[0], fds[2 * n + 1] = p[1];
        n++;
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        long r;
        while ((r = write(p[1], chunk, sizeof chunk)) > 0)
            *queued += r;
        if (errno != EAGAIN) {
            *error = errno;
            break;
        }
    }
    for (int i = 0; i < 2 * n; i++)
        close(fds[i]);
    return n;
}

/* epoll instances each watching the same 100 eventfd-like pipes, until ENOSPC. */
static int epoll_round(int *error)
{
    int p[100][2], watches = 0, epolls = 0;
    *error = 0;
    for (int i = 0; i < 50; i++)
        pipe(p[i]);
    while (epolls < 1000 && !*error) {
        int ep = epoll_create1(0);
        if (ep < 0) {
            *error = errno;
            break;
        }
        fds[epolls++] = ep;
        for (int i = 0; i < 50; i++)
            for (int end = 0; end < 2; end++) {
                struct epoll_event ev = {.events = EPOLLIN};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, p[i][end], &ev) < 0) {
                    *error = errno;
                    goto out;
                }
                watches++;
            }
    }
out:
    for (int i = 0; i < epolls; i++)
        close(fds[i]);
    for (int i = 0; i < 50; i++)
        close(p[i][0]), close(p[i][1]);
    return watches;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        cap = atol(argv[1]);
    memset(fds, 0, sizeof fds);            /* touched now: no page to find later */
    struct rlimit lim = {MAX_FDS + 100, MAX_FDS + 100};
    setrlimit(RLIMIT_NOFILE, &lim);
    int error[2], n[2];
    long queued[2];
    for (int round = 0; round < 2; round++)
        n[round] = socket_round(&error[round], &queued[round]);
    printf("socket pairs: %s, then %s; second round %s\n", stopped(error[0]), stopped(error[1]),
           n[1] * 10 >= n[0] * 9 ? "as far" : "much shorter");
    fprintf(stderr, "socket pairs %d %d, %ld %ld bytes queued\n", n[0], n[1], queued[0], queued[1]);
    for (int round = 0; round < 2; round++)
        n[round] = pipe_round(&error[round], &queued[round]);
    printf("pipes: %s, then %s; second round %s\n", stopped(error[0]), stopped(error[1]),
           n[1] * 10 >= n[0] * 9 ? "as far" : "much shorter");
    fprintf(stderr, "pipes %d %d, %ld %ld bytes queued\n", n[0], n[1], queued[0], queued[1]);
    for (int round = 0; round < 2; round++)
        n[round] = epoll_round(&error[round]);
    printf("epoll watches: %s, then %s; second round %s\n", stopped(error[0]), stopped(error[1]),
           n[1] == n[0] ? "as far" : "different");
    fprintf(stderr, "epoll watches %d %d\n", n[0], n[1]);
    char *memory = malloc(16 << 20);       /* and the memory is the program's again */
    memset(memory, 1, 16 << 20);
    printf("16 MiB malloc'd and touched after all that\n");
    return 0;
}
