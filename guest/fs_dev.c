/* fs_dev: /dev/null, /dev/zero, /proc files, stat, access, readlink, getcwd, paths and their errno values. */
#include "rt.h"

static int contains(const char *hay, long len, const char *needle)
{
    long n = strlen(needle);
    for (long i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

static char text[65536];

int main(void)
{
    char buf[4096];
    struct stat st;
    int null = sys_open("/dev/null", O_RDWR, 0);
    ok(null == 3, "open /dev/null");
    ok(sys_read(null, buf, sizeof buf) == 0, "/dev/null reads EOF");
    ok(sys_write(null, buf, 1000) == 1000, "/dev/null takes every write");
    ok(sys_lseek(null, 1234, SEEK_SET) == 0, "lseek on /dev/null gives 0");
    ok(sys_fstat(null, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR, "/dev/null is S_IFCHR");
    ok(st.st_rdev == 0x103 && (st.st_mode & 0777) == 0666, "/dev/null is 1:3, mode 0666");
    ok(sys_ioctl(null, TCGETS, buf) == -25, "TCGETS on /dev/null is -ENOTTY");
    ok(sys_ioctl(99, TCGETS, buf) == -9, "ioctl on a closed fd is -EBADF");
    int zero = sys_open("/dev/zero", O_RDONLY, 0);
    memset(buf, 0x55, sizeof buf);
    ok(sys_read(zero, buf, 4096) == 4096 && buf[0] == 0 && buf[4095] == 0, "/dev/zero reads zeros");
    ok(sys_pread64(zero, buf, 10, 99) == 10, "pread on /dev/zero");
    ok(sys_stat("/dev/zero", &st) == 0 && st.st_rdev == 0x105, "stat /dev/zero: 1:5");
    ok(sys_read(zero, (void *)0x10, 10) == -14, "read into a bad buffer is -EFAULT");
    ok(sys_fstat(zero, (void *)0x10) == -14, "fstat into a bad buffer is -EFAULT");
    ok(sys_newfstatat(zero, "", &st, AT_EMPTY_PATH) == 0 && st.st_rdev == 0x105, "fstatat(fd, \"\", AT_EMPTY_PATH) is fstat");
    ok(sys_newfstatat(zero, "", &st, 0) == -2, "an empty path without AT_EMPTY_PATH is -ENOENT");
    ok(sys_newfstatat(AT_FDCWD, "/dev/null", &st, 0x8000) == -22, "fstatat with a bad flag is -EINVAL");
    ok(sys_newfstatat(AT_FDCWD, "/dev/null", &st, 0) == 0 && st.st_rdev == 0x103, "fstatat(AT_FDCWD, /dev/null)");
    ok(sys_lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR, "lstat /dev/null");
    ok(sys_openat(AT_FDCWD, "dev/null", O_RDONLY, 0) >= 0, "openat(AT_FDCWD, relative) from /");
    ok(sys_openat(99, "dev/null", O_RDONLY, 0) == -9, "openat with a closed dirfd is -EBADF");
    ok(sys_openat(null, "x", O_RDONLY, 0) == -20, "openat with a non-directory dirfd is -ENOTDIR");
    ok(sys_openat(99, "/dev/null", O_RDONLY, 0) >= 0, "an absolute path ignores dirfd");

    ok(sys_open("/dev/nonexistent", O_RDONLY, 0) == -2, "a missing file is -ENOENT");
    ok(sys_open("", O_RDONLY, 0) == -2, "an empty path is -ENOENT");
    ok(sys_open((void *)0x10, O_RDONLY, 0) == -14, "a bad path pointer is -EFAULT");
    ok(sys_open("/dev/null/", O_RDONLY, 0) == -20, "/dev/null/ is -ENOTDIR");
    ok(sys_open("/dev/null/x", O_RDONLY, 0) == -20, "/dev/null/x is -ENOTDIR");
    ok(sys_open("/dev/../dev/./null", O_RDONLY, 0) >= 0, "/dev/../dev/./null");
    ok(sys_open("/../../dev/null", O_RDONLY, 0) >= 0, ".. at the root stays at the root");
    ok(sys_open("/dev/null", O_RDONLY | O_DIRECTORY, 0) == -20, "O_DIRECTORY on a device is -ENOTDIR");
    ok(sys_open("/dev/null", O_RDONLY | O_CREAT | O_EXCL, 0600) == -17, "O_CREAT|O_EXCL on an existing file is -EEXIST");
    memset(buf, 'a', sizeof buf);
    buf[4095] = 0;
    ok(sys_open(buf, O_RDONLY, 0) == -36, "a 4095-byte path component is -ENAMETOOLONG");
    for (int i = 0; i < 4095; i += 2)
        buf[i] = '/';
    ok(sys_open(buf, O_RDONLY, 0) == -2, "a 4095-byte path of short names is just missing");
    buf[4095] = 'a';
    ok(sys_open(buf, O_RDONLY, 0) == -36, "a path without NUL in PATH_MAX is -ENAMETOOLONG");
    char *edge = (char *)sys_mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (edge != MAP_FAILED && (long)edge > 0) {
        sys_munmap(edge + 4096, 4096);
        memcpy(edge + 4096 - 10, "/dev/null", 10);
        ok(sys_open(edge + 4096 - 10, O_RDONLY, 0) >= 0, "a path that ends just before an unmapped page");
        memcpy(edge + 4096 - 9, "/dev/nul", 9);
        edge[4095] = 'l';
        ok(sys_open(edge + 4096 - 9, O_RDONLY, 0) == -14, "a path that runs into an unmapped page is -EFAULT");
    }

    ok(sys_access("/dev/null", R_OK | W_OK) == 0, "access /dev/null rw");
    ok(sys_access("/dev/nonexistent", F_OK) == -2, "access of a missing file is -ENOENT");
    ok(sys_access("/dev/null", 8) == -22, "access with a bad mode is -EINVAL");
    ok(sys_readlink("/dev/null", buf, sizeof buf) == -22, "readlink of a non-link is -EINVAL");
    ok(sys_readlink("/dev/nonexistent", buf, sizeof buf) == -2, "readlink of a missing file is -ENOENT");
    long n = sys_readlink("/proc/self/exe", buf, sizeof buf);
    ok(n > 11 && buf[0] == '/' && memcmp(buf + n - 11, "/fs_dev.elf", 11) == 0, "readlink /proc/self/exe");
    ok(sys_readlink("/proc/self/exe", buf, 3) == 3, "readlink cuts to the buffer");
    ok(sys_readlink("/proc/self/exe", buf, 0) == -22, "readlink into 0 bytes is -EINVAL");
    ok(sys_getcwd(buf, sizeof buf) == 2 && buf[0] == '/' && buf[1] == 0, "getcwd is / (2 bytes with the NUL)");
    ok(sys_getcwd(buf, 1) == -34, "getcwd into 1 byte is -ERANGE");
    ok(sys_getcwd((void *)0x10, 10) == -14, "getcwd into a bad buffer is -EFAULT");

    int fd = sys_open("/proc/meminfo", O_RDONLY, 0);
    long len = sys_read(fd, text, sizeof text);
    ok(len > 0 && memcmp(text, "MemTotal:", 9) == 0, "/proc/meminfo starts with MemTotal:");
    ok(contains(text, len, "\nHugePages_Total:") && contains(text, len, "\nHugepagesize:       2048 kB\n"),
       "/proc/meminfo has the hugepage lines");
    ok(sys_fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && st.st_size == 0, "/proc/meminfo: S_IFREG, size 0");
    int wfd = sys_open("/proc/meminfo", O_WRONLY, 0);
    ok(wfd >= 0 && sys_write(wfd, "x", 1) == -5, "root may open /proc/meminfo to write; a write is -EIO");
    wfd = sys_open("/proc/self/maps", O_RDWR, 0);
    ok(wfd >= 0 && sys_write(wfd, "x", 1) == -22, "a write to /proc/self/maps is -EINVAL");
    fd = sys_open("/proc/self/maps", O_RDONLY, 0);
    len = 0;
    while ((n = sys_read(fd, text + len, 100)) > 0)
        len += n;
    ok(len > 0 && contains(text, len, "[stack]\n"), "/proc/self/maps names [stack]");
    ok(contains(text, len, " r-xp 00") && contains(text, len, "/fs_dev.elf\n"), "and the program's text");
    return done_testing();
}
