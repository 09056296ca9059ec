/* app_flow.c - the message flow: the MQTT client to the intake (group commit, then PUBACK), the
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
 * Before each commit the flow writes its checkpoint (app_ckpt.c): the per-device (boot, seq)
 * state and which records after the commit point were accepted. So after a restart a replayed
 * captured message is still a duplicate (tests/e2e/test_dur_replay.py), and a record accepted
 * before the crash is accepted again, not taken for its own duplicate (test_dur_kill.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_int.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/lp.h"

#define APP_FLOW_MEM_MAX 16384         /* durable messages queued in memory for the flow */
#define APP_FLOW_MEM_BYTES (32u << 20) /* and their bytes */
#define APP_READER_RETRY_MS 1000

static void flow_kick(struct col_app *app);

int64_t app_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- MQTT client and intake ---- */

/* Loop thread: a message from the broker. It is not acknowledged here: the intake acknowledges
 * it once it is in the journal. */
void app_on_mqtt_msg(void *arg, const struct col_mqtt_msg *m)
{
    struct col_app *app = arg;
    int rc;

    rc = col_intake_add(app->intake, m->topic, m->topic_len, m->sig, m->sig_len, m->payload,
                        m->payload_len, app_now_ms(), m->token);
    if (rc == CT_E_NOMEM) {
        /* Not acknowledged; PUBACKs go out in order, so nothing after it could be either:
         * reconnect and let the broker deliver it again. */
        col_log(COL_LOG_ERROR, "ingest", "out of memory for a message; reconnecting");
        col_mqtt_reconnect(app->mqtt, "out of memory");
    }
}

void app_on_mqtt_event(void *arg, enum col_mqtt_event ev, const char *why)
{
    struct col_app *app = arg;

    switch (ev) {
    case COL_MQTT_UP:
        atomic_store(&app->mqtt_connected, true);
        col_log(COL_LOG_INFO, "ingest", "subscribed: %s", why);
        break;
    case COL_MQTT_DOWN:
        if (atomic_exchange(&app->mqtt_connected, false)) {
            col_log(COL_LOG_WARN, "ingest", "MQTT connection down: %s", why);
        }
        if (app->intake != NULL) {
            col_intake_connection_lost(app->intake);
        }
        break;
    case COL_MQTT_SUB_REFUSED:
        app->sub_refused++;
        col_log(COL_LOG_ERROR, "ingest", "ALERT: subscription refused or downgraded: %s", why);
        break;
    }
}

static void intake_ack(void *arg, uint64_t token)
{
    struct col_app *app = arg;

    if (token & COL_INTAKE_TOKEN_LOCAL) {
        app_tt10_durable(app, token & ~COL_INTAKE_TOKEN_LOCAL); /* a station file's reading */
        return;
    }
    if (app->mqtt != NULL) {
        col_mqtt_ack(app->mqtt, token);
    }
}

static void intake_pause(void *arg, bool pause, const char *why)
{
    struct col_app *app = arg;

    if (app->mqtt == NULL) {
        return;
    }
    if (pause) {
        col_log(COL_LOG_WARN, "ingest", "MQTT delivery paused: %s (the broker keeps the messages)",
                why);
        col_mqtt_pause(app->mqtt);
    } else {
        col_log(COL_LOG_INFO, "ingest", "MQTT delivery resumed: %s", why);
        col_mqtt_resume(app->mqtt);
    }
}

static void free_list(struct col_msg *m)
{
    while (m != NULL) {
        struct col_msg *next = m->next;
        free(m);
        m = next;
    }
}

/* Loop thread: a group is durable (and acknowledged). */
static void intake_durable(void *arg, struct col_msg *list, size_t n)
{
    struct col_app *app = arg;
    struct col_msg *last = list;
    size_t bytes = 0;

    for (struct col_msg *m = list; m != NULL; m = m->next) {
        bytes += col_msg_record_len(m);
        last = m;
    }
    app->durable_seq = last->seq;
    if (app->behind || app->q_count + n > APP_FLOW_MEM_MAX ||
        app->q_bytes + bytes > APP_FLOW_MEM_BYTES || list->seq != app->q_next_expected) {
        /* They are in the journal: the reader takes them from there. */
        app->behind = true;
        free_list(list);
    } else {
        if (app->q_tail != NULL) {
            app->q_tail->next = list;
        } else {
            app->q_head = list;
        }
        app->q_tail = last;
        app->q_count += n;
        app->q_bytes += bytes;
    }
    app->q_next_expected = last->seq + 1;
    flow_kick(app);
}

