/* libc/edge_fs_calls: the file-tree calls' corner cases: /, missing parents, NOREPLACE, dangling symlinks, futimens, AT_EMPTY_PATH, fsync of a pipe, fchmod of a directory.
   argv[1]: an empty scratch directory (natively), or / under emu with a writable --root.
   A second reading of emu's kernel found these differing from Linux; the output must
   be the same natively and under emu. */
#include "edges.h"
#include <sys/time.h>
int main(int argc, char **argv)
{
    if (argc > 1 && chdir(argv[1]) < 0)     /* the scratch directory (natively), or / of a writable root */
        return 2;
    umask(0);
    mkdir("g", 02775);
    struct stat st; stat("g", &st); printf("g mode %o\n", st.st_mode & 07777);
    mkdir("g/sub", 0777);
    stat("g/sub", &st); printf("g/sub mode %o (setgid inherited)\n", st.st_mode & 07777);
    close(open("g/f", O_CREAT|O_WRONLY, 02777));
    stat("g/f", &st); printf("g/f mode %o\n", st.st_mode & 07777);
    R("mkdir with mode 07777", mkdir("m", 07777));
    stat("m", &st); printf("m mode %o\n", st.st_mode & 07777);
    umask(022);
    int f = open("file", O_CREAT | O_WRONLY, 0644);
    R("unlinkat(file_fd, x)", unlinkat(f, "x", 0));
    R("mkdirat(file_fd, x)", mkdirat(f, "x", 0755));
    R("unlinkat bad flags", unlinkat(AT_FDCWD, "file", 0x100));
    R("symlink('', e)", symlink("", "e"));
    R("rename(g, g)", rename("g", "g"));
    R("rename(file, file)", rename("file", "file"));
    R("link(file, file2)", link("file", "file2"));
    R("rename(file, file2) (hard links to same inode)", rename("file", "file2"));
    R("access(file)", access("file", F_OK));
    R("renameat2 NOREPLACE onto existing", syscall(316, AT_FDCWD, "file2", AT_FDCWD, "g", 1));
    R("renameat2 NOREPLACE missing src", syscall(316, AT_FDCWD, "nope", AT_FDCWD, "g", 1));
    R("rmdir(g) non-empty", rmdir("g"));
    R("rmdir(.)", rmdir("."));
    R("rmdir(/)", rmdir("/"));
    R("mkdir(/)", mkdir("/", 0755));
    R("unlink(/)", unlink("/"));
    R("rename(/, x)", rename("/", "x"));
    R("mkdir(a/b) parent missing", mkdir("a/b", 0755));
    R("mkdir(file/x)", mkdir("file/x", 0755));
    R("mkdir(file2/x)", mkdir("file2/x", 0755));
    R("chmod missing", chmod("missing", 0644));
    R("truncate missing", truncate("missing", 0));
    R("utimensat(AT_SYMLINK_NOFOLLOW, dangling)", ({symlink("zz", "dl"); struct timespec t[2] = {{1, 0}, {2, 0}}; utimensat(AT_FDCWD, "dl", t, AT_SYMLINK_NOFOLLOW);}));
    lstat("dl", &st); printf("dl mtime %ld\n", st.st_mtime);
    R("utimensat bad nsec", ({struct timespec t[2] = {{1, 2000000000}, {2, 0}}; utimensat(AT_FDCWD, "file2", t, 0);}));
    R("futimens(fd)", ({struct timespec t[2] = {{5, 0}, {6, 0}}; futimens(f, t);}));
    fstat(f, &st); printf("file mtime %ld atime %ld\n", st.st_mtime, st.st_atime);
    R("utimes NULL path on fd with NOFOLLOW", syscall(280, f, NULL, NULL, AT_SYMLINK_NOFOLLOW));
    R("ftruncate O_RDONLY fd", ({int r = open("file2", O_RDONLY); ftruncate(r, 0);}));
    R("ftruncate dir fd", ({int r = open(".", O_RDONLY); ftruncate(r, 0);}));
    R("fsync pipe", ({int p[2]; pipe(p); fsync(p[0]);}));
    R("fchmod dir fd", ({int r = open(".", O_RDONLY); fchmod(r, 0755);}));
    R("linkat AT_EMPTY_PATH", linkat(f, "", AT_FDCWD, "viafd", AT_EMPTY_PATH));
    R("symlinkat into fd dir", ({int r = open("g", O_RDONLY); symlinkat("t", r, "s");}));
    R("readlink g/s", ({char b[8]; readlink("g/s", b, 8);}));
    R("chdir(file2)", chdir("file2"));
    R("chdir(g)", chdir("g"));
    R("open(../file2) gives an fd", open("../file2", O_RDONLY) >= 0 ? 0 : -1);
    R("chdir(/)", chdir("/"));
    return 0;
}
