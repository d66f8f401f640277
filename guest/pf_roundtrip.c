/* pf_roundtrip.c: touches lazily mapped .bss and stack pages so page faults happen and resolve. */
#include "rt.h"

#define PAGE 4096
#define BSS_SIZE   (256 * 1024)
#define STACK_SIZE (192 * 1024)

static char big[BSS_SIZE];      /* .bss: the kernel maps these pages on first touch */

/* A byte that differs per page and per salt, so a page mixed up with another shows. */
static char pattern(unsigned long page, int salt)
{
    return (char)(page * 7 + salt + 1);
}

static int check_bss(void)
{
    unsigned long pages = BSS_SIZE / PAGE;
    int zero = 1, same = 1;

    for (unsigned long off = 0; off < BSS_SIZE; off += 64)
        if (((volatile char *)big)[off] != 0)
            zero = 0;
    ok(zero, ".bss is zero before any write (%lu pages)", pages);

    for (unsigned long p = 0; p < pages; p++) {
        big[p * PAGE] = pattern(p, 0);               /* first byte of the page */
        big[p * PAGE + PAGE - 1] = pattern(p, 1);    /* last byte of the page */
    }
    for (unsigned long p = 0; p < pages; p++) {
        if (((volatile char *)big)[p * PAGE] != pattern(p, 0) ||
            ((volatile char *)big)[p * PAGE + PAGE - 1] != pattern(p, 1)) {
            rt_printf("# mismatch in .bss page %lu\n", p);
            same = 0;
        }
    }
    return ok(same, ".bss pattern reads back on every page");
}

/* noinline so the big frame really lives below main's frame on the stack. */
__attribute__((noinline)) static int deep_stack(void)
{
    volatile char buf[STACK_SIZE];
    unsigned long pages = STACK_SIZE / PAGE;
    int same = 1;

    /* Walk from the top (closest to the caller) down, like the stack grows. */
    for (unsigned long p = pages; p-- > 0;)
        buf[p * PAGE] = pattern(p, 2);
    for (unsigned long p = 0; p < pages; p++)
        if (buf[p * PAGE] != pattern(p, 2))
            same = 0;
    return ok(same, "%lu KiB stack frame reads back on every page", STACK_SIZE / 1024UL);
}

/* Recursion: many small frames, each touching its own stack. */
__attribute__((noinline)) static unsigned long recurse(unsigned long depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[511] = (char)depth;
    if (depth == 0)
        return 0;
    unsigned long below = recurse(depth - 1);
    return below + (unsigned char)frame[0] + (unsigned char)frame[511] - 2 * (depth & 0xff) + 1;
}

int main(void)
{
    print("pf_roundtrip: touching lazily mapped .bss and stack pages");
    check_bss();
    deep_stack();
    unsigned long depth = 256;  /* 256 frames of > 512 bytes: over 128 KiB of stack */
    ok(recurse(depth) == depth, "recursion %lu deep returns the right sum", depth);
    return done_testing();
}
