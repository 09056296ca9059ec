/* alloc_driver.c - exercises the pure modules that allocate (registry parse, config parse,
 * payload decode, line protocol into a growing ct_buf, the pipeline on valid and invalid
 * messages, the quarantine line builder) between the start and stop markers of the failalloc
 * shim. Run with LD_PRELOAD=libct_failalloc.so and CT_FAIL_ALLOC_AT=N, the N-th allocation
 * fails: every step must then end either with its normal outcome or with CT_E_NOMEM (printed as
 * an expected outcome), never with another error or a wrong verdict, and every block allocated
 * between the markers must be freed.
 *
 * Output: one line per step ("registry: ok", "payload: CT_E_NOMEM"), then
 * "allocations: <count>" and "leaked: <blocks>". Exit 0 when all is well; 2 on a wrong outcome;
 * 3 on a leak; 4 when the shim is not preloaded and CT_FAIL_ALLOC_REQUIRE_SHIM is set. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col_config.h"
#include "col_pipeline.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "ct/lp.h"
#include "ct/payload.h"
#include "ct/registry.h"
#include "ct/sig.h"
#include "quarantine_int.h"

/* Provided by the preloaded shim; NULL when the driver runs alone. */
void ct_failalloc_start(void) __attribute__((weak));
size_t ct_failalloc_stop(void) __attribute__((weak));
unsigned long ct_failalloc_count(void) __attribute__((weak));

static int g_bad;

static void outcome(const char *step, int rc, bool ok)
{
    if (rc == CT_E_NOMEM) {
        printf("%s: CT_E_NOMEM\n", step);
    } else if (ok) {
        printf("%s: ok\n", step);
    } else {
        printf("%s: UNEXPECTED (rc %d, %s)\n", step, rc, ct_err_name(rc));
        g_bad = 1;
    }
}

static const char REGISTRY[] =
    "# test registry\n"
    "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"Trạm Hàng Bông\",\"lat\":21.03,"
    "\"lon\":105.84,\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bông\"}\n"
    "{\"id\":\"hn-rain-0001\",\"kind\":\"rain\",\"name\":\"Mưa\",\"lat\":21.0,\"lon\":105.8,"
    "\"district\":\"Đống Đa\",\"ward\":\"Kim Liên\",\"mm_per_tip\":0.5}\n"
    "{\"id\":\"hn-park-0001\",\"kind\":\"parking\",\"name\":\"Bãi xe\",\"lat\":21.0,"
    "\"lon\":105.8,\"district\":\"Ba Đình\",\"ward\":\"Kim Mã\",\"mode\":\"lot\","
    "\"capacity\":40}\n"
    "{\"id\":\"hn-flood-0001\",\"kind\":\"flood\",\"name\":\"Ngập\",\"lat\":21.0,\"lon\":105.8,"
    "\"district\":\"Ba Đình\",\"ward\":\"Kim Mã\",\"bands_cm\":[10,30,50]}\n";

static const char CONFIG[] =
    "{\"collector\":{\"instance\":\"c1\"},\"log\":{\"level\":\"debug\"},"
    "\"mqtt\":{\"uri\":\"tcp://127.0.0.1:1883\",\"client_id\":\"x\"},"
    "\"registry\":{\"path\":\"/tmp/registry.jsonl\"},"
    "\"security\":{\"require_signatures\":true,\"master_key_file\":\"/tmp/master.key\"},"
    "\"influx\":{\"url\":\"http://127.0.0.1:8086\",\"api\":1,\"db\":\"citytel\","
    "\"flush_ms\":\"200ms\"},\"spool\":{\"dir\":\"/tmp/spool\",\"max_bytes\":\"1GiB\"},"
    "\"quarantine\":{\"path\":\"/tmp/q.jsonl\"},\"http\":{\"listen\":\"127.0.0.1\",\"port\":0}}";

#define NOW_MS 1763888400000LL

