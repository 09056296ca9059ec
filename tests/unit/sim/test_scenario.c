/* test_scenario.c - fleet-sim scenario files and faults: the five shipped scenarios parse with
 * their settings; malformed ones are refused naming the member; durations and ISO times; stuck
 * sensors give constant values, drift grows, spikes happen at their rate, selection follows the
 * fraction and the ids, offline/skew windows, one-shot reboots and replacements, and garbage
 * payloads that the strict decoder refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/payload.h"
#include "sim_faults.h"
#include "sim_scenario.h"

#define HOUR 3600000LL
#define MIN 60000LL

static void load(const char *name, struct sim_scenario *sc)
{
    const char *src = getenv("CT_SOURCE_DIR");
    assert_non_null(src);
    char path[512], err[512] = "";
    snprintf(path, sizeof(path), "%s/simulations/scenarios/%s", src, name);
    int rc = sim_scenario_load(path, sc, err, sizeof(err));
    if (rc != 0) {
        print_error("%s\n", err);
    }
    assert_int_equal(rc, 0);
}

static void test_scenario_shipped_files(void **state)
{
    static struct sim_scenario sc;
    int64_t t;
    load("monsoon-storm.json", &sc);
    assert_string_equal(sc.name, "monsoon-storm");
    assert_true(sc.has_start);
    assert_int_equal(sim_parse_iso("2026-07-16T06:00:00Z", &t), 0);
    assert_true(sc.start_ms == t);
    assert_true(sc.rate_scale == 60);
    assert_true(sc.sim_ms == 6 * HOUR);
    assert_false(sc.auto_storms);
    assert_int_equal(sc.nstorms, 2);
    assert_true(sc.storms[0].start_ms == 30 * MIN && sc.storms[0].peak_mmh == 90);
    assert_true(sc.storms[0].duration_h == 3.0);
    assert_int_equal(sc.nfaults, 2);
    assert_int_equal(sc.faults[0].type, SIM_FAULT_OFFLINE);
    assert_true(sc.faults[0].kinds == ((1u << CT_KIND_FLOOD) | (1u << CT_KIND_RAIN)));
    load("normal-day.json", &sc);
    assert_int_equal(sc.nfaults, 8);
    assert_true(sc.auto_storms && sc.auto_haze);
    load("winter-haze.json", &sc);
    assert_int_equal(sc.nhaze, 1);
    assert_true(sc.haze[0].factor > 2.0 && sc.haze[0].days == 3);
    assert_int_equal(sim_physics_month(sc.start_ms), 1);
    load("broker-outage.json", &sc);
    assert_int_equal(sc.nmarks, 3);
    assert_true(sc.marks[0].at_ms == 30 * MIN && sc.marks[1].at_ms == 90 * MIN);
    assert_non_null(strstr(sc.marks[0].label, "STOP THE BROKER"));
    load("store-outage.json", &sc);
    assert_true(sc.sim_ms == 2 * HOUR);
    /* Applied weather is absolute. */
    load("monsoon-storm.json", &sc);
    struct sim_physics p;
    sim_physics_init(&p, 1, 60, sc.start_ms, 0);
    assert_int_equal(sim_scenario_apply_weather(&sc, &p), 0);
    assert_false(p.auto_storms);
    assert_true(p.storms[0].start_ms == sc.start_ms + 30 * MIN);
}

static int parse(const char *json, char *err, size_t cap)
{
    static struct sim_scenario sc;
    err[0] = '\0';
    return sim_scenario_parse(json, strlen(json), &sc, err, cap);
}

static void test_scenario_refused(void **state)
{
    char err[256];
    assert_int_equal(parse("{\"rate_scal\":60}", err, sizeof(err)), CT_E_PARSE);
    assert_non_null(strstr(err, "rate_scal"));
    assert_int_equal(parse("{\"rate_scale\":0}", err, sizeof(err)), CT_E_PARSE);
    assert_int_equal(parse("{\"start\":\"yesterday\"}", err, sizeof(err)), CT_E_PARSE);
    assert_int_equal(parse("{\"faults\":[{\"type\":\"melt\",\"fraction\":1}]}", err, sizeof(err)),
                     CT_E_PARSE);
    assert_int_equal(parse("{\"faults\":[{\"type\":\"stuck\"}]}", err, sizeof(err)), CT_E_PARSE);
    assert_non_null(strstr(err, "fraction"));
    assert_int_equal(
        parse("{\"faults\":[{\"type\":\"stuck\",\"fraction\":1,\"kinds\":[\"lava\"]}]}", err,
              sizeof(err)),
        CT_E_PARSE);
    assert_int_equal(parse("{\"storms\":[{\"at\":\"1h\",\"lat\":21}]}", err, sizeof(err)),
                     CT_E_PARSE);
    assert_non_null(strstr(err, "storms[0]"));
    assert_int_equal(parse("{\"marks\":[{\"at\":\"soon\",\"label\":\"x\"}]}", err, sizeof(err)),
                     CT_E_PARSE);
    assert_int_equal(parse("{\"weather\":{\"auto_storms\":1}}", err, sizeof(err)), CT_E_PARSE);
    assert_int_equal(parse("[1,2]", err, sizeof(err)), CT_E_PARSE);
    assert_int_equal(parse("{", err, sizeof(err)), CT_E_PARSE);
    assert_int_equal(parse("{\"name\":\"ok\",\"seed\":5,\"sim_duration\":90}", err, sizeof(err)),
                     0);
}

