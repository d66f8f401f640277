/* libc/edge_epoll: epoll: entries after close and DEL, nested readiness, level-triggered rotation with maxevents 1, one-shot, EPOLLEXCLUSIVE.
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
#include <stdint.h>
int main(void)
{
    int p[2]; pipe(p);
    int ep = epoll_create1(0);
    struct epoll_event e = {EPOLLIN, {.u64 = 1}};
    int d = dup(p[0]);
    R("ADD dup", epoll_ctl(ep, EPOLL_CTL_ADD, d, &e));
    close(d);
    write(p[1], "x", 1);
    waitn(ep, "after closing the dup fd (file still open)");
    R("DEL closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, d, &e));
    int d2 = dup(p[0]);   /* same number, same file */
    printf("same number: %d\n", d2 == d);
    R("ADD same fd number same file again", epoll_ctl(ep, EPOLL_CTL_ADD, d2, &e));
    R("DEL it", epoll_ctl(ep, EPOLL_CTL_DEL, d2, &e));
    waitn(ep, "after DEL");
    close(d2);
    /* EPOLLRDHUP on a pipe? EPOLLPRI etc */
    e.events = EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLOUT;
    e.data.u64 = 2;
    R("ADD p1 (writer) with IN|OUT", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e));
    close(p[0]);
    waitn(ep, "writer after reader closed");
    /* epoll on an epoll: readiness of the outer with inner ET */
    int inner = epoll_create1(0), outer = epoll_create1(0);
    int efd = eventfd(1, 0);
    e.events = EPOLLIN | EPOLLET; e.data.u64 = 3;
    epoll_ctl(inner, EPOLL_CTL_ADD, efd, &e);
    e.events = EPOLLIN; e.data.u64 = 4;
    epoll_ctl(outer, EPOLL_CTL_ADD, inner, &e);
    waitn(outer, "outer (inner has an ET-ready eventfd)");
    waitn(inner, "inner");
    waitn(outer, "outer after inner consumed the edge");
    /* maxevents smaller: LT rotation */
    int ep3 = epoll_create1(0);
    int e1 = eventfd(1, 0), e2 = eventfd(1, 0), e3 = eventfd(1, 0);
    e.events = EPOLLIN;
    e.data.u64 = 11; epoll_ctl(ep3, EPOLL_CTL_ADD, e1, &e);
    e.data.u64 = 12; epoll_ctl(ep3, EPOLL_CTL_ADD, e2, &e);
    e.data.u64 = 13; epoll_ctl(ep3, EPOLL_CTL_ADD, e3, &e);
    struct epoll_event one;
    for (int i = 0; i < 5; i++) { epoll_wait(ep3, &one, 1, 0); printf("%lu ", (unsigned long)one.data.u64); }
    printf("\n");
    uint64_t v; read(e2, &v, 8);
    for (int i = 0; i < 4; i++) { epoll_wait(ep3, &one, 1, 0); printf("%lu ", (unsigned long)one.data.u64); }
    printf("\n");
    v = 1; write(e2, &v, 8);
    for (int i = 0; i < 4; i++) { epoll_wait(ep3, &one, 1, 0); printf("%lu ", (unsigned long)one.data.u64); }
    printf("\n");
    /* EPOLLONESHOT then MOD */
    int ep4 = epoll_create1(0);
    e.events = EPOLLIN | EPOLLONESHOT; e.data.u64 = 21;
    epoll_ctl(ep4, EPOLL_CTL_ADD, e1, &e);
    waitn(ep4, "oneshot 1");
    waitn(ep4, "oneshot 2");
    R("ADD again while disabled", epoll_ctl(ep4, EPOLL_CTL_ADD, e1, &e));
    e.events = EPOLLIN; R("MOD", epoll_ctl(ep4, EPOLL_CTL_MOD, e1, &e));
    waitn(ep4, "after MOD");
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    R("ADD exclusive", epoll_ctl(ep4, EPOLL_CTL_ADD, e2, &e));
    e.events = EPOLLIN;
    R("MOD exclusive", epoll_ctl(ep4, EPOLL_CTL_MOD, e2, &e));
    R("epoll_wait with maxevents 0", epoll_wait(ep4, &one, 0, 0));
    struct epoll_event *volatile nowhere = (struct epoll_event *)8;
    R("epoll_wait bad buffer", epoll_wait(ep4, nowhere, 1, 0));
    return 0;
}
