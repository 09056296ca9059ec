/* tt10_parse.c - the strict parser of TT 10/2021 station files (names and content). A file is
 * accepted whole or refused whole; the first fault is reported with its line and reason. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "col_tt10.h"
#include "ct/err.h"
#include "ct/utf8.h"
#include "tt10_int.h"

static bool code_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-';
}

int col_tt10_parse_name(const struct col_tt10_fmt *fmt, const char *name, size_t len,
                        struct col_tt10_file *f, char *err, size_t errcap)
{
    size_t elen = strlen(fmt->ext);
    if (len > COL_TT10_NAME_MAX) {
        return tt10_errf(err, errcap, "file name longer than %d bytes", COL_TT10_NAME_MAX);
    }
    if (len < elen + 14 || memcmp(name + len - elen, fmt->ext, elen) != 0) {
        return tt10_errf(err, errcap, "file name does not end in <time>%s", fmt->ext);
    }
    char *dst[3] = {f->province, f->facility, f->station};
    static const char *const what[3] = {"province", "facility", "station"};
    size_t pos = 0;
    for (int k = 0; k < 3; k++) {
        size_t b = pos;
        while (pos < len && code_char(name[pos])) {
            pos++;
        }
        if (pos == b || pos - b > CT_TT10_CODE_MAX || pos >= len || name[pos] != fmt->name_sep) {
            return tt10_errf(err, errcap,
                             "file name: %s code must be 1..%d characters of [A-Za-z0-9-] "
                             "followed by '%c'",
                             what[k], CT_TT10_CODE_MAX, fmt->name_sep);
        }
        memcpy(dst[k], name + b, pos - b);
        dst[k][pos - b] = '\0';
        pos++;
    }
    if (len - elen - pos != 14 ||
        col_tt10_time_parse(name + pos, 14, fmt->utc_offset_min, &f->ts_ms) != 0) {
        return tt10_errf(err, errcap, "file name: time must be a valid yyyyMMddHHmmss");
    }
    f->n = 0;
    return 0;
}

/* Checks one field of text: valid UTF-8, no control byte, 'min'..'max' bytes; copies it. */
static bool text_field(const char *s, size_t len, size_t min, size_t max, char *out)
{
    if (len < min || len > max) {
        return false;
    }
    if (!ct_utf8_text_valid(s, len)) {
        return false;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* A value: an optional '-', digits, an optional '.' and digits; no exponent, no spaces, no
 * hexadecimal (strtod alone would take "0x1p3", " 5" and "inf"). */
static bool value_field(const char *s, size_t len, double *out)
{
    size_t i = 0, nd = 0;
    char buf[64];
    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    if (s[i] == '-' || s[i] == '+') {
        i++;
    }
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
        nd++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            nd++;
        }
    }
    if (i != len || nd == 0) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    char *end = NULL;
    double v = strtod(buf, &end);
    if (end != buf + len || errno != 0 || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}

/* Parses one line (without its end) into f->lines[f->n]. */
static int parse_line(const struct col_tt10_fmt *fmt, const char *s, size_t len,
                      struct col_tt10_file *f, char *err, size_t errcap)
{
    const char *field[5];
    size_t flen[5];
    size_t nf = 0, b = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == fmt->field_sep) {
            if (nf == 5) {
                return tt10_errf(err, errcap, "more than 5 fields");
            }
            field[nf] = s + b;
            flen[nf] = i - b;
            nf++;
            b = i + 1;
        }
    }
    if (nf != 5) {
        return tt10_errf(err, errcap, "expected 5 fields separated by 0x%02x, found %zu",
                         (unsigned)(unsigned char)fmt->field_sep, nf);
    }
    if (f->n == COL_TT10_LINES_MAX) {
        return tt10_errf(err, errcap, "more than %d parameters", COL_TT10_LINES_MAX);
    }
    struct col_tt10_line *l = &f->lines[f->n];
    if (!text_field(field[0], flen[0], 1, COL_TT10_SYMBOL_MAX, l->symbol)) {
        return tt10_errf(err, errcap, "symbol: expected 1..%d bytes of printable UTF-8",
                         COL_TT10_SYMBOL_MAX);
    }
    if (!value_field(field[1], flen[1], &l->value)) {
        return tt10_errf(err, errcap, "value of %s: expected a decimal number", l->symbol);
    }
    if (!text_field(field[2], flen[2], 0, COL_TT10_UNIT_MAX, l->unit)) {
        return tt10_errf(err, errcap, "unit of %s: expected 0..%d bytes of printable UTF-8",
                         l->symbol, COL_TT10_UNIT_MAX);
    }
    if (col_tt10_time_parse(field[3], flen[3], fmt->utc_offset_min, &l->ts_ms) != 0) {
        return tt10_errf(err, errcap, "time of %s: expected a valid yyyyMMddHHmmss", l->symbol);
    }
    int st = -1;
    for (int k = 0; k < COL_TT10_STATUS__COUNT; k++) {
        if (strlen(fmt->status[k]) == flen[4] && memcmp(fmt->status[k], field[4], flen[4]) == 0) {
            st = k;
        }
    }
    if (st < 0) {
        return tt10_errf(err, errcap, "status of %s: expected %s, %s or %s", l->symbol,
                         fmt->status[0], fmt->status[1], fmt->status[2]);
    }
    l->status = (enum col_tt10_status)st;
    for (size_t k = 0; k < f->n; k++) {
        if (strcmp(f->lines[k].symbol, l->symbol) == 0) {
            return tt10_errf(err, errcap, "symbol %s appears twice", l->symbol);
        }
    }
    f->n++;
    return 0;
}

int col_tt10_parse(const struct col_tt10_fmt *fmt, const char *text, size_t len,
                   struct col_tt10_file *f, size_t *line, char *err, size_t errcap)
{
    *line = 0;
    f->n = 0;
    if (len > COL_TT10_FILE_MAX) {
        return tt10_errf(err, errcap, "larger than %d bytes", COL_TT10_FILE_MAX);
    }
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        if (!fmt->accept_bom) {
            *line = 1;
            return tt10_errf(err, errcap, "a byte-order mark is not accepted");
        }
        pos = 3;
    }
    size_t eol_len = strlen(fmt->eol);
    while (pos < len) {
        ++*line;
        const char *nl = memchr(text + pos, fmt->eol[eol_len - 1], len - pos);
        if (nl == NULL) {
            return tt10_errf(err, errcap, "the last line has no end of line");
        }
        size_t end = (size_t)(nl - text); /* index of the eol's last byte */
        size_t body_end = end;
        if (eol_len == 2) {
            if (end > pos && text[end - 1] == fmt->eol[0]) {
                body_end = end - 1;
            } else if (!fmt->accept_lf) {
                return tt10_errf(err, errcap, "line does not end in CRLF");
            }
        }
        if (memchr(text + pos, '\0', body_end - pos) != NULL) {
            return tt10_errf(err, errcap, "NUL byte");
        }
        if (body_end == pos) {
            return tt10_errf(err, errcap, "empty line");
        }
        int rc = parse_line(fmt, text + pos, body_end - pos, f, err, errcap);
        if (rc != 0) {
            return rc;
        }
        pos = end + 1;
    }
    if (f->n == 0) {
        *line = 0;
        return tt10_errf(err, errcap, "no parameter line");
    }
    return 0;
}
