/* ud.c: executes the undefined instruction ud2; must be killed by SIGILL. */
#include "rt.h"

int main(void)
{
    print("ud: executing ud2 (expect SIGILL)");
    __asm__ volatile("ud2");
    print("not ok: ud2 did not trap");
    return 1;
}
