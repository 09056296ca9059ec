/* test_spool.c - col_spool: order across roll-overs, restart with the commit point, torn tails,
 * corruption, full policies, fsync modes, argument checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ct/err.h"
#include "spool_test_util.h"

#include <errno.h>
#include <pthread.h>

#define SPAN 200

struct logcap {
    int n;
    char last[512];
};

static void log_cb(void *arg, const char *msg)
{
    struct logcap *lc = arg;
    lc->n++;
    snprintf(lc->last, sizeof(lc->last), "%s", msg);
}

static struct col_spool_cfg small_cfg(const char *dir)
{
    struct col_spool_cfg c = {
        .dir = dir,
        .segment_bytes = 4096,
        .max_total_bytes = 1u << 20,
        .max_record_bytes = 1024,
        .fsync = COL_SPOOL_FSYNC_NONE,
    };
    return c;
}

static void append_n(struct col_spool *s, uint64_t first, uint64_t n)
{
    char buf[1024];
    for (uint64_t i = first; i < first + n; i++) {
        uint64_t seq = 0;
        size_t len = tu_make_rec(i, buf, SPAN);
        assert_int_equal(col_spool_append(s, buf, len, &seq), 0);
        assert_int_equal(seq, i);
    }
}

/* Reads from 'from' and checks that exactly the records first..last come back, in order. */
static void expect_range(struct col_spool *s, uint64_t from, uint64_t first, uint64_t last)
{
    struct col_spool_reader *rd = NULL;
    char buf[1024];
    char want[1024];
    size_t len = 0;
    uint64_t seq = 0;
    assert_int_equal(col_spool_reader_open(s, from, &rd), 0);
    for (uint64_t i = first; i <= last; i++) {
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
        assert_int_equal(seq, i);
        size_t wl = tu_make_rec(i, want, SPAN);
        assert_int_equal(len, wl);
        assert_memory_equal(buf, want, wl);
    }
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    assert_int_equal(col_spool_reader_corrupt(rd), 0);
    col_spool_reader_close(rd);
}

static void test_spool_roundtrip_rollover(void **state)
{
    char dir[512];
    char path[600];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), "rt");
    struct col_spool_cfg c = small_cfg(dir);
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 500);
    col_spool_stats(s, &st);
    assert_true(st.segments > 10);
    assert_int_equal(st.segments, tu_count_segments(dir));
    assert_int_equal(st.last_seq, 500);
    assert_int_equal(st.records, 500);
    assert_int_equal(st.appended, 500);
    assert_true(st.oldest_ms > 0);
    tu_seg_path(path, sizeof(path), dir, 1);
    assert_true(tu_file_size(path) <= 4096);
    expect_range(s, 1, 1, 500);
    expect_range(s, 123, 123, 500);

    /* A reader at the end sees later appends, including across a roll-over. */
    struct col_spool_reader *rd = NULL;
    char buf[1024];
    size_t len;
    uint64_t seq;
    assert_int_equal(col_spool_reader_open(s, 501, &rd), 0);
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    append_n(s, 501, 40);
    for (uint64_t i = 501; i <= 540; i++) {
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
        assert_int_equal(seq, i);
    }
    /* A too-small buffer reports the size and does not advance. */
    append_n(s, 541, 1);
    assert_int_equal(col_spool_reader_next(rd, buf, 4, &len, &seq), CT_E_TOOBIG);
    assert_int_equal(len, tu_make_rec(541, buf, SPAN));
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
    assert_int_equal(seq, 541);
    col_spool_reader_close(rd);
    col_spool_close(s);
    tu_rmrf(dir);
}

