/* test_outbox.c - fw_outbox: append/ack/restart, torn tails after a kill, the bound and its drop
 * counter, byte-identical resends, damaged segments, and a real SIGKILL during appends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct/err.h"
#include "fw_hal.h"
#include "fw_outbox.h"

struct fx {
    char dir[256];
    struct fw_nvs *nvs;
    struct fw_outbox *ob;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-outbox-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(fw_nvs_open(f->dir, &f->nvs), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    fw_outbox_close(f->ob);
    fw_nvs_close(f->nvs);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void reopen(struct fx *f, size_t max_records, size_t seg_records)
{
    fw_outbox_close(f->ob);
    f->ob = NULL;
    struct fw_outbox_cfg cfg = {max_records, seg_records, true};
    assert_int_equal(fw_outbox_open(f->nvs, &cfg, &f->ob), 0);
}

static int payload_of(uint64_t n, char *buf, size_t cap)
{
    return snprintf(buf, cap,
                    "{\"v\":1,\"id\":\"hn-air-0001\",\"seq\":%" PRIu64 ",\"pad\":\"%0*d\"}", n,
                    (int)(n % 50), 0);
}

static void append_n(struct fx *f, uint64_t from, uint64_t n)
{
    for (uint64_t i = from; i < from + n; i++) {
        char p[256];
        int len = payload_of(i, p, sizeof(p));
        uint64_t recno = 0;
        assert_int_equal(fw_outbox_append(f->ob, 7, i, p, (size_t)len, &recno), 0);
        assert_int_equal(recno, i);
    }
}

static void expect_next(struct fx *f, uint64_t recno)
{
    struct fw_outbox_rec rec;
    char p[256];
    int len = payload_of(recno, p, sizeof(p));
    assert_int_equal(fw_outbox_next(f->ob, &rec), 0);
    assert_int_equal(rec.recno, recno);
    assert_int_equal(rec.boot, 7);
    assert_int_equal(rec.seq, recno);
    assert_int_equal(rec.len, (size_t)len);
    assert_memory_equal(rec.payload, p, (size_t)len);
}

static int truncate_to(struct fx *f, uint64_t size)
{
    return fw_nvs_log_truncate(f->nvs, "obseg-0000000000000000", size);
}

/* A node that is caught up sends each record as soon as it is appended: the record after a full
 * segment starts a new segment only when it is appended, after the send cursor passed the old
 * segment's end. It must still be sent (it was lost: 256, 512, ... never arrived). */
static void test_outbox_caught_up_across_segments(void **state)
{
    struct fx *f = *state;
    struct fw_outbox_rec rec;

    reopen(f, 1000, 4);
    for (uint64_t i = 0; i < 13; i++) {
        append_n(f, i, 1);
        expect_next(f, i);
        assert_int_equal(fw_outbox_next(f->ob, &rec), CT_E_NOTFOUND);
        assert_int_equal(fw_outbox_ack(f->ob, i), 0);
    }
    assert_int_equal(fw_outbox_pending(f->ob), 0);
}

static void test_outbox_append_ack_restart(void **state)
{
    struct fx *f = *state;
    reopen(f, 1000, 4);
    append_n(f, 0, 10);
    for (uint64_t i = 0; i < 5; i++) {
        expect_next(f, i);
    }
    assert_int_equal(fw_outbox_outstanding(f->ob), 5);
    assert_int_equal(fw_outbox_ack(f->ob, 0), 0);
    assert_int_equal(fw_outbox_ack(f->ob, 2), 0); /* out of order: pointer waits for 1 */
    assert_int_equal(fw_outbox_pending(f->ob), 9);
    assert_int_equal(fw_outbox_ack(f->ob, 1), 0);
    assert_int_equal(fw_outbox_pending(f->ob), 7);
    assert_int_equal(fw_outbox_ack(f->ob, 99), CT_E_INVAL);
    assert_int_equal(fw_outbox_ack(f->ob, 0), 0); /* already removed: no-op */

    reopen(f, 1000, 4); /* restart: unacked 3..9 come back, oldest first */
    assert_int_equal(fw_outbox_pending(f->ob), 7);
    for (uint64_t i = 3; i < 10; i++) {
        expect_next(f, i);
    }
    struct fw_outbox_rec rec;
    assert_int_equal(fw_outbox_next(f->ob, &rec), CT_E_NOTFOUND);
    for (uint64_t i = 3; i < 10; i++) {
        assert_int_equal(fw_outbox_ack(f->ob, i), 0);
    }
    assert_int_equal(fw_outbox_pending(f->ob), 0);
    /* Fully acked segments are removed; numbering continues after a restart. */
    uint64_t size = 0;
    assert_int_equal(fw_nvs_log_size(f->nvs, "obseg-0000000000000000", &size), CT_E_NOTFOUND);
    reopen(f, 1000, 4);
    append_n(f, 10, 2);
    expect_next(f, 10);
}

