/* pipeline.c - verification and validation of one message, in the contract's order. */
#include "col_pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/lp.h"
#include "ct/sig.h"
#include "ct/status.h"

struct col_pipeline {
    struct col_pipeline_cfg cfg;
    uint8_t master[2][256];
    size_t master_len[2];
    struct col_dedup *devices;
    struct col_pipeline_stats stats;
    bool reprocess; /* a journal record accepted before the last checkpoint: skip the dedup */
};

void col_pipeline_set_reprocess(struct col_pipeline *p, bool on)
{
    p->reprocess = on;
}

int col_pipeline_create(const struct col_pipeline_cfg *cfg, struct col_pipeline **out)
{
    struct col_pipeline *p;
    int rc;

    if ((cfg->require_sig && (cfg->master == NULL || cfg->master_len == 0)) ||
        cfg->master_len > 256 || cfg->prev_master_len > 256) {
        return CT_E_INVAL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return CT_E_NOMEM;
    }
    p->cfg = *cfg;
    if (cfg->master != NULL) {
        memcpy(p->master[0], cfg->master, cfg->master_len);
        p->master_len[0] = cfg->master_len;
    }
    if (cfg->prev_master != NULL) {
        memcpy(p->master[1], cfg->prev_master, cfg->prev_master_len);
        p->master_len[1] = cfg->prev_master_len;
    }
    p->cfg.master = NULL;
    p->cfg.prev_master = NULL;
    rc = col_dedup_create(cfg->max_devices > 0 ? cfg->max_devices : 1000000,
                          cfg->replay_window > 0 ? cfg->replay_window : 1024, &p->devices);
    if (rc != 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void col_pipeline_free(struct col_pipeline *p)
{
    if (p == NULL) {
        return;
    }
    col_dedup_free(p->devices);
    memset(p->master, 0, sizeof(p->master));
    free(p);
}

const struct col_pipeline_stats *col_pipeline_stats(const struct col_pipeline *p)
{
    return &p->stats;
}

struct col_dedup *col_pipeline_devices(struct col_pipeline *p)
{
    return p->devices;
}

static int reject(struct col_pipeline *p, struct col_verdict *v, enum ct_reject code,
                  const char *member, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Records a rejection with its reason sentence and counts it. Always returns 0. */
static int reject(struct col_pipeline *p, struct col_verdict *v, enum ct_reject code,
                  const char *member, const char *fmt, ...)
{
    va_list ap;

    v->reject = code;
    v->why.code = code;
    snprintf(v->why.member, sizeof(v->why.member), "%s", member);
    va_start(ap, fmt);
    vsnprintf(v->why.text, sizeof(v->why.text), fmt, ap);
    va_end(ap);
    p->stats.rejected[code]++;
    return 0;
}

/* Tries each configured master key; caches the derived device keys, prepared for HMAC
 * (ct_sig_key_prepare), in the device's state. */
static bool verify_sig(struct col_pipeline *p, struct col_devstate *s, const char *topic,
                       size_t topic_len, const void *payload, size_t len, const char *sig,
                       size_t sig_len)
{
    for (int i = 0; i < 2; i++) {
        if (p->master_len[i] == 0) {
            continue;
        }
        if (!s->key_ok[i]) {
            uint8_t key[CT_KEY_LEN];
            int rc = ct_sig_device_key(p->master[i], p->master_len[i], s->id, key);
            if (rc == 0) {
                rc = ct_sig_key_prepare(key, &s->keys[i]);
            }
            memset(key, 0, sizeof(key));
            if (rc != 0) {
                continue;
            }
            s->key_ok[i] = true;
        }
        if (ct_sig_verify_prepared(&s->keys[i], topic, topic_len, payload, len, sig, sig_len)) {
            return true;
        }
    }
    return false;
}

/* A parking value is typed by the registry: a lot counts spaces (integer), a bay is a boolean. */
static void check_parking_types(struct col_pipeline *p, const struct ct_device *dev,
                                struct ct_reading *r)
{
    size_t keep = 0;

    for (size_t i = 0; i < r->n; i++) {
        struct ct_value *val = &r->values[i];
        bool ok = true;
        if (strcmp(val->name, "occupied") == 0) {
            ok = dev->park_mode == CT_PARK_BAY ? val->type == CT_VT_BOOL : val->type != CT_VT_BOOL;
        } else if (strcmp(val->name, "capacity") == 0) {
            ok = dev->park_mode == CT_PARK_LOT && val->type != CT_VT_BOOL;
        }
        if (!ok && r->ndrops < CT_MAX_VALUES) {
            memcpy(r->drops[r->ndrops].name, val->name, sizeof(val->name));
            r->drops[r->ndrops++].reason = CT_REJ_TYPE;
            continue;
        }
        r->values[keep++] = *val;
    }
    r->n = keep;
}

/* Rain: `mm` must equal the tips delta times mm_per_tip when the previous message of the same
 * boot was seen here; a mismatch is counted, not rejected. A new boot restarts tips. */
static void check_rain(struct col_pipeline *p, struct col_verdict *v)
{
    const struct ct_value *tips = ct_reading_get(&v->reading, "tips");
    const struct ct_value *mm = ct_reading_get(&v->reading, "mm");
    struct col_devstate *s = v->state;

    if (tips == NULL) {
        return;
    }
    if (mm != NULL && s->has_tips && s->tips_boot == v->reading.boot && tips->num >= s->tips) {
        double expect = (tips->num - s->tips) * v->dev->mm_per_tip;
        if (fabs(expect - mm->num) > 1e-6 + 1e-9 * expect) {
            v->tips_mismatch = true;
            p->stats.tips_mismatch++;
        }
    }
    s->has_tips = true;
    s->tips_boot = v->reading.boot;
    s->tips = tips->num;
}

/* A status message: strict decode (ct_status_decode), id = topic id, then ordering: its
 * (boot, seq) must be newer than the newest accepted status of the device (equal: a duplicate,
 * as a retained status delivered again on subscribe; older: a replay), and its boot not older
 * than the newest accepted telemetry boot. Only an accepted status changes `online`
 * (tests/e2e/test_status_sig.py). */
static int process_status(struct col_pipeline *p, struct col_verdict *v, const void *payload,
                          size_t len)
{
    struct ct_status st;
    struct col_devstate *s = v->state;
    int rc = ct_status_decode(payload, len, &st, &v->why);

    if (rc == CT_E_NOMEM) {
        /* Not the message's fault: refused for lack of memory, like a full device table. */
        reject(p, v, CT_REJ_OVERLOAD, "", "%s", "status: out of memory while parsing");
        return CT_E_NOMEM;
    }
    if (rc != 0) {
        v->reject = v->why.code;
        p->stats.rejected[v->why.code]++;
        return 0;
    }
    if (strcmp(st.id, v->device) != 0) {
        return reject(p, v, CT_REJ_SPOOF, "id",
                      "status: member \"id\" \"%s\" differs from the topic", st.id);
    }
    if (s->status_seen && st.boot == s->status_boot && st.seq == s->status_seq) {
        return reject(p, v, CT_REJ_DUPLICATE, "seq",
                      "status (boot, seq) of \"%s\" already accepted", st.id);
    }
    if ((s->status_seen &&
         (st.boot < s->status_boot || (st.boot == s->status_boot && st.seq < s->status_seq))) ||
        (s->seen && st.boot < s->boot)) {
        return reject(p, v, CT_REJ_REPLAY, "seq",
                      "status (boot, seq) of \"%s\" is older than its newest status or boot",
                      st.id);
    }
    s->status_seen = true;
    s->status_boot = st.boot;
    s->status_seq = st.seq;
    v->status_online = st.online ? 1 : 0;
    s->online = v->status_online;
    p->stats.status_messages++;
    return 0;
}

int col_pipeline_process(struct col_pipeline *p, const struct ct_registry *reg, const char *topic,
                         size_t topic_len, const char *sig, size_t sig_len, const void *payload,
                         size_t payload_len, int64_t now_ms, struct col_verdict *v)
{
    struct ct_topic t;
    enum ct_reject dup;

    memset(v, 0, sizeof(*v));
    v->status_online = -1;
    if (payload_len == 0 || payload_len > CT_PAYLOAD_MAX) {
        char n[24];
        snprintf(n, sizeof(n), "%zu", payload_len);
        return reject(p, v, CT_REJ_SIZE, "", "payload of %s bytes: allowed 1..4096", n);
    }
    if (ct_topic_parse(topic, topic_len, &t) != 0 || t.type == CT_TOPIC_ALERT) {
        /* The topic is topic_len bytes, not NUL-terminated: print at most that many (a "%.120s"
         * of the raw buffer read past its end; test_topic_not_nul_terminated under ASan). */
        if (topic == NULL || topic_len >= 200) {
            return reject(p, v, CT_REJ_TOPIC, "topic", "%s",
                          "topic \"(too long)\" is not city/v1/<kind>/<id>/up");
        }
        return reject(p, v, CT_REJ_TOPIC, "topic", "topic \"%.*s\" is not city/v1/<kind>/<id>/up",
                      (int)(topic_len < 120 ? topic_len : 120), topic);
    }
    v->type = t.type;
    memcpy(v->device, t.id, sizeof(v->device));
    v->dev = ct_registry_find(reg, t.id, strlen(t.id));
    if (v->dev == NULL) {
        return reject(p, v, CT_REJ_UNKNOWN_DEVICE, "id", "device \"%s\" is not in the registry",
                      t.id);
    }
    if (v->dev->kind != t.kind) {
        return reject(p, v, CT_REJ_SPOOF, "topic",
                      "topic kind differs from the registry's for \"%s\"", t.id);
    }
    v->state = col_dedup_get(p->devices, t.id);
    if (v->state == NULL) {
        reject(p, v, CT_REJ_OVERLOAD, "", "%s", "per-device state table is full");
        return CT_E_FULL;
    }
    /* Status messages are verified like telemetry (issue 13): with require_sig an unsigned
     * "offline" is no_sig and changes nothing. */
    if (sig_len > 0 || p->cfg.require_sig) {
        if (sig_len == 0) {
            return reject(p, v, CT_REJ_NO_SIG, "sig", "%s", "no `sig` user property");
        }
        if (!verify_sig(p, v->state, topic, topic_len, payload, payload_len, sig, sig_len)) {
            return reject(p, v, CT_REJ_BAD_SIG, "sig", "signature does not verify for \"%s\"",
                          t.id);
        }
    }
    if (t.type == CT_TOPIC_STATUS) {
        return process_status(p, v, payload, payload_len);
    }
    int rc = ct_payload_decode(payload, payload_len, t.kind, &v->reading, &v->why);
    if (rc == CT_E_NOMEM) {
        /* The decoder could not allocate: refused as an overload, never accepted without
         * values (which would skip dedup). */
        reject(p, v, CT_REJ_OVERLOAD, "", "%s", "out of memory while decoding the payload");
        return CT_E_NOMEM;
    }
    if (rc != 0) {
        v->reject = v->why.code;
        p->stats.rejected[v->why.code]++;
        return 0;
    }
    if (strcmp(v->reading.id, t.id) != 0) {
        return reject(p, v, CT_REJ_SPOOF, "id", "member \"id\" differs from the topic's \"%s\"",
                      t.id);
    }
    p->stats.unknown_members += v->reading.unknown;
    if (t.kind == CT_KIND_PARKING) {
        check_parking_types(p, v->dev, &v->reading);
    }
    ct_reading_check_ranges(&v->reading);
    for (size_t i = 0; i < v->reading.ndrops; i++) {
        p->stats.values_dropped[v->reading.drops[i].reason]++;
    }
    if (v->reading.ts_ms > now_ms + p->cfg.future_ms) {
        return reject(p, v, CT_REJ_FUTURE, "ts", "%s",
                      "member \"ts\" is more than 5 minutes ahead");
    }
    if (v->reading.ts_ms < now_ms - p->cfg.backlog_ms) {
        return reject(p, v, CT_REJ_TOO_OLD, "ts", "%s",
                      "member \"ts\" is older than the backlog limit");
    }
    /* A record replayed from the journal that the checkpoint says was accepted is already in
     * the (boot, seq) state: it is accepted again without the check (tests/e2e/test_dur_kill.py).
     */
    dup = p->reprocess ? CT_REJ_NONE
                       : col_dedup_check(p->devices, v->state, v->reading.boot, v->reading.seq);
    if (dup == CT_REJ_DUPLICATE) {
        return reject(p, v, dup, "seq", "(boot, seq) of \"%s\" already accepted", t.id);
    }
    if (dup == CT_REJ_REPLAY) {
        return reject(p, v, dup, "seq", "(boot, seq) of \"%s\" is older than the replay window",
                      t.id);
    }
    if (v->reading.n == 0) {
        enum ct_reject why = v->reading.ndrops > 0 ? v->reading.drops[0].reason : CT_REJ_NO_VALUES;
        return reject(p, v, why == CT_REJ_NONE ? CT_REJ_NO_VALUES : why, "m", "%s",
                      "no valid measurement left in member \"m\"");
    }
    if (!p->reprocess) {
        col_dedup_accept(p->devices, v->state, v->reading.boot, v->reading.seq);
    }
    if (v->reading.ts_ms > v->state->last_ts_ms) {
        v->state->last_ts_ms = v->reading.ts_ms;
    }
    v->state->last_recv_ms = now_ms;
    if (t.kind == CT_KIND_RAIN) {
        check_rain(p, v);
    }
    p->stats.accepted++;
    return 0;
}

int col_pipeline_raw_lp(const struct ct_device *dev, const struct ct_reading *r, struct ct_buf *out)
{
    struct ct_lp_tag tags[3] = {
        {"device", dev->id}, {"district", dev->district}, {"ward", dev->ward}};
    struct ct_lp_field fields[CT_MAX_VALUES];
    size_t nf = 0;

    for (size_t i = 0; i < r->n && nf < CT_MAX_VALUES; i++) {
        const struct ct_value *val = &r->values[i];
        const struct ct_member *m = ct_schema_find(r->kind, val->name, strlen(val->name));
        struct ct_lp_field *f = &fields[nf++];
        memset(f, 0, sizeof(*f));
        f->key = val->name;
        if (val->type == CT_VT_BOOL) {
            f->type = CT_LP_INT;
            f->i = val->b ? 1 : 0;
        } else if (m != NULL && m->type == CT_VT_INT) {
            f->type = CT_LP_INT;
            f->i = (int64_t)val->num;
        } else {
            f->type = CT_LP_FLOAT;
            f->f = val->num;
        }
    }
    return ct_lp_point(out, ct_kind_name(r->kind), tags, 3, fields, nf, r->ts_ms);
}

void col_pipeline_set_time_window(struct col_pipeline *p, int64_t future_ms, int64_t backlog_ms)
{
    if (p == NULL) {
        return;
    }
    if (future_ms >= 0) {
        p->cfg.future_ms = future_ms;
    }
    if (backlog_ms >= 0) {
        p->cfg.backlog_ms = backlog_ms;
    }
}