static const uint8_t MASTER[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

struct msg {
    const char *name;
    const char *topic;
    const char *payload;
    bool sign;
    enum ct_reject want;
    char sig[CT_SIG_HEX_LEN + 1];
    int dup_of; /* CT_REJ_DUPLICATE only if MSGS[dup_of] was accepted in this run; else -1 */
};

static struct msg MSGS[] = {
    {"pipeline valid air", "city/v1/air/hn-air-0001/up",
     "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":1,\"seq\":1,\"ts\":1763888400000,"
     "\"m\":{\"pm25\":41.2,\"pm10\":63.0,\"t\":29.4,\"rh\":78,\"zz\":1}}",
     true, CT_REJ_NONE, "", -1},
    {"pipeline range drop", "city/v1/air/hn-air-0001/up",
     "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":1,\"seq\":2,\"ts\":1763888400000,"
     "\"m\":{\"pm25\":3000,\"pm10\":63.0}}",
     true, CT_REJ_NONE, "", -1},
    {"pipeline duplicate", "city/v1/air/hn-air-0001/up",
     "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":1,\"seq\":1,\"ts\":1763888400000,"
     "\"m\":{\"pm25\":41.2,\"pm10\":63.0,\"t\":29.4,\"rh\":78,\"zz\":1}}",
     true, CT_REJ_DUPLICATE, "", 0},
    {"pipeline rain", "city/v1/rain/hn-rain-0001/up",
     "{\"v\":1,\"id\":\"hn-rain-0001\",\"boot\":1,\"seq\":1,\"ts\":1763888400000,"
     "\"m\":{\"tips\":10,\"mm\":5.0}}",
     true, CT_REJ_NONE, "", -1},
    {"pipeline parking", "city/v1/parking/hn-park-0001/up",
     "{\"v\":1,\"id\":\"hn-park-0001\",\"boot\":1,\"seq\":1,\"ts\":1763888400000,"
     "\"m\":{\"capacity\":40,\"occupied\":12},\"bat\":3.7,\"rssi\":-70}",
     true, CT_REJ_NONE, "", -1},
    {"pipeline bad json", "city/v1/air/hn-air-0001/up", "{\"v\":1,\"id\":", true, CT_REJ_JSON, "",
     -1},
    {"pipeline duplicate key", "city/v1/air/hn-air-0001/up",
     "{\"v\":1,\"v\":1,\"id\":\"hn-air-0001\",\"boot\":1,\"seq\":9,\"ts\":1763888400000,"
     "\"m\":{}}",
     true, CT_REJ_JSON, "", -1},
    {"pipeline schema", "city/v1/air/hn-air-0001/up",
     "{\"v\":2,\"id\":\"hn-air-0001\",\"boot\":1,\"seq\":9,\"ts\":1763888400000,\"m\":{}}", true,
     CT_REJ_SCHEMA, "", -1},
    {"pipeline bad sig", "city/v1/air/hn-air-0001/up",
     "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":1,\"seq\":10,\"ts\":1763888400000,\"m\":{}}", false,
     CT_REJ_BAD_SIG, "", -1},
    {"pipeline unknown device", "city/v1/air/hn-air-0099/up",
     "{\"v\":1,\"id\":\"hn-air-0099\",\"boot\":1,\"seq\":1,\"ts\":1763888400000,\"m\":{}}", false,
     CT_REJ_UNKNOWN_DEVICE, "", -1},
    {"pipeline spoof", "city/v1/air/hn-air-0001/up",
     "{\"v\":1,\"id\":\"hn-air-0002\",\"boot\":1,\"seq\":11,\"ts\":1763888400000,"
     "\"m\":{\"pm25\":1}}",
     true, CT_REJ_SPOOF, "", -1},
    {"pipeline status", "city/v1/flood/hn-flood-0001/status",
     "{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":1,\"seq\":2,\"state\":\"online\"}", true,
     CT_REJ_NONE, "", -1},
};

static void sign_all(void)
{
    for (size_t i = 0; i < sizeof(MSGS) / sizeof(MSGS[0]); i++) {
        struct msg *m = &MSGS[i];
        if (!m->sign) {
            memset(m->sig, '0', CT_SIG_HEX_LEN);
            m->sig[CT_SIG_HEX_LEN] = '\0';
            continue;
        }
        uint8_t key[CT_KEY_LEN];
        const char *id = strchr(m->topic + strlen("city/v1/"), '/') + 1;
        char dev[CT_ID_MAX + 1];
        size_t n = (size_t)(strchr(id, '/') - id);
        memcpy(dev, id, n);
        dev[n] = '\0';
        if (ct_sig_device_key(MASTER, sizeof(MASTER), dev, key) != 0 ||
            ct_sig_sign(key, m->topic, strlen(m->topic), m->payload, strlen(m->payload), m->sig) !=
                0) {
            fprintf(stderr, "signing failed\n");
            exit(1);
        }
    }
}

static void step_registry(struct ct_registry **reg)
{
    char err[256];
    int rc = ct_registry_parse(REGISTRY, sizeof(REGISTRY) - 1, "t.jsonl", reg, err, sizeof(err));
    outcome("registry", rc, rc == 0 && ct_registry_count(*reg) == 4);
    if (rc != 0 && *reg != NULL) {
        printf("registry: returned a registry on error\n");
        g_bad = 1;
    }
    /* A broken line must fail with a message even when allocations succeed. */
    struct ct_registry *bad = NULL;
    static const char BAD[] = "{\"id\":\"x\",\"kind\":\"air\",\"lat\":\"no\"}\n";
    rc = ct_registry_parse(BAD, sizeof(BAD) - 1, "t.jsonl", &bad, err, sizeof(err));
    outcome("registry bad line", rc, rc == CT_E_PARSE && bad == NULL);
    ct_registry_free(bad);
}

static void step_config(void)
{
    struct col_config cfg;
    char err[COL_CONFIG_ERR_MAX];
    int rc = col_config_parse(CONFIG, sizeof(CONFIG) - 1, "c.json", &cfg, err, sizeof(err));
    outcome("config", rc, rc == 0 && cfg.influx_flush_ms == 200);
    col_config_free(&cfg);
    static const char BAD[] = "{\"mqtt\":{\"nope\":1}}";
    rc = col_config_parse(BAD, sizeof(BAD) - 1, "c.json", &cfg, err, sizeof(err));
    outcome("config unknown key", rc, rc == CT_E_INVAL);
    col_config_free(&cfg);
}

static void step_payload(void)
{
    struct ct_reading r;
    struct ct_reason why;
    const char *p = MSGS[0].payload;
    int rc = ct_payload_decode(p, strlen(p), CT_KIND_AIR, &r, &why);
    outcome("payload valid", rc, rc == 0 && r.n == 4 && r.unknown == 1);
    static const char DUP[] = "{\"v\":1,\"m\":{\"a\":1,\"a\":2}}";
    rc = ct_payload_decode(DUP, sizeof(DUP) - 1, CT_KIND_AIR, &r, &why);
    outcome("payload duplicate key", rc, rc == CT_E_PARSE && why.code == CT_REJ_JSON);
    struct ct_buf b;
    ct_buf_init(&b, 8192);
    rc = ct_payload_decode(p, strlen(p), CT_KIND_AIR, &r, &why);
    if (rc == 0) {
        rc = ct_payload_encode(&r, &b);
        outcome("payload encode", rc, rc == 0 && b.len > 0);
    } else {
        outcome("payload encode", rc, false);
    }
    ct_buf_free(&b);
}

static void step_lp(void)
{
    struct ct_buf b;
    ct_buf_init(&b, 1 << 20);
    struct ct_lp_tag tags[3] = {
        {"device", "hn-air-0001"}, {"district", "Hoàn Kiếm"}, {"ward", "Hàng, Bông=1"}};
    struct ct_lp_field f[2];
    memset(f, 0, sizeof(f));
    f[0].key = "pm25";
    f[0].type = CT_LP_FLOAT;
    f[1].key = "label";
    f[1].type = CT_LP_STRING;
    f[1].s = "a \"quoted\" \\ value";
    int rc = 0;
    int i;
    /* Enough points that the buffer grows several times. */
    for (i = 0; i < 200 && rc == 0; i++) {
        f[0].f = 10.0 + i;
        rc = ct_lp_point(&b, "air", tags, 3, f, 2, NOW_MS + i);
    }
    outcome("line protocol", rc, rc == 0 && i == 200);
    ct_buf_free(&b);
}

static void step_pipeline(const struct ct_registry *reg)
{
    struct col_pipeline_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.require_sig = true;
    cfg.master = MASTER;
    cfg.master_len = sizeof(MASTER);
    cfg.future_ms = 300000;
    cfg.backlog_ms = 7LL * 86400000;
    cfg.replay_window = 1024;
    cfg.max_devices = 16;
    struct col_pipeline *p = NULL;
    int rc = col_pipeline_create(&cfg, &p);
    outcome("pipeline create", rc, rc == 0);
    if (rc != 0) {
        return;
    }
    struct ct_buf lp;
    ct_buf_init(&lp, 1 << 16);
    bool accepted[sizeof(MSGS) / sizeof(MSGS[0])];
    memset(accepted, 0, sizeof(accepted));
    for (size_t i = 0; i < sizeof(MSGS) / sizeof(MSGS[0]); i++) {
        const struct msg *m = &MSGS[i];
        enum ct_reject want = m->want;
        if (m->dup_of >= 0 && !accepted[m->dup_of]) {
            want = CT_REJ_NONE; /* the original was refused for lack of memory */
        }
        struct col_verdict v;
        rc = col_pipeline_process(p, reg, m->topic, strlen(m->topic), m->sig, strlen(m->sig),
                                  m->payload, strlen(m->payload), NOW_MS, &v);
        if (rc == CT_E_FULL || rc == CT_E_NOMEM) {
            /* The device table could not grow: an overload outcome, counted as NOMEM. */
            bool ok = v.reject == CT_REJ_OVERLOAD;
            outcome(m->name, ok ? CT_E_NOMEM : rc, ok);
            continue;
        }
        bool ok = rc == 0 && v.reject == want;
        if (!ok && rc == 0) {
            printf("%s: verdict %s, expected %s (%s)\n", m->name, ct_reject_name(v.reject),
                   ct_reject_name(want), v.why.text);
        }
        accepted[i] = ok && v.reject == CT_REJ_NONE;
        if (ok && v.reject == CT_REJ_NONE && v.type == CT_TOPIC_UP) {
            rc = col_pipeline_raw_lp(v.dev, &v.reading, &lp);
            ok = rc == 0;
        }
        outcome(m->name, rc, ok);
    }
    ct_buf_free(&lp);
    col_pipeline_free(p);
}

static void step_quarantine(void)
{
    struct qbuf b;
    memset(&b, 0, sizeof(b));
    static const char bad_utf8[] = "{\"id\":\"\xc0\xaf\"}";
    struct col_quarantine_entry e = {NOW_MS,
                                     "utf8",
                                     "hn-air-0001",
                                     "city/v1/air/hn-air-0001/up",
                                     "invalid UTF-8 at byte 8",
                                     bad_utf8,
                                     sizeof(bad_utf8) - 1};
    int rc = col_quarantine_qline_build(&b, &e, 8192);
    outcome("quarantine base64", rc, rc == 0 && b.len > 0 && b.p[b.len - 1] == '\n');
    col_quarantine_qbuf_free(&b);
    memset(&b, 0, sizeof(b));
    e.reason = "json";
    e.device = NULL;
    e.payload = MSGS[0].payload;
    e.payload_len = strlen(MSGS[0].payload);
    rc = col_quarantine_qline_build(&b, &e, 20);
    outcome("quarantine text", rc, rc == 0 && b.len > 0);
    col_quarantine_qbuf_free(&b);
}

int main(void)
{
    bool shim = ct_failalloc_start != NULL;
    if (!shim && getenv("CT_FAIL_ALLOC_REQUIRE_SHIM") != NULL) {
        fprintf(stderr, "alloc_driver: the failalloc shim is not preloaded\n");
        return 4;
    }
    sign_all();
    /* Warm up libc's process-wide caches so they are not allocated inside the window: the time
     * zone (tzset() keeps its data for the life of the process) and stdio's buffer. */
    tzset();
    time_t t0 = (time_t)(NOW_MS / 1000);
    struct tm tm0;
    localtime_r(&t0, &tm0);
    gmtime_r(&t0, &tm0);
    printf("alloc_driver: shim %s\n", shim ? "preloaded" : "absent");
    fflush(stdout);

    if (shim) {
        ct_failalloc_start();
    }
    struct ct_registry *reg = NULL;
    step_registry(&reg);
    step_config();
    step_payload();
    step_lp();
    if (reg != NULL) {
        step_pipeline(reg);
    } else {
        printf("pipeline: skipped (no registry)\n");
    }
    step_quarantine();
    ct_registry_free(reg);
    size_t leaked = 0;
    unsigned long count = 0;
    if (shim) {
        leaked = ct_failalloc_stop();
        count = ct_failalloc_count();
    }
    printf("allocations: %lu\n", count);
    printf("leaked: %zu\n", leaked);
    if (g_bad) {
        return 2;
    }
    return leaked != 0 ? 3 : 0;
}
