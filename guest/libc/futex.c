/* libc/futex: a process-shared semaphore in MAP_SHARED memory (glibc's sem_wait and
   sem_post use futex) between a parent and its child; sem_timedwait timing out; and the
   futex system call's own answers (EAGAIN, ETIMEDOUT, a wake with nobody waiting). */
#include <errno.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

int main(void)
{
    sem_t *sem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sem_init(sem, 1, 0);
    volatile int *order = (int *)(sem + 1);
    pid_t child = fork();
    if (child == 0) {
        struct timespec nap = {0, 30 * 1000 * 1000};
        nanosleep(&nap, NULL);
        *order = 1;                               /* before the post: the parent must see it */
        sem_post(sem);
        _exit(0);
    }
    sem_wait(sem);                                /* blocks in futex until the child posts */
    printf("sem_wait returned after the child's sem_post: %s\n", *order == 1 ? "yes" : "no");
    waitpid(child, NULL, 0);

    struct timespec soon;
    clock_gettime(CLOCK_REALTIME, &soon);
    soon.tv_nsec += 20 * 1000 * 1000;
    if (soon.tv_nsec >= 1000000000) { soon.tv_sec++; soon.tv_nsec -= 1000000000; }
    errno = 0;
    int got = sem_timedwait(sem, &soon);
    printf("sem_timedwait on an empty semaphore: %s\n", got == -1 && errno == ETIMEDOUT ? "ETIMEDOUT" : "WRONG");

    uint32_t word = 5;
    struct timespec wait = {0, 20 * 1000 * 1000};
    errno = 0;
    printf("FUTEX_WAIT with the wrong value: %s\n",
           futex(&word, FUTEX_WAIT_PRIVATE, 4, NULL) == -1 && errno == EAGAIN ? "EAGAIN" : "WRONG");
    errno = 0;
    printf("FUTEX_WAIT for 20 ms, nobody wakes: %s\n",
           futex(&word, FUTEX_WAIT_PRIVATE, 5, &wait) == -1 && errno == ETIMEDOUT ? "ETIMEDOUT" : "WRONG");
    printf("FUTEX_WAKE with nobody waiting: %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));
    errno = 0;
    printf("a misaligned word: %s\n",
           futex((uint32_t *)((char *)&word + 1), FUTEX_WAKE, 1, NULL) == -1 && errno == EINVAL ? "EINVAL" : "WRONG");
    return 0;
}
