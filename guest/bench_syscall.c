/* bench_syscall: N one-byte writes to /dev/null (N = argv[1]). */
#include "rt.h"

int main(int argc, char **argv)
{
    unsigned long n = 0;
    for (const char *s = argc > 1 ? argv[1] : "100000"; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (unsigned long)(*s - '0');
    int fd = sys_open("/dev/null", O_WRONLY, 0);
    char byte = 'x';
    for (unsigned long i = 0; i < n; i++)
        if (sys_write(fd, &byte, 1) != 1)
            return 1;
    return 0;
}
