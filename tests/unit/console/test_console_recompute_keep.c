/* test_console_recompute_keep: the waiting recompute jobs kept across a restart in
 * <spool.dir>/console-recompute (console_recompute.c): col_console_recompute_text's lines
 * restored into a fresh table give the same jobs (and the same text again); a bad line is
 * skipped and the lines after it still load; a range already waiting and a full table are
 * skipped too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "col_console_recompute.h"
#include "ct/err.h"

#define H 3600000LL
#define T07 1795417200000LL /* 2026-11-23T07:00Z */

static struct col_console_rc *fresh(void)
{
    struct col_console_rc *rc = calloc(1, sizeof(*rc));

    assert_non_null(rc);
    return rc;
}

static void add(struct col_console_rc *rc, const char *id, const char *param, int64_t from,
                int64_t to, int64_t due, int64_t done, int64_t until)
{
    struct col_console_rc_job *j = &rc->jobs[rc->n++];

    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->r.param, sizeof(j->r.param), "%s", param);
    j->r.from_ms = from;
    j->r.to_ms = to;
    j->due_ms = due;
    j->done_ms = done;
    j->until_ms = until;
}

static void assert_same(const struct col_console_rc *a, const struct col_console_rc *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct col_console_rc_job *x = &a->jobs[i], *y = &b->jobs[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->r.param, y->r.param);
        assert_true(x->r.from_ms == y->r.from_ms);
        assert_true(x->r.to_ms == y->r.to_ms);
        assert_true(x->due_ms == y->due_ms);
        assert_true(x->done_ms == y->done_ms);
        assert_true(x->until_ms == y->until_ms);
        assert_true(x->revoked_ms == y->revoked_ms);
    }
}

/* Jobs written and read back into a fresh table: the same jobs in the same order, a job not
 * run yet (done_ms INT64_MIN, written "-") included. */
static void test_console_recompute_keep_roundtrip(void **state)
{
    struct col_console_rc *rc = fresh(), *back = fresh();
    struct ct_buf text, again;

    (void)state;
    add(rc, "hn-air-0001", "pm25", T07 + 1200000, T07 + 1260000, T07 + 2 * H + 60000, INT64_MIN,
        T07 + 16 * H);
    add(rc, "hn-air-0001", "pm10", T07, T07 + 3 * H, T07 + 5 * H, T07 + 2 * H, T07 + 17 * H);
    add(rc, "hcm-water-0042", "do", T07 - 40 * H, T07 - 39 * H, 0, T07 - 30 * H, T07 + 5 * H);
    /* A range whose decision was withdrawn (POST revoke): the eighth field. */
    add(rc, "hn-air-0002", "pm25", T07, T07 + 60000, T07 + H, INT64_MIN, T07 + 16 * H);
    rc->jobs[3].revoked_ms = T07 + 2 * H + 5;
    ct_buf_init(&text, 1u << 20);
    ct_buf_init(&again, 1u << 20);
    assert_int_equal(col_console_recompute_text(rc, &text), 0);
    assert_non_null(strstr(text.p, "hn-air-0001 pm25 1795418400000 1795418460000 "
                                   "1795424460000 - 1795474800000\n"));
    assert_non_null(strstr(text.p, "hn-air-0002 pm25 1795417200000 1795417260000 "
                                   "1795420800000 - 1795474800000 1795424400005\n"));
    assert_int_equal(col_console_recompute_restore(back, text.p, text.len, "console-recompute"), 4);
    assert_same(rc, back);
    assert_int_equal(col_console_recompute_text(back, &again), 0);
    assert_int_equal(again.len, text.len);
    assert_memory_equal(again.p, text.p, text.len);
    /* Read again into the same table: every range already waits, nothing added. */
    assert_int_equal(col_console_recompute_restore(back, text.p, text.len, "console-recompute"), 0);
    assert_int_equal(back->n, 4);
    ct_buf_free(&text);
    ct_buf_free(&again);
    free(rc);
    free(back);
}

/* Each bad line is skipped (and logged with the file, line and reason); the good lines around
 * them load, a last line without its newline too. */
static void test_console_recompute_keep_strict(void **state)
{
    static const char text[] =
        "hn-air-0001 pm25 1795418400000 1795418460000 1795424460000 - 1795474800000\n"
        "\n"                                                             /* empty */
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 -\n" /* 6 fields */
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 - 1795474800000 x\n"
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 - 1795474800000 0\n"
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 - 1795474800000 1 2\n"
        "hn-air-0002  pm25 1795418400000 1795418460000 1795424460000 - 1795474800000\n"
        "hn-air-0002 pm25 17954184x0000 1795418460000 1795424460000 - 1795474800000\n"
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 12 1795474800000\n"
        "hn-air-0002 pm25 1795418460000 1795418400000 1795424460000 - 1795474800000\n"
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 - 1795474800001\n"
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 - 1795410000000\n"
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 1795474800000 "
        "1795474800000\n"
        "hn-air-0002 pm25 1795418400000 1795418460000 1795424460000 - 99999999999999999999\n"
        "hn-air-0002 pm25\t1795418400000 1795418460000 1795424460000 - 1795474800000\n"
        "hn-air-0002 a-parameter-name-far-too-long-for-a-member 1 2 3 - 1795474800000\n"
        "hn-air-0001 pm25 1795418400000 1795418460000 1795424460000 - 1795474800000\n" /* dup */
        "hn-air-0003 no2 -7200000 -3600000 5 -10800000 0";
    struct col_console_rc *rc = fresh();

    (void)state;
    assert_int_equal(col_console_recompute_restore(rc, text, sizeof(text) - 1, "f"), 2);
    assert_string_equal(rc->jobs[0].id, "hn-air-0001");
    assert_true(rc->jobs[0].done_ms == INT64_MIN);
    assert_string_equal(rc->jobs[1].id, "hn-air-0003");
    assert_string_equal(rc->jobs[1].r.param, "no2");
    assert_true(rc->jobs[1].r.from_ms == -7200000);
    assert_true(rc->jobs[1].done_ms == -10800000);
    assert_true(rc->jobs[1].until_ms == 0);
    free(rc);
}

/* A full table takes no more jobs from the file. */
static void test_console_recompute_keep_full(void **state)
{
    struct col_console_rc *rc = fresh(), *back = fresh();
    struct ct_buf text;

    (void)state;
    for (int i = 0; i < COL_CONSOLE_RECOMPUTE_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof(id), "st-%d", i);
        add(rc, id, "pm25", T07, T07, T07 + H, INT64_MIN, T07 + 12 * H);
    }
    ct_buf_init(&text, 1u << 20);
    assert_int_equal(col_console_recompute_text(rc, &text), 0);
    ct_buf_adds(&text, "st-extra pm25 1795417200000 1795417200000 1 - 1795460400000\n");
    assert_int_equal(col_console_recompute_restore(back, text.p, text.len, "f"),
                     COL_CONSOLE_RECOMPUTE_JOBS);
    assert_same(rc, back);
    ct_buf_free(&text);
    free(rc);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_recompute_keep_roundtrip),
        cmocka_unit_test(test_console_recompute_keep_strict),
        cmocka_unit_test(test_console_recompute_keep_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
