/* quarantine_int.h - the JSON line encoder of col_quarantine (internal; pure functions, no I/O). */
#ifndef QUARANTINE_INT_H
#define QUARANTINE_INT_H
#include "col_quarantine.h"

#include <stdbool.h>

/* A growable byte buffer; zero-initialize, free with col_quarantine_qbuf_free(). */
struct qbuf {
    char *p;
    size_t len;
    size_t cap;
};

void col_quarantine_qbuf_free(struct qbuf *b);
/* Returns 0 or CT_E_NOMEM. */
int col_quarantine_qbuf_add(struct qbuf *b, const void *p, size_t n);

/* Returns the length of the longest prefix of p[0..n) that is whole valid UTF-8 characters
 * (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). The input is valid iff it returns n.
 */
size_t col_quarantine_utf8_valid_prefix(const unsigned char *p, size_t n);

/* Appends p[0..n) as a JSON string with quotes; bytes of invalid UTF-8 become U+FFFD. */
int col_quarantine_json_str(struct qbuf *b, const unsigned char *p, size_t n);

/* Appends the standard base64 (RFC 4648, padded) of p[0..n). */
int col_quarantine_base64_add(struct qbuf *b, const unsigned char *p, size_t n);

/* Builds the whole line of 'e', newline included, keeping at most max_payload payload bytes.
 * Returns 0, CT_E_INVAL, CT_E_NOMEM. */
int col_quarantine_qline_build(struct qbuf *b, const struct col_quarantine_entry *e,
                               size_t max_payload);

#endif
