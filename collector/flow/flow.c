/* flow.c - the message flow: the MQTT client to the intake (group commit, then PUBACK), the
 * durable messages through the pipeline to the sink in journal order, and the commit of the
 * journal behind the flow's checkpoint.
 *
 * Order. Every durable message has a journal seq; the flow processes seq next_seq, then the next,
 * never skipping one. Durable messages come from the intake in memory (the fast path, bounded by
 * APP_FLOW_MEM_MAX); when that queue is full, or at start with records left in the journal, the
 * flow is "behind" and reads the journal with a spool reader until it reaches the last durable
 * seq, then takes the memory path again. So the spool, not memory, holds a backlog (a store
 * outage), and a restart replays exactly the records not yet committed.
 *
 * Commit. The journal is committed up to the lowest of: every record processed, the sink's low
 * water (points not yet accepted by the store), the derived data's low water (open windows).
 * Before each commit the flow writes its checkpoint (flow_ckpt.c): the per-device (boot, seq)
 * state and which records after the commit point were accepted. So after a restart a replayed
 * captured message is still a duplicate (tests/e2e/test_dur_replay.py), and a record accepted
 * before the crash is accepted again, not taken for its own duplicate (test_dur_kill.py).
 *
 * Files: flow.c (processing in journal order, commit, start and life cycle), flow_sink.c (the
 * one path to the sink and the sink's callbacks), flow_intake.c (the MQTT client's callbacks and
 * the intake's), flow_reject.c (counting, logging and quarantining rejected messages), flow_ckpt.c
 * (the checkpoint); shared state in flow_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_int.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/lp.h"

#define APP_READER_RETRY_MS 1000

static void drain_idle_cb(uv_idle_t *h);

static void commit_cb(uv_timer_t *t);

/* Processes one durable message. Returns false when the sink is full: the message is then held
 * with its encoded points and the flow stops until on_room. Takes ownership of 'm'. */
static bool process(struct col_flow *f, struct col_msg *m)
{
    struct col_verdict v;
    bool known = flow_ckpt_known(f, m->seq);
    bool accepted_before = known && flow_ckpt_accepted(f, m->seq);
    int rc;

    if (known && !accepted_before) {
        /* Rejected before the restart, and counted then: not counted or quarantined again. */
        flow_verdict_set(f, m->seq, false);
        goto out_done;
    }
    if (col_console_record_topic(col_msg_topic(m), m->topic_len)) {
        /* The console's own points, journalled as they are (col_console.h). */
        flow_verdict_set(f, m->seq, true);
        ct_buf_reset(&f->lp);
        ct_buf_add(&f->lp, col_msg_payload(m), m->payload_len);
        goto out_send;
    }
    if (flow_reject_cut(m, &v)) {
        f->rejected_cut[v.reject]++;
    } else {
        col_pipeline_set_reprocess(f->parts.pipeline, accepted_before);
        /* Validated against the time it was received, not the time of a later replay. */
        col_pipeline_process(f->parts.pipeline, f->parts.registry, col_msg_topic(m), m->topic_len,
                             m->sig_len ? col_msg_sig(m) : NULL, m->sig_len, col_msg_payload(m),
                             m->payload_len, m->recv_ms, &v);
        col_pipeline_set_reprocess(f->parts.pipeline, false);
    }
    flow_verdict_set(f, m->seq, v.reject == CT_REJ_NONE);
    if (v.reject != CT_REJ_NONE) {
        flow_count_reject(f, v.reject, v.device);
        if (v.reject != CT_REJ_DUPLICATE) {
            col_log(COL_LOG_DEBUG, "pipeline", "rejected %s: %s", ct_reject_name(v.reject),
                    v.why.text);
            f->rejlog_count[v.reject]++;
            f->rejlog_reason = v.reject;
            snprintf(f->rejlog_device, sizeof(f->rejlog_device), "%s", v.device);
            snprintf(f->rejlog_why, sizeof(f->rejlog_why), "%s", v.why.text);
            flow_quarantine(f, m, &v);
        }
        goto out_done;
    }
    for (size_t i = 0; i < v.reading.ndrops; i++) {
        flow_count_reject(f, v.reading.drops[i].reason, v.device);
    }
    if (v.type == CT_TOPIC_STATUS) {
        if (f->parts.derive != NULL && v.status_online >= 0) {
            col_derive_status(f->parts.derive, v.dev, v.status_online == 1, m->recv_ms);
        }
        if (v.status_online >= 0) {
            col_console_status(f->parts.console, v.device, v.status_online == 1, m->recv_ms);
        }
        goto out_done;
    }
    ct_buf_reset(&f->lp);
    rc = col_pipeline_raw_lp(v.dev, &v.reading, &f->lp);
    if (rc != 0) {
        col_log(COL_LOG_WARN, "pipeline", "cannot encode a point of %s: %s", v.device,
                ct_strerror(rc));
        goto out_done;
    }
    if (f->parts.derive != NULL) {
        struct col_derive_qc qc;
        if (col_derive_qc(f->parts.derive, v.dev, &v.reading, &qc) == 0) {
            col_derive_qc_lp(&qc, &f->lp, 0);
        }
        col_derive_add(f->parts.derive, v.dev, &v.reading, m->seq, m->recv_ms);
        if (f->cfg.on_reading != NULL) {
            f->cfg.on_reading(f->cfg.arg, v.dev, &v.reading, qc.text, m->seq);
        }
    }
    col_console_reading(f->parts.console, &v.reading, m->recv_ms);
out_send:
    rc = flow_flush_overflow(f) ? col_sink_enqueue(f->parts.sink, f->lp.p, f->lp.len, m->seq)
                                : CT_E_FULL;
    if (rc == CT_E_FULL) {
        f->held = m;
        ct_buf_reset(&f->held_lp);
        if (ct_buf_add(&f->held_lp, f->lp.p, f->lp.len) != 0) {
            col_log(COL_LOG_ERROR, "app", "cannot hold a message: out of memory");
        }
        f->sink_full = true;
        return false;
    }
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "sink", "enqueue refused: %s", ct_strerror(rc));
    }
