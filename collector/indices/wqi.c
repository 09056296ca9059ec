/* wqi.c - preliminary VN_WQI: sub-index tables, group formula, categories. */
#include "col_indices_wqi.h"

#include <math.h>
#include <stddef.h>

#include "ct/err.h"

#define WQI_MAX_POINTS 8
#define N_CATEGORIES 6

struct wqi_table {
    size_t n;
    double bp[WQI_MAX_POINTS];
    double q[WQI_MAX_POINTS];
    double below; /* q below the first breakpoint */
    double above; /* q above the last breakpoint */
};

static const struct wqi_table t_ph = {4, {5.5, 6.0, 8.5, 9.0}, {50, 100, 100, 50}, 10, 10};
static const struct wqi_table t_do = {
    8, {20, 50, 75, 88, 112, 125, 150, 200}, {25, 50, 75, 100, 100, 75, 50, 25}, 10, 10};
static const struct wqi_table t_cod = {5, {10, 15, 30, 50, 150}, {100, 75, 50, 25, 10}, 100, 10};
static const struct wqi_table t_nh4 = {4, {0.3, 0.6, 0.9, 5}, {75, 50, 25, 10}, 100, 10};
static const struct wqi_table t_bod5 = {5, {4, 6, 15, 25, 50}, {100, 75, 50, 25, 10}, 100, 10};
static const struct wqi_table t_coliform = {
    4, {2500, 5000, 7500, 10000}, {100, 75, 50, 25}, 100, 10};

static const int category_min[N_CATEGORIES] = {91, 76, 51, 26, 10, 0};
static const char *const category_vi[N_CATEGORIES] = {"Rất tốt", "Tốt", "Trung bình",
                                                      "Xấu",     "Kém", "Ô nhiễm rất nặng"};
static const char *const category_en[N_CATEGORIES] = {"Very good", "Good", "Medium",
                                                      "Poor",      "Bad",  "Very heavily polluted"};
static const char *const category_color[N_CATEGORIES] = {"#3333FF", "#00E400", "#FFFF00",
                                                         "#FF7E00", "#FF0000", "#7E0023"};

static double interpolate(const struct wqi_table *t, double c)
{
    size_t i;

    if (isnan(c) || c < 0.0) {
        return NAN;
    }
    if (c < t->bp[0]) {
        return t->below;
    }
    if (c > t->bp[t->n - 1]) {
        return t->above;
    }
    for (i = 0; i + 1 < t->n; i++) {
        if (c <= t->bp[i + 1]) {
            return t->q[i] + (t->q[i + 1] - t->q[i]) * (c - t->bp[i]) / (t->bp[i + 1] - t->bp[i]);
        }
    }
    return t->q[t->n - 1];
}

double col_wqi_sub_ph(double ph)
{
    return interpolate(&t_ph, ph);
}

double col_wqi_do_sat(double temp_c)
{
    double t = temp_c;

    return 14.652 - 0.41022 * t + 0.0079910 * t * t - 0.000077774 * t * t * t;
}

double col_wqi_sub_do_pct(double pct_sat)
{
    return interpolate(&t_do, pct_sat);
}

double col_wqi_sub_do(double do_mg_l, double temp_c)
{
    double sat = col_wqi_do_sat(temp_c);

    if (isnan(do_mg_l) || do_mg_l < 0.0 || !(sat > 0.0)) {
        return NAN;
    }
    return col_wqi_sub_do_pct(do_mg_l / sat * 100.0);
}

double col_wqi_sub_cod(double mg_l)
{
    return interpolate(&t_cod, mg_l);
}

double col_wqi_sub_nh4(double mg_l)
{
    return interpolate(&t_nh4, mg_l);
}

double col_wqi_sub_bod5(double mg_l)
{
    return interpolate(&t_bod5, mg_l);
}

double col_wqi_sub_coliform(double mpn)
{
    return interpolate(&t_coliform, mpn);
}

static bool lab_index_bad(double v)
{
    return !isnan(v) && !(v >= 0.0 && v <= 100.0);
}

int col_wqi_compute(const struct col_wqi_in *in, struct col_wqi_result *out)
{
    const double group_iv[] = {
        col_wqi_sub_do(in != NULL ? in->do_mg_l : NAN, in != NULL ? in->temp_c : NAN),
        col_wqi_sub_bod5(in != NULL ? in->bod5_mg_l : NAN),
        col_wqi_sub_cod(in != NULL ? in->cod_mg_l : NAN),
        col_wqi_sub_nh4(in != NULL ? in->nh4_mg_l : NAN)};
    double q_i;
    double q_ii;
    double q_iii;
    double q_v;
    double sum = 0.0;
    double factor;
    int count = 0;
    size_t k;

    if (in == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    if (lab_index_bad(in->wqi_ii) || lab_index_bad(in->wqi_iii)) {
        return CT_E_RANGE;
    }
    for (k = 0; k < sizeof(group_iv) / sizeof(group_iv[0]); k++) {
        if (!isnan(group_iv[k])) {
            sum += group_iv[k];
            count++;
        }
    }
    q_i = col_wqi_sub_ph(in->ph);
    q_v = col_wqi_sub_coliform(in->coliform_mpn);
    q_ii = in->wqi_ii;
    q_iii = in->wqi_iii;
    out->groups = (!isnan(q_i) ? 1 : 0) + (!isnan(q_ii) ? 1 : 0) + (!isnan(q_iii) ? 1 : 0) +
                  (count > 0 ? 1 : 0) + (!isnan(q_v) ? 1 : 0);
    /* group_iv[1] is BOD5: a lab parameter like coliform and the group II/III indices. */
    out->preliminary = isnan(group_iv[1]) || isnan(q_v) || isnan(q_ii) || isnan(q_iii);
    out->full_method = count > 0 && out->groups >= 3;
    if (count == 0) {
        out->wqi = COL_WQI_NONE;
        out->exact = NAN;
        return 0;
    }
    factor = (isnan(q_i) ? 1.0 : q_i / 100.0) * (isnan(q_ii) ? 1.0 : q_ii / 100.0) *
             (isnan(q_iii) ? 1.0 : q_iii / 100.0);
    if (isnan(q_v)) {
        out->exact = factor * (sum / count);
    } else {
        double iv = sum / count;

        out->exact = factor * cbrt(iv * iv * q_v);
    }
    out->wqi = (int)floor(out->exact + 0.5 + 1e-9);
    return 0;
}

int col_wqi_category(int wqi)
{
    int i;

    if (wqi < 0 || wqi > 100) {
        return -1;
    }
    for (i = 0; i < N_CATEGORIES; i++) {
        if (wqi >= category_min[i]) {
            return i;
        }
    }
    return -1;
}

const char *col_wqi_category_name(int wqi, bool vietnamese)
{
    int c = col_wqi_category(wqi);

    if (c < 0) {
        return NULL;
    }
    return vietnamese ? category_vi[c] : category_en[c];
}

const char *col_wqi_color(int wqi)
{
    int c = col_wqi_category(wqi);

    return c < 0 ? NULL : category_color[c];
}
