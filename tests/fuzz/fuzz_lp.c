/* fuzz_lp.c - ct_lp_point() with hostile measurement, tag and field strings and values. When
 * it succeeds, an independent line-protocol reader (InfluxDB's escaping rules, written here)
 * must read the line back to the same measurement, tags (non-empty ones, sorted by key) and
 * fields: nothing injected, nothing lost. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ct/buf.h"
#include "ct/err.h"
#include "ct/lp.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXT 5
#define MAXF 5
#define SLEN 40

struct rd {
    const char *p;
    const char *end;
};

/* Reads an element up to an unescaped byte of 'stops' the way InfluxDB 1.x reads tags: a
 * backslash escapes the next byte only when that byte is one of 'esc'; otherwise it is a literal
 * backslash. (Checked against influxd 1.x: a tag value of three backslashes then an escaped
 * space reads as two backslashes and a space; a tag value ending in a backslash before the
 * separating space fails with "invalid tag format".) Returns false on a newline. */
static bool read_elem(struct rd *r, const char *stops, const char *esc, char *out, size_t cap)
{
    size_t k = 0;
    while (r->p < r->end && strchr(stops, *r->p) == NULL) {
        char c = *r->p;
        if (c == '\n') {
            return false;
        }
        if (c == '\\' && r->p + 1 < r->end && strchr(esc, r->p[1]) != NULL) {
            c = r->p[1];
            r->p++;
        }
        if (k + 1 >= cap) {
            return false;
        }
        out[k++] = c;
        r->p++;
    }
    out[k] = '\0';
    return true;
}

struct tagkv {
    char k[SLEN * 2 + 1];
    char v[SLEN * 2 + 1];
};

