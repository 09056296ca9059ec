/* test_config.c - the config table and engine: defaults, typed values with units, errors naming
 * key and JSON path, cross-field checks, reload differences, and docs/config.md up to date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "col_config.h"
#include "ct/buf.h"
#include "ct/err.h"

#include "ct_failmalloc.h"

static void parse_ok(const char *json, struct col_config *cfg)
{
    char err[COL_CONFIG_ERR_MAX] = "";
    int rc = col_config_parse(json, strlen(json), "t.json", cfg, err, sizeof(err));
    if (rc != 0) {
        print_error("unexpected: %s\n", err);
    }
    assert_int_equal(rc, 0);
}

static void expect_error(const char *json, int want_rc, const char *want_msg)
{
    struct col_config cfg;
    memset(&cfg, 0xab, sizeof(cfg));
    char err[COL_CONFIG_ERR_MAX] = "";
    int rc = col_config_parse(json, strlen(json), "t.json", &cfg, err, sizeof(err));
    assert_int_equal(rc, want_rc);
    assert_string_equal(err, want_msg);
    assert_null(cfg.mqtt_uri); /* zeroed, owns nothing */
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct col_config cfg;
    parse_ok("{}", &cfg);
    assert_string_equal(cfg.mqtt_uri, "tcp://127.0.0.1:1883");
    assert_int_equal(cfg.mqtt_qos, 1);
    assert_int_equal(cfg.mqtt_session_expiry_s, 86400);
    assert_int_equal(cfg.log_level, COL_CFG_LOG_INFO);
    assert_int_equal(cfg.ingest_group_max_records, 4096);
    assert_int_equal(cfg.mqtt_receive_max, 1000);
    assert_true(cfg.security_require_signatures);
    assert_int_equal(cfg.validate_future_ms, 300000);
    assert_int_equal(cfg.validate_backlog_ms, 7LL * 86400 * 1000);
    assert_int_equal(cfg.validate_replay_window, 1024);
    assert_int_equal(cfg.influx_precision, COL_CFG_PREC_MS);
    assert_false(cfg.influx_gzip);
    assert_int_equal(cfg.influx_batch_max_points, 10000);
    assert_int_equal(cfg.influx_batch_max_bytes, 2 * 1024 * 1024);
    assert_int_equal(cfg.influx_flush_ms, 250);
    assert_int_equal(cfg.influx_max_inflight, 4);
    assert_int_equal(cfg.influx_max_pending_bytes, 256LL * 1024 * 1024);
    assert_int_equal(cfg.spool_max_bytes, 1LL << 30);
    assert_int_equal(cfg.spool_segment_bytes, 64LL << 20);
    assert_int_equal(cfg.spool_fsync, COL_CFG_FSYNC_INTERVAL);
    assert_int_equal(cfg.spool_fsync_interval_ms, 200);
    assert_int_equal(cfg.spool_full_policy, COL_CFG_FULL_BLOCK);
    assert_int_equal(cfg.aggregate_window_s, 60);
    assert_int_equal(cfg.liveness_stale_intervals, 3);
    assert_string_equal(cfg.http_listen, "127.0.0.1");
    assert_int_equal(cfg.http_port, 8080);
    assert_string_equal(cfg.mqtt_share_group, "");
    assert_true(cfg.http_rate_per_client == 20.0);
    /* Derived: an instance of [a-z0-9-] and a client id made from it. */
    size_t n = strlen(cfg.collector_instance);
    assert_true(n >= 1 && n <= 32);
    assert_int_equal(strspn(cfg.collector_instance, "abcdefghijklmnopqrstuvwxyz0123456789-"), n);
    char want[64];
    snprintf(want, sizeof(want), "citytel-collector-%s", cfg.collector_instance);
    assert_string_equal(cfg.mqtt_client_id, want);
    col_config_free(&cfg);
    assert_null(cfg.mqtt_uri);
    col_config_free(NULL);

    struct col_config d;
    assert_int_equal(col_config_defaults(&d), 0);
    assert_int_equal(d.influx_timeout_ms, 30000);
    col_config_free(&d);
}

