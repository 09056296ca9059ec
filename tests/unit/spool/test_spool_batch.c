/* test_spool_batch.c - col_spool's batch append (prefix semantics, the full and free-space
 * budgets, ENOSPC, fsync failure), the room check, the deletion of a wholly committed sole
 * segment, header-damage recovery, reader read errors, and a reader racing the batch writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ct/err.h"
#include "spool_test_util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <time.h>

#define REC_LEN 100u
#define FRAME (32u + REC_LEN)

/* Thread-safe log capture: the number of lines, the last one, and lines containing 'needle'. */
struct logcap {
    pthread_mutex_t mu;
    int n;
    char last[512];
};

static struct logcap g_log = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void log_cb(void *arg, const char *msg)
{
    struct logcap *lc = arg;
    pthread_mutex_lock(&lc->mu);
    lc->n++;
    snprintf(lc->last, sizeof(lc->last), "%s", msg);
    pthread_mutex_unlock(&lc->mu);
}

static int log_count(void)
{
    pthread_mutex_lock(&g_log.mu);
    int n = g_log.n;
    pthread_mutex_unlock(&g_log.mu);
    return n;
}

static void log_last(char *out, size_t cap)
{
    pthread_mutex_lock(&g_log.mu);
    snprintf(out, cap, "%s", g_log.last);
    pthread_mutex_unlock(&g_log.mu);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct col_spool_cfg base_cfg(const char *dir)
{
    struct col_spool_cfg c = {
        .dir = dir,
        .segment_bytes = 4096,
        .max_total_bytes = 1u << 20,
        .max_record_bytes = 1024,
        .fsync = COL_SPOOL_FSYNC_NONE,
        .min_free_bytes = 1,
        .log = log_cb,
        .log_arg = &g_log,
    };
    return c;
}

/* Record i: REC_LEN bytes, "r<i>" then filler that depends on i. */
static void fill_rec(uint64_t i, char *buf)
{
    char head[32];
    int n = snprintf(head, sizeof(head), "r%llu:", (unsigned long long)i);

    /* Filler first, then the head over it: the same bytes as writing the head and filling
     * after it, in a form GCC's -O3 bounds analysis (Release builds) does not misread. */
    for (size_t k = 0; k < REC_LEN; k++) {
        buf[k] = (char)('a' + (i * 31u + k) % 26);
    }
    memcpy(buf, head, (size_t)n);
}

/* A batch of 'n' records numbered from 'first' (by content); storage in 'bufs'. */
static void make_batch(struct col_spool_rec *recs, char (*bufs)[REC_LEN], uint64_t first, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        fill_rec(first + k, bufs[k]);
        recs[k] = (struct col_spool_rec){.data = bufs[k], .len = REC_LEN};
    }
}

/* Reads from 'from': exactly the records first..last (by content), then CT_E_NOTFOUND. */
static void expect_seq(struct col_spool *s, uint64_t from, uint64_t first, uint64_t last)
{
    struct col_spool_reader *rd = NULL;
    char buf[1024];
    char want[REC_LEN];
    size_t len = 0;
    uint64_t seq = 0;
    assert_int_equal(col_spool_reader_open(s, from, &rd), 0);
    for (uint64_t i = first; i <= last; i++) {
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
        assert_int_equal(seq, i);
        assert_int_equal(len, REC_LEN);
        fill_rec(i, want);
        assert_memory_equal(buf, want, REC_LEN);
    }
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    assert_int_equal(col_spool_reader_corrupt(rd), 0);
    col_spool_reader_close(rd);
}