static void test_spool_restart_commit(void **state)
{
    char dir[512];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), "commit");
    struct col_spool_cfg c = small_cfg(dir);
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 300);
    col_spool_stats(s, &st);
    uint64_t bytes_before = st.bytes;
    int segs_before = tu_count_segments(dir);
    assert_int_equal(col_spool_commit(s, 200), 0);
    assert_int_equal(col_spool_commit(s, 150), 0); /* below the commit point: no-op */
    assert_int_equal(col_spool_commit(s, 301), CT_E_INVAL);
    col_spool_stats(s, &st);
    assert_int_equal(st.commit_seq, 200);
    assert_int_equal(st.records, 100);
    assert_true(st.bytes < bytes_before);
    assert_true(tu_count_segments(dir) < segs_before);
    assert_int_equal(st.segments, tu_count_segments(dir));
    col_spool_close(s);

    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.commit_seq, 200);
    assert_int_equal(st.last_seq, 300);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.torn_tails, 0);
    /* The app replays from the commit point; the oldest kept segment may start a little
     * earlier, which is allowed, but what is read from commit + 1 is exact. */
    expect_range(s, st.commit_seq + 1, 201, 300);
    append_n(s, 301, 5);
    expect_range(s, 201, 201, 305);
    /* Committing everything keeps only the newest segment. */
    assert_int_equal(col_spool_commit(s, 305), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.records, 0);
    assert_int_equal(st.oldest_ms, 0);
    col_spool_close(s);

    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.commit_seq, 305);
    assert_int_equal(st.last_seq, 305);
    append_n(s, 306, 1);
    expect_range(s, 306, 306, 306);
    col_spool_close(s);
    tu_rmrf(dir);
}

static void test_spool_torn_tail(void **state)
{
    char dir[512];
    char path[600];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    struct logcap lc = {0};
    tu_mkdtemp(dir, sizeof(dir), "torn");
    struct col_spool_cfg c = small_cfg(dir);
    c.segment_bytes = 1u << 16;
    c.log = log_cb;
    c.log_arg = &lc;
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 50);
    col_spool_close(s);
    tu_seg_path(path, sizeof(path), dir, 1);
    long size = tu_file_size(path);
    char buf[1024];
    long last_len = (long)tu_make_rec(50, buf, SPAN);
    /* Cut in the middle of record 50's data. */
    assert_int_equal(truncate(path, size - last_len / 2), 0);

    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.torn_tails, 1);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.last_seq, 49);
    assert_true(lc.n >= 1);
    assert_non_null(strstr(lc.last, "torn"));
    expect_range(s, 1, 1, 49);
    /* New appends go to a fresh segment and read back after the old ones. */
    append_n(s, 50, 10);
    assert_int_equal(tu_count_segments(dir), 2);
    expect_range(s, 1, 1, 59);
    col_spool_close(s);

    /* A header cut short is a torn tail too. */
    tu_seg_path(path, sizeof(path), dir, 50);
    size = tu_file_size(path);
    assert_int_equal(truncate(path, size - ((long)tu_make_rec(59, buf, SPAN) + 32 - 5)), 0);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.torn_tails, 2); /* the first segment's tail is still there */
    assert_int_equal(st.last_seq, 58);
    expect_range(s, 1, 1, 58);
    append_n(s, 59, 1);
    expect_range(s, 1, 1, 59);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* Reads everything and checks the records come back in order, all but 'missing'. */
static void expect_all_but(struct col_spool *s, uint64_t last, const uint64_t *missing, int nm,
                           uint64_t corrupt)
{
    struct col_spool_reader *rd = NULL;
    char buf[1024];
    char want[1024];
    size_t len;
    uint64_t seq;
    assert_int_equal(col_spool_reader_open(s, 1, &rd), 0);
    for (uint64_t i = 1; i <= last; i++) {
        bool skip = false;
        for (int k = 0; k < nm; k++) {
            skip = skip || missing[k] == i;
        }
        if (skip) {
            continue;
        }
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
        assert_int_equal(seq, i);
        size_t wl = tu_make_rec(i, want, SPAN);
        assert_int_equal(len, wl);
        assert_memory_equal(buf, want, wl);
    }
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    assert_int_equal(col_spool_reader_corrupt(rd), corrupt);
    col_spool_reader_close(rd);
}

static void test_spool_corrupt_middle(void **state)
{
    char dir[512];
    char path[600];
    char buf[1024];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), "corrupt");
    struct col_spool_cfg c = small_cfg(dir);
    c.segment_bytes = 1u << 16;
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 100);
    col_spool_close(s);
    /* Frame offsets: a 40-byte segment header, then 32-byte record headers and the data. */
    long off[101];
    off[1] = 40;
    for (uint64_t i = 1; i < 100; i++) {
        off[i + 1] = off[i] + 32 + (long)tu_make_rec(i, buf, SPAN);
    }
    tu_seg_path(path, sizeof(path), dir, 1);
    assert_int_equal(tu_flip(path, off[30] + 32 + 5), 0); /* a data byte of record 30 */
    assert_int_equal(tu_flip(path, off[60] + 9), 0);      /* the length field of record 60 */
    assert_int_equal(tu_flip(path, off[61] + 0), 0);      /* and the magic of record 61 */

    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.corrupt_records, 2);
    assert_int_equal(st.torn_tails, 0);
    assert_int_equal(st.last_seq, 100);
    uint64_t missing[] = {30, 60, 61};
    expect_all_but(s, 100, missing, 3, 2);
    /* The damaged segment is kept read-only; appends continue in a new one. */
    append_n(s, 101, 3);
    assert_int_equal(tu_count_segments(dir), 2);
    expect_all_but(s, 103, missing, 3, 2);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* Opens the journal in 'dir' whose only segment (first seq 1) lost its only record, and checks
 * that a new append gets a seq above 1 in a fresh segment and reaches a reader opened before. */
