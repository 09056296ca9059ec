/* bench_util.c - clocks, number parsing, the master key file and the readings of the benchmark
 * tools. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct/err.h"
#include "ct/payload.h"
#include "ct/sig.h"
#include "sim_bench.h"

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

int sim_bench_fill_reading(const struct ct_device *d, uint64_t boot, uint64_t seq, int64_t ts,
                           struct ct_reading *r)
{
    memset(r, 0, sizeof(*r));
    r->kind = d->kind;
    snprintf(r->id, sizeof(r->id), "%s", d->id);
    r->boot = boot;
    r->seq = seq;
    r->ts_ms = ts;
    double wave = (double)(seq % 200) / 10.0;
    int rc = 0;
    switch (d->kind) {
    case CT_KIND_AIR:
        rc |= ct_reading_set_num(r, "pm25", 20.0 + wave);
        rc |= ct_reading_set_num(r, "pm10", 35.0 + wave);
        rc |= ct_reading_set_num(r, "no2", 22.5);
        rc |= ct_reading_set_num(r, "t", 29.4);
        rc |= ct_reading_set_num(r, "rh", 78);
        break;
    case CT_KIND_WATER:
        rc |= ct_reading_set_num(r, "ph", 7.2);
        rc |= ct_reading_set_num(r, "do", 6.5);
        rc |= ct_reading_set_num(r, "turb", 12.0 + wave);
        rc |= ct_reading_set_num(r, "ec", 450);
        rc |= ct_reading_set_num(r, "t", 27.1);
        break;
    case CT_KIND_RAIN:
        /* One tip per message: mm is the tip delta times the registry's mm per tip. */
        rc |= ct_reading_set_num(r, "tips", (double)seq);
        rc |= ct_reading_set_num(r, "mm", seq == 0 ? 0.0 : d->mm_per_tip);
        break;
    case CT_KIND_FLOOD:
        rc |= ct_reading_set_num(r, "depth", wave);
        break;
    case CT_KIND_PARKING:
        if (d->park_mode == CT_PARK_BAY) {
            rc |= ct_reading_set_bool(r, "occupied", seq % 2 == 1);
        } else {
            rc |= ct_reading_set_num(r, "capacity", (double)d->capacity);
            rc |= ct_reading_set_num(r, "occupied", (double)(seq % ((uint64_t)d->capacity + 1)));
        }
        break;
    default:
        return CT_E_INVAL;
    }
    r->has_bat = true;
    r->bat = 3.7;
    return rc == 0 ? 0 : CT_E_FULL;
}
