/* sse_fault: SSE and x87-free state survives a page fault (the kernel's entry must not clobber it). */
#include "rt.h"

static char fresh[8 * 4096] __attribute__((aligned(4096)));
static char untouched[4096] __attribute__((aligned(4096)));     /* first touched by the flags check */

int main(void)
{
    int same = 1;
    for (int page = 0; page < 8; page++) {
        unsigned long in[2] = {0x1122334455667788UL + page, 0x99aabbccddeeff00UL}, out[2];
        asm volatile("movdqu %1, %%xmm7\n\t"
                     "movb $1, (%2)\n\t"           /* first touch of a page: a #PF round trip */
                     "movdqu %%xmm7, %0"
                     : "=m"(out) : "m"(in), "r"(fresh + page * 4096) : "xmm7", "memory");
        same &= out[0] == in[0] && out[1] == in[1];
    }
    ok(same, "xmm7 keeps its value across 8 page faults");
    unsigned long flags_before, flags_after;
    asm volatile("stc\n\tpushfq\n\tpop %0\n\tmovb $1, (%2)\n\tpushfq\n\tpop %1"
                 : "=&r"(flags_before), "=&r"(flags_after) : "r"(fresh + 4096 * 7 + 8) : "memory", "cc");
    ok((flags_before & 1) && (flags_after & 1), "the carry flag survives a fault round trip");
    /* Flags an arithmetic instruction leaves for the faulting store (QEMU computes them
       lazily): the same add, then a store to a touched page and to a fresh one. */
    unsigned long arith[2];
    for (int fault = 0; fault < 2; fault++) {
        char *target = fault ? untouched + 16 : fresh + 4096 * 7 + 16;
        unsigned long value = 0x7fffffffffffffffUL;
        asm volatile("add $1, %1\n\tmovb $1, (%2)\n\tpushfq\n\tpop %0"
                     : "=&r"(arith[fault]), "+r"(value) : "r"(target) : "memory", "cc");
    }
    /* OF, SF, AF and PF set by the add (0x894); ZF and CF clear. */
    ok((arith[0] & 0x8d5) == 0x894 && (arith[1] & 0x8d5) == 0x894,
       "the flags of an add survive a fault on the next instruction");
    unsigned int mxcsr = 0;
    unsigned short fpu_env[14];        /* fnstenv, 32-bit form: FCW, FSW, FTW at words 0, 2, 4 */
    asm volatile("stmxcsr %0\n\tfnstenv %1" : "=m"(mxcsr), "=m"(fpu_env));
    ok(mxcsr == 0x1f80 && fpu_env[0] == 0x37f && fpu_env[4] == 0xffff,
       "the FPU starts as Linux leaves it (MXCSR 0x1f80, FCW 0x37f, the x87 stack empty)");
    return done_testing();
}
