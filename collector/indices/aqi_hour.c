/* aqi_hour.c - the hourly air index of one station and hour (col_indices_aqi_hour.h). */
#include <math.h>
#include <string.h>

#include "col_indices_aqi_hour.h"
#include "ct/err.h"

/* The means of pollutant p over the n hours ending with the hour computed. */
static double mean_back(const struct col_aqi_hour_in *in, int p, size_t n, size_t min_valid)
{
    double v[COL_AQI_HOUR_BACK];

    for (size_t k = 0; k < n; k++) {
        v[k] = in->mean[k][p];
    }
    return col_aqi_mean(v, n, min_valid);
}

int col_aqi_hour_compute(const struct col_aqi_hour_in *in, struct col_aqi_hour_out *out)
{
    struct col_aqi_vn_hour_in vin;
    struct col_aqi_us_in uin;
    int rc;

    if (in == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    for (size_t k = 0; k < COL_AQI_NOWCAST_HOURS; k++) {
        vin.pm25[k] = in->mean[k][COL_AQI_PM25];
        vin.pm10[k] = in->mean[k][COL_AQI_PM10];
    }
    vin.o3_1h = in->mean[0][COL_AQI_O3];
    vin.co_1h = in->mean[0][COL_AQI_CO];
    vin.so2_1h = in->mean[0][COL_AQI_SO2];
    vin.no2_1h = in->mean[0][COL_AQI_NO2];
    memcpy(uin.pm25, vin.pm25, sizeof(uin.pm25));
    memcpy(uin.pm10, vin.pm10, sizeof(uin.pm10));
    uin.o3_8h = col_aqi_ugm3_to_ppm(COL_AQI_O3, mean_back(in, COL_AQI_O3, 8, 6));
    uin.o3_1h = col_aqi_ugm3_to_ppm(COL_AQI_O3, vin.o3_1h);
    uin.co_8h = col_aqi_ugm3_to_ppm(COL_AQI_CO, mean_back(in, COL_AQI_CO, 8, 6));
    uin.so2_1h = col_aqi_ugm3_to_ppb(COL_AQI_SO2, vin.so2_1h);
    uin.so2_24h = col_aqi_ugm3_to_ppb(COL_AQI_SO2, mean_back(in, COL_AQI_SO2, 24, 18));
    uin.no2_1h = col_aqi_ugm3_to_ppb(COL_AQI_NO2, vin.no2_1h);
    rc = col_aqi_vn_hourly(&vin, &out->vn);
    rc = rc ? rc : col_aqi_us_current(&uin, &out->us);
    if (rc != 0) {
        return rc;
    }
    out->nowcast_pm25 =
        col_aqi_nowcast(vin.pm25, COL_AQI_NOWCAST_HOURS, COL_AQI_NOWCAST_MIN_WEIGHT);
    out->nowcast_pm10 =
        col_aqi_nowcast(vin.pm10, COL_AQI_NOWCAST_HOURS, COL_AQI_NOWCAST_MIN_WEIGHT);
    return 0;
}

static void fld(struct ct_lp_field *f, const char *k, enum ct_lp_ftype type)
{
    memset(f, 0, sizeof(*f));
    f->key = k;
    f->type = type;
}

/* The VN_AQI fields shared by the hourly and daily points; returns how many (5). */
static size_t vn_fields(const struct col_aqi_result *r, struct ct_lp_field *f)
{
    fld(&f[0], "aqi_vn", CT_LP_INT);
    f[0].i = r->aqi;
    fld(&f[1], "aqi_vn_level", CT_LP_INT);
    f[1].i = col_aqi_category(r->aqi) + 1;
    fld(&f[2], "aqi_vn_category", CT_LP_STRING);
    f[2].s = col_aqi_category_name(COL_AQI_VN, r->aqi, true);
    fld(&f[3], "aqi_vn_color", CT_LP_STRING);
    f[3].s = col_aqi_color(r->aqi);
    fld(&f[4], "dominant", CT_LP_STRING);
    f[4].s = col_aqi_pollutant_name((enum col_aqi_pollutant)r->dominant);
    return 5;
}

size_t col_aqi_hour_fields(const struct col_aqi_hour_out *o,
                           struct ct_lp_field f[COL_AQI_HOUR_FIELDS])
{
    size_t nf = 0;

    if (o->vn.aqi != COL_AQI_NONE) {
        nf += vn_fields(&o->vn, f);
    }
    if (o->us.aqi != COL_AQI_NONE) {
        fld(&f[nf], "aqi_us", CT_LP_INT);
        f[nf++].i = o->us.aqi;
        fld(&f[nf], "aqi_us_category", CT_LP_STRING);
        f[nf++].s = col_aqi_category_name(COL_AQI_US, o->us.aqi, false);
    }
    if (nf == 0) {
        return 0;
    }
    if (!isnan(o->nowcast_pm25)) {
        fld(&f[nf], "nowcast_pm25", CT_LP_FLOAT);
        f[nf++].f = o->nowcast_pm25;
    }
    if (!isnan(o->nowcast_pm10)) {
        fld(&f[nf], "nowcast_pm10", CT_LP_FLOAT);
        f[nf++].f = o->nowcast_pm10;
    }
    return nf;
}

/* The n hourly means of pollutant p ending with the day's last hour, oldest first. */
static void day_series(const struct col_aqi_day_in *in, int p, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = in->mean[n - 1 - i][p];
    }
}

int col_aqi_day_compute(const struct col_aqi_day_in *in, struct col_aqi_result *out)
{
    struct col_aqi_vn_day_in d;
    double s24[24];
    double s31[COL_AQI_DAY_BACK];
    double m8[24];

    if (in == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    day_series(in, COL_AQI_PM25, s24, 24);
    d.pm25_24h = col_aqi_mean(s24, 24, 18);
    day_series(in, COL_AQI_PM10, s24, 24);
    d.pm10_24h = col_aqi_mean(s24, 24, 18);
    day_series(in, COL_AQI_O3, s24, 24);
    d.o3_1h_max = col_aqi_max(s24, 24);
    day_series(in, COL_AQI_O3, s31, COL_AQI_DAY_BACK);
    d.o3_8h_max =
        col_aqi_rolling8(s31, COL_AQI_DAY_BACK, 6, m8, 24) == 24 ? col_aqi_max(m8, 24) : NAN;
    day_series(in, COL_AQI_CO, s24, 24);
    d.co_1h_max = col_aqi_max(s24, 24);
    day_series(in, COL_AQI_SO2, s24, 24);
    d.so2_1h_max = col_aqi_max(s24, 24);
    day_series(in, COL_AQI_NO2, s24, 24);
    d.no2_1h_max = col_aqi_max(s24, 24);
    return col_aqi_vn_daily(&d, out);
}

size_t col_aqi_day_fields(const struct col_aqi_result *r, struct ct_lp_field f[COL_AQI_DAY_FIELDS])
{
    return r->aqi == COL_AQI_NONE ? 0 : vn_fields(r, f);
}
