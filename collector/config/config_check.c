/* config_check.c - the cross-field check, value comparison and formatting, reload differences
 * and the documentation table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_config.h"
#include "config_internal.h"
#include "ct/err.h"

static int bad(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errcap, const char *fmt, ...)
{
    if (err != NULL && errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return CT_E_INVAL;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool id_chars(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

int col_config_check(const struct col_config *c, char *err, size_t errcap)
{
    if (!id_chars(c->collector_instance, 32)) {
        return bad(err, errcap,
                   "key \"collector.instance\" (at $.collector.instance): expected 1..32 "
                   "characters of [a-z0-9-]");
    }
    static const char *const mqtt_schemes[] = {"tcp://",   "ssl://", "mqtt://",
                                               "mqtts://", "ws://",  "wss://"};
    bool scheme_ok = false;
    for (size_t i = 0; i < sizeof(mqtt_schemes) / sizeof(mqtt_schemes[0]); i++) {
        scheme_ok = scheme_ok || starts_with(c->mqtt_uri, mqtt_schemes[i]);
    }
    if (!scheme_ok) {
        return bad(err, errcap,
                   "key \"mqtt.uri\" (at $.mqtt.uri): expected tcp://, ssl://, mqtt://, mqtts://, "
                   "ws:// or wss://");
    }
    if (c->mqtt_password[0] != '\0' && c->mqtt_password_file[0] != '\0') {
        return bad(err, errcap,
                   "keys \"mqtt.password\" and \"mqtt.password_file\": set at most one");
    }
    if ((c->mqtt_cert_file[0] == '\0') != (c->mqtt_key_file[0] == '\0')) {
        return bad(err, errcap,
                   "keys \"mqtt.cert_file\" and \"mqtt.key_file\": set both or neither");
    }
    if (86400000 % c->tt10_interval_ms != 0) {
        return bad(err, errcap, "key \"tt10.interval\" (at $.tt10.interval): must divide a day");
    }
    if (c->ogc_base_url[0] != '\0' && (strncmp(c->ogc_base_url, "http", 4) != 0 ||
                                       strpbrk(c->ogc_base_url, "\r\n\t \"<>") != NULL ||
                                       c->ogc_base_url[strlen(c->ogc_base_url) - 1] == '/')) {
        return bad(err, errcap,
                   "key \"ogc.base_url\" (at $.ogc.base_url): expected http:// or https:// "
                   "and a host, no spaces or quotes, no trailing '/'");
    }
    if (c->tt10_receivers[0] != '\0' && c->tt10_out_dir[0] == '\0') {
        return bad(err, errcap, "key \"tt10.receivers\" needs \"tt10.out_dir\" (the outbox)");
    }
    if (strpbrk(c->mqtt_share_group, "/+#") != NULL) {
        return bad(err, errcap,
                   "key \"mqtt.share_group\" (at $.mqtt.share_group): must not contain '/', '+' "
                   "or '#'");
    }
    if (c->security_require_signatures && c->security_master_key_file[0] == '\0' &&
        c->security_master_key_env[0] == '\0') {
        return bad(err, errcap,
                   "key \"security.require_signatures\": needs security.master_key_file or "
                   "security.master_key_env");
    }
    if (!starts_with(c->influx_url, "http://") && !starts_with(c->influx_url, "https://")) {
        return bad(err, errcap,
                   "key \"influx.url\" (at $.influx.url): expected http:// or https://");
    }
    if (c->influx_api == 1 && c->influx_db[0] == '\0') {
        return bad(err, errcap,
                   "key \"influx.db\" (at $.influx.db): required when influx.api is 1");
    }
    if (c->influx_api == 2 && (c->influx_org[0] == '\0' || c->influx_bucket[0] == '\0')) {
        return bad(err, errcap,
                   "keys \"influx.org\" and \"influx.bucket\": required when influx.api is 2");
    }
    if (c->influx_retry_base_ms > c->influx_retry_max_ms) {
        return bad(err, errcap,
                   "key \"influx.retry_base_ms\" (at $.influx.retry_base_ms): must not exceed "
                   "influx.retry_max_ms");
    }
    if (c->influx_batch_max_bytes > c->influx_max_pending_bytes) {
        return bad(err, errcap,
                   "key \"influx.batch_max_bytes\" (at $.influx.batch_max_bytes): must not exceed "
                   "influx.max_pending_bytes");
    }
    if (c->spool_segment_bytes > c->spool_max_bytes) {
        return bad(err, errcap,
                   "key \"spool.segment_bytes\" (at $.spool.segment_bytes): must not exceed "
                   "spool.max_bytes");
    }
    if (c->spool_dir[0] == '\0') {
        return bad(err, errcap, "key \"spool.dir\" (at $.spool.dir): required");
    }
    if (c->registry_path[0] == '\0') {
        return bad(err, errcap, "key \"registry.path\" (at $.registry.path): required");
    }
    return 0;
}

bool col_config_key_equal(const struct col_cfg_key *k, const struct col_config *a,
                          const struct col_config *b)
{
    const char *pa = (const char *)a + k->offset;
    const char *pb = (const char *)b + k->offset;
    switch (k->type) {
    case COL_CFG_STRING:
        return strcmp(*(char *const *)(const void *)pa, *(char *const *)(const void *)pb) == 0;
    case COL_CFG_INT:
    case COL_CFG_DURATION:
    case COL_CFG_SIZE:
        return *(const int64_t *)(const void *)pa == *(const int64_t *)(const void *)pb;
    case COL_CFG_DOUBLE:
        return *(const double *)(const void *)pa == *(const double *)(const void *)pb;
    case COL_CFG_BOOL:
        return *(const bool *)(const void *)pa == *(const bool *)(const void *)pb;
    case COL_CFG_ENUM:
        return *(const int *)(const void *)pa == *(const int *)(const void *)pb;
    }
    return false;
}

/* Writes the n-th choice of "a|b|c". */
static int enum_name(const char *choices, int idx, char *buf, size_t cap)
{
    const char *p = choices;
    for (int i = 0; i < idx && p != NULL; i++) {
        p = strchr(p, '|');
        p = p != NULL ? p + 1 : NULL;
    }
    if (p == NULL) {
        p = "?";
    }
    const char *bar = strchr(p, '|');
    int len = bar != NULL ? (int)(bar - p) : (int)strlen(p);
    return snprintf(buf, cap, "\"%.*s\"", len, p);
}