int app_intake_create(struct col_app *app)
{
    struct col_intake_cfg ic = {
        .group_max_records = (size_t)app->cfg.ingest_group_max_records,
        .group_max_bytes = (size_t)app->cfg.ingest_group_max_bytes,
    };
    struct col_intake_callbacks cbs = {intake_ack, intake_durable, intake_pause};

    return col_intake_create(app->loop, app->spool, &ic, &cbs, app, &app->intake);
}

/* ---- rejections ---- */

void app_count_reject(struct col_app *app, enum ct_reject reason, const char *device)
{
    for (size_t i = 0; i < app->nrejects; i++) {
        struct app_reject_slot *s = &app->rejects[i];
        if (s->reason == reason && strcmp(s->device, device) == 0) {
            s->count++;
            return;
        }
    }
    if (app->nrejects == APP_REJECT_SLOTS) {
        /* Policy when full: count under the reason without a device. */
        app->reject_overflow++;
        for (size_t i = 0; i < app->nrejects; i++) {
            if (app->rejects[i].reason == reason && app->rejects[i].device[0] == '\0') {
                app->rejects[i].count++;
                return;
            }
        }
        return;
    }
    app->rejects[app->nrejects].reason = (uint8_t)reason;
    snprintf(app->rejects[app->nrejects].device, sizeof(app->rejects[0].device), "%s", device);
    app->rejects[app->nrejects].count = 1;
    app->nrejects++;
}

/* Writes the counted rejections as `rejected` points (tags reason, device; field count) at the
 * flush time, so that operators see them in the store. Their mark is the last processed record:
 * the journal is not committed past them before the store has them. */
/* Logs one WARN line summarising the messages rejected since the last summary (duplicates are
 * not errors and are left out): hostile or broken input is told, at most once per flush period,
 * whatever its rate (e2e_hostile checks the line). */
static void reject_log_summary(struct col_app *app)
{
    char text[512];
    size_t len = 0;
    uint64_t total = 0;

    for (int r = 0; r < CT_REJ__COUNT; r++) {
        uint64_t n = app->rejlog_count[r];
        if (n == 0) {
            continue;
        }
        total += n;
        if (len < sizeof(text)) {
            int w = snprintf(text + len, sizeof(text) - len, "%s%s %llu", len ? ", " : "",
                             ct_reject_name((enum ct_reject)r), (unsigned long long)n);
            len += w > 0 ? (size_t)w : 0;
        }
        app->rejlog_count[r] = 0;
    }
    if (total == 0) {
        return;
    }
    col_log(COL_LOG_WARN, "pipeline",
            "rejected %llu message(s) in the last %d s: %s; newest: %s from %s: %s (quarantined; "
            "see citytel_rejected_total)",
            (unsigned long long)total, APP_REJECT_FLUSH_MS / 1000, len ? text : "",
            ct_reject_name(app->rejlog_reason),
            app->rejlog_device[0] ? app->rejlog_device : "an unknown device", app->rejlog_why);
}

void app_reject_flush_cb(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, reject_timer);
    int64_t now = app_now_ms();
    struct ct_buf out;

    reject_log_summary(app);
    if (app->nrejects == 0 || app->sink_full || app->sink == NULL) {
        return;
    }
    ct_buf_init(&out, 4u << 20);
    for (size_t i = 0; i < app->nrejects; i++) {
        struct app_reject_slot *s = &app->rejects[i];
        struct ct_lp_tag tags[2] = {{"device", s->device},
                                    {"reason", ct_reject_name((enum ct_reject)s->reason)}};
        struct ct_lp_field f = {.key = "count", .type = CT_LP_INT, .i = (int64_t)s->count};
        ct_lp_point(&out, "rejected", tags, 2, &f, 1, now);
    }
    if (app_enqueue(app, out.p, out.len, app->next_seq > 1 ? app->next_seq - 1 : 1) == 0) {
        app->nrejects = 0;
    }
    ct_buf_free(&out);
}

static void quarantine(struct col_app *app, const struct col_msg *m, const struct col_verdict *v)
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

    if (app->quarantine == NULL) {
        return;
    }
    memcpy(topic, col_msg_topic(m), m->topic_len);
    topic[m->topic_len] = '\0';
    e.topic = topic;
    if (col_quarantine_write(app->quarantine, &e) == 0) {
        app->quarantined++;
    }
}

/* A record journaled cut to the record limits is refused with its reason, never parsed. */
static bool reject_cut(const struct col_msg *m, struct col_verdict *v)
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

/* ---- processing ---- */

/* Processes one durable message. Returns false when the sink is full: the message is then held
 * with its encoded points and the flow stops until on_room. Takes ownership of 'm'. */
