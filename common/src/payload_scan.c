/* payload_scan.c - the lexical pass of the strict payload decoder (see payload_scan.h).
 *
 * Walks the raw bytes (length-bounded, never NUL-terminated) with the strict JSON grammar and
 * enforces what cJSON does not: valid UTF-8 (no overlongs, no surrogates, nothing above
 * U+10FFFF), no \u0000, paired surrogate escapes, depth <= 4, strict number tokens, finite
 * numbers, integers exact (|n| <= 2^53-1). It notes, for the members of the top-level object and
 * of `m`, whether their number token was written as an integer. Recursion is bounded by the
 * depth limit. */
#include "payload_scan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/bytes.h"

#define MAX_DEPTH 4
#define PATH_CAP 32
#define INT_EXACT_MAX 9007199254740991ULL /* 2^53 - 1 */

struct scan {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    struct ct_reason *why;
    struct ct_scan_result *res;
};

int ct_payload_fail(struct ct_reason *why, enum ct_reject code, const char *path, const char *fmt,
                    ...)
{
    char msg[sizeof(why->text)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    why->code = code;
    why->member[0] = '\0';
    ct_strlcat(why->member, path, sizeof(why->member));
    why->text[0] = '\0';
    if (path[0] != '\0') {
        ct_strlcat(why->text, "member \"", sizeof(why->text));
        ct_strlcat(why->text, path, sizeof(why->text));
        ct_strlcat(why->text, "\": ", sizeof(why->text));
    } else {
        ct_strlcat(why->text, "payload: ", sizeof(why->text));
    }
    ct_strlcat(why->text, msg, sizeof(why->text));
    return CT_E_PARSE;
}

void ct_strlcat(char *dst, const char *src, size_t cap)
{
    size_t used = strnlen(dst, cap);
    size_t n = strlen(src);
    if (used + 1 >= cap) {
        return;
    }
    if (n > cap - used - 1) {
        n = cap - used - 1;
    }
    /* Never cut a UTF-8 sequence: back off to the start of the sequence that does not fit. */
    if (n < strlen(src)) {
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(dst + used, src, n);
    dst[used + n] = '\0';
}

static size_t offset(const struct scan *s)
{
    return (size_t)(s->p - s->start);
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* Appends a byte to the decoded key (truncated at cap - 1; *len counts every byte). */
static void key_put(char *key, size_t cap, size_t *len, unsigned char c)
{
    if (key != NULL && *len + 1 < cap) {
        /* Control characters never reach a path or a log line. */
        key[*len] = c < 0x20 ? '?' : (char)c;
        key[*len + 1] = '\0';
    }
    (*len)++;
}

static void key_put_cp(char *key, size_t cap, size_t *len, unsigned cp)
{
    if (cp < 0x80) {
        key_put(key, cap, len, (unsigned char)cp);
    } else if (cp < 0x800) {
        key_put(key, cap, len, (unsigned char)(0xC0 | (cp >> 6)));
        key_put(key, cap, len, (unsigned char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        key_put(key, cap, len, (unsigned char)(0xE0 | (cp >> 12)));
        key_put(key, cap, len, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        key_put(key, cap, len, (unsigned char)(0x80 | (cp & 0x3F)));
    } else {
        key_put(key, cap, len, (unsigned char)(0xF0 | (cp >> 18)));
        key_put(key, cap, len, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
        key_put(key, cap, len, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        key_put(key, cap, len, (unsigned char)(0x80 | (cp & 0x3F)));
    }
}

/* Scans the string at s->p (on its opening quote). When 'key' is set, stores the decoded text
 * (truncated to cap - 1) and its full length in *klen. 'path' names the string in errors. */
static int scan_string(struct scan *s, char *key, size_t cap, size_t *klen, const char *path)
{
    size_t len = 0;
    if (key != NULL) {
        key[0] = '\0';
    }
    s->p++;
    for (;;) {
        if (s->p >= s->end) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path,
                                   "unexpected end of payload inside a string");
        }
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            break;
        }
        if (c < 0x20) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path,
                                   "unescaped control character 0x%02x in a string at byte %zu", c,
                                   offset(s));
        }
        if (c >= 0x80) {
            size_t n = ct_utf8_seq(s->p, (size_t)(s->end - s->p));
            if (n == 0) {
                return ct_payload_fail(s->why, CT_REJ_UTF8, path, "invalid UTF-8 at byte %zu",
                                       offset(s));
            }
            for (size_t i = 0; i < n; i++) {
                key_put(key, cap, &len, s->p[i]);
            }
            s->p += n;
            continue;
        }
        if (c != '\\') {
            key_put(key, cap, &len, c);
            s->p++;
            continue;
        }
        if (s->end - s->p < 2) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path,
                                   "unexpected end of payload inside a string");
        }
        unsigned char e = s->p[1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != '\0' && simple != NULL) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            key_put(key, cap, &len, (unsigned char)decoded[simple - "\"\\/bfnrt"]);
            s->p += 2;
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || s->end - s->p < 6 || hex4(s->p + 2, &cp) != 0) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path, "invalid escape sequence at byte %zu",
                                   offset(s));
        }
        if (cp == 0) {
            return ct_payload_fail(s->why, CT_REJ_UTF8, path, "escaped NUL (\\u0000) at byte %zu",
                                   offset(s));
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return ct_payload_fail(s->why, CT_REJ_UTF8, path,
                                   "unpaired low surrogate escape at byte %zu", offset(s));
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s->end - s->p < 12 || s->p[6] != '\\' || s->p[7] != 'u' ||
                hex4(s->p + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                return ct_payload_fail(s->why, CT_REJ_UTF8, path,
                                       "unpaired high surrogate escape at byte %zu", offset(s));
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            s->p += 6;
        }
        key_put_cp(key, cap, &len, cp);
        s->p += 6;
    }
    if (klen != NULL) {
        *klen = len;
    }
    return 0;
}

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* True for the members whose integer-ness the tree pass asks about. */
static bool noted_key(enum ct_scan_role parent, const char *key, size_t klen)
{
    static const char *const top[] = {"v", "boot", "seq", "ts", "rssi"};
    if (parent == CT_SCAN_TOP) {
        for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
            if (strcmp(top[i], key) == 0) {
                return true;
            }
        }
        return false;
    }
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        if (ct_schema_find((enum ct_kind)k, key, klen) != NULL) {
            return true;
        }
    }
    return false;
}

