/* layers_query.c - the OGC API - Features items query string: limit, offset, bbox, datetime, f.
 * Every failure writes a one-line message suitable for a 400 response. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "layers_priv.h"
#include "ct/bytes.h"

#define VALUE_MAX 256 /* longest decoded parameter value */

static int fail(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes a one-line error message for a 400 answer; returns CT_E_PARSE. */
static int fail(char *err, size_t errcap, const char *fmt, ...)
{
    if (err && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return CT_E_PARSE;
}

/* Percent-decodes s[0..len) into out (cap bytes, NUL-terminated); '+' is a space. */
static bool pct_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 1 < len ? ct_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < len ? ct_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= cap) {
            return false;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

static bool parse_uint(const char *v, unsigned long long *out)
{
    if (v[0] < '0' || v[0] > '9') {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno == ERANGE) {
        n = ~0ULL;
    }
    if (*end != '\0') {
        return false;
    }
    *out = n;
    return true;
}

static int parse_bbox(const char *v, struct col_layers_query *q, char *err, size_t errcap)
{
    double b[6];
    int n = 0;
    const char *p = v;
    for (;;) {
        if (n == 6) {
            return fail(err, errcap, "bbox: expected 4 numbers minLon,minLat,maxLon,maxLat");
        }
        char *end;
        errno = 0;
        b[n] = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(b[n]) || (*end != ',' && *end != '\0')) {
            return fail(err, errcap, "bbox: \"%s\" is not a list of numbers", v);
        }
        n++;
        if (*end == '\0') {
            break;
        }
        p = end + 1;
    }
    if (n == 6) {
        return fail(err, errcap, "bbox: 3D boxes (6 numbers) are not supported; give 4 numbers");
    }
    if (n != 4) {
        return fail(err, errcap, "bbox: expected 4 numbers minLon,minLat,maxLon,maxLat, got %d", n);
    }
    if (b[0] < -180 || b[0] > 180 || b[2] < -180 || b[2] > 180) {
        return fail(err, errcap, "bbox: longitudes must be within -180..180");
    }
    if (b[1] < -90 || b[1] > 90 || b[3] < -90 || b[3] > 90) {
        return fail(err, errcap, "bbox: latitudes must be within -90..90");
    }
    if (b[1] > b[3]) {
        return fail(err, errcap, "bbox: minLat is greater than maxLat");
    }
    if (b[0] > b[2]) {
        return fail(err, errcap, "bbox: boxes crossing the antimeridian are not supported");
    }
    memcpy(q->bbox, b, sizeof(q->bbox));
    q->has_bbox = true;
    return 0;
}

static int parse_datetime(const char *v, struct col_layers_query *q, char *err, size_t errcap)
{
    size_t len = strlen(v);
    if (len >= sizeof(q->datetime)) {
        return fail(err, errcap, "datetime: value too long");
    }
    const char *slash = strchr(v, '/');
    if (!slash) {
        int64_t t;
        if (col_layers_time_parse(v, len, &t)) {
            return fail(err, errcap,
                        "datetime: \"%s\" is not an RFC 3339 time such as 2026-11-23T10:00:00Z", v);
        }
        q->has_start = q->has_end = true;
        q->start_ms = q->end_ms = t;
    } else {
        size_t l1 = (size_t)(slash - v);
        const char *e = slash + 1;
        size_t l2 = len - l1 - 1;
        if (strchr(e, '/')) {
            return fail(err, errcap, "datetime: an interval has exactly one '/'");
        }
        bool open1 = l1 == 0 || (l1 == 2 && memcmp(v, "..", 2) == 0);
        bool open2 = l2 == 0 || (l2 == 2 && memcmp(e, "..", 2) == 0);
        if (open1 && open2) {
            return fail(err, errcap, "datetime: an interval needs at least one closed end");
        }
        if (!open1 && col_layers_time_parse(v, l1, &q->start_ms)) {
            return fail(err, errcap, "datetime: the interval start is not an RFC 3339 time");
        }
        if (!open2 && col_layers_time_parse(e, l2, &q->end_ms)) {
            return fail(err, errcap, "datetime: the interval end is not an RFC 3339 time");
        }
        if (!open1 && !open2 && q->start_ms > q->end_ms) {
            return fail(err, errcap, "datetime: the interval start is after its end");
        }
        q->has_start = !open1;
        q->has_end = !open2;
    }
    memcpy(q->datetime, v, len + 1);
    q->has_datetime = true;
    return 0;
}

static int apply_param(const char *key, const char *v, struct col_layers_query *q, char *err,
                       size_t errcap)
{
    unsigned long long n;
    if (strcmp(key, "limit") == 0) {
        if (!parse_uint(v, &n) || n == 0) {
            return fail(err, errcap, "limit: \"%s\" is not an integer from 1 to %u", v,
                        COL_LAYERS_LIMIT_MAX);
        }
        q->limit = n > COL_LAYERS_LIMIT_MAX ? COL_LAYERS_LIMIT_MAX : (uint32_t)n;
        return 0;
    }
    if (strcmp(key, "offset") == 0) {
        if (!parse_uint(v, &n) || n > UINT32_MAX) {
            return fail(err, errcap, "offset: \"%s\" is not a non-negative integer", v);
        }
        q->offset = (uint32_t)n;
        return 0;
    }
    if (strcmp(key, "bbox") == 0) {
        return parse_bbox(v, q, err, errcap);
    }
    if (strcmp(key, "datetime") == 0) {
        return parse_datetime(v, q, err, errcap);
    }
    if (strcmp(key, "f") == 0) {
        if (strcmp(v, "json") != 0 && strcmp(v, "geojson") != 0) {
            return fail(err, errcap, "f: only \"json\" and \"geojson\" are offered");
        }
        return 0;
    }
    return fail(err, errcap,
                "unknown query parameter \"%s\" (known: limit, offset, bbox, datetime, f)", key);
}

int col_layers_query_parse(const char *qs, size_t len, struct col_layers_query *q, char *err,
                           size_t errcap)
{
    if (!q || (len && !qs)) {
        return CT_E_INVAL;
    }
    if (err && errcap) {
        err[0] = '\0';
    }
    memset(q, 0, sizeof(*q));
    q->limit = COL_LAYERS_LIMIT_DEFAULT;
    if (len > COL_LAYERS_QUERY_MAX) {
        return fail(err, errcap, "query string longer than %u bytes", COL_LAYERS_QUERY_MAX);
    }
    unsigned seen = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && qs[j] != '&') {
            j++;
        }
        if (j > i) {
            const char *eq = memchr(qs + i, '=', j - i);
            size_t klen = eq ? (size_t)(eq - (qs + i)) : j - i;
            char key[VALUE_MAX];
            char val[VALUE_MAX];
            if (!pct_decode(qs + i, klen, key, sizeof(key))) {
                return fail(err, errcap, "malformed parameter name (bad %%-escape or too long)");
            }
            if (!eq) {
                return fail(err, errcap, "parameter \"%s\" has no value", key);
            }
            if (!pct_decode(eq + 1, j - i - klen - 1, val, sizeof(val))) {
                return fail(err, errcap, "parameter \"%s\": bad %%-escape or value too long", key);
            }
            static const char *const names[] = {"limit", "offset", "bbox", "datetime", "f"};
            for (unsigned k = 0; k < 5; k++) {
                if (strcmp(key, names[k]) == 0) {
                    if (seen & (1u << k)) {
                        return fail(err, errcap, "parameter \"%s\" given twice", key);
                    }
                    seen |= 1u << k;
                }
            }
            int rc = apply_param(key, val, q, err, errcap);
            if (rc) {
                return rc;
            }
        }
        i = j + 1;
    }
    return 0;
}
