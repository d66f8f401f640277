/* libc/edge_timerfd: timerfd's argument checks, and lseek on anonymous-inode files.
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
#include <time.h>
#include <stdint.h>
int main(void)
{
    uint64_t v = 1, buf2[2] = {1, 0};
    int efd = eventfd(0, EFD_NONBLOCK);
    R("eventfd write 16 bytes", write(efd, buf2, 16));
    R("eventfd write 4 bytes", write(efd, &v, 4));
    R("eventfd read 16", read(efd, buf2, 16));
    R("eventfd2 bad flags", eventfd(0, 0x10));
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec it = {{0, 0}, {0, 0}}, old;
    it.it_value.tv_nsec = -1;
    R("settime invalid spec on bad fd", timerfd_settime(999, 0, &it, NULL));
    R("settime invalid spec", timerfd_settime(t, 0, &it, NULL));
    it.it_value.tv_nsec = 0;
    R("settime CANCEL_ON_SET without ABSTIME", timerfd_settime(t, TFD_TIMER_CANCEL_ON_SET, &it, NULL));
    it.it_interval.tv_sec = 5;
    R("settime interval only (disarmed)", timerfd_settime(t, 0, &it, NULL));
    timerfd_gettime(t, &old);
    printf("gettime: int %ld val %ld.%09ld\n", old.it_interval.tv_sec, old.it_value.tv_sec, old.it_value.tv_nsec);
    /* abstime in the past with interval: count */
    struct timespec now; clock_gettime(CLOCK_MONOTONIC, &now);
    it.it_interval.tv_sec = 0; it.it_interval.tv_nsec = 100000000;
    it.it_value.tv_sec = now.tv_sec - 1; it.it_value.tv_nsec = now.tv_nsec;
    R("settime abs 1s ago, 100ms interval", timerfd_settime(t, TFD_TIMER_ABSTIME, &it, NULL));
    R("read count", read(t, &v, 8));
    printf("count %llu (expect 11)\n", (unsigned long long)v);
    /* one shot 50ms, read blocks and gets 1 */
    it.it_interval.tv_nsec = 0; it.it_value.tv_sec = 0; it.it_value.tv_nsec = 50000000;
    timerfd_settime(t, 0, &it, NULL);
    R("blocking read one shot", read(t, &v, 8));
    printf("count %llu\n", (unsigned long long)v);
    timerfd_gettime(t, &old);
    printf("after expiry: int %ld val %ld.%09ld\n", old.it_interval.tv_sec, old.it_value.tv_sec, old.it_value.tv_nsec);
    /* read with nonblock on disarmed */
    int fl = fcntl(t, F_GETFL); fcntl(t, F_SETFL, fl | O_NONBLOCK);
    R("nonblock read disarmed", read(t, &v, 8));
    R("read 4 bytes", read(t, &v, 4));
    R("timerfd_create bad clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    R("timerfd_create CLOCK_TAI", timerfd_create(CLOCK_TAI, 0));
    R("write to timerfd", write(t, &v, 8));
    R("lseek timerfd", lseek(t, 0, SEEK_SET));
    R("lseek eventfd", lseek(efd, 0, SEEK_SET));
    int ep = epoll_create1(0);
    R("lseek epoll", lseek(ep, 0, SEEK_SET));
    struct stat st; fstat(t, &st);
    printf("timerfd mode %o\n", st.st_mode);
    fstat(ep, &st);
    printf("epoll mode %o\n", st.st_mode);
    /* settime with old value */
    it.it_value.tv_sec = 100; it.it_interval.tv_sec = 0; it.it_value.tv_nsec = 0;
    timerfd_settime(t, 0, &it, NULL);
    it.it_value.tv_sec = 0;
    timerfd_settime(t, 0, &it, &old);
    printf("old: val %ld\n", old.it_value.tv_sec);
    return 0;
}
