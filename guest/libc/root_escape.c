/* root_escape: run a script of file operations, one per line, and print each result.
 *
 * The script (argv[1], a file) is what tests/test_root_confinement.py and
 * fuzz/root_escape.py write to try to leave `--root`: symlinks, renames and fd tricks.
 * Each line is `op arg...`; fds live in 10 slots (0-9), and a dirfd argument is a slot
 * number or `cwd` (AT_FDCWD). Every result is printed as `op = value` or `op = -errno`;
 * read and getdents64 print what they got, so a secret read from outside the root shows
 * in the output. Unknown lines print `? line`.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int slot[10] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};

static long result(long r) { return r < 0 ? -errno : r; }

static int fd_of(const char *arg) {
    if (!strcmp(arg, "cwd")) return AT_FDCWD;
    return slot[atoi(arg) % 10];
}

static int open_flags(const char *letters) {
    int flags = 0, access = 0;
    for (const char *c = letters; *c; c++) {
        switch (*c) {
        case 'w': access = access == O_RDONLY ? O_WRONLY : access; break;
        case 'b': access = O_RDWR; break;
        case 'c': flags |= O_CREAT; break;
        case 'e': flags |= O_EXCL; break;
        case 't': flags |= O_TRUNC; break;
        case 'd': flags |= O_DIRECTORY; break;
        case 'p': flags |= O_PATH; break;
        case 'n': flags |= O_NOFOLLOW; break;
        case 'a': flags |= O_APPEND; break;
        }
    }
    return flags | access | O_CLOEXEC;
}

static void show_bytes(const char *what, const char *buf, long n) {
    printf("%s = %ld [", what, n);
    for (long i = 0; i < n; i++)
        putchar(buf[i] >= 32 && buf[i] < 127 ? buf[i] : '.');
    printf("]\n");
}

static void getdents(int fd) {
    char buf[4096];
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) { printf("getdents = %d\n", -errno); return; }
    printf("getdents = %ld:", n);
    for (long at = 0; at < n;) {
        struct dirent64 *d = (struct dirent64 *)(buf + at);
        printf(" %s", d->d_name);
        at += d->d_reclen;
    }
    printf("\n");
}

static void run(char *line) {
    char op[32] = "", a[512] = "", b[512] = "", c[64] = "", d[64] = "";
    int n = sscanf(line, "%31s %511s %511s %63s %63s", op, a, b, c, d);
    if (n < 1) return;
    char buf[512];
    long r;
    if (!strcmp(op, "open") && n >= 4) {
        r = result(open(a, open_flags(b), 0644));
        if (r >= 0) slot[atoi(c) % 10] = r;
    } else if (!strcmp(op, "openat") && n >= 5) {
        r = result(openat(fd_of(a), b, open_flags(c), 0644));
        if (r >= 0) slot[atoi(d) % 10] = r;
    } else if (!strcmp(op, "close") && n >= 2) {
        r = result(close(fd_of(a)));
        slot[atoi(a) % 10] = -1;
    } else if (!strcmp(op, "read") && n >= 2) {
        r = result(pread(fd_of(a), buf, sizeof buf, 0));
        show_bytes("read", buf, r > 0 ? r : 0);
        return;
    } else if (!strcmp(op, "write") && n >= 3) {
        r = result(write(fd_of(a), b, strlen(b)));
    } else if (!strcmp(op, "getdents") && n >= 2) {
        lseek(fd_of(a), 0, SEEK_SET);
        getdents(fd_of(a));
        return;
    } else if (!strcmp(op, "fchmod") && n >= 3) {
        r = result(fchmod(fd_of(a), strtol(b, 0, 8)));
    } else if (!strcmp(op, "futimens") && n >= 2) {
        r = result(futimens(fd_of(a), NULL));
    } else if (!strcmp(op, "fsync") && n >= 2) {
        r = result(fsync(fd_of(a)));
    } else if (!strcmp(op, "ftruncate") && n >= 3) {
        r = result(ftruncate(fd_of(a), atol(b)));
    } else if (!strcmp(op, "fchdir") && n >= 2) {
        r = result(fchdir(fd_of(a)));
    } else if (!strcmp(op, "chdir") && n >= 2) {
        r = result(chdir(a));
    } else if (!strcmp(op, "getcwd")) {
        r = result(syscall(SYS_getcwd, buf, sizeof buf));
        printf("getcwd = %ld %s\n", r, r > 0 ? buf : "");
        return;
    } else if (!strcmp(op, "rename") && n >= 3) {
        r = result(rename(a, b));
    } else if (!strcmp(op, "symlink") && n >= 3) {
        r = result(symlink(a, b));
    } else if (!strcmp(op, "link") && n >= 3) {
        r = result(linkat(AT_FDCWD, a, AT_FDCWD, b, n >= 4 ? AT_SYMLINK_FOLLOW : 0));
    } else if (!strcmp(op, "linkfd") && n >= 3) {
        r = result(linkat(fd_of(a), "", AT_FDCWD, b, AT_EMPTY_PATH));
    } else if (!strcmp(op, "unlink") && n >= 2) {
        r = result(unlink(a));
    } else if (!strcmp(op, "rmdir") && n >= 2) {
        r = result(rmdir(a));
    } else if (!strcmp(op, "mkdir") && n >= 2) {
        r = result(mkdir(a, 0755));
    } else if (!strcmp(op, "mkdirat") && n >= 3) {
        r = result(mkdirat(fd_of(a), b, 0755));
    } else if (!strcmp(op, "truncate") && n >= 3) {
        r = result(truncate(a, atol(b)));
    } else if (!strcmp(op, "chmod") && n >= 3) {
        r = result(chmod(a, strtol(b, 0, 8)));
    } else if (!strcmp(op, "utimensat") && n >= 4) {   /* dirfd path nofollow(0/1), NULL times */
        r = result(utimensat(fd_of(a), b, NULL, atoi(c) ? AT_SYMLINK_NOFOLLOW : 0));
    } else if (!strcmp(op, "utimes") && n >= 4) {      /* dirfd path nofollow, explicit times */
        struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
        r = result(utimensat(fd_of(a), b, ts, atoi(c) ? AT_SYMLINK_NOFOLLOW : 0));
    } else if (!strcmp(op, "fstatat") && n >= 4) {     /* dirfd path flags: n nofollow, e empty */
        struct stat s;
        int flags = (strchr(c, 'n') ? AT_SYMLINK_NOFOLLOW : 0) | (strchr(c, 'e') ? AT_EMPTY_PATH : 0);
        r = result(fstatat(fd_of(a), strcmp(b, "-") ? b : "", &s, flags));
        printf("fstatat = %ld mode %o\n", r, r == 0 ? s.st_mode : 0);
        return;
    } else if (!strcmp(op, "readlink") && n >= 2) {
        r = result(readlink(a, buf, sizeof buf - 1));
        show_bytes("readlink", buf, r > 0 ? r : 0);
        return;
    } else if (!strcmp(op, "unlinkat") && n >= 3) {
        r = result(unlinkat(fd_of(a), b, 0));
    } else if (!strcmp(op, "renameat") && n >= 5) {   /* olddirfd old newdirfd new */
        r = result(renameat(fd_of(a), b, fd_of(c), d));
    } else {
        printf("? %s\n", line);
        return;
    }
    printf("%s = %ld\n", op, r);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: root_escape SCRIPT\n"); return 2; }
    FILE *script = fopen(argv[1], "r");
    if (!script) { printf("script: %d\n", -errno); return 1; }
    char line[1200];
    /* Read the whole script first: the operations may rename or remove it. */
    static char all[1 << 18];
    size_t len = fread(all, 1, sizeof all - 1, script);
    all[len] = 0;
    fclose(script);
    for (char *at = all, *end; at && *at; at = end) {
        end = strchr(at, '\n');
        size_t n = end ? (size_t)(end - at) : strlen(at);
        if (n >= sizeof line) n = sizeof line - 1;
        memcpy(line, at, n);
        line[n] = 0;
        if (end) end++;
        run(line);
        fflush(stdout);
    }
    return 0;
}
