/* lp.c - InfluxDB line protocol encoder (see ct/lp.h). Each element has its own escaper; a
 * point is built in place and cut back on any error, so a failed call appends nothing. */
#include "ct/lp.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "ct/err.h"
#include "ct/payload.h"

static bool has_newline(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* True when an element cannot be written: it holds CR or LF, or its last byte is a backslash
 * (line protocol has no escape for a backslash before a separator: it would escape it). */
static bool unwritable(const char *s)
{
    size_t n = strlen(s);
    return has_newline(s) || (n > 0 && s[n - 1] == '\\');
}

/* Appends 's' with a backslash before every byte found in 'special'. */
static int add_escaped(struct ct_buf *out, const char *s, const char *special)
{
    int rc = 0;
    const char *run = s;
    for (const char *p = s; rc == 0 && *p != '\0'; p++) {
        if (strchr(special, *p) != NULL) {
            rc = ct_buf_add(out, run, (size_t)(p - run));
            if (rc == 0) {
                rc = ct_buf_add(out, "\\", 1);
            }
            run = p;
        }
    }
    if (rc == 0) {
        rc = ct_buf_adds(out, run);
    }
    return rc;
}

static bool tag_present(const struct ct_lp_tag *t)
{
    return t->val != NULL && t->val[0] != '\0';
}

static int add_field_value(struct ct_buf *out, const struct ct_lp_field *f)
{
    char num[32];
    switch (f->type) {
    case CT_LP_FLOAT:
        if (ct_fmt_double(f->f, num) != 0) {
            return CT_E_INVAL;
        }
        return ct_buf_adds(out, num);
    case CT_LP_INT:
        return ct_buf_printf(out, "%" PRId64 "i", f->i);
    case CT_LP_BOOL:
        return ct_buf_adds(out, f->b ? "true" : "false");
    case CT_LP_STRING: {
        int rc = ct_buf_add(out, "\"", 1);
        if (rc == 0) {
            rc = add_escaped(out, f->s, "\"\\");
        }
        if (rc == 0) {
            rc = ct_buf_add(out, "\"", 1);
        }
        return rc;
    }
    default:
        return CT_E_INVAL;
    }
}

/* Checks the whole point before writing anything. */
static int check_point(const char *measurement, const struct ct_lp_tag *tags, size_t ntags,
                       const struct ct_lp_field *fields, size_t nfields)
{
    if (measurement == NULL || measurement[0] == '\0' || unwritable(measurement)) {
        return CT_E_INVAL;
    }
    if (ntags > CT_LP_MAX_TAGS || (ntags > 0 && tags == NULL) || nfields == 0 || fields == NULL) {
        return CT_E_INVAL;
    }
    for (size_t i = 0; i < ntags; i++) {
        if (tags[i].key == NULL || tags[i].key[0] == '\0' || unwritable(tags[i].key)) {
            return CT_E_INVAL;
        }
        if (tag_present(&tags[i]) && unwritable(tags[i].val)) {
            return CT_E_INVAL;
        }
    }
    for (size_t i = 0; i < nfields; i++) {
        const struct ct_lp_field *f = &fields[i];
        if (f->key == NULL || f->key[0] == '\0' || unwritable(f->key)) {
            return CT_E_INVAL;
        }
        if (f->type == CT_LP_FLOAT && !isfinite(f->f)) {
            return CT_E_INVAL;
        }
        if (f->type == CT_LP_STRING && (f->s == NULL || has_newline(f->s))) {
            return CT_E_INVAL;
        }
        if ((unsigned)f->type > (unsigned)CT_LP_STRING) {
            return CT_E_INVAL;
        }
    }
    return 0;
}

int ct_lp_point(struct ct_buf *out, const char *measurement, const struct ct_lp_tag *tags,
                size_t ntags, const struct ct_lp_field *fields, size_t nfields, int64_t ts)
{
    size_t order[CT_LP_MAX_TAGS];
    size_t norder = 0;
    size_t start = out->len;
    int rc = check_point(measurement, tags, ntags, fields, nfields);
    if (rc != 0) {
        return rc;
    }

    /* Insertion sort of the present tags by key (byte order); stable for equal keys. */
    for (size_t i = 0; i < ntags; i++) {
        if (!tag_present(&tags[i])) {
            continue;
        }
        size_t j = norder;
        while (j > 0 && strcmp(tags[order[j - 1]].key, tags[i].key) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        norder++;
    }

    rc = add_escaped(out, measurement, ", ");
    for (size_t k = 0; rc == 0 && k < norder; k++) {
        const struct ct_lp_tag *t = &tags[order[k]];
        rc = ct_buf_add(out, ",", 1);
        if (rc == 0) {
            rc = add_escaped(out, t->key, ",= ");
        }
        if (rc == 0) {
            rc = ct_buf_add(out, "=", 1);
        }
        if (rc == 0) {
            rc = add_escaped(out, t->val, ",= ");
        }
    }
    for (size_t i = 0; rc == 0 && i < nfields; i++) {
        rc = ct_buf_add(out, i == 0 ? " " : ",", 1);
        if (rc == 0) {
            rc = add_escaped(out, fields[i].key, ",= ");
        }
        if (rc == 0) {
            rc = ct_buf_add(out, "=", 1);
        }
        if (rc == 0) {
            rc = add_field_value(out, &fields[i]);
        }
    }
    if (rc == 0 && ts != INT64_MIN) {
        rc = ct_buf_printf(out, " %" PRId64, ts);
    }
    if (rc == 0) {
        rc = ct_buf_add(out, "\n", 1);
    }
    if (rc != 0) {
        ct_buf_truncate(out, start);
    }
    return rc;
}
