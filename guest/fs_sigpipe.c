/* fs_sigpipe: a write to a pipe without readers: SIGPIPE kills (no args), or -EPIPE (argument "ignore"). */
#include "rt.h"

int main(int argc, char **argv)
{
    int fds[2];
    ok(sys_pipe(fds) == 0, "pipe");
    ok(sys_close(fds[0]) == 0, "close the only read end");
    if (argc > 1 && argv[1][0] == 'i') {
        unsigned long act[4] = {1 /* SIG_IGN */, 0, 0, 0};
        ok(sys_rt_sigaction(SIGPIPE, act, 0, 8) == 0, "ignore SIGPIPE");
        ok(sys_write(fds[1], "x", 1) == -32, "write without readers is -EPIPE");
        return done_testing();
    }
    print("writing without readers: SIGPIPE");
    sys_write(fds[1], "x", 1);
    print("not ok - survived SIGPIPE");
    return 1;
}
