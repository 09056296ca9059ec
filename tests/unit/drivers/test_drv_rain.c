/* test_drv_rain.c - tipping-bucket counter: debounce in the edge handler, wraps, builder. */
#include "drv_test_util.h"

#include "fw_drv_err.h"
#include "fw_drv_tipbucket.h"

#define MAX_EDGES 4096u

static struct fw_drv_tipbucket_ev edges[MAX_EDGES];

/* Replays 'n' edges into 'st', then polls 1 s after the last one, and returns how many tips the
 * edge handler and the poll reported. */
static uint32_t replay(struct fw_drv_tipbucket *st, const struct fw_drv_tipbucket_ev *ev, size_t n)
{
    uint32_t reported = 0;

    for (size_t i = 0; i < n; i++) {
        if (fw_drv_tipbucket_edge(st, ev[i].t_ms, ev[i].closed)) {
            reported++;
        }
    }
    if (n > 0 && fw_drv_tipbucket_poll(st, ev[n - 1].t_ms + 1000u)) {
        reported++;
    }
    return reported;
}

static void test_drv_tipbucket_clean_contact(void **state)
{
    struct fw_drv_tipbucket st;
    struct fw_drv_tipbucket_sim sim = {.start_ms = 1000, .period_ms = 2000, .closed_ms = 100};
    size_t n = 0;

    (void)state;
    fw_drv_tipbucket_init(&st, 0, false);
    assert_int_equal(st.debounce_ms, FW_DRV_TIPBUCKET_DEBOUNCE_MS);
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 10, edges, MAX_EDGES, &n), 0);
    assert_int_equal(n, 20);
    assert_int_equal(replay(&st, edges, n), 10);
    assert_int_equal(fw_drv_tipbucket_tips(&st), 10);
    assert_int_equal(st.bounces, 0);
    DRV_ASSERT_NEAR(fw_drv_tipbucket_mm_between(0, st.tips, FW_DRV_TIPBUCKET_MM_PER_TIP), 2.0,
                    1e-5);
}

static void test_drv_tipbucket_bouncing_edges(void **state)
{
    struct fw_drv_tipbucket st;
    /* Three bounce pairs 3 ms apart after each transition: 18 ms of chatter in a 25 ms window. */
    struct fw_drv_tipbucket_sim sim = {
        .start_ms = 5, .period_ms = 400, .closed_ms = 80, .bounces = 3, .bounce_gap_ms = 3};
    size_t n = 0;

    (void)state;
    fw_drv_tipbucket_init(&st, 25, false);
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 50, edges, MAX_EDGES, &n), 0);
    assert_int_equal(n, 50 * 14);
    assert_int_equal(replay(&st, edges, n), 50);
    assert_int_equal(st.tips, 50);
    assert_int_equal(st.bounces, 50 * 12);
}

static void test_drv_tipbucket_recorded_trace(void **state)
{
    /* A reed contact as seen on a scope: irregular chatter at both transitions, a 10 ms glitch
     * (a drop hitting the bucket), and a tip that starts with a 24 ms closure which opens again
     * inside the window before the contact closes for good. */
    static const struct fw_drv_tipbucket_ev trace[] = {
        {1000, true},  {1001, false}, {1003, true},  {1004, false}, {1008, true}, /* close */
        {1120, false}, {1121, true},  {1124, false},                              /* tip 1 */
        {2000, true},  {2010, false},                                             /* glitch */
        {3000, true},  {3002, false}, {3009, true},                               /* close */
        {3100, false}, {3101, true},  {3103, false},                              /* tip 2 */
        {5000, true},  {5024, false}, {5090, true},                               /* 24 ms */
        {5130, false}, {5131, true},  {5133, false},                              /* tip 3 */
    };
    /* A tip is confirmed by the first edge after its open level held for the window. */
    static const bool tip_at[] = {
        false, false, false, false, false, false, false, false, true,  false, false,
        false, false, false, false, false, true,  false, false, false, false, false,
    };
    struct fw_drv_tipbucket st;

    (void)state;
    fw_drv_tipbucket_init(&st, 25, false);
    for (size_t i = 0; i < sizeof(trace) / sizeof(trace[0]); i++) {
        bool tip = fw_drv_tipbucket_edge(&st, trace[i].t_ms, trace[i].closed);

        if (tip != tip_at[i]) {
            print_error("edge %zu at %u ms: tip %d, expected %d\n", i, (unsigned)trace[i].t_ms, tip,
                        tip_at[i]);
            fail();
        }
    }
    /* The glitch at 2000 ms and the 24 ms closure at 5000 ms never held for the window. The
     * closure confirmed by the open at 5130 ms is still a tip in progress: the poll ends it. */
    assert_int_equal(st.tips, 2);
    assert_true(st.closed);
    assert_false(fw_drv_tipbucket_poll(&st, 5150));
    assert_int_equal(st.tips, 2);
    assert_true(fw_drv_tipbucket_poll(&st, 5158));
    assert_int_equal(st.tips, 3);
    assert_false(fw_drv_tipbucket_poll(&st, 9000));
    assert_int_equal(st.tips, 3);
    assert_int_equal(st.bounces, 14);
}

