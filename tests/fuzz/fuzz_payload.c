/* fuzz_payload.c - ct_payload_decode() on hostile bytes for every kind; a decoded reading must
 * encode (ct_payload_encode) and decode again to the same reading. The first input byte picks
 * the kind; the rest is the payload. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ct/buf.h"
#include "ct/err.h"
#include "ct/payload.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_reading(const struct ct_reading *a, const struct ct_reading *b)
{
    FZ_CHECK(a->kind == b->kind, "kind %d vs %d", (int)a->kind, (int)b->kind);
    FZ_CHECK(strcmp(a->id, b->id) == 0, "id '%s' vs '%s'", a->id, b->id);
    FZ_CHECK(a->boot == b->boot && a->seq == b->seq, "boot/seq");
    FZ_CHECK(a->ts_ms == b->ts_ms, "ts %lld vs %lld", (long long)a->ts_ms, (long long)b->ts_ms);
    FZ_CHECK(a->n == b->n, "values %zu vs %zu", a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct ct_value *x = &a->values[i];
        const struct ct_value *y = &b->values[i];
        FZ_CHECK(strcmp(x->name, y->name) == 0, "value %zu name '%s' vs '%s'", i, x->name, y->name);
        FZ_CHECK(x->type == y->type, "value %s type %d vs %d", x->name, (int)x->type, (int)y->type);
        if (x->type == CT_VT_BOOL) {
            FZ_CHECK(x->b == y->b, "value %s bool", x->name);
        } else {
            FZ_CHECK(x->num == y->num && signbit(x->num) == signbit(y->num),
                     "value %s %.17g vs %.17g", x->name, x->num, y->num);
        }
    }
    FZ_CHECK(a->has_bat == b->has_bat && (!a->has_bat || a->bat == b->bat), "bat");
    FZ_CHECK(a->has_rssi == b->has_rssi && (!a->has_rssi || a->rssi == b->rssi), "rssi");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    enum ct_kind kind = (enum ct_kind)(data[0] % CT_KIND__COUNT);
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    struct ct_reading r;
    struct ct_reason why;
    memset(&why, 0, sizeof(why));
    int rc = ct_payload_decode(buf, len, kind, &r, &why);
    FZ_CHECK(rc == 0 || rc == CT_E_PARSE || rc == CT_E_NOMEM, "decode rc %d", rc);
    if (rc != 0) {
        FZ_CHECK(rc != CT_E_PARSE || why.code != CT_REJ_NONE, "a parse error without a reason");
        FZ_CHECK(memchr(why.text, '\0', sizeof(why.text)) != NULL, "reason text unterminated");
        FZ_CHECK(r.n == 0, "a failed decode left %zu values", r.n);
        return 0;
    }
    FZ_CHECK(len <= CT_PAYLOAD_MAX, "accepted %zu bytes", len);
    FZ_CHECK(r.kind == kind, "kind changed");
    FZ_CHECK(r.n <= CT_MAX_VALUES && r.ndrops <= CT_MAX_VALUES, "counts");
    for (size_t i = 0; i < r.n; i++) {
        FZ_CHECK(r.values[i].type == CT_VT_BOOL || isfinite(r.values[i].num), "non-finite");
    }

    /* Round trip: encode, decode, compare; then the encoding is a fixed point. */
    struct ct_buf enc;
    ct_buf_init(&enc, 2 * CT_PAYLOAD_MAX);
    rc = ct_payload_encode(&r, &enc);
    FZ_CHECK(rc == 0, "encode of a decoded reading failed: %d", rc);
    struct ct_reading r2;
    rc = ct_payload_decode(enc.p, enc.len, kind, &r2, &why);
    FZ_CHECK(rc == 0, "re-decode failed (%d: %s) for %.*s", rc, why.text, (int)enc.len, enc.p);
    same_reading(&r, &r2);
    struct ct_buf enc2;
    ct_buf_init(&enc2, 2 * CT_PAYLOAD_MAX);
    rc = ct_payload_encode(&r2, &enc2);
    FZ_CHECK(rc == 0 && enc2.len == enc.len && memcmp(enc.p, enc2.p, enc.len) == 0,
             "encoding is not stable");
    ct_buf_free(&enc2);
    ct_buf_free(&enc);

    /* The range check only moves values into drops. */
    size_t before = r.n + r.ndrops;
    size_t dropped = ct_reading_check_ranges(&r);
    FZ_CHECK(r.n + r.ndrops == before && dropped <= before, "range check lost values");
    return 0;
}
