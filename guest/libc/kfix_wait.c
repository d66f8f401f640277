/* libc/kfix_wait: waitid and wait4 with bad user pointers (EFAULT, and whether the child
   is reaped all the same), waitid's partial siginfo write, and clone's exit signals
   outside 1..64 (legacy clone takes them and sends nothing; clone3 refuses them). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((void *)0x10)

static const char *result(long ret)
{
    static char text[64];
    if (ret < 0)
        snprintf(text, sizeof text, "-1 %s", strerrorname_np(errno));
    else
        snprintf(text, sizeof text, "%s", ret ? "a pid" : "0");
    return text;
}

static long sys_waitid(int idtype, int id, void *info, int options, void *ru)
{
    return syscall(SYS_waitid, idtype, id, info, options, ru);
}

static pid_t child_that_waits(int fds[2])
{
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(fds[1]);
        read(fds[0], &c, 1);
        _exit(3);
    }
    close(fds[0]);
    return pid;
}

static pid_t zombie(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(5);
    siginfo_t info;
    waitid(P_PID, pid, &info, WEXITED | WNOWAIT);    /* now it is a zombie */
    return pid;
}

static void after(const char *what, pid_t pid)
{
    errno = 0;
    long ret = waitpid(pid, NULL, WNOHANG);
    printf("  then waitpid: %s (%s)\n", ret == pid ? "the child" : result(ret), what);
}

static void waitid_cases(void)
{
    int fds[2];
    pid_t pid = child_that_waits(fds);
    printf("waitid WSTOPPED|WNOHANG, bad infop, live child: %s\n", result(sys_waitid(P_ALL, 0, BAD, WSTOPPED | WNOHANG, NULL)));
    printf("waitid WEXITED|WNOHANG, bad infop, live child: %s\n", result(sys_waitid(P_ALL, 0, BAD, WEXITED | WNOHANG, NULL)));
    printf("waitid WEXITED|WNOHANG, kernel infop, live child: %s\n",
           result(sys_waitid(P_ALL, 0, (void *)0xffffffffff600000ul, WEXITED | WNOHANG, NULL)));
    printf("waitid bad options, bad infop: %s\n", result(sys_waitid(P_ALL, 0, BAD, 0, NULL)));
    printf("waitid P_PID of a stranger, bad infop: %s\n", result(sys_waitid(P_PID, 1, BAD, WEXITED | WNOHANG, NULL)));

    /* the siginfo is written field by field: 28 bytes before an unmapped page will do */
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    memset(page, 0x55, 4096);
    printf("waitid WNOHANG, siginfo in the last 28 bytes of a page: %s\n",
           result(sys_waitid(P_ALL, 0, page + 4096 - 28, WEXITED | WNOHANG, NULL)));
    siginfo_t *info = (void *)(page + 1024);
    printf("waitid WNOHANG, siginfo written: %s",
           result(sys_waitid(P_ALL, 0, info, WEXITED | WNOHANG, NULL)));
    printf(", bytes 0..28 zero: %s, byte 12..16 and 28.. kept: %s\n",
           !memcmp((char *)info, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) && !memcmp((char *)info + 16, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) ? "yes" : "no",
           ((unsigned char *)info)[12] == 0x55 && ((unsigned char *)info)[28] == 0x55 && ((unsigned char *)info)[127] == 0x55 ? "yes" : "no");
    close(fds[1]);
    waitpid(pid, NULL, 0);

    printf("waitid WEXITED, bad infop, no children: %s\n", result(sys_waitid(P_ALL, 0, BAD, WEXITED, NULL)));
    pid = zombie();
    printf("waitid WEXITED, bad infop, a zombie: %s\n", result(sys_waitid(P_ALL, 0, BAD, WEXITED, NULL)));
    after("reaped by the failed waitid?", pid);
    pid = zombie();
    printf("waitid WEXITED, bad rusage, a zombie: %s\n", result(sys_waitid(P_ALL, 0, NULL, WEXITED, BAD)));
    after("reaped by the failed waitid?", pid);
}

static void wait4_cases(void)
{
    pid_t pid = zombie();
    printf("wait4, bad status, a zombie: %s\n", result(wait4(-1, BAD, 0, NULL)));
    after("reaped by the failed wait4?", pid);
    pid = zombie();
    printf("wait4, bad rusage, a zombie: %s\n", result(wait4(-1, NULL, 0, BAD)));
    after("reaped by the failed wait4?", pid);
    int fds[2];
    pid = child_that_waits(fds);
    printf("wait4 WNOHANG, bad status, live child: %s\n", result(wait4(-1, BAD, WNOHANG, NULL)));
    close(fds[1]);
    waitpid(pid, NULL, 0);
}

static volatile sig_atomic_t got_signal;

static void note(int sig)
{
    got_signal = sig;
}

static void clone_exit_signal(unsigned sig)
{
    got_signal = 0;
    errno = 0;
    long pid = syscall(SYS_clone, (unsigned long)sig, 0, 0, 0, 0);
    if (pid == 0)
        _exit(7);
    if (pid < 0) {
        printf("clone exit signal %#x: %s\n", sig, result(pid));
        return;
    }
    int status = 0;
    long plain = waitpid(pid, &status, WNOHANG);
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
        ;
    printf("clone exit signal %#x: the parent lives, got signal %d, plain waitpid %s, exit %d\n",
           sig, got_signal, plain == 0 ? "waits" : result(plain), WEXITSTATUS(status));
}

static void clone3_exit_signal(unsigned long sig)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = sig;
    errno = 0;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        _exit(7);
    printf("clone3 exit signal %#lx: %s\n", sig, result(pid));
    if (pid > 0)
        waitpid(pid, NULL, __WALL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    waitid_cases();
    wait4_cases();
    for (int sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, note);
    unsigned legacy[] = {0, SIGUSR1, 64, 65, 0x7f, 0x80, 0xc7, 0xff};
    for (unsigned i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
        clone_exit_signal(legacy[i]);
    unsigned long modern[] = {0, SIGUSR1, 64, 65, 0xc7, 0x100, 1ul << 32};
    for (unsigned i = 0; i < sizeof modern / sizeof modern[0]; i++)
        clone3_exit_signal(modern[i]);
    return 0;
}
