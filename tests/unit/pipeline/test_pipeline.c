/* test_pipeline.c - the collector pipeline's verdicts when memory runs out: a payload the
 * decoder could not allocate for, or a status message cJSON could not parse for lack of memory,
 * is refused as an overload (CT_E_NOMEM), never accepted without values nor taken for a schema
 * error; the same message is accepted once memory is back. A malformed topic that is not
 * NUL-terminated is quoted in the rejection without reading past its length (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "col_pipeline.h"
#include "ct/err.h"
#include "ct/registry.h"

#include "ct_failmalloc.h"

#define NOW_MS 1763888400000LL

static const char REGISTRY[] =
    "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"Trạm\",\"lat\":21.03,\"lon\":105.84,"
    "\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bông\"}\n"
    "{\"id\":\"hn-flood-0001\",\"kind\":\"flood\",\"name\":\"Ngập\",\"lat\":21.0,\"lon\":105.8,"
    "\"district\":\"Ba Đình\",\"ward\":\"Kim Mã\",\"bands_cm\":[10,30,50]}\n";

static const char UP_TOPIC[] = "city/v1/air/hn-air-0001/up";
static const char STATUS_TOPIC[] = "city/v1/flood/hn-flood-0001/status";

struct fixture {
    struct ct_registry *reg;
    struct col_pipeline *p;
};

static int setup(void **state)
{
    static struct fixture fx;
    char err[256];
    memset(&fx, 0, sizeof(fx));
    if (ct_registry_parse(REGISTRY, sizeof(REGISTRY) - 1, "t.jsonl", &fx.reg, err, sizeof(err)) !=
        0) {
        return -1;
    }
    struct col_pipeline_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.future_ms = 300000;
    cfg.backlog_ms = 7LL * 86400000;
    cfg.replay_window = 1024;
    cfg.max_devices = 16;
    if (col_pipeline_create(&cfg, &fx.p) != 0) {
        return -1;
    }
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    col_pipeline_free(fx->p);
    ct_registry_free(fx->reg);
    return 0;
}

static int process(struct fixture *fx, const char *topic, const char *payload,
                   struct col_verdict *v)
{
    return col_pipeline_process(fx->p, fx->reg, topic, strlen(topic), NULL, 0, payload,
                                strlen(payload), NOW_MS, v);
}

static void up_payload(char *out, size_t cap, unsigned seq)
{
    snprintf(out, cap,
             "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":1,\"seq\":%u,\"ts\":1763888400000,"
             "\"m\":{\"pm25\":41.2,\"pm10\":63.0}}",
             seq);
}

static void test_verdicts_without_failure(void **state)
{
    struct fixture *fx = *state;
    struct col_verdict v;
    char payload[256];
    up_payload(payload, sizeof(payload), 100);
    assert_int_equal(process(fx, UP_TOPIC, payload, &v), 0);
    assert_int_equal(v.reject, CT_REJ_NONE);
    assert_int_equal(v.reading.n, 2);
    assert_int_equal(process(fx, UP_TOPIC, payload, &v), 0);
    assert_int_equal(v.reject, CT_REJ_DUPLICATE);
    assert_int_equal(process(fx, UP_TOPIC, "{\"v\":1,", &v), 0);
    assert_int_equal(v.reject, CT_REJ_JSON);
    static const char off[] =
        "{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":1,\"seq\":1,\"state\":\"offline\"}";
    static const char on[] =
        "{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":1,\"seq\":0,\"state\":\"online\"}";
    assert_int_equal(process(fx, STATUS_TOPIC, off, &v), 0);
    assert_int_equal(v.reject, CT_REJ_NONE);
    assert_int_equal(v.status_online, 0);
    /* The same status again (a retained one on resubscribe) is a duplicate, an older one a
     * replay: neither changes the device's state. */
    assert_int_equal(process(fx, STATUS_TOPIC, off, &v), 0);
    assert_int_equal(v.reject, CT_REJ_DUPLICATE);
    assert_int_equal(process(fx, STATUS_TOPIC, on, &v), 0);
    assert_int_equal(v.reject, CT_REJ_REPLAY);
    assert_int_equal(v.status_online, -1);
    assert_int_equal(process(fx, STATUS_TOPIC, "{\"state\":", &v), 0);
    assert_int_equal(v.reject, CT_REJ_JSON);
}

/* The status decoder is the telemetry decoder's strictness (issue 13). */
static void test_status_strict(void **state)
{
    struct fixture *fx = *state;
    struct col_verdict v;
    static const struct {
        const char *payload;
        enum ct_reject want;
    } cases[] = {
        {"{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":2,\"seq\":0,\"state\":\"offline\"}x",
         CT_REJ_JSON},
        {"{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":2,\"seq\":0,\"state\":\"online\","
         "\"state\":\"offline\"}",
         CT_REJ_JSON},
        {"{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":2,\"seq\":0,\"state\":\"off\xc0\xafline\"}",
         CT_REJ_UTF8},
        {"{\"v\":99,\"id\":\"hn-flood-0001\",\"boot\":2,\"seq\":0,\"state\":\"offline\"}",
         CT_REJ_SCHEMA},
        {"{\"v\":1,\"id\":\"hn-flood-0001\",\"state\":\"offline\"}", CT_REJ_SCHEMA},
        {"{\"v\":1,\"id\":\"hn-flood-0002\",\"boot\":2,\"seq\":0,\"state\":\"offline\"}",
         CT_REJ_SPOOF},
        {"{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":2,\"seq\":0,\"state\":\"asleep\"}",
         CT_REJ_SCHEMA},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(process(fx, STATUS_TOPIC, cases[i].payload, &v), 0);
        assert_int_equal(v.reject, cases[i].want);
        assert_int_equal(v.status_online, -1);
    }
}