static void test_scenario_times(void **state)
{
    int64_t ms;
    assert_int_equal(sim_parse_duration("90m", &ms), 0);
    assert_true(ms == 90 * MIN);
    assert_int_equal(sim_parse_duration("1h30m", &ms), 0);
    assert_true(ms == 90 * MIN);
    assert_int_equal(sim_parse_duration("+2d", &ms), 0);
    assert_true(ms == 48 * HOUR);
    assert_int_equal(sim_parse_duration("1.5s", &ms), 0);
    assert_true(ms == 1500);
    assert_int_equal(sim_parse_duration("5", &ms), CT_E_PARSE);
    assert_int_equal(sim_parse_duration("h", &ms), CT_E_PARSE);
    assert_int_equal(sim_parse_duration("", &ms), CT_E_PARSE);
    assert_int_equal(sim_parse_duration("-1h", &ms), CT_E_PARSE);
    assert_int_equal(sim_parse_iso("2026-07-16T14:00:00+07:00", &ms), 0);
    assert_true(ms == 1784185200000LL);
    assert_int_equal(sim_parse_iso("2026-07-16T07:00Z", &ms), 0);
    assert_true(ms == 1784185200000LL);
    assert_int_equal(sim_parse_iso("2026-07-16", &ms), 0); /* midnight in Hanoi */
    assert_true(ms == 1784185200000LL - 14 * HOUR);
    assert_int_equal(sim_parse_iso("2026-13-01", &ms), CT_E_PARSE);
    assert_int_equal(sim_parse_iso("2026-07-16T14:00+7", &ms), CT_E_PARSE);
}

static struct ct_device air_dev(const char *id)
{
    struct ct_device d;
    memset(&d, 0, sizeof(d));
    d.kind = CT_KIND_AIR;
    snprintf(d.id, sizeof(d.id), "%s", id);
    return d;
}

static void test_faults_sensor(void **state)
{
    static struct sim_scenario sc;
    const char *json = "{\"faults\":["
                       "{\"type\":\"stuck\",\"ids\":[\"a-stuck\"],\"at\":\"1h\",\"for\":\"2h\"},"
                       "{\"type\":\"drift\",\"ids\":[\"a-drift\"],\"value\":10},"
                       "{\"type\":\"spike\",\"ids\":[\"a-spike\"],\"prob\":0.1,\"value\":5}]}";
    char err[256];
    assert_int_equal(sim_scenario_parse(json, strlen(json), &sc, err, sizeof(err)), 0);
    const int64_t t0 = 1767571200000LL;
    struct sim_fault_ctx ctx = {.sc = &sc, .start_sim = t0, .seed = 4};
    struct ct_device ds = air_dev("a-stuck"), dd = air_dev("a-drift"), dp = air_dev("a-spike");
    struct ct_device other = air_dev("a-fine");
    struct sim_fault_state s = {.mask = sim_faults_select(&ctx, &ds)};
    struct sim_fault_state d = {.mask = sim_faults_select(&ctx, &dd)};
    struct sim_fault_state p = {.mask = sim_faults_select(&ctx, &dp)};
    struct sim_fault_state o = {.mask = sim_faults_select(&ctx, &other)};
    assert_int_equal(s.mask, 1);
    assert_int_equal(d.mask, 2);
    assert_int_equal(p.mask, 4);
    assert_int_equal(o.mask, 0);
    /* Stuck: before 1 h the values pass; from 1 h to 3 h every channel keeps its first value. */
    assert_true(sim_faults_filter(&ctx, &s, &ds, "pm25", t0, 40.0) == 40.0);
    double frozen_pm = sim_faults_filter(&ctx, &s, &ds, "pm25", t0 + HOUR, 41.0);
    double frozen_t = sim_faults_filter(&ctx, &s, &ds, "t", t0 + HOUR, 29.5);
    for (int i = 1; i < 100; i++) {
        int64_t t = t0 + HOUR + i * MIN;
        assert_true(sim_faults_filter(&ctx, &s, &ds, "pm25", t, 41.0 + i) == frozen_pm);
        assert_true(sim_faults_filter(&ctx, &s, &ds, "t", t, 29.5 + i) == frozen_t);
    }
    assert_true(sim_faults_filter(&ctx, &s, &ds, "pm25", t0 + 3 * HOUR, 77.0) == 77.0);
    /* Drift: +10 % per day. */
    assert_true(sim_faults_filter(&ctx, &d, &dd, "pm25", t0, 50.0) == 50.0);
    double drifted = sim_faults_filter(&ctx, &d, &dd, "pm25", t0 + 48 * HOUR, 50.0);
    assert_true(drifted > 59.9 && drifted < 60.1);
    /* Spikes: about 10 % of reads become v*5+5; none for the healthy node. */
    int spikes = 0, other_changed = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t t = t0 + i * MIN;
        spikes += sim_faults_filter(&ctx, &p, &dp, "pm25", t, 30.0) == 155.0;
        other_changed += sim_faults_filter(&ctx, &o, &other, "pm25", t, 30.0) != 30.0;
    }
    print_message("spikes: %d / 2000\n", spikes);
    assert_true(spikes > 120 && spikes < 280);
    assert_int_equal(other_changed, 0);
}

