/* app_tt10.c - the collector's TT 10/2021 station files (collector/tt10): creates the writer
 * and its outbox from the tt10.* keys, feeds it accepted readings, ticks and closes it. */
#include <string.h>

#include "app_int.h"
#include "col_obs.h"
#include "col_tt10_writer.h"
#include "ct/err.h"

int app_tt10_create(struct col_app *app)
{
    const struct col_config *c = &app->cfg;
    if (c->tt10_out_dir[0] == '\0') {
        return 0;
    }
    struct col_tt10_map map;
    char err[COL_CONFIG_ERR_MAX] = "";
    const char *spec = c->tt10_params[0] != '\0' ? c->tt10_params : col_tt10_map_default_spec();
    if (col_tt10_map_parse(spec, &map, err, sizeof(err)) != 0) {
        col_log(COL_LOG_ERROR, "tt10", "key \"tt10.params\": %s", err);
        return CT_E_INVAL;
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
    wc.max_devices = ct_registry_count(app->registry) + 1024;
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
    int rc = col_tt10_writer_create(app->loop, &wc, &app->tt10, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "tt10", "cannot start the station files: %s", err);
    }
    return rc;
}

void app_tt10_add(struct col_app *app, const struct ct_device *dev, const struct ct_reading *r,
                  const char *qc)
{
    col_tt10_writer_add(app->tt10, dev, r, qc);
}

void app_tt10_tick(struct col_app *app, int64_t now_ms)
{
    col_tt10_writer_tick(app->tt10, now_ms);
}

static void on_closed(void *arg)
{
    struct col_app *app = arg;
    app->open_handles--;
}

void app_tt10_close(struct col_app *app)
{
    if (app->tt10 != NULL) {
        app->open_handles++;
        col_tt10_writer_close(app->tt10, on_closed, app);
        app->tt10 = NULL;
    }
}
