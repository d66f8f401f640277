/* libc/edge_close_while_blocked: a recv blocked in one thread keeps the socket when another thread closes the fd.
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
#include <pthread.h>
static int s[2], ep, efd;
static void *reader(void *arg)
{
    char buf[16];
    long n = recv(s[1], buf, sizeof buf, 0);
    printf("thread recv -> %ld %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    return NULL;
}
static void *waiter(void *arg)
{
    struct epoll_event e;
    long n = epoll_wait(ep, &e, 1, 3000);
    printf("thread epoll_wait -> %ld\n", n);
    return NULL;
}
int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    pthread_t t;
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    pthread_create(&t, NULL, reader, NULL);
    usleep(300000);
    R("close(s1) while a thread is in recv on it", close(s[1]));
    long sent = send(s[0], "hi", 2, MSG_NOSIGNAL);
    pthread_join(t, NULL);                  /* (then print: one order, natively too) */
    R("send on s0", sent);

    efd = eventfd(0, 0);
    ep = epoll_create1(0);
    struct epoll_event e = {EPOLLIN, {.u64 = 7}};
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e);
    pthread_create(&t, NULL, waiter, NULL);
    usleep(300000);
    R("close(ep) while a thread waits on it", close(ep));
    uint64_t v = 1; write(efd, &v, 8);
    pthread_join(t, NULL);
    return 0;
}
