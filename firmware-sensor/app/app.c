/* app.c - the sensor node's state machine (contract in fw_app.h). */
#include "fw_app.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/buf.h"
#include "ct/err.h"
#include "ct/topic.h"

#ifndef CT_VERSION
#define CT_VERSION "0.0.0"
#endif

#define BOOT_BLOB "boot"
#define FW_APP_TS_BACK_MS 1000 /* a clock step back up to this is smoothed over (live_ts) */
#define STATUS_MAX 256

struct fw_app {
    struct fw_app_cfg cfg;
    char id[CT_ID_MAX + 1];
    uint8_t key[CT_KEY_LEN];
    char up_topic[CT_TOPIC_MAX];
    struct fw_outbox *ob;
    struct fw_tx *tx; /* borrowed; may be NULL */
    uint64_t boot;
    uint64_t seq;

    /* Schedule, in ms after scaling. */
    int64_t base_ms; /* air/water period; flood dry period; rain/parking heartbeat */
    int64_t wet_ms;  /* flood period while wet */
    int64_t poll_ms; /* rain/parking polling */
    int64_t next_sample;
    bool started;
    int64_t last_sent; /* when the last reading was queued */
    bool wet;          /* flood */
    bool have_last;    /* rain/parking: last queued value known */
    double last_tips;  /* rain: tips of the last queued reading */
    double last_occ;   /* parking: occupancy of the last queued reading */
    int64_t last_ts;   /* wall-clock stamp of the last live reading, 0 before the first */

    /* Sending. */
    double tokens;
    int64_t tokens_at;
    bool status_due;          /* an "online" status must be published */
    uint64_t status_n;        /* status seq of this connection's "online"; its will is +1 */
    struct fw_outbox_rec rec; /* scratch for fw_outbox_next */
    struct fw_app_stats st;
};

static int64_t scaled(const struct fw_app *app, int64_t ms)
{
    double s = app->cfg.time_scale > 1.0 ? app->cfg.time_scale : 1.0;
    int64_t v = (int64_t)((double)ms / s);
    return v < 1 ? 1 : v;
}

static int64_t kind_base_ms(enum ct_kind kind)
{
    return kind == CT_KIND_AIR ? 60000 : 300000;
}

size_t fw_app_default_max_records(enum ct_kind kind, uint32_t interval_ms)
{
    int64_t period = interval_ms ? interval_ms : kind_base_ms(kind);
    if (kind == CT_KIND_FLOOD) {
        period = period / 10 > 0 ? period / 10 : 1; /* wet all week */
    } else if ((kind == CT_KIND_RAIN || kind == CT_KIND_PARKING) && period > FW_APP_POLL_MS) {
        period = FW_APP_POLL_MS; /* a change at every poll all week (rain, a busy lot) */
    }
    uint64_t n = (uint64_t)FW_APP_BACKLOG_DAYS * 86400000ull / (uint64_t)period + 1;
    if (n < FW_APP_MAX_RECORDS_FLOOR) {
        n = FW_APP_MAX_RECORDS_FLOOR;
    }
    if (n > 10000000ull) {
        n = 10000000ull;
    }
    return (size_t)n;
}

