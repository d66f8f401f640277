/* libc/hello: glibc start-up, printf, malloc/free of small and large (mmap'ed) blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    printf("hello from glibc, argc=%d argv[1]=%s\n", argc, argc > 1 ? argv[1] : "(none)");
    char *small[100];
    for (int i = 0; i < 100; i++) {
        small[i] = malloc(16 + i * 8);
        memset(small[i], i, 16 + i * 8);
    }
    long sum = 0;
    for (int i = 0; i < 100; i++) {
        sum += small[i][15];
        free(small[i]);
    }
    printf("100 small blocks: checksum %ld\n", sum);
    for (int size = 1 << 17; size <= 1 << 24; size <<= 2) {     /* above M_MMAP_THRESHOLD: mmap */
        unsigned char *big = malloc(size);
        memset(big, 0xA5, size);
        int good = big[0] == 0xA5 && big[size - 1] == 0xA5;
        free(big);
        printf("large block of %d KiB: %s\n", size >> 10, good ? "ok" : "BAD");
    }
    char *grown = NULL;
    for (int size = 1; size <= 1 << 20; size <<= 1) {
        grown = realloc(grown, size);
        grown[size - 1] = 'x';
    }
    printf("realloc up to 1 MiB: %c\n", grown[(1 << 20) - 1]);
    free(grown);
    return 0;
}