static void test_config_values_and_units(void **state)
{
    (void)state;
    struct col_config cfg;
    parse_ok("{\"collector\":{\"instance\":\"c2\"},\"log\":{\"level\":\"debug\"},"
             "\"mqtt\":{\"uri\":\"ssl://b:8883\",\"qos\":0,\"share_group\":\"citytel\","
             "\"cert_file\":\"c.pem\",\"key_file\":\"k.pem\"},"
             "\"validate\":{\"backlog_ms\":\"2d\",\"future_ms\":1500},"
             "\"influx\":{\"api\":1,\"db\":\"hanoi\",\"gzip\":true,\"batch_max_bytes\":\"512KiB\","
             "\"flush_ms\":\"250ms\",\"retry_max_ms\":\"1h\",\"precision\":\"ns\"},"
             "\"spool\":{\"max_bytes\":\"2GiB\",\"segment_bytes\":1048576,\"fsync\":\"always\","
             "\"full_policy\":\"drop_oldest\"},"
             "\"http\":{\"port\":0,\"port_file\":\"/tmp/p\",\"rate_per_client\":2.5}}",
             &cfg);
    assert_string_equal(cfg.collector_instance, "c2");
    assert_string_equal(cfg.mqtt_client_id, "citytel-collector-c2");
    assert_int_equal(cfg.log_level, COL_CFG_LOG_DEBUG);
    assert_string_equal(cfg.mqtt_uri, "ssl://b:8883");
    assert_int_equal(cfg.mqtt_qos, 0);
    assert_string_equal(cfg.mqtt_share_group, "citytel");
    assert_int_equal(cfg.validate_backlog_ms, 2LL * 86400000);
    assert_int_equal(cfg.validate_future_ms, 1500);
    assert_int_equal(cfg.influx_api, 1);
    assert_string_equal(cfg.influx_db, "hanoi");
    assert_true(cfg.influx_gzip);
    assert_int_equal(cfg.influx_batch_max_bytes, 512 * 1024);
    assert_int_equal(cfg.influx_flush_ms, 250);
    assert_int_equal(cfg.influx_retry_max_ms, 3600000);
    assert_int_equal(cfg.influx_precision, COL_CFG_PREC_NS);
    assert_int_equal(cfg.spool_max_bytes, 2LL << 30);
    assert_int_equal(cfg.spool_segment_bytes, 1048576);
    assert_int_equal(cfg.spool_fsync, COL_CFG_FSYNC_ALWAYS);
    assert_int_equal(cfg.spool_full_policy, COL_CFG_FULL_DROP_OLDEST);
    assert_int_equal(cfg.http_port, 0);
    assert_true(cfg.http_rate_per_client == 2.5);
    col_config_free(&cfg);
}

