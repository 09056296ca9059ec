/* drv_test_util.c - recorded-frame loader and float comparison for the driver tests. */
#include "drv_test_util.h"

#include "ct/bytes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void drv_test_load_hex(const char *name, uint8_t *buf, size_t cap, size_t *len)
{
    const char *root = getenv("CT_SOURCE_DIR");
    char path[1024];
    FILE *f;
    int c;
    int hi = -1;
    size_t n = 0;

    assert_non_null(root);
    assert_true(snprintf(path, sizeof(path), "%s/tests/data/frames/%s", root, name) <
                (int)sizeof(path));
    f = fopen(path, "r");
    if (f == NULL) {
        print_error("cannot open %s\n", path);
        fail();
    }
    while ((c = fgetc(f)) != EOF) {
        if (c == '#') {
            while (c != EOF && c != '\n') {
                c = fgetc(f);
            }
            if (hi >= 0) {
                break;
            }
            continue;
        }
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            if (hi >= 0) {
                break; /* a lone nibble */
            }
            continue;
        }
        if (ct_hex_digit(c) < 0 || n >= cap) {
            hi = -2;
            break;
        }
        if (hi < 0) {
            hi = ct_hex_digit(c);
        } else {
            buf[n++] = (uint8_t)(hi << 4 | ct_hex_digit(c));
            hi = -1;
        }
    }
    fclose(f);
    if (hi != -1) {
        print_error("%s: malformed hex or more than %zu bytes\n", path, cap);
        fail();
    }
    *len = n;
}

void drv_test_near(double a, double b, double eps, const char *expr, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%s:%d: %s = %.9g, expected %.9g +- %.3g\n", file, line, expr, a, b, eps);
        _fail(file, line);
    }
}
