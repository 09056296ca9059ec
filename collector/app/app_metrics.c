/* app_metrics.c - /metrics: every module's counters and gauges in the Prometheus text format.
 *
 * The modules keep their own statistics (pipeline, sink, spool, ingest, queue, quarantine); each
 * request builds a fresh registry from those snapshots and renders it, so a number lives in one
 * place only. */
#include <stdio.h>

#include "app_metrics.h"
#include "col_obs.h"
#include "ct/err.h"

#define METRICS_MAX_SERIES 512

struct mset {
    struct col_metrics *reg;
    int rc;
};

static void put(struct mset *m, enum col_metric_type type, const char *name, const char *help,
                const char *const *labels, int64_t value)
{
    struct col_metric *s;
    int rc;

    if (m->rc != 0) {
        return;
    }
    rc = col_metrics_register(m->reg, type, name, help, labels, &s);
    if (rc != 0 && rc != CT_E_EXISTS) {
        m->rc = rc;
        return;
    }
    if (type == COL_METRIC_COUNTER) {
        col_metric_add(s, (uint64_t)value);
    } else {
        col_metric_set(s, value);
    }
}

#define COUNTER(m, name, help, v) put(m, COL_METRIC_COUNTER, name, help, NULL, (int64_t)(v))
#define GAUGE(m, name, help, v) put(m, COL_METRIC_GAUGE, name, help, NULL, (int64_t)(v))
/* 'ms' milliseconds, exposed in seconds. */
#define SECONDS(m, name, help, ms) put(m, COL_METRIC_GAUGE_MILLI, name, help, NULL, (int64_t)(ms))

static void pipeline_metrics(const struct app_metrics_src *app, struct mset *m)
{
    struct col_flow_stats fs;
    const struct col_pipeline_stats *ps;

    col_flow_stats(app->flow, &fs);

    if (app->pipeline == NULL) {
        return;
    }
    ps = col_pipeline_stats(app->pipeline);

    COUNTER(m, "citytel_messages_accepted_total", "Telemetry messages accepted.", ps->accepted);
    for (int r = 1; r < CT_REJ__COUNT; r++) {
        const char *labels[] = {"reason", ct_reject_name((enum ct_reject)r), NULL};
        uint64_t v = ps->rejected[r] + fs.rejected_cut[r];
        put(m, COL_METRIC_COUNTER, "citytel_rejected_total",
            "Messages rejected, by reason (duplicates are dropped, not errors).", labels,
            (int64_t)v);
    }
    for (int r = CT_REJ_TYPE; r <= CT_REJ_RANGE; r++) {
        const char *labels[] = {"reason", ct_reject_name((enum ct_reject)r), NULL};
        put(m, COL_METRIC_COUNTER, "citytel_values_dropped_total",
            "Single values dropped from otherwise accepted messages, by reason.", labels,
            (int64_t)ps->values_dropped[r]);
    }
    COUNTER(m, "citytel_unknown_members_total", "Unknown members of `m`, ignored.",
            ps->unknown_members);
    COUNTER(m, "citytel_rain_tips_mismatch_total",
            "Rain messages whose mm disagrees with the tips delta.", ps->tips_mismatch);
    COUNTER(m, "citytel_status_messages_total", "Status (online/offline) messages accepted.",
            ps->status_messages);
    GAUGE(m, "citytel_devices_seen", "Devices with per-device state.",
          col_dedup_count(col_pipeline_devices(app->pipeline)));
}

