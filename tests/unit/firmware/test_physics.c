/* test_physics.c - fleet-sim's city model: reproducible from the seed; a storm cell crossing the
 * city rains on the gauges under its path in the order it reaches them and not on far ones; a
 * low spot floods above its drain rate and drains afterwards; winter PM2.5 and a haze episode
 * against summer; rush hours in PM2.5 and per lot character; turbidity after a storm; automatic
 * storms in the monsoon, not in the dry season. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ct/err.h"
#include "sim_physics.h"

#define HOUR 3600000LL
#define MIN 60000LL
/* 2026-01-05 00:00 UTC = 07:00 in Hanoi, a Monday. */
#define T_JAN 1767571200000LL
/* 2026-07-13 00:00 UTC = 07:00 in Hanoi, a Monday. */
#define T_JUL 1783900800000LL
#define CENTRE_LAT 21.0285
#define CENTRE_LON 105.8522

static struct ct_device dev_at(enum ct_kind kind, const char *id, double lat, double lon)
{
    struct ct_device d;
    memset(&d, 0, sizeof(d));
    d.kind = kind;
    snprintf(d.id, sizeof(d.id), "%s", id);
    d.lat = lat;
    d.lon = lon;
    d.mm_per_tip = 0.2;
    d.park_mode = kind == CT_KIND_PARKING ? CT_PARK_LOT : CT_PARK_NONE;
    d.capacity = 200;
    return d;
}

/* Reads a channel at simulated time t (mono = t - start_sim at scale 1). */
static double rd(struct sim_physics *p, struct sim_node *n, const char *ch, int64_t t)
{
    double v = -1;
    assert_int_equal(sim_physics_read(p, n, n->dev->kind, ch, t - p->start_sim, &v), 0);
    return v;
}

/* Scale 1, no automatic weather. */
static void calm(struct sim_physics *p, uint64_t seed, int64_t start)
{
    sim_physics_init(p, seed, 1, start, 0);
    p->auto_storms = false;
    p->auto_haze = false;
}

static void test_physics_reproducible(void **state)
{
    struct sim_physics a, b, c;
    sim_physics_init(&a, 42, 1, T_JAN, 0);
    sim_physics_init(&b, 42, 1, T_JAN, 0);
    sim_physics_init(&c, 43, 1, T_JAN, 0);
    struct ct_device d = dev_at(CT_KIND_AIR, "hn-air-00003", 21.03, 105.85);
    struct sim_node na = {.dev = &d, .index = 3};
    struct sim_node nb = na;
    struct sim_node nc = na;
    int differ = 0;
    for (int64_t t = T_JAN; t < T_JAN + 24 * HOUR; t += 30 * MIN) {
        double x = rd(&a, &na, "pm25", t);
        assert_true(x == rd(&b, &nb, "pm25", t));
        differ += x != rd(&c, &nc, "pm25", t);
        assert_true(x > 0 && x <= 2000);
    }
    assert_true(differ > 0);
    double v;
    assert_int_equal(sim_physics_read(&a, &na, CT_KIND_AIR, "depth", 0, &v), CT_E_NOTFOUND);
    /* The clock mapping compresses time. */
    struct sim_physics s;
    sim_physics_init(&s, 1, 60, T_JAN, 1000);
    assert_true(sim_physics_time(&s, 2000) == T_JAN + 60000);
}