static int tag_cmp(const void *a, const void *b)
{
    const struct tagkv *x = a;
    const struct tagkv *y = b;
    int c = strcmp(x->k, y->k);
    return c != 0 ? c : strcmp(x->v, y->v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    char meas[SLEN + 1];
    fz_str(&f, meas, sizeof(meas), SLEN);
    size_t ntags = fz_u8(&f) % (MAXT + 1);
    char tk[MAXT][SLEN + 1];
    char tv[MAXT][SLEN + 1];
    struct ct_lp_tag tags[MAXT];
    for (size_t i = 0; i < ntags; i++) {
        fz_str(&f, tk[i], sizeof(tk[i]), SLEN);
        fz_str(&f, tv[i], sizeof(tv[i]), SLEN);
        tags[i].key = tk[i];
        tags[i].val = tv[i];
    }
    size_t nfields = fz_u8(&f) % (MAXF + 1);
    char fk[MAXF][SLEN + 1];
    char fs[MAXF][SLEN + 1];
    struct ct_lp_field fields[MAXF];
    memset(fields, 0, sizeof(fields));
    for (size_t i = 0; i < nfields; i++) {
        fz_str(&f, fk[i], sizeof(fk[i]), SLEN);
        fields[i].key = fk[i];
        fields[i].type = (enum ct_lp_ftype)(fz_u8(&f) % 4);
        uint64_t bits = fz_u64(&f);
        fields[i].i = (int64_t)bits;
        memcpy(&fields[i].f, &bits, sizeof(double));
        fields[i].b = (bits & 1) != 0;
        fs[i][0] = '\0';
        if (fields[i].type == CT_LP_STRING) {
            fz_str(&f, fs[i], sizeof(fs[i]), SLEN);
        }
        fields[i].s = fs[i];
    }
    int64_t ts = (fz_u8(&f) & 1) ? (int64_t)fz_u64(&f) : INT64_MIN;

    struct ct_buf out;
    ct_buf_init(&out, 1 << 16);
    /* Something already in the buffer must stay untouched. */
    FZ_CHECK(ct_buf_adds(&out, "prev\n") == 0, "prefix");
    int rc = ct_lp_point(&out, meas, tags, ntags, fields, nfields, ts);
    FZ_CHECK(rc == 0 || rc == CT_E_INVAL, "rc %d", rc);
    if (rc != 0) {
        FZ_CHECK(out.len == 5 && memcmp(out.p, "prev\n", 5) == 0, "failed call appended");
        ct_buf_free(&out);
        return 0;
    }
    FZ_CHECK(meas[0] != '\0' && nfields > 0, "accepted without measurement or fields");

    struct rd r = {out.p + 5, out.p + out.len};
    FZ_CHECK(out.len > 5 && out.p[out.len - 1] == '\n', "no final newline");
    FZ_CHECK(memchr(r.p, '\n', out.len - 6) == NULL, "a newline inside the point: %s", out.p);
    r.end--; /* the final newline */
    const char *line = r.p;

    char m2[SLEN * 2 + 1];
    FZ_CHECK(read_elem(&r, ", ", ", ", m2, sizeof(m2)), "measurement: %s", line);
    FZ_CHECK(strcmp(m2, meas) == 0, "measurement '%s' read back as '%s' in %s", meas, m2, line);

    struct tagkv got[MAXT + 4];
    size_t ngot = 0;
    while (r.p < r.end && *r.p == ',') {
        r.p++;
        FZ_CHECK(ngot < MAXT + 4, "too many tags in %s", line);
        FZ_CHECK(read_elem(&r, "=, ", ",= ", got[ngot].k, sizeof(got[ngot].k)), "tag key");
        FZ_CHECK(r.p < r.end && *r.p == '=', "tag without '=' in %s", line);
        r.p++;
        FZ_CHECK(read_elem(&r, ", =", ",= ", got[ngot].v, sizeof(got[ngot].v)), "tag value");
        FZ_CHECK(r.p < r.end && *r.p != '=', "unescaped '=' in a tag value in %s", line);
        ngot++;
    }
    struct tagkv want[MAXT];
    size_t nwant = 0;
    for (size_t i = 0; i < ntags; i++) {
        if (tv[i][0] != '\0') {
            memcpy(want[nwant].k, tk[i], sizeof(tk[i]));
            memcpy(want[nwant].v, tv[i], sizeof(tv[i]));
            nwant++;
        }
    }
    FZ_CHECK(ngot == nwant, "%zu tags written, %zu read back from %s", nwant, ngot, line);
    qsort(want, nwant, sizeof(want[0]), tag_cmp);
    for (size_t i = 0; i < ngot; i++) {
        FZ_CHECK(i == 0 || strcmp(got[i - 1].k, got[i].k) <= 0, "tags not sorted in %s", line);
    }
    qsort(got, ngot, sizeof(got[0]), tag_cmp);
    for (size_t i = 0; i < ngot; i++) {
        FZ_CHECK(strcmp(got[i].k, want[i].k) == 0 && strcmp(got[i].v, want[i].v) == 0,
                 "tag '%s'='%s' read back as '%s'='%s' in %s", want[i].k, want[i].v, got[i].k,
                 got[i].v, line);
    }

    FZ_CHECK(r.p < r.end && *r.p == ' ', "no space before the fields in %s", line);
    r.p++;
    for (size_t i = 0; i < nfields; i++) {
        if (i > 0) {
            FZ_CHECK(r.p < r.end && *r.p == ',', "field %zu: no comma in %s", i, line);
            r.p++;
        }
        char key[SLEN * 2 + 1];
        FZ_CHECK(read_elem(&r, "=, ", ",= ", key, sizeof(key)), "field key");
        FZ_CHECK(strcmp(key, fk[i]) == 0, "field key '%s' read back as '%s' in %s", fk[i], key,
                 line);
        FZ_CHECK(r.p < r.end && *r.p == '=', "field without '=' in %s", line);
        r.p++;
        const struct ct_lp_field *fd = &fields[i];
        if (fd->type == CT_LP_STRING) {
            FZ_CHECK(r.p < r.end && *r.p == '"', "string not quoted in %s", line);
            r.p++;
            char sv[SLEN * 2 + 1];
            size_t k = 0;
            while (r.p < r.end && *r.p != '"') {
                char c = *r.p;
                if (c == '\\' && r.p + 1 < r.end && (r.p[1] == '"' || r.p[1] == '\\')) {
                    c = r.p[1];
                    r.p++;
                }
                FZ_CHECK(k + 1 < sizeof(sv), "string too long");
                sv[k++] = c;
                r.p++;
            }
            sv[k] = '\0';
            FZ_CHECK(r.p < r.end, "unterminated string in %s", line);
            r.p++;
            FZ_CHECK(strcmp(sv, fd->s) == 0, "string '%s' read back as '%s'", fd->s, sv);
            continue;
        }
        char tok[64];
        size_t k = 0;
        while (r.p < r.end && *r.p != ',' && *r.p != ' ') {
            FZ_CHECK(k + 1 < sizeof(tok), "value token too long in %s", line);
            tok[k++] = *r.p++;
        }
        tok[k] = '\0';
        if (fd->type == CT_LP_BOOL) {
            FZ_CHECK(strcmp(tok, fd->b ? "true" : "false") == 0, "bool %s", tok);
        } else if (fd->type == CT_LP_INT) {
            FZ_CHECK(k >= 2 && tok[k - 1] == 'i', "int without i: %s", tok);
            tok[k - 1] = '\0';
            char *e = NULL;
            long long v = strtoll(tok, &e, 10);
            FZ_CHECK(*e == '\0' && v == fd->i, "int %s vs %" PRId64, tok, fd->i);
        } else {
            FZ_CHECK(isfinite(fd->f), "non-finite float accepted");
            char *e = NULL;
            double v = strtod(tok, &e);
            FZ_CHECK(*e == '\0' && k > 0 && v == fd->f, "float %s vs %.17g", tok, fd->f);
        }
    }
    if (ts != INT64_MIN) {
        FZ_CHECK(r.p < r.end && *r.p == ' ', "no timestamp in %s", line);
        r.p++;
        char tsb[32];
        size_t k = (size_t)(r.end - r.p);
        FZ_CHECK(k > 0 && k < sizeof(tsb), "timestamp length");
        memcpy(tsb, r.p, k);
        tsb[k] = '\0';
        char *e = NULL;
        long long v = strtoll(tsb, &e, 10);
        FZ_CHECK(*e == '\0' && v == ts, "timestamp %s", tsb);
        r.p = r.end;
    }
    FZ_CHECK(r.p == r.end, "trailing bytes after the point: %s", line);
    ct_buf_free(&out);
    return 0;
}