static void test_config_errors_name_key_and_path(void **state)
{
    (void)state;
    expect_error("{\"mqtt\":{\"urii\":\"x\"}}", CT_E_INVAL,
                 "t.json: unknown key \"mqtt.urii\" (at $.mqtt.urii)");
    expect_error("{\"nope\":{\"a\":1}}", CT_E_INVAL,
                 "t.json: unknown key \"nope.a\" (at $.nope.a)");
    expect_error("{\"mqtt\":\"x\"}", CT_E_INVAL,
                 "t.json: group \"mqtt\" (at $.mqtt): expected an object of keys");
    expect_error("{\"influx\":{\"batch_max_points\":0}}", CT_E_INVAL,
                 "t.json: key \"influx.batch_max_points\" (at $.influx.batch_max_points): expected "
                 "an integer in 1..1000000");
    expect_error("{\"influx\":{\"batch_max_points\":\"10\"}}", CT_E_INVAL,
                 "t.json: key \"influx.batch_max_points\" (at $.influx.batch_max_points): expected "
                 "an integer in 1..1000000");
    expect_error("{\"mqtt\":{\"qos\":1.5}}", CT_E_INVAL,
                 "t.json: key \"mqtt.qos\" (at $.mqtt.qos): expected an integer in 0..1");
    expect_error("{\"mqtt\":{\"qos\":2}}", CT_E_INVAL,
                 "t.json: key \"mqtt.qos\" (at $.mqtt.qos): expected an integer in 0..1");
    expect_error(
        "{\"log\":{\"level\":\"trace\"}}", CT_E_INVAL,
        "t.json: key \"log.level\" (at $.log.level): expected one of error|warn|info|debug");
    expect_error("{\"influx\":{\"gzip\":1}}", CT_E_INVAL,
                 "t.json: key \"influx.gzip\" (at $.influx.gzip): expected true or false");
    expect_error(
        "{\"mqtt\":{\"uri\":5}}", CT_E_INVAL,
        "t.json: key \"mqtt.uri\" (at $.mqtt.uri): expected a string of at most 4096 bytes");
    expect_error("{\"influx\":{\"flush_ms\":\"1 s\"}}", CT_E_INVAL,
                 "t.json: key \"influx.flush_ms\" (at $.influx.flush_ms): expected a duration in "
                 "10..600000 ms (integer milliseconds or \"<n>ms|s|m|h|d\")");
    expect_error("{\"influx\":{\"flush_ms\":\"11m\"}}", CT_E_INVAL,
                 "t.json: key \"influx.flush_ms\" (at $.influx.flush_ms): expected a duration in "
                 "10..600000 ms (integer milliseconds or \"<n>ms|s|m|h|d\")");
    expect_error("{\"spool\":{\"max_bytes\":\"1GB\"}}", CT_E_INVAL,
                 "t.json: key \"spool.max_bytes\" (at $.spool.max_bytes): expected a size in "
                 "1048576..17592186044416 bytes (integer bytes or \"<n>B|KiB|MiB|GiB|TiB\")");
    expect_error("{\"http\":{\"rate_per_client\":-1}}", CT_E_INVAL,
                 "t.json: key \"http.rate_per_client\" (at $.http.rate_per_client): expected a "
                 "number in 0..1e+06");
    expect_error("{\"mqtt\":{\"qos\":1,\"qos\":0}}", CT_E_INVAL,
                 "t.json: key \"mqtt.qos\" (at $.mqtt.qos): appears twice");
    expect_error("{\"mqtt\":{},\"mqtt\":{}}", CT_E_INVAL,
                 "t.json: group \"mqtt\" (at $.mqtt): appears twice");
    expect_error("[]", CT_E_INVAL, "t.json: expected an object of groups (at $)");
    expect_error("{\n  \"mqtt\": {\n    \"qos\": ,\n  }\n}", CT_E_PARSE,
                 "t.json:3:12: malformed JSON");
    expect_error("{} {}", CT_E_PARSE, "t.json:1:4: trailing characters after the object");
}

static void test_config_out_of_memory(void **state)
{
    (void)state;
#if CT_FAILMALLOC
    /* Each allocation of a parse failing in turn (cJSON's included) gives CT_E_NOMEM, never
     * CT_E_PARSE ("malformed JSON"), until the parse needs no more. */
    static const char json[] = "{\"mqtt\":{\"uri\":\"tcp://127.0.0.1:1883\",\"client_id\":\"x\"},"
                               "\"influx\":{\"flush_ms\":\"200ms\"},\"log\":{\"level\":\"debug\"}}";
    int rc = CT_E_NOMEM;
    unsigned long n;
    unsigned long cjson_nomem = 0;
    for (n = 1; rc == CT_E_NOMEM; n++) {
        struct col_config cfg;
        char err[COL_CONFIG_ERR_MAX] = "";
        ct_failmalloc_arm(n);
        rc = col_config_parse(json, sizeof(json) - 1, "t.json", &cfg, err, sizeof(err));
        ct_failmalloc_disarm();
        if (rc == CT_E_NOMEM) {
            assert_non_null(strstr(err, "out of memory"));
            assert_null(cfg.mqtt_uri);
            cjson_nomem += strstr(err, "while parsing") != NULL;
        } else if (rc != 0) {
            fail_msg("allocation %lu failing: rc %d (%s)", n, rc, err);
        } else {
            assert_int_equal(cfg.influx_flush_ms, 200);
        }
        col_config_free(&cfg);
    }
    assert_true(cjson_nomem > 5); /* cJSON's own allocations were among those failed */
#else
    skip();
#endif
}