out_done:
    free(m);
    return true;
}

static void reader_close(struct col_flow *f)
{
    col_spool_reader_close(f->reader);
    f->reader = NULL;
}

static void note_replayed(struct col_flow *f, uint64_t seq)
{
    if (f->replay_until == 0 || seq > f->replay_until) {
        return;
    }
    f->replayed++;
    if (seq == f->replay_until) {
        col_log(COL_LOG_INFO, "spool", "journal replayed: %llu records",
                (unsigned long long)f->replayed);
        f->replay_until = 0;
    }
}

static void reader_retry_cb(uv_timer_t *t)
{
    struct col_flow *f = container_of(t, struct col_flow, reader_timer);

    f->reader_failing = false;
    flow_kick(f);
}

/* Takes the head of the flow's memory queue (not empty), unlinked. */
static struct col_msg *q_pop(struct col_flow *f)
{
    struct col_msg *m = f->q_head;

    f->q_head = m->next;
    if (f->q_head == NULL) {
        f->q_tail = NULL;
    }
    f->q_count--;
    f->q_bytes -= col_msg_record_len(m);
    m->next = NULL;
    return m;
}

/* The next message in journal order, from memory or from the journal; NULL when there is none
 * now (or the journal cannot be read: the read is retried after APP_READER_RETRY_MS and next_seq
 * stays where it is). */
static struct col_msg *next_message(struct col_flow *f)
{
    for (;;) {
        struct col_msg *m;
        size_t len;
        uint64_t seq;
        int rc;

        /* Memory entries the reader already delivered. */
        while (f->q_head != NULL && f->q_head->seq < f->next_seq) {
            free(q_pop(f));
        }
        if (f->q_head != NULL && f->q_head->seq == f->next_seq) {
            m = q_pop(f);
            f->next_seq = m->seq + 1;
            if (f->behind && f->next_seq > f->durable_seq && f->q_head == NULL) {
                f->behind = false;
                reader_close(f);
            }
            return m;
        }
        if (f->next_seq > f->durable_seq) {
            if (f->behind) {
                f->behind = false;
                reader_close(f);
            }
            return NULL;
        }
        /* Behind: read the journal. */
        if (f->reader_failing) {
            return NULL;
        }
        if (f->reader == NULL) {
            rc = col_spool_reader_open(f->parts.spool, f->next_seq, &f->reader);
            f->reader_fresh = rc == 0;
            if (rc != 0) {
                col_log(COL_LOG_ERROR, "spool", "cannot open a journal reader: %s",
                        ct_strerror(rc));
                f->reader_failing = true;
                uv_timer_start(&f->reader_timer, reader_retry_cb, APP_READER_RETRY_MS, 0);
                return NULL;
            }
        }
        rc = col_spool_reader_next(f->reader, f->reader_buf, APP_RECORD_MAX, &len, &seq);
        if (rc == CT_E_NOTFOUND && !f->reader_fresh) {
            /* A reader opened earlier may stand in a segment the spool has retired since: open
             * a fresh one at next_seq before concluding anything. */
            reader_close(f);
            continue;
        }
        f->reader_fresh = false;
        if (rc == CT_E_NOTFOUND) {
            /* A fresh reader finds nothing at or after next_seq up to durable_seq: those records
             * were deleted (drop_oldest) or damaged, and counted by the spool. */
            col_log(COL_LOG_WARN, "spool", "journal records %llu..%llu are gone; skipped",
                    (unsigned long long)f->next_seq, (unsigned long long)f->durable_seq);
            f->next_seq = f->durable_seq + 1;
            continue;
        }
        if (rc != 0) {
            if (!f->reader_failing) {
                col_log(COL_LOG_ERROR, "spool",
                        "cannot read journal record %llu: %s; retrying (nothing after it is "
                        "committed meanwhile)",
                        (unsigned long long)f->next_seq, ct_strerror(rc));
            }
            f->reader_failing = true;
            reader_close(f);
            uv_timer_start(&f->reader_timer, reader_retry_cb, APP_READER_RETRY_MS, 0);
            return NULL;
        }
        if (seq < f->next_seq) {
            continue;
        }
        note_replayed(f, seq);
        if (col_msg_parse(f->reader_buf, len, seq, &m) != 0) {
            col_log(COL_LOG_WARN, "spool", "record %llu is not a message record; skipped",
                    (unsigned long long)seq);
            f->next_seq = seq + 1;
            continue;
        }
        f->next_seq = seq + 1;
        return m;
    }
}