static bool process(struct col_app *app, struct col_msg *m)
{
    struct col_verdict v;
    bool known = app_ckpt_known(app, m->seq);
    bool accepted_before = known && app_ckpt_accepted(app, m->seq);
    int rc;

    if (known && !accepted_before) {
        /* Rejected before the restart, and counted then: not counted or quarantined again. */
        app_verdict_set(app, m->seq, false);
        goto out_done;
    }
    if (app_console_record(m)) {
        app_verdict_set(app, m->seq, true);
        ct_buf_reset(&app->lp);
        ct_buf_add(&app->lp, col_msg_payload(m), m->payload_len);
        goto out_send;
    }
    if (reject_cut(m, &v)) {
        app->rejected_cut[v.reject]++;
    } else {
        col_pipeline_set_reprocess(app->pipeline, accepted_before);
        /* Validated against the time it was received, not the time of a later replay. */
        col_pipeline_process(app->pipeline, app->registry, col_msg_topic(m), m->topic_len,
                             m->sig_len ? col_msg_sig(m) : NULL, m->sig_len, col_msg_payload(m),
                             m->payload_len, m->recv_ms, &v);
        col_pipeline_set_reprocess(app->pipeline, false);
    }
    app_verdict_set(app, m->seq, v.reject == CT_REJ_NONE);
    if (v.reject != CT_REJ_NONE) {
        app_count_reject(app, v.reject, v.device);
        if (v.reject != CT_REJ_DUPLICATE) {
            col_log(COL_LOG_DEBUG, "pipeline", "rejected %s: %s", ct_reject_name(v.reject),
                    v.why.text);
            app->rejlog_count[v.reject]++;
            app->rejlog_reason = v.reject;
            snprintf(app->rejlog_device, sizeof(app->rejlog_device), "%s", v.device);
            snprintf(app->rejlog_why, sizeof(app->rejlog_why), "%s", v.why.text);
            quarantine(app, m, &v);
        }
        goto out_done;
    }
    for (size_t i = 0; i < v.reading.ndrops; i++) {
        app_count_reject(app, v.reading.drops[i].reason, v.device);
    }
    if (v.type == CT_TOPIC_STATUS) {
        if (app->derive != NULL && v.status_online >= 0) {
            col_derive_status(app->derive, v.dev, v.status_online == 1, m->recv_ms);
        }
        if (v.status_online >= 0) {
            col_console_status(app->console, v.device, v.status_online == 1, m->recv_ms);
        }
        goto out_done;
    }
    ct_buf_reset(&app->lp);
    rc = col_pipeline_raw_lp(v.dev, &v.reading, &app->lp);
    if (rc != 0) {
        col_log(COL_LOG_WARN, "pipeline", "cannot encode a point of %s: %s", v.device,
                ct_strerror(rc));
        goto out_done;
    }
    if (app->derive != NULL) {
        struct col_derive_qc qc;
        if (col_derive_qc(app->derive, v.dev, &v.reading, &qc) == 0) {
            col_derive_qc_lp(&qc, &app->lp, 0);
        }
        col_derive_add(app->derive, v.dev, &v.reading, m->seq, m->recv_ms);
        app_tt10_add(app, v.dev, &v.reading, qc.text, m->seq);
    }
    col_console_reading(app->console, &v.reading, m->recv_ms);
out_send:
    rc = app_flush_overflow(app) ? col_sink_enqueue(app->sink, app->lp.p, app->lp.len, m->seq)
                                 : CT_E_FULL;
    if (rc == CT_E_FULL) {
        app->held = m;
        ct_buf_reset(&app->held_lp);
        if (ct_buf_add(&app->held_lp, app->lp.p, app->lp.len) != 0) {
            col_log(COL_LOG_ERROR, "app", "cannot hold a message: out of memory");
        }
        app->sink_full = true;
        return false;
    }
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "sink", "enqueue refused: %s", ct_strerror(rc));
    }
out_done:
    free(m);
    return true;
}

static void reader_close(struct col_app *app)
{
    col_spool_reader_close(app->reader);
    app->reader = NULL;
}

static void note_replayed(struct col_app *app, uint64_t seq)
{
    if (app->replay_until == 0 || seq > app->replay_until) {
        return;
    }
    app->replayed++;
    if (seq == app->replay_until) {
        col_log(COL_LOG_INFO, "spool", "journal replayed: %llu records",
                (unsigned long long)app->replayed);
        app->replay_until = 0;
    }
}

static void reader_retry_cb(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, reader_timer);

    app->reader_failing = false;
    flow_kick(app);
}

