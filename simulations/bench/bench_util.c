/* bench_util.c - clocks, number parsing and the master key file for the benchmark tools. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct/err.h"
#include "ct/sig.h"
#include "sim_bench.h"

#define KEY_TEXT_MAX 1024

int64_t sim_bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sim_bench_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_bench_sleep_until(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        continue;
    }
}

bool sim_bench_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool sim_bench_parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0) {
        return false;
    }
    *out = v;
    return true;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int sim_bench_read_hex_file(const char *path, uint8_t *out, size_t cap, size_t *len)
{
    char text[KEY_TEXT_MAX];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return CT_E_IO;
    }
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    bool more = !feof(f) && fgetc(f) != EOF;
    bool err = ferror(f) != 0;
    fclose(f);
    if (err) {
        return CT_E_IO;
    }
    if (more) {
        return CT_E_TOOBIG;
    }
    size_t a = 0;
    while (a < n && blank(text[a])) {
        a++;
    }
    size_t b = n;
    while (b > a && blank(text[b - 1])) {
        b--;
    }
    size_t hexlen = b - a;
    if (hexlen == 0 || hexlen % 2 != 0) {
        return CT_E_PARSE;
    }
    if (hexlen / 2 > cap) {
        return CT_E_TOOBIG;
    }
    int rc = ct_hex_decode(text + a, hexlen, out, hexlen / 2);
    if (rc != 0) {
        return rc;
    }
    *len = hexlen / 2;
    return 0;
}