static void test_physics_storm_crossing(void **state)
{
    struct sim_physics p;
    calm(&p, 9, T_JUL);
    /* A cell born 30 km west of the centre, moving east at 30 km/h. */
    struct sim_storm s = {.start_ms = T_JUL + HOUR,
                          .lat = CENTRE_LAT,
                          .lon = CENTRE_LON - 0.289,
                          .heading_deg = 90,
                          .speed_kmh = 30,
                          .radius_km = 8,
                          .peak_mmh = 80,
                          .duration_h = 3};
    assert_int_equal(sim_physics_add_storm(&p, &s), 0);
    /* Gauges on its path 10, 20, 30 km east of its birth place, and one 40 km north. */
    struct ct_device dv[4] = {
        dev_at(CT_KIND_RAIN, "g10", CENTRE_LAT, CENTRE_LON - 0.193),
        dev_at(CT_KIND_RAIN, "g20", CENTRE_LAT, CENTRE_LON - 0.096),
        dev_at(CT_KIND_RAIN, "g30", CENTRE_LAT, CENTRE_LON),
        dev_at(CT_KIND_RAIN, "far", CENTRE_LAT + 0.36, CENTRE_LON - 0.096),
    };
    struct sim_node g[4];
    int64_t first[4] = {0, 0, 0, 0};
    double tips[4] = {0};
    for (int i = 0; i < 4; i++) {
        g[i] = (struct sim_node){.dev = &dv[i], .index = (uint32_t)i};
    }
    for (int64_t t = T_JUL; t <= T_JUL + 6 * HOUR; t += MIN) {
        for (int i = 0; i < 4; i++) {
            tips[i] = rd(&p, &g[i], "tips", t);
            if (tips[i] > 0 && first[i] == 0) {
                first[i] = t;
            }
        }
    }
    print_message("tips: %.0f %.0f %.0f far %.0f\n", tips[0], tips[1], tips[2], tips[3]);
    for (int i = 0; i < 3; i++) {
        assert_true(tips[i] * 0.2 > 10.0); /* > 10 mm under the path */
        assert_true(first[i] > 0);
    }
    assert_true(first[0] < first[1] && first[1] < first[2]); /* in order of distance */
    assert_true(first[2] - first[1] > 10 * MIN);             /* 10 km at 30 km/h: ~20 min */
    assert_true(tips[3] == 0);                               /* none 40 km off the track */
    assert_true(sim_physics_rain_at(&p, CENTRE_LAT, CENTRE_LON, T_JUL) == 0.0);
}

static void test_physics_flood_rises_and_drains(void **state)
{
    struct sim_physics p;
    calm(&p, 11, T_JUL);
    struct sim_storm s = {.start_ms = T_JUL + HOUR,
                          .lat = CENTRE_LAT,
                          .lon = CENTRE_LON - 0.2,
                          .heading_deg = 90,
                          .speed_kmh = 20,
                          .radius_km = 10,
                          .peak_mmh = 90,
                          .duration_h = 3};
    assert_int_equal(sim_physics_add_storm(&p, &s), 0);
    struct ct_device fd = dev_at(CT_KIND_FLOOD, "hn-flood-00001", CENTRE_LAT, CENTRE_LON);
    struct sim_node fn = {.dev = &fd};
    double peak = 0;
    int64_t peak_at = 0;
    double prev = 0;
    int falls_while_raining = 0;
    for (int64_t t = T_JUL; t <= T_JUL + 10 * HOUR; t += MIN) {
        double d = rd(&p, &fn, "depth", t);
        assert_true(d >= 0 && d <= 500);
        if (d > peak) {
            peak = d;
            peak_at = t;
        }
        if (d < prev && sim_physics_rain_at(&p, fd.lat, fd.lon, t) > 60.0) {
            falls_while_raining++;
        }
        prev = d;
        if (t == T_JUL + HOUR) {
            assert_true(d == 0.0); /* dry before the storm */
        }
        if (t == T_JUL + 7 * HOUR) {
            assert_true(d == 0.0); /* drained within 3 h of the storm's end */
        }
    }
    print_message("flood peak %.1f cm at +%lld min, end %.1f cm\n", peak,
                  (long long)((peak_at - T_JUL) / MIN), prev);
    assert_true(peak > 15.0 && peak < 150.0); /* Hanoi: "0.20-0.40 m at low spots" */
    assert_true(falls_while_raining == 0);    /* rises while inflow beats the drains */
    assert_true(prev == 0.0);                 /* and drains afterwards */
    /* Light rain below the drain rate never floods. */
    struct sim_physics q;
    calm(&q, 11, T_JUL);
    s.peak_mmh = 8;
    assert_int_equal(sim_physics_add_storm(&q, &s), 0);
    struct sim_node fq = {.dev = &fd};
    for (int64_t t = T_JUL; t <= T_JUL + 6 * HOUR; t += MIN) {
        assert_true(rd(&q, &fq, "depth", t) == 0.0);
    }
}

/* Mean PM2.5 over the 24 hours from t (hourly readings) of a central station; *night_max gets the
 * highest reading. */
static double day_mean(struct sim_physics *p, int64_t t, double *night_max)
{
    struct ct_device d = dev_at(CT_KIND_AIR, "hn-air-00010", CENTRE_LAT, CENTRE_LON);
    struct sim_node n = {.dev = &d};
    double sum = 0;
    *night_max = 0;
    for (int h = 0; h < 24; h++) {
        double v = rd(p, &n, "pm25", t + h * HOUR);
        sum += v;
        *night_max = v > *night_max ? v : *night_max;
    }
    return sum / 24.0;
}