/* The next message in journal order, from memory or from the journal; NULL when there is none
 * now (or the journal cannot be read: retried later, never skipped). */
static struct col_msg *next_message(struct col_app *app)
{
    for (;;) {
        struct col_msg *m;
        size_t len;
        uint64_t seq;
        int rc;

        /* Memory entries the reader already delivered. */
        while (app->q_head != NULL && app->q_head->seq < app->next_seq) {
            m = app->q_head;
            app->q_head = m->next;
            if (app->q_head == NULL) {
                app->q_tail = NULL;
            }
            app->q_count--;
            app->q_bytes -= col_msg_record_len(m);
            free(m);
        }
        if (app->q_head != NULL && app->q_head->seq == app->next_seq) {
            m = app->q_head;
            app->q_head = m->next;
            if (app->q_head == NULL) {
                app->q_tail = NULL;
            }
            app->q_count--;
            app->q_bytes -= col_msg_record_len(m);
            m->next = NULL;
            app->next_seq = m->seq + 1;
            if (app->behind && app->next_seq > app->durable_seq && app->q_head == NULL) {
                app->behind = false;
                reader_close(app);
            }
            return m;
        }
        if (app->next_seq > app->durable_seq) {
            if (app->behind) {
                app->behind = false;
                reader_close(app);
            }
            return NULL;
        }
        /* Behind: read the journal. */
        if (app->reader_failing) {
            return NULL;
        }
        if (app->reader == NULL) {
            rc = col_spool_reader_open(app->spool, app->next_seq, &app->reader);
            app->reader_fresh = rc == 0;
            if (rc != 0) {
                col_log(COL_LOG_ERROR, "spool", "cannot open a journal reader: %s",
                        ct_strerror(rc));
                app->reader_failing = true;
                uv_timer_start(&app->reader_timer, reader_retry_cb, APP_READER_RETRY_MS, 0);
                return NULL;
            }
        }
        rc = col_spool_reader_next(app->reader, app->reader_buf, APP_RECORD_MAX, &len, &seq);
        if (rc == CT_E_NOTFOUND && !app->reader_fresh) {
            /* A reader opened earlier may stand in a segment the spool has retired since: open
             * a fresh one at next_seq before concluding anything. */
            reader_close(app);
            continue;
        }
        app->reader_fresh = false;
        if (rc == CT_E_NOTFOUND) {
            /* A fresh reader finds nothing at or after next_seq up to durable_seq: those records
             * were deleted (drop_oldest) or damaged, and counted by the spool. */
            col_log(COL_LOG_WARN, "spool", "journal records %llu..%llu are gone; skipped",
                    (unsigned long long)app->next_seq, (unsigned long long)app->durable_seq);
            app->next_seq = app->durable_seq + 1;
            continue;
        }
        if (rc != 0) {
            if (!app->reader_failing) {
                col_log(COL_LOG_ERROR, "spool",
                        "cannot read journal record %llu: %s; retrying (nothing after it is "
                        "committed meanwhile)",
                        (unsigned long long)app->next_seq, ct_strerror(rc));
            }
            app->reader_failing = true;
            reader_close(app);
            uv_timer_start(&app->reader_timer, reader_retry_cb, APP_READER_RETRY_MS, 0);
            return NULL;
        }
        if (seq < app->next_seq) {
            continue;
        }
        note_replayed(app, seq);
        if (col_msg_parse(app->reader_buf, len, seq, &m) != 0) {
            col_log(COL_LOG_WARN, "spool", "record %llu is not a message record; skipped",
                    (unsigned long long)seq);
            app->next_seq = seq + 1;
            continue;
        }
        app->next_seq = seq + 1;
        return m;
    }
}

/* Processes up to APP_DRAIN_BATCH messages, the held one first. Keeps the idle handle running
 * while work remains so that other loop work interleaves. */
static void drain(struct col_app *app)
{
    size_t done = 0;

    if (app->held != NULL) {
        if (!app_flush_overflow(app) ||
            col_sink_enqueue(app->sink, app->held_lp.p, app->held_lp.len, app->held->seq) ==
                CT_E_FULL) {
            uv_idle_stop(&app->drain_idle);
            return;
        }
        free(app->held);
        app->held = NULL;
        app->sink_full = false;
    }
    while (done < APP_DRAIN_BATCH) {
        struct col_msg *m = next_message(app);
        if (m == NULL) {
            uv_idle_stop(&app->drain_idle);
            return;
        }
        done++;
        if (!process(app, m)) {
            uv_idle_stop(&app->drain_idle);
            return;
        }
    }
    uv_idle_start(&app->drain_idle, app_drain_idle_cb);
}

