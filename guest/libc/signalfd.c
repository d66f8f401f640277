/* libc/signalfd: signals read from a file. Blocked signals of the mask come as
   signalfd_siginfo records instead of being delivered: kill's SIGUSR1 (si_pid, si_code),
   a child's SIGCHLD (status, pid) through a blocking read, several at once, poll and
   epoll on it, a new mask, and signalfd's errors. The same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void result(const char *what, long r)
{
    printf("%-44s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int quick = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    struct signalfd_siginfo info[2];
    result("read with nothing pending (non-blocking)", read(quick, info, sizeof info));
    kill(getpid(), SIGUSR1);
    struct pollfd p = {quick, POLLIN, 0};
    result("poll after kill(SIGUSR1)", poll(&p, 1, 0));
    result("read", read(quick, info, sizeof info));
    printf("  ssi_signo %u, ssi_code %d, ssi_pid is mine %s\n", info[0].ssi_signo, info[0].ssi_code,
           info[0].ssi_pid == (unsigned)getpid() ? "yes" : "no");
    result("read into 100 bytes", read(quick, info, 100));

    int waiting = signalfd(-1, &mask, 0);
    pid_t child = fork();
    if (child == 0)
        _exit(5);
    result("blocking read until the child exits", read(waiting, info, sizeof info));
    printf("  ssi_signo %u (SIGCHLD), ssi_code %d (CLD_EXITED), ssi_status %d, ssi_pid is the child %s\n",
           info[0].ssi_signo, info[0].ssi_code, info[0].ssi_status, info[0].ssi_pid == (unsigned)child ? "yes" : "no");
    waitpid(child, NULL, 0);

    kill(getpid(), SIGUSR1);
    child = fork();
    if (child == 0)
        _exit(0);
    siginfo_t exited;
    waitid(P_PID, child, &exited, WEXITED | WNOWAIT);     /* a zombie now, not reaped */
    result("two pending: one read of two records", read(quick, info, sizeof info));
    printf("  signals %u and %u; waitid(WNOWAIT) saw pid %s exit with %d\n", info[0].ssi_signo, info[1].ssi_signo,
           exited.si_pid == child ? "the child's" : "another", exited.si_status);
    waitpid(child, NULL, 0);

    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 3}};
    epoll_ctl(ep, EPOLL_CTL_ADD, quick, &ev);
    kill(getpid(), SIGUSR1);
    result("epoll_wait on it after kill", epoll_wait(ep, &ev, 1, 1000));
    read(quick, info, sizeof info);

    sigset_t only_chld;
    sigemptyset(&only_chld);
    sigaddset(&only_chld, SIGCHLD);
    result("a new mask for the same fd", signalfd(quick, &only_chld, 0) == quick);
    kill(getpid(), SIGUSR1);
    result("read: SIGUSR1 is not in the mask now", read(quick, info, sizeof info));
    sigset_t pending;
    sigpending(&pending);
    printf("  SIGUSR1 still pending: %s\n", sigismember(&pending, SIGUSR1) ? "yes" : "no");

    /* waitid, which the test above leans on */
    int hold[2];
    pipe(hold);
    child = fork();
    if (child == 0) {
        char byte;
        close(hold[1]);
        read(hold[0], &byte, 1);                 /* until the parent has asked */
        _exit(0);
    }
    siginfo_t si;
    si.si_pid = 12345;
    result("waitid WNOHANG, the child still running", waitid(P_PID, child, &si, WEXITED | WNOHANG));
    printf("  si_pid %d\n", si.si_pid);
    close(hold[1]);
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    kill(child, SIGTERM);
    result("waitid P_PID for a child killed by SIGTERM", waitid(P_PID, child, &si, WEXITED));
    printf("  si_signo %d, si_code %d (CLD_KILLED), si_status %d\n", si.si_signo, si.si_code, si.si_status);
    result("waitid P_ALL: the first child", waitid(P_ALL, 0, &si, WEXITED));
    printf("  si_code %d (CLD_EXITED), si_status %d\n", si.si_code, si.si_status);
    result("waitid without WEXITED (or STOPPED, CONTINUED)", waitid(P_ALL, 0, &si, WNOHANG));
    result("waitid P_PID 0", waitid(P_PID, 0, &si, WEXITED));
    result("waitid with no children", waitid(P_ALL, 0, &si, WEXITED));

    int pipe_fds[2];
    pipe(pipe_fds);
    result("signalfd on a pipe's fd", signalfd(pipe_fds[0], &mask, 0));
    result("signalfd with sizemask 4", syscall(289, -1, &mask, 4, 0));
    result("signalfd with bad flags", signalfd(-1, &mask, 1));
    return 0;
}
