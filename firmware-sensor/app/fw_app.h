/* fw_app.h - the sensor node's application: sampling schedule, self-check, encode, sign,
 * store-and-forward and the MQTT status, as a state machine driven by the caller's clock.
 *
 * fw_app_step(app, now_ms) does what is due at 'now_ms' (a monotonic time in ms chosen by the
 * caller: the HAL clock in sensor-node, a fake clock in tests, a shared clock in fleet-sim) and
 * returns the next time it wants to run. Transport events are fed in with fw_app_on_tx_event().
 * No threads, no blocking except the outbox's storage writes, so thousands of apps can run in one
 * thread.
 *
 * Schedule (intervals divided by cfg.time_scale; cfg.interval_ms replaces the base period):
 *   air: a reading each 60 s; water: each 300 s; flood: each 300 s while dry, each 30 s (base/10)
 *   while depth >= FW_APP_WET_CM; rain: on new tips (polled each 10 s) plus a heartbeat each
 *   300 s; parking: on a change of occupancy (polled each 10 s) plus a heartbeat each 300 s.
 * Each reading is checked against the schema's ranges (ct_reading_check_ranges): values out of
 * range are not sent (counted), a reading left empty is not queued (counted). The rest is
 * encoded (ct_payload_encode) with (boot, seq), appended to the outbox, and sent oldest first,
 * at most cfg.max_inflight unacked and cfg.backlog_rate messages/s.
 *
 * Threading: one thread per app (several apps may share that thread). Errors: CT_E_* codes. */
#ifndef FW_APP_H
#define FW_APP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/payload.h"
#include "ct/registry.h"
#include "ct/schema.h"
#include "ct/sig.h"
#include "fw_hal.h"
#include "fw_outbox.h"
#include "fw_tx.h"

#define FW_APP_WET_CM 1.0             /* flood: depth at or above this is "water present" */
#define FW_APP_POLL_MS 10000          /* rain/parking event polling period before scaling */
#define FW_APP_STATUS_TAG UINT64_MAX  /* tx tag of status publishes */
#define FW_APP_BACKLOG_DAYS 7         /* default outbox bound: days at the normal rate */
#define FW_APP_MAX_RECORDS_FLOOR 4096 /* default outbox bound is at least this */

/* A per-kind sampler: where readings come from. Drivers slot in here; the default reads the
 * HAL's sensor source. read() fills r->values (r->kind and r->id are set, r->n is 0) and
 * returns 0, or a CT_E_* code (the sample is skipped and counted). Runs on the app's thread. */
struct fw_sampler {
    int (*read)(void *ctx, void *node, enum ct_kind kind, int64_t now_ms, struct ct_reading *r);
    void *ctx; /* borrowed */
};

/* The default sampler: each measurement member of the kind is read from fw_hal_sensor_read()
 * (members the source does not know are left out; rain reads only "tips", the app adds "mm"),
 * numbers rounded to 2 decimals, integer members to integers. */
const struct fw_sampler *fw_app_hal_sampler(void);

struct fw_app_cfg {
    enum ct_kind kind;
    const char *id;                   /* device id; copied */
    const uint8_t *key;               /* CT_KEY_LEN bytes; copied */
    struct fw_nvs *nvs;               /* borrowed; must outlive the app (boot counter, outbox) */
    double time_scale;                /* >= 1 compresses time (0 means 1) */
    uint32_t interval_ms;             /* 0: per-kind default base period; else replaces it */
    double backlog_rate;              /* messages/s sent from the outbox; 0: unlimited */
    size_t max_records;               /* outbox bound; 0: 7 days at the normal rate (>= floor) */
    bool sync;                        /* fsync outbox appends and the boot counter (real node) */
    int max_inflight;                 /* unacked publishes, 1..FW_OUTBOX_ACK_WINDOW (0: 16) */
    double mm_per_tip;                /* rain: 0 means 0.2 */
    enum ct_park_mode park_mode;      /* parking: CT_PARK_LOT (default) or CT_PARK_BAY */
    bool publish_status;              /* publish retained "online" status on each connect */
    void *sensor_node;                /* passed to the sampler (fleet-sim's node); borrowed */
    const struct fw_sampler *sampler; /* NULL: fw_app_hal_sampler(); borrowed */
};

struct fw_app_stats {
    uint64_t boot;    /* this run's boot counter */
    uint64_t samples; /* sampler reads */
    uint64_t sample_errors;
    uint64_t queued;       /* readings appended to the outbox (= next seq) */
    uint64_t out_of_range; /* values dropped by the self-check */
    uint64_t empty;        /* readings not queued: no value left */
    uint64_t published;    /* publishes of readings (resends included) */
    uint64_t acked;        /* readings acked by the broker in this run */
    uint64_t status_acked; /* status publishes acked */
};

struct fw_app; /* opaque */

/* Creates an app: reads and increments the boot counter (blob "boot" in cfg->nvs) and opens the
 * outbox. Returns 0 and *out, CT_E_INVAL, CT_E_IO or CT_E_NOMEM. */
int fw_app_create(const struct fw_app_cfg *cfg, struct fw_app **out);
/* Sets the transport the app publishes through (borrowed; NULL: offline). The app does not poll
 * it: the caller polls and passes the events to fw_app_on_tx_event(). */
void fw_app_set_tx(struct fw_app *app, struct fw_tx *tx);
/* Runs what is due at now_ms; returns the next time (ms, > now_ms) it wants to run. Wake-ups for
 * transport events come from the caller (fw_hal_idle/fw_hal_wake). */
int64_t fw_app_step(struct fw_app *app, int64_t now_ms);
/* Queues one reading sampled at monotonic 'sample_ms' (what the sampler is asked for) and
 * stamped 'wall_ms' (>= 0), behind what is queued, with the next seq: a node's stored history,
 * signed and sent like every reading. fleet-sim's --backfill-hours uses it so a demo shows hourly
 * indices at once. Air and water only (their readings do not depend on the previous one; rain
 * tips and parking events do): CT_E_INVAL for other kinds. Returns 0 (also when the self-check
 * left nothing to send) or the sampler's, encoder's or outbox's error. */
int fw_app_backfill(struct fw_app *app, int64_t sample_ms, int64_t wall_ms);
/* Feeds one transport event (DELIVERED with this app as owner, LOST, CONNECTED). */
void fw_app_on_tx_event(struct fw_app *app, const struct fw_tx_event *ev);
/* Publishes the retained "offline" status (clean shutdown). Returns fw_tx_publish's result. */
int fw_app_publish_offline(struct fw_app *app);
/* Formats this node's status topic and payload (online: with fw version and boot) into the
 * caller's buffers, with the signature of the payload. Returns 0 or CT_E_TOOBIG. */
int fw_app_status(const struct fw_app *app, bool online, char *topic, size_t topic_cap,
                  char *payload, size_t payload_cap, char sig[CT_SIG_HEX_LEN + 1]);
void fw_app_get_stats(const struct fw_app *app, struct fw_app_stats *st);
/* cfg.sensor_node, the caller's per-node context (fleet-sim maps tx events back with it). */
void *fw_app_user(const struct fw_app *app);
/* The app's outbox (borrowed; valid until fw_app_destroy), for statistics. */
const struct fw_outbox *fw_app_outbox(const struct fw_app *app);
void fw_app_destroy(struct fw_app *app);

/* Default outbox bound for a kind and base period: 7 days of readings, at least the floor.
 * Flood counts its wet period (base / 10); rain and parking a reading at every poll (10 s). */
size_t fw_app_default_max_records(enum ct_kind kind, uint32_t interval_ms);

#endif