/* Appends 's' as a JSON string literal. */
static int json_string(const char *s, char *buf, size_t cap)
{
    struct ct_buf b;
    ct_buf_init_fixed(&b, buf, cap);
    return ct_buf_add_json_str(&b, s, strlen(s));
}

int col_config_format_value(const struct col_cfg_key *k, const struct col_config *cfg, char *buf,
                            size_t cap)
{
    if (cap == 0) {
        return CT_E_TOOBIG;
    }
    const char *p = (const char *)cfg + k->offset;
    int n = 0;
    switch (k->type) {
    case COL_CFG_STRING:
        if (k->secret && (*(char *const *)(const void *)p)[0] != '\0') {
            n = snprintf(buf, cap, "\"***\"");
            break;
        }
        return json_string(*(char *const *)(const void *)p, buf, cap) == 0 ? 0 : CT_E_TOOBIG;
    case COL_CFG_INT:
    case COL_CFG_DURATION:
    case COL_CFG_SIZE:
        n = snprintf(buf, cap, "%lld", (long long)*(const int64_t *)(const void *)p);
        break;
    case COL_CFG_DOUBLE:
        n = snprintf(buf, cap, "%.17g", *(const double *)(const void *)p);
        break;
    case COL_CFG_BOOL:
        n = snprintf(buf, cap, "%s", *(const bool *)(const void *)p ? "true" : "false");
        break;
    case COL_CFG_ENUM:
        n = enum_name(k->choices, *(const int *)(const void *)p, buf, cap);
        break;
    }
    return n >= 0 && (size_t)n < cap ? 0 : CT_E_TOOBIG;
}

void col_config_diff(const struct col_config *cur, const struct col_config *next,
                     struct col_config_diff *diff)
{
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    diff->nrefused = 0;
    diff->napply = 0;
    for (size_t i = 0; i < n && i < COL_CONFIG_MAX_KEYS; i++) {
        if (col_config_key_equal(&keys[i], cur, next)) {
            continue;
        }
        if (keys[i].reloadable) {
            diff->apply[diff->napply++] = &keys[i];
        } else {
            diff->refused[diff->nrefused++] = &keys[i];
        }
    }
}

int col_config_reload(const struct col_config *cur, const char *path, struct col_config *next,
                      struct col_config_diff *diff, char *err, size_t errcap)
{
    int rc = col_config_load(path, next, err, errcap);
    if (rc != 0) {
        return rc;
    }
    col_config_diff(cur, next, diff);
    return 0;
}

void col_config_apply_reloadable(struct col_config *cur, struct col_config *next)
{
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (!keys[i].reloadable) {
            continue;
        }
        char *a = (char *)cur + keys[i].offset;
        char *b = (char *)next + keys[i].offset;
        size_t size = 0;
        switch (keys[i].type) {
        case COL_CFG_STRING: {
            /* Swap, so that 'next' frees the old string. */
            char *tmp = *(char **)(void *)a;
            *(char **)(void *)a = *(char **)(void *)b;
            *(char **)(void *)b = tmp;
            continue;
        }
        case COL_CFG_INT:
        case COL_CFG_DURATION:
        case COL_CFG_SIZE:
            size = sizeof(int64_t);
            break;
        case COL_CFG_DOUBLE:
            size = sizeof(double);
            break;
        case COL_CFG_BOOL:
            size = sizeof(bool);
            break;
        case COL_CFG_ENUM:
            size = sizeof(int);
            break;
        }
        memcpy(a, b, size);
    }
}