static void test_decode_out_of_memory_is_overload(void **state)
{
#if CT_FAILMALLOC
    struct fixture *fx = *state;
    struct col_verdict v;
    char payload[256];
    /* The device's state exists: only the decoder allocates below. */
    up_payload(payload, sizeof(payload), 1);
    assert_int_equal(process(fx, UP_TOPIC, payload, &v), 0);
    assert_int_equal(v.reject, CT_REJ_NONE);

    up_payload(payload, sizeof(payload), 2);
    uint64_t overload0 = col_pipeline_stats(fx->p)->rejected[CT_REJ_OVERLOAD];
    unsigned long nomem = 0;
    int rc = CT_E_NOMEM;
    for (unsigned long n = 1; rc == CT_E_NOMEM; n++) {
        ct_failmalloc_arm(n);
        rc = process(fx, UP_TOPIC, payload, &v);
        ct_failmalloc_disarm();
        if (rc == CT_E_NOMEM) {
            assert_int_equal(v.reject, CT_REJ_OVERLOAD);
            nomem++;
        }
    }
    /* Once memory is back the message is accepted with its values: the refusals did not mark
     * (boot, seq) as seen, and no refusal passed for an acceptance without values. */
    assert_int_equal(rc, 0);
    assert_int_equal(v.reject, CT_REJ_NONE);
    assert_int_equal(v.reading.n, 2);
    assert_true(nomem > 0);
    assert_true(col_pipeline_stats(fx->p)->rejected[CT_REJ_OVERLOAD] == overload0 + nomem);
#else
    (void)state;
    skip();
#endif
}

static void test_status_out_of_memory_is_overload(void **state)
{
#if CT_FAILMALLOC
    struct fixture *fx = *state;
    struct col_verdict v;
    char status[128];
    unsigned seq = 100;
    snprintf(status, sizeof(status),
             "{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":9,\"seq\":%u,\"state\":\"online\"}",
             seq++);
    assert_int_equal(process(fx, STATUS_TOPIC, status, &v), 0); /* the state exists */
    unsigned long nomem = 0;
    int rc = CT_E_NOMEM;
    for (unsigned long n = 1; rc == CT_E_NOMEM; n++) {
        snprintf(status, sizeof(status),
                 "{\"v\":1,\"id\":\"hn-flood-0001\",\"boot\":9,\"seq\":%u,\"state\":"
                 "\"online\"}",
                 seq++);
        ct_failmalloc_arm(n);
        rc = process(fx, STATUS_TOPIC, status, &v);
        ct_failmalloc_disarm();
        if (rc == CT_E_NOMEM) {
            assert_int_equal(v.reject, CT_REJ_OVERLOAD);
            nomem++;
        } else {
            assert_int_equal(v.reject, CT_REJ_NONE); /* never a schema rejection */
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(v.status_online, 1);
    assert_true(nomem > 0);
#else
    (void)state;
    skip();
#endif
}

/* A malformed topic arrives as topic_len bytes with no NUL after them (the MQTT client's buffer):
 * the rejection must quote exactly those bytes and read nothing past them. The buffer is malloc'ed
 * to the exact length, so an ASan build (-DCT_SANITIZE=ON) fails on any over-read. */
static void test_topic_not_nul_terminated(void **state)
{
    struct fixture *fx = *state;
    struct col_verdict v;
    char payload[256];
    static const char bad[] = "city/v1/air/hn air 0001";
    size_t n = sizeof(bad) - 1;
    char *topic = malloc(n);
    assert_non_null(topic);
    memcpy(topic, bad, n);
    up_payload(payload, sizeof(payload), 7);
    assert_int_equal(col_pipeline_process(fx->p, fx->reg, topic, n, NULL, 0, payload,
                                          strlen(payload), NOW_MS, &v),
                     0);
    assert_int_equal(v.reject, CT_REJ_TOPIC);
    assert_string_equal(v.why.text,
                        "topic \"city/v1/air/hn air 0001\" is not city/v1/<kind>/<id>/up");
    free(topic);

    /* A long one (150 bytes): quoted up to 120 bytes, still without reading past the end. */
    n = 150;
    topic = malloc(n);
    assert_non_null(topic);
    memset(topic, 'x', n);
    assert_int_equal(col_pipeline_process(fx->p, fx->reg, topic, n, NULL, 0, payload,
                                          strlen(payload), NOW_MS, &v),
                     0);
    assert_int_equal(v.reject, CT_REJ_TOPIC);
    assert_int_equal(strlen(v.why.text), strlen("topic \"\" is not city/v1/<kind>/<id>/up") + 120);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts_without_failure),
        cmocka_unit_test(test_decode_out_of_memory_is_overload),
        cmocka_unit_test(test_status_out_of_memory_is_overload),
        cmocka_unit_test(test_topic_not_nul_terminated),
        cmocka_unit_test(test_status_strict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
