/* col_config.h - the collector's configuration: one declarative table of keys, one engine.
 *
 * The file is JSON: an object of groups, each an object of keys ({"mqtt": {"uri": "..."}}), so
 * the key "mqtt.uri" lives at the JSON path $.mqtt.uri. Every key has one row in the table
 * (col_config_keys()): dotted name, type, default, range or choices, the offset of its field in
 * struct col_config, whether a SIGHUP reload may change it, and a description. The engine loads
 * a file, rejects unknown keys and wrong types or ranges with a message naming the key and its
 * JSON path, applies the defaults of absent keys, runs the cross-field check, prints the
 * documentation table (docs/config.md, by the program collector-config-doc) and computes reload
 * differences.
 *
 * Value types and their field types in struct col_config:
 *   string    char * (owned by the struct; never NULL after a successful load, "" when unset)
 *   int       int64_t, JSON integer within [min, max]
 *   double    double, finite JSON number within [min, max]
 *   bool      bool, JSON true/false
 *   enum      int, index into the key's choices ("error|warn|info|debug": error = 0)
 *   duration  int64_t milliseconds: a JSON integer (milliseconds) or a string "<n><unit>" with
 *             unit ms, s, m, h or d ("200ms", "30s", "7d")
 *   size      int64_t bytes: a JSON integer (bytes) or a string "<n><unit>" with unit B, KiB,
 *             MiB, GiB or TiB ("64MiB")
 *
 * Threading: everything here is pure computation on caller memory plus file reads; call from the
 * loop thread (at start-up and on SIGHUP). No global state. */
#ifndef COL_CONFIG_H
#define COL_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/buf.h"

#define COL_CONFIG_FILE_MAX (1024 * 1024) /* a config file larger than this is refused */
#define COL_CONFIG_STRING_MAX 4096        /* bytes of one string value; longer is refused */
#define COL_CONFIG_ERR_MAX 512            /* an err buffer of this size holds any message */

enum col_cfg_type {
    COL_CFG_STRING = 0,
    COL_CFG_INT,
    COL_CFG_DOUBLE,
    COL_CFG_BOOL,
    COL_CFG_ENUM,
    COL_CFG_DURATION,
    COL_CFG_SIZE
};

/* Enum keys: the values are the indices of the choices in the table. The log levels have the
 * order of enum col_log_level (col_obs.h), so a cast converts them. */
enum col_cfg_log_level {
    COL_CFG_LOG_ERROR = 0,
    COL_CFG_LOG_WARN,
    COL_CFG_LOG_INFO,
    COL_CFG_LOG_DEBUG
};
enum col_cfg_precision { COL_CFG_PREC_S = 0, COL_CFG_PREC_MS, COL_CFG_PREC_US, COL_CFG_PREC_NS };
enum col_cfg_fsync { COL_CFG_FSYNC_ALWAYS = 0, COL_CFG_FSYNC_INTERVAL, COL_CFG_FSYNC_NONE };
enum col_cfg_full_policy { COL_CFG_FULL_BLOCK = 0, COL_CFG_FULL_DROP_OLDEST };
enum col_cfg_eol { COL_CFG_EOL_CRLF = 0, COL_CFG_EOL_LF };
enum col_cfg_role { COL_CFG_ROLE_ALL = 0, COL_CFG_ROLE_INGEST, COL_CFG_ROLE_LAYERS };

struct col_config {
    char *collector_instance; /* [a-z0-9-]{1,32}; "" in the file = derived from the host name */
    int collector_role;       /* enum col_cfg_role */
    int log_level;            /* enum col_cfg_log_level */

    char *mqtt_uri;
    char *mqtt_client_id; /* "" in the file = "citytel-collector-<instance>" */
    char *mqtt_username;
    char *mqtt_password;
    char *mqtt_password_file;
    char *mqtt_share_group; /* "" = no shared subscription */
    int64_t mqtt_qos;
    int64_t mqtt_keepalive_s;
    int64_t mqtt_session_expiry_s;
    char *mqtt_ca_file;
    char *mqtt_cert_file;
    char *mqtt_key_file;
    int64_t mqtt_silence_reconnect_s;

