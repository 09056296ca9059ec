/* app_flow.c - the message flow: Paho thread to spool and queue, loop thread through the
 * pipeline to the sink, and the commit of the journal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_int.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/lp.h"

int64_t app_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Paho's thread. The message must be in the spool before this returns: the return acknowledges
 * it to the broker. A full spool (refuse policy) holds Paho's thread here until a commit frees
 * room, so the broker keeps the messages; a full queue holds it the same way. */
int app_on_mqtt_msg(void *arg, const char *topic, size_t topic_len, const char *sig, size_t sig_len,
                    const void *payload, size_t payload_len)
{
    struct col_app *app = arg;
    uint8_t stack_rec[8192];
    uint8_t *rec = stack_rec;
    struct col_msg *m;
    uint64_t seq;
    size_t len;
    int rc;

    rc = col_msg_new(topic, topic_len, sig, sig_len, payload, payload_len, app_now_ms(), &m);
    if (rc == CT_E_TOOBIG) {
        /* Larger than any broker we configure lets through: refused here and counted. */
        atomic_fetch_add(&app->too_big, 1);
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    len = col_msg_record_len(m);
    if (len > sizeof(stack_rec)) {
        rec = malloc(len);
        if (rec == NULL) {
            free(m);
            return CT_E_NOMEM;
        }
    }
    col_msg_serialise(m, rec);
    for (;;) {
        rc = col_spool_append(app->spool, rec, len, &seq);
        if (rc != CT_E_FULL || atomic_load(&app->closing)) {
            break;
        }
        if (!atomic_exchange(&app->spool_full_alert, true)) {
            col_log(COL_LOG_ERROR, "spool",
                    "spool is full: holding MQTT delivery until the store takes data again");
        }
        col_spool_wait_room(app->spool, 1000);
    }
    if (rec != stack_rec) {
        free(rec);
    }
    if (rc != 0) {
        if (rc == CT_E_IO) {
            atomic_fetch_add(&app->spool_io_errors, 1);
        }
        free(m);
        return rc; /* not acknowledged: Paho delivers it again */
    }
    atomic_store(&app->spool_full_alert, false);
    m->seq = seq;
    /* The message is durable now. The queue only carries it to the loop; if the collector
     * stops before the loop takes it, the journal replays it at the next start. */
    while ((rc = col_mq_push(&app->mq, m, 1000)) == CT_E_FULL) {
        if (atomic_load(&app->closing)) {
            break;
        }
    }
    if (rc != 0) {
        free(m);
    }
    return 0;
}

void app_on_mqtt_state(void *arg, bool connected, const char *why)
{
    struct col_app *app = arg;

    atomic_store(&app->mqtt_connected, connected);
    (void)why;
}

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
        device = "";
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
 * flush time, so that operators see them in the store. */
void app_reject_flush_cb(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, reject_timer);
    int64_t now = app_now_ms();
    struct ct_buf out;

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
    if (app_enqueue(app, out.p, out.len, app->last_done_seq) == 0) {
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

/* Processes one message. Returns false when the sink is full: the message is then held with its
 * encoded points and the drain stops until on_room. */
static bool process(struct col_app *app, struct col_msg *m)
{
    struct col_verdict v;
    int rc;

    col_pipeline_process(app->pipeline, app->registry, col_msg_topic(m), m->topic_len,
                         m->sig_len ? col_msg_sig(m) : NULL, m->sig_len, col_msg_payload(m),
                         m->payload_len, app_now_ms(), &v);
    if (v.reject != CT_REJ_NONE) {
        app_count_reject(app, v.reject, v.device);
        if (v.reject != CT_REJ_DUPLICATE) {
            col_log(COL_LOG_DEBUG, "pipeline", "rejected %s: %s", ct_reject_name(v.reject),
                    v.why.text);
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
    }
    rc = app_flush_overflow(app) ? col_sink_enqueue(app->sink, app->lp.p, app->lp.len, m->seq)
                                 : CT_E_FULL;
    if (rc == 0) {
        app->last_mark = m->seq;
    }
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
    app->last_done_seq = m->seq;
    free(m);
    return true;
}

/* Reads the next journal record while replaying. Returns NULL at the end (replay finished). */
static struct col_msg *replay_next(struct col_app *app)
{
    size_t len;
    uint64_t seq;
    struct col_msg *m;
    int rc;

    for (;;) {
        rc = col_spool_reader_next(app->replay, app->replay_buf, APP_RECORD_MAX, &len, &seq);
        if (rc != 0) {
            return NULL;
        }
        if (col_msg_parse(app->replay_buf, len, seq, &m) == 0) {
            app->replayed++;
            return m;
        }
        col_log(COL_LOG_WARN, "spool", "record %llu is not a message record; skipped",
                (unsigned long long)seq);
    }
}

static void finish_replay(struct col_app *app)
{
    col_spool_reader_close(app->replay);
    app->replay = NULL;
    free(app->replay_buf);
    app->replay_buf = NULL;
    col_log(COL_LOG_INFO, "spool", "replayed %llu journal records; subscribing",
            (unsigned long long)app->replayed);
    if (col_ingest_start(app->ingest) != 0) {
        col_log(COL_LOG_ERROR, "ingest", "cannot start the MQTT client");
    }
}

/* Processes up to APP_DRAIN_BATCH messages: the held one first, then the journal (replay) or the
 * queue. Keeps the idle handle running while work remains so that other loop work interleaves. */
static void drain(struct col_app *app)
{
    size_t done = 0;

    if (app->held != NULL) {
        if (!app_flush_overflow(app) ||
            col_sink_enqueue(app->sink, app->held_lp.p, app->held_lp.len, app->held->seq) ==
                CT_E_FULL) {
            return;
        }
        app->last_mark = app->held->seq;
        app->last_done_seq = app->held->seq;
        free(app->held);
        app->held = NULL;
        app->sink_full = false;
    }
    while (done < APP_DRAIN_BATCH) {
        struct col_msg *m;
        if (app->replay != NULL) {
            m = replay_next(app);
            if (m == NULL) {
                finish_replay(app);
                continue;
            }
            m->next = NULL;
        } else {
            m = col_mq_pop(&app->mq, APP_DRAIN_BATCH - done);
            if (m == NULL) {
                break;
            }
        }
        while (m != NULL) {
            struct col_msg *next = m->next;
            done++;
            if (!process(app, m)) {
                /* The sink is full: put the rest back in front is not possible with a FIFO of
                 * one producer; keep them chained behind the held message instead. */
                app->held->next = next;
                goto out_full;
            }
            m = next;
        }
    }
    if (done == APP_DRAIN_BATCH || app->replay != NULL) {
        uv_idle_start(&app->drain_idle, app_drain_idle_cb);
        return;
    }
    uv_idle_stop(&app->drain_idle);
    return;

out_full:
    uv_idle_stop(&app->drain_idle);
}

void app_wake_cb(uv_async_t *h)
{
    struct col_app *app = container_of(h, struct col_app, wake);

    if (!app->sink_full) {
        drain(app);
    }
}

void app_drain_idle_cb(uv_idle_t *h)
{
    struct col_app *app = container_of(h, struct col_app, drain_idle);

    if (app->sink_full) {
        uv_idle_stop(h);
        return;
    }
    drain(app);
}

void app_sink_on_room(void *arg)
{
    struct col_app *app = arg;
    struct col_msg *rest;

    if (!app_flush_overflow(app)) {
        return;
    }
    if (app->held == NULL) {
        app->sink_full = false;
        drain(app);
        return;
    }
    /* Retry the held message, then the messages chained behind it, then the usual sources. */
    rest = app->held->next;
    app->held->next = NULL;
    if (col_sink_enqueue(app->sink, app->held_lp.p, app->held_lp.len, app->held->seq) ==
        CT_E_FULL) {
        app->held->next = rest;
        return;
    }
    app->last_mark = app->held->seq;
    app->last_done_seq = app->held->seq;
    free(app->held);
    app->held = NULL;
    app->sink_full = false;
    while (rest != NULL) {
        struct col_msg *next = rest->next;
        if (!process(app, rest)) {
            app->held->next = next;
            return;
        }
        rest = next;
    }
    drain(app);
}

void app_sink_on_reject(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                        int status, const char *reason)
{
    struct col_app *app = arg;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        n += lines[i] == '\n';
    }
    if (len > 0 && lines[len - 1] != '\n') {
        n++;
    }
    col_log(COL_LOG_ERROR, "sink", "the store refused %zu line(s) (HTTP %d, class %d): %s", n,
            status, (int)cls, reason);
    if (app->quarantine != NULL) {
        struct col_quarantine_entry e = {.time_ms = (uint64_t)app_now_ms(),
                                         .reason = "store_rejected",
                                         .detail = reason,
                                         .payload = lines,
                                         .payload_len = len};
        col_quarantine_write(app->quarantine, &e);
    }
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

/* Commits the journal up to the last record whose points the store has taken. */
void app_commit_cb(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, commit_timer);
    uint64_t low;
    uint64_t upto = app->last_done_seq;

    if (app->sink == NULL || app->spool == NULL) {
        return;
    }
    low = col_sink_low_water(app->sink);
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    /* Open aggregation windows hold data that lives only in memory: keep their records. */
    low = app->derive != NULL ? col_derive_low_water(app->derive) : UINT64_MAX;
    if (low != UINT64_MAX && low - 1 < upto) {
        upto = low - 1;
    }
    if (upto > app->committed) {
        if (col_spool_commit(app->spool, upto) == 0) {
            app->committed = upto;
        }
    }
}

int app_replay_start(struct col_app *app)
{
    struct col_spool_stats st;
    int rc;

    col_spool_stats(app->spool, &st);
    app->committed = st.commit_seq;
    app->last_done_seq = st.commit_seq;
    if (st.last_seq <= st.commit_seq) {
        return col_ingest_start(app->ingest);
    }
    app->replay_buf = malloc(APP_RECORD_MAX);
    if (app->replay_buf == NULL) {
        return CT_E_NOMEM;
    }
    rc = col_spool_reader_open(app->spool, st.commit_seq + 1, &app->replay);
    if (rc != 0) {
        free(app->replay_buf);
        app->replay_buf = NULL;
        return rc;
    }
    col_log(COL_LOG_INFO, "spool", "replaying journal records %llu..%llu",
            (unsigned long long)st.commit_seq + 1, (unsigned long long)st.last_seq);
    uv_idle_start(&app->drain_idle, app_drain_idle_cb);
    return 0;
}
