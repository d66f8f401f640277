/* libc/fd_lowest: 18 000 fds (RLIMIT_NOFILE raised to its hard limit: 20 000: this
   host's hard limit, and a raise past it is EPERM without CAP_SYS_RESOURCE), then closes picked by a fixed
   random sequence; every dup, F_DUPFD(min) and eventfd must return the lowest free fd
   (at or above min), checked against the program's own map. Also setrlimit above
   nr_open (EPERM) and dup2 / F_DUPFD at the limit. The same natively. (200 000 fds are
   tests/test_kmem.py's, counted in probes.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#define N 18000
#define LIMIT 20000
static unsigned char used[1 << 20];
static unsigned long seed = 12345;

static unsigned long next_random(void)
{
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    return seed >> 33;
}

static int lowest_from(int start)
{
    while (used[start])
        start++;
    return start;
}

static void result(const char *what, long r)
{
    printf("%-44s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit over = {1048577, 1048577};
    result("setrlimit(NOFILE, nr_open + 1)", setrlimit(RLIMIT_NOFILE, &over));
    struct rlimit want = {LIMIT, LIMIT};  /* (a hard limit may always be lowered; emu's guest may raise it) */
    result("setrlimit(NOFILE, 20000/20000)", setrlimit(RLIMIT_NOFILE, &want));
    int limit = LIMIT;
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    used[0] = used[1] = used[2] = 1;
    int wrong = 0, high = 0;
    for (int i = 3; i < N; i++) {
        int fd = i % 1000 == 0 ? eventfd(0, 0) : dup(0);
        wrong += fd != lowest_from(0);
        if (fd >= 0)
            used[fd] = 1;
        high = fd > high ? fd : high;
    }
    printf("%d fds opened, highest %d, wrong %d\n", N - 3, high, wrong);
    for (int round = 0; round < 2000; round++) {
        int fd = 3 + next_random() % (N - 3);
        if (used[fd]) {
            close(fd);
            used[fd] = 0;
        }
        if (round % 3 == 0) {
            int min = next_random() % N;
            int got_fd = fcntl(0, F_DUPFD, min);
            wrong += got_fd != lowest_from(min);
            if (got_fd >= 0)
                used[got_fd] = 1;
        } else if (round % 3 == 1) {
            int got_fd = dup(0);
            wrong += got_fd != lowest_from(0);
            if (got_fd >= 0)
                used[got_fd] = 1;
        }
    }
    printf("after random closes and dups: wrong %d\n", wrong);
    result("dup2(0, limit - 1)", dup2(0, limit - 1) == limit - 1);
    result("dup2(0, limit)", dup2(0, limit));
    result("fcntl(0, F_DUPFD, limit - 1) (taken)", fcntl(0, F_DUPFD, limit - 1));
    result("fcntl(0, F_DUPFD, limit)", fcntl(0, F_DUPFD, limit));
    struct rlimit low = {1000, limit};
    result("setrlimit(NOFILE, 1000) with fds above", setrlimit(RLIMIT_NOFILE, &low));
    result("dup(0) past the new limit", dup(0));
    return 0;
}
