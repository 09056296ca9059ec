/* tt10_format.c - TT 10/2021 station files: local times, file names, the parameter map and the
 * encoder. The parser is in tt10_parse.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "col_tt10.h"
#include "ct/err.h"
#include "tt10_int.h"

void col_tt10_fmt_default(struct col_tt10_fmt *fmt)
{
    memset(fmt, 0, sizeof(*fmt));
    fmt->utc_offset_min = 420;
    fmt->field_sep = '\t';
    fmt->name_sep = '_';
    fmt->eol = "\r\n";
    fmt->ext = ".txt";
    fmt->decimals = 2;
    fmt->status[COL_TT10_MEASURING] = "00";
    fmt->status[COL_TT10_CALIBRATING] = "01";
    fmt->status[COL_TT10_FAULT] = "02";
    fmt->accept_bom = true;
    fmt->accept_lf = false;
}

int tt10_errf(char *err, size_t errcap, const char *fmt, ...)
{
    if (err != NULL && errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return CT_E_PARSE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
int64_t tt10_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int col_tt10_time_format(int64_t ms, int utc_offset_min, char out[15])
{
    int64_t s = ms / 1000 - (ms % 1000 < 0) + (int64_t)utc_offset_min * 60;
    if (s < 0 || s > 253402300799) { /* 9999-12-31T23:59:59 */
        return CT_E_RANGE;
    }
    int64_t days = s / 86400;
    int64_t sod = s % 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Each field is in range here (y 1970..9999, m 1..12, d 1..31), so exactly 14 digits. */
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%04d%02u%02u%02d%02d%02d", (int)y, m % 100u, d % 100u,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    memcpy(out, tmp, 15);
    return 0;
}

static unsigned digits(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v;
}

int col_tt10_time_parse(const char *s, size_t len, int utc_offset_min, int64_t *ms)
{
    if (len != 14) {
        return CT_E_PARSE;
    }
    for (size_t i = 0; i < 14; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return CT_E_PARSE;
        }
    }
    unsigned y = digits(s, 4), mo = digits(s + 4, 2), d = digits(s + 6, 2);
    unsigned h = digits(s + 8, 2), mi = digits(s + 10, 2), se = digits(s + 12, 2);
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59) {
        return CT_E_PARSE;
    }
    int64_t t = tt10_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    *ms = (t - (int64_t)utc_offset_min * 60) * 1000;
    return 0;
}

int col_tt10_file_name(const struct col_tt10_fmt *fmt, const struct ct_device *dev, int64_t ts_ms,
                       char *out, size_t cap)
{
    if (!dev->has_tt10) {
        return CT_E_INVAL;
    }
    char t[15];
    int rc = col_tt10_time_format(ts_ms, fmt->utc_offset_min, t);
    if (rc != 0) {
        return rc;
    }
    int n =
        snprintf(out, cap, "%s%c%s%c%s%c%s%s", dev->tt10_province, fmt->name_sep,
                 dev->tt10_facility, fmt->name_sep, dev->tt10_station, fmt->name_sep, t, fmt->ext);
    return n < 0 || (size_t)n >= cap || (size_t)n > COL_TT10_NAME_MAX ? CT_E_TOOBIG : 0;
}

/* A symbol or unit we write: no control byte (a separator or an end of line among them). */
static bool text_writable(const struct col_tt10_fmt *fmt, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || *s == fmt->field_sep) {
            return false;
        }
    }
    return true;
}

int col_tt10_format(const struct col_tt10_fmt *fmt, int64_t ts_ms, const struct col_tt10_value *v,
                    size_t n, struct ct_buf *out)
{
    char t[15];
    int rc = col_tt10_time_format(ts_ms, fmt->utc_offset_min, t);
    if (rc != 0) {
        return rc;
    }
    size_t start = out->len;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i].value) || (unsigned)v[i].status >= COL_TT10_STATUS__COUNT ||
            v[i].symbol[0] == '\0' || !text_writable(fmt, v[i].symbol) ||
            !text_writable(fmt, v[i].unit)) {
            ct_buf_truncate(out, start);
            return CT_E_INVAL;
        }
        double x = v[i].value;
        /* Round first, so a tiny negative value never prints as "-0.00". */
        double scale = pow(10, fmt->decimals);
        double r = round(x * scale) / scale;
        if (r == 0) {
            r = 0;
        }
        rc = ct_buf_printf(out, "%s%c%.*f%c%s%c%s%c%s%s", v[i].symbol, fmt->field_sep,
                           fmt->decimals, r, fmt->field_sep, v[i].unit, fmt->field_sep, t,
                           fmt->field_sep, fmt->status[v[i].status], fmt->eol);
        if (rc != 0) {
            ct_buf_truncate(out, start);
            return rc;
        }
    }
    return 0;
}

/* The default map: symbols and units as Vietnamese monitoring data loggers write them for the
 * parameters of QCVN 05:2023 (air) and QCVN 08:2023 (surface water); rain, flood and parking
 * have no national symbol, so ours are named after the parameter. */