static void sink_metrics(const struct app_metrics_src *app, struct mset *m)
{
    struct col_sink_stats s;

    if (app->sink == NULL) {
        return;
    }
    col_sink_stats(app->sink, &s);
    COUNTER(m, "citytel_store_points_total", "Points the store accepted.", s.points_delivered);
    COUNTER(m, "citytel_store_batches_total", "Batches the store accepted.", s.batches_ok);
    COUNTER(m, "citytel_store_requests_total", "Write requests sent to the store.", s.requests);
    COUNTER(m, "citytel_store_retries_total", "Batches retried after a failure.", s.retries);
    COUNTER(m, "citytel_store_splits_total", "Batches split after 413.", s.splits);
    COUNTER(m, "citytel_store_coalesced_total",
            "Queued batches never sent that went out merged into an earlier one.", s.coalesced);
    COUNTER(m, "citytel_store_memory_trims_total",
            "Times the store queue drained from a backlog and its free memory went back to the "
            "system.",
            s.memory_trims);
    COUNTER(m, "citytel_store_auth_errors_total", "401/403 answers from the store.", s.auth_errors);
    COUNTER(m, "citytel_store_transport_errors_total", "Connection errors and timeouts.",
            s.transport_errors);
    {
        static const char *const cls[] = {"parse", "bad_request", "too_large"};
        for (int i = 0; i < COL_SINK_REJ__COUNT; i++) {
            const char *labels[] = {"class", cls[i], NULL};
            put(m, COL_METRIC_COUNTER, "citytel_store_rejected_lines_total",
                "Lines the store refused for good (quarantined), by class.", labels,
                (int64_t)s.rejects[i]);
        }
    }
    COUNTER(m, "citytel_store_full_total", "Times the sink's memory limit held the pipeline.",
            s.full_refusals);
    GAUGE(m, "citytel_store_pending_bytes", "Line protocol held for the store.", s.bytes_pending);
    GAUGE(m, "citytel_store_backlog_batches", "Batches waiting for a retry.", s.batches_backlog);
    GAUGE(m, "citytel_store_inflight", "Write requests in flight.", s.inflight);
    /* Times in seconds, Prometheus' base unit (the sink keeps milliseconds). */
    SECONDS(m, "citytel_store_latency_seconds", "Latency of the last store write.",
            s.last_latency_ms);
    SECONDS(m, "citytel_store_latency_ewma_seconds", "Store write latency, moving average.",
            s.ewma_latency_ms);
    SECONDS(m, "citytel_store_oldest_pending_seconds", "Age of the oldest held batch.",
            s.oldest_pending_ms);
    GAUGE(m, "citytel_store_ok", "1 while the store accepts writes, 0 while writes fail.",
          s.store_ok ? 1 : 0);
    SECONDS(m, "citytel_store_failing_seconds",
            "How long writes to the store have been failing, 0 when they succeed.",
            s.store_failing_ms);
    COUNTER(m, "citytel_store_failures_total", "Times the store went from working to failing.",
            s.store_failures);
}

static void spool_metrics(const struct app_metrics_src *app, struct mset *m)
{
    struct col_flow_stats fs;
    struct col_spool_stats s;
    int64_t now = col_now_ms();

    col_flow_stats(app->flow, &fs);

    if (app->spool == NULL) {
        return;
    }
    col_spool_stats(app->spool, &s);
    GAUGE(m, "citytel_spool_records", "Journal records not yet committed.", s.records);
    GAUGE(m, "citytel_spool_bytes", "Bytes of journal segment files.", s.bytes);
    GAUGE(m, "citytel_spool_segments", "Journal segment files.", s.segments);
    GAUGE(m, "citytel_spool_max_bytes", "The journal's size limit (spool.max_bytes).",
          app->cfg->spool_max_bytes);
    GAUGE(m, "citytel_spool_oldest_age_seconds", "Age of the oldest uncommitted record.",
          s.oldest_ms > 0 && (int64_t)s.oldest_ms < now ? (now - (int64_t)s.oldest_ms) / 1000 : 0);
    COUNTER(m, "citytel_spool_appended_total", "Records appended since start.", s.appended);
    {
        struct col_intake_stats is = {0};
        if (app->intake != NULL) {
            col_intake_stats(app->intake, &is);
        }
        COUNTER(m, "citytel_spool_full_total",
                "Group writes refused because the spool or its file system was full.",
                s.full_refusals + is.full);
        GAUGE(m, "citytel_spool_full", "1 while the spool is full and MQTT delivery is held.",
              is.full_now ? 1 : 0);
        GAUGE(m, "citytel_spool_failing", "1 while journal writes fail and MQTT delivery is held.",
              is.failing_now ? 1 : 0);
        COUNTER(m, "citytel_spool_io_errors_total", "Journal I/O errors.",
                s.io_errors + is.io_errors);
        COUNTER(m, "citytel_ingest_durable_total",
                "Messages made durable in the journal and then acknowledged.", is.durable);
        COUNTER(m, "citytel_ingest_groups_total", "Group writes to the journal.", is.groups);
        COUNTER(m, "citytel_ingest_cut_total",
                "Messages journaled cut to the record limits (then rejected).", is.cut);
        COUNTER(m, "citytel_ingest_unacked_dropped_total",
                "Messages dropped unacknowledged after a lost connection (the broker resends).",
                is.dropped_stale);
        GAUGE(m, "citytel_ingest_pending", "Messages received and not yet durable.", is.pending);
        GAUGE(m, "citytel_ingest_paused", "1 while MQTT delivery is paused by the intake.",
              is.paused ? 1 : 0);
    }
    COUNTER(m, "citytel_spool_dropped_total", "Records dropped by the drop_oldest policy.",
            s.dropped_records);
    COUNTER(m, "citytel_spool_corrupt_total", "Damaged journal regions skipped.",
            s.corrupt_records);
    COUNTER(m, "citytel_spool_torn_total", "Torn journal tails found at start.", s.torn_tails);
    COUNTER(m, "citytel_spool_replayed_total", "Journal records replayed at start.", fs.replayed);
    GAUGE(m, "citytel_flow_behind", "1 while the flow reads the journal (a backlog or a replay).",
          fs.behind ? 1 : 0);
    GAUGE(m, "citytel_flow_lag_records", "Durable records not yet processed.", fs.backlog);
}

