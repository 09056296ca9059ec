/* app_tt10.c - the collector's TT 10/2021 station files (collector/tt10): creates the writer
 * and its outbox from the tt10.* keys, feeds it accepted readings, ticks and closes it; and the
 * watched folder of incoming files, whose readings enter the journal as MQTT messages do.
 *
 * An incoming file becomes one "up" message of its device: the values with status 00 as the
 * payload's members (01 calibrating and 02 fault values are kept out of the validated data and
 * counted in in_flagged), ts the file's time, boot TT10_BOOT and seq the file's minute since
 * the epoch, so the pipeline's (boot, seq) check stores the same measurement once however often
 * the file comes. Signed with the device key when a master key is configured: the file is trusted
 * because the FTP account that uploaded it authenticates the station (docs/tt10.md). */
#include <stdlib.h>
#include <string.h>

#include "app_tt10.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/payload.h"
#include "ct/sig.h"
#include "ct/topic.h"

#define TT10_BOOT 1000000000ull /* the boot number of readings from station files */

struct app_tt10 {
    struct app_tt10_parts p;       /* 'master' not kept: copied below */
    struct col_tt10_writer *tt10;  /* owned; NULL when tt10.out_dir is empty */
    struct col_tt10_in *tt10_in;   /* owned; NULL when tt10.in_dir is empty */
    uint8_t master[256];           /* master key: signs incoming files' readings */
    size_t master_len;             /* 0: files' readings are not signed */
    struct app_tt10_counts counts; /* read by /metrics */
    uint64_t closed_low;           /* app_tt10_low_water at the writer's close; 0: none */
    int closing;                   /* parts not yet closed (app_tt10_close) */
};

/* The file moves to .done only once on_ack reports its message in the journal
 * (COL_INTAKE_TOKEN_LOCAL | ticket; app_tt10_durable), so a crash cannot lose its reading. */
static int on_file(void *arg, const struct ct_device *dev, const struct ct_reading *in,
                   const enum col_tt10_status *status, const char *file, uint64_t ticket)
{
    struct app_tt10 *t = arg;
    struct ct_reading r = *in;
    r.n = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (status[i] == COL_TT10_MEASURING) {
            r.values[r.n++] = in->values[i];
        } else {
            t->counts.in_flagged++;
        }
    }
    if (r.n == 0) {
        return COL_TT10_IN_DONE; /* nothing to store */
    }
    if (t->p.intake == NULL) {
        return CT_E_STATE;
    }
    r.boot = TT10_BOOT;
    r.seq = (uint64_t)(in->ts_ms / 60000);
    char topic[CT_TOPIC_MAX + 1], sig[CT_SIG_HEX_LEN + 1] = "";
    char mem[CT_PAYLOAD_MAX + 1];
    struct ct_buf payload;
    ct_buf_init_fixed(&payload, mem, sizeof(mem));
    int rc = ct_topic_format(CT_TOPIC_UP, dev->kind, dev->id, topic, sizeof(topic));
    if (rc == 0) {
        rc = ct_payload_encode(&r, &payload);
    }
    if (rc == 0 && t->master_len > 0) {
        uint8_t key[CT_KEY_LEN];
        rc = ct_sig_device_key(t->master, t->master_len, dev->id, key);
        if (rc == 0) {
            rc = ct_sig_sign(key, topic, strlen(topic), payload.p, payload.len, sig);
        }
        memset(key, 0, sizeof(key));
    }
    if (rc == 0) {
        rc = col_intake_add(t->p.intake, topic, strlen(topic), sig, strlen(sig), payload.p,
                            payload.len, col_now_ms(), COL_INTAKE_TOKEN_LOCAL | ticket);
    }
    if (rc != 0) {
        t->counts.in_refused++;
        col_log(COL_LOG_WARN, "tt10", "station file %s not taken (left for a later scan): %s", file,
                ct_strerror(rc));
        return rc;
    }
    return COL_TT10_IN_WAIT;
}

void app_tt10_durable(struct app_tt10 *t, uint64_t ticket)
{
    if (t != NULL && t->tt10_in != NULL) {
        col_tt10_in_durable(t->tt10_in, ticket);
    }
}

static int create_in(struct app_tt10 *t, const struct col_tt10_map *map,
                     const struct ct_registry *reg)
{
    const struct col_config *c = t->p.cfg;
    struct col_tt10_in_cfg ic = {
        .dir = c->tt10_in_dir,
        .map = map,
        .settle_ms = 2000,
        .poll_ms = 5000,
        .batch = 512,
        .keep_ms = c->tt10_retention_ms, /* .done and .quarantine: as long as the outbox */
        .prune_interval_ms = 3600 * 1000,
        .cb = on_file,
        .arg = t,
    };
    col_tt10_fmt_default(&ic.fmt);
    ic.fmt.utc_offset_min = (int)c->tt10_utc_offset_min;
    ic.fmt.accept_lf = c->tt10_eol == COL_CFG_EOL_LF;
    char err[COL_CONFIG_ERR_MAX] = "";
    int rc = col_tt10_in_create(t->p.loop, &ic, reg, &t->tt10_in, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "tt10", "cannot watch incoming station files: %s", err);
    }
    return rc;
}

void app_tt10_registry(struct app_tt10 *t, const struct ct_registry *reg)
{
    if (t != NULL && t->tt10_in != NULL) {
        col_tt10_in_registry(t->tt10_in, reg);
    }
}

