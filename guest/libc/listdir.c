/* libc/listdir: opendir/readdir (getdents64) of the directory argv[1], names sorted, with
   their d_type; then rewinddir reads them again. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list(DIR *dir, char **names, int max)
{
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && n < max) {
        const char *type = entry->d_type == DT_DIR ? "dir" : entry->d_type == DT_REG ? "file"
                         : entry->d_type == DT_LNK ? "link" : entry->d_type == DT_CHR ? "char" : "other";
        names[n] = malloc(strlen(entry->d_name) + 8);
        sprintf(names[n++], "%s %s", entry->d_name, type);
    }
    qsort(names, n, sizeof *names, by_name);
    return n;
}

int main(int argc, char **argv)
{
    DIR *dir = opendir(argc > 1 ? argv[1] : ".");
    if (!dir) {
        perror("opendir");
        return 1;
    }
    static char *names[2048], *again[2048];
    int n = list(dir, names, 2048);
    for (int i = 0; i < n; i++)
        printf("%s\n", names[i]);
    rewinddir(dir);
    int m = list(dir, again, 2048);
    printf("after rewinddir: %d entries, %s\n", m, m == n ? "the same count" : "DIFFERENT");
    closedir(dir);
    return 0;
}
