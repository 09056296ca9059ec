/* test_physics.c - fleet-sim's city model: reproducible from the seed, plausible Hanoi shapes
 * (PM2.5 traffic peaks, parking rush hours, rain leading to tips and flood depth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ct/err.h"
#include "sim_physics.h"

#define HOUR 3600000LL
/* 2026-01-05 00:00 UTC = 07:00 in Hanoi. */
#define T0 1767571200000LL

static struct ct_device dev_of(enum ct_kind kind)
{
    struct ct_device d;
    memset(&d, 0, sizeof(d));
    d.kind = kind;
    d.mm_per_tip = 0.2;
    d.park_mode = kind == CT_KIND_PARKING ? CT_PARK_LOT : CT_PARK_NONE;
    d.capacity = 200;
    return d;
}

/* Reads channel at Hanoi hour h (scale 1: real time == simulated time from T0). */
static double at(struct sim_physics *p, struct sim_node *n, const char *ch, double hanoi_h)
{
    double v = -1;
    int64_t mono = (int64_t)((hanoi_h - 7.0) * (double)HOUR);
    assert_int_equal(sim_physics_read(p, n, n->dev->kind, ch, mono, &v), 0);
    return v;
}

static void test_physics_reproducible(void **state)
{
    struct sim_physics a, b, c;
    sim_physics_init(&a, 42, 1, T0, 0);
    sim_physics_init(&b, 42, 1, T0, 0);
    sim_physics_init(&c, 43, 1, T0, 0);
    struct ct_device d = dev_of(CT_KIND_AIR);
    struct sim_node na = {.dev = &d, .index = 3};
    struct sim_node nb = na;
    struct sim_node nc = na;
    int differ = 0;
    for (double h = 7; h < 31; h += 0.5) {
        double x = at(&a, &na, "pm25", h);
        assert_true(x == at(&b, &nb, "pm25", h));
        differ += x != at(&c, &nc, "pm25", h);
        assert_true(x > 0 && x <= 2000);
    }
    assert_true(differ > 0);
    double v;
    assert_int_equal(sim_physics_read(&a, &na, CT_KIND_AIR, "depth", 0, &v), CT_E_NOTFOUND);
}

static void test_physics_daily_cycles(void **state)
{
    struct sim_physics p;
    sim_physics_init(&p, 7, 1, T0, 0);
    struct ct_device air = dev_of(CT_KIND_AIR);
    struct ct_device lot = dev_of(CT_KIND_PARKING);
    double rush = 0, midday = 0, night = 0, occ_rush = 0, occ_night = 0;
    for (uint32_t i = 0; i < 20; i++) {
        struct sim_node n = {.dev = &air, .index = i};
        rush += at(&p, &n, "pm25", 8.0) + at(&p, &n, "pm25", 18.5);
        midday += 2 * at(&p, &n, "pm25", 14.0);
        struct sim_node m = {.dev = &lot, .index = i};
        occ_rush += at(&p, &m, "occupied", 18.0);
        occ_night += at(&p, &m, "occupied", 27.0); /* 03:00 */
        night += at(&p, &m, "capacity", 3.0);
    }
    assert_true(rush > midday * 1.2);        /* traffic peaks */
    assert_true(occ_rush > occ_night * 2.0); /* rush hour against the night */
    assert_true(night == 20 * 200.0);
}

static void test_physics_rain_tips_and_flood(void **state)
{
    struct sim_physics p;
    sim_physics_init(&p, 5, 1, T0, 0);
    /* Find a downpour in the first 30 days of the seed's weather. */
    int64_t t = 0;
    while (sim_physics_rain_mmh(&p, T0 + t) < 40.0) {
        t += 10 * 60000;
        assert_true(t < 30 * 24 * HOUR);
    }
    struct ct_device rd = dev_of(CT_KIND_RAIN);
    struct ct_device fd = dev_of(CT_KIND_FLOOD);
    struct sim_node rn = {.dev = &rd, .index = 1};
    struct sim_node fn = {.dev = &fd, .index = 1};
    double tips0 = -1, tips1 = -1, depth = 0, maxdepth = 0;
    int64_t from = t - 2 * HOUR;
    for (int64_t s = from; s <= t + 2 * HOUR; s += 60000) {
        double v;
        assert_int_equal(sim_physics_read(&p, &rn, CT_KIND_RAIN, "tips", s, &v), 0);
        tips0 = tips0 < 0 ? v : tips0;
        assert_true(v >= tips1); /* cumulative */
        tips1 = v;
        assert_int_equal(sim_physics_read(&p, &fn, CT_KIND_FLOOD, "depth", s, &depth), 0);
        assert_true(depth >= 0 && depth <= 500);
        maxdepth = depth > maxdepth ? depth : maxdepth;
    }
    assert_true(tips1 - tips0 > 50); /* > 10 mm fell */
    assert_true(maxdepth > 1.0);     /* the street flooded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_physics_reproducible),
        cmocka_unit_test(test_physics_daily_cycles),
        cmocka_unit_test(test_physics_rain_tips_and_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
