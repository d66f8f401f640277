/* vm.max_map_count (65530): how many VMAs a process reaches with mmap, and what mmap,
   munmap, mprotect, mremap and brk do at the limit. The count is read from
   /proc/self/maps ([vsyscall] is no VMA), so the mappings glibc and the kernel made
   before main do not matter: what is printed is the same natively and under emu.
   Nothing here may allocate memory once the loop starts (no stdio buffer, no malloc). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096L
static char maps[8 << 20];
static char line[256];

static void say(const char *text)
{
    if (write(1, text, strlen(text)) < 0)
        _exit(2);
}

static long map_count(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    long size = 0, got, lines = 0;
    while ((got = read(fd, maps + size, sizeof maps - 1 - size)) > 0)
        size += got;
    close(fd);
    maps[size] = 0;
    for (char *p = maps; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    return lines - (strstr(maps, "[vsyscall]") != NULL);
}

static void result(const char *what, long ret)
{
    snprintf(line, sizeof line, "%s: %s\n", what, ret == -1 ? strerrorname_np(errno) : "ok");
    say(line);
}

static char *map(int i)
{
    return mmap(NULL, PAGE, i % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* the page of loop index i again, where it was: its neighbours have the other protection */
static char *remap(char *page, int i)
{
    return mmap(page, PAGE, i % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

int main(void)
{
    long start = map_count(), made = 0;
    /* four pages that merge with nothing: the loop's pages are PROT_NONE or PROT_READ */
    char *four = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ring[8] = {0};                /* the last eight pages the loop made */
    /* two VMAs: an execute-only page, then two read-write pages */
    char *pair = mmap(NULL, 3 * PAGE, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (four == MAP_FAILED || pair == MAP_FAILED || mprotect(pair + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE))
        return 1;
    for (;;) {
        char *page = map(made);
        if (page == MAP_FAILED)
            break;
        ring[made % 8] = page;
        made++;
    }
    int err = errno;
    long count = map_count();
    snprintf(line, sizeof line, "mmap stops with %s at map_count %ld; counted %s\n", strerrorname_np(err),
             count, count == start + 3 + made ? "right" : "wrong");
    say(line);
    result("munmap of the middle page (a split in three)", munmap(four + PAGE, PAGE));
    result("mprotect of the middle page", mprotect(four + PAGE, PAGE, PROT_READ));
    result("mprotect of the first page (a split in two)", mprotect(four, PAGE, PROT_READ));
    result("mprotect of a first page that joins the VMA before it",
           mprotect(pair + PAGE, PAGE, PROT_EXEC));
    result("mprotect of a last page that joins the VMA after it",
           mprotect(pair + PAGE, PAGE, PROT_READ | PROT_WRITE));
    snprintf(line, sizeof line, "map_count now %ld\n", map_count());
    say(line);
    result("madvise(MADV_DONTFORK) of the last page", madvise(four + 3 * PAGE, PAGE, MADV_DONTFORK));
    /* a range that does not end where its VMA ends cannot grow in place: it moves */
    char *moved = mremap(four, PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    result("mremap that moves", moved == MAP_FAILED ? -1 : 0);
    long brk0 = syscall(SYS_brk, 0);
    long brk1 = syscall(SYS_brk, brk0 + 64 * PAGE);
    snprintf(line, sizeof line, "brk up by 64 pages: %s\n", brk1 == brk0 + 64 * PAGE ? "moved" : "refused");
    say(line);
    result("munmap of the first page (no new VMA)", munmap(four, PAGE));
    snprintf(line, sizeof line, "map_count now %ld\n", map_count());
    say(line);
    result("munmap of a loop page", munmap(ring[0], PAGE));
    result("mprotect of a first page at map_count 65530", mprotect(four + PAGE, PAGE, PROT_READ));
    result("munmap of a middle page at 65530", munmap(four + 2 * PAGE, PAGE));
    result("mmap MAP_FIXED over a middle page at 65530",
           mmap(four + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0);
    result("munmap of a loop page", munmap(ring[1], PAGE));
    result("mprotect of a first page at map_count 65529", mprotect(four + PAGE, PAGE, PROT_READ));
    result("mmap (MAP_FIXED, merging with nothing) at 65530", remap(ring[1], 1) == MAP_FAILED ? -1 : 0);
    result("mmap (MAP_FIXED, merging with nothing) at 65531", remap(ring[0], 0) == MAP_FAILED ? -1 : 0);
    snprintf(line, sizeof line, "map_count now %ld\n", map_count());
    say(line);
    for (int i = 2; i < 6; i++)
        munmap(ring[i], PAGE);
    snprintf(line, sizeof line, "map_count now %ld\n", map_count());
    say(line);
    moved = mremap(four + 2 * PAGE, PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    result("mremap that moves at 65527", moved == MAP_FAILED ? -1 : 0);
    munmap(ring[6], PAGE);
    moved = mremap(four + 2 * PAGE, PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    result("mremap that moves at 65526", moved == MAP_FAILED ? -1 : 0);
    return 0;
}
