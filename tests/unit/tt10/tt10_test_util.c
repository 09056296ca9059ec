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

void tt10_test_age(const char *path)
{
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= 10;
    tv[1] = tv[0];
    assert_int_equal(utimes(path, tv), 0);
}
