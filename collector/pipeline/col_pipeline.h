/* col_pipeline.h - the collector's per-message checks, in the contract's order:
 * size, topic grammar, registry, signature, UTF-8, strict JSON, schema and types, ranges (per
 * value: a bad value drops only that value), time window, duplicate and replay per (boot, seq).
 *
 * Pure CPU work on the loop thread: no I/O; the strict decoder's JSON tree is the only allocation
 * per message. The registry is borrowed and may be swapped between messages (SIGHUP reload). */
#ifndef COL_PIPELINE_H
#define COL_PIPELINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_dedup.h"
#include "ct/buf.h"
#include "ct/payload.h"
#include "ct/registry.h"
#include "ct/reject.h"
#include "ct/topic.h"

struct col_pipeline_cfg {
    bool require_sig;      /* reject messages without a valid `sig` */
    const uint8_t *master; /* master key (copied) */
    size_t master_len;
    const uint8_t *prev_master; /* previous master key during a rotation, or NULL (copied) */
    size_t prev_master_len;
    int64_t future_ms;      /* ts more than this ahead of now is rejected (300000) */
    int64_t backlog_ms;     /* ts older than this is rejected (7 days) */
    uint32_t replay_window; /* (boot, seq) window (1024) */
    size_t max_devices;     /* bound of the per-device state table */
};

/* The outcome of one message. */
struct col_verdict {
    enum ct_topic_type type;     /* up or status */
    enum ct_reject reject;       /* CT_REJ_NONE when accepted; CT_REJ_DUPLICATE is not an error */
    struct ct_reason why;        /* the reason, naming the member, when rejected */
    char device[CT_ID_MAX + 1];  /* the topic's device id when the topic parsed, else "" */
    const struct ct_device *dev; /* registry entry when known (borrowed from the registry) */
    struct col_devstate *state;  /* per-device state when known */
    struct ct_reading reading;   /* accepted values (and drops) when type is up */
    bool tips_mismatch;          /* rain: mm disagrees with the tips delta */
    int status_online;           /* status topic: 1 online, 0 offline */
};

struct col_pipeline_stats {
    uint64_t accepted;
    uint64_t rejected[CT_REJ__COUNT]; /* by reason; values dropped count under TYPE/RANGE */
    uint64_t values_dropped[CT_REJ__COUNT];
    uint64_t unknown_members;
    uint64_t tips_mismatch;
    uint64_t status_messages;
};

struct col_pipeline;

/* Copies the keys. Returns 0, CT_E_INVAL (require_sig without a key) or CT_E_NOMEM. */
int col_pipeline_create(const struct col_pipeline_cfg *cfg, struct col_pipeline **out);
/* Classifies one message. 'reg' is borrowed for the call; 'v' is filled in full. Returns 0 (see
 * v->reject for the outcome), or CT_E_NOMEM / CT_E_FULL when memory ran out (the device table,
 * the decoder or the status parser): the message is then rejected with CT_REJ_OVERLOAD and its
 * (boot, seq) is not recorded, so a redelivery is accepted later. */
int col_pipeline_process(struct col_pipeline *p, const struct ct_registry *reg, const char *topic,
                         size_t topic_len, const char *sig, size_t sig_len, const void *payload,
                         size_t payload_len, int64_t now_ms, struct col_verdict *v);
/* Appends the raw point of an accepted reading (protocol.md section 4): measurement = kind,
 * tags device, district, ward, fields = accepted values (floats; integers for tips, capacity and a
 * lot's occupied; a bay's occupied as integer 0/1), time = ts in ms. Deterministic: the bytes come
 * from the reading and the registry only, with tags sorted by ct_lp (test_common_lp's
 * test_tags_sorted_bytewise), so the same reading gives the same bytes. Returns 0, CT_E_TOOBIG or
 * CT_E_NOMEM. */
int col_pipeline_raw_lp(const struct ct_device *dev, const struct ct_reading *r,
                        struct ct_buf *out);
/* While on, col_pipeline_process accepts a reading without the duplicate/replay check and
 * without recording its (boot, seq): for a journal record replayed after a restart that the
 * flow's checkpoint says was accepted already (its (boot, seq) is in the restored state). */
void col_pipeline_set_reprocess(struct col_pipeline *p, bool on);
const struct col_pipeline_stats *col_pipeline_stats(const struct col_pipeline *p);
/* SIGHUP: the time window of the checks from the next message on (future_ms, backlog_ms as in
 * col_pipeline_cfg; negative values are ignored). The replay window sizes per-device state and
 * stays as created. Proved by tests/e2e/test_reload_keys.py. */
void col_pipeline_set_time_window(struct col_pipeline *p, int64_t future_ms, int64_t backlog_ms);
struct col_dedup *col_pipeline_devices(struct col_pipeline *p);
void col_pipeline_free(struct col_pipeline *p);

#endif
