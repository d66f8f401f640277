/* fuzz_repro: the minimal reproducers of what `make fuzz` found, one per argv[1].
   Each case prints TAP and exits 0 when the kernel behaves as Linux does (the same
   program passes natively); under an emu with the bug, emu printed a traceback or the
   case fails.

       reparent_exit_signal  a child made by clone(SIGUSR1) whose parent exits is
                             reparented with exit signal SIGCHLD (Linux's reparent_leader:
                             "we don't want people slaying init"), so the new parent
                             gets SIGCHLD, never SIGUSR1 (or SIGKILL, or signal 199).
       sendmsg_name          sendmsg with msg_name on a socket pair: EISCONN (stream),
                             ENOENT (datagram, a name that is not there). */
#include "rt.h"

#define SIGUSR1 10
#define SA_RESTORER 0x04000000
#define PR_SET_CHILD_SUBREAPER 36
#define SYS_clone 56
#define SYS_nanosleep 35
#define SYS_socketpair 53
#define SYS_sendmsg 46
#define SYS_prctl 157

struct kernel_sigaction { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask; };
void restorer(void);
__asm__(".text\n restorer: mov $15, %eax\n syscall\n");

static volatile int got[65];
static void note(int sig) { got[sig]++; }

static void catch(int sig)
{
    struct kernel_sigaction act = { note, SA_RESTORER, restorer, 0 };
    sys_rt_sigaction(sig, &act, 0, 8);
}

static void sleep_ms(long ms)
{
    long ts[2] = { 0, ms * 1000000 };
    syscall6(SYS_nanosleep, (long)ts, 0, 0, 0, 0, 0);
}

static int reparent_exit_signal(void)
{
    /* Natively the orphan goes to the nearest subreaper: be one (emu's pid 1 is init). */
    syscall6(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0);
    catch(SIGUSR1);
    catch(SIGCHLD);
    long middle = sys_fork();
    if (middle == 0) {
        long orphan = syscall6(SYS_clone, SIGUSR1, 0, 0, 0, 0, 0);   /* fork-like, exit signal SIGUSR1 */
        if (orphan == 0) {
            sleep_ms(100);                   /* outlive the middle process */
            sys_exit(7);
        }
        sys_exit(orphan > 0 ? 0 : 1);
    }
    int status = -1;
    ok(sys_wait4((int)middle, &status, 0, 0) == middle && status == 0, "the middle process exits");
    /* The orphan is ours now, with exit signal SIGCHLD: a plain wait4 (no __WCLONE) takes it. */
    long reaped;
    while ((reaped = sys_wait4(-1, &status, 0, 0)) == -4)   /* EINTR from our handlers */
        ;
    ok(reaped > 0 && (status >> 8) == 7, "the orphan is reaped by a plain wait4, status 7 (got %ld)", reaped);
    ok(got[SIGUSR1] == 0, "no SIGUSR1 for the new parent (got %d)", got[SIGUSR1]);
    ok(got[SIGCHLD] >= 2, "SIGCHLD for the middle process and for the orphan (got %d)", got[SIGCHLD]);
    return done_testing();
}

struct msghdr { void *name; unsigned namelen; struct iovec *iov; size_t iovlen; void *control; size_t controllen; int flags; };

static int sendmsg_name(void)
{
    int pair[2];
    char byte = 'x';
    struct iovec iov = { &byte, 1 };
    char name[] = "\1\0/nonexistent-fuzz-repro";    /* sun_family AF_UNIX, a path that is not there */
    struct msghdr msg = { name, sizeof name, &iov, 1, 0, 0, 0 };
    ok(syscall6(SYS_socketpair, 1, 1 /* SOCK_STREAM */, 0, (long)pair, 0, 0) == 0, "a stream pair");
    long r = syscall6(SYS_sendmsg, pair[0], (long)&msg, 0, 0, 0, 0);
    ok(r == -106, "sendmsg with a name on a connected stream: EISCONN (got %ld)", r);
    ok(syscall6(SYS_socketpair, 1, 2 /* SOCK_DGRAM */, 0, (long)pair, 0, 0) == 0, "a datagram pair");
    r = syscall6(SYS_sendmsg, pair[0], (long)&msg, 0, 0, 0, 0);
    ok(r == -2, "sendmsg to a name that is not there: ENOENT (got %ld)", r);
    return done_testing();
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (!memcmp(what, "reparent_exit_signal", 21))
        return reparent_exit_signal();
    if (!memcmp(what, "sendmsg_name", 13))
        return sendmsg_name();
    print("usage: fuzz_repro.elf reparent_exit_signal|sendmsg_name");
    return 2;
}
