/* reading.c - struct ct_reading helpers: set/get values and the schema's range check. */
#include <math.h>
#include <string.h>

#include "ct/err.h"
#include "ct/payload.h"

static struct ct_value *find_value(struct ct_reading *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->values[i].name, name) == 0) {
            return &r->values[i];
        }
    }
    return NULL;
}

/* Finds 'name' or appends a new value slot for it. */
static int slot(struct ct_reading *r, const char *name, struct ct_value **out)
{
    size_t len;
    if (r == NULL || name == NULL) {
        return CT_E_INVAL;
    }
    len = strlen(name);
    if (len == 0 || len > CT_MEMBER_NAME_MAX) {
        return CT_E_INVAL;
    }
    struct ct_value *v = find_value(r, name);
    if (v == NULL) {
        if (r->n >= CT_MAX_VALUES) {
            return CT_E_FULL;
        }
        v = &r->values[r->n++];
        memset(v, 0, sizeof(*v));
        memcpy(v->name, name, len + 1);
    }
    *out = v;
    return 0;
}

int ct_reading_set_num(struct ct_reading *r, const char *name, double v)
{
    struct ct_value *val;
    const struct ct_member *m;
    if (r == NULL || name == NULL || !isfinite(v)) {
        return CT_E_INVAL;
    }
    m = ct_schema_find(r->kind, name, strlen(name));
    if (m != NULL && m->type == CT_VT_INT && v != trunc(v)) {
        return CT_E_INVAL;
    }
    int rc = slot(r, name, &val);
    if (rc != 0) {
        return rc;
    }
    val->type = (m != NULL && m->type == CT_VT_INT) ? CT_VT_INT : CT_VT_NUMBER;
    val->num = v;
    val->b = false;
    return 0;
}

int ct_reading_set_bool(struct ct_reading *r, const char *name, bool v)
{
    struct ct_value *val;
    int rc = slot(r, name, &val);
    if (rc != 0) {
        return rc;
    }
    val->type = CT_VT_BOOL;
    val->num = 0;
    val->b = v;
    return 0;
}

const struct ct_value *ct_reading_get(const struct ct_reading *r, const char *name)
{
    if (r == NULL || name == NULL) {
        return NULL;
    }
    return find_value((struct ct_reading *)r, name);
}

/* Removes values[i] (order kept) and records it as a drop. */
static void drop_at(struct ct_reading *r, size_t i, enum ct_reject why)
{
    if (r->ndrops < CT_MAX_VALUES) {
        struct ct_drop *d = &r->drops[r->ndrops++];
        memcpy(d->name, r->values[i].name, sizeof(d->name));
        d->reason = why;
    }
    memmove(&r->values[i], &r->values[i + 1], (r->n - i - 1) * sizeof(r->values[0]));
    r->n--;
}

size_t ct_reading_check_ranges(struct ct_reading *r)
{
    size_t dropped = 0;
    size_t i = 0;

    if (r == NULL) {
        return 0;
    }
    while (i < r->n) {
        const struct ct_value *v = &r->values[i];
        const struct ct_member *m = ct_schema_find(r->kind, v->name, strlen(v->name));
        bool bad = false;
        if (m != NULL && v->type != CT_VT_BOOL) {
            bad =
                !ct_schema_in_range(m, v->num) || (m->type == CT_VT_INT && v->num != trunc(v->num));
        }
        if (bad) {
            drop_at(r, i, CT_REJ_RANGE);
            dropped++;
        } else {
            i++;
        }
    }
    if (r->kind == CT_KIND_PARKING) {
        const struct ct_value *cap = ct_reading_get(r, "capacity");
        for (i = 0; cap != NULL && cap->type != CT_VT_BOOL && i < r->n; i++) {
            const struct ct_value *v = &r->values[i];
            if (strcmp(v->name, "occupied") == 0 && v->type != CT_VT_BOOL && v->num > cap->num) {
                drop_at(r, i, CT_REJ_RANGE);
                dropped++;
                break;
            }
        }
    }
    return dropped;
}
