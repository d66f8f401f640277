/* wake: a process that wakes another one by writing to a pipe, and then spins, must not
   starve it: the woken child runs and answers while its parent spins. */
#include "rt.h"

int main(void)
{
    int request[2], answer[2];
    sys_pipe(request);
    sys_pipe2(answer, O_NONBLOCK);
    long pid = sys_fork();
    if (pid == 0) {
        char byte;
        sys_read(request[0], &byte, 1);          /* blocks until the parent writes */
        sys_write(answer[1], "!", 1);
        sys_exit(0);
    }
    for (volatile long i = 0; i < 100000; i++)  /* let the child block in its read first */
        ;
    sys_write(request[1], "?", 1);
    char reply = 0;
    long tries = 0;
    while (sys_read(answer[0], &reply, 1) != 1)  /* spin: -EAGAIN until the child answers */
        tries++;
    ok(reply == '!', "the child woken by the pipe answered while its parent spun");
    int status;
    sys_wait4(pid, &status, 0, 0);
    return done_testing();
}
