/* aqi_hour.c - the hourly air index of one station and hour (col_indices_aqi_hour.h). */
#include <math.h>
#include <string.h>

#include "col_indices_aqi_hour.h"
#include "ct/err.h"

void col_aqi_hour_clear(struct col_aqi_hour_in *in)
{
    for (size_t k = 0; k < COL_AQI_HOUR_BACK; k++) {
        for (size_t p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
            in->mean[k][p] = NAN;
        }
    }
}

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

size_t col_aqi_hour_fields(const struct col_aqi_hour_out *o,
                           struct ct_lp_field f[COL_AQI_HOUR_FIELDS])
{
    size_t nf = 0;

    if (o->vn.aqi != COL_AQI_NONE) {
        fld(&f[nf], "aqi_vn", CT_LP_INT);
        f[nf++].i = o->vn.aqi;
        fld(&f[nf], "aqi_vn_level", CT_LP_INT);
        f[nf++].i = col_aqi_category(o->vn.aqi) + 1;
        fld(&f[nf], "aqi_vn_category", CT_LP_STRING);
        f[nf++].s = col_aqi_category_name(COL_AQI_VN, o->vn.aqi, true);
        fld(&f[nf], "aqi_vn_color", CT_LP_STRING);
        f[nf++].s = col_aqi_color(o->vn.aqi);
        fld(&f[nf], "dominant", CT_LP_STRING);
        f[nf++].s = col_aqi_pollutant_name((enum col_aqi_pollutant)o->vn.dominant);
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
