/* rain_gauge.c - a rain gauge's readings to its rain_1h points (both sums)
 * (col_indices_rain_gauge.h). */
#include "col_indices_rain_gauge.h"

#include <math.h>
#include <string.h>

#include "ct/err.h"

void col_rain_gauge_init(struct col_rain_gauge *g)
{
    memset(g, 0, sizeof(*g));
    col_rain_init(&g->ring);
    g->last_s = INT64_MIN;
}

/* A reading's interval ends at its time, rounded up to the second: the ring's slots hold
 * (k*300, (k+1)*300] seconds. */
static int64_t end_s(int64_t ts_ms)
{
    int64_t up = ts_ms + 999;
    return up / 1000 - (up % 1000 != 0 && up < 0 ? 1 : 0);
}

bool col_rain_gauge_hour(const struct col_rain_gauge *g, int64_t ts_ms, int64_t *hour_ms,
                         double *mm_24h)
{
    int64_t t = end_s(ts_ms);
    /* The latest boundary H < t: the hour (H - 3600, H] holds the readings that end in it. */
    int64_t h = (t - 1) / 3600 * 3600;

    if (g->last_s == INT64_MIN || t <= 0 || g->last_s > h || t <= g->last_s) {
        return false;
    }
    if (col_rain_sum(&g->ring, h, 86400, mm_24h) != 0) {
        return false;
    }
    *hour_ms = h * 1000;
    return true;
}

double col_rain_gauge_amount(struct col_rain_gauge *g, uint64_t boot, const double *tips,
                             const double *mm, double mm_per_tip, unsigned *flags)
{
    double delta = NAN;
    bool reboot = false;

    if (tips != NULL) {
        if (g->has_prev && g->prev_boot == boot && *tips >= g->prev_tips) {
            delta = (*tips - g->prev_tips) * mm_per_tip;
        } else if (g->has_prev) {
            /* A new boot (or a counter that went back): tips count from 0 again. */
            reboot = true;
            *flags |= COL_RAIN_REBOOT;
            delta = *tips * mm_per_tip;
        }
        g->has_prev = true;
        g->prev_boot = boot;
        g->prev_tips = *tips;
    }
    if (mm == NULL) {
        return delta;
    }
    if (!isnan(delta) && !reboot && fabs(*mm - delta) > 1e-6 + mm_per_tip * 1e-6) {
        *flags |= COL_RAIN_MISMATCH;
    }
    return *mm;
}

int col_rain_gauge_step(struct col_rain_gauge *g, int64_t ts_ms, double mm, double *mm_1h,
                        double *mm_24h, unsigned *flags)
{
    int64_t ts_s = end_s(ts_ms);

    if (ts_s < 0) {
        return CT_E_RANGE;
    }
    if (ts_s > g->last_s) {
        g->last_s = ts_s;
    }
    if (!isnan(mm) && col_rain_add(&g->ring, ts_s, mm < 0 ? 0.0 : mm) != 0) {
        *flags |= COL_RAIN_REFUSED;
    }
    if (col_rain_sum(&g->ring, ts_s, 3600, mm_1h) != 0 ||
        col_rain_sum(&g->ring, ts_s, 86400, mm_24h) != 0) {
        return CT_E_RANGE;
    }
    return 0;
}

size_t col_rain_fields(double mm_1h, double mm_24h, struct ct_lp_field f[COL_RAIN_FIELDS])
{
    f[0] = (struct ct_lp_field){.key = "mm", .type = CT_LP_FLOAT, .f = mm_1h};
    f[1] =
        (struct ct_lp_field){.key = "intense", .type = CT_LP_BOOL, .b = col_rain_is_intense(mm_1h)};
    f[2] = (struct ct_lp_field){.key = "mm_24h", .type = CT_LP_FLOAT, .f = mm_24h};
    return 3;
}