/* The writer and the watcher of incoming files, as the tt10.* keys ask. */
static int create_parts(struct app_tt10 *t, const struct ct_registry *reg)
{
    const struct col_config *c = t->p.cfg;
    struct col_tt10_map map;
    char err[COL_CONFIG_ERR_MAX] = "";
    const char *spec = c->tt10_params[0] != '\0' ? c->tt10_params : col_tt10_map_default_spec();
    if (col_tt10_map_parse(spec, &map, err, sizeof(err)) != 0) {
        col_log(COL_LOG_ERROR, "tt10", "key \"tt10.params\": %s", err);
        return CT_E_INVAL;
    }
    if (c->tt10_in_dir[0] != '\0') {
        int rc = create_in(t, &map, reg);
        if (rc != 0) {
            return rc;
        }
    }
    if (c->tt10_out_dir[0] == '\0') {
        return 0;
    }
    struct col_tt10_writer_cfg wc;
    memset(&wc, 0, sizeof(wc));
    col_tt10_fmt_default(&wc.fmt);
    wc.fmt.utc_offset_min = (int)c->tt10_utc_offset_min;
    wc.fmt.decimals = (int)c->tt10_decimals;
    wc.fmt.eol = c->tt10_eol == COL_CFG_EOL_LF ? "\n" : "\r\n";
    wc.fmt.accept_lf = c->tt10_eol == COL_CFG_EOL_LF;
    wc.map = &map;
    wc.interval_ms = c->tt10_interval_ms;
    wc.grace_ms = c->tt10_grace_ms;
    wc.max_devices = ct_registry_count(reg) + 1024;
    wc.out = (struct col_tt10_out_cfg){
        .dir = c->tt10_out_dir,
        .receivers = c->tt10_receivers,
        .ca_file = c->tt10_ca_file,
        .tls_verify = c->tt10_tls_verify,
        .ssh_private_key = c->tt10_ssh_private_key,
        .ssh_public_key = c->tt10_ssh_public_key,
        .ssh_known_hosts = c->tt10_ssh_known_hosts,
        .fsync = true,
        .retention_ms = c->tt10_retention_ms,
        .prune_interval_ms = 3600 * 1000,
        .retry_base_ms = 1000,
        .retry_max_ms = 60000,
        .timeout_ms = 30000,
        .parallel = (uint32_t)c->tt10_parallel,
        .batch = 256,
        .max_puts = 4 * wc.max_devices,
    };
    int rc = col_tt10_writer_create(t->p.loop, &wc, &t->tt10, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "tt10", "cannot start the station files: %s", err);
    }
    return rc;
}

int app_tt10_create(const struct app_tt10_parts *parts, const struct ct_registry *reg,
                    struct app_tt10 **out)
{
    struct app_tt10 *t = calloc(1, sizeof(*t));
    int rc;

    *out = NULL;
    if (t == NULL) {
        return CT_E_NOMEM;
    }
    t->p = *parts;
    t->p.master = NULL;
    t->master_len =
        parts->master != NULL && parts->master_len <= sizeof(t->master) ? parts->master_len : 0;
    if (t->master_len > 0) {
        memcpy(t->master, parts->master, t->master_len);
    }
    /* Set on failure too: a watcher opened before the writer failed is closed by
     * app_tt10_close. */
    *out = t;
    rc = create_parts(t, reg);
    return rc;
}

struct col_tt10_writer *app_tt10_writer(const struct app_tt10 *t)
{
    return t != NULL ? t->tt10 : NULL;
}

struct col_tt10_in *app_tt10_in(const struct app_tt10 *t)
{
    return t != NULL ? t->tt10_in : NULL;
}

const struct app_tt10_counts *app_tt10_counts(const struct app_tt10 *t)
{
    return t != NULL ? &t->counts : NULL;
}

void app_tt10_add(struct app_tt10 *t, const struct ct_device *dev, const struct ct_reading *r,
                  const char *qc, uint64_t mark)
{
    if (t != NULL && t->tt10 != NULL) {
        col_tt10_writer_add(t->tt10, dev, r, qc, mark);
    }
}

uint64_t app_tt10_low_water(const struct app_tt10 *t)
{
    if (t == NULL) {
        return UINT64_MAX;
    }
    if (t->tt10 != NULL) {
        return col_tt10_writer_low_water(t->tt10);
    }
    return t->closed_low != 0 ? t->closed_low : UINT64_MAX;
}

void app_tt10_tick(struct app_tt10 *t, int64_t now_ms)
{
    if (t != NULL && t->tt10 != NULL) {
        col_tt10_writer_tick(t->tt10, now_ms);
    }
}

static void on_closed(void *arg)
{
    struct app_tt10 *t = arg;

    if (--t->closing == 0) {
        t->p.on_closed(t->p.arg);
    }
}

void app_tt10_close(struct app_tt10 *t)
{
    if (t == NULL) {
        return;
    }
    t->closing = 1; /* held until both parts were asked to close */
    if (t->tt10_in != NULL) {
        t->closing++;
        col_tt10_in_close(t->tt10_in, on_closed, t);
        t->tt10_in = NULL;
    }
    if (t->tt10 != NULL) {
        /* Kept for the final commit: the open intervals' records stay in the journal. */
        t->closed_low = col_tt10_writer_low_water(t->tt10);
        t->closing++;
        col_tt10_writer_close(t->tt10, on_closed, t);
        t->tt10 = NULL;
    }
    on_closed(t);
}

void app_tt10_free(struct app_tt10 *t)
{
    if (t == NULL) {
        return;
    }
    memset(t->master, 0, sizeof(t->master));
    free(t);
}
