/* test_spool_crash.c - col_spool under SIGKILL, under concurrent appenders and a reader, and its
 * append rate (printed, not asserted). */
#define _GNU_SOURCE 1 /* F_SETPIPE_SZ */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ct/err.h"
#include "spool_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define SPAN 200

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The child: appends forever, reporting each returned seq on the pipe, committing behind. */
static void child_appender(const char *dir, int wfd)
{
    struct col_spool_cfg c = {
        .dir = dir,
        .segment_bytes = 64 * 1024,
        .max_total_bytes = 64u << 20,
        .max_record_bytes = 1024,
        .fsync = COL_SPOOL_FSYNC_INTERVAL,
        .fsync_interval_ms = 20,
        .commit_interval_ms = 20,
    };
    struct col_spool *s = NULL;
    char buf[1024];
    if (col_spool_open(&c, &s) != 0) {
        _exit(2);
    }
    for (uint64_t i = 1; i < 5000000; i++) {
        uint64_t seq = 0;
        size_t len = tu_make_rec(i, buf, SPAN);
        if (col_spool_append(s, buf, len, &seq) != 0 || seq != i) {
            _exit(3);
        }
        if (write_all(wfd, &seq, sizeof(seq)) != 0) {
            _exit(4);
        }
        if (i % 1000 == 0 && i > 3000) {
            col_spool_commit(s, i - 3000);
        }
    }
    _exit(0);
}

static void test_spool_sigkill_mid_append(void **state)
{
    char dir[512];
    int fds[2];
    tu_mkdtemp(dir, sizeof(dir), "kill");
    assert_int_equal(pipe(fds), 0);
    /* A large pipe lets the child run ahead, so the kill lands inside appends, not in a write
     * blocked on a full pipe. */
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_appender(dir, fds[1]);
    }
    close(fds[1]);
    uint64_t reported = 0;
    uint64_t seq;
    bool killed = false;
    double deadline = now_s() + 60.0;
    for (;;) {
        ssize_t r = read(fds[0], &seq, sizeof(seq));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            break; /* the child is gone and everything it wrote is read */
        }
        assert_int_equal(r, (ssize_t)sizeof(seq)); /* 8-byte writes to a pipe are atomic */
        assert_int_equal(seq, reported + 1);
        reported = seq;
        if (!killed && (reported >= 29537 || now_s() > deadline)) {
            assert_int_equal(kill(pid, SIGKILL), 0);
            killed = true;
        }
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    close(fds[0]);
    assert_true(reported >= 29537);

    struct col_spool_cfg c = {.dir = dir,
                              .segment_bytes = 64 * 1024,
                              .max_total_bytes = 64u << 20,
                              .max_record_bytes = 1024};
    struct col_spool *s = NULL;
    struct col_spool_stats st;
    assert_int_equal(col_spool_open(&c, &s), 0);
    col_spool_stats(s, &st);
    print_message("killed after %" PRIu64 " reported appends; reopened: last_seq %" PRIu64
                  " commit %" PRIu64 " torn %" PRIu64 " corrupt %" PRIu64 "\n",
                  reported, st.last_seq, st.commit_seq, st.torn_tails, st.corrupt_records);
    assert_true(st.last_seq >= reported);
    assert_true(st.commit_seq <= reported);
    assert_int_equal(st.corrupt_records, 0);
    assert_true(st.torn_tails <= 1);
    /* The child committed at most up to c_max (it commits after reporting); segments below its
     * in-memory commit point may be gone even though the persisted point is older, since they
     * were delivered. Every record above c_max whose append returned, and every later complete
     * one, must read back intact and in order. */
    uint64_t c_max = (reported / 1000) * 1000 - 3000;
    struct col_spool_reader *rd = NULL;
    char buf[1024];
    char want[1024];
    size_t len;
    assert_int_equal(col_spool_reader_open(s, st.commit_seq + 1, &rd), 0);
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
    assert_true(seq > st.commit_seq);
    assert_true(seq <= c_max + 1);
    for (uint64_t i = seq;; i++) {
        assert_int_equal(seq, i);
        assert_int_equal(len, tu_make_rec(i, want, SPAN));
        assert_memory_equal(buf, want, len);
        if (i == st.last_seq) {
            break;
        }
        assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), 0);
    }
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    col_spool_reader_close(rd);
    uint64_t next = 0;
    assert_int_equal(col_spool_append(s, "after", 5, &next), 0);
    assert_int_equal(next, st.last_seq + 1);
    col_spool_close(s);
    tu_rmrf(dir);
}

