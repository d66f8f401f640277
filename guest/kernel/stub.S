/* The guest kernel stub: the ring-0 code of emu's guest.
 *
 * It owns what the CPU itself needs in ring 0: the GDT (kernel and user segments, the
 * TSS), the IDT, the TSS with RSP0 (the stack the CPU switches to when an exception
 * arrives from ring 3), an entry point per exception vector, and the way back to ring 3
 * (iretq). Everything a kernel *decides* (what a page fault means, which signal to send)
 * is Python: the stub saves the interrupted registers in a trap frame and makes a
 * hypercall, `out HC_PORT, al`, which emu's Python kernel receives.
 *
 * Trap frame, as built on the kernel stack (lowest address first), the same for every
 * vector:
 *     r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax   pushed by trap_common
 *     vector                                                      pushed by vec_N
 *     error code                                                  by the CPU, or 0 by vec_N
 *     rip cs rflags rsp ss                                        by the CPU (64-bit frame)
 *
 * Hypercall protocol (see emu/kernel/arch/stub.py): before `out`, the stub stores the trap
 * frame's address in hc_frame and the CPU's CR2 in hc_cr2. Python may edit the frame in
 * memory (e.g. the initial user registers at boot); the stub then restores it and irets.
 */
        .intel_syntax noprefix

        .set KERNEL_CS, 0x10          /* GDT layout as Linux x86-64 (asm/segment.h) */
        .set KERNEL_DS, 0x18
        .set USER_DS,   0x2b
        .set USER_CS,   0x33
        .set TSS_SEL,   0x40
        .set HC_PORT,   0xe0          /* hypercall port */
        .set HC_BOOT,   1             /* the stub is up: Python fills the first user frame */
        .set HC_TRAP,   2             /* an exception arrived: frame in hc_frame */
        .set KSTACK_SIZE, 16384
        .set TRAPFRAME_SIZE, 22*8

        .text
/* Entered by emu in ring 0 with paging on and RSP unset. */
        .globl boot_entry
boot_entry:
        lea     rsp, [rip + kstack_top]
        call    build_tss_descriptor
        call    build_gates
        lgdt    [rip + gdt_ptr]
        lidt    [rip + idt_ptr]
        push    KERNEL_CS             /* reload CS from the new GDT with a far return */
        lea     rax, [rip + 1f]
        push    rax
        lretq
1:      mov     ax, KERNEL_DS
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        xor     eax, eax
        mov     fs, ax
        mov     gs, ax
        mov     ax, TSS_SEL
        ltr     ax
        /* An empty trap frame at the top of the kernel stack: Python fills it with the
           program's first user registers, and the normal exception return enters ring 3. */
        lea     rsp, [rip + kstack_top - TRAPFRAME_SIZE]
        mov     [rip + hc_frame], rsp
        mov     al, HC_BOOT
        out     HC_PORT, al
        jmp     trap_return

/* Fill the base of the TSS descriptor (split over three fields) from tss's address. */
build_tss_descriptor:
        lea     rax, [rip + tss]
        lea     rdi, [rip + gdt_tss]
        mov     [rdi + 2], ax         /* base 15:0 */
        shr     rax, 16
        mov     [rdi + 4], al         /* base 23:16 */
        mov     [rdi + 7], ah         /* base 31:24 */
        shr     rax, 16
        mov     [rdi + 8], eax        /* base 63:32 */
        lea     rax, [rip + kstack_top]
        mov     [rip + tss + 4], rax  /* RSP0 */
        ret

/* IDT: vectors 0..31 are 64-bit interrupt gates (type 0xE, P=1, DPL=0) to vec_N, but 3 and 4
   (DPL 3); vectors 32..255 are empty (not present, DPL 0). */
build_idt:
        lea     rsi, [rip + vector_table]
        lea     rdi, [rip + idt]
        mov     ecx, 32
2:      mov     rax, [rsi]
        mov     [rdi], ax             /* offset 15:0 */
        mov     word ptr [rdi + 2], KERNEL_CS
        mov     word ptr [rdi + 4], 0x8e00    /* IST 0, type 0xE, DPL 0, P */
        shr     rax, 16
        mov     [rdi + 6], ax         /* offset 31:16 */
        shr     rax, 16
        mov     [rdi + 8], eax        /* offset 63:32 */
        mov     dword ptr [rdi + 12], 0
        add     rsi, 8
        add     rdi, 16
        dec     ecx
        jnz     2b
        ret

/* One entry per vector. The CPU pushes an error code for 8, 10-14, 17, 21; the others
   push a 0 in its place so every trap frame has the same shape. */
        .macro VEC n, has_error
        .globl vec_\n