static void test_config_cross_checks(void **state)
{
    (void)state;
    expect_error("{\"influx\":{\"api\":1,\"db\":\"\"}}", CT_E_INVAL,
                 "t.json: key \"influx.db\" (at $.influx.db): required when influx.api is 1");
    expect_error(
        "{\"influx\":{\"api\":2,\"bucket\":\"\"}}", CT_E_INVAL,
        "t.json: keys \"influx.org\" and \"influx.bucket\": required when influx.api is 2");
    expect_error("{\"influx\":{\"retry_base_ms\":\"2m\",\"retry_max_ms\":\"1m\"}}", CT_E_INVAL,
                 "t.json: key \"influx.retry_base_ms\" (at $.influx.retry_base_ms): must not "
                 "exceed influx.retry_max_ms");
    expect_error("{\"spool\":{\"max_bytes\":\"32MiB\"}}", CT_E_INVAL,
                 "t.json: key \"spool.segment_bytes\" (at $.spool.segment_bytes): must not exceed "
                 "spool.max_bytes");
    expect_error("{\"security\":{\"master_key_env\":\"\"}}", CT_E_INVAL,
                 "t.json: key \"security.require_signatures\": needs security.master_key_file or "
                 "security.master_key_env");
    expect_error("{\"mqtt\":{\"password\":\"a\",\"password_file\":\"b\"}}", CT_E_INVAL,
                 "t.json: keys \"mqtt.password\" and \"mqtt.password_file\": set at most one");
    expect_error("{\"mqtt\":{\"cert_file\":\"a\"}}", CT_E_INVAL,
                 "t.json: keys \"mqtt.cert_file\" and \"mqtt.key_file\": set both or neither");
    expect_error("{\"mqtt\":{\"share_group\":\"a/b\"}}", CT_E_INVAL,
                 "t.json: key \"mqtt.share_group\" (at $.mqtt.share_group): must not contain '/', "
                 "'+' or '#'");
    expect_error("{\"mqtt\":{\"uri\":\"http://x\"}}", CT_E_INVAL,
                 "t.json: key \"mqtt.uri\" (at $.mqtt.uri): expected tcp://, ssl://, mqtt://, "
                 "mqtts://, ws:// or wss://");
    expect_error("{\"collector\":{\"instance\":\"C 1\"}}", CT_E_INVAL,
                 "t.json: key \"collector.instance\" (at $.collector.instance): expected 1..32 "
                 "characters of [a-z0-9-]");
    /* Security off needs no key source; port 0 needs no port file. */
    struct col_config cfg;
    parse_ok("{\"http\":{\"port\":0}}", &cfg);
    assert_int_equal(cfg.http_port, 0);
    col_config_free(&cfg);
    parse_ok("{\"security\":{\"require_signatures\":false,\"master_key_env\":\"\"}}", &cfg);
    assert_false(cfg.security_require_signatures);
    col_config_free(&cfg);
}

static void test_config_table_sane(void **state)
{
    (void)state;
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    assert_true(n > 60 && n <= COL_CONFIG_MAX_KEYS);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(col_config_key(keys[i].name), &keys[i]); /* names are unique */
        assert_non_null(strchr(keys[i].name, '.'));
        assert_true(strlen(keys[i].desc) > 10);
        for (size_t j = 0; j < i; j++) {
            assert_true(keys[i].offset != keys[j].offset); /* one field per key */
        }
    }
    assert_null(col_config_key("mqtt.nope"));
    assert_false(col_config_key("mqtt.uri")->reloadable);
    assert_true(col_config_key("log.level")->reloadable);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static bool diff_has(const struct col_cfg_key *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i]->name, name) == 0) {
            return true;
        }
    }
    return false;
}

