/* aqi_vn.c - VN_AQI per Decision 1459/QD-TCMT (12/11/2019): Bang 2 breakpoints, formula 1,
 * hourly (AQI^h) and daily (AQI^d) indices. */
#include "col_indices_aqi.h"

#include <math.h>

#include "ct/err.h"

#define VN_LEVELS 8

/* Index values I_i of Bang 2. */
static const double vn_index[VN_LEVELS] = {0, 50, 100, 150, 200, 300, 400, 500};

enum vn_column { COL_O3_1H, COL_O3_8H, COL_CO, COL_SO2, COL_NO2, COL_PM10, COL_PM25, N_COLS };

struct vn_col {
    int levels;           /* breakpoints used (8; O3 8h stops at level 6) */
    double bp[VN_LEVELS]; /* BP_i, ug/m3 */
};

/* Bang 2, all ug/m3 (CO too). Level 8 is "at or above". */
static const struct vn_col vn_table[N_COLS] = {
    [COL_O3_1H] = {8, {0, 160, 200, 300, 400, 800, 1000, 1200}},
    [COL_O3_8H] = {6, {0, 100, 120, 170, 210, 400, 0, 0}},
    [COL_CO] = {8, {0, 10000, 30000, 45000, 60000, 90000, 120000, 150000}},
    [COL_SO2] = {8, {0, 125, 350, 550, 800, 1600, 2100, 2630}},
    [COL_NO2] = {8, {0, 100, 200, 700, 1200, 2350, 3100, 3850}},
    [COL_PM10] = {8, {0, 50, 150, 250, 350, 420, 500, 600}},
    [COL_PM25] = {8, {0, 25, 50, 80, 150, 250, 350, 500}},
};

static void set_none(struct col_aqi_sub *out)
{
    out->aqi = COL_AQI_NONE;
    out->exact = NAN;
    out->beyond = false;
}

/* Column of Bang 2 for a pollutant and averaging, or -1 when the decision does not use it. */
static int vn_column_of(enum col_aqi_pollutant p, enum col_aqi_avg avg)
{
    switch (p) {
    case COL_AQI_PM25:
        return (avg == COL_AQI_AVG_NOWCAST || avg == COL_AQI_AVG_24H) ? COL_PM25 : -1;
    case COL_AQI_PM10:
        return (avg == COL_AQI_AVG_NOWCAST || avg == COL_AQI_AVG_24H) ? COL_PM10 : -1;
    case COL_AQI_O3:
        if (avg == COL_AQI_AVG_1H) {
            return COL_O3_1H;
        }
        return avg == COL_AQI_AVG_8H ? COL_O3_8H : -1;
    case COL_AQI_CO:
        return avg == COL_AQI_AVG_1H ? COL_CO : -1;
    case COL_AQI_SO2:
        return avg == COL_AQI_AVG_1H ? COL_SO2 : -1;
    case COL_AQI_NO2:
        return avg == COL_AQI_AVG_1H ? COL_NO2 : -1;
    default:
        return -1;
    }
}

/* Formula 1 on one column; contiguous bands BP_i..BP_i+1. */
static void vn_formula1(const struct vn_col *col, double c, struct col_aqi_sub *out)
{
    int top = col->levels - 1;
    int i;

    set_none(out);
    if (c >= col->bp[top]) {
        if (col->levels < VN_LEVELS) {
            /* O3 8h: the column ends at level 6; above it the 8-h value is not used. */
            if (c > col->bp[top]) {
                return;
            }
            out->exact = vn_index[top];
            out->aqi = (int)vn_index[top];
            return;
        }
        out->exact = vn_index[top];
        out->aqi = (int)vn_index[top];
        out->beyond = c > col->bp[top];
        return;
    }
    for (i = 0; i < top; i++) {
        if (c <= col->bp[i + 1]) {
            break;
        }
    }
    out->exact =
        (vn_index[i + 1] - vn_index[i]) * (c - col->bp[i]) / (col->bp[i + 1] - col->bp[i]) +
        vn_index[i];
    out->aqi = (int)col_aqi_round_half_up(out->exact);
}

int col_aqi_vn_sub(enum col_aqi_pollutant p, enum col_aqi_avg avg, double c,
                   struct col_aqi_sub *out)
{
    int column;

    if (out == NULL || (int)p < 0 || p >= COL_AQI_N_POLLUTANTS || (int)avg < 0 ||
        avg > COL_AQI_AVG_NOWCAST) {
        return CT_E_INVAL;
    }
    if (isnan(c) || c < 0.0) {
        return CT_E_RANGE;
    }
    column = vn_column_of(p, avg);
    if (column < 0) {
        set_none(out);
        return 0;
    }
    vn_formula1(&vn_table[column], c, out);
    return 0;
}

