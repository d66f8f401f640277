/* sleep: nanosleep for argv[1] seconds (default 10), then exit 0. */
#include "rt.h"

int main(int argc, char **argv)
{
    long seconds = 0;
    for (const char *p = argc > 1 ? argv[1] : "10"; *p >= '0' && *p <= '9'; p++)
        seconds = seconds * 10 + (*p - '0');
    long request[2] = {seconds, 0};
    return syscall6(35, (long)request, 0, 0, 0, 0, 0) == 0 ? 0 : 1;
}