/* Prefix semantics: numbering, roll-overs inside a batch, TOOBIG in the middle, empty batch. */
static void test_spool_batch_prefix(void **state)
{
    (void)state;
    char dir[512];
    static char bufs[2000][REC_LEN];
    static struct col_spool_rec recs[2000];
    char big[2000] = {0};
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 99;
    tu_mkdtemp(dir, sizeof(dir), "bprefix");
    struct col_spool_cfg c = base_cfg(dir);
    assert_int_equal(col_spool_open(&c, &s), 0);
    assert_int_equal(col_spool_append_batch(s, NULL, 0, &first, &done), 0);
    assert_int_equal(done, 0);
    assert_int_equal(first, 1);
    /* 2000 records (over IOV_MAX / 2 per writev, 67 segments of 30 records). */
    make_batch(recs, bufs, 1, 2000);
    assert_int_equal(col_spool_append_batch(s, recs, 2000, &first, &done), 0);
    assert_int_equal(first, 1);
    assert_int_equal(done, 2000);
    /* Record 3 of the next batch is too big: 2 done, nothing of the rest written. */
    make_batch(recs, bufs, 2001, 4);
    recs[2] = (struct col_spool_rec){.data = big, .len = sizeof(big)};
    assert_int_equal(col_spool_append_batch(s, recs, 4, &first, &done), CT_E_TOOBIG);
    assert_int_equal(first, 2001);
    assert_int_equal(done, 2);
    /* The numbering stays gapless. */
    make_batch(recs, bufs, 2003, 5);
    assert_int_equal(col_spool_append_batch(s, recs, 5, &first, &done), 0);
    assert_int_equal(first, 2003);
    assert_int_equal(done, 5);
    uint64_t seq = 0;
    char one[REC_LEN];
    fill_rec(2008, one);
    assert_int_equal(col_spool_append(s, one, REC_LEN, &seq), 0);
    assert_int_equal(seq, 2008);
    col_spool_stats(s, &st);
    assert_int_equal(st.last_seq, 2008);
    assert_int_equal(st.appended, 2008);
    assert_int_equal(st.bytes, st.segments * 40u + 2008u * FRAME);
    expect_seq(s, 1, 1, 2008);
    col_spool_close(s);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    expect_seq(s, 1, 1, 2008);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* max_total_bytes under the refuse policy: exactly the records that fit are done; has_room
 * agrees; a commit frees room and the next batch continues the numbering. */
static void test_spool_batch_full_exact(void **state)
{
    (void)state;
    char dir[512];
    static char bufs[100][REC_LEN];
    struct col_spool_rec recs[100];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 0;
    tu_mkdtemp(dir, sizeof(dir), "bfull");
    struct col_spool_cfg c = base_cfg(dir);
    c.max_total_bytes = 3 * 4096;
    assert_int_equal(col_spool_open(&c, &s), 0);
    /* A segment holds 30 frames (40 + 30 * 132 = 4000 <= 4096); three make 12000 bytes, and a
     * fourth segment fits one frame (12172); the next would make 12304 > 12288. */
    make_batch(recs, bufs, 1, 100);
    assert_int_equal(col_spool_append_batch(s, recs, 100, &first, &done), CT_E_FULL);
    assert_int_equal(first, 1);
    assert_int_equal(done, 91);
    col_spool_stats(s, &st);
    assert_int_equal(st.last_seq, 91);
    assert_int_equal(st.bytes, 3u * 4000u + 40u + FRAME);
    assert_int_equal(st.segments, 4);
    assert_int_equal(st.full_refusals, 1);
    assert_int_equal(st.nospace, 0);
    assert_false(col_spool_has_room(s, FRAME));
    assert_int_equal(col_spool_append_batch(s, recs, 1, &first, &done), CT_E_FULL);
    assert_int_equal(first, 92);
    assert_int_equal(done, 0);
    /* Once per streak in the log. */
    int lines = log_count();
    assert_int_equal(col_spool_append_batch(s, recs, 1, &first, &done), CT_E_FULL);
    assert_int_equal(log_count(), lines);
    /* Deletes the first two segments: 4172 bytes left, room for 29 + 30 + 1 frames. */
    assert_int_equal(col_spool_commit(s, 60), 0);
    assert_true(col_spool_has_room(s, 30 * FRAME));
    make_batch(recs, bufs, 92, 100);
    assert_int_equal(col_spool_append_batch(s, recs, 100, &first, &done), CT_E_FULL);
    assert_int_equal(first, 92);
    assert_int_equal(done, 60);
    col_spool_stats(s, &st);
    assert_int_equal(st.full_refusals, 4);
    assert_true(st.bytes <= c.max_total_bytes);
    expect_seq(s, 61, 61, 151);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* The fake file system: 'base' bytes free minus the bytes of the files in 'dir'. */
struct fakefs {
    pthread_mutex_t mu;
    uint64_t base;
    int calls;
};

static uint64_t dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    uint64_t sum = 0;
    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat sb;
        if (e->d_name[0] != '.' && stat(p, &sb) == 0) {
            sum += (uint64_t)sb.st_size;
        }
    }
    closedir(d);
    return sum;
}

