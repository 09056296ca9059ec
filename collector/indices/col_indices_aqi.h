/* col_indices_aqi.h - air quality indices: Vietnam VN_AQI (Decision 1459/QD-TCMT, 2019) and US EPA
 * AQI (2024 revision), NowCast, 8-hour rolling means and unit conversion.
 *
 * Pure functions over values: no I/O, no allocation, no globals except const tables; safe to call
 * from any thread. A missing or unmeasured concentration is written as NAN (from <math.h>) and an
 * index that a method does not define is COL_AQI_NONE. The rules and their sources are in
 * docs/indices.md. */
#ifndef COL_INDICES_AQI_H
#define COL_INDICES_AQI_H

#include <stdbool.h>
#include <stddef.h>

/* The index value of a sub-index or AQI that the method does not define ("no value"). */
#define COL_AQI_NONE (-1)
/* Number of hourly means a NowCast uses (c1 = current hour .. c12). */
#define COL_AQI_NOWCAST_HOURS 12
/* The weight floor of the PM NowCast (VN 1459 and EPA alike). */
#define COL_AQI_NOWCAST_MIN_WEIGHT 0.5

enum col_aqi_pollutant {
    COL_AQI_PM25 = 0,
    COL_AQI_PM10,
    COL_AQI_O3,
    COL_AQI_CO,
    COL_AQI_SO2,
    COL_AQI_NO2,
    COL_AQI_N_POLLUTANTS
};

/* Averaging period of a concentration; NOWCAST is the PM NowCast value (in the PM unit). */
enum col_aqi_avg { COL_AQI_AVG_1H = 0, COL_AQI_AVG_8H, COL_AQI_AVG_24H, COL_AQI_AVG_NOWCAST };

enum col_aqi_scheme { COL_AQI_VN = 0, COL_AQI_US };

/* One sub-index (or a whole AQI). */
struct col_aqi_sub {
    int aqi;      /* rounded half up, 0..500, or COL_AQI_NONE */
    double exact; /* unrounded value of the equation (500 when capped); NAN when aqi is NONE */
    bool beyond;  /* concentration above the top breakpoint: aqi capped at 500 */
};

/* Combined AQI of several pollutants. */
struct col_aqi_result {
    int aqi;                                      /* max of the defined sub-indices, or NONE */
    int dominant;                                 /* enum col_aqi_pollutant of the max, or -1 */
    struct col_aqi_sub sub[COL_AQI_N_POLLUTANTS]; /* per pollutant; aqi NONE when not computed */
};

/* ---- shared helpers ---------------------------------------------------------------------- */

/* Rounds half up to an integer: 109.5 -> 110, 50.4999 -> 50. Values within 1e-9 below a .5 tie
 * count as the tie, so that decimal inputs whose binary form falls just short still round up. */
long col_aqi_round_half_up(double x);

/* Truncates 'x' >= 0 down to a multiple of 'step' (0.1, 1, 0.001), tolerating the binary
 * representation of decimal inputs (0.29 / 0.01 -> 29, not 28). Returns NAN for NAN input. */
double col_aqi_truncate(double x, double step);

/* NowCast of 'n' hourly means, newest first (hours[0] = c1 = current hour), missing hours NAN.
 * Uses at most COL_AQI_NOWCAST_HOURS values. Negative hours count as 0. Weight
 * w = max(cmin/cmax, min_weight) over the valid hours (w = 1 when all are 0); result
 * sum(w^(i-1) c_i) / sum(w^(i-1)) over the valid hours (the normalised form, also for w = 1/2).
 * Returns NAN (no value) when fewer than 2 of c1..c3 are valid, or when n < 3, hours is NULL or
 * min_weight is outside [0, 1]. Exact: no rounding or truncation. */
double col_aqi_nowcast(const double *hours, size_t n, double min_weight);

