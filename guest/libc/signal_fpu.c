/* libc/signal_fpu: a signal handler finds the interrupted x87/SSE state in its frame
   (uc_mcontext.fpregs), may use the registers itself, and sigreturn loads back the state
   the frame holds, changes included. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int frame_has_fpregs, frame_aligned, frame_xmm5, frame_st0_is_pi;
static volatile unsigned frame_mxcsr;

static void handler(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    (void)sig; (void)info;
    frame_has_fpregs = fp != NULL;
    if (fp) {
        frame_aligned = ((uintptr_t)fp & 63) == 0;
        frame_mxcsr = fp->mxcsr;
        frame_xmm5 = fp->_xmm[5].element[0] == 0x11111111 && fp->_xmm[5].element[3] == 0x44444444;
        frame_st0_is_pi = fp->_st[0].exponent == 0x4000 && fp->_st[0].significand[3] == 0xc90f;
        fp->_xmm[6].element[0] = 0xabcdef;          /* sigreturn must load this into xmm6 */
    }
    /* The handler's own use of the registers, which must not leak into main. */
    unsigned round_down = 0x3f80;
    asm volatile("pxor %%xmm5, %%xmm5\n\tpcmpeqd %%xmm7, %%xmm7\n\tldmxcsr %0\n\tfninit"
                 : : "m"(round_down) : "xmm5", "xmm7");
    char text[64];
    snprintf(text, sizeof text, "%f", 2.5);          /* glibc's own SSE use */
}

int main(void)
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = handler;
    act.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &act, NULL);

    static const uint32_t five[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
    static const uint32_t seven[4] = {0x77, 0x7777, 0x777777, 0x77777777};
    uint32_t xmm5[4], xmm6[4], xmm7[4];
    unsigned mxcsr;
    double st0;
    long pid = getpid();
    /* Registers set, the signal raised (delivered on the syscall's return), registers read. */
    asm volatile("movdqu %[five], %%xmm5\n\tmovdqu %[seven], %%xmm7\n\tpxor %%xmm6, %%xmm6\n\tfldpi\n\t"
                 "mov $62, %%eax\n\tsyscall\n\t"
                 "movdqu %%xmm5, %[o5]\n\tmovdqu %%xmm6, %[o6]\n\tmovdqu %%xmm7, %[o7]\n\t"
                 "stmxcsr %[mx]\n\tfstpl %[st]"
                 : [o5] "=m"(xmm5), [o6] "=m"(xmm6), [o7] "=m"(xmm7), [mx] "=m"(mxcsr), [st] "=m"(st0)
                 : [five] "m"(five), [seven] "m"(seven), "D"(pid), "S"((long)SIGUSR1)
                 : "rax", "rcx", "r11", "xmm5", "xmm6", "xmm7", "memory");

    printf("the frame has the FPU state (fpregs): %s, 64-byte aligned: %s\n",
           frame_has_fpregs ? "yes" : "no", frame_aligned ? "yes" : "no");
    printf("the frame holds the interrupted xmm5: %s, st0 = pi: %s, mxcsr %#x\n",
           frame_xmm5 ? "yes" : "no", frame_st0_is_pi ? "yes" : "no", frame_mxcsr);
    printf("after sigreturn: xmm5 %s, xmm7 %s, mxcsr %#x, st0 %.15f\n",
           memcmp(xmm5, five, 16) ? "CHANGED" : "kept", memcmp(xmm7, seven, 16) ? "CHANGED" : "kept", mxcsr, st0);
    printf("after sigreturn: xmm6 = the frame's %#x\n", xmm6[0]);
    return 0;
}
