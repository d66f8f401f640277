/* start.S: process entry point for freestanding guests (SysV x86-64 ABI). */
    .text
    .globl _start
    .type  _start, @function
_start:
    xor   %ebp, %ebp              /* mark the outermost frame */
    mov   (%rsp), %rdi            /* argc */
    lea   8(%rsp), %rsi           /* argv */
    lea   16(%rsp,%rdi,8), %rdx   /* envp = argv + argc + 1 */
    and   $-16, %rsp              /* 16-byte aligned before the call */
    call  main
    mov   %eax, %edi              /* exit status = main's return value */
    mov   $231, %eax              /* SYS_exit_group */
    syscall
    hlt                           /* not reached */
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