static uint64_t fake_free(void *arg, const char *dir)
{
    struct fakefs *f = arg;
    pthread_mutex_lock(&f->mu);
    uint64_t base = f->base;
    f->calls++;
    pthread_mutex_unlock(&f->mu);
    uint64_t used = dir_bytes(dir);
    return base > used ? base - used : 0;
}

/* min_free_bytes: an append that would take the file system's free space below it gets
 * CT_E_FULL with the exact prefix done; room returns when space is freed. */
static void test_spool_batch_min_free(void **state)
{
    (void)state;
    char dir[512];
    static char bufs[20][REC_LEN];
    struct col_spool_rec recs[20];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 0;
    const uint64_t min_free = 1u << 20;
    tu_mkdtemp(dir, sizeof(dir), "bminfree");
    struct fakefs fs = {.mu = PTHREAD_MUTEX_INITIALIZER,
                        .base = min_free + 40 + 10 * FRAME + FRAME / 2};
    struct col_spool_cfg c = base_cfg(dir);
    c.segment_bytes = 64 * 1024;
    c.min_free_bytes = min_free;
    c.free_bytes = fake_free;
    c.hook_arg = &fs;
    assert_int_equal(col_spool_open(&c, &s), 0);
    assert_true(col_spool_has_room(s, 10 * FRAME));
    assert_false(col_spool_has_room(s, 11 * FRAME));
    make_batch(recs, bufs, 1, 20);
    assert_int_equal(col_spool_append_batch(s, recs, 20, &first, &done), CT_E_FULL);
    assert_int_equal(first, 1);
    assert_int_equal(done, 10);
    col_spool_stats(s, &st);
    assert_int_equal(st.full_refusals, 1);
    assert_int_equal(st.last_seq, 10);
    assert_false(col_spool_has_room(s, FRAME));
    char last[512];
    log_last(last, sizeof(last));
    assert_non_null(strstr(last, "min_free_bytes"));
    /* The file system gets 5 frames more: the next batch refreshes the sample before refusing. */
    pthread_mutex_lock(&fs.mu);
    fs.base += 5 * FRAME;
    pthread_mutex_unlock(&fs.mu);
    make_batch(recs, bufs, 11, 20);
    assert_int_equal(col_spool_append_batch(s, recs, 20, &first, &done), CT_E_FULL);
    assert_int_equal(first, 11);
    assert_int_equal(done, 5);
    /* has_room follows within about a second of a change (its sample is cached). */
    pthread_mutex_lock(&fs.mu);
    fs.base += 100 * FRAME;
    pthread_mutex_unlock(&fs.mu);
    double deadline = now_s() + 10.0;
    while (!col_spool_has_room(s, 20 * FRAME) && now_s() < deadline) {
        usleep(10000);
    }
    assert_true(col_spool_has_room(s, 20 * FRAME));
    make_batch(recs, bufs, 16, 20);
    assert_int_equal(col_spool_append_batch(s, recs, 20, &first, &done), 0);
    assert_int_equal(first, 16);
    assert_int_equal(done, 20);
    log_last(last, sizeof(last));
    assert_non_null(strstr(last, "writes succeed again after 2 failures"));
    expect_seq(s, 1, 1, 35);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* A writev that lets 'budget' bytes through, writing part of a call when the budget ends inside
 * it, then fails with ENOSPC, as a file system filling up does. */
struct wbudget {
    int64_t budget; /* < 0: unlimited */
    int calls;
};

static ssize_t budget_writev(void *arg, int fd, const struct iovec *iov, int iovcnt)
{
    struct wbudget *b = arg;
    b->calls++;
    size_t total = 0;
    for (int k = 0; k < iovcnt; k++) {
        total += iov[k].iov_len;
    }
    if (b->budget < 0 || (uint64_t)b->budget >= total) {
        ssize_t w = writev(fd, iov, iovcnt);
        if (w > 0 && b->budget >= 0) {
            b->budget -= w;
        }
        return w;
    }
    if (b->budget == 0) {
        errno = ENOSPC;
        return -1;
    }
    struct iovec part[64];
    int np = 0;
    size_t left = (size_t)b->budget;
    for (int k = 0; k < iovcnt && left > 0 && np < 64; k++) {
        size_t l = iov[k].iov_len < left ? iov[k].iov_len : left;
        part[np++] = (struct iovec){.iov_base = iov[k].iov_base, .iov_len = l};
        left -= l;
    }
    ssize_t w = writev(fd, part, np);
    if (w > 0) {
        b->budget -= w;
    }
    return w;
}

/* ENOSPC part-way through a record: the whole records before it are done, the partial one is
 * cut off, one log line per streak, and the numbering and the file stay clean. */
static void test_spool_batch_enospc_hook(void **state)
{
    (void)state;
    char dir[512];
    char path[600];
    static char bufs[20][REC_LEN];
    struct col_spool_rec recs[20];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 0;
    tu_mkdtemp(dir, sizeof(dir), "benospc");
    struct wbudget wb = {.budget = 5 * FRAME + 50};
    struct col_spool_cfg c = base_cfg(dir);
    c.segment_bytes = 64 * 1024;
    c.writev_fn = budget_writev;
    c.hook_arg = &wb;
    assert_int_equal(col_spool_open(&c, &s), 0);
    int lines0 = log_count();
    make_batch(recs, bufs, 1, 20);
    assert_int_equal(col_spool_append_batch(s, recs, 20, &first, &done), CT_E_FULL);
    assert_int_equal(first, 1);
    assert_int_equal(done, 5);
    tu_seg_path(path, sizeof(path), dir, 1);
    assert_int_equal(tu_file_size(path), 40 + 5 * FRAME); /* the partial record was cut off */
    col_spool_stats(s, &st);
    assert_int_equal(st.nospace, 1);
    assert_int_equal(st.full_refusals, 1);
    assert_int_equal(st.last_seq, 5);
    assert_int_equal(log_count(), lines0 + 1);
    char last[512];
    log_last(last, sizeof(last));
    assert_non_null(strstr(last, "No space left on device"));
    /* More failing appends: counted, not logged again. */
    for (int k = 0; k < 5; k++) {
        assert_int_equal(col_spool_append_batch(s, recs, 3, &first, &done), CT_E_FULL);
        assert_int_equal(first, 6);
        assert_int_equal(done, 0);
    }
    assert_int_equal(log_count(), lines0 + 1);
    col_spool_stats(s, &st);
    assert_int_equal(st.nospace, 6);
    assert_int_equal(st.full_refusals, 6);
    assert_int_equal(st.io_errors, 6);
    /* Space again: the next batch continues at 6, and one line says so. */
    wb.budget = -1;
    make_batch(recs, bufs, 6, 3);
    assert_int_equal(col_spool_append_batch(s, recs, 3, &first, &done), 0);
    assert_int_equal(first, 6);
    assert_int_equal(done, 3);
    assert_int_equal(log_count(), lines0 + 2);
    log_last(last, sizeof(last));
    assert_string_equal(last, "spool: writes succeed again after 6 failures");
    col_spool_close(s);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.torn_tails, 0);
    assert_int_equal(st.corrupt_records, 0);
    expect_seq(s, 1, 1, 8);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* A real, 1 MiB tmpfs filled up (needs root; skipped otherwise): CT_E_FULL (from the
 * min_free_bytes budget or ENOSPC, whichever the page granularity makes come first), the prefix
 * is exact and readable, and a commit of everything frees the file system so appends resume. */
static void test_spool_batch_enospc_tmpfs(void **state)
{
    (void)state;
    char mnt[512];
    char dir[600];
    static char bufs[64][REC_LEN];
    struct col_spool_rec recs[64];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 0;
    tu_mkdtemp(mnt, sizeof(mnt), "tmpfs");
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        print_message("skipped: cannot mount a tmpfs (%s); the ENOSPC path is covered by "
                      "test_spool_batch_enospc_hook\n",
                      strerror(errno));
        rmdir(mnt);
        skip();
    }
    snprintf(dir, sizeof(dir), "%s/spool", mnt);
    struct col_spool_cfg c = base_cfg(dir);
    c.segment_bytes = 256 * 1024;
    c.max_total_bytes = 64u << 20;
    c.fsync = COL_SPOOL_FSYNC_INTERVAL;
    c.fsync_interval_ms = 10;
    c.commit_interval_ms = 10;
    c.min_free_bytes = 16 * 1024; /* the commit point file still needs room */
    assert_int_equal(col_spool_open(&c, &s), 0);
    uint64_t next = 1;
    int rc = 0;
    while (next < 100000) {
        make_batch(recs, bufs, next, 64);
        rc = col_spool_append_batch(s, recs, 64, &first, &done);
        assert_int_equal(first, next);
        next += done;
        if (rc != 0) {
            break;
        }
    }
    assert_int_equal(rc, CT_E_FULL);
    col_spool_stats(s, &st);
    print_message("tmpfs full after %llu records: %llu ENOSPC, %llu refusals\n",
                  (unsigned long long)(next - 1), (unsigned long long)st.nospace,
                  (unsigned long long)st.full_refusals);
    assert_int_equal(st.last_seq, next - 1);
    assert_true(next > 1000); /* most of the MiB was used */
    expect_seq(s, 1, 1, next - 1);
    /* Everything delivered: the commit deletes every segment, the newest included. */
    assert_int_equal(col_spool_commit(s, next - 1), 0);
    double deadline = now_s() + 20.0;
    do {
        col_spool_stats(s, &st);
        if (st.segments == 0) {
            break;
        }
        usleep(10000);
    } while (now_s() < deadline);
    assert_int_equal(st.segments, 0);
    make_batch(recs, bufs, next, 64);
    assert_int_equal(col_spool_append_batch(s, recs, 64, &first, &done), 0);
    assert_int_equal(first, next);
    assert_int_equal(done, 64);
    col_spool_close(s);
    tu_rmrf(dir);
    assert_int_equal(umount(mnt), 0);
    rmdir(mnt);
}

