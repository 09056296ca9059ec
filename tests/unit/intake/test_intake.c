/* test_intake.c - col_intake against a real spool in a temporary folder: every message is
 * acknowledged only after it is durable, in arrival order, numbered in journal order; a full
 * spool pauses the subscription, keeps the messages unacknowledged and resumes after a commit;
 * a lost connection drops what was not yet written; cut parts are flagged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_intake.h"
#include "col_spool.h"
#include "ct/err.h"

struct rig {
    uv_loop_t loop;
    char dir[64];
    struct col_spool *spool;
    struct col_intake *in;
    uint64_t acks[20000];
    size_t nacks;
    uint64_t seqs[20000]; /* seq of each durable message, in delivery order */
    uint64_t toks[20000]; /* its token */
    size_t ndurable;
    int pauses;
    int resumes;
    bool paused;
    uint8_t last_flags;
};

static void on_ack(void *arg, uint64_t token)
{
    struct rig *r = arg;
    r->acks[r->nacks++] = token;
}

static void on_durable(void *arg, struct col_msg *list, size_t n)
{
    struct rig *r = arg;
    size_t k = 0;

    while (list != NULL) {
        struct col_msg *next = list->next;
        r->seqs[r->ndurable] = list->seq;
        r->toks[r->ndurable] = list->token;
        r->last_flags = list->flags;
        r->ndurable++;
        k++;
        free(list);
        list = next;
    }
    assert_int_equal(k, n);
}

static void on_pause(void *arg, bool pause, const char *why)
{
    struct rig *r = arg;
    (void)why;
    r->paused = pause;
    if (pause) {
        r->pauses++;
    } else {
        r->resumes++;
    }
}

static void rig_open(struct rig *r, uint64_t max_bytes)
{
    struct col_spool_cfg sc = {.segment_bytes = 128 * 1024,
                               .max_total_bytes = max_bytes,
                               .max_record_bytes = 70 * 1024,
                               .fsync = COL_SPOOL_FSYNC_INTERVAL};
    struct col_intake_cfg ic = {.group_max_records = 64};
    struct col_intake_callbacks cbs = {on_ack, on_durable, on_pause};

    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/ct-intake-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    sc.dir = r->dir;
    assert_int_equal(uv_loop_init(&r->loop), 0);
    assert_int_equal(col_spool_open(&sc, &r->spool), 0);
    assert_int_equal(col_intake_create(&r->loop, r->spool, &ic, &cbs, r, &r->in), 0);
}

static void closed(void *arg)
{
    *(bool *)arg = true;
}

static void rig_close(struct rig *r)
{
    bool done = false;
    char cmd[128];

    col_intake_close(r->in, closed, &done);
    while (!done) {
        uv_run(&r->loop, UV_RUN_ONCE);
    }
    col_intake_free(r->in);
    col_spool_close(r->spool);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
    assert_int_equal(system(cmd), 0);
}

static void add(struct rig *r, uint64_t token, size_t payload_len)
{
    static char payload[70000];
    memset(payload, 'x', sizeof(payload));
    assert_int_equal(col_intake_add(r->in, "city/v1/air/hn-air-0001/up", 26, "sig", 3, payload,
                                    payload_len, 1000, token),
                     0);
}

/* Runs the loop until 'n' messages are durable or 2000 turns pass. */
static void run_until(struct rig *r, size_t n)
{
    for (int i = 0; i < 20000 && r->ndurable < n; i++) {
        uv_run(&r->loop, UV_RUN_NOWAIT);
        usleep(100);
    }
}

static void test_ack_after_durable_in_order(void **state)
{
    struct rig *r = malloc(sizeof(*r));
    struct col_spool_stats st;
    struct col_intake_stats is;
    (void)state;

    rig_open(r, 64u << 20);
    for (uint64_t i = 1; i <= 1000; i++) {
        add(r, i, 100);
        /* Nothing is acknowledged before the worker reported the group durable. */
        assert_int_equal(r->nacks, 0);
    }
    run_until(r, 1000);
    assert_int_equal(r->ndurable, 1000);
    assert_int_equal(r->nacks, 1000);
    col_spool_stats(r->spool, &st);
    assert_int_equal(st.last_seq, 1000);
    for (size_t i = 0; i < 1000; i++) {
        assert_int_equal(r->acks[i], i + 1); /* acknowledged in arrival order */
        assert_int_equal(r->seqs[i], i + 1); /* journal order == arrival order */
        assert_int_equal(r->toks[i], i + 1);
    }
    col_intake_stats(r->in, &is);
    assert_true(is.groups >= 1000 / 64);
    assert_int_equal(is.durable, 1000);
    assert_false(is.paused);
    rig_close(r);
    free(r);
}