/* Processes up to APP_DRAIN_BATCH messages, the held one first. Keeps the idle handle running
 * while work remains so that other loop work interleaves. */
void flow_drain(struct col_flow *f)
{
    size_t done = 0;

    if (f->held != NULL) {
        if (!flow_flush_overflow(f) || col_sink_enqueue(f->parts.sink, f->held_lp.p, f->held_lp.len,
                                                        f->held->seq) == CT_E_FULL) {
            uv_idle_stop(&f->drain_idle);
            return;
        }
        free(f->held);
        f->held = NULL;
        f->sink_full = false;
    }
    while (done < APP_DRAIN_BATCH) {
        struct col_msg *m = next_message(f);
        if (m == NULL) {
            uv_idle_stop(&f->drain_idle);
            return;
        }
        done++;
        if (!process(f, m)) {
            uv_idle_stop(&f->drain_idle);
            return;
        }
    }
    uv_idle_start(&f->drain_idle, drain_idle_cb);
}

void flow_kick(struct col_flow *f)
{
    if (f->flow_started && !f->sink_full) {
        uv_idle_start(&f->drain_idle, drain_idle_cb);
    }
}

static void drain_idle_cb(uv_idle_t *h)
{
    struct col_flow *f = container_of(h, struct col_flow, drain_idle);

    if (f->sink_full || !f->flow_started) {
        uv_idle_stop(h);
        return;
    }
    flow_drain(f);
}

/* The highest seq such that every record at or below it is processed and not held. */
uint64_t col_flow_processed_through(const struct col_flow *f)
{
    if (f->held != NULL) {
        return f->held->seq - 1;
    }
    return f->next_seq - 1;
}

/* The highest record the journal may forget: processed, its points and derived points in the
 * store, no open window holding it. */
uint64_t flow_commit_target(struct col_flow *f)
{
    uint64_t low;
    uint64_t upto = col_flow_processed_through(f);

    low = col_sink_low_water(f->parts.sink);
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    /* Open aggregation windows hold data that lives only in memory: keep their records. */
    low = f->parts.derive != NULL ? col_derive_low_water(f->parts.derive) : UINT64_MAX;
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    /* Open station-file intervals likewise (docs/tt10.md, "Restarts"). */
    low = f->cfg.low_water != NULL ? f->cfg.low_water(f->cfg.arg) : UINT64_MAX;
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    if (f->overflow.len > 0 && f->overflow_mark - 1 < upto) {
        upto = f->overflow_mark - 1;
    }
    return upto;
}

/* Every APP_COMMIT_MS: the checkpoint, then the journal's commit. */
static void commit_cb(uv_timer_t *t)
{
    struct col_flow *f = container_of(t, struct col_flow, commit_timer);

    if (f->parts.sink == NULL || f->parts.spool == NULL || !f->flow_started) {
        return;
    }
    flow_ckpt_commit(f, flow_commit_target(f));
}

/* Starts the flow once the derived state is rebuilt: the journal's uncommitted records first
 * (read back in order), then the MQTT client. */
int col_flow_start(struct col_flow *f)
{
    struct col_spool_stats st;
    int rc;

    col_spool_stats(f->parts.spool, &st);
    f->committed = st.commit_seq;
    flow_ckpt_begin(f, st.commit_seq);
    f->durable_seq = st.last_seq;
    f->q_next_expected = st.last_seq + 1;
    if (f->next_seq <= st.last_seq) {
        f->behind = true;
        f->replay_until = st.last_seq;
        col_log(COL_LOG_INFO, "spool", "replaying journal records %llu..%llu",
                (unsigned long long)f->next_seq, (unsigned long long)st.last_seq);
    }
    f->flow_started = true;
    flow_kick(f);
    rc = col_mqtt_start(f->parts.mqtt);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "ingest", "cannot start the MQTT client: %s", ct_strerror(rc));
    }
    return rc;
}

