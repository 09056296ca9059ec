/* tt10_test_util.c - helpers of the tt10 unit tests. */
#include "tt10_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include <cmocka.h>

char *tt10_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        print_error("cannot open %s\n", path);
    }
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

char *tt10_test_data(const char *rel, size_t *len)
{
    const char *root = getenv("CT_SOURCE_DIR");
    assert_non_null(root);
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/tt10/%s", root, rel);
    return tt10_test_slurp(path, len);
}

/* Sets a file's times 'age_s' seconds in the past. */
static void set_age(const char *path, long long age_s)
{
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= (time_t)age_s;
    tv[1] = tv[0];
    assert_int_equal(utimes(path, tv), 0);
}

void tt10_test_age(const char *path)
{
    set_age(path, 10);
}

void tt10_test_put_aged(const char *path, long long age_s)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
    set_age(path, age_s);
}
