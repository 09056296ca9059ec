/* tt10_test_util.h - helpers of the tt10 unit tests (cmocka asserts inside). */
#ifndef TT10_TEST_UTIL_H
#define TT10_TEST_UTIL_H
#include <stddef.h>

/* Reads a whole file (at most 64 KiB - 1) NUL-terminated; the caller frees. Fails the test when
 * the file is missing. 'len' may be NULL. */
char *tt10_test_slurp(const char *path, size_t *len);
/* The same for a file under tests/data/tt10 of the source tree ($CT_SOURCE_DIR). */
char *tt10_test_data(const char *rel, size_t *len);
/* Sets a file's times 10 s in the past: an upload that finished a while ago. */
void tt10_test_age(const char *path);
/* Writes a one-byte file at 'path' whose times are 'age_s' seconds in the past. */
void tt10_test_put_aged(const char *path, long long age_s);

#endif
