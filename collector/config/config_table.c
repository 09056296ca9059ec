/* config_table.c - the one table of configuration keys (see col_config.h for the types).
 *
 * Each row's field offset goes through FIELD(), which also checks at compile time that the
 * struct field has the C type the row's value type stores into. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "col_config.h"

#define FIELD(f, T)                                                                                \
    (offsetof(struct col_config, f) +                                                              \
     0 * sizeof(char[_Generic(((struct col_config *)0)->f, T : 1, default                          \
                              : -1)]))

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * 1024.0 * 1024.0)
#define DAY_MS (86400.0 * 1000.0)

/* Rows: name, type, default, min, max, choices, offset, reloadable, secret, description. */
#define S(n, f, d, rl, desc)                                                                       \
    {                                                                                              \
        n, COL_CFG_STRING, d, 0, 0, NULL, FIELD(f, char *), rl, false, desc                        \
    }
#define SECRET(n, f, desc)                                                                         \
    {                                                                                              \
        n, COL_CFG_STRING, "", 0, 0, NULL, FIELD(f, char *), false, true, desc                     \
    }
#define I(n, f, d, lo, hi, rl, desc)                                                               \
    {                                                                                              \
        n, COL_CFG_INT, d, lo, hi, NULL, FIELD(f, int64_t), rl, false, desc                        \
    }
#define D(n, f, d, lo, hi, rl, desc)                                                               \
    {                                                                                              \
        n, COL_CFG_DOUBLE, d, lo, hi, NULL, FIELD(f, double), rl, false, desc                      \
    }
#define B(n, f, d, rl, desc)                                                                       \
    {                                                                                              \
        n, COL_CFG_BOOL, d, 0, 1, NULL, FIELD(f, bool), rl, false, desc                            \
    }
#define E(n, f, d, ch, rl, desc)                                                                   \
    {                                                                                              \
        n, COL_CFG_ENUM, d, 0, 0, ch, FIELD(f, int), rl, false, desc                               \
    }
#define MS(n, f, d, lo, hi, rl, desc)                                                              \
    {                                                                                              \
        n, COL_CFG_DURATION, d, lo, hi, NULL, FIELD(f, int64_t), rl, false, desc                   \
    }
#define SZ(n, f, d, lo, hi, rl, desc)                                                              \
    {                                                                                              \
        n, COL_CFG_SIZE, d, lo, hi, NULL, FIELD(f, int64_t), rl, false, desc                       \
    }