static void test_config_reload(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\"collector\":{\"instance\":\"c1\"},\"log\":{\"level\":\"info\"},"
                     "\"influx\":{\"token\":\"secret-1\"}}");
    struct col_config cur, next;
    struct col_config_diff diff;
    char err[COL_CONFIG_ERR_MAX];
    assert_int_equal(col_config_load(path, &cur, err, sizeof(err)), 0);

    write_file(path, "{\"collector\":{\"instance\":\"c1\"},\"log\":{\"level\":\"debug\"},"
                     "\"mqtt\":{\"uri\":\"tcp://other:1883\"},\"map\":{\"tile_url\":\"https://t/"
                     "{z}\"},\"influx\":{\"token\":\"secret-1\",\"flush_ms\":\"2s\"}}");
    assert_int_equal(col_config_reload(&cur, path, &next, &diff, err, sizeof(err)), 0);
    assert_int_equal(diff.nrefused, 1);
    assert_string_equal(diff.refused[0]->name, "mqtt.uri");
    assert_int_equal(diff.napply, 3);
    assert_true(diff_has(diff.apply, diff.napply, "log.level"));
    assert_true(diff_has(diff.apply, diff.napply, "map.tile_url"));
    assert_true(diff_has(diff.apply, diff.napply, "influx.flush_ms"));

    col_config_apply_reloadable(&cur, &next);
    col_config_free(&next);
    assert_int_equal(cur.log_level, COL_CFG_LOG_DEBUG);
    assert_string_equal(cur.map_tile_url, "https://t/{z}");
    assert_int_equal(cur.influx_flush_ms, 2000);
    assert_string_equal(cur.mqtt_uri, "tcp://127.0.0.1:1883"); /* refused: needs a restart */

    /* A bad file leaves the old config in force and says why. */
    write_file(path, "{\"log\":{\"level\":\"loud\"}}");
    memset(&next, 0x5a, sizeof(next));
    assert_int_equal(col_config_reload(&cur, path, &next, &diff, err, sizeof(err)), CT_E_INVAL);
    assert_non_null(strstr(err, "key \"log.level\" (at $.log.level)"));
    assert_null(next.mqtt_uri); /* zeroed: owns nothing */
    assert_int_equal(next.influx_batch_max_points, 0);
    assert_int_equal(cur.log_level, COL_CFG_LOG_DEBUG);

    char buf[64];
    assert_int_equal(
        col_config_format_value(col_config_key("influx.token"), &cur, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "\"***\"");
    assert_int_equal(col_config_format_value(col_config_key("log.level"), &cur, buf, sizeof(buf)),
                     0);
    assert_string_equal(buf, "\"debug\"");
    assert_int_equal(
        col_config_format_value(col_config_key("influx.flush_ms"), &cur, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2000");
    assert_int_equal(col_config_format_value(col_config_key("map.tile_url"), &cur, buf, 5),
                     CT_E_TOOBIG);
    col_config_free(&cur);

    unlink(path);
    assert_int_equal(col_config_load(path, &cur, err, sizeof(err)), CT_E_IO);
    assert_non_null(strstr(err, "cannot open"));
}

/* Reads a whole file into a ct_buf. */
static void read_file(const char *path, struct ct_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        print_error("cannot open %s\n", path);
    }
    assert_non_null(f);
    char chunk[4096];
    for (;;) {
        size_t got = fread(chunk, 1, sizeof(chunk), f);
        if (got == 0) {
            break;
        }
        assert_int_equal(ct_buf_add(out, chunk, got), 0);
    }
    fclose(f);
}

static void test_config_doc_and_example_current(void **state)
{
    (void)state;
    const char *src = getenv("CT_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];

    /* docs/config.md is the generator's output, byte for byte. */
    struct ct_buf doc, file;
    ct_buf_init(&doc, 1 << 20);
    ct_buf_init(&file, 1 << 20);
    assert_int_equal(col_config_doc(&doc), 0);
    assert_non_null(strstr(doc.p, "| `influx.batch_max_bytes` | size | `2MiB` | 1024 B .. "));
    snprintf(path, sizeof(path), "%s/docs/config.md", src);
    read_file(path, &file);
    assert_int_equal(file.len, doc.len);
    assert_memory_equal(file.p, doc.p, doc.len);

    /* The example file loads and sets every key of the table. */
    ct_buf_reset(&file);
    snprintf(path, sizeof(path), "%s/config/collector.example.json", src);
    read_file(path, &file);
    struct col_config cfg;
    char err[COL_CONFIG_ERR_MAX] = "";
    int rc = col_config_parse(file.p, file.len, path, &cfg, err, sizeof(err));
    if (rc != 0) {
        print_error("%s\n", err);
    }
    assert_int_equal(rc, 0);
    size_t n;
    const struct col_cfg_key *keys = col_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(keys[i].name, '.');
        char needle[160];
        snprintf(needle, sizeof(needle), "\"%s\":", dot + 1);
        if (strstr(file.p, needle) == NULL) {
            print_error("example lacks %s\n", keys[i].name);
        }
        assert_non_null(strstr(file.p, needle));
    }
    col_config_free(&cfg);
    ct_buf_free(&doc);
    ct_buf_free(&file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_values_and_units),
        cmocka_unit_test(test_config_errors_name_key_and_path),
        cmocka_unit_test(test_config_cross_checks),
        cmocka_unit_test(test_config_out_of_memory),
        cmocka_unit_test(test_config_table_sane),
        cmocka_unit_test(test_config_reload),
        cmocka_unit_test(test_config_doc_and_example_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