static void ingest_metrics(const struct app_metrics_src *app, struct mset *m)
{
    struct col_flow_stats fs;
    struct col_mqtt_stats s = {0};

    col_flow_stats(app->flow, &fs);

    if (app->mqtt != NULL) {
        col_mqtt_stats(app->mqtt, &s);
    }
    GAUGE(m, "citytel_mqtt_connected", "1 while the MQTT subscription is connected.", s.up ? 1 : 0);
    COUNTER(m, "citytel_mqtt_messages_total", "MQTT messages received.", s.received);
    COUNTER(m, "citytel_mqtt_acked_total", "MQTT messages acknowledged (after the journal).",
            s.acked);
    GAUGE(m, "citytel_mqtt_inflight", "Messages received and not yet acknowledged.", s.inflight);
    GAUGE(m, "citytel_mqtt_paused", "1 while the subscription is paused.", s.paused ? 1 : 0);
    COUNTER(m, "citytel_mqtt_connects_total", "MQTT connections made.", s.connects);
    COUNTER(m, "citytel_mqtt_lost_total", "MQTT connections lost.", s.lost);
    COUNTER(m, "citytel_mqtt_protocol_errors_total", "Malformed packets from the broker.",
            s.protocol_errors);
    COUNTER(m, "citytel_mqtt_over_receive_max_total",
            "Messages the broker sent beyond our Receive Maximum.", s.over_receive_max);
    COUNTER(m, "citytel_mqtt_subscriptions_refused_total",
            "Subscriptions the broker refused or downgraded.", fs.sub_refused);
    COUNTER(m, "citytel_mqtt_published_total", "Alerts published.", s.published);
    COUNTER(m, "citytel_mqtt_publish_refused_total", "Alerts refused by the full outgoing queue.",
            s.publish_refused);
    COUNTER(m, "citytel_mqtt_watchdog_reconnects_total",
            "Reconnections made because a connected subscription stayed silent.",
            *app->wd_reconnects);
}

static void derive_metrics(const struct app_metrics_src *app, struct mset *m)
{
    struct col_flow_stats fs;
    struct col_derive_stats s;

    col_flow_stats(app->flow, &fs);

    if (app->derive == NULL) {
        return;
    }
    col_derive_stats(app->derive, &s);
    COUNTER(m, "citytel_windows_emitted_total", "Window aggregates written on time.",
            s.windows_emitted);
    COUNTER(m, "citytel_windows_late_parts_total", "Window aggregates written as late parts.",
            s.late_parts);
    {
        static const char *const names[] = {"stuck", "spike", "sentinel"};
        uint64_t v[] = {s.qc_stuck, s.qc_spike, s.qc_sentinel};
        for (int i = 0; i < 3; i++) {
            const char *labels[] = {"flag", names[i], NULL};
            put(m, COL_METRIC_COUNTER, "citytel_qc_flags_total",
                "Quality-control flags put on values, by flag.", labels, (int64_t)v[i]);
        }
    }
    {
        static const char *const names[] = {"flood", "aqi", "stale"};
        uint64_t v[] = {s.alerts_flood, s.alerts_aqi, s.alerts_stale};
        for (int i = 0; i < 3; i++) {
            const char *labels[] = {"type", names[i], NULL};
            put(m, COL_METRIC_COUNTER, "citytel_alerts_total", "Alerts raised, by type.", labels,
                (int64_t)v[i]);
        }
    }
    GAUGE(m, "citytel_stations_stale", "Stations that missed their reporting intervals.",
          col_derive_stale_each(app->derive, NULL, NULL));
    GAUGE(m, "citytel_derive_devices", "Devices with derived state.", s.devices_tracked);
    COUNTER(m, "citytel_derive_devices_refused_total",
            "Readings of devices refused at the derived-state bound.", s.devices_refused);
    COUNTER(m, "citytel_derive_emit_errors_total", "Derived points that could not be written.",
            s.emit_errors);
    COUNTER(m, "citytel_points_dropped_total",
            "Derived points dropped because the overflow buffer was full.", fs.points_dropped);
}

/* Both HTTP listeners' requests, refusals by reason and open connections, labelled
 * listener="public" or "staff" (tests/e2e/test_staff_listener.py). */