static void test_outbox_torn_tail_every_cut(void **state)
{
    struct fx *f = *state;
    reopen(f, 1000, 100);
    append_n(f, 0, 5);
    uint64_t full = 0;
    assert_int_equal(fw_nvs_log_size(f->nvs, "obseg-0000000000000000", &full), 0);
    char p[256];
    uint64_t last = (uint64_t)payload_of(4, p, sizeof(p)) + FW_OUTBOX_RECORD_OVERHEAD;
    /* A kill may cut the last record anywhere: every cut leaves exactly records 0..3. */
    for (uint64_t cut = 1; cut < last; cut++) {
        fw_outbox_close(f->ob);
        f->ob = NULL;
        assert_int_equal(truncate_to(f, full - cut), 0);
        reopen(f, 1000, 100);
        struct fw_outbox_stats st;
        fw_outbox_get_stats(f->ob, &st);
        assert_int_equal(st.pending, 4);
        assert_int_equal(st.torn, last - cut);
        for (uint64_t i = 0; i < 4; i++) {
            expect_next(f, i);
        }
        struct fw_outbox_rec rec;
        assert_int_equal(fw_outbox_next(f->ob, &rec), CT_E_NOTFOUND);
        /* The node appends after the cut: record 4 is written again, cleanly. */
        append_n(f, 4, 1);
        expect_next(f, 4);
        assert_int_equal(fw_nvs_log_size(f->nvs, "obseg-0000000000000000", &full), 0);
    }
}

static void test_outbox_bound_drops_oldest(void **state)
{
    struct fx *f = *state;
    reopen(f, 10, 4);
    append_n(f, 0, 25);
    struct fw_outbox_stats st;
    fw_outbox_get_stats(f->ob, &st);
    assert_int_equal(st.pending, 10);
    assert_int_equal(st.dropped, 15);
    expect_next(f, 15);
    reopen(f, 10, 4); /* the counter and the pointer are persisted */
    fw_outbox_get_stats(f->ob, &st);
    assert_int_equal(st.dropped, 15);
    assert_int_equal(st.pending, 10);
    expect_next(f, 15);
    /* Dropping while records are in flight moves the send cursor past the dropped ones. */
    expect_next(f, 16);
    append_n(f, 25, 3);
    fw_outbox_get_stats(f->ob, &st);
    assert_int_equal(st.dropped, 18);
    expect_next(f, 18);
    /* Old segments are gone: at most the bound plus one partial segment stays on disk. */
    uint64_t size = 0;
    assert_int_equal(fw_nvs_log_size(f->nvs, "obseg-0000000000000000", &size), CT_E_NOTFOUND);
}

static void test_outbox_resend_byte_identical(void **state)
{
    struct fx *f = *state;
    reopen(f, 100, 4);
    append_n(f, 0, 6);
    struct fw_outbox_rec a;
    struct fw_outbox_rec b;
    assert_int_equal(fw_outbox_next(f->ob, &a), 0);
    assert_int_equal(fw_outbox_next(f->ob, &b), 0);
    fw_outbox_rewind(f->ob); /* connection lost: both resent */
    struct fw_outbox_rec c;
    assert_int_equal(fw_outbox_next(f->ob, &c), 0);
    assert_int_equal(c.len, a.len);
    assert_memory_equal(c.payload, a.payload, a.len);
    fw_outbox_unnext(f->ob); /* publish failed: handed out again */
    assert_int_equal(fw_outbox_next(f->ob, &c), 0);
    assert_int_equal(c.recno, 0);
    assert_int_equal(fw_outbox_next(f->ob, &c), 0);
    assert_memory_equal(c.payload, b.payload, b.len);
    reopen(f, 100, 4); /* and after a restart */
    assert_int_equal(fw_outbox_next(f->ob, &c), 0);
    assert_int_equal(c.recno, 0);
    assert_memory_equal(c.payload, a.payload, a.len);
    assert_int_equal(c.boot, a.boot);
    assert_int_equal(c.seq, a.seq);
}