static void expect_fresh_after_lost_only_record(const char *dir)
{
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    struct col_spool_cfg c = small_cfg(dir);
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.records, 0);
    assert_int_equal(st.last_seq, 1); /* seq 1 is spent: the damaged segment starts there */
    struct col_spool_reader *rd = NULL;
    char buf[1024];
    size_t len;
    uint64_t seq;
    assert_int_equal(col_spool_reader_open(s, st.commit_seq + 1, &rd), 0);
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    append_n(s, 2, 3);
    assert_int_equal(tu_count_segments(dir), 2); /* the damaged one kept, a fresh one added */
    for (uint64_t i = 2; i <= 4; i++) {
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
        assert_int_equal(seq, i);
    }
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    col_spool_reader_close(rd);
    expect_range(s, 1, 2, 4);
    col_spool_close(s);
    /* And after another restart. */
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    expect_range(s, 1, 2, 4);
    append_n(s, 5, 1);
    expect_range(s, 1, 2, 5);
    col_spool_close(s);
}

static void test_spool_only_record_damaged(void **state)
{
    /* fuzz_spool/all-damaged-segment: the next seq used to equal the damaged segment's first
     * seq, so the fresh segment got the same first seq and file name and readers skipped it. */
    char dir[512];
    char path[600];
    struct col_spool *s = NULL;
    tu_mkdtemp(dir, sizeof(dir), "lostonly");
    struct col_spool_cfg c = small_cfg(dir);
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 1);
    col_spool_close(s);
    tu_seg_path(path, sizeof(path), dir, 1);
    assert_int_equal(tu_flip(path, 40 + 32 + 3), 0); /* a data byte of record 1: corrupt */
    expect_fresh_after_lost_only_record(dir);
    tu_rmrf(dir);

    /* The same when the only record is torn (cut short by a crash). */
    tu_mkdtemp(dir, sizeof(dir), "tornonly");
    c = small_cfg(dir);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 1);
    col_spool_close(s);
    tu_seg_path(path, sizeof(path), dir, 1);
    assert_int_equal(truncate(path, tu_file_size(path) - 4), 0);
    expect_fresh_after_lost_only_record(dir);
    tu_rmrf(dir);
}

/* A flipped byte in a segment header no longer discards the segment: its records are recovered
 * and the header rewritten. A segment with a bad header and no intact record is set aside. */
static void test_spool_bad_segment_header(void **state)
{
    char dir[512];
    char path[600];
    char bad[700];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), "badhdr");
    struct col_spool_cfg c = small_cfg(dir);
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 200);
    col_spool_close(s);
    int segs = tu_count_segments(dir);
    tu_seg_path(path, sizeof(path), dir, 1);
    assert_int_equal(tu_flip(path, 3), 0);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(st.segments, (uint64_t)segs);
    assert_int_equal(st.last_seq, 200);
    expect_range(s, 1, 1, 200);
    col_spool_close(s);
    /* The header was rewritten: the next open finds no damage. */
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.corrupt_records, 0);
    col_spool_close(s);
    /* Garbage under a segment name after the others: renamed to .bad, counted once. */
    tu_seg_path(path, sizeof(path), dir, 500);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int k = 0; k < 100; k++) {
        fputc('x', f);
    }
    fclose(f);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(st.segments, (uint64_t)segs);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    assert_true(tu_file_size(bad) == 100);
    expect_range(s, 1, 1, 200);
    col_spool_close(s);
    tu_rmrf(dir);
}

struct waiter {
    struct col_spool *s;
    int rc;
};

static void *wait_room_thread(void *arg)
{
    struct waiter *w = arg;
    w->rc = col_spool_wait_room(w->s, 10000);
    return NULL;
}

