/* ct/payload.h - telemetry payloads (protocol.md section 2): strict decode and encode.
 *
 * struct ct_reading is a plain value with fixed storage: no allocation, so the firmware and the
 * simulator can keep it on the stack. */
#ifndef CT_PAYLOAD_H
#define CT_PAYLOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/buf.h"
#include "ct/reject.h"
#include "ct/schema.h"

#define CT_MAX_VALUES 16

struct ct_value {
    char name[CT_MEMBER_NAME_MAX + 1]; /* wire name, for example "pm25" */
    enum ct_vtype type;                /* CT_VT_BOOL: b is set; otherwise num */
    double num;
    bool b;
};

/* A value the decoder dropped (wrong type) or the validator dropped (range), with why. */
struct ct_drop {
    char name[CT_MEMBER_NAME_MAX + 1];
    enum ct_reject reason; /* CT_REJ_TYPE or CT_REJ_RANGE */
};

struct ct_reading {
    enum ct_kind kind;
    char id[CT_ID_MAX + 1];
    uint64_t boot;
    uint64_t seq;
    int64_t ts_ms; /* sampling time, ms since the Unix epoch, UTC */
    size_t n;      /* values[0..n) */
    struct ct_value values[CT_MAX_VALUES];
    size_t ndrops;
    struct ct_drop drops[CT_MAX_VALUES];
    bool has_bat;
    double bat;
    bool has_rssi;
    int64_t rssi;
    unsigned unknown; /* unknown members of `m` ignored (counted by the collector) */
};

/* Decodes 'len' bytes of 'buf' (not NUL-terminated) as a telemetry payload of 'kind'.
 *
 * Strict: size <= CT_PAYLOAD_MAX, valid UTF-8, no escaped NUL, strict JSON with case-sensitive
 * keys and no duplicate keys (at any depth), nesting depth <= 4, integers exact up to 2^53-1,
 * finite numbers only, `v` == 1, `id` a valid device id, `boot`/`seq` integers >= 0, `ts` an
 * integer, `m` an object. Unknown top-level members are a schema error; unknown members of `m`
 * are counted in out->unknown. A known member of `m` with the wrong JSON type is not an error of
 * the message: it is listed in out->drops with CT_REJ_TYPE. Ranges are NOT checked here (see
 * ct_reading_check_ranges). For parking, `occupied` may be an integer or a boolean: the value
 * keeps the JSON type and the collector checks it against the registry.
 *
 * Number tokens are at most 63 characters (cJSON's limit). Assumes the "C" numeric locale.
 *
 * Returns 0, or CT_E_PARSE with *why filled (code and a sentence naming the member), or
 * CT_E_INVAL (NULL out, invalid kind), or CT_E_NOMEM (cJSON could not allocate). 'why' may be
 * NULL. On failure *out holds no values. */
int ct_payload_decode(const char *buf, size_t len, enum ct_kind kind, struct ct_reading *out,
                      struct ct_reason *why);

/* Encodes 'r' as compact JSON into 'out' (appends). Members in a stable order:
 * v, id, boot, seq, ts, m (values in order), then bat, rssi when present. Numbers are written in
 * their shortest exact form (round-trip). On error nothing is appended. Returns 0, CT_E_TOOBIG,
 * CT_E_NOMEM, or CT_E_INVAL (invalid id, non-finite value, integer beyond 2^53-1: what the
 * decoder would refuse). */
int ct_payload_encode(const struct ct_reading *r, struct ct_buf *out);

/* Moves the values of 'r' outside the schema's ranges into r->drops (CT_REJ_RANGE), with parking's
 * occupied <= capacity rule. Returns the number dropped. */
size_t ct_reading_check_ranges(struct ct_reading *r);

/* Sets or adds value 'name' to 'r'. Returns 0 or CT_E_FULL / CT_E_INVAL. */
int ct_reading_set_num(struct ct_reading *r, const char *name, double v);
int ct_reading_set_bool(struct ct_reading *r, const char *name, bool v);
/* Returns the value named 'name', or NULL. */
const struct ct_value *ct_reading_get(const struct ct_reading *r, const char *name);

/* Writes x in its shortest form that reads back exactly ("41.2", "78", "1e-07"), NUL-terminated.
 * Plain digits only for integral values below 2^53 in magnitude; from 2^53 up, exponent form
 * ("3.3333333333333332e+16"), so the strict decoder never sees an inexact integer token and
 * every finite double encodes to text that decodes to the same double (test_common_payload's
 * test_roundtrip_above_2p53).
 * 'out' needs 32 bytes. Returns 0 or CT_E_RANGE for NaN/Inf. Shared with the line protocol. */
int ct_fmt_double(double x, char out[32]);

#endif