    int64_t mqtt_receive_max;
    int64_t spool_min_free_bytes;
    int64_t ingest_group_max_records;
    int64_t ingest_group_max_bytes;

    char *registry_path;

    bool security_require_signatures;
    char *security_master_key_file;
    char *security_master_key_env;
    char *security_previous_master_key_file;

    int64_t validate_future_ms;
    int64_t validate_backlog_ms;
    int64_t validate_replay_window;

    int store_kind; /* 0 influxdb, 1 victoriametrics (enum col_storeq_kind) */
    char *store_query_url;
    char *influx_url;
    int64_t influx_api;
    char *influx_db;
    char *influx_rp;
    char *influx_username;
    char *influx_password;
    char *influx_org;
    char *influx_bucket;
    char *influx_token;
    int influx_precision; /* enum col_cfg_precision */
    bool influx_gzip;
    int64_t influx_batch_max_points;
    int64_t influx_batch_max_bytes;
    int64_t influx_flush_ms;
    int64_t influx_max_inflight;
    int64_t influx_connect_timeout_ms;
    int64_t influx_timeout_ms;
    int64_t influx_max_pending_bytes;
    int64_t influx_retry_base_ms;
    int64_t influx_retry_max_ms;

    char *spool_dir;
    int64_t spool_max_bytes;
    int64_t spool_segment_bytes;
    int spool_fsync; /* enum col_cfg_fsync */
    int64_t spool_fsync_interval_ms;
    int spool_full_policy; /* enum col_cfg_full_policy */

    char *quarantine_path;
    int64_t quarantine_max_bytes;
    int64_t quarantine_files;

    int64_t aggregate_window_s;
    int64_t aggregate_update_s;
    int64_t liveness_stale_intervals;

    char *http_listen;
    int64_t http_port; /* 0 = any free port; the bound one goes to http_port_file when set */
    char *http_port_file;
    int64_t http_max_request_bytes;
    int64_t http_max_connections;
    int64_t http_timeout_ms;
    double http_rate_per_client; /* requests per second per client address; 0 = unlimited */
    int64_t http_max_connections_per_client; /* 0 = no cap */
    char *http_staff_listen;                 /* the staff listener: /healthz, /metrics */
    int64_t http_staff_port;
    char *http_staff_port_file;
    int64_t http_staff_max_connections;

    char *console_users_file; /* the staff console (collector/console); "" = no console */
    int64_t console_session_idle_ms;
    int64_t console_session_max_ms;
    int64_t console_max_sessions;
    int64_t console_max_failures;
    int64_t console_lockout_ms;
    bool console_cookie_secure;
    char *console_limits;
    double console_approach;
    int64_t console_recompute_after_ms;

    char *map_dir;
    char *map_tile_url;
    char *map_tile_attribution;
    int64_t layers_refresh_ms;
    char *ogc_base_url; /* "" = links from the request's headers */

    char *tt10_out_dir; /* "" = no station files */
    char *tt10_receivers;
    char *tt10_ca_file;
    bool tt10_tls_verify;
    char *tt10_ssh_private_key;
    char *tt10_ssh_public_key;
    char *tt10_ssh_known_hosts;
    int64_t tt10_retention_ms;
    int64_t tt10_interval_ms;
    int64_t tt10_grace_ms; /* 0 = a quarter of the interval, at least 10 s */
    int64_t tt10_utc_offset_min;
    int64_t tt10_decimals;
    int tt10_eol; /* enum col_cfg_eol */
    char *tt10_params;
    int64_t tt10_parallel;
    char *tt10_in_dir; /* "" = no incoming files */
};

/* One row of the table. */
struct col_cfg_key {
    const char *name; /* dotted, "group.key" */
    enum col_cfg_type type;
    const char *def; /* default, in the file's string syntax ("7d", "1GiB", "true", "info") */
    double min;      /* int, double, duration (ms), size (bytes): inclusive bounds */
    double max;
    const char *choices; /* enum: "a|b|c" */
    size_t offset;       /* of the field in struct col_config */
    bool reloadable;     /* a SIGHUP reload may change it */
    bool secret;         /* printed as "***" when set (config_check.c) */
    const char *desc;    /* one sentence for the documentation */
};