static void test_outbox_damaged_segment_skipped(void **state)
{
    struct fx *f = *state;
    reopen(f, 100, 4);
    append_n(f, 0, 12); /* segments start at 0, 4, 8 */
    /* Flip one payload byte of record 5 (the second of segment 4). */
    char path[400];
    snprintf(path, sizeof(path), "%s/obseg-0000000000000004", f->dir);
    char p[256];
    long off = payload_of(4, p, sizeof(p)) + FW_OUTBOX_RECORD_OVERHEAD + 30;
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    int ch = fgetc(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    fputc(ch ^ 0x20, fp);
    fclose(fp);
    reopen(f, 100, 4);
    for (uint64_t i = 0; i < 5; i++) {
        expect_next(f, i);
    }
    expect_next(f, 8); /* 5, 6, 7 are lost with the damage */
    struct fw_outbox_stats st;
    fw_outbox_get_stats(f->ob, &st);
    assert_int_equal(st.corrupt, 3);
    for (uint64_t i = 0; i < 5; i++) {
        assert_int_equal(fw_outbox_ack(f->ob, i), 0);
    }
    assert_int_equal(fw_outbox_ack(f->ob, 8), 0);
    assert_int_equal(fw_outbox_pending(f->ob), 3); /* 9, 10, 11 */
}

/* A child appends records with fsync until it is SIGKILLed at a random moment; whatever was cut,
 * the reopened outbox holds a contiguous, intact prefix 0..n-1, and appends continue at n. */
static void test_outbox_sigkill_during_appends(void **state)
{
    struct fx *f = *state;
    uint64_t prev_end = 0;
    for (int round = 0; round < 5; round++) {
        fw_outbox_close(f->ob);
        f->ob = NULL;
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            struct fw_outbox_cfg cfg = {100000, 64, true};
            struct fw_outbox *ob = NULL;
            if (fw_outbox_open(f->nvs, &cfg, &ob) != 0) {
                _exit(3);
            }
            struct fw_outbox_stats st0;
            fw_outbox_get_stats(ob, &st0);
            uint64_t n = prev_end + st0.pending;
            for (uint64_t i = n;; i++) {
                char p[256];
                int len = payload_of(i, p, sizeof(p));
                if (fw_outbox_append(ob, 7, i, p, (size_t)len, NULL) != 0) {
                    _exit(4);
                }
                if (i == n + 20) {
                    (void)!write(pfd[1], "r", 1); /* enough written: ready to be killed */
                }
            }
        }
        close(pfd[1]);
        char c;
        assert_int_equal(read(pfd[0], &c, 1), 1);
        close(pfd[0]);
        uint32_t r = fw_hal_random_u32() % 20000;
        struct timespec ts = {0, (long)r * 1000L};
        nanosleep(&ts, NULL); /* a random kill moment, not a synchronisation */
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        reopen(f, 100000, 64);
        uint64_t n = fw_outbox_pending(f->ob);
        assert_true(n >= 21);
        uint64_t first = round == 0 ? 0 : prev_end;
        for (uint64_t i = first; i < first + n; i++) {
            expect_next(f, i);
            assert_int_equal(fw_outbox_ack(f->ob, i), 0);
        }
        struct fw_outbox_rec rec;
        assert_int_equal(fw_outbox_next(f->ob, &rec), CT_E_NOTFOUND);
        append_n(f, first + n, 1);
        prev_end = first + n;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outbox_append_ack_restart, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_caught_up_across_segments, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_torn_tail_every_cut, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_bound_drops_oldest, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_resend_byte_identical, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_damaged_segment_skipped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_sigkill_during_appends, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
