/* libc/bench_switch: N round trips of one byte between two threads, or two processes,
   through a pair of pipes (argv[1] = "threads" or "processes", argv[2] = N). Each round
   trip is two blocking reads, so under emu two task switches: between threads the
   address space stays (no CR3 load, the TLB kept), between processes CR3 is reloaded. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int ping[2], pong[2];
static long rounds;

static void *echo(void *arg)
{
    char byte;
    for (long i = 0; i < rounds; i++)
        if (read(ping[0], &byte, 1) != 1 || write(pong[1], &byte, 1) != 1)
            exit(2);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 1;
    rounds = atol(argv[2]);
    pipe(ping);
    pipe(pong);
    int threads = strcmp(argv[1], "threads") == 0;
    pthread_t thread;
    pid_t child = 0;
    if (threads) {
        pthread_create(&thread, NULL, echo, NULL);
    } else if ((child = fork()) == 0) {
        echo(NULL);
        _exit(0);
    }
    char byte = 'x';
    for (long i = 0; i < rounds; i++)
        if (write(ping[1], &byte, 1) != 1 || read(pong[0], &byte, 1) != 1)
            return 3;
    if (threads)
        pthread_join(thread, NULL);
    else
        waitpid(child, NULL, 0);
    return 0;
}
