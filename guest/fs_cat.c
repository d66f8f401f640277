/* fs_cat: copy each file named in argv to stdout (for /proc tests); exit 1 with -errno on stderr. */
#include "rt.h"

int main(int argc, char **argv)
{
    static char buf[65536];
    for (int i = 1; i < argc; i++) {
        long fd = sys_open(argv[i], O_RDONLY, 0);
        if (fd < 0) {
            rt_printf("fs_cat: %s: error %ld\n", argv[i], -fd);
            return 1;
        }
        long n;
        while ((n = sys_read(fd, buf, sizeof buf)) > 0)
            sys_write(1, buf, n);
        sys_close(fd);
    }
    return 0;
}
