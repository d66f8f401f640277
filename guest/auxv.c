/* auxv: checks the initial stack emu builds (argc, argv, envp, auxv) and a few syscalls. */
#include "rt.h"

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_RANDOM 25

extern char _start[];

static unsigned long getauxval(unsigned long *auxv, unsigned long type)
{
    for (; auxv[0] != AT_NULL; auxv += 2)
        if (auxv[0] == type)
            return auxv[1];
    return 0;
}

int main(int argc, char **argv, char **envp)
{
    char **p = envp;
    while (*p)
        p++;
    unsigned long *auxv = (unsigned long *)(p + 1);

    ok(argv[argc] == 0, "argv[argc] is NULL");
    ok((unsigned long)argv % 8 == 0, "argv is 8-byte aligned");
    ok(getauxval(auxv, AT_PAGESZ) == 4096, "AT_PAGESZ is 4096");
    ok(getauxval(auxv, AT_ENTRY) == (unsigned long)_start, "AT_ENTRY is _start");
    ok(getauxval(auxv, AT_PHENT) == 56, "AT_PHENT is 56");
    unsigned char *phdr = (unsigned char *)getauxval(auxv, AT_PHDR);
    ok(phdr != 0 && getauxval(auxv, AT_PHNUM) > 0, "AT_PHDR and AT_PHNUM are set");
    ok(phdr != 0 && (*(unsigned int *)phdr == 6 /* PT_PHDR */ || *(unsigned int *)phdr == 1 /* PT_LOAD */),
       "AT_PHDR points at the program headers");
    unsigned char *random = (unsigned char *)getauxval(auxv, AT_RANDOM);
    int nonzero = 0;
    for (int i = 0; random && i < 16; i++)
        nonzero |= random[i];
    ok(random != 0 && nonzero, "AT_RANDOM points at 16 random bytes");

    struct { const void *base; size_t len; } iov[2] = {{"writev ", 7}, {"works\n", 6}};
    ok(syscall6(20 /* writev */, 1, (long)iov, 2, 0, 0, 0) == 13, "writev writes 13 bytes");
    ok(sys_write(1, (void *)0x10, 4) == -14, "write from a bad pointer is -EFAULT");
    ok(sys_write(1, (void *)0xffffffff80200000UL, 4) == -14, "write from a kernel address is -EFAULT");
    ok(syscall6(1000, 0, 0, 0, 0, 0, 0) == -38, "an unknown syscall is -ENOSYS");
    return done_testing();
}
