/* spool_test_util.h - helpers shared by the spool tests: temporary directories, deterministic
 * record contents, file surgery. */
#ifndef SPOOL_TEST_UTIL_H
#define SPOOL_TEST_UTIL_H
#include "col_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh directory for one test under CT_BINARY_DIR (or /tmp); writes it to out. */
static inline void tu_mkdtemp(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("CT_BINARY_DIR");
    snprintf(out, cap, "%s/spooltest-%s-XXXXXX", base != NULL ? base : "/tmp", tag);
    if (mkdtemp(out) == NULL) {
        snprintf(out, cap, "/tmp/spooltest-%s-XXXXXX", tag);
        if (mkdtemp(out) == NULL) {
            abort();
        }
    }
}

/* Removes a flat directory and the files in it. */
static inline void tu_rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* Deterministic record content for index i: "rec <i> " then filler, 12..(12 + span) bytes. */
static inline size_t tu_make_rec(uint64_t i, char *buf, size_t span)
{
    int n = snprintf(buf, 32, "rec %llu ", (unsigned long long)i);
    size_t len = 12 + (size_t)((i * 7919u) % (span + 1));
    for (size_t k = (size_t)n; k < len; k++) {
        buf[k] = (char)('a' + (i + k) % 26);
    }
    if ((size_t)n > len) {
        len = (size_t)n;
    }
    return len;
}

/* Counts files named spool-*.seg in dir. */
static inline int tu_count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "spool-", 6) == 0 && l > 4 &&
            strcmp(e->d_name + l - 4, ".seg") == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Path of the segment whose first seq is 'first'. */
static inline void tu_seg_path(char *out, size_t cap, const char *dir, uint64_t first)
{
    snprintf(out, cap, "%s/spool-%020llu.seg", dir, (unsigned long long)first);
}

static inline long tu_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* XORs the byte at 'off' of 'path' with 0x5a. Returns 0 or -1. */
static inline int tu_flip(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    unsigned char b;
    if (fd < 0 || pread(fd, &b, 1, off) != 1) {
        return -1;
    }
    b ^= 0x5a;
    int rc = pwrite(fd, &b, 1, off) == 1 ? 0 : -1;
    close(fd);
    return rc;
}

#endif
