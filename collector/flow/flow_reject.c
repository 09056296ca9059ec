/* flow_reject.c - rejected messages: counted per (reason, device) and flushed as points every
 * APP_REJECT_FLUSH_MS, summarised in the log at most once per flush period, and quarantined
 * (col_quarantine.h) with their reason; a record journaled cut is counted by its reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_int.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/lp.h"

void flow_count_reject(struct col_flow *f, enum ct_reject reason, const char *device)
{
    for (size_t i = 0; i < f->nrejects; i++) {
        struct app_reject_slot *s = &f->rejects[i];
        if (s->reason == reason && strcmp(s->device, device) == 0) {
            s->count++;
            return;
        }
    }
    if (f->nrejects == APP_REJECT_SLOTS) {
        /* Policy when full: count under the reason without a device. */
        f->reject_overflow++;
        for (size_t i = 0; i < f->nrejects; i++) {
            if (f->rejects[i].reason == reason && f->rejects[i].device[0] == '\0') {
                f->rejects[i].count++;
                return;
            }
        }
        return;
    }
    f->rejects[f->nrejects].reason = (uint8_t)reason;
    snprintf(f->rejects[f->nrejects].device, sizeof(f->rejects[0].device), "%s", device);
    f->rejects[f->nrejects].count = 1;
    f->nrejects++;
}

/* Writes the counted rejections as `rejected` points (tags reason, device; field count) at the
 * flush time, so that operators see them in the store. Their mark is the last processed record:
 * the journal is not committed past them before the store has them. */
/* Logs one WARN line summarising the messages rejected since the last summary (duplicates are
 * not errors and are left out): hostile or broken input is told, at most once per flush period,
 * whatever its rate (e2e_hostile checks the line). */
static void reject_log_summary(struct col_flow *f)
{
    char text[512];
    size_t len = 0;
    uint64_t total = 0;

    for (int r = 0; r < CT_REJ__COUNT; r++) {
        uint64_t n = f->rejlog_count[r];
        if (n == 0) {
            continue;
        }
        total += n;
        if (len < sizeof(text)) {
            int w = snprintf(text + len, sizeof(text) - len, "%s%s %llu", len ? ", " : "",
                             ct_reject_name((enum ct_reject)r), (unsigned long long)n);
            len += w > 0 ? (size_t)w : 0;
        }
        f->rejlog_count[r] = 0;
    }
    if (total == 0) {
        return;
    }
    col_log(COL_LOG_WARN, "pipeline",
            "rejected %llu message(s) in the last %d s: %s; newest: %s from %s: %s (quarantined; "
            "see citytel_rejected_total)",
            (unsigned long long)total, APP_REJECT_FLUSH_MS / 1000, len ? text : "",
            ct_reject_name(f->rejlog_reason),
            f->rejlog_device[0] ? f->rejlog_device : "an unknown device", f->rejlog_why);
}

void flow_reject_flush_cb(uv_timer_t *t)
{
    struct col_flow *f = container_of(t, struct col_flow, reject_timer);
    int64_t now = col_now_ms();
    struct ct_buf out;

    reject_log_summary(f);
    if (f->nrejects == 0 || f->sink_full || f->parts.sink == NULL) {
        return;
    }
    ct_buf_init(&out, 4u << 20);
    for (size_t i = 0; i < f->nrejects; i++) {
        struct app_reject_slot *s = &f->rejects[i];
        struct ct_lp_tag tags[2] = {{"device", s->device},
                                    {"reason", ct_reject_name((enum ct_reject)s->reason)}};
        struct ct_lp_field fld = {.key = "count", .type = CT_LP_INT, .i = (int64_t)s->count};
        ct_lp_point(&out, "rejected", tags, 2, &fld, 1, now);
    }
    if (col_flow_enqueue(f, out.p, out.len, f->next_seq > 1 ? f->next_seq - 1 : 1) == 0) {
        f->nrejects = 0;
    }
    ct_buf_free(&out);
}

void flow_quarantine(struct col_flow *f, const struct col_msg *m, const struct col_verdict *v)
{
    struct col_quarantine_entry e = {
        .time_ms = (uint64_t)m->recv_ms,
        .reason = ct_reject_name(v->reject),
        .device = v->device[0] ? v->device : NULL,
        .topic = NULL,
        .detail = v->why.text,
        .payload = col_msg_payload(m),
        .payload_len = m->payload_len,
    };
    char topic[COL_MSG_TOPIC_MAX + 1];

    if (f->parts.quarantine == NULL) {
        return;
    }
    memcpy(topic, col_msg_topic(m), m->topic_len);
    topic[m->topic_len] = '\0';
    e.topic = topic;
    if (col_quarantine_write(f->parts.quarantine, &e) == 0) {
        f->quarantined++;
    }
}

/* A record journaled cut to the record limits is refused with its reason, never parsed. */
bool flow_reject_cut(const struct col_msg *m, struct col_verdict *v)
{
    if (m->flags == 0) {
        return false;
    }
    memset(v, 0, sizeof(*v));
    v->status_online = -1;
    if (m->flags & COL_MSG_TOPIC_CUT) {
        v->reject = CT_REJ_TOPIC;
        snprintf(v->why.text, sizeof(v->why.text), "topic longer than %d bytes", COL_MSG_TOPIC_MAX);
    } else if (m->flags & COL_MSG_SIG_CUT) {
        v->reject = CT_REJ_BAD_SIG;
        snprintf(v->why.text, sizeof(v->why.text), "`sig` longer than %d bytes", COL_MSG_SIG_MAX);
    } else {
        v->reject = CT_REJ_SIZE;
        snprintf(v->why.text, sizeof(v->why.text), "payload longer than %d bytes",
                 COL_MSG_PAYLOAD_MAX);
    }
    return true;
}
