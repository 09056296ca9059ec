/* col_indices_aqi_hour.h - the hourly air index of one station and hour, as the air_aqi point
 * holds it: VN_AQI (Decision 1459: PM by NowCast over 12 hours, gases by their 1-h mean), the US
 * EPA AQI (NowCast, O3 and CO 8-h means, SO2 1-h or 24-h) and the two PM NowCasts, from the
 * station's hourly means. The one implementation that collector/derive (the live air_aqi), the
 * console's raw-and-validated page (GET aqi) and its recompute from validated data
 * (console_recompute.c) all call, so the three cannot disagree (test_indices_aqi_vn:
 * test_aqi_hour_matches_parts; test_console_recompute).
 *
 * Pure: no I/O, no allocation; safe on any thread. */
#ifndef COL_INDICES_AQI_HOUR_H
#define COL_INDICES_AQI_HOUR_H

#include "col_indices_aqi.h"
#include "ct/lp.h"

/* Hours of means an hourly index reads: the hour and the 23 before (the US SO2 24-h mean). */
#define COL_AQI_HOUR_BACK 24
/* Hours of means a daily index reads: the day's 24 and the 7 before (O3 8-h means). */
#define COL_AQI_DAY_BACK 31
/* Fields of an air_aqi_daily point (col_aqi_day_fields). */
#define COL_AQI_DAY_FIELDS 5
/* Fields of an air_aqi point at most (col_aqi_hour_fields). */
#define COL_AQI_HOUR_FIELDS 9

/* mean[k][p]: the mean of pollutant p (enum col_aqi_pollutant) over the hour k hours before the
 * hour computed (k = 0: that hour), in ug/m3; NAN when the hour has no value. */
struct col_aqi_hour_in {
    double mean[COL_AQI_HOUR_BACK][COL_AQI_N_POLLUTANTS];
};

struct col_aqi_hour_out {
    struct col_aqi_result vn; /* vn.aqi COL_AQI_NONE when undefined */
    struct col_aqi_result us; /* us.aqi likewise */
    double nowcast_pm25;      /* NAN when undefined */
    double nowcast_pm10;
};

/* Computes the hour's indices. Returns 0, or CT_E_INVAL for NULL pointers (out untouched). */
int col_aqi_hour_compute(const struct col_aqi_hour_in *in, struct col_aqi_hour_out *out);

/* The air_aqi fields of 'o' (aqi_vn, aqi_vn_level, aqi_vn_category, aqi_vn_color, dominant when
 * the VN_AQI is defined; aqi_us, aqi_us_category when the US AQI is; nowcast_pm25, nowcast_pm10
 * when defined, and only with an index) into f[0..n); returns n (0: nothing to write). The
 * strings are static; 'o' must outlive the use of f (nothing of it is borrowed today). */
size_t col_aqi_hour_fields(const struct col_aqi_hour_out *o,
                           struct ct_lp_field f[COL_AQI_HOUR_FIELDS]);

/* mean[k][p]: the mean of pollutant p over the hour k hours before the day's last hour (k = 0:
 * 23:00-00:00 local; the day is 01:00 .. 00:00, Decision 1459), ug/m3, NAN when absent. */
struct col_aqi_day_in {
    double mean[COL_AQI_DAY_BACK][COL_AQI_N_POLLUTANTS];
};

/* The daily VN_AQI (air_aqi_daily) of the day: PM 24-h means (18 of 24 hours), O3 the larger of
 * the day's max 1-h mean and max rolling 8-h mean (6 of 8 hours), CO, SO2, NO2 their max 1-h
 * means. Returns 0 or CT_E_INVAL; out->aqi COL_AQI_NONE when undefined. The one implementation
 * of collector/derive and the console's recompute (test_derive_air, test_console_recompute). */
int col_aqi_day_compute(const struct col_aqi_day_in *in, struct col_aqi_result *out);

/* The air_aqi_daily fields of 'r' (aqi_vn, aqi_vn_level, aqi_vn_category, aqi_vn_color,
 * dominant) into f; returns 5, or 0 when r->aqi is COL_AQI_NONE. Static strings. */
size_t col_aqi_day_fields(const struct col_aqi_result *r, struct ct_lp_field f[COL_AQI_DAY_FIELDS]);

#endif