/* Rolling 8-hour means of 'n' consecutive hourly means, oldest first: out[k] is the mean of
 * hourly[k .. k+7], so out has n - 7 entries (the mean "at" the hour of hourly[k+7]). A window
 * is the mean of its valid (non-NAN) hours when it has at least 'min_valid' (1..8) of them, else
 * NAN. Returns the number of means written (0 when n < 8), or a negative CT_E_INVAL for NULL
 * pointers or a bad min_valid, CT_E_TOOBIG when out_cap < n - 7. 'out' is caller-owned. */
int col_aqi_rolling8(const double *hourly, size_t n, size_t min_valid, double *out, size_t out_cap);

/* Largest non-NAN value of 'v[0..n)', or NAN when there is none. */
double col_aqi_max(const double *v, size_t n);

/* Mean of the non-NAN values when at least 'min_valid' (>= 1) exist, else NAN. */
double col_aqi_mean(const double *v, size_t n, size_t min_valid);

/* Picks the max defined sub-index of out->sub[] into out->aqi and out->dominant (the first
 * pollutant in enum order wins a tie). aqi NONE and dominant -1 when none is defined. */
void col_aqi_combine(struct col_aqi_result *out);

/* Category index 0..5 of an AQI (0-50, 51-100, 101-150, 151-200, 201-300, 301-500: the same
 * bands in both schemes), or -1 for COL_AQI_NONE or a value outside 0..500. */
int col_aqi_category(int aqi);
/* Category name of 'aqi' in the scheme's table (VN Bang 1 / EPA), Vietnamese when 'vietnamese'
 * else English; static strings, NULL when col_aqi_category() is -1. */
const char *col_aqi_category_name(enum col_aqi_scheme scheme, int aqi, bool vietnamese);
/* Colour "#RRGGBB" of 'aqi' (identical in both schemes); static string, NULL when undefined. */
const char *col_aqi_color(int aqi);

/* Names "pm25" "pm10" "o3" "co" "so2" "no2"; static strings, NULL for a bad value. */
const char *col_aqi_pollutant_name(enum col_aqi_pollutant p);
/* Parses a pollutant name as above. Returns 0, or CT_E_INVAL (then *out is untouched). */
int col_aqi_pollutant_parse(const char *name, enum col_aqi_pollutant *out);

/* Gas unit conversion at 25 degC and 1 atm (molar volume 24.45 L/mol), molecular weights
 * O3 48.00, NO2 46.01, SO2 64.07, CO 28.01: ppb = ug/m3 * 24.45 / MW. Return NAN for PM2.5,
 * PM10, a bad pollutant or a NAN value. */
double col_aqi_ugm3_to_ppb(enum col_aqi_pollutant p, double ugm3);
double col_aqi_ppb_to_ugm3(enum col_aqi_pollutant p, double ppb);
double col_aqi_ugm3_to_ppm(enum col_aqi_pollutant p, double ugm3);
double col_aqi_ppm_to_ugm3(enum col_aqi_pollutant p, double ppm);

/* ---- VN_AQI (Decision 1459/QD-TCMT) ------------------------------------------------------ */

/* Sub-index of one concentration 'c' (ug/m3, CO too) by formula 1 on Bang 2. The column follows
 * the averaging: o3 1h -> O3 (1h); o3 8h -> O3 (8h), none above 400; co/so2/no2 1h -> their
 * column (the hourly mean, or the day's max hourly mean); pm25/pm10 nowcast (hourly AQI) or 24h
 * (daily AQI) -> the PM column. Any other pair is not defined by the decision: out->aqi NONE.
 * At or above the level-8 breakpoint the index is 500 (beyond set above it). Returns 0, or
 * CT_E_INVAL for a bad enum or NULL out, CT_E_RANGE for c negative or NAN (out untouched). */
int col_aqi_vn_sub(enum col_aqi_pollutant p, enum col_aqi_avg avg, double c,
                   struct col_aqi_sub *out);

