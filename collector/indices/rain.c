/* rain.c - exact rain accumulations in a time-keyed ring of 5-minute slots; rainfall terms. */
#include "col_indices_rain.h"

#include <math.h>

#include "ct/err.h"

#define UM_PER_MM 1000.0

/* Slot of timestamp 'ts': slot k holds (k*300, (k+1)*300]. Floor division, also for ts <= 0. */
static int64_t slot_of(int64_t ts)
{
    int64_t t = ts - 1;
    int64_t q = t / COL_RAIN_SLOT_S;

    if (t % COL_RAIN_SLOT_S != 0 && t < 0) {
        q--;
    }
    return q;
}

static size_t index_of(int64_t slot)
{
    int64_t m = slot % COL_RAIN_SLOTS;

    return (size_t)(m < 0 ? m + COL_RAIN_SLOTS : m);
}

void col_rain_init(struct col_rain_ring *r)
{
    size_t i;

    for (i = 0; i < COL_RAIN_SLOTS; i++) {
        r->slot[i] = INT64_MIN;
        r->um[i] = 0;
    }
    r->newest = INT64_MIN;
}

int col_rain_add(struct col_rain_ring *r, int64_t ts, double mm)
{
    int64_t slot;
    size_t idx;

    if (r == NULL || isnan(mm)) {
        return CT_E_INVAL;
    }
    if (mm < 0.0 || mm > COL_RAIN_INTERVAL_MAX_MM || ts < 0) {
        return CT_E_RANGE;
    }
    slot = slot_of(ts);
    if (r->newest != INT64_MIN && slot <= r->newest - COL_RAIN_SLOTS) {
        return CT_E_RANGE;
    }
    if (r->newest == INT64_MIN || slot > r->newest) {
        r->newest = slot;
    }
    idx = index_of(slot);
    if (r->slot[idx] != slot) {
        /* The index held an older slot (at least 24 h older): reuse it. */
        r->slot[idx] = slot;
        r->um[idx] = 0;
    }
    r->um[idx] += (int64_t)llround(mm * UM_PER_MM);
    return 0;
}

int col_rain_take(struct col_rain_ring *r, int64_t ts, double mm, double *left)
{
    int64_t want, got;
    size_t idx;

    if (r == NULL || left == NULL || isnan(mm)) {
        return CT_E_INVAL;
    }
    if (mm < 0.0 || mm > COL_RAIN_INTERVAL_MAX_MM || ts < 0) {
        return CT_E_RANGE;
    }
    want = (int64_t)llround(mm * UM_PER_MM);
    idx = index_of(slot_of(ts));
    got = 0;
    if (r->slot[idx] == slot_of(ts)) {
        got = r->um[idx] < want ? r->um[idx] : want;
        r->um[idx] -= got;
    }
    *left = (double)(want - got) / UM_PER_MM;
    return 0;
}

int col_rain_sum(const struct col_rain_ring *r, int64_t now, int64_t window_s, double *mm)
{
    int64_t last;
    int64_t first;
    int64_t total = 0;
    size_t i;

    if (r == NULL || mm == NULL || now < 0 || window_s < COL_RAIN_SLOT_S ||
        window_s > COL_RAIN_WINDOW_MAX_S || window_s % COL_RAIN_SLOT_S != 0) {
        return CT_E_INVAL;
    }
    last = slot_of(now);
    first = last - window_s / COL_RAIN_SLOT_S + 1;
    for (i = 0; i < COL_RAIN_SLOTS; i++) {
        if (r->slot[i] != INT64_MIN && r->slot[i] >= first && r->slot[i] <= last) {
            total += r->um[i];
        }
    }
    *mm = (double)total / UM_PER_MM;
    return 0;
}

int col_rain_rebuild(struct col_rain_ring *r, const int64_t *hour_end, const double *mm, size_t n)
{
    int64_t newest = INT64_MIN;
    int first_err = 0;
    size_t i;

    if (r == NULL || (n > 0 && (hour_end == NULL || mm == NULL))) {
        return CT_E_INVAL;
    }
    col_rain_init(r);
    for (i = 0; i < n; i++) {
        newest = hour_end[i] > newest ? hour_end[i] : newest;
    }
    for (i = 0; i < n; i++) {
        int rc;

        if (hour_end[i] >= 0 && slot_of(hour_end[i]) <= slot_of(newest) - COL_RAIN_SLOTS) {
            continue;
        }
        rc = col_rain_add(r, hour_end[i], mm[i]);
        if (rc != 0 && first_err == 0) {
            first_err = rc;
        }
    }
    return first_err;
}

enum col_rain_term col_rain_term_12h(double mm)
{
    if (isnan(mm) || mm < 0.0) {
        return COL_RAIN_TERM_INVALID;
    }
    if (mm == 0.0) {
        return COL_RAIN_TERM_NONE;
    }
    if (mm < 0.3) {
        return COL_RAIN_TERM_NEGLIGIBLE;
    }
    if (mm < 3.0) {
        return COL_RAIN_TERM_LIGHT;
    }
    if (mm < 8.0) {
        return COL_RAIN_TERM_RAIN;
    }
    if (mm <= 25.0) {
        return COL_RAIN_TERM_MODERATE;
    }
    if (mm <= 50.0) {
        return COL_RAIN_TERM_HEAVY;
    }
    return COL_RAIN_TERM_VERY_HEAVY;
}

enum col_rain_term col_rain_term_24h(double mm)
{
    if (isnan(mm) || mm < 0.0) {
        return COL_RAIN_TERM_INVALID;
    }
    if (mm == 0.0) {
        return COL_RAIN_TERM_NONE;
    }
    if (mm < 6.0) {
        return COL_RAIN_TERM_LIGHT;
    }
    if (mm <= 15.0) {
        return COL_RAIN_TERM_RAIN;
    }
    if (mm <= 50.0) {
        return COL_RAIN_TERM_MODERATE;
    }
    if (mm <= 100.0) {
        return COL_RAIN_TERM_HEAVY;
    }
    return COL_RAIN_TERM_VERY_HEAVY;
}

const char *col_rain_term_name(enum col_rain_term t, bool vietnamese)
{
    static const char *const vi[] = {
        "không mưa", "mưa nhỏ, lượng mưa không đáng kể", "mưa nhỏ", "mưa", "mưa vừa", "mưa to",
        "mưa rất to"};
    static const char *const en[] = {"no rain",        "light rain, negligible amount",
                                     "light rain",     "rain",
                                     "moderate rain",  "heavy rain",
                                     "very heavy rain"};

    if ((int)t < 0 || t > COL_RAIN_TERM_VERY_HEAVY) {
        return NULL;
    }
    return vietnamese ? vi[t] : en[t];
}

bool col_rain_is_intense(double mm_1h)
{
    return mm_1h >= COL_RAIN_INTENSE_MM_H;
}

const char *col_rain_intense_label(bool vietnamese)
{
    return vietnamese ? "gây ngập úng" : "may cause waterlogging";
}