static void flow_kick(struct col_app *app)
{
    if (app->flow_started && !app->sink_full && !app->rebuilding) {
        uv_idle_start(&app->drain_idle, app_drain_idle_cb);
    }
}

void app_drain_idle_cb(uv_idle_t *h)
{
    struct col_app *app = container_of(h, struct col_app, drain_idle);

    if (app->sink_full || !app->flow_started) {
        uv_idle_stop(h);
        return;
    }
    drain(app);
}

void app_sink_on_room(void *arg)
{
    struct col_app *app = arg;

    if (!app_flush_overflow(app)) {
        return;
    }
    if (app->held == NULL) {
        app->sink_full = false;
    }
    if (app->flow_started) {
        drain(app);
    }
}

void app_sink_on_reject(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                        int status, const char *reason)
{
    struct col_app *app = arg;

    /* One call per refused line (whole); the first 20 are logged, the counter has them all. */
    if (app->store_rejects_logged < 20) {
        app->store_rejects_logged++;
        col_log(COL_LOG_ERROR, "sink", "the store refused a line (HTTP %d, class %d): %s%s", status,
                (int)cls, reason,
                app->store_rejects_logged == 20 ? " (further refusals: see the quarantine)" : "");
    }
    if (app->quarantine != NULL) {
        struct col_quarantine_entry e = {.time_ms = (uint64_t)app_now_ms(),
                                         .reason = "store_rejected",
                                         .detail = reason,
                                         .payload = lines,
                                         .payload_len = len};
        col_quarantine_write(app->quarantine, &e);
    }
}

/* The sink logs each transition itself (one ERROR, one INFO line); /healthz and the metrics
 * read col_sink_ok() and the stats. */
void app_sink_on_state(void *arg, bool ok, const char *why)
{
    (void)arg;
    (void)ok;
    (void)why;
}

/* The sink counts 401/403 answers itself (citytel_store_auth_errors_total); this raises the
 * operator's alert in the log. */
void app_sink_on_auth_error(void *arg, int status, const char *reason)
{
    (void)arg;
    col_log(COL_LOG_ERROR, "sink",
            "ALERT: the store refused our credentials (HTTP %d): %s; check influx.username/"
            "password or influx.token",
            status, reason);
}

/* ---- commit ---- */

/* The highest seq such that every record at or below it is processed and not held. */
uint64_t app_processed_through(const struct col_app *app)
{
    if (app->held != NULL) {
        return app->held->seq - 1;
    }
    return app->next_seq - 1;
}

/* The highest record the journal may forget: processed, its points and derived points in the
 * store, no open window holding it. */
uint64_t app_commit_target(struct col_app *app)
{
    uint64_t low;
    uint64_t upto = app_processed_through(app);

    low = col_sink_low_water(app->sink);
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    /* Open aggregation windows hold data that lives only in memory: keep their records. */
    low = app->derive != NULL ? col_derive_low_water(app->derive) : UINT64_MAX;
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    /* Open station-file intervals likewise (docs/tt10.md, "Restarts"). */
    low = app_tt10_low_water(app);
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    if (app->overflow.len > 0 && app->overflow_mark - 1 < upto) {
        upto = app->overflow_mark - 1;
    }
    return upto;
}

/* Every APP_COMMIT_MS: the checkpoint, then the journal's commit. */
void app_commit_cb(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, commit_timer);

    if (app->sink == NULL || app->spool == NULL || !app->flow_started) {
        return;
    }
    app_ckpt_commit(app, app_commit_target(app));
}

/* ---- start ---- */

/* Starts the flow once the derived state is rebuilt: the journal's uncommitted records first
 * (read back in order), then the MQTT client. */
int app_flow_start(struct col_app *app)
{
    struct col_spool_stats st;
    int rc;

    col_spool_stats(app->spool, &st);
    app->committed = st.commit_seq;
    app_ckpt_begin(app, st.commit_seq);
    app->durable_seq = st.last_seq;
    app->q_next_expected = st.last_seq + 1;
    if (app->next_seq <= st.last_seq) {
        app->behind = true;
        app->replay_until = st.last_seq;
        col_log(COL_LOG_INFO, "spool", "replaying journal records %llu..%llu",
                (unsigned long long)app->next_seq, (unsigned long long)st.last_seq);
    }
    app->flow_started = true;
    flow_kick(app);
    rc = col_mqtt_start(app->mqtt);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "ingest", "cannot start the MQTT client: %s", ct_strerror(rc));
    }
    return rc;
}
