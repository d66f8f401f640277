/* oom: touches 64 MiB of .bss; with --memory 32M the kernel runs out of frames (SIGKILL). */
#include "rt.h"
static volatile char big[64<<20];
int main(void) { for (unsigned long i = 0; i < sizeof big; i += 4096) big[i] = 1; return 0; }
