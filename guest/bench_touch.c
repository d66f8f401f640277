/* bench_touch: write one byte into each of N fresh 4 KiB pages of .bss (N = argv[1], at most 16384). */
#include "rt.h"

static volatile char pages[16384 * 4096UL];

static unsigned long parse(const char *s)
{
    unsigned long n = 0;
    while (*s >= '0' && *s <= '9')
        n = n * 10 + (unsigned long)(*s++ - '0');
    return n;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? parse(argv[1]) : 1024;
    if (n > 16384)
        n = 16384;
    for (unsigned long i = 0; i < n; i++)
        pages[i * 4096] = 1;
    return 0;
}
