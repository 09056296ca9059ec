/* ct/schema.h - the wire contract's one table of kinds, measurement members, units and ranges.
 *
 * Used by the firmware's self-check, the collector's validation, the simulator and the docs.
 * Pure data and lookups: no allocation. */
#ifndef CT_SCHEMA_H
#define CT_SCHEMA_H
#include <stdbool.h>
#include <stddef.h>

enum ct_kind {
    CT_KIND_AIR = 0,
    CT_KIND_WATER,
    CT_KIND_RAIN,
    CT_KIND_FLOOD,
    CT_KIND_PARKING,
    CT_KIND__COUNT
};

/* How a member's value is typed on the wire. */
enum ct_vtype {
    CT_VT_NUMBER = 0, /* finite JSON number */
    CT_VT_INT,        /* JSON integer, exact (no fraction, no exponent) */
    CT_VT_BOOL        /* true / false */
};

struct ct_member {
    enum ct_kind kind;
    const char *name; /* wire name, for example "pm25" */
    const char *unit; /* "ug/m3", "degC", ... */
    enum ct_vtype type;
    double min;           /* inclusive */
    double max;           /* inclusive */
    bool optional_probe;  /* water nh4/cod/tss: optional probes */
    const char *label_vi; /* public label, Vietnamese */
    const char *label_en; /* public label, English */
};

#define CT_ID_MAX 64          /* device id length limit (chars of [a-z0-9-]) */
#define CT_PAYLOAD_MAX 4096   /* payload size limit in bytes */
#define CT_MEMBER_NAME_MAX 15 /* longest measurement member name we keep */

/* Returns "air", "water", ...; NULL for an invalid kind. */
const char *ct_kind_name(enum ct_kind kind);
/* Returns 0 and sets *kind, or CT_E_NOTFOUND. 'name' is 'len' bytes, not NUL-terminated. */
int ct_kind_parse(const char *name, size_t len, enum ct_kind *kind);

/* The members of 'kind' (parking lists "capacity" (int) and "occupied"; "occupied" is typed
 * CT_VT_INT here and read as a boolean for bay sensors by the registry's say). */
const struct ct_member *ct_schema_members(enum ct_kind kind, size_t *count);
/* Returns the member 'name' (len bytes) of 'kind', or NULL. */
const struct ct_member *ct_schema_find(enum ct_kind kind, const char *name, size_t len);
/* True when 'v' is within the member's inclusive range. */
bool ct_schema_in_range(const struct ct_member *m, double v);
/* True when 'id' (len bytes) is 1..64 chars of [a-z0-9-]. */
bool ct_device_id_valid(const char *id, size_t len);

#endif
