/* ct/buf.h - a bounded byte buffer.
 *
 * The caller allocates struct ct_buf. ct_buf_init() cannot fail and allocates nothing; the
 * buffer grows on demand up to 'limit' bytes and then refuses with CT_E_TOOBIG. A buffer made
 * with ct_buf_init_fixed() uses caller memory and never allocates (firmware path;
 * test_common_buf's test_fixed_never_allocates). The content is always kept NUL-terminated (the
 * NUL is not counted in len and needs one byte of room; test_heap_grows_to_limit reads it as a
 * C string at the limit). */
#ifndef CT_BUF_H
#define CT_BUF_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct ct_buf {
    char *p;      /* content; NULL until the first append (heap mode) */
    size_t len;   /* bytes used, NUL excluded */
    size_t cap;   /* bytes allocated */
    size_t limit; /* hard limit of len */
    bool fixed;   /* memory belongs to the caller; never freed or grown */
};

void ct_buf_init(struct ct_buf *b, size_t limit);
/* Borrows 'mem' (cap bytes, must outlive the buffer); limit is cap - 1. */
void ct_buf_init_fixed(struct ct_buf *b, char *mem, size_t cap);
/* Returns 0, CT_E_TOOBIG (nothing appended) or CT_E_NOMEM. */
int ct_buf_add(struct ct_buf *b, const void *data, size_t len);
int ct_buf_adds(struct ct_buf *b, const char *s);
int ct_buf_printf(struct ct_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ct_buf_vprintf(struct ct_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends 'len' bytes of 's' as a quoted JSON string: `"` and `\` escaped, \n \r \t \b \f, other
 * control bytes as \u00XX, valid UTF-8 as is, each invalid byte as \ufffd. On error nothing is
 * appended. Returns 0, CT_E_TOOBIG or CT_E_NOMEM. The one JSON string writer of the project. */
int ct_buf_add_json_str(struct ct_buf *b, const char *s, size_t len);
/* Keeps the memory, forgets the content. */
void ct_buf_reset(struct ct_buf *b);
/* Cuts the content back to 'len' bytes (len <= b->len). */
void ct_buf_truncate(struct ct_buf *b, size_t len);
/* Takes the heap content out: the caller owns it (free()) and the buffer is empty again.
 * Returns NULL for an empty or fixed buffer. */
char *ct_buf_take(struct ct_buf *b, size_t *len);
/* Frees heap memory; safe on a zeroed or fixed buffer. */
void ct_buf_free(struct ct_buf *b);

#endif
