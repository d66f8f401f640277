/* libc/rlimit: resource limits and sysinfo. RLIMIT_NOFILE lowered to 64 makes the 65th
   fd EMFILE (and dup2 past it EBADF, F_DUPFD EINVAL); a fork child inherits the limits;
   prlimit sets another process's; setrlimit's errors. sysinfo's figures differ from
   the host's, so only what must hold of them is printed. The same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

static void result(const char *what, long r)
{
    printf("%-48s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit lim = {64, 64}, got;
    for (int fd = 3; fd < 4096; fd++)       /* nothing the parent left open counts */
        close(fd);
    result("setrlimit(NOFILE, 64/64)", setrlimit(RLIMIT_NOFILE, &lim));
    getrlimit(RLIMIT_NOFILE, &got);
    printf("getrlimit(NOFILE): %lu %lu\n", (unsigned long)got.rlim_cur, (unsigned long)got.rlim_max);
    int opened = 0, last = 0;
    while ((last = open("/dev/null", O_RDONLY)) >= 0)
        opened++;
    printf("opened %d more fds, then %s\n", opened, strerrorname_np(errno));
    errno = 0;
    result("dup2(0, 64)", dup2(0, 64));
    result("fcntl(0, F_DUPFD, 64)", fcntl(0, F_DUPFD, 64));
    for (int fd = 3; fd < 64; fd++)
        close(fd);
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        getrlimit(RLIMIT_NOFILE, &got);
        printf("a fork child's NOFILE: %lu %lu\n", (unsigned long)got.rlim_cur, (unsigned long)got.rlim_max);
        fflush(stdout);
        write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char byte;
    read(ready[0], &byte, 1);
    struct rlimit smaller = {32, 48}, before;
    result("prlimit(child, NOFILE, 32/48)", prlimit(child, RLIMIT_NOFILE, &smaller, &before));
    printf("  its old limit: %lu %lu\n", (unsigned long)before.rlim_cur, (unsigned long)before.rlim_max);
    prlimit(child, RLIMIT_NOFILE, NULL, &got);
    printf("  now: %lu %lu\n", (unsigned long)got.rlim_cur, (unsigned long)got.rlim_max);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    lim = (struct rlimit){100, 50};
    result("setrlimit soft above hard", setrlimit(RLIMIT_NOFILE, &lim));
    lim = (struct rlimit){16, 16};
    result("setrlimit of resource 99", syscall(SYS_prlimit64, 0, 99, &lim, NULL));
    result("prlimit of no such process", prlimit(999999, RLIMIT_NOFILE, NULL, &got));
    getrlimit(RLIMIT_STACK, &got);
    printf("RLIMIT_STACK soft limit is a whole number of pages: %s\n", got.rlim_cur % 4096 == 0 ? "yes" : "no");

    struct sysinfo info;
    result("sysinfo", sysinfo(&info));
    printf("uptime > 0 %s, totalram >= freeram > 0 %s, procs >= 1 %s, mem_unit %u\n", info.uptime > 0 ? "yes" : "no",
           info.totalram >= info.freeram && info.freeram > 0 ? "yes" : "no", info.procs >= 1 ? "yes" : "no", info.mem_unit);
    result("sysinfo(NULL)", syscall(SYS_sysinfo, NULL));
    return 0;
}