static const struct col_cfg_key keys[] = {
    S("collector.instance", collector_instance, "", false,
      "Name of this collector in logs, metrics and the MQTT client id; [a-z0-9-]{1,32}. Empty: "
      "derived from the host name (\"c1\" when that is unusable)."),
    E("collector.role", collector_role, "all", "all|ingest|layers", false,
      "What this collector does: all; ingest (MQTT to the store, with /healthz and /metrics, no "
      "public layers); layers (serves the map and layers from the store, no MQTT), so a city "
      "scales the public map apart from ingest."),
    E("log.level", log_level, "info", "error|warn|info|debug", true,
      "Lowest level of log lines written to stderr."),

    S("mqtt.uri", mqtt_uri, "tcp://127.0.0.1:1883", false,
      "Broker URI: tcp://, ssl://, mqtt://, mqtts://, ws:// or wss://."),
    S("mqtt.client_id", mqtt_client_id, "", false,
      "MQTT client id; must be unique per collector. Empty: citytel-collector-<instance>."),
    S("mqtt.username", mqtt_username, "", false, "Broker user name; empty for none."),
    SECRET("mqtt.password", mqtt_password,
           "Broker password; prefer mqtt.password_file. Never logged."),
    S("mqtt.password_file", mqtt_password_file, "", false,
      "File whose first line is the broker password (exclusive with mqtt.password)."),
    S("mqtt.share_group", mqtt_share_group, "", false,
      "Shared subscription group: subscribe to $share/<group>/... so that collectors of one group "
      "split the messages. Empty: a plain subscription."),
    I("mqtt.qos", mqtt_qos, "1", 0, 1, false, "Subscription QoS (0 or 1)."),
    I("mqtt.keepalive_s", mqtt_keepalive_s, "30", 5, 3600, false, "MQTT keep-alive in seconds."),
    I("mqtt.session_expiry_s", mqtt_session_expiry_s, "86400", 0, 4294967295.0, false,
      "MQTT v5 session expiry in seconds (clean start is off, so the broker keeps QoS 1 messages "
      "for this long while the collector is away)."),
    S("mqtt.ca_file", mqtt_ca_file, "", false, "CA certificates (PEM) for TLS; empty: system CAs."),
    S("mqtt.cert_file", mqtt_cert_file, "", false,
      "Client certificate (PEM) for TLS; needs mqtt.key_file."),
    S("mqtt.key_file", mqtt_key_file, "", false,
      "Client private key (PEM) for TLS; needs mqtt.cert_file."),
    I("mqtt.silence_reconnect_s", mqtt_silence_reconnect_s, "300", 0, 86400, true,
      "Watchdog: reconnect when no message arrived for this many seconds; 0 disables it (turning "
      "it on from 0 needs a restart)."),

    I("mqtt.receive_max", mqtt_receive_max, "1000", 1, 65535, false,
      "MQTT v5 Receive Maximum: QoS 1 messages the broker may send before the collector "
      "acknowledges them (each is acknowledged once it is in the journal)."),
    I("ingest.group_max_records", ingest_group_max_records, "4096", 1, 1048576, false,
      "Most messages written to the journal in one group (one write, one fsync)."),
    SZ("ingest.group_max_bytes", ingest_group_max_bytes, "4MiB", 64 * KIB, 256 * MIB, false,
       "Most record bytes written to the journal in one group."),

    S("registry.path", registry_path, "config/registry.jsonl", false,
      "Device registry (JSON Lines, see ct/registry.h)."),

    B("security.require_signatures", security_require_signatures, "true", false,
      "Reject messages without a valid HMAC signature."),
    S("security.master_key_file", security_master_key_file, "", false,
      "File holding the master key from which device keys are derived."),
    S("security.master_key_env", security_master_key_env, "CITYTEL_MASTER_KEY", false,
      "Name of an environment variable holding the master key (used when master_key_file is "
      "empty)."),
    S("security.previous_master_key_file", security_previous_master_key_file, "", false,
      "During a key rotation: the previous master key, also accepted until removed."),

    MS("validate.future_ms", validate_future_ms, "5m", 0, DAY_MS, true,
       "Reject a reading whose ts is further than this in the future."),
    MS("validate.backlog_ms", validate_backlog_ms, "7d", 60000, 366 * DAY_MS, true,
       "Reject a reading older than this (a node's store-and-forward backlog must fit)."),
    I("validate.replay_window", validate_replay_window, "1024", 1, 1048576, false,
      "A (boot, seq) older than the newest accepted by more than this is a replay (restart: it "
      "sizes the per-device state)."),

    E("store.kind", store_kind, "influxdb", "influxdb|victoriametrics", false,
      "The time-series store: InfluxDB 1.x (or 2.x with influx.api 2), read with InfluxQL at "
      "/query; or VictoriaMetrics, written with the same line protocol at <influx.url>/write "
      "and read with MetricsQL at <store.query_url>/api/v1/query and /api/v1/query_range (the "
      "rebuild and the layers). "
      "VictoriaMetrics keeps numbers only (no string fields) and has no InfluxQL: the "
      "console's store pages need InfluxDB."),
    S("store.query_url", store_query_url, "", false,
      "Base URL of the store's read API; empty: influx.url. VictoriaMetrics cluster: "
      "influx.url http://<vminsert>:8480/insert/<tenant>/influx and this "
      "http://<vmselect>:8481/select/<tenant>/prometheus."),
    S("influx.url", influx_url, "http://127.0.0.1:8086", false,
      "InfluxDB base URL (http:// or https://)."),
    I("influx.api", influx_api, "1", 1, 2, false,
      "InfluxDB API: 1 = /write with db and rp, 2 = /api/v2/write with org and bucket."),
    S("influx.db", influx_db, "citytel", false, "API 1: database."),
    S("influx.rp", influx_rp, "", false, "API 1: retention policy; empty for the default."),
    S("influx.username", influx_username, "", false, "API 1: user name; empty for none."),
    SECRET("influx.password", influx_password, "API 1: password. Never logged."),
    S("influx.org", influx_org, "citytel", false, "API 2: organisation."),
    S("influx.bucket", influx_bucket, "citytel", false, "API 2: bucket."),
    SECRET("influx.token", influx_token, "API 2: token (Authorization: Token ...). Never logged."),
    E("influx.precision", influx_precision, "ms", "s|ms|us|ns", false,
      "Timestamp precision of the written points."),
    B("influx.gzip", influx_gzip, "false", false,
      "Compress write bodies with gzip: for a store across a slow link. Off by default: on the "
      "same host or LAN the store spends more CPU inflating bodies than the bytes save "
      "(docs/benchmarks.md, store)."),
    I("influx.batch_max_points", influx_batch_max_points, "10000", 1, 1000000, true,
      "Flush a batch when it holds this many points; queued batches never sent are merged up to "
      "it."),
    SZ("influx.batch_max_bytes", influx_batch_max_bytes, "2MiB", 1 * KIB, 256 * MIB, true,
       "Flush a batch before its body would exceed this size (before gzip)."),
    MS("influx.flush_ms", influx_flush_ms, "250ms", 10, 600000, true,
       "Flush a partial batch after this long (250 ms keeps the p99 from sample to queryable "
       "under 1 s at 1 000 msg/s, docs/benchmarks.md)."),
    I("influx.max_inflight", influx_max_inflight, "4", 1, 64, true, "Concurrent write requests."),
    MS("influx.connect_timeout_ms", influx_connect_timeout_ms, "5s", 100, 600000, true,
       "TCP and TLS connect timeout of a write."),
    MS("influx.timeout_ms", influx_timeout_ms, "30s", 100, 3600000, true,
       "Whole-request timeout of a write (then: retry)."),
    SZ("influx.max_pending_bytes", influx_max_pending_bytes, "256MiB", 1 * MIB, 64 * GIB, false,
       "Bound of line protocol waiting in memory; when reached the loop stops taking messages."),
    MS("influx.retry_base_ms", influx_retry_base_ms, "500ms", 10, 3600000, true,
       "First retry delay; doubles per failure (with jitter)."),
    MS("influx.retry_max_ms", influx_retry_max_ms, "10s", 10, 86400000, true,
       "Longest retry delay (the cap of the exponential backoff): after an outage the store is "
       "probed at least this often, so delivery resumes within it."),

    S("spool.dir", spool_dir, "/var/lib/citytel/spool", false,
      "Directory of the write-ahead journal segments."),
    SZ("spool.max_bytes", spool_max_bytes, "1GiB", 1 * MIB, 16384 * GIB, false,
       "Bound of the journal on disk; when reached spool.full_policy applies."),
    SZ("spool.segment_bytes", spool_segment_bytes, "64MiB", 128 * KIB, 4 * GIB, false,
       "Size at which the journal starts a new segment file."),
    E("spool.fsync", spool_fsync, "interval", "always|interval|none", false,
      "When appended records are fsynced: every append, every spool.fsync_interval_ms, or never."),
    MS("spool.fsync_interval_ms", spool_fsync_interval_ms, "200ms", 1, 60000, false,
       "fsync period for spool.fsync = interval."),
    SZ("spool.min_free_bytes", spool_min_free_bytes, "64MiB", 256 * KIB, 1024 * GIB, false,
       "Free space the spool leaves on its file system: when appending would go below it, MQTT "
       "delivery pauses (the broker keeps the messages) until a commit frees room."),
    E("spool.full_policy", spool_full_policy, "block", "block|drop_oldest", false,
      "Journal full: block (the broker keeps the messages; alert) or drop the oldest segment."),

    S("quarantine.path", quarantine_path, "/var/lib/citytel/quarantine.jsonl", false,
      "File of rejected raw messages and dropped batches (never public)."),
    SZ("quarantine.max_bytes", quarantine_max_bytes, "64MiB", 64 * KIB, 64 * GIB, false,
       "Size at which the quarantine file rotates."),
    I("quarantine.files", quarantine_files, "4", 1, 100, false, "Rotated quarantine files kept."),

    I("aggregate.window_s", aggregate_window_s, "60", 10, 86400, false,
      "Length of the aggregation windows in seconds."),
    I("aggregate.update_s", aggregate_update_s, "10", 1, 3600, false,
      "A window past its close that keeps receiving readings (a late part, a backlog or a "
      "replay) is written when they pause for a second, and at most once per this many seconds "
      "while they keep coming."),
    I("liveness.stale_intervals", liveness_stale_intervals, "3", 1, 1000, true,
      "A device is stale after this many missed reporting intervals."),

    S("http.listen", http_listen, "127.0.0.1", false, "Address of the HTTP server (IPv4 or IPv6)."),
    I("http.port", http_port, "8080", 0, 65535, false,
      "Port of the HTTP server; 0 = any free port (written to http.port_file when that is set)."),
    S("http.port_file", http_port_file, "", false,
      "When set, the bound port is written to this file (decimal and a newline)."),
    SZ("http.max_request_bytes", http_max_request_bytes, "16KiB", 1 * KIB, 1 * MIB, false,
       "Bound of one request's head and body: 431 for a head, 413 for a body beyond it."),
    I("http.max_connections", http_max_connections, "256", 1, 65536, true,
      "Concurrent connections; new ones beyond it are closed at once."),
    MS("http.timeout_ms", http_timeout_ms, "10s", 100, 3600000, true,
       "Read and keep-alive idle timeout of a connection."),
    D("http.rate_per_client", http_rate_per_client, "20", 0, 1000000, true,
      "Requests per second per client address (token bucket, burst of twice the rate, at least 1); "
      "beyond it: 429 with Retry-After. 0 = unlimited."),
    I("http.max_connections_per_client", http_max_connections_per_client, "16", 0, 65536, true,
      "Concurrent connections from one client address; new ones beyond it are closed at once "
      "(0 = no cap), so that one client cannot take every connection."),
    S("http.staff_listen", http_staff_listen, "127.0.0.1", false,
      "Address of the staff HTTP listener (/healthz, /metrics): keep it on loopback or an "
      "operators' network, never public."),
    I("http.staff_port", http_staff_port, "8081", 0, 65535, false,
      "Port of the staff listener; 0 = any free port (written to http.staff_port_file)."),
    S("http.staff_port_file", http_staff_port_file, "", false,
      "When set, the staff listener's bound port is written to this file."),
    I("http.staff_max_connections", http_staff_max_connections, "32", 1, 65536, true,
      "Concurrent connections of the staff listener, apart from the public listener's."),

    S("console.users_file", console_users_file, "", false,
      "The staff console's accounts (name:role:argon2id hash a line; `collector staff-user add "
      "NAME ROLE` writes it; read again at SIGHUP); the console is served on the staff "
      "listener only. Empty: no console."),
    MS("console.session_idle_ms", console_session_idle_ms, "30m", 1000, DAY_MS, false,
       "A console session unused this long ends (sign in again)."),
    MS("console.session_max_ms", console_session_max_ms, "12h", 1000, 7 * DAY_MS, false,
       "A console session ends this long after sign-in, however busy."),
    I("console.max_sessions", console_max_sessions, "256", 1, 100000, false,
      "Console sessions kept at once; beyond, the least recently used ends."),
    I("console.max_failures", console_max_failures, "5", 0, 1000, false,
      "Wrong passwords in a row before an account is locked (0 = never)."),
    MS("console.lockout_ms", console_lockout_ms, "15m", 0, DAY_MS, false,
       "How long a locked console account stays locked."),
    B("console.cookie_secure", console_cookie_secure, "false", false,
      "Mark the console's session cookie Secure: set it when a TLS proxy serves the staff "
      "listener."),
    S("console.limits", console_limits,
      "air.pm25:24h:max:50,air.pm10:24h:max:100,air.no2:1h:max:200,air.no2:24h:max:100,"
      "air.so2:1h:max:350,air.so2:24h:max:125,air.o3:1h:max:200,air.o3:8h:max:120,air.c"
      "o:1h:max:30000,air.co:8h:max:10000,water.ph:1h:min:6:6.5,water.ph:1h:max:8.5:8,w"
      "ater.do:1h:min:6,water.nh4:1h:max:0.3",
      false,
      "Parameter limits of the console's station states: kind.param:1h|8h|24h:max|min:value"
      "[:approaching threshold], "
      "comma-separated (defaults: QCVN 05:2023/BTNMT and QCVN 08:2023/BTNMT, docs/console.md)."),
    D("console.approach", console_approach, "0.8", 0.01, 0.99, false,
      "A parameter is approaching its limit past this fraction of it."),
    MS("console.recompute_after_ms", console_recompute_after_ms, "5m", 0, DAY_MS, false,
       "A range staff mark invalid is recomputed from the validated data this long after the "
       "decision and after each hour close (for 24 h, and to the end of the day whose daily "
       "index reads the range; docs/console.md), so that the live hourly points are written "
       "first."),

    S("map.dir", map_dir, "map", false, "Directory of the public map's static files."),
    S("map.tile_url", map_tile_url, "", true,
      "Tile URL template of the public map's base layer (for example "
      "https://tile.openstreetmap.org/{z}/{x}/{y}.png); empty: no tiles, the map works offline "
      "with district labels."),
    S("map.tile_attribution", map_tile_attribution, "", true,
      "Attribution text the tile provider requires (shown on the map)."),
    S("ogc.base_url", ogc_base_url, "", false,
      "Public URL the OGC API's links start with (https://data.example.vn/citytel: links are "
      "<base_url>/ogc/...), used verbatim; http:// or https://, no trailing '/'. Empty: from the "
      "reverse proxy's Forwarded or X-Forwarded-Proto/-Host, else the Host header "
      "(docs/protocol.md)."),
    MS("layers.refresh_ms", layers_refresh_ms, "30s", 1000, 86400000, true,
       "How often the public layers are rebuilt from the store."),

    /* TT 10/2021/TT-BTNMT station files (docs/tt10.md). */
    S("tt10.out_dir", tt10_out_dir, "", false,
      "Outbox of national-format station files (files/, queue/); empty: none are written. Only "
      "devices with tt10 codes in the registry get files."),
    SECRET("tt10.receivers", tt10_receivers,
           "Receivers of the station files, separated by spaces: ftp://, ftpes:// (explicit "
           "TLS), ftps:// (implicit TLS) or sftp:// URLs ending in '/', credentials in the URL "
           "(user:password@); empty: files are written and kept, not sent."),
    S("tt10.ca_file", tt10_ca_file, "", false,
      "CA bundle for FTPS receivers; empty: the system's CAs."),
    B("tt10.tls_verify", tt10_tls_verify, "true", false,
      "Verify FTPS receivers' certificates and host names."),
    S("tt10.ssh_private_key", tt10_ssh_private_key, "", false,
      "Private key file for SFTP receivers (PEM); empty: password authentication only."),
    S("tt10.ssh_public_key", tt10_ssh_public_key, "", false,
      "Public key file matching tt10.ssh_private_key; empty: derived from the private key."),
    S("tt10.ssh_known_hosts", tt10_ssh_known_hosts, "", false,
      "known_hosts file pinning SFTP receivers' host keys; empty: host keys are not checked."),
    MS("tt10.retention", tt10_retention_ms, "60d", DAY_MS, 3650 * DAY_MS, false,
       "Station files (sent or not) are kept this long, then pruned (the circular: at least 60 "
       "days)."),
    MS("tt10.interval", tt10_interval_ms, "5m", 60000, 3600000, false,
       "Measurement interval of the files: one file per station per interval, the interval's "
       "mean of validated values; divides a day."),
    MS("tt10.grace", tt10_grace_ms, "0s", 0, 3600000, false,
       "How long after an interval's end its file is written (readings still arriving count); "
       "0: a quarter of the interval, at least 10 s (75 s for 5 minutes). The circular wants "
       "files sent within 5 minutes of the result."),
    I("tt10.utc_offset_min", tt10_utc_offset_min, "420", -720, 840, false,
      "Offset of the files' local time from UTC in minutes (Vietnam: 420, UTC+7)."),
    I("tt10.decimals", tt10_decimals, "2", 0, 6, false,
      "Digits after the decimal point of the values written."),
    E("tt10.eol", tt10_eol, "crlf", "crlf|lf", false,
      "End of line written (crlf: the format's); lf is accepted in incoming files only when "
      "this is lf."),
    S("tt10.params", tt10_params, "", false,
      "Parameter map kind.member=SYMBOL:unit,... between our members and the files' symbols; "
      "empty: the built-in map (docs/tt10.md)."),
    I("tt10.parallel", tt10_parallel, "4", 1, 16, false, "Uploads at once per receiver."),
    S("tt10.in_dir", tt10_in_dir, "", false,
      "Folder watched for incoming station files (the receiving FTP server's); empty: none are "
      "read."),
};

const struct col_cfg_key *col_config_keys(size_t *count)
{
    if (count != NULL) {
        *count = sizeof(keys) / sizeof(keys[0]);
    }
    return keys;
}

const struct col_cfg_key *col_config_key(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].name, name) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}
