/* ro_write.c: writes to a read-only (.rodata) page and must be killed by SIGSEGV. */
#include "rt.h"

static const int answer = 42;   /* lives in .rodata: mapped read-only */

int main(void)
{
    volatile int *p = (volatile int *)&answer;

    rt_printf("ro_write: writing to read-only page at %p (expect SIGSEGV)\n", (void *)p);
    *p = 7;                     /* the volatile store forces a real write */
    print("not ok: write to read-only page succeeded");
    return 1;
}
