/* libc/kfix_forkexec N PROGRAM...: N times fork and execve the next PROGRAM in turn in
   the child (stdout to /dev/null), and wait for it; then, per program, how its children
   exited. For emu's host memory per fork+exec, and for translations of a freed frame of
   code never running in place of the next program's (tests/test_kfix.py). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROGRAMS 8

int main(int argc, char **argv)
{
    int n = argc > 2 ? atoi(argv[1]) : 0, programs = argc - 2;
    if (n <= 0 || programs > MAX_PROGRAMS)
        return 2;
    static int status_count[MAX_PROGRAMS][256];
    for (int i = 0; i < n; i++) {
        char *path = argv[2 + i % programs];
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            char *args[] = {path, NULL};
            execv(path, args);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        status_count[i % programs][WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status) % 128]++;
    }
    for (int p = 0; p < programs; p++) {
        printf("%s:", argv[2 + p]);
        for (int s = 0; s < 256; s++)
            if (status_count[p][s])
                printf(" exit %d x%d", s, status_count[p][s]);
        printf("\n");
    }
    return 0;
}