static void result_init(struct col_aqi_result *out)
{
    int p;

    for (p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
        set_none(&out->sub[p]);
    }
    out->aqi = COL_AQI_NONE;
    out->dominant = -1;
}

/* Sub-index of a value that may be missing (NAN) or negative (treated as missing). */
static void vn_optional(enum col_aqi_pollutant p, enum col_aqi_avg avg, double c,
                        struct col_aqi_sub *out)
{
    if (isnan(c) || c < 0.0) {
        set_none(out);
        return;
    }
    (void)col_aqi_vn_sub(p, avg, c, out);
}

/* The decision requires at least one of PM10 and PM2.5. */
static void vn_finish(struct col_aqi_result *out)
{
    col_aqi_combine(out);
    if (out->sub[COL_AQI_PM25].aqi == COL_AQI_NONE && out->sub[COL_AQI_PM10].aqi == COL_AQI_NONE) {
        out->aqi = COL_AQI_NONE;
        out->dominant = -1;
    }
}

int col_aqi_vn_hourly(const struct col_aqi_vn_hour_in *in, struct col_aqi_result *out)
{
    double nc;

    if (in == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    result_init(out);
    nc = col_aqi_nowcast(in->pm25, COL_AQI_NOWCAST_HOURS, COL_AQI_NOWCAST_MIN_WEIGHT);
    vn_optional(COL_AQI_PM25, COL_AQI_AVG_NOWCAST, nc, &out->sub[COL_AQI_PM25]);
    nc = col_aqi_nowcast(in->pm10, COL_AQI_NOWCAST_HOURS, COL_AQI_NOWCAST_MIN_WEIGHT);
    vn_optional(COL_AQI_PM10, COL_AQI_AVG_NOWCAST, nc, &out->sub[COL_AQI_PM10]);
    vn_optional(COL_AQI_O3, COL_AQI_AVG_1H, in->o3_1h, &out->sub[COL_AQI_O3]);
    vn_optional(COL_AQI_CO, COL_AQI_AVG_1H, in->co_1h, &out->sub[COL_AQI_CO]);
    vn_optional(COL_AQI_SO2, COL_AQI_AVG_1H, in->so2_1h, &out->sub[COL_AQI_SO2]);
    vn_optional(COL_AQI_NO2, COL_AQI_AVG_1H, in->no2_1h, &out->sub[COL_AQI_NO2]);
    vn_finish(out);
    return 0;
}

int col_aqi_vn_daily(const struct col_aqi_vn_day_in *in, struct col_aqi_result *out)
{
    struct col_aqi_sub o3_1h;
    struct col_aqi_sub o3_8h;

    if (in == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    result_init(out);
    vn_optional(COL_AQI_PM25, COL_AQI_AVG_24H, in->pm25_24h, &out->sub[COL_AQI_PM25]);
    vn_optional(COL_AQI_PM10, COL_AQI_AVG_24H, in->pm10_24h, &out->sub[COL_AQI_PM10]);
    /* O3: the larger of the 1-h column on the day's max 1-h mean and the 8-h column on the
     * day's max 8-h mean; the 8-h part is not defined above 400 ug/m3. */
    vn_optional(COL_AQI_O3, COL_AQI_AVG_1H, in->o3_1h_max, &o3_1h);
    vn_optional(COL_AQI_O3, COL_AQI_AVG_8H, in->o3_8h_max, &o3_8h);
    if (o3_8h.aqi != COL_AQI_NONE && (o3_1h.aqi == COL_AQI_NONE || o3_8h.aqi > o3_1h.aqi ||
                                      (o3_8h.aqi == o3_1h.aqi && o3_8h.exact > o3_1h.exact))) {
        out->sub[COL_AQI_O3] = o3_8h;
    } else {
        out->sub[COL_AQI_O3] = o3_1h;
    }
    vn_optional(COL_AQI_CO, COL_AQI_AVG_1H, in->co_1h_max, &out->sub[COL_AQI_CO]);
    vn_optional(COL_AQI_SO2, COL_AQI_AVG_1H, in->so2_1h_max, &out->sub[COL_AQI_SO2]);
    vn_optional(COL_AQI_NO2, COL_AQI_AVG_1H, in->no2_1h_max, &out->sub[COL_AQI_NO2]);
    vn_finish(out);
    return 0;
}
