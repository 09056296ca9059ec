/* ct/lp.h - InfluxDB line protocol encoder, one escaper per element.
 *
 * measurement: escape comma and space; tag key/value and field key: escape comma, equals sign
 * and space; string field value: escape double quote and backslash, quoted. Newlines (CR or LF)
 * anywhere are refused (CT_E_INVAL), as are NaN/Inf. A measurement, tag key, tag value or field
 * key whose last byte is a backslash is refused too (CT_E_INVAL): line protocol cannot carry it,
 * since that backslash would escape the separator after it; a backslash elsewhere is written
 * as-is and reads back. Empty tag values are omitted. Tags are
 * written sorted by key (byte order) so the same point always has the same bytes
 * (test_common_lp's test_tags_sorted_bytewise). Floats are
 * written with ct_fmt_double; integers with an `i` suffix; booleans as true/false. */
#ifndef CT_LP_H
#define CT_LP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/buf.h"

struct ct_lp_tag {
    const char *key; /* borrowed */
    const char *val; /* borrowed; NULL or "" omits the tag */
};

enum ct_lp_ftype { CT_LP_FLOAT = 0, CT_LP_INT, CT_LP_BOOL, CT_LP_STRING };

struct ct_lp_field {
    const char *key; /* borrowed */
    enum ct_lp_ftype type;
    double f;
    int64_t i;
    bool b;
    const char *s; /* borrowed */
};

#define CT_LP_MAX_TAGS 16

/* Appends one point and its newline to 'out'. 'ts' is in the caller's write precision; pass
 * INT64_MIN for none. On error nothing is appended. Returns 0, CT_E_INVAL (empty measurement, no
 * field, newline, element ending in a backslash, NaN/Inf, more than CT_LP_MAX_TAGS tags),
 * CT_E_TOOBIG or CT_E_NOMEM. */
int ct_lp_point(struct ct_buf *out, const char *measurement, const struct ct_lp_tag *tags,
                size_t ntags, const struct ct_lp_field *fields, size_t nfields, int64_t ts);

#endif
