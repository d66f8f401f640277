/* bench_huge: MODE N: touch N huge pages of /dev/page-huge (or MAP_HUGETLB with "hugetlb-" modes).
 * MODE is read, write or forkcow (write all, fork, the child writes all again: N copies). */
#include "rt.h"

#define HPAGE (2UL << 20)
#define MAP_HUGETLB_ 0x40000

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *mode = argv[1];
    int hugetlb = memcmp(mode, "hugetlb-", 8) == 0;
    if (hugetlb)
        mode += 8;
    unsigned long n = 0;
    for (const char *s = argv[2]; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (unsigned long)(*s - '0');
    if (n == 0)
        return 0;
    volatile char *p;
    if (hugetlb) {
        p = sys_mmap(0, n * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB_, -1, 0);
    } else {
        int dev = sys_open("/dev/page-huge", O_RDWR, 0);
        p = sys_mmap(0, n * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, dev, 0);
    }
    if ((long)p < 0 && (long)p > -4096)
        return 3;
    long sum = 0;
    if (mode[0] == 'r') {
        for (unsigned long i = 0; i < n; i++)
            sum += p[i * HPAGE];
        return sum == 0 ? 0 : 4;
    }
    for (unsigned long i = 0; i < n; i++)
        p[i * HPAGE] = 1;
    if (mode[0] == 'w')
        return 0;
    long pid = sys_fork();
    if (pid == 0) {
        for (unsigned long i = 0; i < n; i++)
            p[i * HPAGE] = 2;
        sys_exit(0);
    }
    int status;
    sys_wait4(pid, &status, 0, 0);
    return status == 0 && p[0] == 1 ? 0 : 5;
}
