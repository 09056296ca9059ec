/* drv_test_util.h - helpers of the driver unit tests: recorded frames and float comparison. */
#ifndef DRV_TEST_UTIL_H
#define DRV_TEST_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Largest recorded frame file, bytes. */
#define DRV_TEST_MAX_FRAME 512u

/* Loads tests/data/frames/<name> (hex bytes separated by white space; '#' starts a comment to the
 * end of the line) below $CT_SOURCE_DIR into buf of cap bytes and sets *len. Fails the running
 * test on a missing file, a malformed token or overflow. */
void drv_test_load_hex(const char *name, uint8_t *buf, size_t cap, size_t *len);

/* Fails the running test, printing both values, unless |a - b| <= eps. */
#define DRV_ASSERT_NEAR(a, b, eps)                                                                 \
    drv_test_near((double)(a), (double)(b), (double)(eps), #a, __FILE__, __LINE__)
void drv_test_near(double a, double b, double eps, const char *expr, const char *file, int line);

#endif
