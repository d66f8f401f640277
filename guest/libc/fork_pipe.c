/* libc/fork_pipe: fork, a pipe from child to parent, waitpid with exit and signal statuses. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char line[64];
        for (int i = 0; i < 5; i++) {
            int n = snprintf(line, sizeof line, "line %d from the child\n", i);
            write(fds[1], line, n);
        }
        _exit(7);
    }
    close(fds[1]);
    char buf[512];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - total)) > 0)
        total += n;
    buf[total] = 0;
    fputs(buf, stdout);
    int status;
    waitpid(pid, &status, 0);
    printf("child exited: %d, status %d\n", WIFEXITED(status), WEXITSTATUS(status));

    pid = fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    printf("second child signaled: %d, signal %d\n", WIFSIGNALED(status), WTERMSIG(status));
    return 0;
}
