/* layers_util.c - VN_AQI categories, InfluxQL text, registry view, ISO 8601 times. Pure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "layers_priv.h"

static const struct col_layers_aqi_cat aqi_cats[6] = {
    {1, 0, 50, "Tốt", "Good", "#00E400"},
    {2, 51, 100, "Trung bình", "Moderate", "#FFFF00"},
    {3, 101, 150, "Kém", "Poor", "#FF7E00"},
    {4, 151, 200, "Xấu", "Bad", "#FF0000"},
    {5, 201, 300, "Rất xấu", "Very bad", "#8F3F97"},
    {6, 301, 500, "Nguy hại", "Hazardous", "#7E0023"},
};

const struct col_layers_aqi_cat *col_layers_aqi_category(int aqi)
{
    if (aqi < 0) {
        return NULL;
    }
    for (size_t i = 0; i < 6; i++) {
        if (aqi <= aqi_cats[i].hi) {
            return &aqi_cats[i];
        }
    }
    return &aqi_cats[5];
}

const struct col_layers_aqi_cat *col_layers_aqi_categories(size_t *count)
{
    if (count) {
        *count = 6;
    }
    return aqi_cats;
}

int64_t col_layers_default_stale_ms(enum ct_kind kind)
{
    switch (kind) {
    case CT_KIND_AIR:
    case CT_KIND_WATER:
        return 2 * 3600 * 1000LL;
    case CT_KIND_RAIN:
        return 30 * 60 * 1000LL;
    case CT_KIND_FLOOD:
    case CT_KIND_PARKING:
        return 15 * 60 * 1000LL;
    default:
        return 0;
    }
}

/* Measurements read per layer; the first is the raw kind measurement. */
const char *const col_layers_meas[CT_KIND__COUNT][3] = {
    [CT_KIND_AIR] = {"air", "air_aqi", NULL},
    [CT_KIND_WATER] = {"water", "water_wqi", NULL},
    [CT_KIND_RAIN] = {"rain", "rain_1h", NULL},
    [CT_KIND_FLOOD] = {"flood", "flood_level", NULL},
    [CT_KIND_PARKING] = {"parking", "parking_lot", NULL},
};

int col_layers_sel(enum ct_kind kind, uint32_t lookback_s, struct col_storeq_sel *sel, size_t *n)
{
    if (!sel || !n || (int)kind < 0 || kind >= CT_KIND__COUNT || lookback_s == 0) {
        return CT_E_INVAL;
    }
    *n = 0;
    for (size_t i = 0; i < 3 && col_layers_meas[kind][i]; i++) {
        const char *m = col_layers_meas[kind][i];
        sel[i] = (struct col_storeq_sel){
            .meas = m, .window_s = lookback_s, .window_unit = 's', .tags = {"device", NULL}};
        if (strcmp(m, "parking_lot") == 0) {
            sel[i].tags[1] = "lot";
        }
        (*n)++;
    }
    /* The ranges staff marked invalid in the console (docs/console.md): a decision about a
     * value in the lookback is made after it, so the decision's own time bounds the query. */
    col_layers_decisions_sel(lookback_s, 's', &sel[*n]);
    (*n)++;
    return 0;
}

void col_layers_decisions_sel(uint32_t window_s, char unit, struct col_storeq_sel *sel)
{
    /* Only the range, the parameter and whether it was withdrawn are read (never who or why). */
    *sel = (struct col_storeq_sel){.meas = "console_decision",
                                   .window_s = window_s,
                                   .window_unit = unit,
                                   .tags = {"station", "param"},
                                   .rows = true,
                                   .cols = {"from", "to", "revoked", NULL},
                                   .where_tag = "action",
                                   .where_value = "invalid"};
}

void col_layers_decision_cols(const cJSON *cols, struct col_layers_deccols *dc)
{
    const cJSON *c;
    int i = 0;

    *dc = (struct col_layers_deccols){-1, -1, -1};
    cJSON_ArrayForEach(c, cols)
    {
        const char *n = cJSON_IsString(c) ? c->valuestring : "";
        dc->from = strcmp(n, "from") == 0 ? i : dc->from;
        dc->to = strcmp(n, "to") == 0 ? i : dc->to;
        dc->revoked = strcmp(n, "revoked") == 0 ? i : dc->revoked;
        i++;
    }
}

bool col_layers_decision_range(const struct col_layers_deccols *dc, const cJSON *row,
                               int64_t *from_ms, int64_t *to_ms)
{
    const cJSON *f = cJSON_GetArrayItem(row, dc->from), *t = cJSON_GetArrayItem(row, dc->to);

    if (dc->from < 0 || dc->to < 0 || !cJSON_IsNumber(f) || !cJSON_IsNumber(t) ||
        cJSON_IsTrue(cJSON_GetArrayItem(row, dc->revoked))) {
        return false;
    }
    *from_ms = (int64_t)f->valuedouble;
    *to_ms = (int64_t)t->valuedouble;
    return true;
}

