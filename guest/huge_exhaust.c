/* huge_exhaust: write to more huge pages than the pool has: the device has no reservations,
 * so the fault that finds the pool empty is SIGBUS (run with a small --hugepages). */
#include "rt.h"

#define HPAGE (2UL << 20)

int main(int argc, char **argv)
{
    unsigned long pages = 0;
    for (const char *s = argc > 1 ? argv[1] : "8"; *s >= '0' && *s <= '9'; s++)
        pages = pages * 10 + (unsigned long)(*s - '0');
    int dev = sys_open("/dev/page-huge", O_RDWR, 0);
    char *p = sys_mmap(0, pages * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, dev, 0);
    rt_printf("huge_exhaust: writing %lu huge pages\n", pages);
    for (unsigned long i = 0; i < pages; i++) {
        p[i * HPAGE] = 1;
        rt_printf("page %lu written\n", i);
    }
    return 0;
}
