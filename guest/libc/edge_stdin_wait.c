/* libc/edge_stdin_wait: epoll_wait (or, with an argument, poll) on stdin with no timeout, while
   the input comes later: it waits for it (it once said every process was blocked for ever). */
#include "edges.h"
int main(int argc, char **argv)
{
    char buf[64];
    if (argc > 1) {
        struct pollfd p = {0, POLLIN, 0};
        R("poll stdin", poll(&p, 1, -1));
    } else {
        int ep = epoll_create1(0);
        struct epoll_event e = {EPOLLIN, {.u64 = 0}};
        R("epoll_ctl stdin", epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e));
        R("epoll_wait stdin", epoll_wait(ep, &e, 1, -1));
    }
    R("read", read(0, buf, sizeof buf));
    return 0;
}
