/* fuzz_exhaust: use up one kernel resource until the kernel says no, for `make fuzz`.

       fuzz_exhaust.elf CASE [N]

   Every case ends with one line "fuzz_exhaust CASE: N <what> then <errno name>" and
   status 0 when the kernel refused with an errno, or is ended by a signal (stack, a
   huge page the pool cannot give); what it must never do is take the emulator down.
   N bounds the attempts (default: enough to pass --memory 64M several times over).

   fds      open /dev/null until EMFILE (RLIMIT_NOFILE's soft limit)
   fds_max  raise RLIMIT_NOFILE to nr_open (2^20), then eventfds until EMFILE/ENFILE/ENOMEM
   pipes    pipes, each filled until EAGAIN, until pipe() fails (soft limit raised)
   sockets  socket pairs, each filled until EAGAIN, until socketpair() fails
   threads  threads that sleep, until pthread_create fails
   forks    children that wait on a pipe, until fork fails (threads-max, memory);
            forks N M first writes M MiB, which every child maps copy-on-write
   mmap     1 MiB anonymous mappings, each written, until mmap fails or the OOM kill
   vmas     4 KiB mappings with alternating protections (no merging) until ENOMEM
   hugetlb  MAP_HUGETLB 2 MiB mappings, each written, until mmap fails (or SIGBUS)
   stack    unbounded recursion: SIGSEGV at RLIMIT_STACK
   argv     execve of itself with N MiB of arguments: E2BIG */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *what;

static int report(long n, const char *unit, int err)
{
    printf("fuzz_exhaust %s: %ld %s then %s\n", what, n, unit, err ? strerrorname_np(err) : "no error");
    fflush(stdout);
    return 0;
}

/* The soft limit up to the hard one; with `to_nr_open`, both up to fs.nr_open's default
   (2^20), which root may do (else the hard limit stays). */
static void raise_nofile(int to_nr_open)
{
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    if (to_nr_open) {
        struct rlimit wide = { 1 << 20, 1 << 20 };
        if (setrlimit(RLIMIT_NOFILE, &wide) == 0)
            return;
    }
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
}

static int fill(int fd)
{
    static char block[65536];
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (write(fd, block, sizeof block) > 0)
        ;
    return errno;
}

static int exhaust_fds(long n, int max)
{
    long i;
    if (max)
        raise_nofile(1);
    for (i = 0; i < n; i++)
        if ((max ? eventfd(0, 0) : open("/dev/null", O_RDONLY)) < 0)
            return report(i, "fds", errno);
    return report(i, "fds", 0);
}

static int exhaust_pairs(long n, int sockets)
{
    long i;
    int pair[2];
    raise_nofile(0);
    for (i = 0; i < n; i++) {
        if ((sockets ? socketpair(AF_UNIX, SOCK_STREAM, 0, pair) : pipe(pair)) < 0)
            return report(i, sockets ? "full socket pairs" : "full pipes", errno);
        int err = fill(sockets ? pair[0] : pair[1]);
        if (err != EAGAIN)
            return report(i, sockets ? "full socket pairs, a write" : "full pipes, a write", err);
    }
    return report(i, sockets ? "full socket pairs" : "full pipes", 0);
}

static void *sleeper(void *arg) { (void)arg; for (;;) pause(); return NULL; }

static int exhaust_threads(long n)
{
    long i;
    pthread_t t;
    for (i = 0; i < n; i++) {
        int err = pthread_create(&t, NULL, sleeper, NULL);
        if (err)
            return report(i, "threads", err);
    }
    return report(i, "threads", 0);
}

static int exhaust_forks(long n, long touch_mib)
{
    long i;
    int gate[2];
    char *held = touch_mib ? malloc(touch_mib << 20) : NULL;   /* copied on write by every fork */
    if (held)
        memset(held, 1, touch_mib << 20);
    if (pipe(gate) < 0)
        return report(0, "children", errno);
    for (i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            char byte;
            close(gate[1]);
            read(gate[0], &byte, 1);        /* EOF when the parent is gone */
            _exit(0);
        }
    }
    int err = i < n ? errno : 0;
    report(i, "children", err);
    close(gate[1]);
    while (wait(NULL) > 0)
        ;
    return 0;
}

static int exhaust_mmap(long n, int huge)
{
    long i;
    size_t size = huge ? 2 << 20 : 1 << 20;
    for (i = 0; i < n; i++) {
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | (huge ? MAP_HUGETLB : 0), -1, 0);
        if (p == MAP_FAILED)
            return report(i, huge ? "huge pages" : "MiB", errno);
        for (size_t off = 0; off < size; off += 4096)
            p[off] = 1;
    }
    return report(i, huge ? "huge pages" : "MiB", 0);
}

static int exhaust_vmas(long n)
{
    long i;
    for (i = 0; i < n; i++)
        if (mmap(NULL, 4096, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
            return report(i, "mappings", errno);
    return report(i, "mappings", 0);
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static long deep(long depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    return deep(depth + 1) + frame[0];
}

static int exhaust_argv(long mib)
{
    long count = mib * 1024 * 1024 / 64;
    char **argv = malloc((count + 3) * sizeof *argv);
    char *arg = malloc(64);
    memset(arg, 'x', 63);
    arg[63] = 0;
    argv[0] = "fuzz_exhaust.elf";
    for (long i = 1; i <= count; i++)
        argv[i] = arg;
    argv[count + 1] = NULL;
    execv("/proc/self/exe", argv);
    return report(mib, "MiB of arguments", errno);
}

int main(int argc, char **argv)
{
    what = argc > 1 ? argv[1] : "";
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (argc == 2 && !strcmp(argv[1], "fuzz_exhaust.elf"))   /* argv's execve worked: not expected */
        return report(0, "MiB of arguments", 0);
    if (!strcmp(what, "fds"))     return exhaust_fds(n ? n : 1 << 20, 0);
    if (!strcmp(what, "fds_max")) return exhaust_fds(n ? n : 1 << 20, 1);
    if (!strcmp(what, "pipes"))   return exhaust_pairs(n ? n : 1 << 16, 0);
    if (!strcmp(what, "sockets")) return exhaust_pairs(n ? n : 1 << 16, 1);
    if (!strcmp(what, "threads")) return exhaust_threads(n ? n : 1 << 16);
    if (!strcmp(what, "forks"))   return exhaust_forks(n ? n : 1 << 16, argc > 3 ? atol(argv[3]) : 0);
    if (!strcmp(what, "mmap"))    return exhaust_mmap(n ? n : 1 << 12, 0);
    if (!strcmp(what, "vmas"))    return exhaust_vmas(n ? n : 1 << 18);
    if (!strcmp(what, "hugetlb")) return exhaust_mmap(n ? n : 1 << 10, 1);
    if (!strcmp(what, "stack"))   { signal(SIGSEGV, SIG_DFL); return (int)deep(0); }
    if (!strcmp(what, "argv"))    return exhaust_argv(n ? n : 4);
    fprintf(stderr, "usage: fuzz_exhaust.elf fds|fds_max|pipes|sockets|threads|forks|mmap|vmas|hugetlb|stack|argv [N]\n");
    return 2;
}