static int hal_read(void *ctx, void *node, enum ct_kind kind, int64_t now_ms, struct ct_reading *r)
{
    size_t count = 0;
    const struct ct_member *ms = ct_schema_members(kind, &count);
    if (ms == NULL) {
        return CT_E_INVAL;
    }
    for (size_t i = 0; i < count; i++) {
        if (kind == CT_KIND_RAIN && strcmp(ms[i].name, "mm") == 0) {
            continue;
        }
        double v = 0;
        int rc = fw_hal_sensor_read(node, kind, ms[i].name, now_ms, &v);
        if (rc == CT_E_NOTFOUND) {
            continue;
        }
        if (rc != 0) {
            return rc;
        }
        if (!isfinite(v)) {
            return CT_E_RANGE;
        }
        if (ms[i].type == CT_VT_BOOL) {
            rc = ct_reading_set_bool(r, ms[i].name, v != 0.0);
        } else if (ms[i].type == CT_VT_INT) {
            rc = ct_reading_set_num(r, ms[i].name, (double)llround(v));
        } else {
            rc = ct_reading_set_num(r, ms[i].name, round(v * 100.0) / 100.0);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static const struct fw_sampler hal_sampler = {hal_read, NULL};

const struct fw_sampler *fw_app_hal_sampler(void)
{
    return &hal_sampler;
}

static int boot_next(struct fw_nvs *nvs, bool sync, uint64_t *boot)
{
    char buf[32];
    size_t len = 0;
    uint64_t b = 0;
    int rc = fw_nvs_read(nvs, BOOT_BLOB, buf, sizeof(buf) - 1, &len);
    if (rc == 0) {
        buf[len] = '\0';
        char *end = NULL;
        unsigned long long v = strtoull(buf, &end, 10);
        if (end == buf || (*end != '\0' && *end != '\n')) {
            return CT_E_CORRUPT;
        }
        b = (uint64_t)v + 1;
    } else if (rc != CT_E_NOTFOUND) {
        return rc;
    }
    int n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)b);
    rc = fw_nvs_write(nvs, BOOT_BLOB, buf, (size_t)n, sync);
    if (rc != 0) {
        return rc;
    }
    *boot = b;
    return 0;
}

int fw_app_create(const struct fw_app_cfg *cfg, struct fw_app **out)
{
    if (cfg == NULL || cfg->id == NULL || cfg->key == NULL || cfg->nvs == NULL ||
        (unsigned)cfg->kind >= CT_KIND__COUNT || !ct_device_id_valid(cfg->id, strlen(cfg->id)) ||
        cfg->max_inflight < 0 || cfg->max_inflight > FW_OUTBOX_ACK_WINDOW ||
        cfg->backlog_rate < 0 || !isfinite(cfg->backlog_rate)) {
        return CT_E_INVAL;
    }
    struct fw_app *app = calloc(1, sizeof(*app));
    if (app == NULL) {
        return CT_E_NOMEM;
    }
    app->cfg = *cfg;
    snprintf(app->id, sizeof(app->id), "%s", cfg->id);
    app->cfg.id = app->id;
    memcpy(app->key, cfg->key, CT_KEY_LEN);
    app->cfg.key = app->key;
    if (app->cfg.max_inflight == 0) {
        app->cfg.max_inflight = 16;
    }
    if (app->cfg.mm_per_tip <= 0) {
        app->cfg.mm_per_tip = 0.2;
    }
    if (app->cfg.park_mode == CT_PARK_NONE) {
        app->cfg.park_mode = CT_PARK_LOT;
    }
    if (app->cfg.sampler == NULL) {
        app->cfg.sampler = &hal_sampler;
    }
    int rc = ct_topic_format(CT_TOPIC_UP, cfg->kind, app->id, app->up_topic, sizeof(app->up_topic));
    if (rc != 0) {
        goto out_free;
    }
    int64_t base = cfg->interval_ms ? (int64_t)cfg->interval_ms : kind_base_ms(cfg->kind);
    app->base_ms = scaled(app, base);
    app->wet_ms = app->base_ms / 10 > 0 ? app->base_ms / 10 : 1;
    app->poll_ms = scaled(app, FW_APP_POLL_MS);
    if (app->poll_ms > app->base_ms) {
        app->poll_ms = app->base_ms;
    }
    rc = boot_next(cfg->nvs, cfg->sync, &app->boot);
    if (rc != 0) {
        goto out_free;
    }
    struct fw_outbox_cfg ocfg = {
        .max_records = cfg->max_records ? cfg->max_records
                                        : fw_app_default_max_records(cfg->kind, cfg->interval_ms),
        .segment_records = 0,
        .sync = cfg->sync,
    };
    rc = fw_outbox_open(cfg->nvs, &ocfg, &app->ob);
    if (rc != 0) {
        goto out_free;
    }
    app->st.boot = app->boot;
    *out = app;
    return 0;

out_free:
    free(app);
    return rc;
}

void fw_app_destroy(struct fw_app *app)
{
    if (app == NULL) {
        return;
    }
    fw_outbox_close(app->ob);
    free(app);
}

void fw_app_set_tx(struct fw_app *app, struct fw_tx *tx)
{
    app->tx = tx;
    app->status_due = tx != NULL && fw_tx_connected(tx) && app->cfg.publish_status;
}

int fw_app_status(const struct fw_app *app, bool online, char *topic, size_t topic_cap,
                  char *payload, size_t payload_cap, char sig[CT_SIG_HEX_LEN + 1])
{
    int rc = ct_topic_format(CT_TOPIC_STATUS, app->cfg.kind, app->id, topic, topic_cap);
    if (rc != 0) {
        return rc;
    }
    int n;
    /* The "online" of this connection is seq status_n, its will (and a clean shutdown's
     * "offline", the same bytes) status_n + 1: the collector accepts a status only when its
     * (boot, seq) is newer than the last one it accepted (protocol.md "Status messages"). */
    if (online) {
        n = snprintf(payload, payload_cap,
                     "{\"v\":1,\"id\":\"%s\",\"boot\":%llu,\"seq\":%llu,\"state\":\"online\","
                     "\"fw\":\"%s\"}",
                     app->id, (unsigned long long)app->boot, (unsigned long long)app->status_n,
                     CT_VERSION);
    } else {
        n = snprintf(payload, payload_cap,
                     "{\"v\":1,\"id\":\"%s\",\"boot\":%llu,\"seq\":%llu,\"state\":\"offline\"}",
                     app->id, (unsigned long long)app->boot, (unsigned long long)app->status_n + 1);
    }
    if (n < 0 || (size_t)n >= payload_cap) {
        return CT_E_TOOBIG;
    }
    return ct_sig_sign(app->key, topic, strlen(topic), payload, (size_t)n, sig);
}

static int publish_status(struct fw_app *app, bool online)
{
    char topic[CT_TOPIC_MAX];
    char payload[STATUS_MAX];
    char sig[CT_SIG_HEX_LEN + 1];
    int rc = fw_app_status(app, online, topic, sizeof(topic), payload, sizeof(payload), sig);
    if (rc != 0) {
        return rc;
    }
    if (app->tx == NULL) {
        return CT_E_STATE;
    }
    return fw_tx_publish(app->tx, topic, payload, strlen(payload), true, sig, app,
                         FW_APP_STATUS_TAG);
}

int fw_app_publish_offline(struct fw_app *app)
{
    return publish_status(app, false);
}

/* Decides whether a fresh sample is sent (rain and parking send on change or heartbeat). */
static bool worth_sending(struct fw_app *app, int64_t now_ms, const struct ct_reading *r)
{
    bool heartbeat = !app->have_last || now_ms - app->last_sent >= app->base_ms;
    if (app->cfg.kind == CT_KIND_RAIN) {
        const struct ct_value *t = ct_reading_get(r, "tips");
        return heartbeat || (t != NULL && t->num != app->last_tips);
    }
    if (app->cfg.kind == CT_KIND_PARKING) {
        const struct ct_value *o = ct_reading_get(r, "occupied");
        double occ = o == NULL ? -1 : (o->type == CT_VT_BOOL ? (o->b ? 1 : 0) : o->num);
        return heartbeat || occ != app->last_occ;
    }
    return true;
}

/* The stamp of a live reading: the wall clock, made strictly later than the previous live
 * reading when the clock reads the same or at most FW_APP_TS_BACK_MS earlier. Two samples can fall
 * in one wall-clock millisecond when a stalled loop catches up (the schedule runs on the monotonic
 * clock), and the store keys a raw point by device and time: an equal stamp would overwrite an
 * acknowledged reading (test_fw_app: test_app_timestamps_strictly_increase). A larger step back
 * (the clock was set) is kept as it is. */
static int64_t live_ts(struct fw_app *app)
{
    int64_t ts = fw_hal_wall_ms();
    if (app->last_ts != 0 && ts <= app->last_ts && app->last_ts - ts <= FW_APP_TS_BACK_MS) {
        ts = app->last_ts + 1;
    }
    app->last_ts = ts;
    return ts;
}

/* Takes one sample at 'now_ms' and queues it, stamped with the wall clock, or with 'wall_ms' when
 * >= 0 (a backfilled reading, which leaves the heartbeat and event state alone). */
static int sample_at(struct fw_app *app, int64_t now_ms, int64_t wall_ms)
{
    struct ct_reading r;
    memset(&r, 0, sizeof(r));
    r.kind = app->cfg.kind;
    snprintf(r.id, sizeof(r.id), "%s", app->id);
    app->st.samples++;
    int rc = app->cfg.sampler->read(app->cfg.sampler->ctx, app->cfg.sensor_node, app->cfg.kind,
                                    now_ms, &r);
    if (rc != 0) {
        app->st.sample_errors++;
        return rc;
    }
    if (app->cfg.kind == CT_KIND_PARKING && app->cfg.park_mode == CT_PARK_BAY) {
        /* A bay sensor reports a boolean and no capacity. */
        const struct ct_value *o = ct_reading_get(&r, "occupied");
        struct ct_reading b = r;
        b.n = 0;
        if (o != NULL) {
            ct_reading_set_bool(&b, "occupied", o->type == CT_VT_BOOL ? o->b : o->num != 0.0);
        }
        r = b;
    }
    if (app->cfg.kind == CT_KIND_FLOOD) {
        const struct ct_value *d = ct_reading_get(&r, "depth");
        app->wet = d != NULL && d->num >= FW_APP_WET_CM;
    }
    if (wall_ms < 0 && !worth_sending(app, now_ms, &r)) {
        return 0;
    }
    if (app->cfg.kind == CT_KIND_RAIN) {
        const struct ct_value *t = ct_reading_get(&r, "tips");
        if (t != NULL) {
            double delta = app->have_last && t->num >= app->last_tips ? t->num - app->last_tips
                                                                      : (app->have_last ? 0 : 0);
            ct_reading_set_num(&r, "mm", round(delta * app->cfg.mm_per_tip * 1000.0) / 1000.0);
        }
    }
    size_t dropped = ct_reading_check_ranges(&r);
    app->st.out_of_range += dropped;
    if (r.n == 0) {
        app->st.empty++;
        return 0;
    }
    r.boot = app->boot;
    r.seq = app->seq;
    r.ts_ms = wall_ms >= 0 ? wall_ms : live_ts(app);
    char mem[CT_PAYLOAD_MAX + 1];
    struct ct_buf b;
    ct_buf_init_fixed(&b, mem, sizeof(mem));
    rc = ct_payload_encode(&r, &b);
    if (rc != 0) {
        app->st.sample_errors++;
        return rc;
    }
    rc = fw_outbox_append(app->ob, app->boot, app->seq, b.p, b.len, NULL);
    if (rc != 0) {
        fprintf(stderr, "fw_app %s: outbox append: %s\n", app->id, ct_strerror(rc));
        app->st.sample_errors++;
        return rc;
    }
    app->seq++;
    app->st.queued++;
    if (wall_ms >= 0) {
        return 0;
    }
    app->last_sent = now_ms;
    app->have_last = true;
    if (app->cfg.kind == CT_KIND_RAIN) {
        const struct ct_value *t = ct_reading_get(&r, "tips");
        app->last_tips = t != NULL ? t->num : app->last_tips;
    } else if (app->cfg.kind == CT_KIND_PARKING) {
        const struct ct_value *o = ct_reading_get(&r, "occupied");
        app->last_occ = o == NULL ? -1 : (o->type == CT_VT_BOOL ? (o->b ? 1 : 0) : o->num);
    }
    return 0;
}

static void sample(struct fw_app *app, int64_t now_ms)
{
    (void)sample_at(app, now_ms, -1);
}

int fw_app_backfill(struct fw_app *app, int64_t sample_ms, int64_t wall_ms)
{
    if (app == NULL || wall_ms < 0 ||
        (app->cfg.kind != CT_KIND_AIR && app->cfg.kind != CT_KIND_WATER)) {
        return CT_E_INVAL;
    }
    return sample_at(app, sample_ms, wall_ms);
}

static int64_t period(const struct fw_app *app)
{
    switch (app->cfg.kind) {
    case CT_KIND_FLOOD:
        return app->wet ? app->wet_ms : app->base_ms;
    case CT_KIND_RAIN:
    case CT_KIND_PARKING:
        return app->poll_ms;
    default:
        return app->base_ms;
    }
}

/* Sends from the outbox; returns the time more tokens are available, or INT64_MAX. */
static int64_t pump(struct fw_app *app, int64_t now_ms)
{
    if (app->tx == NULL || !fw_tx_connected(app->tx)) {
        return INT64_MAX;
    }
    if (app->status_due) {
        int rc = publish_status(app, true);
        if (rc == 0) {
            app->status_due = false;
        } else if (rc != CT_E_FULL) {
            return INT64_MAX;
        }
    }
    double rate = app->cfg.backlog_rate;
    if (rate > 0) {
        double burst = rate < 1 ? 1 : rate;
        app->tokens += (double)(now_ms - app->tokens_at) * rate / 1000.0;
        if (app->tokens > burst) {
            app->tokens = burst;
        }
    }
    app->tokens_at = now_ms;
    while (fw_outbox_outstanding(app->ob) < (uint64_t)app->cfg.max_inflight) {
        if (rate > 0 && app->tokens < 1.0) {
            if (fw_outbox_pending(app->ob) == fw_outbox_outstanding(app->ob)) {
                return INT64_MAX;
            }
            return now_ms + (int64_t)ceil((1.0 - app->tokens) * 1000.0 / rate);
        }
        int rc = fw_outbox_next(app->ob, &app->rec);
        if (rc != 0) {
            return INT64_MAX;
        }
        char sig[CT_SIG_HEX_LEN + 1];
        rc = ct_sig_sign(app->key, app->up_topic, strlen(app->up_topic), app->rec.payload,
                         app->rec.len, sig);
        if (rc == 0) {
            rc = fw_tx_publish(app->tx, app->up_topic, app->rec.payload, app->rec.len, false, sig,
                               app, app->rec.recno);
        }
        if (rc != 0) {
            fw_outbox_unnext(app->ob);
            return INT64_MAX; /* retried on the next event or sample */
        }
        app->st.published++;
        if (rate > 0) {
            app->tokens -= 1.0;
        }
    }
    return INT64_MAX;
}

int64_t fw_app_step(struct fw_app *app, int64_t now_ms)
{
    if (!app->started) {
        app->started = true;
        app->next_sample = now_ms;
        app->tokens_at = now_ms;
        app->tokens = app->cfg.backlog_rate < 1 ? 1 : app->cfg.backlog_rate;
    }
    if (now_ms >= app->next_sample) {
        sample(app, now_ms);
        int64_t p = period(app);
        app->next_sample += p;
        if (app->next_sample <= now_ms) {
            app->next_sample = now_ms + p;
        }
    }
    int64_t next = pump(app, now_ms);
    return next < app->next_sample ? next : app->next_sample;
}

void fw_app_on_tx_event(struct fw_app *app, const struct fw_tx_event *ev)
{
    switch (ev->type) {
    case FW_TX_EV_DELIVERED:
        if (ev->tag == FW_APP_STATUS_TAG) {
            app->st.status_acked++;
        } else if (fw_outbox_ack(app->ob, ev->tag) == 0) {
            app->st.acked++;
        }
        break;
    case FW_TX_EV_LOST:
        fw_outbox_rewind(app->ob);
        /* The broker published (or dropped) this connection's will: the next connection's
         * "online" and will take the next two status seqs. */
        app->status_n += 2;
        break;
    case FW_TX_EV_CONNECTED:
        fw_outbox_rewind(app->ob);
        app->status_due = app->cfg.publish_status;
        break;
    }
}

void fw_app_get_stats(const struct fw_app *app, struct fw_app_stats *st)
{
    *st = app->st;
}

void *fw_app_user(const struct fw_app *app)
{
    return app->cfg.sensor_node;
}

const struct fw_outbox *fw_app_outbox(const struct fw_app *app)
{
    return app->ob;
}