static void test_spool_full_refuse(void **state)
{
    char dir[512];
    char buf[1024];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), "full");
    struct col_spool_cfg c = small_cfg(dir);
    c.max_total_bytes = 3 * 4096;
    assert_int_equal(col_spool_open(&c, &s), 0);
    uint64_t i = 1;
    int rc;
    for (;; i++) {
        uint64_t seq;
        size_t len = tu_make_rec(i, buf, SPAN);
        rc = col_spool_append(s, buf, len, &seq);
        if (rc != 0) {
            break;
        }
        assert_int_equal(seq, i);
        assert_true(i < 1000);
    }
    assert_int_equal(rc, CT_E_FULL);
    col_spool_stats(s, &st);
    assert_int_equal(st.full_refusals, 1);
    assert_int_equal(st.last_seq, i - 1);
    assert_true(st.bytes <= c.max_total_bytes);
    assert_int_equal(col_spool_wait_room(s, 0), CT_E_TIMEOUT);
    assert_int_equal(col_spool_wait_room(s, 30), CT_E_TIMEOUT);

    struct waiter w = {.s = s, .rc = 99};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_room_thread, &w), 0);
    assert_int_equal(col_spool_commit(s, st.last_seq), 0);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, 0);
    append_n(s, i, 20);
    expect_range(s, i, i, i + 19);
    col_spool_close(s);
    tu_rmrf(dir);
}

static void test_spool_drop_oldest(void **state)
{
    char dir[512];
    char buf[1024];
    char want[1024];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), "drop");
    struct col_spool_cfg c = small_cfg(dir);
    c.max_total_bytes = 3 * 4096;
    c.full = COL_SPOOL_FULL_DROP_OLDEST;
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 400);
    col_spool_stats(s, &st);
    assert_true(st.dropped_records > 0);
    assert_int_equal(st.full_refusals, 0);
    assert_true(st.bytes <= c.max_total_bytes);
    assert_int_equal(st.last_seq, 400);
    assert_int_equal(st.commit_seq, st.dropped_records);
    assert_int_equal(st.records + st.dropped_records, 400);
    struct col_spool_reader *rd = NULL;
    size_t len;
    uint64_t seq;
    uint64_t n = 0;
    assert_int_equal(col_spool_reader_open(s, 1, &rd), 0);
    while (col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq) == 0) {
        assert_int_equal(seq, st.dropped_records + 1 + n);
        assert_int_equal(len, tu_make_rec(seq, want, SPAN));
        assert_memory_equal(buf, want, len);
        n++;
    }
    assert_int_equal(n, st.records);
    col_spool_reader_close(rd);
    col_spool_close(s);
    tu_rmrf(dir);
}

static void check_mode(enum col_spool_fsync mode, const char *tag)
{
    char dir[512];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), tag);
    struct col_spool_cfg c = small_cfg(dir);
    c.fsync = mode;
    c.fsync_interval_ms = 5;
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 100);
    col_spool_stats(s, &st);
    if (mode == COL_SPOOL_FSYNC_ALWAYS) {
        assert_true(st.fsyncs >= 100);
    } else if (mode == COL_SPOOL_FSYNC_NONE) {
        assert_int_equal(st.fsyncs, 0);
    } else {
        /* The flusher syncs within an interval or two: await the counter, bounded at 5 s. */
        for (int k = 0; k < 5000 && st.fsyncs == 0; k++) {
            usleep(1000);
            col_spool_stats(s, &st);
        }
        assert_true(st.fsyncs >= 1);
        assert_true(st.fsyncs < 100);
    }
    assert_int_equal(col_spool_sync(s), 0);
    col_spool_close(s);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    expect_range(s, 1, 1, 100);
    col_spool_close(s);
    tu_rmrf(dir);
}

static void test_spool_fsync_modes(void **state)
{
    check_mode(COL_SPOOL_FSYNC_ALWAYS, "always");
    check_mode(COL_SPOOL_FSYNC_INTERVAL, "interval");
    check_mode(COL_SPOOL_FSYNC_NONE, "none");
}