static void test_faults_node(void **state)
{
    static struct sim_scenario sc;
    const char *json = "{\"faults\":["
                       "{\"type\":\"offline\",\"fraction\":0.25,\"kinds\":[\"air\"],\"at\":\"1h\","
                       "\"for\":\"3h\"},"
                       "{\"type\":\"skew\",\"ids\":[\"n-1\"],\"value\":-600000},"
                       "{\"type\":\"reboot\",\"ids\":[\"n-1\"],\"at\":\"2h\"},"
                       "{\"type\":\"replace\",\"ids\":[\"n-2\"],\"at\":\"5h\"},"
                       "{\"type\":\"garbage\",\"ids\":[\"n-2\"],\"prob\":0.5}]}";
    char err[256];
    assert_int_equal(sim_scenario_parse(json, strlen(json), &sc, err, sizeof(err)), 0);
    const int64_t t0 = 1767571200000LL;
    struct sim_fault_ctx ctx = {.sc = &sc, .start_sim = t0, .seed = 8};
    /* The fraction picks about a quarter of the air nodes, the same ones for the same seed. */
    int hit = 0, hit_again = 0;
    for (int i = 0; i < 2000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "x-%d", i);
        struct ct_device d = air_dev(id);
        hit += (sim_faults_select(&ctx, &d) & 1u) != 0;
        hit_again += (sim_faults_select(&ctx, &d) & 1u) != 0;
        d.kind = CT_KIND_WATER;
        assert_int_equal(sim_faults_select(&ctx, &d) & 1u, 0);
    }
    assert_int_equal(hit, hit_again);
    assert_true(hit > 400 && hit < 600);
    struct ct_device n1 = air_dev("n-1"), n2 = air_dev("n-2");
    n1.kind = CT_KIND_RAIN;
    struct sim_fault_state s1 = {.mask = sim_faults_select(&ctx, &n1)};
    struct sim_fault_state s2 = {.mask = sim_faults_select(&ctx, &n2)};
    assert_int_equal(s1.mask & 6u, 6u);
    assert_int_equal(s2.mask & 24u, 24u);
    struct sim_fault_state off = {.mask = 1};
    assert_false(sim_faults_offline(&ctx, &off, t0 + 59 * MIN));
    assert_true(sim_faults_offline(&ctx, &off, t0 + 2 * HOUR));
    assert_false(sim_faults_offline(&ctx, &off, t0 + 4 * HOUR));
    assert_true(sim_faults_skew_ms(&ctx, &s1, t0) == -600000);
    assert_true(sim_faults_skew_ms(&ctx, &s2, t0) == 0);
    /* One-shot faults: due from their time until marked done. */
    assert_int_equal(sim_faults_due(&ctx, &s1, SIM_FAULT_REBOOT, t0 + HOUR), -1);
    assert_int_equal(sim_faults_due(&ctx, &s1, SIM_FAULT_REBOOT, t0 + 2 * HOUR), 2);
    s1.done |= 1u << 2;
    assert_int_equal(sim_faults_due(&ctx, &s1, SIM_FAULT_REBOOT, t0 + 9 * HOUR), -1);
    assert_int_equal(sim_faults_due(&ctx, &s2, SIM_FAULT_REPLACE, t0 + 5 * HOUR), 3);
    assert_int_equal(sim_faults_due(&ctx, &s2, SIM_FAULT_REBOOT, t0 + 5 * HOUR), -1);
    /* Garbage: about half the readings, each payload refused by the strict decoder. */
    int garbage = 0;
    for (uint64_t n = 0; n < 400; n++) {
        if (!sim_faults_garbage(&ctx, &s2, &n2, n, t0)) {
            continue;
        }
        garbage++;
        char buf[256];
        size_t len = sim_faults_garbage_payload("n-2", n, buf, sizeof(buf));
        assert_true(len > 0);
        struct ct_reading r;
        struct ct_reason why;
        int rc = ct_payload_decode(buf, len, CT_KIND_AIR, &r, &why);
        assert_true(rc != 0 || strcmp(r.id, "n-2") != 0);
    }
    assert_true(garbage > 150 && garbage < 250);
    assert_false(sim_faults_garbage(&ctx, &s1, &n1, 1, t0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_shipped_files),
        cmocka_unit_test(test_scenario_refused),
        cmocka_unit_test(test_scenario_times),
        cmocka_unit_test(test_faults_sensor),
        cmocka_unit_test(test_faults_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