bool col_flow_live(const struct col_flow *f)
{
    return f != NULL && f->flow_started && f->replay_until == 0;
}

int col_flow_create(uv_loop_t *loop, const struct col_flow_cfg *cfg, struct col_flow **out)
{
    struct col_flow *f = calloc(1, sizeof(*f));
    int rc;

    *out = NULL;
    if (f == NULL) {
        return CT_E_NOMEM;
    }
    f->loop = loop;
    f->cfg = *cfg;
    f->parts.pipeline = cfg->pipeline;
    ct_buf_init(&f->lp, 64 * 1024);
    ct_buf_init(&f->held_lp, 64 * 1024);
    ct_buf_init(&f->ckpt_buf, 1u << 30);
    ct_buf_init(&f->overflow, APP_OVERFLOW_MAX);
    f->reader_buf = malloc(APP_RECORD_MAX);
    rc = f->reader_buf == NULL ? CT_E_NOMEM : 0;
    rc = rc ? rc : uv_idle_init(loop, &f->drain_idle) ? CT_E_IO : 0;
    rc = rc ? rc : uv_timer_init(loop, &f->reader_timer) ? CT_E_IO : 0;
    rc = rc ? rc : uv_timer_init(loop, &f->commit_timer) ? CT_E_IO : 0;
    rc = rc ? rc : uv_timer_init(loop, &f->reject_timer) ? CT_E_IO : 0;
    rc = rc ? rc : flow_ckpt_load(f);
    if (rc != 0) {
        /* Handles already initialised are closed by col_flow_close: hand the flow out anyway
         * so that the app closes it; the caller treats rc as a failed start. */
        *out = f;
        return rc;
    }
    uv_timer_start(&f->commit_timer, commit_cb, APP_COMMIT_MS, APP_COMMIT_MS);
    uv_timer_start(&f->reject_timer, flow_reject_flush_cb, APP_REJECT_FLUSH_MS,
                   APP_REJECT_FLUSH_MS);
    *out = f;
    return 0;
}

void col_flow_set_parts(struct col_flow *f, const struct col_flow_parts *p)
{
    f->parts = *p;
}

void col_flow_set_registry(struct col_flow *f, const struct ct_registry *reg)
{
    if (f != NULL) {
        f->parts.registry = reg;
    }
}

void col_flow_stats(const struct col_flow *f, struct col_flow_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (f == NULL) {
        return;
    }
    out->mqtt_up = atomic_load(&f->mqtt_connected);
    out->behind = f->behind;
    out->replaying = f->replay_until != 0;
    out->backlog = f->durable_seq >= f->next_seq ? f->durable_seq - f->next_seq + 1 : 0;
    out->replayed = f->replayed;
    out->sub_refused = f->sub_refused;
    out->reject_overflow = f->reject_overflow;
    out->quarantined = f->quarantined;
    out->points_dropped = f->points_dropped;
    memcpy(out->rejected_cut, f->rejected_cut, sizeof(out->rejected_cut));
}

void col_flow_stop(struct col_flow *f)
{
    if (f != NULL) {
        f->flow_started = false;
        uv_idle_stop(&f->drain_idle);
    }
}

void col_flow_seal(struct col_flow *f)
{
    if (f != NULL && f->parts.sink != NULL) {
        f->final_upto = flow_commit_target(f);
        f->parts.sink = NULL;
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct col_flow *f = h->data;

    if (--f->open_handles == 0 && f->on_closed != NULL) {
        f->on_closed(f->on_closed_arg);
    }
}

void col_flow_close(struct col_flow *f, void (*done)(void *arg), void *arg)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&f->drain_idle, (uv_handle_t *)&f->reader_timer,
                         (uv_handle_t *)&f->commit_timer, (uv_handle_t *)&f->reject_timer};

    f->on_closed = done;
    f->on_closed_arg = arg;
    f->open_handles++; /* held until every close is started */
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        if (hs[i]->loop != NULL && !uv_is_closing(hs[i])) {
            hs[i]->data = f;
            f->open_handles++;
            uv_close(hs[i], on_handle_closed);
        }
    }
    if (--f->open_handles == 0 && done != NULL) {
        done(arg);
    }
}

void col_flow_free(struct col_flow *f)
{
    if (f == NULL) {
        return;
    }
    f->flow_started = f->next_seq > 0;
    flow_ckpt_final(f, f->final_upto);
    f->flow_started = false;
    free(f->held);
    flow_free_list(f->q_head);
    col_spool_reader_close(f->reader);
    free(f->reader_buf);
    free(f->vw);
    free(f->ck_vw);
    ct_buf_free(&f->ckpt_buf);
    ct_buf_free(&f->overflow);
    ct_buf_free(&f->lp);
    ct_buf_free(&f->held_lp);
    free(f);
}