static void test_spool_args(void **state)
{
    char dir[512];
    char big[2048] = {0};
    struct col_spool *s = NULL;
    tu_mkdtemp(dir, sizeof(dir), "args");
    struct col_spool_cfg c = small_cfg(dir);
    struct col_spool_cfg bad = c;
    bad.max_total_bytes = 4096; /* below 2 segments */
    assert_int_equal(col_spool_open(&bad, &s), CT_E_INVAL);
    bad = c;
    bad.max_record_bytes = 4096; /* does not fit a segment */
    assert_int_equal(col_spool_open(&bad, &s), CT_E_INVAL);
    bad = c;
    bad.dir = NULL;
    assert_int_equal(col_spool_open(&bad, &s), CT_E_INVAL);
    assert_null(s);
    assert_int_equal(col_spool_open(&c, &s), 0);
    uint64_t seq = 0;
    assert_int_equal(col_spool_append(s, big, 1025, &seq), CT_E_TOOBIG);
    assert_int_equal(col_spool_append(s, big, 1024, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(col_spool_append(s, NULL, 0, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(col_spool_commit(s, 3), CT_E_INVAL);
    col_spool_close(s);
    col_spool_close(NULL);
    col_spool_reader_close(NULL);
    tu_rmrf(dir);
}

static uint64_t fake_now(void *arg)
{
    return *(const uint64_t *)arg;
}

static void test_spool_oldest_age(void **state)
{
    char dir[512];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t clock_ms = 1763888400000ull;
    tu_mkdtemp(dir, sizeof(dir), "age");
    struct col_spool_cfg c = small_cfg(dir);
    c.segment_bytes = 1u << 16;
    c.now_ms = fake_now;
    c.now_arg = &clock_ms;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.oldest_ms, 0);
    append_n(s, 1, 10);
    clock_ms += 5000;
    append_n(s, 11, 10);
    clock_ms += 5000;
    append_n(s, 21, 10);
    col_spool_stats(s, &st);
    assert_int_equal(st.oldest_ms, 1763888400000ull);
    assert_int_equal(col_spool_commit(s, 10), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.oldest_ms, 1763888405000ull);
    assert_int_equal(st.records, 20);
    assert_int_equal(col_spool_commit(s, 25), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.oldest_ms, 1763888410000ull);
    col_spool_close(s);
    /* Rebuilt from the records' append times at open. */
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.commit_seq, 25);
    assert_int_equal(st.oldest_ms, 1763888410000ull);
    assert_int_equal(col_spool_commit(s, 30), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.oldest_ms, 0);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* Reads the seq of dir/spool.commit (layout in docs/spool.md); 0 when missing. */
static uint64_t read_commit_file(const char *dir)
{
    char path[600];
    unsigned char b[24];
    snprintf(path, sizeof(path), "%s/spool.commit", dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return 0;
    }
    ssize_t r = read(fd, b, sizeof(b));
    close(fd);
    assert_int_equal(r, 24);
    assert_memory_equal(b, "CTSPCMT1", 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[8 + i];
    }
    return v;
}

static void test_spool_commit_persisted_by_flusher(void **state)
{
    char dir[512];
    struct col_spool *s = NULL;
    tu_mkdtemp(dir, sizeof(dir), "persist");
    struct col_spool_cfg c = small_cfg(dir);
    c.commit_interval_ms = 10;
    assert_int_equal(col_spool_open(&c, &s), 0);
    append_n(s, 1, 60);
    assert_int_equal(read_commit_file(dir), 0);
    assert_int_equal(col_spool_commit(s, 50), 0);
    /* Await the flusher (bounded at 5 s): the spool stays open, as after a crash. */
    uint64_t seen = 0;
    for (int k = 0; k < 5000 && seen != 50; k++) {
        usleep(1000);
        seen = read_commit_file(dir);
    }
    assert_int_equal(seen, 50);
    assert_int_equal(col_spool_commit(s, 55), 0);
    assert_int_equal(col_spool_sync(s), 0);
    assert_int_equal(read_commit_file(dir), 55);
    col_spool_close(s);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spool_roundtrip_rollover),
        cmocka_unit_test(test_spool_restart_commit),
        cmocka_unit_test(test_spool_torn_tail),
        cmocka_unit_test(test_spool_corrupt_middle),
        cmocka_unit_test(test_spool_bad_segment_header),
        cmocka_unit_test(test_spool_only_record_damaged),
        cmocka_unit_test(test_spool_full_refuse),
        cmocka_unit_test(test_spool_drop_oldest),
        cmocka_unit_test(test_spool_fsync_modes),
        cmocka_unit_test(test_spool_args),
        cmocka_unit_test(test_spool_oldest_age),
        cmocka_unit_test(test_spool_commit_persisted_by_flusher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