vec_\n:
        .if \has_error == 0
        push    0
        .endif
        push    \n
        jmp     trap_common
        .endm

        VEC 0,0;  VEC 1,0;  VEC 2,0;  VEC 3,0;  VEC 4,0;  VEC 5,0;  VEC 6,0;  VEC 7,0
        VEC 8,1;  VEC 9,0;  VEC 10,1; VEC 11,1; VEC 12,1; VEC 13,1; VEC 14,1; VEC 15,0
        VEC 16,0; VEC 17,1; VEC 18,0; VEC 19,0; VEC 20,0; VEC 21,1; VEC 22,0; VEC 23,0
        VEC 24,0; VEC 25,0; VEC 26,0; VEC 27,0; VEC 28,0; VEC 29,0; VEC 30,0; VEC 31,0

        .globl trap_common
trap_common:
        push    rax
        push    rbx
        push    rcx
        push    rdx
        push    rsi
        push    rdi
        push    rbp
        push    r8
        push    r9
        push    r10
        push    r11
        push    r12
        push    r13
        push    r14
        push    r15
        mov     [rip + hc_frame], rsp
        mov     rax, cr2
        mov     [rip + hc_cr2], rax
        mov     al, HC_TRAP
        .globl trap_hypercall
trap_hypercall:
        out     HC_PORT, al           /* Python handles the exception here */

        .globl trap_return
trap_return:
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     r11
        pop     r10
        pop     r9
        pop     r8
        pop     rbp
        pop     rdi
        pop     rsi
        pop     rdx
        pop     rcx
        pop     rbx
        pop     rax
        add     rsp, 16               /* vector and error code */
        .globl trap_iretq
trap_iretq:
        iretq

/* The IDT as Linux's def_idts leaves it (arch/x86/kernel/idt.c, SYSG): only #BP (int3) and
   #OF may be raised by `int $N` from ring 3; every other gate, present or not, has DPL 0,
   so `int $N` from user mode is #GP (SDM 6.12.1.1). Linux with IA32 emulation also opens
   0x80, its 32-bit system call entry; emu has none, as Linux booted with ia32_emulation=0.
   (Placed after the entries so that their addresses, which the docs show, stay put.) */
build_gates:
        call    build_idt
        lea     rdi, [rip + idt]
        mov     word ptr [rdi + 3*16 + 4], 0xee00     /* IST 0, type 0xE, DPL 3, P */
        mov     word ptr [rdi + 4*16 + 4], 0xee00
        ret

        .section .rodata
        .balign 8
vector_table:
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad   vec_\n
        .endr

        .data
        .balign 16
        .globl gdt
gdt:    .quad   0                     /* 0x00 null */
        .quad   0                     /* 0x08 (Linux: 32-bit kernel code; unused) */
        .quad   0x00af9b000000ffff    /* 0x10 kernel code: 64-bit, DPL 0 */
        .quad   0x00cf93000000ffff    /* 0x18 kernel data, DPL 0 */
        .quad   0x00cffb000000ffff    /* 0x23 user 32-bit code, DPL 3 (unused) */
        .quad   0x00cff3000000ffff    /* 0x2b user data, DPL 3 */
        .quad   0x00affb000000ffff    /* 0x33 user code: 64-bit, DPL 3 */
        .quad   0                     /* 0x38 */
gdt_tss:                              /* 0x40 TSS: 16 bytes, base filled at boot */
        .word   0x67                  /* limit: 104 bytes - 1 */
        .word   0
        .byte   0
        .byte   0x89                  /* P=1, DPL 0, type 9 = available 64-bit TSS */
        .byte   0
        .byte   0
        .quad   0
gdt_end:

        .balign 8
gdt_ptr:
        .word   gdt_end - gdt - 1
        .quad   gdt
idt_ptr:
        .word   256*16 - 1
        .quad   idt

        .balign 16
        .globl tss
tss:    .long   0                     /* reserved */
        .quad   0                     /* RSP0: the stack for exceptions from ring 3 */
        .quad   0, 0                  /* RSP1, RSP2 */
        .quad   0                     /* reserved */
        .quad   0, 0, 0, 0, 0, 0, 0   /* IST1..IST7 */
        .quad   0                     /* reserved */
        .word   0                     /* reserved */
        .word   104                   /* I/O map base beyond the limit: no I/O bitmap */

        .globl hc_frame, hc_cr2
hc_frame: .quad 0
hc_cr2:   .quad 0

        .bss
        .balign 4096
        .globl idt
idt:    .skip   256*16
        .balign 4096
        .globl kstack_bottom, kstack_top
kstack_bottom:
        .skip   KSTACK_SIZE
kstack_top:
