/* test_app.c - fw_app's schedule on a fake clock (air every 60 s, flood faster when wet, rain on
 * tips plus heartbeat, parking on change, time compression), the self-check, the encoded payload
 * in the outbox, and the boot counter. No network: the app runs without a transport. */
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
#include "fw_app.h"

/* A test sampler: values set by the test. */
struct fake {
    double pm25;
    double t;
    double depth;
    double tips;
    double occupied;
    int reads;
};

static int fake_read(void *ctx, void *node, enum ct_kind kind, int64_t now_ms, struct ct_reading *r)
{
    struct fake *f = ctx;
    f->reads++;
    switch (kind) {
    case CT_KIND_AIR:
        ct_reading_set_num(r, "pm25", f->pm25);
        return ct_reading_set_num(r, "t", f->t);
    case CT_KIND_FLOOD:
        return ct_reading_set_num(r, "depth", f->depth);
    case CT_KIND_RAIN:
        return ct_reading_set_num(r, "tips", f->tips);
    case CT_KIND_PARKING:
        ct_reading_set_num(r, "capacity", 100);
        return ct_reading_set_num(r, "occupied", f->occupied);
    default:
        return ct_reading_set_num(r, "ph", 7.0);
    }
}

struct fx {
    char dir[128];
    struct fw_nvs *nvs;
    struct fw_app *app;
    struct fake fake;
    struct fw_sampler sampler;
    uint8_t key[CT_KEY_LEN];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-app-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(fw_nvs_open(f->dir, &f->nvs), 0);
    f->fake.pm25 = 40;
    f->fake.t = 29;
    f->sampler.read = fake_read;
    f->sampler.ctx = &f->fake;
    memset(f->key, 0x42, sizeof(f->key));
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    fw_app_destroy(f->app);
    fw_nvs_close(f->nvs);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void make_app(struct fx *f, enum ct_kind kind, const char *id, double scale)
{
    fw_app_destroy(f->app);
    f->app = NULL;
    struct fw_app_cfg cfg = {
        .kind = kind,
        .id = id,
        .key = f->key,
        .nvs = f->nvs,
        .time_scale = scale,
        .sync = false,
        .sampler = &f->sampler,
    };
    assert_int_equal(fw_app_create(&cfg, &f->app), 0);
}

static uint64_t queued(const struct fx *f)
{
    struct fw_app_stats st;
    fw_app_get_stats(f->app, &st);
    return st.queued;
}

/* Steps the app from 'from' to 'to' ms the way a firmware loop does: jumping to each wake time.
 * Returns the number of steps. */
static int run_until(struct fx *f, int64_t from, int64_t to)
{
    int64_t now = from;
    int steps = 0;
    while (now <= to) {
        int64_t next = fw_app_step(f->app, now);
        assert_true(next > now);
        now = next;
        steps++;
        assert_true(steps < 100000);
    }
    return steps;
}

static void test_app_air_every_60s(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_AIR, "hn-air-0001", 1);
    assert_int_equal(fw_app_step(f->app, 0), 60000);
    assert_int_equal(queued(f), 1);
    assert_int_equal(fw_app_step(f->app, 59999), 60000); /* early: nothing due */
    assert_int_equal(queued(f), 1);
    run_until(f, 60000, 600000);
    assert_int_equal(queued(f), 11); /* 0, 60, ..., 600 s */
    assert_int_equal(f->fake.reads, 11);
    /* The outbox holds them in order, encoded with boot and seq. */
    struct fw_outbox_rec rec;
    struct ct_reading r;
    struct ct_reason why;
    struct fw_outbox *ob = (struct fw_outbox *)fw_app_outbox(f->app);
    for (uint64_t i = 0; i < 11; i++) {
        assert_int_equal(fw_outbox_next(ob, &rec), 0);
        assert_int_equal(ct_payload_decode(rec.payload, rec.len, CT_KIND_AIR, &r, &why), 0);
        assert_string_equal(r.id, "hn-air-0001");
        assert_int_equal(r.seq, i);
        assert_int_equal(r.boot, 0);
        assert_int_equal(r.n, 2);
        assert_true(ct_reading_get(&r, "pm25")->num == 40.0);
    }
}

/* Live readings of one boot have strictly increasing timestamps even when the loop samples twice
 * within one wall-clock millisecond (a stalled loop catching up; here a fake monotonic clock that
 * runs far ahead of the wall clock): the store keys a raw point by device and time, so an equal
 * timestamp would overwrite an acknowledged reading (e2e_scaleout lost one that way). */
static void test_app_timestamps_strictly_increase(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_AIR, "hn-air-0001", 1);
    run_until(f, 0, 60000LL * 49); /* 50 samples in far less than 50 ms of wall time */
    assert_int_equal(queued(f), 50);
    struct fw_outbox_rec rec;
    struct ct_reading r;
    struct ct_reason why;
    struct fw_outbox *ob = (struct fw_outbox *)fw_app_outbox(f->app);
    int64_t prev = 0;
    for (uint64_t i = 0; i < 50; i++) {
        assert_int_equal(fw_outbox_next(ob, &rec), 0);
        assert_int_equal(ct_payload_decode(rec.payload, rec.len, CT_KIND_AIR, &r, &why), 0);
        assert_int_equal(r.seq, i);
        assert_true(r.ts_ms > prev);
        prev = r.ts_ms;
    }
}

/* fw_app_backfill: past readings stamped with the given wall time, oldest first with the next
 * seq, then the live ones; only for air and water. */
static void test_app_backfill(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_AIR, "hn-air-0001", 1);
    const int64_t t0 = 1796450400000LL; /* 2026-12-05T07:00:00Z */
    for (int i = 0; i < 3; i++) {
        f->fake.pm25 = 10.0 * (i + 1);
        assert_int_equal(fw_app_backfill(f->app, -1000 * (3 - i), t0 + 600000LL * i), 0);
    }
    f->fake.pm25 = 99;
    fw_app_step(f->app, 0); /* the first live reading */
    assert_int_equal(queued(f), 4);
    struct fw_outbox_rec rec;
    struct ct_reading r;
    struct ct_reason why;
    struct fw_outbox *ob = (struct fw_outbox *)fw_app_outbox(f->app);
    for (uint64_t i = 0; i < 4; i++) {
        assert_int_equal(fw_outbox_next(ob, &rec), 0);
        assert_int_equal(ct_payload_decode(rec.payload, rec.len, CT_KIND_AIR, &r, &why), 0);
        assert_int_equal(r.seq, i);
        if (i < 3) {
            assert_true(r.ts_ms == t0 + 600000LL * (int64_t)i);
            assert_true(ct_reading_get(&r, "pm25")->num == 10.0 * (double)(i + 1));
        } else {
            assert_true(r.ts_ms > t0 + 1800000LL); /* the wall clock */
            assert_true(ct_reading_get(&r, "pm25")->num == 99.0);
        }
    }
    make_app(f, CT_KIND_RAIN, "hn-rain-0001", 1);
    assert_int_equal(fw_app_backfill(f->app, 0, t0), CT_E_INVAL);
    make_app(f, CT_KIND_AIR, "hn-air-0001", 1);
    assert_int_equal(fw_app_backfill(f->app, 0, -1), CT_E_INVAL);
}

static void test_app_time_compression(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_AIR, "hn-air-0002", 60); /* a minute becomes a second */
    run_until(f, 0, 10000);
    assert_int_equal(queued(f), 11);
}

static void test_app_flood_faster_when_wet(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_FLOOD, "hn-flood-0001", 1);
    f->fake.depth = 0;
    run_until(f, 0, 900000); /* dry: 0, 300, 600, 900 s */
    assert_int_equal(queued(f), 4);
    f->fake.depth = 12.5; /* water arrives: the 1200 s sample sees it, then every 30 s */
    int64_t next = fw_app_step(f->app, 1200000);
    assert_int_equal(queued(f), 5);
    assert_int_equal(next, 1230000);
    run_until(f, 1230000, 1500000); /* 1230..1500 s: 10 samples */
    assert_int_equal(queued(f), 15);
    f->fake.depth = 0; /* drained: back to 300 s */
    next = fw_app_step(f->app, 1530000);
    assert_int_equal(queued(f), 16);
    assert_int_equal(next, 1830000);
}

static void test_app_rain_tips_and_heartbeat(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_RAIN, "hn-rain-0001", 1);
    f->fake.tips = 0;
    run_until(f, 0, 290000); /* first reading, then polls each 10 s without change */
    assert_int_equal(queued(f), 1);
    run_until(f, 300000, 300000); /* heartbeat */
    assert_int_equal(queued(f), 2);
    f->fake.tips = 7; /* a shower: sent at the next poll with mm = 7 * 0.2 */
    fw_app_step(f->app, 310000);
    assert_int_equal(queued(f), 3);
    struct fw_outbox *ob = (struct fw_outbox *)fw_app_outbox(f->app);
    struct fw_outbox_rec rec;
    struct ct_reading r;
    struct ct_reason why;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fw_outbox_next(ob, &rec), 0);
    }
    assert_int_equal(ct_payload_decode(rec.payload, rec.len, CT_KIND_RAIN, &r, &why), 0);
    assert_true(ct_reading_get(&r, "tips")->num == 7.0);
    assert_true(ct_reading_get(&r, "mm")->num == 1.4);
}

static void test_app_parking_on_change(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_PARKING, "hn-park-0001", 1);
    f->fake.occupied = 10;
    run_until(f, 0, 100000);
    assert_int_equal(queued(f), 1);
    f->fake.occupied = 11;
    fw_app_step(f->app, 110000);
    assert_int_equal(queued(f), 2);
    fw_app_step(f->app, 120000);
    assert_int_equal(queued(f), 2);
}

static void test_app_self_check_drops_out_of_range(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_AIR, "hn-air-0003", 1);
    f->fake.pm25 = 2500; /* above 2000: not sent */
    fw_app_step(f->app, 0);
    struct fw_app_stats st;
    fw_app_get_stats(f->app, &st);
    assert_int_equal(st.out_of_range, 1);
    assert_int_equal(st.queued, 1);
    struct fw_outbox_rec rec;
    struct ct_reading r;
    struct ct_reason why;
    assert_int_equal(fw_outbox_next((struct fw_outbox *)fw_app_outbox(f->app), &rec), 0);
    assert_int_equal(ct_payload_decode(rec.payload, rec.len, CT_KIND_AIR, &r, &why), 0);
    assert_null(ct_reading_get(&r, "pm25"));
    assert_non_null(ct_reading_get(&r, "t"));
    f->fake.t = 99; /* nothing valid left: not queued at all */
    fw_app_step(f->app, 60000);
    fw_app_get_stats(f->app, &st);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.empty, 1);
    assert_int_equal(st.out_of_range, 3);
}

static void test_app_boot_counter_and_backlog(void **state)
{
    struct fx *f = *state;
    make_app(f, CT_KIND_AIR, "hn-air-0004", 1);
    run_until(f, 0, 120000);
    assert_int_equal(queued(f), 3);
    make_app(f, CT_KIND_AIR, "hn-air-0004", 1); /* a restart */
    struct fw_app_stats st;
    fw_app_get_stats(f->app, &st);
    assert_int_equal(st.boot, 1);
    assert_int_equal(fw_outbox_pending(fw_app_outbox(f->app)), 3); /* the unsent backlog stays */
    fw_app_step(f->app, 0);
    struct fw_outbox *ob = (struct fw_outbox *)fw_app_outbox(f->app);
    struct fw_outbox_rec rec;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fw_outbox_next(ob, &rec), 0);
        assert_int_equal(rec.boot, 0);
    }
    assert_int_equal(fw_outbox_next(ob, &rec), 0);
    assert_int_equal(rec.boot, 1);
    assert_int_equal(rec.seq, 0); /* seq restarts each boot */
    assert_true(fw_app_default_max_records(CT_KIND_AIR, 0) >= 7 * 1440);
    assert_true(fw_app_default_max_records(CT_KIND_FLOOD, 0) >= 7 * 2880);
    assert_true(fw_app_default_max_records(CT_KIND_AIR, 0) >= 10080);
    assert_true(fw_app_default_max_records(CT_KIND_WATER, 0) >= 7 * 288);
    assert_true(fw_app_default_max_records(CT_KIND_RAIN, 0) >= 7 * 8640);
    assert_true(fw_app_default_max_records(CT_KIND_PARKING, 0) >= 7 * 8640);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_app_air_every_60s, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_time_compression, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_timestamps_strictly_increase, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_backfill, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_flood_faster_when_wet, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_rain_tips_and_heartbeat, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_parking_on_change, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_self_check_drops_out_of_range, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_boot_counter_and_backlog, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
