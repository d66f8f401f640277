/* divzero.c: integer division by zero; must be killed by SIGFPE. */
#include "rt.h"

int main(void)
{
    volatile int num = 1, den = 0;

    print("divzero: dividing 1 by 0 (expect SIGFPE)");
    int q = num / den;
    rt_printf("not ok: 1 / 0 returned %d\n", q);
    return 1;
}