static void test_physics_haze_season(void **state)
{
    struct sim_physics p;
    calm(&p, 3, T_JAN);
    double mx;
    double jan = day_mean(&p, T_JAN, &mx);
    double jul = day_mean(&p, T_JUL, &mx);
    print_message("PM2.5 day means: January %.0f, July %.0f\n", jan, jul);
    assert_true(jan > 2.0 * jul);
    assert_true(jul < 35.0);
    assert_true(sim_physics_haze_factor(&p, T_JAN) > 2.5 * sim_physics_haze_factor(&p, T_JUL));
    /* A haze episode: daily mean into VN_AQI Xấu (PM2.5 > 80), night readings Rất xấu (> 150). */
    struct sim_haze h = {.start_ms = T_JAN, .days = 3, .factor = 2.2};
    assert_int_equal(sim_physics_add_haze(&p, &h), 0);
    double ep = day_mean(&p, T_JAN + HOUR * 24, &mx);
    print_message("episode day mean %.0f, max %.0f\n", ep, mx);
    assert_true(ep > 80.0);
    assert_true(mx > 150.0);
    assert_true(day_mean(&p, T_JAN + 5 * 24 * HOUR, &mx) < ep / 1.5); /* over after 3 days */
    /* Automatic episodes happen in winter only: some winter day is well above the season. */
    struct sim_physics a, q;
    sim_physics_init(&a, 3, 1, T_JAN, 0);
    calm(&q, 3, T_JAN);
    double top = 0;
    for (int d = 0; d < 40; d++) {
        int64_t t = T_JAN + d * 24 * HOUR;
        double f = sim_physics_haze_factor(&a, t) / sim_physics_haze_factor(&q, t);
        top = f > top ? f : top;
        t = T_JUL + d * 24 * HOUR;
        assert_true(sim_physics_haze_factor(&a, t) == sim_physics_haze_factor(&q, t));
    }
    assert_true(top > 1.4);
}

static void test_physics_rush_hours(void **state)
{
    struct sim_physics p;
    calm(&p, 7, T_JUL);
    /* PM2.5 traffic peaks against the afternoon (mean of 20 stations). */
    double rush = 0, midday = 0;
    for (uint32_t i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof(id), "a%u", i);
        struct ct_device d = dev_at(CT_KIND_AIR, id, CENTRE_LAT, CENTRE_LON);
        struct sim_node n = {.dev = &d, .index = i};
        rush +=
            rd(&p, &n, "pm25", T_JUL + 1 * HOUR) + rd(&p, &n, "pm25", T_JUL + 11 * HOUR + 18 * MIN);
        midday += 2 * rd(&p, &n, "pm25", T_JUL + 7 * HOUR);
    }
    assert_true(rush > midday * 1.2);
    /* Lots by character, on a Monday (T_JUL is 07:00). */
    const char *ids[3] = {NULL, NULL, NULL};
    static char names[3][16];
    for (int k = 0; k < 100 && (ids[0] == NULL || ids[1] == NULL || ids[2] == NULL); k++) {
        char id[16];
        snprintf(id, sizeof(id), "hn-park-%05d", k);
        int c = (int)sim_lot_character_of(id);
        if (ids[c] == NULL) {
            snprintf(names[c], sizeof(names[c]), "%s", id);
            ids[c] = names[c];
        }
    }
    assert_non_null(ids[0]);
    assert_non_null(ids[1]);
    assert_non_null(ids[2]);
    int64_t h03 = T_JUL - 4 * HOUR, h10 = T_JUL + 3 * HOUR, h1745 = T_JUL + 10 * HOUR + 45 * MIN;
    double office[2], market[2], home[2];
    struct ct_device lo = dev_at(CT_KIND_PARKING, ids[SIM_LOT_OFFICE], 21, 105.8);
    struct ct_device lm = dev_at(CT_KIND_PARKING, ids[SIM_LOT_MARKET], 21, 105.8);
    struct ct_device lr = dev_at(CT_KIND_PARKING, ids[SIM_LOT_RESIDENTIAL], 21, 105.8);
    struct sim_node no = {.dev = &lo}, nm = {.dev = &lm}, nr = {.dev = &lr};
    office[0] = rd(&p, &no, "occupied", h03);
    office[1] = rd(&p, &no, "occupied", h10);
    market[0] = rd(&p, &nm, "occupied", h03);
    market[1] = rd(&p, &nm, "occupied", h1745);
    home[0] = rd(&p, &nr, "occupied", h03);
    home[1] = rd(&p, &nr, "occupied", h10);
    print_message("office %.0f/%.0f market %.0f/%.0f residential %.0f/%.0f\n", office[0], office[1],
                  market[0], market[1], home[0], home[1]);
    assert_true(office[1] > 150 && office[0] < 40); /* full in office hours, empty at night */
    assert_true(market[1] > 130 && market[0] < 40); /* evening market rush */
    assert_true(home[0] > 150 && home[1] < 100);    /* full at night, half empty by day */
    assert_true(rd(&p, &no, "capacity", h03) == 200.0);
    /* Saturday: the office lot stays mostly empty. */
    assert_true(rd(&p, &no, "occupied", h10 + 5 * 24 * HOUR) < 90);
    /* Bays follow their lot's character: most office bays taken at 10:00, few at 03:00. */
    int day = 0, night = 0;
    for (int b = 0; b < 50; b++) {
        char id[16];
        snprintf(id, sizeof(id), "bay%d", b);
        struct ct_device bd = dev_at(CT_KIND_PARKING, id, 21, 105.8);
        bd.park_mode = CT_PARK_BAY;
        snprintf(bd.lot, sizeof(bd.lot), "%s", ids[SIM_LOT_OFFICE]);
        struct sim_node bn = {.dev = &bd};
        day += rd(&p, &bn, "occupied", h10) > 0;
        night += rd(&p, &bn, "occupied", h03) > 0;
    }
    assert_true(day > 35 && night < 15);
}