static void http_metrics(const struct app_metrics_src *app, struct mset *m)
{
    struct col_http *servers[] = {app->http, app->http_staff};
    static const char *const names[] = {"public", "staff"};

    for (int i = 0; i < 2; i++) {
        struct col_http_stats hs;
        if (servers[i] == NULL) {
            continue;
        }
        col_http_get_stats(servers[i], &hs);
        const char *l1[] = {"listener", names[i], NULL};
        put(m, COL_METRIC_COUNTER, "citytel_http_requests_total", "HTTP requests received.", l1,
            (int64_t)hs.count[COL_HTTP_REQUESTS]);
        put(m, COL_METRIC_GAUGE, "citytel_http_connections", "Open HTTP connections.", l1,
            (int64_t)hs.connections);
        for (int r = COL_HTTP_REQUESTS + 1; r < COL_HTTP__COUNT; r++) {
            const char *l2[] = {"listener", names[i], "reason",
                                col_http_count_name((enum col_http_count)r), NULL};
            put(m, COL_METRIC_COUNTER, "citytel_http_refused_total",
                "HTTP connections or requests refused, by listener and reason.", l2,
                (int64_t)hs.count[r]);
        }
    }
}

/* TT 10/2021 station files (docs/tt10.md). */
static void tt10_metrics(const struct app_metrics_src *app, struct mset *m)
{
    if (app->tt10 != NULL) {
        struct col_tt10_writer_stats ws;
        struct col_tt10_out_stats os;
        col_tt10_writer_stats(app->tt10, &ws);
        col_tt10_out_stats(col_tt10_writer_outbox(app->tt10), &os);
        COUNTER(m, "citytel_tt10_files_total", "Station files written to the outbox.", os.written);
        COUNTER(m, "citytel_tt10_write_errors_total", "Station files that could not be written.",
                os.write_errors + ws.put_errors);
        COUNTER(m, "citytel_tt10_late_values_total",
                "Values that came after their interval's file was written.", ws.late);
        COUNTER(m, "citytel_tt10_pruned_total", "Station files removed by the retention.",
                os.pruned);
        for (size_t i = 0; i < os.nreceivers; i++) {
            const char *labels[] = {"receiver", os.r[i].url, NULL};
            put(m, COL_METRIC_COUNTER, "citytel_tt10_delivered_total",
                "Station files delivered, by receiver.", labels, (int64_t)os.r[i].delivered);
            put(m, COL_METRIC_COUNTER, "citytel_tt10_upload_failures_total",
                "Failed uploads (each retried), by receiver.", labels, (int64_t)os.r[i].failures);
            put(m, COL_METRIC_GAUGE, "citytel_tt10_receiver_up",
                "1 when the receiver's last upload succeeded.", labels, os.r[i].up ? 1 : 0);
        }
    }
    if (app->tt10_in != NULL) {
        struct col_tt10_in_stats is;
        col_tt10_in_stats(app->tt10_in, &is);
        static const char *const outcomes[] = {"accepted", "quarantined", "duplicate"};
        uint64_t v[] = {is.accepted, is.quarantined, is.duplicates};
        for (size_t i = 0; i < 3; i++) {
            const char *labels[] = {"outcome", outcomes[i], NULL};
            put(m, COL_METRIC_COUNTER, "citytel_tt10_in_files_total",
                "Incoming station files, by outcome.", labels, (int64_t)v[i]);
        }
        COUNTER(m, "citytel_tt10_in_flagged_values_total",
                "Incoming values with status 01 or 02, kept out of the validated data.",
                *app->tt10_in_flagged);
        COUNTER(m, "citytel_tt10_in_refused_total", "Incoming files the journal could not take.",
                *app->tt10_in_refused);
    }
}

int app_metrics_render(const struct app_metrics_src *app, struct ct_buf *out)
{
    struct col_flow_stats fs;
    struct mset m = {NULL, 0};
    int rc = col_metrics_create(METRICS_MAX_SERIES, &m.reg);

    col_flow_stats(app->flow, &fs);

    if (rc != 0) {
        return rc;
    }
    GAUGE(&m, "citytel_up_seconds", "Seconds since the collector started.",
          (col_now_ms() - app->started_ms) / 1000);
    GAUGE(&m, "citytel_registry_devices", "Devices in the registry.",
          ct_registry_count(*app->registry));
    pipeline_metrics(app, &m);
    sink_metrics(app, &m);
    spool_metrics(app, &m);
    ingest_metrics(app, &m);
    derive_metrics(app, &m);
    http_metrics(app, &m);
    tt10_metrics(app, &m);
    COUNTER(&m, "citytel_quarantined_total", "Rejected messages written to the quarantine.",
            fs.quarantined);
    COUNTER(&m, "citytel_reject_table_overflow_total",
            "Rejections counted without a device because the table was full.", fs.reject_overflow);
    rc = m.rc != 0 ? m.rc : col_metrics_render(m.reg, out);
    col_metrics_destroy(m.reg);
    return rc;
}
