/* libc/files: changing the file tree (argv[1] is an empty scratch directory: natively a
   temporary one, under emu the writable --root). chdir, getcwd, mkdir, rmdir, unlink,
   rename(at2), link, symlink, truncate, ftruncate, chmod, umask, utimensat, fsync, and
   their errors. Only names relative to the directory are printed, so the output is the
   same natively. */
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

static void result(const char *what, int r)
{
    printf("%-44s %d %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

static void show(const char *path)
{
    struct stat s;
    if (lstat(path, &s) < 0) {
        printf("  %-12s missing (%s)\n", path, strerrorname_np(errno));
        return;
    }
    const char *type = S_ISDIR(s.st_mode) ? "dir" : S_ISLNK(s.st_mode) ? "symlink" : S_ISREG(s.st_mode) ? "file" : "other";
    printf("  %-12s %-7s mode %04o size %ld links %ld\n", path, type, s.st_mode & 07777,
           S_ISDIR(s.st_mode) ? 0L : (long)s.st_size, S_ISDIR(s.st_mode) ? 0L : (long)s.st_nlink);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[2], "read-only") == 0) {     /* emu's --root without --root-writable */
        chdir(argv[1]);
        result("mkdir new", mkdir("new", 0755));
        result("unlink existing", unlink("existing"));
        result("rename existing new", rename("existing", "new"));
        result("symlink existing <- link", symlink("existing", "link"));
        result("chmod existing", chmod("existing", 0600));
        result("unlink /dev/null", unlink("/dev/null"));
        result("mkdir /proc", mkdir("/proc", 0755));
        return 0;
    }
    if (argc < 2 || chdir(argv[1]) < 0 || mkdir("work", 0755) < 0 || chdir("work") < 0)
        return 2;                           /* (under emu, / also lists dev and proc) */
    char base[4096], cwd[4096];
    getcwd(base, sizeof base);
    umask(022);
    result("mkdir sub 0777", mkdir("sub", 0777));
    result("mkdir sub again", mkdir("sub", 0777));
    result("mkdir missing/deeper", mkdir("missing/deeper", 0777));
    result("chdir sub", chdir("sub"));
    getcwd(cwd, sizeof cwd);
    printf("getcwd is the directory + /sub: %s\n", strlen(cwd) == strlen(base) + 4 && strcmp(cwd + strlen(base), "/sub") == 0 ? "yes" : "no");
    int fd = open("file", O_CREAT | O_WRONLY, 0666);
    printf("open(O_CREAT, 0666) under umask 022 in sub: fd %s\n", fd >= 0 ? "ok" : "failed");
    write(fd, "hello, world", 12);
    result("fsync", fsync(fd));
    result("ftruncate to 5", ftruncate(fd, 5));
    close(fd);
    result("chdir ..", chdir(".."));
    show("sub");
    show("sub/file");
    umask(077);
    close(open("private", O_CREAT | O_WRONLY, 0666));
    show("private");
    umask(022);
    result("rename private -> sub/moved", rename("private", "sub/moved"));
    show("private");
    show("sub/moved");
    close(open("other", O_CREAT | O_WRONLY, 0644));
    result("renameat2 NOREPLACE other -> sub/moved", syscall(SYS_renameat2, AT_FDCWD, "other", AT_FDCWD, "sub/moved", 1));
    result("link sub/file -> hard", link("sub/file", "hard"));
    show("hard");
    result("symlink sub/file <- soft", symlink("sub/file", "soft"));
    char target[64] = {0};
    readlink("soft", target, sizeof target - 1);
    printf("  readlink soft: %s\n", target);
    show("soft");
    result("truncate soft (follows) to 3", truncate("soft", 3));
    show("sub/file");
    result("chmod sub/file 0600", chmod("sub/file", 0600));
    show("sub/file");
    struct timespec times[2] = {{1000000000, 0}, {1234567890, 500}};
    result("utimensat sub/file", utimensat(AT_FDCWD, "sub/file", times, 0));
    struct stat s;
    stat("sub/file", &s);
    printf("  mtime %ld.%09ld atime %ld\n", (long)s.st_mtim.tv_sec, s.st_mtim.tv_nsec, (long)s.st_atim.tv_sec);
    result("unlink soft", unlink("soft"));
    show("soft");
    show("sub/file");
    result("rmdir sub (not empty)", rmdir("sub"));
    result("rmdir hard (a file)", rmdir("hard"));
    result("unlink sub (a directory)", unlink("sub"));
    result("rmdir .", rmdir("."));
    result("unlinkat sub/moved", unlinkat(AT_FDCWD, "sub/moved", 0));
    int dir = open("sub", O_RDONLY | O_DIRECTORY);
    result("fchdir sub", fchdir(dir));
    result("unlink file (relative to sub)", unlink("file"));
    result("unlinkat(dir of sub, .., AT_REMOVEDIR)", unlinkat(dir, "..", AT_REMOVEDIR));
    chdir("..");
    close(dir);
    result("unlinkat(sub, AT_REMOVEDIR)", unlinkat(AT_FDCWD, "sub", AT_REMOVEDIR));
    result("unlink hard", unlink("hard"));
    result("unlink other", unlink("other"));
    result("unlink missing", unlink("missing"));
    DIR *d = opendir(".");
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    printf("left in the directory: %d entries\n", entries);
    return 0;
}