int col_layers_influxql(enum ct_kind kind, uint32_t lookback_s, char *buf, size_t cap)
{
    struct col_storeq_sel sel[COL_STOREQ_SEL_MAX];
    size_t n;
    int rc = col_layers_sel(kind, lookback_s, sel, &n);

    if (!buf || cap == 0) {
        return CT_E_INVAL;
    }
    return rc ? rc : col_storeq_influxql(sel, n, buf, cap);
}

void col_layers_index_window(enum ct_kind kind, bool history, int64_t t, int64_t *from, int64_t *to)
{
    const int64_t h = 3600000;
    /* Hours back and forward of the data behind a value at 't'. */
    int64_t back = kind == CT_KIND_AIR ? 12 : kind == CT_KIND_WATER || kind == CT_KIND_RAIN ? 1 : 0;
    int64_t fwd = !history || kind == CT_KIND_AIR || kind == CT_KIND_WATER ? 0 : 1;

    *from = t - back * h;
    *to = t + fwd * h - 1;
}

bool col_layers_dev_public(const struct ct_device *dev, enum ct_kind kind)
{
    if (!dev || !dev->is_public || dev->kind != kind) {
        return false;
    }
    if (kind == CT_KIND_PARKING && dev->park_mode != CT_PARK_LOT) {
        return false;
    }
    return isfinite(dev->lat) && isfinite(dev->lon) && dev->lat >= -90 && dev->lat <= 90 &&
           dev->lon >= -180 && dev->lon <= 180;
}

int col_layers_print(const cJSON *json, char **out)
{
    *out = cJSON_PrintUnformatted(json);
    return *out ? 0 : CT_E_NOMEM;
}

/* ---- times ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly 'n' digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') {
            return false;
        }
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return true;
}

static bool expect(const char *s, size_t len, size_t *i, const char *set)
{
    if (*i < len && strchr(set, s[*i]) && s[*i] != '\0') {
        (*i)++;
        return true;
    }
    return false;
}

int col_layers_time_parse(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    int y, mo, d, h, mi, se;
    if (!s || !ms || !digits(s, len, &i, 4, &y) || !expect(s, len, &i, "-") ||
        !digits(s, len, &i, 2, &mo) || !expect(s, len, &i, "-") || !digits(s, len, &i, 2, &d) ||
        !expect(s, len, &i, "Tt") || !digits(s, len, &i, 2, &h) || !expect(s, len, &i, ":") ||
        !digits(s, len, &i, 2, &mi) || !expect(s, len, &i, ":") || !digits(s, len, &i, 2, &se)) {
        return CT_E_PARSE;
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60) {
        return CT_E_PARSE;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) {
        return CT_E_PARSE;
    }
    int64_t frac_ms = 0;
    if (i < len && s[i] == '.') {
        i++;
        int nd = 0;
        int64_t scale = 100;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 3) {
                frac_ms += (s[i] - '0') * scale;
                scale /= 10;
            }
            nd++;
            i++;
        }
        if (nd == 0 || nd > 9) {
            return CT_E_PARSE;
        }
    }
    int64_t off_s = 0;
    if (expect(s, len, &i, "Zz")) {
        off_s = 0;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        int oh, om;
        i++;
        if (!digits(s, len, &i, 2, &oh) || !expect(s, len, &i, ":") ||
            !digits(s, len, &i, 2, &om) || oh > 23 || om > 59) {
            return CT_E_PARSE;
        }
        off_s = sign * (oh * 3600 + om * 60);
    } else {
        return CT_E_PARSE;
    }
    if (i != len) {
        return CT_E_PARSE;
    }
    if (se == 60) {
        se = 59; /* a leap second is read as the last second of its minute */
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_s;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

void col_layers_time_format(int64_t ms, char buf[COL_LAYERS_ISO_MAX])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t rem_ms = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int hh = (int)(sod / 3600);
    int mi = (int)(sod % 3600 / 60);
    int ss = (int)(sod % 60);
    /* Formatted wide, then copied: years beyond 9999 are not produced by callers. */
    char tmp[128];
    if (rem_ms) {
        snprintf(tmp, sizeof(tmp), "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, hh,
                 mi, ss, (int)rem_ms);
    } else {
        snprintf(tmp, sizeof(tmp), "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, hh, mi,
                 ss);
    }
    size_t n = strnlen(tmp, COL_LAYERS_ISO_MAX - 1);
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}
