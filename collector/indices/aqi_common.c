/* aqi_common.c - helpers shared by both AQI schemes: rounding, truncation, NowCast, rolling
 * means, combination, categories, colours and gas unit conversion. */
#include "col_indices_aqi.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "ct/err.h"

/* Tolerance for decimal inputs whose binary form lies just below a tie or a grid point. */
#define GRID_EPS 1e-9
/* Molar volume of an ideal gas at 25 degC and 1 atm, L/mol. */
#define MOLAR_VOLUME_25C 24.45

#define N_CATEGORIES 6

static const int category_top[N_CATEGORIES] = {50, 100, 150, 200, 300, 500};

static const char *const category_color[N_CATEGORIES] = {"#00E400", "#FFFF00", "#FF7E00",
                                                         "#FF0000", "#8F3F97", "#7E0023"};

/* VN: Bang 1 of Decision 1459/QD-TCMT; English renderings are the project's. */
static const char *const vn_name_vi[N_CATEGORIES] = {"Tốt", "Trung bình", "Kém",
                                                     "Xấu", "Rất xấu",    "Nguy hại"};
static const char *const vn_name_en[N_CATEGORIES] = {"Good", "Moderate", "Poor",
                                                     "Bad",  "Very bad", "Hazardous"};
/* US: EPA category names; Vietnamese renderings are the project's. */
static const char *const us_name_en[N_CATEGORIES] = {
    "Good",      "Moderate",       "Unhealthy for Sensitive Groups",
    "Unhealthy", "Very Unhealthy", "Hazardous"};
static const char *const us_name_vi[N_CATEGORIES] = {"Tốt",
                                                     "Trung bình",
                                                     "Không tốt cho nhóm nhạy cảm",
                                                     "Không tốt cho sức khỏe",
                                                     "Rất không tốt cho sức khỏe",
                                                     "Nguy hại"};

static const char *const pollutant_name[COL_AQI_N_POLLUTANTS] = {"pm25", "pm10", "o3",
                                                                 "co",   "so2",  "no2"};

/* Molecular weights, g/mol; 0 for particulate matter (no conversion). */
static const double molecular_weight[COL_AQI_N_POLLUTANTS] = {0.0, 0.0, 48.00, 28.01, 64.07, 46.01};

long col_aqi_round_half_up(double x)
{
    return (long)floor(x + 0.5 + GRID_EPS);
}

double col_aqi_truncate(double x, double step)
{
    double inv;

    if (isnan(x) || !(step > 0.0)) {
        return NAN;
    }
    if (step < 1.0) {
        /* 1/0.1 and 1/0.001 are not exact: round the scale to the integer it stands for. */
        inv = round(1.0 / step);
        return floor(x * inv + GRID_EPS) / inv;
    }
    return floor(x / step + GRID_EPS) * step;
}

double col_aqi_nowcast(const double *hours, size_t n, double min_weight)
{
    double cmin = INFINITY;
    double cmax = -INFINITY;
    double w;
    double wk = 1.0;
    double num = 0.0;
    double den = 0.0;
    size_t recent = 0;
    size_t i;

    if (hours == NULL || n < 3 || !(min_weight >= 0.0 && min_weight <= 1.0)) {
        return NAN;
    }
    if (n > COL_AQI_NOWCAST_HOURS) {
        n = COL_AQI_NOWCAST_HOURS;
    }
    for (i = 0; i < 3; i++) {
        if (!isnan(hours[i])) {
            recent++;
        }
    }
    if (recent < 2) {
        return NAN;
    }
    for (i = 0; i < n; i++) {
        double c = hours[i];

        if (isnan(c)) {
            continue;
        }
        c = c < 0.0 ? 0.0 : c;
        cmin = c < cmin ? c : cmin;
        cmax = c > cmax ? c : cmax;
    }
    if (cmax <= 0.0) {
        return 0.0;
    }
    w = cmin / cmax;
    if (w < min_weight) {
        w = min_weight;
    }
    for (i = 0; i < n; i++) {
        double c = hours[i];

        if (!isnan(c)) {
            c = c < 0.0 ? 0.0 : c;
            num += wk * c;
            den += wk;
        }
        wk *= w;
    }
    return num / den;
}

