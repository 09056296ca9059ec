/* aqi_us.c - US EPA AQI (2024 revision, effective 6 May 2024): Table 6 breakpoints, input
 * truncation, undefined combinations, NowCast-based current AQI. */
#include "col_indices_aqi.h"

#include <math.h>

#include "ct/err.h"

/* Tolerance when comparing a truncated concentration with a breakpoint. */
#define BP_EPS 1e-9

struct us_row {
    double bp_lo;
    double bp_hi;
    double i_lo;
    double i_hi;
};

struct us_table {
    const struct us_row *rows;
    int n_rows;
    double step;     /* input truncation */
    bool top_is_500; /* above the last row: 500 beyond; else undefined */
};

static const struct us_row pm25_rows[] = {{0.0, 9.0, 0, 50},        {9.1, 35.4, 51, 100},
                                          {35.5, 55.4, 101, 150},   {55.5, 125.4, 151, 200},
                                          {125.5, 225.4, 201, 300}, {225.5, 325.4, 301, 500}};
static const struct us_row pm10_rows[] = {{0, 54, 0, 50},       {55, 154, 51, 100},
                                          {155, 254, 101, 150}, {255, 354, 151, 200},
                                          {355, 424, 201, 300}, {425, 604, 301, 500}};
static const struct us_row o3_8h_rows[] = {{0.000, 0.054, 0, 50},
                                           {0.055, 0.070, 51, 100},
                                           {0.071, 0.085, 101, 150},
                                           {0.086, 0.105, 151, 200},
                                           {0.106, 0.200, 201, 300}};
static const struct us_row o3_1h_rows[] = {{0.125, 0.164, 101, 150},
                                           {0.165, 0.204, 151, 200},
                                           {0.205, 0.404, 201, 300},
                                           {0.405, 0.604, 301, 500}};
static const struct us_row co_8h_rows[] = {{0.0, 4.4, 0, 50},      {4.5, 9.4, 51, 100},
                                           {9.5, 12.4, 101, 150},  {12.5, 15.4, 151, 200},
                                           {15.5, 30.4, 201, 300}, {30.5, 50.4, 301, 500}};
static const struct us_row so2_1h_rows[] = {
    {0, 35, 0, 50}, {36, 75, 51, 100}, {76, 185, 101, 150}, {186, 304, 151, 200}};
static const struct us_row so2_24h_rows[] = {{305, 604, 201, 300}, {605, 1004, 301, 500}};
static const struct us_row no2_1h_rows[] = {{0, 53, 0, 50},        {54, 100, 51, 100},
                                            {101, 360, 101, 150},  {361, 649, 151, 200},
                                            {650, 1249, 201, 300}, {1250, 2049, 301, 500}};

#define TABLE(rows, step, top)                                                                     \
    {                                                                                              \
        rows, (int)(sizeof(rows) / sizeof(rows[0])), step, top                                     \
    }

static const struct us_table t_pm25 = TABLE(pm25_rows, 0.1, true);
static const struct us_table t_pm10 = TABLE(pm10_rows, 1.0, true);
static const struct us_table t_o3_8h = TABLE(o3_8h_rows, 0.001, false);
static const struct us_table t_o3_1h = TABLE(o3_1h_rows, 0.001, true);
static const struct us_table t_co_8h = TABLE(co_8h_rows, 0.1, true);
static const struct us_table t_so2_1h = TABLE(so2_1h_rows, 1.0, false);
static const struct us_table t_so2_24h = TABLE(so2_24h_rows, 1.0, true);
static const struct us_table t_no2_1h = TABLE(no2_1h_rows, 1.0, true);

static void set_none(struct col_aqi_sub *out)
{
    out->aqi = COL_AQI_NONE;
    out->exact = NAN;
    out->beyond = false;
}

/* The table EPA defines for a pollutant and averaging, or NULL. */
static const struct us_table *us_table_of(enum col_aqi_pollutant p, enum col_aqi_avg avg)
{
    switch (p) {
    case COL_AQI_PM25:
        return (avg == COL_AQI_AVG_24H || avg == COL_AQI_AVG_NOWCAST) ? &t_pm25 : NULL;
    case COL_AQI_PM10:
        return (avg == COL_AQI_AVG_24H || avg == COL_AQI_AVG_NOWCAST) ? &t_pm10 : NULL;
    case COL_AQI_O3:
        if (avg == COL_AQI_AVG_8H) {
            return &t_o3_8h;
        }
        return avg == COL_AQI_AVG_1H ? &t_o3_1h : NULL;
    case COL_AQI_CO:
        return avg == COL_AQI_AVG_8H ? &t_co_8h : NULL;
    case COL_AQI_SO2:
        if (avg == COL_AQI_AVG_1H) {
            return &t_so2_1h;
        }
        return avg == COL_AQI_AVG_24H ? &t_so2_24h : NULL;
    case COL_AQI_NO2:
        return avg == COL_AQI_AVG_1H ? &t_no2_1h : NULL;
    default:
        return NULL;
    }
}

