/* derive_hour.c - hourly means per station and member, and what they feed: air_aqi (VN_AQI with
 * NowCast, US EPA AQI), air_aqi_daily (VN_AQI at 00:00 Asia/Ho_Chi_Minh) and water_wqi. */
#include <math.h>
#include <string.h>

#include "col_indices_aqi_hour.h"
#include "col_indices_wqi_hour.h"
#include "derive_int.h"

static const char *const air_members[HIST_MEMBERS] = {"pm25", "pm10", "o3", "co", "so2", "no2"};
static const char *const water_members[HIST_MEMBERS] = {"ph", "do", "t", "cod", "nh4", NULL};

int col_derive_hist_member(enum ct_kind kind, const char *name)
{
    const char *const *t = kind == CT_KIND_AIR     ? air_members
                           : kind == CT_KIND_WATER ? water_members
                                                   : NULL;

    for (int i = 0; t != NULL && i < HIST_MEMBERS; i++) {
        if (t[i] != NULL && strcmp(t[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

static size_t slot_of(int64_t start_ms)
{
    int64_t h = col_derive_floor_div(start_ms, HOUR_MS) % HIST_HOURS;

    return (size_t)(h < 0 ? h + HIST_HOURS : h);
}

/* count + add, saturating at UINT32_MAX (an hour holds far fewer readings). */
static uint32_t cnt_add(uint32_t count, int64_t add)
{
    int64_t sum = (int64_t)count + add;

    return sum <= 0 ? 0 : sum >= (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

static size_t slot_prepare(struct hist *h, int64_t start_ms)
{
    size_t s = slot_of(start_ms);

    if (h->start[s] != start_ms) {
        h->start[s] = start_ms;
        memset(h->sum[s], 0, sizeof(h->sum[s]));
        memset(h->cnt[s], 0, sizeof(h->cnt[s]));
    }
    return s;
}

void col_derive_hist_put(struct hist *h, int64_t start_ms, int member, double sum, int64_t count)
{
    size_t s;

    if (member < 0 || member >= HIST_MEMBERS || count <= 0) {
        return;
    }
    s = slot_prepare(h, start_ms);
    h->sum[s][member] = sum;
    h->cnt[s][member] = cnt_add(0, count);
}

void col_derive_hist_set(struct hist *h, enum ct_kind kind, int64_t start_ms,
                         const struct agg_win *w, bool merge)
{
    size_t s = slot_prepare(h, start_ms);

    if (!merge) {
        memset(h->sum[s], 0, sizeof(h->sum[s]));
        memset(h->cnt[s], 0, sizeof(h->cnt[s]));
    }
    for (size_t i = 0; i < w->n; i++) {
        int m = col_derive_hist_member(kind, w->m[i].name);
        if (m >= 0) {
            h->sum[s][m] += w->m[i].sum;
            h->cnt[s][m] = cnt_add(h->cnt[s][m], w->m[i].count);
        }
    }
}

/* Mean of 'member' in the hour starting at start_ms, NAN when absent. */
static double mean_at(const struct hist *h, int64_t start_ms, int member)
{
    size_t s = slot_of(start_ms);

    if (h->start[s] != start_ms || h->cnt[s][member] == 0) {
        return NAN;
    }
    return h->sum[s][member] / (double)h->cnt[s][member];
}

static void tags3(const struct dv *v, struct ct_lp_tag t[3])
{
    t[0] = (struct ct_lp_tag){"device", v->id};
    t[1] = (struct ct_lp_tag){"district", v->district};
    t[2] = (struct ct_lp_tag){"ward", v->ward};
}

static void air_hourly(struct col_derive *d, struct dv *v, int64_t start)
{
    const struct hist *h = &v->air->h;
    struct col_aqi_hour_in in;
    struct col_aqi_hour_out out;
    struct ct_lp_field f[COL_AQI_HOUR_FIELDS];
    struct ct_lp_tag t[3];
    size_t nf;
    int level;

    for (size_t k = 0; k < COL_AQI_HOUR_BACK; k++) {
        for (int p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
            in.mean[k][p] = mean_at(h, start - (int64_t)k * HOUR_MS, p);
        }
    }
    if (col_aqi_hour_compute(&in, &out) != 0) {
        return;
    }
    nf = col_aqi_hour_fields(&out, f);
    if (nf == 0) {
        return;
    }
    tags3(v, t);
    col_derive_emit_point(d, "air_aqi", t, 3, f, nf, start + HOUR_MS);
    if (out.vn.aqi != COL_AQI_NONE) {
        level = col_aqi_category(out.vn.aqi) + 1;
        if (level >= 4 && level > v->air->last_level) {
            col_derive_alert(d, v, "aqi", start + HOUR_MS, level,
                             col_aqi_category_name(COL_AQI_VN, out.vn.aqi, true),
                             col_aqi_category_name(COL_AQI_VN, out.vn.aqi, false),
                             (double)out.vn.aqi);
        }
        v->air->last_level = level;
    }
}

/* Daily VN_AQI of the day ending at day_end (00:00 local): hours 01:00 .. 00:00. */
static void air_daily(struct col_derive *d, struct dv *v, int64_t day_end)
{
    const struct hist *h = &v->air->h;
    int64_t last = day_end - HOUR_MS;
    struct col_aqi_day_in in;
    struct col_aqi_result res;
    struct ct_lp_field f[COL_AQI_DAY_FIELDS];
    struct ct_lp_tag t[3];
    size_t nf;

    for (size_t k = 0; k < COL_AQI_DAY_BACK; k++) {
        for (int p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
            in.mean[k][p] = mean_at(h, last - (int64_t)k * HOUR_MS, p);
        }
    }
    if (col_aqi_day_compute(&in, &res) != 0) {
        return;
    }
    nf = col_aqi_day_fields(&res, f);
    if (nf == 0) {
        return;
    }
    tags3(v, t);
    col_derive_emit_point(d, "air_aqi_daily", t, 3, f, nf, day_end);
}

static void water_hourly(struct col_derive *d, struct dv *v, int64_t start)
{
    const struct hist *h = &v->air->h;
    struct col_wqi_in in;
    struct col_wqi_result res;
    struct ct_lp_field f[COL_WQI_HOUR_FIELDS];
    struct ct_lp_tag t[3];
    size_t nf;

    col_wqi_hour_clear(&in);
    for (int i = 0; i < HIST_MEMBERS; i++) {
        if (water_members[i] != NULL) {
            col_wqi_hour_set(&in, water_members[i], mean_at(h, start, i));
        }
    }
    if (col_wqi_compute(&in, &res) != 0) {
        return;
    }
    nf = col_wqi_hour_fields(&res, f);
    if (nf == 0) {
        return;
    }
    tags3(v, t);
    col_derive_emit_point(d, "water_wqi", t, 3, f, nf, start + HOUR_MS);
}

void col_derive_hour_closed(struct col_derive *d, struct dv *v, const struct agg_win *w)
{
    int64_t end = w->start_ms + HOUR_MS;

    col_derive_hist_set(&v->air->h, v->kind, w->start_ms, w, false);
    if (v->kind == CT_KIND_AIR) {
        air_hourly(d, v, w->start_ms);
        if ((end + LOCAL_OFFSET_MS) % DAY_MS == 0) {
            air_daily(d, v, end);
        }
    } else if (v->kind == CT_KIND_WATER) {
        water_hourly(d, v, w->start_ms);
    }
}