static const char *type_name(enum col_cfg_type t)
{
    static const char *const names[] = {"string", "int",      "double", "bool",
                                        "enum",   "duration", "size"};
    return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* A bound in the unit of its type. */
static int add_bound(struct ct_buf *out, enum col_cfg_type t, double v)
{
    if (t == COL_CFG_DOUBLE) {
        return ct_buf_printf(out, "%g", v);
    }
    return ct_buf_printf(out, "%.0f%s", v,
                         t == COL_CFG_DURATION ? " ms" : (t == COL_CFG_SIZE ? " B" : ""));
}

/* Table cells must not break the Markdown row nor read as HTML. */
static int add_cell(struct ct_buf *out, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p != '\0' && rc == 0; p++) {
        if (*p == '|') {
            rc = ct_buf_adds(out, "\\|");
        } else if (*p == '<') {
            rc = ct_buf_adds(out, "&lt;");
        } else if (*p == '>') {
            rc = ct_buf_adds(out, "&gt;");
        } else {
            rc = ct_buf_add(out, p, 1);
        }
    }
    return rc;
}

int col_config_doc(struct ct_buf *out)
{
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    int rc = ct_buf_adds(
        out,
        "# Collector configuration\n\n"
        "Generated by `collector-config-doc` from the key table in "
        "`collector/config/config_table.c`; do not edit by hand.\n\n"
        "The file is JSON: an object of groups, each an object of keys, so `mqtt.uri` is written "
        "`{\"mqtt\": {\"uri\": \"tcp://broker:1883\"}}`. Unknown keys, wrong types and values out "
        "of range are errors naming the key and its JSON path; absent keys take their default. "
        "A *duration* is an integer of milliseconds or a string `<n><unit>` with unit `ms`, `s`, "
        "`m`, `h` or `d`; a *size* is an integer of bytes or a string `<n><unit>` with unit `B`, "
        "`KiB`, `MiB`, `GiB` or `TiB`. Keys marked *reload* take effect on SIGHUP, each logged "
        "`reload: <key> changed and applied`; a change of any other key is kept out by a reload, "
        "logged `reload: <key> changed; needs a restart; kept`. A reload whose file is "
        "invalid leaves the running configuration in force. See "
        "`config/collector.example.json`.\n\n"
        "**Adding a station** needs no restart: append its line to the registry file "
        "(`registry.path`, JSON Lines: `id`, `kind`, `name`, `lat`, `lon`, `district`, `ward`) "
        "and send SIGHUP (`systemctl reload citytel-collector`, or `kill -HUP <pid>`). The "
        "collector reads the registry again while readings keep flowing and logs `reloaded: "
        "<n> devices, <m> config change(s) applied`; the station's readings are accepted from "
        "then on (before, they were rejected as `unknown_device`). A registry with an error is "
        "refused, naming the file and line, and the running registry stays; check a change "
        "first with `collector check-config -c <config>` (tests/e2e/test_reload.py, "
        "tests/e2e/test_check_config.py).\n\n"
        "| Key | Type | Default | Range / choices | Reload | Description |\n"
        "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct col_cfg_key *k = &keys[i];
        rc = ct_buf_printf(out, "| `%s` | %s | ", k->name, type_name(k->type));
        if (rc == 0) {
            rc = k->def[0] != '\0' ? ct_buf_printf(out, "`%s`", k->def) : ct_buf_adds(out, "\"\"");
        }
        if (rc == 0) {
            rc = ct_buf_adds(out, " | ");
        }
        if (rc == 0 && k->type == COL_CFG_ENUM) {
            rc = add_cell(out, k->choices);
        } else if (rc == 0 && k->type != COL_CFG_STRING && k->type != COL_CFG_BOOL) {
            rc = add_bound(out, k->type, k->min);
            if (rc == 0) {
                rc = ct_buf_adds(out, " .. ");
            }
            if (rc == 0) {
                rc = add_bound(out, k->type, k->max);
            }
        }
        if (rc == 0) {
            rc = ct_buf_printf(out, " | %s | ", k->reloadable ? "reload" : "restart");
        }
        if (rc == 0) {
            rc = add_cell(out, k->desc);
        }
        if (rc == 0) {
            rc = ct_buf_adds(out, " |\n");
        }
    }
    return rc;
}