#define PER_THREAD 20000

struct appender {
    struct col_spool *s;
    int id;
    int failures;
};

static void *appender_main(void *arg)
{
    struct appender *a = arg;
    char buf[64];
    for (int i = 0; i < PER_THREAD; i++) {
        int n = snprintf(buf, sizeof(buf), "t%d %d", a->id, i);
        uint64_t seq;
        if (col_spool_append(a->s, buf, (size_t)n, &seq) != 0) {
            a->failures++;
        }
    }
    return NULL;
}

static void test_spool_concurrent_append_read(void **state)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof(dir), "conc");
    struct col_spool_cfg c = {.dir = dir,
                              .segment_bytes = 32 * 1024,
                              .max_total_bytes = 64u << 20,
                              .max_record_bytes = 1024,
                              .fsync = COL_SPOOL_FSYNC_INTERVAL,
                              .fsync_interval_ms = 10,
                              .commit_interval_ms = 10};
    struct col_spool *s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    struct appender a[2] = {{.s = s, .id = 0}, {.s = s, .id = 1}};
    pthread_t th[2];
    struct col_spool_reader *rd = NULL;
    assert_int_equal(col_spool_reader_open(s, 1, &rd), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(pthread_create(&th[k], NULL, appender_main, &a[k]), 0);
    }
    int next_idx[2] = {0, 0};
    uint64_t got = 0;
    double deadline = now_s() + 60.0;
    char buf[64];
    size_t len;
    uint64_t seq;
    while (got < 2 * PER_THREAD && now_s() < deadline) {
        int rc = col_spool_reader_next(rd, buf, sizeof(buf) - 1, &len, &seq);
        if (rc == CT_E_NOTFOUND) {
            sched_yield(); /* nothing yet: the appenders are behind the reader */
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(seq, got + 1);
        buf[len] = '\0';
        int id = -1;
        int idx = -1;
        assert_int_equal(sscanf(buf, "t%d %d", &id, &idx), 2);
        assert_true(id == 0 || id == 1);
        assert_int_equal(idx, next_idx[id]);
        next_idx[id]++;
        got++;
        if (got % 997 == 0) {
            assert_int_equal(col_spool_commit(s, seq), 0); /* deletes segments behind us */
        }
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(a[k].failures, 0);
    }
    assert_int_equal(got, 2 * PER_THREAD);
    assert_int_equal(col_spool_reader_next(rd, buf, sizeof(buf), &len, &seq), CT_E_NOTFOUND);
    assert_int_equal(col_spool_reader_corrupt(rd), 0);
    col_spool_reader_close(rd);
    struct col_spool_stats st;
    col_spool_stats(s, &st);
    assert_int_equal(st.last_seq, 2 * PER_THREAD);
    assert_int_equal(st.appended, 2 * PER_THREAD);
    col_spool_close(s);
    tu_rmrf(dir);
}

static void rate_for(enum col_spool_fsync mode, const char *name)
{
    char dir[512];
    char rec[100];
    const uint64_t n = 200000;
    tu_mkdtemp(dir, sizeof(dir), name);
    struct col_spool_cfg c = {.dir = dir, .fsync = mode};
    struct col_spool *s = NULL;
    assert_int_equal(col_spool_open(&c, &s), 0);
    memset(rec, 'x', sizeof(rec));
    double t0 = now_s();
    for (uint64_t i = 1; i <= n; i++) {
        uint64_t seq;
        assert_int_equal(col_spool_append(s, rec, sizeof(rec), &seq), 0);
        assert_int_equal(seq, i);
    }
    double dt = now_s() - t0;
    print_message("spool append rate (fsync %s, 100-byte records): %.0f records/s\n", name,
                  (double)n / dt);
    struct col_spool_stats st;
    col_spool_stats(s, &st);
    assert_int_equal(st.records, n);
    assert_int_equal(st.bytes, st.segments * 40 + n * (32 + sizeof(rec)));
    col_spool_close(s);
    tu_rmrf(dir);
}

static void test_spool_append_rate(void **state)
{
    rate_for(COL_SPOOL_FSYNC_NONE, "none");
    rate_for(COL_SPOOL_FSYNC_INTERVAL, "interval");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spool_sigkill_mid_append),
        cmocka_unit_test(test_spool_concurrent_append_read),
        cmocka_unit_test(test_spool_append_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