/* Inputs of an hourly VN AQI (AQI^h), all ug/m3, NAN = not measured. */
struct col_aqi_vn_hour_in {
    double pm25[COL_AQI_NOWCAST_HOURS]; /* hourly means newest first (c1..c12), NAN missing */
    double pm10[COL_AQI_NOWCAST_HOURS]; /* same for PM10 */
    double o3_1h;                       /* current 1-h means */
    double co_1h;
    double so2_1h;
    double no2_1h;
};

/* Hourly VN AQI: PM by NowCast (exact), the gases by their 1-h mean; AQI^h = max of the
 * sub-indices. When neither PM2.5 nor PM10 has a sub-index (the decision requires one of them)
 * out->aqi is NONE, while out->sub[] still holds what was computed. Negative gas values are
 * treated as missing. Returns 0, or CT_E_INVAL for NULL pointers. */
int col_aqi_vn_hourly(const struct col_aqi_vn_hour_in *in, struct col_aqi_result *out);

/* Inputs of a daily VN AQI (AQI^d), ug/m3, NAN = not measured. */
struct col_aqi_vn_day_in {
    double pm25_24h; /* 24-h mean 01:00 .. 00:00 */
    double pm10_24h;
    double o3_1h_max; /* the day's max 1-h mean */
    double o3_8h_max; /* the day's max rolling 8-h mean; not used when > 400 */
    double co_1h_max;
    double so2_1h_max;
    double no2_1h_max;
};

/* Daily VN AQI: formula 1 for all; O3 = max(sub(O3 1h max), sub(O3 8h max)) with the 8-h part
 * dropped when the 8-h max is above 400; PM rule as for hourly. Returns 0 or CT_E_INVAL. */
int col_aqi_vn_daily(const struct col_aqi_vn_day_in *in, struct col_aqi_result *out);

/* ---- US EPA AQI (2024) ------------------------------------------------------------------- */

/* Sub-index of 'c' in the scheme's unit (ug/m3 PM, ppm O3 and CO, ppb SO2 and NO2). The value
 * is first truncated (PM2.5 0.1, PM10 1, O3 0.001 ppm, CO 0.1 ppm, SO2/NO2 1 ppb). Defined pairs:
 * pm25/pm10 24h and nowcast (a NowCast value, same table), o3 8h (none above 0.200 ppm) and 1h
 * (none below 0.125 ppm), co 8h, so2 1h (none at 305 ppb and above) and 24h (only 305 ppb and
 * above: AQI 201-500), no2 1h. Other pairs: out->aqi NONE. Above the top breakpoint: 500 with
 * beyond set. Returns 0, CT_E_INVAL (bad enum, NULL), CT_E_RANGE (c negative or NAN). */
int col_aqi_us_sub(enum col_aqi_pollutant p, enum col_aqi_avg avg, double c,
                   struct col_aqi_sub *out);

/* Inputs of a current US AQI, scheme units, NAN = not measured. */
struct col_aqi_us_in {
    double pm25[COL_AQI_NOWCAST_HOURS]; /* ug/m3 hourly means newest first, NAN missing */
    double pm10[COL_AQI_NOWCAST_HOURS];
    double o3_8h;   /* ppm */
    double o3_1h;   /* ppm */
    double co_8h;   /* ppm */
    double so2_1h;  /* ppb */
    double so2_24h; /* ppb; used only where the 1-h value is undefined (>= 305 ppb) */
    double no2_1h;  /* ppb */
};

/* Current US AQI: PM by EPA NowCast (min weight 0.5, 2 of the last 3 hours, then truncated),
 * O3 = max of the defined 8-h and 1-h sub-indices, SO2 from the 1-h value or else the 24-h one,
 * CO 8-h, NO2 1-h; the AQI is the max, dominant its pollutant. Returns 0 or CT_E_INVAL. */
int col_aqi_us_current(const struct col_aqi_us_in *in, struct col_aqi_result *out);

#endif