int col_aqi_rolling8(const double *hourly, size_t n, size_t min_valid, double *out, size_t out_cap)
{
    size_t k;

    if (hourly == NULL || out == NULL || min_valid < 1 || min_valid > 8) {
        return CT_E_INVAL;
    }
    if (n < 8) {
        return 0;
    }
    if (out_cap < n - 7 || n - 7 > (size_t)INT_MAX) {
        return CT_E_TOOBIG;
    }
    for (k = 0; k + 8 <= n; k++) {
        out[k] = col_aqi_mean(hourly + k, 8, min_valid);
    }
    return (int)(n - 7);
}

double col_aqi_max(const double *v, size_t n)
{
    double m = NAN;
    size_t i;

    for (i = 0; v != NULL && i < n; i++) {
        if (!isnan(v[i]) && (isnan(m) || v[i] > m)) {
            m = v[i];
        }
    }
    return m;
}

double col_aqi_mean(const double *v, size_t n, size_t min_valid)
{
    double sum = 0.0;
    size_t count = 0;
    size_t i;

    for (i = 0; v != NULL && i < n; i++) {
        if (!isnan(v[i])) {
            sum += v[i];
            count++;
        }
    }
    if (count == 0 || count < min_valid) {
        return NAN;
    }
    return sum / (double)count;
}

void col_aqi_combine(struct col_aqi_result *out)
{
    int best = -1;
    int p;

    for (p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
        const struct col_aqi_sub *s = &out->sub[p];

        if (s->aqi == COL_AQI_NONE) {
            continue;
        }
        if (best < 0 || s->aqi > out->sub[best].aqi ||
            (s->aqi == out->sub[best].aqi && s->exact > out->sub[best].exact)) {
            best = p;
        }
    }
    out->dominant = best;
    out->aqi = best < 0 ? COL_AQI_NONE : out->sub[best].aqi;
}

int col_aqi_category(int aqi)
{
    int i;

    if (aqi < 0) {
        return -1;
    }
    for (i = 0; i < N_CATEGORIES; i++) {
        if (aqi <= category_top[i]) {
            return i;
        }
    }
    return -1;
}

const char *col_aqi_category_name(enum col_aqi_scheme scheme, int aqi, bool vietnamese)
{
    int c = col_aqi_category(aqi);

    if (c < 0) {
        return NULL;
    }
    if (scheme == COL_AQI_VN) {
        return vietnamese ? vn_name_vi[c] : vn_name_en[c];
    }
    if (scheme == COL_AQI_US) {
        return vietnamese ? us_name_vi[c] : us_name_en[c];
    }
    return NULL;
}

const char *col_aqi_color(int aqi)
{
    int c = col_aqi_category(aqi);

    return c < 0 ? NULL : category_color[c];
}

const char *col_aqi_pollutant_name(enum col_aqi_pollutant p)
{
    if ((int)p < 0 || p >= COL_AQI_N_POLLUTANTS) {
        return NULL;
    }
    return pollutant_name[p];
}

int col_aqi_pollutant_parse(const char *name, enum col_aqi_pollutant *out)
{
    int p;

    if (name == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    for (p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
        if (strcmp(name, pollutant_name[p]) == 0) {
            *out = (enum col_aqi_pollutant)p;
            return 0;
        }
    }
    return CT_E_INVAL;
}

static double gas_mw(enum col_aqi_pollutant p)
{
    if ((int)p < 0 || p >= COL_AQI_N_POLLUTANTS) {
        return 0.0;
    }
    return molecular_weight[p];
}

double col_aqi_ugm3_to_ppb(enum col_aqi_pollutant p, double ugm3)
{
    double mw = gas_mw(p);

    return mw > 0.0 ? ugm3 * MOLAR_VOLUME_25C / mw : NAN;
}

double col_aqi_ppb_to_ugm3(enum col_aqi_pollutant p, double ppb)
{
    double mw = gas_mw(p);

    return mw > 0.0 ? ppb * mw / MOLAR_VOLUME_25C : NAN;
}

double col_aqi_ugm3_to_ppm(enum col_aqi_pollutant p, double ugm3)
{
    return col_aqi_ugm3_to_ppb(p, ugm3) / 1000.0;
}

double col_aqi_ppm_to_ugm3(enum col_aqi_pollutant p, double ppm)
{
    return col_aqi_ppb_to_ugm3(p, ppm * 1000.0);
}
