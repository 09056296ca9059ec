/* tt10_prune.c - the retention of the module's folders (tt10_int.h): blocking, thread pool only. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tt10_int.h"

uint64_t tt10_prune_dir(const char *dir, time_t before)
{
    uint64_t removed = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        /* Relative to the open folder: no joined path to bound. "." and ".." are not regular. */
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            sb.st_mtime < before && unlinkat(dirfd(d), de->d_name, 0) == 0) {
            removed++;
        }
    }
    closedir(d);
    return removed;
}