static void test_full_spool_pauses_and_resumes(void **state)
{
    struct rig *r = malloc(sizeof(*r));
    struct col_intake_stats is;
    size_t before;
    (void)state;

    /* 256 KiB of journal (two segments) and messages of 1 KiB: about 250 of 400 fit. */
    rig_open(r, 256 * 1024);
    for (uint64_t i = 1; i <= 400; i++) {
        add(r, i, 1000);
    }
    for (int i = 0; i < 3000 && !r->paused; i++) {
        uv_run(&r->loop, UV_RUN_NOWAIT);
        usleep(100);
    }
    assert_true(r->paused);
    assert_int_equal(r->pauses, 1);
    before = r->nacks;
    assert_true(before > 0 && before < 400);
    /* Everything acknowledged is durable; nothing else is acknowledged while full. */
    assert_int_equal(r->nacks, r->ndurable);
    for (int i = 0; i < 50; i++) {
        uv_run(&r->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(r->nacks, before);
    col_intake_stats(r->in, &is);
    assert_true(is.full_now);
    assert_true(is.full >= 1);
    assert_int_equal(is.pending, 400 - before);
    /* A commit frees room: the rest goes in, acknowledged in order, and delivery resumes. */
    while (r->ndurable < 400) {
        assert_int_equal(col_spool_commit(r->spool, r->seqs[r->ndurable - 1]), 0);
        size_t had = r->ndurable;
        for (int i = 0; i < 5000 && r->ndurable == had; i++) {
            uv_run(&r->loop, UV_RUN_NOWAIT);
            usleep(200);
        }
        assert_true(r->ndurable > had);
    }
    assert_int_equal(r->nacks, 400);
    for (size_t i = 0; i < 400; i++) {
        assert_int_equal(r->acks[i], i + 1);
    }
    assert_false(r->paused);
    assert_int_equal(r->resumes, r->pauses);
    rig_close(r);
    free(r);
}

static void test_connection_lost_drops_unwritten(void **state)
{
    struct rig *r = malloc(sizeof(*r));
    struct col_intake_stats is;
    (void)state;

    rig_open(r, 64u << 20);
    add(r, 1, 100); /* goes to the worker at once */
    add(r, 2, 100); /* waits for the next group */
    add(r, 0, 100); /* QoS 0: no token, never sent again: kept */
    col_intake_connection_lost(r->in);
    run_until(r, 2);
    for (int i = 0; i < 200; i++) {
        uv_run(&r->loop, UV_RUN_NOWAIT);
        usleep(500);
    }
    col_intake_stats(r->in, &is);
    assert_int_equal(is.dropped_stale, 1);
    assert_int_equal(r->ndurable, 2);
    assert_int_equal(r->toks[0], 1);
    assert_int_equal(r->toks[1], 0);
    rig_close(r);
    free(r);
}

static void test_oversized_parts_are_cut_and_flagged(void **state)
{
    struct rig *r = malloc(sizeof(*r));
    (void)state;

    rig_open(r, 64u << 20);
    add(r, 7, COL_MSG_PAYLOAD_MAX + 100);
    run_until(r, 1);
    assert_int_equal(r->ndurable, 1);
    assert_int_equal(r->last_flags, COL_MSG_PAYLOAD_CUT);
    assert_int_equal(r->acks[0], 7);
    rig_close(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_after_durable_in_order),
        cmocka_unit_test(test_full_spool_pauses_and_resumes),
        cmocka_unit_test(test_connection_lost_drops_unwritten),
        cmocka_unit_test(test_oversized_parts_are_cut_and_flagged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
