/* libc/edge_fs_slashes: trailing slashes on the last component of mkdir, rmdir, unlink, rename, symlink and link.
   argv[1]: an empty scratch directory (natively), or / under emu with a writable --root.
   A second reading of emu's kernel found these differing from Linux; the output must
   be the same natively and under emu. */
#include "edges.h"
#include <dirent.h>
#include <sys/time.h>
static void cwd(const char *what)
{
    char b[256];
    long r = syscall(79, b, sizeof b);
    if (r < 0) printf("%-40s getcwd -> %s\n", what, strerrorname_np(errno));
    else {
        /* print cwd relative to the starting dir */
        printf("%-40s getcwd -> ...%s\n", what, strrchr(b, '/'));
    }
}
int main(int argc, char **argv)
{
    if (argc > 1 && chdir(argv[1]) < 0)     /* the scratch directory (natively), or / of a writable root */
        return 2;
    umask(022);
    close(open("file", O_CREAT | O_WRONLY, 0644));
    R("rename(file, new/)", rename("file", "new/")); rename("new", "file");
    R("rename(file/, new)", rename("file/", "new")); rename("new", "file");
    R("symlink(t, sl/)", symlink("t", "sl/"));
    R("link(file, hl/)", link("file", "hl/"));
    R("mkdir(d)", mkdir("d", 0755));
    R("symlink(d, ld)", symlink("d", "ld"));
    R("unlink(ld/)", unlink("ld/"));
    R("rmdir(ld/)", rmdir("ld/")); mkdir("d", 0755);
    R("symlink(missing, dangling)", symlink("missing", "dangling"));
    R("mkdir(dangling/)", mkdir("dangling/", 0755)); rmdir("missing");
    R("access missing after mkdir dangling/", access("missing", F_OK));
    R("unlink(nofile/)", unlink("nofile/"));
    R("unlink(file/)", unlink("file/"));
    R("rmdir(file/)", rmdir("file/"));
    R("rename(d, d/sub)", rename("d", "d/sub"));
    R("rename(d, file)", rename("d", "file"));
    R("rename(file, d)", rename("file", "d"));
    R("link(d, dl)", link("d", "dl"));
    R("truncate(d)", truncate("d", 0));
    R("truncate(file, -1)", truncate("file", -1));
    struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    R("utimensat(missing, OMIT, OMIT)", utimensat(AT_FDCWD, "missing", ts, 0));
    R("utimensat(AT_FDCWD, NULL)", syscall(280, AT_FDCWD, NULL, NULL, 0));
    int pfd[2]; pipe(pfd);
    R("fchmod(pipe)", fchmod(pfd[0], 0600));
    R("ftruncate(pipe, -1)", ftruncate(pfd[0], -1));
return 0;}