static void record_flag(struct scan *s, enum ct_scan_role parent, const char *key, size_t klen,
                        bool is_int)
{
    if (parent == CT_SCAN_OTHER || klen > CT_MEMBER_NAME_MAX || s->res->nflags >= CT_SCAN_FLAGS ||
        !noted_key(parent, key, klen)) {
        return;
    }
    struct ct_scan_flag *f = &s->res->flags[s->res->nflags++];
    f->parent = parent;
    memcpy(f->key, key, klen + 1);
    f->is_int = is_int;
}

/* Scans a number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(struct scan *s, const char *path, enum ct_scan_role parent, const char *key,
                       size_t klen)
{
    char tmp[CT_SCAN_NUMBER_MAX + 1];
    const unsigned char *q = s->p;
    bool is_int = true;

    if (q < s->end && *q == '-') {
        q++;
    }
    const unsigned char *digits = q;
    if (q < s->end && *q == '0') {
        q++;
    } else if (is_digit(q, s->end)) {
        while (is_digit(q, s->end)) {
            q++;
        }
    } else {
        return ct_payload_fail(s->why, CT_REJ_JSON, path, "invalid number at byte %zu", offset(s));
    }
    size_t ndigits = (size_t)(q - digits);
    if (q < s->end && *q == '.') {
        is_int = false;
        q++;
        if (!is_digit(q, s->end)) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path, "invalid number at byte %zu",
                                   offset(s));
        }
        while (is_digit(q, s->end)) {
            q++;
        }
    }
    if (q < s->end && (*q == 'e' || *q == 'E')) {
        is_int = false;
        q++;
        if (q < s->end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (!is_digit(q, s->end)) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path, "invalid number at byte %zu",
                                   offset(s));
        }
        while (is_digit(q, s->end)) {
            q++;
        }
    }
    if (is_digit(q, s->end) || (q < s->end && (*q == '.' || *q == '-' || *q == '+'))) {
        return ct_payload_fail(s->why, CT_REJ_JSON, path, "invalid number at byte %zu", offset(s));
    }
    size_t n = (size_t)(q - s->p);
    if (n > CT_SCAN_NUMBER_MAX) {
        return ct_payload_fail(s->why, CT_REJ_JSON, path,
                               "number at byte %zu is longer than %d characters", offset(s),
                               CT_SCAN_NUMBER_MAX);
    }
    memcpy(tmp, s->p, n);
    tmp[n] = '\0';
    if (!isfinite(strtod(tmp, NULL))) {
        return ct_payload_fail(s->why, CT_REJ_JSON, path, "number %.40s is out of range", tmp);
    }
    if (is_int) {
        unsigned long long mag = strtoull((const char *)tmp + (tmp[0] == '-'), NULL, 10);
        if (ndigits > 16 || mag > INT_EXACT_MAX) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path,
                                   "integer %.40s is not exact (magnitude above 2^53-1)", tmp);
        }
    }
    record_flag(s, parent, key, klen, is_int);
    s->p = q;
    return 0;
}

static int scan_value(struct scan *s, int depth, const char *path, enum ct_scan_role obj_role,
                      enum ct_scan_role parent, const char *key, size_t klen);

static void child_path(char out[PATH_CAP], const char *path, const char *key)
{
    out[0] = '\0';
    ct_strlcat(out, path, PATH_CAP);
    if (path[0] != '\0') {
        ct_strlcat(out, ".", PATH_CAP);
    }
    ct_strlcat(out, key, PATH_CAP);
}

/* After a member or an element: skips blanks, then consumes ',' (returns 0: another follows) or
 * 'close' (returns 1: the container ends); anything else, or the end of the payload inside
 * 'in_what' ("an object", "an array"), is refused with the byte offset (negative CT_E_*). */
