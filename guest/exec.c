/* exec: execve. A forked child runs this same program again through /proc/self/exe and
   checks what crosses execve (argv, envp, fds without O_CLOEXEC, ignored signals) and what
   does not (its memory, O_CLOEXEC fds, handlers); then process 1 itself execs. With
   "exec PATH" it only tries to run PATH and prints execve's result. */
#include "rt.h"

#define SIGUSR1 10
#define SIGUSR2 12
#define SIG_IGN ((void *)1)
#define SA_RESTORER 0x04000000

struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};

void restorer(void);
asm(".text\n restorer: mov $15, %eax\n syscall\n");
static void on_usr1(int sig) { (void)sig; }

static int marker;                       /* 42 in the program that calls execve */

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static int after_exec(int argc, char **argv, char **envp)
{
    struct kernel_sigaction usr1, usr2;
    sys_rt_sigaction(SIGUSR1, 0, &usr1, 8);
    sys_rt_sigaction(SIGUSR2, 0, &usr2, 8);
    int failures = 0;
    failures += !(argc == 3 && same(argv[2], "two words"));
    failures += !(envp[0] && same(envp[0], "EMU_EXEC=1") && !envp[1]);
    failures += !(sys_fcntl(5, F_GETFD, 0) == -9);       /* O_CLOEXEC: closed (EBADF) */
    failures += !(sys_fcntl(6, F_GETFD, 0) == 0);        /* kept */
    failures += !(usr1.handler == 0 && usr2.handler == SIG_IGN);
    failures += !(marker == 0);                          /* a fresh image */
    rt_printf("after execve (%s): argv %d args, envp %s, fds %s, signals %s, memory %s\n", argv[1], argc,
              envp[0] ? envp[0] : "(none)", sys_fcntl(5, F_GETFD, 0) == -9 ? "5 closed 6 open" : "WRONG",
              usr1.handler == 0 && usr2.handler == SIG_IGN ? "SIG_DFL and SIG_IGN" : "WRONG",
              marker == 0 ? "fresh" : "OLD");
    return failures;
}

int main(int argc, char **argv, char **envp)
{
    if (argc > 1 && same(argv[1], "child"))
        return after_exec(argc, argv, envp) ? 1 : 0;
    if (argc > 1 && same(argv[1], "final"))
        return after_exec(argc, argv, envp) ? 1 : 3;     /* 3: process 1 ran the new image */
    char *no_env[] = {0};
    if (argc > 2 && same(argv[1], "exec")) {
        char *args[] = {argv[2], 0};
        rt_printf("execve %s: %ld\n", argv[2], sys_execve(argv[2], args, no_env));
        return 0;
    }

    marker = 42;
    char *args[] = {argv[0], "child", "two words", 0};
    char *env[] = {"EMU_EXEC=1", 0};
    ok(sys_execve("/nonexistent", args, env) == -2, "a missing file: ENOENT");
    ok(sys_execve("/dev/null", args, env) == -13, "a device: EACCES");
    char **volatile bad_argv = (char **)16;
    ok(sys_execve("/proc/self/exe", bad_argv, env) == -14, "a bad argv pointer: EFAULT");
    char *bad_string[] = {argv[0], (char *)16, 0};
    ok(sys_execve("/proc/self/exe", bad_string, env) == -14, "a bad argument string: EFAULT");
    ok(marker == 42, "a failed execve returns to the caller");

    long null = sys_open("/dev/null", O_RDONLY, 0);
    ok(sys_dup3(null, 5, O_CLOEXEC) == 5 && sys_dup2(null, 6) == 6, "fd 5 with O_CLOEXEC, fd 6 without");
    struct kernel_sigaction usr1 = {(void *)on_usr1, SA_RESTORER, restorer, 0}, usr2 = {SIG_IGN, 0, 0, 0};
    sys_rt_sigaction(SIGUSR1, &usr1, 0, 8);
    sys_rt_sigaction(SIGUSR2, &usr2, 0, 8);

    long pid = sys_fork();
    if (pid == 0) {
        sys_execve("/proc/self/exe", args, env);
        sys_exit(99);
    }
    int status = -1;
    sys_wait4(pid, &status, 0, 0);
    ok(status == 0, "the child's new image found everything as expected (status %x)", status);
    done_testing();
    char *final_args[] = {argv[0], "final", "two words", 0};
    sys_execve("/proc/self/exe", final_args, env);
    return 99;
}
