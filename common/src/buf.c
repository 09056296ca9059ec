/* buf.c - bounded byte buffer (see ct/buf.h). The content is always NUL-terminated once any
 * memory exists; a heap buffer grows by doubling, never beyond limit + 1 bytes. */
#include "ct/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/bytes.h"

void ct_buf_init(struct ct_buf *b, size_t limit)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
    b->fixed = false;
}

void ct_buf_init_fixed(struct ct_buf *b, char *mem, size_t cap)
{
    b->p = mem;
    b->len = 0;
    b->cap = cap;
    b->limit = cap > 0 ? cap - 1 : 0;
    b->fixed = true;
    if (cap > 0) {
        mem[0] = '\0';
    }
}

/* Makes room for 'extra' more bytes plus the NUL. Returns 0, CT_E_TOOBIG or CT_E_NOMEM. */
static int reserve(struct ct_buf *b, size_t extra)
{
    if (extra > b->limit || b->len > b->limit - extra) {
        return CT_E_TOOBIG;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return 0;
    }
    if (b->fixed) {
        return CT_E_TOOBIG;
    }
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
    }
    if (b->limit < (size_t)-1 && ncap > b->limit + 1) {
        ncap = b->limit + 1;
    }
    char *np = realloc(b->p, ncap);
    if (np == NULL) {
        return CT_E_NOMEM;
    }
    if (b->p == NULL) {
        np[0] = '\0';
    }
    b->p = np;
    b->cap = ncap;
    return 0;
}

int ct_buf_add(struct ct_buf *b, const void *data, size_t len)
{
    int rc = reserve(b, len);
    if (rc != 0) {
        return rc;
    }
    if (len > 0) {
        memcpy(b->p + b->len, data, len);
    }
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

int ct_buf_adds(struct ct_buf *b, const char *s)
{
    return ct_buf_add(b, s, strlen(s));
}

int ct_buf_vprintf(struct ct_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return CT_E_INVAL;
    }
    int rc = reserve(b, (size_t)n);
    if (rc != 0) {
        return rc;
    }
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ct_buf_printf(struct ct_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ct_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void ct_buf_reset(struct ct_buf *b)
{
    ct_buf_truncate(b, 0);
}

void ct_buf_truncate(struct ct_buf *b, size_t len)
{
    if (len > b->len) {
        return;
    }
    b->len = len;
    if (b->p != NULL && b->cap > 0) {
        b->p[len] = '\0';
    }
}

char *ct_buf_take(struct ct_buf *b, size_t *len)
{
    if (b->fixed || b->p == NULL || b->len == 0) {
        if (len != NULL) {
            *len = 0;
        }
        return NULL;
    }
    char *p = b->p;
    if (len != NULL) {
        *len = b->len;
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void ct_buf_free(struct ct_buf *b)
{
    if (b == NULL) {
        return;
    }
    if (!b->fixed) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    b->len = 0;
    if (b->fixed && b->p != NULL && b->cap > 0) {
        b->p[0] = '\0';
    }
}

int ct_buf_add_json_str(struct ct_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = b->len;
    size_t i = 0;
    int rc = ct_buf_add(b, "\"", 1);

    while (rc == 0 && i < len) {
        unsigned char c = p[i];
        size_t run = i;
        /* Copy the longest run that needs no escape in one call. */
        while (run < len && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\' && p[run] < 0x80) {
            run++;
        }
        if (run > i) {
            rc = ct_buf_add(b, p + i, run - i);
            i = run;
            continue;
        }
        if (c >= 0x80) {
            size_t l = ct_utf8_seq(p + i, len - i);
            rc = l > 0 ? ct_buf_add(b, p + i, l) : ct_buf_add(b, "\\ufffd", 6);
            i += l > 0 ? l : 1;
            continue;
        }
        switch (c) {
        case '"':
            rc = ct_buf_add(b, "\\\"", 2);
            break;
        case '\\':
            rc = ct_buf_add(b, "\\\\", 2);
            break;
        case '\n':
            rc = ct_buf_add(b, "\\n", 2);
            break;
        case '\r':
            rc = ct_buf_add(b, "\\r", 2);
            break;
        case '\t':
            rc = ct_buf_add(b, "\\t", 2);
            break;
        case '\b':
            rc = ct_buf_add(b, "\\b", 2);
            break;
        case '\f':
            rc = ct_buf_add(b, "\\f", 2);
            break;
        default:
            rc = ct_buf_printf(b, "\\u%04x", c);
        }
        i++;
    }
    rc = rc != 0 ? rc : ct_buf_add(b, "\"", 1);
    if (rc != 0) {
        ct_buf_truncate(b, start);
    }
    return rc;
}
