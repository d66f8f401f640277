/* libc/prctl: a task's name (PR_SET_NAME, PR_GET_NAME, /proc/self/comm, a thread's own,
   the program's file name after execve), the parent-death signal, dumpable and
   no_new_privs, and prctl's EINVAL. Everything printed is the same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show_comm(const char *when)
{
    char name[32] = {0}, file[32] = {0};
    prctl(PR_GET_NAME, name);
    int fd = open("/proc/self/comm", O_RDONLY);
    read(fd, file, sizeof file - 1);
    close(fd);
    file[strcspn(file, "\n")] = 0;
    printf("%s: PR_GET_NAME \"%s\", /proc/self/comm \"%s\"\n", when, name, file);
}

static void *thread_name(void *arg)
{
    char name[32] = {0};
    prctl(PR_GET_NAME, name);
    printf("a new thread starts with its creator's name: \"%s\"\n", name);
    prctl(PR_SET_NAME, "worker");
    prctl(PR_GET_NAME, name);
    printf("the thread renamed itself: \"%s\"\n", name);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        show_comm("after execve");
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    show_comm("at start");
    prctl(PR_SET_NAME, "a-name-longer-than-fifteen-bytes");
    show_comm("after PR_SET_NAME with 32 bytes");
    pthread_t t;
    pthread_create(&t, NULL, thread_name, NULL);
    pthread_join(t, NULL);
    show_comm("the main thread keeps its own");
    int fd = open("/proc/self/comm", O_WRONLY);
    write(fd, "written", 7);
    close(fd);
    show_comm("after a write to /proc/self/comm");

    printf("dumpable %d", prctl(PR_GET_DUMPABLE));
    printf(", set to 0: %d", prctl(PR_SET_DUMPABLE, 0));
    printf(", now %d", prctl(PR_GET_DUMPABLE));
    errno = 0;
    int r = prctl(PR_SET_DUMPABLE, 2);
    printf(", set to 2: %d %s\n", r, strerrorname_np(errno));
    prctl(PR_SET_DUMPABLE, 1);
    printf("no_new_privs %d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    printf(", set: %d", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    printf(", now %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    errno = 0;
    r = prctl(12345, 0, 0, 0, 0);
    printf("an unknown option: %d %s\n", r, strerrorname_np(errno));

    int pipe_fds[2];
    pipe(pipe_fds);
    pid_t middle = fork();
    if (middle == 0) {                      /* the middle process forks a child and exits */
        pid_t child = fork();
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            int sig = 0;
            prctl(PR_GET_PDEATHSIG, &sig);
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            sigprocmask(SIG_BLOCK, &set, NULL);
            write(pipe_fds[1], "r", 1);     /* ready: the middle process may exit */
            struct timespec two = {2, 0};
            int got = sigtimedwait(&set, NULL, &two);
            char report[64];
            int n = snprintf(report, sizeof report, "pdeathsig %d set; got %d when the parent died\n", sig, got);
            write(pipe_fds[1], report, n);
            _exit(0);
        }
        char c;
        read(pipe_fds[0], &c, 1);
        _exit(0);
    }
    close(pipe_fds[1]);
    waitpid(middle, NULL, 0);
    char buf[80] = {0};
    read(pipe_fds[0], buf, sizeof buf - 1);
    printf("%s", buf);

    fflush(stdout);
    char *args[] = {"whatever", "exec", NULL};
    pid_t execer = fork();
    if (execer == 0) {
        execv("/proc/self/exe", args);
        _exit(1);
    }
    waitpid(execer, NULL, 0);       /* (under emu, process 1 also inherits the orphan above) */
    return 0;
}
