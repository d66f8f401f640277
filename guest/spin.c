/* spin.c: loops forever, for timeout tests. */
#include "rt.h"

int main(void)
{
    print("spin: looping forever");
    for (;;)
        __asm__ volatile("");
}
