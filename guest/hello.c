/* hello.c: first guest: greets, lists its arguments, exits with argv[1] if that is a number. */
#include "rt.h"

/* Parse a non-empty string of decimal digits; return -1 if it is not one. */
static int parse_status(const char *s)
{
    int v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    print("Hello from a guest in ring 3!");
    rt_printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        rt_printf("argv[%d] = %s\n", i, argv[i]);

    int status = argc > 1 ? parse_status(argv[1]) : -1;
    if (status >= 0) {
        rt_printf("exiting with status %d\n", status);
        return status;
    }
    return 0;
}
