/* payload_encode.c - compact JSON encoder of struct ct_reading and the shortest round-trip
 * number formatter shared with the line protocol. */
#include "ct/payload.h"

#include <inttypes.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"

#define TWO_POW_53 9007199254740992.0
#define INT_EXACT_MAX 9007199254740991ULL /* 2^53 - 1 */

/* The fast path of ct_fmt_double for a value that is the nearest double to a decimal d of at
 * most 15 significant digits, with 1e-4 <= |x| < 1e15 (a sensor's reading: "20.5", "7.25").
 * Finds the fewest decimals k with m = |x| * 10^k integral in the sense that m / 10^k == |x|
 * (an exact check: m < 2^53 and 10^k <= 1e15 are exact doubles and the division is correctly
 * rounded, so m / 10^k is the double nearest to d). For such x, "%.15g" prints exactly d in fixed
 * notation (two decimals of <= 15 digits never round to the same double), which is what the
 * snprintf loop below would keep; so the output is the same bytes, without snprintf and strtod.
 * Returns false when x is not of that form (the caller then takes the general path).
 * test_fmt_double_fast_path compares it with the general algorithm. */
static bool fmt_short(double x, char out[32])
{
    double ax = fabs(x);
    double p = 1.0;
    char digits[24];
    size_t nd = 0;
    size_t o = 0;

    if (!(ax >= 1e-4 && ax < 1e15)) {
        return false;
    }
    for (int k = 1; k <= 15; k++) {
        p *= 10.0;
        double s = ax * p;
        if (s >= 1e15) {
            return false;
        }
        double m = nearbyint(s);
        if (m / p != ax) {
            continue;
        }
        uint64_t u = (uint64_t)m;
        while (u > 0) {
            digits[nd++] = (char)('0' + u % 10);
            u /= 10;
        }
        /* digits holds m's digits, least significant first; drop trailing zeros of the fraction. */
        size_t skip = 0;
        while (skip < (size_t)k && skip < nd && digits[skip] == '0') {
            skip++;
        }
        if (x < 0) {
            out[o++] = '-';
        }
        if (nd <= (size_t)k) {
            out[o++] = '0';
        } else {
            for (size_t i = nd; i > (size_t)k; i--) {
                out[o++] = digits[i - 1];
            }
        }
        if (skip < (size_t)k) {
            out[o++] = '.';
            for (size_t i = (size_t)k; i > skip; i--) {
                out[o++] = i <= nd ? digits[i - 1] : '0';
            }
        }
        out[o] = '\0';
        return true;
    }
    return false;
}

int ct_fmt_double(double x, char out[32])
{
    if (!isfinite(x)) {
        out[0] = '\0';
        return CT_E_RANGE;
    }
    if (x == trunc(x) && fabs(x) < TWO_POW_53) {
        /* Integral and exact: plain digits, no fraction and no exponent. */
        snprintf(out, 32, "%.0f", x);
        return 0;
    }
    if (fmt_short(x, out)) {
        return 0;
    }
    if (fabs(x) >= TWO_POW_53) {
        /* Integral (every double this large is), but plain digits would read as an integer
         * beyond 2^53-1, which the strict decoder refuses; %g would also print plain digits
         * below 1e17. Exponent form, with the fewest digits that read back exactly. */
        for (int prec = 0; prec <= 16; prec++) {
            snprintf(out, 32, "%.*e", prec, x);
            if (strtod(out, NULL) == x) {
                return 0;
            }
        }
        /* %.16e (17 significant digits) always reads back exactly; keep its text. */
        return 0;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, x);
        if (strtod(out, NULL) == x) {
            return 0;
        }
    }
    /* %.17g always reads back exactly for IEEE doubles; keep its text. */
    return 0;
}

/* Appends 's' as a JSON string (quoted, with the escapes JSON requires). */
static int add_json_string(struct ct_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = ct_buf_add(out, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            rc = ct_buf_add(out, esc, 2);
        } else if (*p < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            rc = ct_buf_add(out, esc, 6);
        } else {
            rc = ct_buf_add(out, p, 1);
        }
    }
    if (rc == 0) {
        rc = ct_buf_add(out, "\"", 1);
    }
    return rc;
}

static int add_number(struct ct_buf *out, double x)
{
    char num[32];
    if (ct_fmt_double(x, num) != 0) {
        return CT_E_INVAL;
    }
    return ct_buf_adds(out, num);
}

static int add_value(struct ct_buf *out, const struct ct_value *v)
{
    switch (v->type) {
    case CT_VT_BOOL:
        return ct_buf_adds(out, v->b ? "true" : "false");
    case CT_VT_INT:
        if (v->num != trunc(v->num) || fabs(v->num) > TWO_POW_53 - 1) {
            return CT_E_INVAL;
        }
        return add_number(out, v->num);
    case CT_VT_NUMBER:
        return add_number(out, v->num);
    default:
        return CT_E_INVAL;
    }
}

int ct_payload_encode(const struct ct_reading *r, struct ct_buf *out)
{
    size_t start = out->len;
    int rc;

    /* Refuse what the strict decoder would refuse: integers must be exact in a double. */
    if (!ct_device_id_valid(r->id, strnlen(r->id, sizeof(r->id))) || r->n > CT_MAX_VALUES ||
        r->boot > INT_EXACT_MAX || r->seq > INT_EXACT_MAX || r->ts_ms > (int64_t)INT_EXACT_MAX ||
        r->ts_ms < -(int64_t)INT_EXACT_MAX ||
        (r->has_rssi && (r->rssi > (int64_t)INT_EXACT_MAX || r->rssi < -(int64_t)INT_EXACT_MAX))) {
        return CT_E_INVAL;
    }
    rc = ct_buf_printf(out,
                       "{\"v\":1,\"id\":\"%s\",\"boot\":%" PRIu64 ",\"seq\":%" PRIu64
                       ",\"ts\":%" PRId64 ",\"m\":{",
                       r->id, r->boot, r->seq, r->ts_ms);
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        if (i > 0) {
            rc = ct_buf_add(out, ",", 1);
        }
        if (rc == 0) {
            rc = add_json_string(out, r->values[i].name);
        }
        if (rc == 0) {
            rc = ct_buf_add(out, ":", 1);
        }
        if (rc == 0) {
            rc = add_value(out, &r->values[i]);
        }
    }
    if (rc == 0) {
        rc = ct_buf_add(out, "}", 1);
    }
    if (rc == 0 && r->has_bat) {
        rc = ct_buf_adds(out, ",\"bat\":");
        if (rc == 0) {
            rc = add_number(out, r->bat);
        }
    }
    if (rc == 0 && r->has_rssi) {
        rc = ct_buf_printf(out, ",\"rssi\":%" PRId64, r->rssi);
    }
    if (rc == 0) {
        rc = ct_buf_add(out, "}", 1);
    }
    if (rc != 0) {
        ct_buf_truncate(out, start);
    }
    return rc;
}