static void us_equation(const struct us_table *t, double c, struct col_aqi_sub *out)
{
    const struct us_row *top = &t->rows[t->n_rows - 1];
    const struct us_row *r = NULL;
    int i;

    set_none(out);
    c = col_aqi_truncate(c, t->step);
    if (c < t->rows[0].bp_lo - BP_EPS) {
        return;
    }
    if (c > top->bp_hi + BP_EPS) {
        if (t->top_is_500) {
            out->aqi = 500;
            out->exact = 500.0;
            out->beyond = true;
        }
        return;
    }
    for (i = 0; i < t->n_rows; i++) {
        if (c <= t->rows[i].bp_hi + BP_EPS) {
            r = &t->rows[i];
            break;
        }
    }
    if (c < r->bp_lo) {
        /* Only reachable through rounding noise in a gap: take the row's lower end. */
        c = r->bp_lo;
    }
    out->exact = (r->i_hi - r->i_lo) * (c - r->bp_lo) / (r->bp_hi - r->bp_lo) + r->i_lo;
    out->aqi = (int)col_aqi_round_half_up(out->exact);
}

int col_aqi_us_sub(enum col_aqi_pollutant p, enum col_aqi_avg avg, double c,
                   struct col_aqi_sub *out)
{
    const struct us_table *t;

    if (out == NULL || (int)p < 0 || p >= COL_AQI_N_POLLUTANTS || (int)avg < 0 ||
        avg > COL_AQI_AVG_NOWCAST) {
        return CT_E_INVAL;
    }
    if (isnan(c) || c < 0.0) {
        return CT_E_RANGE;
    }
    t = us_table_of(p, avg);
    if (t == NULL) {
        set_none(out);
        return 0;
    }
    us_equation(t, c, out);
    return 0;
}

static void us_optional(enum col_aqi_pollutant p, enum col_aqi_avg avg, double c,
                        struct col_aqi_sub *out)
{
    if (isnan(c) || c < 0.0) {
        set_none(out);
        return;
    }
    (void)col_aqi_us_sub(p, avg, c, out);
}

/* The larger of two sub-indices, NONE counting as smallest. */
static struct col_aqi_sub larger(struct col_aqi_sub a, struct col_aqi_sub b)
{
    if (a.aqi == COL_AQI_NONE) {
        return b;
    }
    if (b.aqi == COL_AQI_NONE) {
        return a;
    }
    if (b.aqi > a.aqi || (b.aqi == a.aqi && b.exact > a.exact)) {
        return b;
    }
    return a;
}

int col_aqi_us_current(const struct col_aqi_us_in *in, struct col_aqi_result *out)
{
    struct col_aqi_sub a;
    struct col_aqi_sub b;
    double nc;

    if (in == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    nc = col_aqi_nowcast(in->pm25, COL_AQI_NOWCAST_HOURS, COL_AQI_NOWCAST_MIN_WEIGHT);
    us_optional(COL_AQI_PM25, COL_AQI_AVG_NOWCAST, nc, &out->sub[COL_AQI_PM25]);
    nc = col_aqi_nowcast(in->pm10, COL_AQI_NOWCAST_HOURS, COL_AQI_NOWCAST_MIN_WEIGHT);
    us_optional(COL_AQI_PM10, COL_AQI_AVG_NOWCAST, nc, &out->sub[COL_AQI_PM10]);
    us_optional(COL_AQI_O3, COL_AQI_AVG_8H, in->o3_8h, &a);
    us_optional(COL_AQI_O3, COL_AQI_AVG_1H, in->o3_1h, &b);
    out->sub[COL_AQI_O3] = larger(a, b);
    us_optional(COL_AQI_CO, COL_AQI_AVG_8H, in->co_8h, &out->sub[COL_AQI_CO]);
    us_optional(COL_AQI_SO2, COL_AQI_AVG_1H, in->so2_1h, &a);
    if (a.aqi == COL_AQI_NONE) {
        us_optional(COL_AQI_SO2, COL_AQI_AVG_24H, in->so2_24h, &a);
    }
    out->sub[COL_AQI_SO2] = a;
    us_optional(COL_AQI_NO2, COL_AQI_AVG_1H, in->no2_1h, &out->sub[COL_AQI_NO2]);
    col_aqi_combine(out);
    return 0;
}