/* The table, in documentation order; *count receives its length. Static storage. */
const struct col_cfg_key *col_config_keys(size_t *count);
/* The row named 'name' (dotted), or NULL. */
const struct col_cfg_key *col_config_key(const char *name);

/* Fills *cfg (overwritten, not freed) with every default, then derives collector.instance and
 * mqtt.client_id. Returns 0, or CT_E_NOMEM with *cfg zeroed. The caller frees with
 * col_config_free(). */
int col_config_defaults(struct col_config *cfg);
/* Parses 'len' bytes of JSON text on top of the defaults, then runs col_config_check(). 'origin'
 * names the source in messages. On success returns 0 and *cfg owns its strings (free with
 * col_config_free()). On error returns CT_E_PARSE (syntax: "<origin>:<line>:<col>: malformed
 * JSON"), CT_E_INVAL (unknown key, wrong type or range, failed cross-check: the message names the
 * key and its JSON path), or CT_E_NOMEM; *cfg is then zeroed and owns nothing. */
int col_config_parse(const char *text, size_t len, const char *origin, struct col_config *cfg,
                     char *err, size_t errcap);
/* Reads 'path' (at most COL_CONFIG_FILE_MAX bytes) and calls col_config_parse(). Also returns
 * CT_E_IO (cannot read) or CT_E_TOOBIG. Same ownership as col_config_parse(). */
int col_config_load(const char *path, struct col_config *cfg, char *err, size_t errcap);
/* Cross-field rules (influx api 1 needs db, api 2 needs org and bucket, retry_base <= retry_max,
 * segment <= spool size, batch <= pending bytes, signatures need a key source, password and
 * password_file not both, cert_file with key_file, url schemes, instance and share group
 * syntax, required registry.path and spool.dir).
 * Returns 0 or CT_E_INVAL with a message naming the key(s). Borrows cfg. */
int col_config_check(const struct col_config *cfg, char *err, size_t errcap);
/* Frees the strings and zeroes *cfg; accepts NULL and a zeroed struct. */
void col_config_free(struct col_config *cfg);

/* True when key 'k' has the same value in 'a' and 'b'. */
bool col_config_key_equal(const struct col_cfg_key *k, const struct col_config *a,
                          const struct col_config *b);
/* Writes key k's value of cfg in the file syntax (strings quoted as JSON, secrets as "***") into
 * buf (always NUL-terminated when cap > 0). Returns 0 or CT_E_TOOBIG (truncated). */
int col_config_format_value(const struct col_cfg_key *k, const struct col_config *cfg, char *buf,
                            size_t cap);

#define COL_CONFIG_MAX_KEYS 128 /* the table has fewer rows; a unit test checks it */

/* Result of comparing a running config with a newly loaded one. */
struct col_config_diff {
    size_t nrefused; /* changed keys that need a restart */
    const struct col_cfg_key *refused[COL_CONFIG_MAX_KEYS];
    size_t napply; /* changed keys that a reload applies */
    const struct col_cfg_key *apply[COL_CONFIG_MAX_KEYS];
};

/* Compares every key of 'cur' and 'next' (both borrowed) into *diff. */
void col_config_diff(const struct col_config *cur, const struct col_config *next,
                     struct col_config_diff *diff);
/* SIGHUP: loads 'path' into *next (like col_config_load()) and fills *diff against 'cur'. On
 * error *next is zeroed, the caller keeps 'cur' in force and err says why. */
int col_config_reload(const struct col_config *cur, const char *path, struct col_config *next,
                      struct col_config_diff *diff, char *err, size_t errcap);
/* Moves the values of the reloadable keys from 'next' into 'cur' (strings change owner; the old
 * ones are freed). Non-reloadable keys of 'cur' stay. 'next' still needs col_config_free(). */
void col_config_apply_reloadable(struct col_config *cur, struct col_config *next);

/* Appends the Markdown documentation (a table of every key) to 'out'. Returns 0, CT_E_TOOBIG or
 * CT_E_NOMEM. */
int col_config_doc(struct ct_buf *out);

#endif
