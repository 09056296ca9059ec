/* quarantine_json.c - one quarantine line as JSON: UTF-8 validation, string escaping, base64. */
#include "quarantine_int.h"

#include "ct/err.h"
#include "ct/buf.h"
#include "ct/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void col_quarantine_qbuf_free(struct qbuf *b)
{
    free(b->p);
    *b = (struct qbuf){0};
}

int col_quarantine_qbuf_add(struct qbuf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 256 : b->cap;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            return CT_E_NOMEM;
        }
        b->p = np;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int adds(struct qbuf *b, const char *s)
{
    return col_quarantine_qbuf_add(b, s, strlen(s));
}

size_t col_quarantine_utf8_valid_prefix(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = ct_utf8_seq(p + i, n - i);
        if (l == 0) {
            break;
        }
        i += l;
    }
    return i;
}

int col_quarantine_json_str(struct qbuf *b, const unsigned char *p, size_t n)
{
    struct ct_buf js;
    int rc;

    /* At most 6 bytes out per byte in ("\u001f"), plus the quotes. */
    ct_buf_init(&js, n * 6 + 3);
    rc = ct_buf_add_json_str(&js, (const char *)p, n);
    if (rc == 0) {
        rc = col_quarantine_qbuf_add(b, js.p, js.len);
    }
    ct_buf_free(&js);
    return rc;
}

int col_quarantine_base64_add(struct qbuf *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t k = n - i;
        if (k > 1) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (k > 2) {
            v |= p[i + 2];
        }
        char out[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], k > 1 ? tab[(v >> 6) & 63] : '=',
                       k > 2 ? tab[v & 63] : '='};
        rc = col_quarantine_qbuf_add(b, out, 4);
    }
    return rc;
}

static int opt_str(struct qbuf *b, const char *key, const char *s)
{
    int rc = adds(b, key);
    if (rc != 0) {
        return rc;
    }
    if (s == NULL) {
        return adds(b, "null");
    }
    return col_quarantine_json_str(b, (const unsigned char *)s, strlen(s));
}

int col_quarantine_qline_build(struct qbuf *b, const struct col_quarantine_entry *e,
                               size_t max_payload)
{
    if (e == NULL || e->reason == NULL || (e->payload == NULL && e->payload_len > 0)) {
        return CT_E_INVAL;
    }
    const unsigned char *pl = e->payload;
    size_t keep = e->payload_len < max_payload ? e->payload_len : max_payload;
    bool utf8 = col_quarantine_utf8_valid_prefix(pl, e->payload_len) == e->payload_len;
    if (utf8 && keep < e->payload_len) {
        keep = col_quarantine_utf8_valid_prefix(pl, keep); /* cut at a character boundary */
    }
    time_t secs = (time_t)(e->time_ms / 1000u);
    struct tm tm;
    char ts[64];
    char num[64];
    gmtime_r(&secs, &tm);
    snprintf(ts, sizeof(ts), "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(e->time_ms % 1000u));
    int rc = adds(b, ts);
    rc = rc != 0 ? rc : opt_str(b, ",\"reason\":", e->reason);
    rc = rc != 0 ? rc : opt_str(b, ",\"device\":", e->device);
    rc = rc != 0 ? rc : opt_str(b, ",\"topic\":", e->topic);
    rc = rc != 0 ? rc : opt_str(b, ",\"detail\":", e->detail);
    snprintf(num, sizeof(num), ",\"payload_len\":%zu", e->payload_len);
    rc = rc != 0 ? rc : adds(b, num);
    rc = rc != 0 ? rc
                 : adds(b, utf8 ? ",\"payload_encoding\":\"utf8\",\"payload\":"
                                : ",\"payload_encoding\":\"base64\",\"payload\":\"");
    if (rc == 0) {
        rc = utf8 ? col_quarantine_json_str(b, pl, keep) : col_quarantine_base64_add(b, pl, keep);
    }
    rc = rc != 0 ? rc : adds(b, utf8 ? "" : "\"");
    rc = rc != 0 ? rc
                 : adds(b, keep < e->payload_len ? ",\"truncated\":true}\n"
                                                 : ",\"truncated\":false}\n");
    return rc;
}