static void test_drv_tipbucket_closed_at_init_is_not_a_tip(void **state)
{
    struct fw_drv_tipbucket st;

    (void)state;
    fw_drv_tipbucket_init(&st, 25, true);
    assert_false(fw_drv_tipbucket_edge(&st, 100, false));
    assert_false(fw_drv_tipbucket_poll(&st, 200));
    assert_false(st.closed);
    assert_int_equal(st.tips, 0);
    assert_false(fw_drv_tipbucket_edge(&st, 500, true));
    assert_false(fw_drv_tipbucket_edge(&st, 600, false));
    assert_true(fw_drv_tipbucket_poll(&st, 700));
    assert_int_equal(st.tips, 1);
}

static void test_drv_tipbucket_wraps(void **state)
{
    struct fw_drv_tipbucket st;
    struct fw_drv_tipbucket_sim sim = {.start_ms = UINT32_MAX - 150u,
                                       .period_ms = 150,
                                       .closed_ms = 50,
                                       .bounces = 2,
                                       .bounce_gap_ms = 5};
    size_t n = 0;

    (void)state;
    /* The millisecond clock wraps in the middle of the tips. */
    fw_drv_tipbucket_init(&st, 25, false);
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 6, edges, MAX_EDGES, &n), 0);
    assert_true(edges[n - 1].t_ms < 1000u);
    assert_int_equal(replay(&st, edges, n), 6);

    /* The tip counter wraps at 2^32 and deltas stay right. */
    st.tips = UINT32_MAX;
    sim.start_ms = 10000;
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 3, edges, MAX_EDGES, &n), 0);
    assert_int_equal(replay(&st, edges, n), 3);
    assert_int_equal(st.tips, 2);
    DRV_ASSERT_NEAR(fw_drv_tipbucket_mm_between(UINT32_MAX - 2u, st.tips, 0.2f), 1.0, 1e-5);
}

static void test_drv_tipbucket_build_round_trip_and_errors(void **state)
{
    struct fw_drv_tipbucket st;
    struct fw_drv_tipbucket_sim sim = {
        .start_ms = 0, .period_ms = 300, .closed_ms = 60, .bounces = 1, .bounce_gap_ms = 4};
    size_t n = 7;
    uint32_t tips = fw_drv_tipbucket_tips_for_mm(12.4f, 0.2f);

    (void)state;
    assert_int_equal(tips, 62);
    assert_int_equal(fw_drv_tipbucket_tips_for_mm(0.3f, 0.2f), 1);
    assert_int_equal(fw_drv_tipbucket_tips_for_mm(-1.0f, 0.2f), 0);
    assert_int_equal(fw_drv_tipbucket_tips_for_mm(1.0f, 0.0f), 0);
    fw_drv_tipbucket_init(&st, 25, false);
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, tips, edges, MAX_EDGES, &n), 0);
    assert_int_equal(replay(&st, edges, n), tips);
    DRV_ASSERT_NEAR(fw_drv_tipbucket_mm_between(0, st.tips, 0.2f), 12.4, 1e-4);

    n = 7;
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 10, edges, 59, &n), FW_DRV_E_LEN);
    assert_int_equal(n, 7);
    sim.closed_ms = 30; /* closed 22 ms after the chatter: shorter than the window */
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 1, edges, MAX_EDGES, &n), FW_DRV_E_INVAL);
    sim.closed_ms = 60;
    sim.bounce_gap_ms = 25; /* bounce edges a window apart would be taken as levels */
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 1, edges, MAX_EDGES, &n), FW_DRV_E_INVAL);
    sim.bounce_gap_ms = 4;
    sim.period_ms = 70; /* open for 10 ms only */
    assert_int_equal(fw_drv_tipbucket_build(&sim, 25, 1, edges, MAX_EDGES, &n), FW_DRV_E_INVAL);
    assert_int_equal(fw_drv_tipbucket_build(NULL, 25, 1, edges, MAX_EDGES, &n), FW_DRV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drv_tipbucket_clean_contact),
        cmocka_unit_test(test_drv_tipbucket_bouncing_edges),
        cmocka_unit_test(test_drv_tipbucket_recorded_trace),
        cmocka_unit_test(test_drv_tipbucket_closed_at_init_is_not_a_tip),
        cmocka_unit_test(test_drv_tipbucket_wraps),
        cmocka_unit_test(test_drv_tipbucket_build_round_trip_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