static int next_or_close(struct scan *s, const char *path, char close, const char *in_what)
{
    skip_ws(s);
    if (s->p >= s->end) {
        return ct_payload_fail(s->why, CT_REJ_JSON, path, "unexpected end of payload in %s",
                               in_what);
    }
    if (*s->p == close) {
        s->p++;
        return 1;
    }
    if (*s->p != ',') {
        return ct_payload_fail(s->why, CT_REJ_JSON, path, "expected ',' or '%c' at byte %zu", close,
                               offset(s));
    }
    s->p++;
    return 0;
}

static int scan_object(struct scan *s, int depth, const char *path, enum ct_scan_role role)
{
    char key[PATH_CAP];
    char cpath[PATH_CAP];
    size_t klen;

    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (s->p >= s->end) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path,
                                   "unexpected end of payload in an object");
        }
        if (*s->p != '"') {
            return ct_payload_fail(s->why, CT_REJ_JSON, path, "expected a member name at byte %zu",
                                   offset(s));
        }
        int rc = scan_string(s, key, sizeof(key), &klen, path);
        if (rc != 0) {
            return rc;
        }
        child_path(cpath, path, key);
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':') {
            return ct_payload_fail(s->why, CT_REJ_JSON, cpath, "expected ':' at byte %zu",
                                   offset(s));
        }
        s->p++;
        enum ct_scan_role child =
            (role == CT_SCAN_TOP && strcmp(key, "m") == 0) ? CT_SCAN_M : CT_SCAN_OTHER;
        rc = scan_value(s, depth, cpath, child, role, key, klen);
        if (rc != 0) {
            return rc;
        }
        rc = next_or_close(s, cpath, '}', "an object");
        if (rc != 0) {
            return rc > 0 ? 0 : rc;
        }
        skip_ws(s);
    }
}

static int scan_array(struct scan *s, int depth, const char *path)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        int rc = scan_value(s, depth, path, CT_SCAN_OTHER, CT_SCAN_OTHER, "", 0);
        if (rc != 0) {
            return rc;
        }
        rc = next_or_close(s, path, ']', "an array");
        if (rc != 0) {
            return rc > 0 ? 0 : rc;
        }
    }
}

static bool literal(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, lit, n) == 0) {
        s->p += n;
        return true;
    }
    return false;
}

/* Scans one value at nesting 'depth' (containers around it). An object gets role 'obj_role';
 * a number is recorded under (parent, key). */
static int scan_value(struct scan *s, int depth, const char *path, enum ct_scan_role obj_role,
                      enum ct_scan_role parent, const char *key, size_t klen)
{
    skip_ws(s);
    if (s->p >= s->end) {
        return ct_payload_fail(s->why, CT_REJ_JSON, path,
                               "unexpected end of payload, expected a value");
    }
    unsigned char c = *s->p;
    if (c == '{' || c == '[') {
        if (depth + 1 > MAX_DEPTH) {
            return ct_payload_fail(s->why, CT_REJ_JSON, path,
                                   "nesting deeper than %d levels at byte %zu", MAX_DEPTH,
                                   offset(s));
        }
        return c == '{' ? scan_object(s, depth + 1, path, obj_role)
                        : scan_array(s, depth + 1, path);
    }
    if (c == '"') {
        return scan_string(s, NULL, 0, NULL, path);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        return scan_number(s, path, parent, key, klen);
    }
    if (literal(s, "true") || literal(s, "false") || literal(s, "null")) {
        return 0;
    }
    if (c >= 0x80 && ct_utf8_seq(s->p, (size_t)(s->end - s->p)) == 0) {
        return ct_payload_fail(s->why, CT_REJ_UTF8, path, "invalid UTF-8 at byte %zu", offset(s));
    }
    return ct_payload_fail(s->why, CT_REJ_JSON, path,
                           "invalid value at byte %zu (NaN and Infinity are not JSON)", offset(s));
}

int ct_payload_scan(const char *buf, size_t len, struct ct_scan_result *res, struct ct_reason *why)
{
    struct scan s = {
        .start = (const unsigned char *)buf,
        .p = (const unsigned char *)buf,
        .end = (const unsigned char *)buf + len,
        .why = why,
        .res = res,
    };
    res->nflags = 0;
    int rc = scan_value(&s, 0, "", CT_SCAN_TOP, CT_SCAN_OTHER, "", 0);
    if (rc != 0) {
        return rc;
    }
    skip_ws(&s);
    if (s.p != s.end) {
        return ct_payload_fail(why, CT_REJ_JSON, "", "trailing data at byte %zu", offset(&s));
    }
    return 0;
}

bool ct_scan_is_int(const struct ct_scan_result *res, enum ct_scan_role parent, const char *key)
{
    /* The last note wins; duplicates are rejected by the tree pass before this is asked. */
    bool found = false;
    for (size_t i = 0; i < res->nflags; i++) {
        if (res->flags[i].parent == parent && strcmp(res->flags[i].key, key) == 0) {
            found = res->flags[i].is_int;
        }
    }
    return found;
}
