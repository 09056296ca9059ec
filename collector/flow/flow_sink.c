/* flow_sink.c - the flow's side of the sink: col_flow_enqueue, the one way points reach it
 * (with the bounded overflow buffer), and the sink's callbacks (room again, refused lines,
 * state, refused credentials). Loop thread only; shared state in flow_int.h. */
#include "flow_int.h"
#include "col_obs.h"
#include "ct/err.h"

/* The one way points reach the sink. Each point keeps its own mark (the lowest journal record it
 * came from), so the journal is never committed past a record whose derived points the store
 * has not taken (tests/unit/derive, the sink's low water). When the sink is full, points wait in
 * a bounded overflow buffer (APP_OVERFLOW_MAX) under the lowest of their marks and go out first
 * when room returns; beyond it they are dropped and counted (citytel_points_dropped_total) with
 * a log line. */
int col_flow_enqueue(struct col_flow *f, const char *lp, size_t len, uint64_t mark)
{
    int rc;

    if (f->parts.sink == NULL || len == 0) {
        return 0;
    }
    if (f->overflow.len == 0) {
        rc = col_sink_enqueue(f->parts.sink, lp, len, mark);
        if (rc == 0) {
            return 0;
        }
        if (rc != CT_E_FULL) {
            col_log(COL_LOG_ERROR, "sink", "points refused: %s", ct_strerror(rc));
            f->points_dropped++;
            return rc;
        }
    }
    if (ct_buf_add(&f->overflow, lp, len) != 0) {
        if (f->points_dropped++ == 0) {
            col_log(COL_LOG_ERROR, "sink", "overflow buffer full: derived points dropped");
        }
        return CT_E_FULL;
    }
    if (f->overflow_mark == 0 || mark < f->overflow_mark) {
        f->overflow_mark = mark;
    }
    return 0;
}

bool flow_flush_overflow(struct col_flow *f)
{
    if (f->overflow.len == 0) {
        return true;
    }
    if (col_sink_enqueue(f->parts.sink, f->overflow.p, f->overflow.len, f->overflow_mark) != 0) {
        return false;
    }
    f->overflow_mark = 0;
    ct_buf_reset(&f->overflow);
    return true;
}

static void sink_on_room(void *arg)
{
    struct col_flow *f = arg;

    if (!flow_flush_overflow(f)) {
        return;
    }
    if (f->held == NULL) {
        f->sink_full = false;
    }
    if (f->flow_started) {
        flow_drain(f);
    }
}

static void sink_on_reject(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                           int status, const char *reason)
{
    struct col_flow *f = arg;

    /* One call per refused line (whole); the first 20 are logged, the counter has them all. */
    if (f->store_rejects_logged < 20) {
        f->store_rejects_logged++;
        col_log(COL_LOG_ERROR, "sink", "the store refused a line (HTTP %d, class %d): %s%s", status,
                (int)cls, reason,
                f->store_rejects_logged == 20 ? " (further refusals: see the flow_quarantine)"
                                              : "");
    }
    if (f->parts.quarantine != NULL) {
        struct col_quarantine_entry e = {.time_ms = (uint64_t)col_now_ms(),
                                         .reason = "store_rejected",
                                         .detail = reason,
                                         .payload = lines,
                                         .payload_len = len};
        col_quarantine_write(f->parts.quarantine, &e);
    }
}

/* The sink logs each transition itself (one ERROR, one INFO line); /healthz and the metrics
 * read col_sink_ok() and the stats. */
void col_flow_sink_on_state(void *arg, bool ok, const char *why)
{
    (void)arg;
    (void)ok;
    (void)why;
}

/* The sink counts 401/403 answers itself (citytel_store_auth_errors_total); this raises the
 * operator's alert in the log. */
static void sink_on_auth_error(void *arg, int status, const char *reason)
{
    (void)arg;
    col_log(COL_LOG_ERROR, "sink",
            "ALERT: the store refused our credentials (HTTP %d): %s; check influx.username/"
            "password or influx.token",
            status, reason);
}

const struct col_sink_callbacks col_flow_sink_callbacks = {sink_on_room, sink_on_reject,
                                                           sink_on_auth_error};