static void test_physics_water_after_storm(void **state)
{
    struct sim_physics p;
    calm(&p, 13, T_JUL);
    struct sim_storm s = {.start_ms = T_JUL + HOUR,
                          .lat = CENTRE_LAT,
                          .lon = CENTRE_LON,
                          .heading_deg = 0,
                          .speed_kmh = 0,
                          .radius_km = 10,
                          .peak_mmh = 60,
                          .duration_h = 2};
    assert_int_equal(sim_physics_add_storm(&p, &s), 0);
    struct ct_device wd = dev_at(CT_KIND_WATER, "hn-water-00001", CENTRE_LAT, CENTRE_LON);
    struct sim_node wn = {.dev = &wd};
    double before = 0, after = 0, later = 0, ec_before = 0, ec_after = 0;
    for (int64_t t = T_JUL; t <= T_JUL + 30 * HOUR; t += 10 * MIN) {
        double turb = rd(&p, &wn, "turb", t);
        double ec = rd(&p, &wn, "ec", t);
        assert_true(turb >= 0 && turb <= 4000);
        if (t == T_JUL + HOUR) {
            before = turb;
            ec_before = ec;
        } else if (t == T_JUL + 3 * HOUR) {
            after = turb;
            ec_after = ec;
        } else if (t == T_JUL + 30 * HOUR) {
            later = turb;
        }
    }
    print_message("turbidity %.0f -> %.0f -> %.0f NTU\n", before, after, later);
    assert_true(after > 3.0 * before); /* turbid after the storm */
    assert_true(later < after / 2.0);  /* and settling over the next day */
    assert_true(ec_after < ec_before); /* diluted */
}

static void test_physics_monsoon_storms(void **state)
{
    struct sim_physics p;
    sim_physics_init(&p, 21, 1, T_JUL, 0);
    int wet_jul = 0, wet_jan = 0;
    for (int64_t t = 0; t < 30 * 24 * HOUR; t += 30 * MIN) {
        wet_jul += sim_physics_rain_at(&p, CENTRE_LAT, CENTRE_LON, T_JUL + t) > 1.0;
        wet_jan += sim_physics_rain_at(&p, CENTRE_LAT, CENTRE_LON, T_JAN + t) > 1.0;
    }
    print_message("wet half-hours: July %d, January %d\n", wet_jul, wet_jan);
    assert_true(wet_jul > 15);
    assert_true(wet_jan * 4 < wet_jul);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_physics_reproducible),
        cmocka_unit_test(test_physics_storm_crossing),
        cmocka_unit_test(test_physics_flood_rises_and_drains),
        cmocka_unit_test(test_physics_haze_season),
        cmocka_unit_test(test_physics_rush_hours),
        cmocka_unit_test(test_physics_water_after_storm),
        cmocka_unit_test(test_physics_monsoon_storms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
