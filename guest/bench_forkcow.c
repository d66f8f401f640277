/* bench_forkcow: touch 64 MiB, fork, the child rewrites every page (copy-on-write), the parent waits. */
#include "rt.h"

#define SIZE (64UL << 20)
static volatile char region[SIZE];

int main(int argc, char **argv)
{
    (void)argv;
    for (unsigned long i = 0; i < SIZE; i += 4096)
        region[i] = 1;
    if (argc > 1)                       /* `bench_forkcow.elf touch-only`: the baseline */
        return 0;
    long pid = sys_fork();
    if (pid == 0) {
        for (unsigned long i = 0; i < SIZE; i += 4096)
            region[i] = 2;
        sys_exit(0);
    }
    int status;
    sys_wait4(pid, &status, 0, 0);
    return region[4096] == 1 && status == 0 ? 0 : 1;
}