static const char default_spec[] =
    "air.pm25=PM-2.5:ug/m3,air.pm10=PM-10:ug/m3,air.no2=NO2:ug/m3,air.so2=SO2:ug/m3,"
    "air.o3=O3:ug/m3,air.co=CO:ug/m3,air.t=Temp:oC,air.rh=Humidity:%,"
    "water.ph=pH:,water.do=DO:mg/L,water.turb=TSS-Turb:NTU,water.ec=EC:uS/cm,"
    "water.t=Temp:oC,water.nh4=NH4+:mg/L,water.cod=COD:mg/L,water.tss=TSS:mg/L,"
    "rain.mm=Rain:mm,flood.depth=WaterDepth:cm,parking.occupied=Occupied:spaces";

const char *col_tt10_map_default_spec(void)
{
    return default_spec;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t' || **b == '\n' || **b == '\r')) {
        (*b)++;
    }
    while (*e > *b &&
           ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\n' || (*e)[-1] == '\r')) {
        (*e)--;
    }
}

static bool spec_text_ok(const char *s, size_t len, bool allow_empty)
{
    if (len == 0) {
        return allow_empty;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == ',' || c == '=' || c == ':') {
            return false;
        }
    }
    return true;
}

/* One "kind.member=SYMBOL:unit" entry, b..e trimmed. */
static int map_entry(struct col_tt10_map *m, const char *b, const char *e, char *err, size_t errcap)
{
    int elen = (int)(e - b);
    const char *dot = memchr(b, '.', (size_t)(e - b));
    const char *eq = memchr(b, '=', (size_t)(e - b));
    const char *colon = eq != NULL ? memchr(eq, ':', (size_t)(e - eq)) : NULL;
    if (dot == NULL || eq == NULL || colon == NULL || dot > eq) {
        return tt10_errf(err, errcap, "tt10 map entry \"%.*s\": expected kind.member=SYMBOL:unit",
                         elen, b);
    }
    enum ct_kind kind;
    if (ct_kind_parse(b, (size_t)(dot - b), &kind) != 0) {
        return tt10_errf(err, errcap, "tt10 map entry \"%.*s\": unknown kind", elen, b);
    }
    const struct ct_member *mem = ct_schema_find(kind, dot + 1, (size_t)(eq - dot - 1));
    if (mem == NULL) {
        return tt10_errf(err, errcap, "tt10 map entry \"%.*s\": no such member of %s", elen, b,
                         ct_kind_name(kind));
    }
    size_t slen = (size_t)(colon - eq - 1), ulen = (size_t)(e - colon - 1);
    if (slen > COL_TT10_SYMBOL_MAX || ulen > COL_TT10_UNIT_MAX ||
        !spec_text_ok(eq + 1, slen, false) || !spec_text_ok(colon + 1, ulen, true)) {
        return tt10_errf(err, errcap,
                         "tt10 map entry \"%.*s\": symbol 1..%d and unit 0..%d printable bytes "
                         "without , = :",
                         elen, b, COL_TT10_SYMBOL_MAX, COL_TT10_UNIT_MAX);
    }
    if (m->n == COL_TT10_MAP_MAX) {
        return tt10_errf(err, errcap, "tt10 map: more than %d entries", COL_TT10_MAP_MAX);
    }
    struct col_tt10_param *p = &m->p[m->n];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    memcpy(p->member, mem->name, strlen(mem->name));
    memcpy(p->symbol, eq + 1, slen);
    memcpy(p->unit, colon + 1, ulen);
    if (col_tt10_map_symbol(m, kind, p->symbol) != NULL) {
        return tt10_errf(err, errcap, "tt10 map entry \"%.*s\": symbol %s used twice for %s", elen,
                         b, p->symbol, ct_kind_name(kind));
    }
    m->n++;
    return 0;
}

int col_tt10_map_parse(const char *spec, struct col_tt10_map *out, char *err, size_t errcap)
{
    out->n = 0;
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *b = p, *e = comma != NULL ? comma : p + strlen(p);
        trim(&b, &e);
        if (b == e) {
            if (comma == NULL && out->n > 0) {
                break;
            }
            return tt10_errf(err, errcap, "tt10 map: empty entry");
        }
        int rc = map_entry(out, b, e, err, errcap);
        if (rc != 0) {
            return rc;
        }
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return 0;
}

const struct col_tt10_param *col_tt10_map_member(const struct col_tt10_map *map, enum ct_kind kind,
                                                 const char *member)
{
    for (size_t i = 0; i < map->n; i++) {
        if (map->p[i].kind == kind && strcmp(map->p[i].member, member) == 0) {
            return &map->p[i];
        }
    }
    return NULL;
}

const struct col_tt10_param *col_tt10_map_symbol(const struct col_tt10_map *map, enum ct_kind kind,
                                                 const char *symbol)
{
    for (size_t i = 0; i < map->n; i++) {
        if (map->p[i].kind == kind && strcmp(map->p[i].symbol, symbol) == 0) {
            return &map->p[i];
        }
    }
    return NULL;
}