/* fdatasync fails once: *done excludes the records it should have made durable; they stay in
 * the journal (replayed), and the next batch goes to a new segment with the next numbers. */
static int g_fail_syncs;

static int failing_fdatasync(void *arg, int fd)
{
    (void)arg;
    if (g_fail_syncs > 0) {
        g_fail_syncs--;
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

static void test_spool_batch_fsync_error(void **state)
{
    (void)state;
    char dir[512];
    static char bufs[10][REC_LEN];
    struct col_spool_rec recs[10];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 0;
    tu_mkdtemp(dir, sizeof(dir), "bfsync");
    struct col_spool_cfg c = base_cfg(dir);
    c.fsync = COL_SPOOL_FSYNC_ALWAYS;
    c.fdatasync_fn = failing_fdatasync;
    assert_int_equal(col_spool_open(&c, &s), 0);
    make_batch(recs, bufs, 1, 10);
    assert_int_equal(col_spool_append_batch(s, recs, 10, &first, &done), 0);
    assert_int_equal(done, 10);
    g_fail_syncs = 1;
    make_batch(recs, bufs, 11, 10);
    assert_int_equal(col_spool_append_batch(s, recs, 10, &first, &done), CT_E_IO);
    assert_int_equal(first, 11);
    assert_int_equal(done, 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.io_errors, 1);
    assert_int_equal(st.last_seq, 20);
    make_batch(recs, bufs, 21, 10);
    assert_int_equal(col_spool_append_batch(s, recs, 10, &first, &done), 0);
    assert_int_equal(first, 21);
    assert_int_equal(done, 10);
    col_spool_stats(s, &st);
    assert_int_equal(st.segments, 2);
    expect_seq(s, 1, 1, 30);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* The full-disk finding: with every record in one segment, committing all of them deletes that
 * segment, and the numbering continues after it, across a restart too. */
static void test_spool_commit_deletes_sole_segment(void **state)
{
    (void)state;
    char dir[512];
    static char bufs[300][REC_LEN];
    static struct col_spool_rec recs[300];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 0;
    tu_mkdtemp(dir, sizeof(dir), "bsole");
    struct col_spool_cfg c = base_cfg(dir);
    c.segment_bytes = 256u << 10; /* 300 frames are over 1/16 of it: worth deleting */
    c.max_total_bytes = 4u << 20;
    c.commit_interval_ms = 60000; /* the deletion must persist the commit point itself */
    assert_int_equal(col_spool_open(&c, &s), 0);
    make_batch(recs, bufs, 1, 300);
    assert_int_equal(col_spool_append_batch(s, recs, 300, &first, &done), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(tu_count_segments(dir), 1);
    assert_int_equal(col_spool_commit(s, 300), 0);
    double deadline = now_s() + 20.0;
    do {
        col_spool_stats(s, &st);
        if (st.segments == 0) {
            break;
        }
        usleep(5000);
    } while (now_s() < deadline);
    assert_int_equal(st.segments, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.records, 0);
    assert_int_equal(tu_count_segments(dir), 0);
    /* The commit point was persisted before the deletion (the flusher's own schedule is a
     * minute away), so a crash now still numbers on from 301. */
    char path[600];
    unsigned char cb[24];
    snprintf(path, sizeof(path), "%s/spool.commit", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(cb, 1, sizeof(cb), f), sizeof(cb));
    fclose(f);
    uint64_t persisted = 0;
    for (int k = 7; k >= 0; k--) {
        persisted = (persisted << 8) | cb[8 + k];
    }
    assert_int_equal(persisted, 300);
    /* The next append starts a fresh segment with the next number. */
    make_batch(recs, bufs, 301, 2);
    assert_int_equal(col_spool_append_batch(s, recs, 2, &first, &done), 0);
    assert_int_equal(first, 301);
    expect_seq(s, 301, 301, 302);
    col_spool_close(s);
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    uint64_t seq = 0;
    assert_int_equal(col_spool_append(s, bufs[0], REC_LEN, &seq), 0);
    assert_int_equal(seq, 303);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* One flipped byte in the header of a segment of 3000 records: all 3000 come back. */
static void test_spool_header_damage_recovers_records(void **state)
{
    (void)state;
    char dir[512];
    char path[600];
    static char bufs[3000][REC_LEN];
    static struct col_spool_rec recs[3000];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    uint64_t first = 0;
    size_t done = 0;
    tu_mkdtemp(dir, sizeof(dir), "bhdr");
    struct col_spool_cfg c = base_cfg(dir);
    c.segment_bytes = 1u << 20;
    c.max_total_bytes = 4u << 20;
    assert_int_equal(col_spool_open(&c, &s), 0);
    make_batch(recs, bufs, 1, 3000);
    assert_int_equal(col_spool_append_batch(s, recs, 3000, &first, &done), 0);
    assert_int_equal(done, 3000);
    col_spool_close(s);
    assert_int_equal(tu_count_segments(dir), 1);
    tu_seg_path(path, sizeof(path), dir, 1);
    static const long offs[] = {3, 9, 17, 33}; /* magic, version, first seq, CRC: each alone */
    for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
        long off = offs[k];
        assert_int_equal(tu_flip(path, off), 0);
        int lines0 = log_count();
        s = NULL;
        assert_int_equal(col_spool_open(&c, &s), 0);
        col_spool_stats(s, &st);
        assert_int_equal(st.corrupt_records, 1);
        assert_int_equal(st.segments, 1);
        assert_int_equal(st.last_seq, 3000);
        assert_int_equal(st.records, 3000);
        assert_true(log_count() > lines0);
        expect_seq(s, 1, 1, 3000);
        /* The segment is not appended to: a new record goes to a new segment. */
        col_spool_close(s);
    }
    s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    assert_int_equal(st.corrupt_records, 0); /* the header was rewritten */
    col_spool_close(s);
    tu_rmrf(dir);
}

/* A segment that reads short (it lost bytes under the reader): CT_E_IO, repeatedly, never a
 * jump to the next segment. */
static void test_spool_reader_io_error(void **state)
{
    (void)state;
    char dir[512];
    char path[600];
    static char bufs[100][REC_LEN];
    struct col_spool_rec recs[100];
    struct col_spool *s = NULL;
    uint64_t first = 0;
    size_t done = 0;
    tu_mkdtemp(dir, sizeof(dir), "breadio");
    struct col_spool_cfg c = base_cfg(dir);
    assert_int_equal(col_spool_open(&c, &s), 0);
    make_batch(recs, bufs, 1, 100);
    assert_int_equal(col_spool_append_batch(s, recs, 100, &first, &done), 0);
    /* The first segment holds 1..30; cut it after record 10 and a half. */
    tu_seg_path(path, sizeof(path), dir, 1);
    assert_int_equal(truncate(path, 40 + 10 * FRAME + FRAME / 2), 0);
    struct col_spool_reader *rd = NULL;
    char buf[1024];
    size_t len;
    uint64_t seq;
    assert_int_equal(col_spool_reader_open(s, 1, &rd), 0);
    for (uint64_t i = 1; i <= 10; i++) {
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
        assert_int_equal(seq, i);
    }
    for (int k = 0; k < 3; k++) {
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_IO);
    }
    assert_int_equal(col_spool_reader_corrupt(rd), 0);
    col_spool_reader_close(rd);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* The batch writer and a reader on the same segments at once: the reader sees every record
 * once, in order, complete, never corrupt; "no more now" is CT_E_NOTFOUND. */
#define CONC_TOTAL 60000u

struct writer {
    struct col_spool *s;
    int failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    static char bufs[97][REC_LEN];
    struct col_spool_rec recs[97];
    uint64_t next = 1;
    unsigned r = 12345;
    while (next <= CONC_TOTAL) {
        r = r * 1103515245u + 12345u;
        size_t n = 1 + (r >> 16) % 97;
        if (next + n - 1 > CONC_TOTAL) {
            n = (size_t)(CONC_TOTAL - next + 1);
        }
        make_batch(recs, bufs, next, n);
        uint64_t first = 0;
        size_t done = 0;
        if (col_spool_append_batch(w->s, recs, n, &first, &done) != 0 || first != next ||
            done != n) {
            w->failures++;
            return NULL;
        }
        next += n;
    }
    return NULL;
}

static void test_spool_batch_concurrent_reader(void **state)
{
    (void)state;
    char dir[512];
    tu_mkdtemp(dir, sizeof(dir), "bconc");
    struct col_spool_cfg c = base_cfg(dir);
    c.segment_bytes = 64 * 1024;
    c.max_total_bytes = 64u << 20;
    c.fsync = COL_SPOOL_FSYNC_INTERVAL;
    c.fsync_interval_ms = 5;
    c.commit_interval_ms = 10;
    struct col_spool *s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    struct col_spool_reader *rd = NULL;
    assert_int_equal(col_spool_reader_open(s, 1, &rd), 0);
    struct writer w = {.s = s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
    uint64_t got = 0;
    uint64_t notfound = 0;
    double deadline = now_s() + 80.0;
    char buf[1024];
    char want[REC_LEN];
    size_t len;
    uint64_t seq;
    while (got < CONC_TOTAL && now_s() < deadline) {
        int rc = col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq);
        if (rc == CT_E_NOTFOUND) {
            notfound++;
            sched_yield();
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(seq, got + 1);
        assert_int_equal(len, REC_LEN);
        fill_rec(seq, want);
        assert_memory_equal(buf, want, REC_LEN);
        got++;
        if (got % 4999 == 0) {
            assert_int_equal(col_spool_commit(s, seq), 0); /* deletes segments behind us */
        }
    }
    pthread_join(th, NULL);
    assert_int_equal(w.failures, 0);
    assert_int_equal(got, CONC_TOTAL);
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    assert_int_equal(col_spool_reader_corrupt(rd), 0);
    print_message("concurrent reader: %llu records, %llu \"no more now\" answers\n",
                  (unsigned long long)got, (unsigned long long)notfound);
    col_spool_reader_close(rd);
    col_spool_close(s);
    tu_rmrf(dir);
}

/* The state lock is not held across fdatasync: while the writer's fdatasync is stuck, stats,
 * has_room, commit and a reader on another thread all return. */
struct stuck {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool in_sync;
    bool release;
    bool timed_out;
};

static struct stuck g_stuck = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int stuck_fdatasync(void *arg, int fd)
{
    (void)arg;
    pthread_mutex_lock(&g_stuck.mu);
    g_stuck.in_sync = true;
    pthread_cond_broadcast(&g_stuck.cv);
    double deadline = now_s() + 20.0;
    while (!g_stuck.release && now_s() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g_stuck.cv, &g_stuck.mu, &ts);
    }
    g_stuck.timed_out = !g_stuck.release;
    pthread_mutex_unlock(&g_stuck.mu);
    return fdatasync(fd);
}

struct batcher {
    struct col_spool *s;
    struct col_spool_rec *recs;
    size_t n;
    int rc;
    size_t done;
};

static void *batcher_main(void *arg)
{
    struct batcher *b = arg;
    uint64_t first;
    b->rc = col_spool_append_batch(b->s, b->recs, b->n, &first, &b->done);
    return NULL;
}

static void test_spool_batch_lock_free_fsync(void **state)
{
    (void)state;
    char dir[512];
    static char bufs[10][REC_LEN];
    struct col_spool_rec recs[10];
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    tu_mkdtemp(dir, sizeof(dir), "bstuck");
    struct col_spool_cfg c = base_cfg(dir);
    c.fsync = COL_SPOOL_FSYNC_ALWAYS;
    c.fdatasync_fn = stuck_fdatasync;
    assert_int_equal(col_spool_open(&c, &s), 0);
    make_batch(recs, bufs, 1, 10);
    struct batcher b = {.s = s, .recs = recs, .n = 10, .rc = 99};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, batcher_main, &b), 0);
    pthread_mutex_lock(&g_stuck.mu);
    while (!g_stuck.in_sync) {
        pthread_cond_wait(&g_stuck.cv, &g_stuck.mu);
    }
    pthread_mutex_unlock(&g_stuck.mu);
    /* The batch is written and published, its fdatasync is stuck. */
    col_spool_stats(s, &st);
    assert_int_equal(st.last_seq, 10);
    assert_true(col_spool_has_room(s, FRAME));
    assert_int_equal(col_spool_commit(s, 3), 0);
    expect_seq(s, 4, 4, 10);
    pthread_mutex_lock(&g_stuck.mu);
    bool timed_out = g_stuck.timed_out;
    g_stuck.release = true;
    pthread_cond_broadcast(&g_stuck.cv);
    pthread_mutex_unlock(&g_stuck.mu);
    pthread_join(th, NULL);
    assert_false(timed_out);
    assert_int_equal(b.rc, 0);
    assert_int_equal(b.done, 10);
    col_spool_close(s);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spool_batch_prefix),
        cmocka_unit_test(test_spool_batch_full_exact),
        cmocka_unit_test(test_spool_batch_min_free),
        cmocka_unit_test(test_spool_batch_enospc_hook),
        cmocka_unit_test(test_spool_batch_enospc_tmpfs),
        cmocka_unit_test(test_spool_batch_fsync_error),
        cmocka_unit_test(test_spool_commit_deletes_sole_segment),
        cmocka_unit_test(test_spool_header_damage_recovers_records),
        cmocka_unit_test(test_spool_reader_io_error),
        cmocka_unit_test(test_spool_batch_concurrent_reader),
        cmocka_unit_test(test_spool_batch_lock_free_fsync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
