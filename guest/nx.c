/* nx.c: calls code copied into a non-executable data page; must be killed by SIGSEGV. */
#include "rt.h"

/* Initialised and writable: lives in .data, which is mapped without execute. */
static unsigned char code[16] = { 0x90 };

int main(void)
{
    static const unsigned char ret_insn = 0xc3;     /* x86 `ret` */
    memcpy(code, &ret_insn, 1);

    /* Launder the pointer so the compiler cannot reason about the call. */
    void (*volatile fn)(void) = (void (*)(void))(void *)code;
    rt_printf("nx: calling a `ret` in a data page at %p (expect SIGSEGV)\n", (void *)code);
    fn();
    print("not ok: executed code from a non-executable page");
    return 1;
}
