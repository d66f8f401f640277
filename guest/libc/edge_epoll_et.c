/* libc/edge_epoll_et: edge-triggered epoll: what a partial read, a read of a semaphore eventfd, or a write the other way does not report.
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
int main(void)
{
    int s[2]; char buf[64];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    int ep = epoll_create1(0);
    struct epoll_event e = {EPOLLIN | EPOLLET, {.u64 = 1}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s[1], &e);
    write(s[0], "abcdef", 6);
    waitn(ep, "stream: after write");
    waitn(ep, "stream: again");
    read(s[1], buf, 2);
    waitn(ep, "stream: after partial read");
    write(s[1], "zz", 2);
    waitn(ep, "stream: after s1 writes to s0");
    read(s[0], buf, 2);
    waitn(ep, "stream: after s0 reads s1's data");
    write(s[0], "g", 1);
    waitn(ep, "stream: after more data");
    close(ep);

    int efd = eventfd(3, EFD_SEMAPHORE);
    ep = epoll_create1(0);
    e.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e);
    waitn(ep, "eventfd sem: first");
    uint64_t v; read(efd, &v, 8);
    waitn(ep, "eventfd sem: after read (value 2)");
    v = 1; write(efd, &v, 8);
    waitn(ep, "eventfd sem: after write");
    close(ep);

    int p[2]; pipe(p);
    ep = epoll_create1(0);
    e.data.u64 = 3;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    write(p[1], "abcdef", 6);
    waitn(ep, "pipe: after write");
    read(p[0], buf, 2);
    waitn(ep, "pipe: after partial read");
    close(ep);

    /* EPOLLOUT|ET on the writer side of a stream socket */
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    ep = epoll_create1(0);
    e.events = EPOLLOUT | EPOLLET; e.data.u64 = 4;
    epoll_ctl(ep, EPOLL_CTL_ADD, s[0], &e);
    waitn(ep, "stream out: first");
    write(s[0], "a", 1);
    waitn(ep, "stream out: after own write");
    read(s[1], buf, 1);
    waitn(ep, "stream out: after peer read");
    write(s[1], "b", 1);
    waitn(ep, "stream out: after peer write");
    return 0;
}
