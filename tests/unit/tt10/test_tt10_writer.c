/* test_tt10_writer.c - station files from validated readings: the interval mean per member, the
 * file stamped with the interval's end in Vietnam time, QC-flagged values left out of the mean
 * (status 02 when every value of a member was flagged), late values dropped, devices without
 * codes ignored; the outbox's files/ holds exactly the golden bytes of tests/data/tt10/writer. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "col_tt10_writer.h"
#include "ct/err.h"
#include "tt10_test_util.h"

#define T0 ((int64_t)1796455800000) /* 2026-12-05 14:30:00 in Hanoi */

static void reading(struct ct_reading *r, const char *id, int64_t ts, const char *m1, double v1,
                    const char *m2, double v2)
{
    memset(r, 0, sizeof(*r));
    r->kind = CT_KIND_AIR;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->ts_ms = ts;
    snprintf(r->values[0].name, sizeof(r->values[0].name), "%s", m1);
    r->values[0].num = v1;
    snprintf(r->values[1].name, sizeof(r->values[1].name), "%s", m2);
    r->values[1].num = v2;
    r->n = 2;
}

static bool closed;
static void on_closed(void *arg)
{
    (void)arg;
    closed = true;
}

static void test_tt10_writer_interval_means(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/ct-tt10-writer-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    struct ct_registry *reg = NULL;
    static const char text[] =
        "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"Trạm Hàng Bông\",\"lat\":21.03,"
        "\"lon\":105.85,\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bông\",\"tt10\":{\"province\":"
        "\"HN\",\"facility\":\"CITYTEL\",\"station\":\"KK-0001\"}}\n"
        "{\"id\":\"hn-air-0002\",\"kind\":\"air\",\"name\":\"Trạm Kim Mã\",\"lat\":21.03,"
        "\"lon\":105.82,\"district\":\"Ba Đình\",\"ward\":\"Kim Mã\"}\n";
    char err[256] = "";
    assert_int_equal(ct_registry_parse(text, strlen(text), "r", &reg, err, sizeof(err)), 0);
    struct col_tt10_map map;
    assert_int_equal(col_tt10_map_parse(col_tt10_map_default_spec(), &map, err, sizeof(err)), 0);
    struct col_tt10_writer_cfg wc;
    memset(&wc, 0, sizeof(wc));
    col_tt10_fmt_default(&wc.fmt);
    wc.map = &map;
    wc.interval_ms = 300000;
    wc.max_devices = 16;
    wc.out = (struct col_tt10_out_cfg){.dir = tmpl,
                                       .receivers = "",
                                       .fsync = false,
                                       .retention_ms = 86400000,
                                       .parallel = 1,
                                       .batch = 16,
                                       .max_puts = 16};
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct col_tt10_writer *w = NULL;
    assert_int_equal(col_tt10_writer_create(&loop, &wc, &w, err, sizeof(err)), 0);
    const struct ct_device *a = ct_registry_find(reg, "hn-air-0001", 11);
    const struct ct_device *b = ct_registry_find(reg, "hn-air-0002", 11);
    struct ct_reading r;
    /* Interval 14:25:00..14:29:59 (written as 14:30:00): pm25 30, 40, 50 with 50 a spike;
     * pm10 flagged every time. */
    reading(&r, a->id, T0 - 300000, "pm25", 30, "pm10", 100);
    col_tt10_writer_add(w, a, &r, "pm10:stuck", 6);
    reading(&r, a->id, T0 - 200000, "pm25", 40, "pm10", 110);
    col_tt10_writer_add(w, a, &r, "pm10:stuck", 5);
    reading(&r, a->id, T0 - 1000, "pm25", 50, "pm10", 120);
    col_tt10_writer_add(w, a, &r, "pm25:spike,pm10:stuck", 7);
    reading(&r, b->id, T0 - 1000, "pm25", 1, "pm10", 2); /* no codes: no file */
    col_tt10_writer_add(w, b, &r, "", 3);
    /* The open interval holds the journal from its lowest record (the device without codes
     * holds nothing). */
    assert_int_equal(col_tt10_writer_low_water(w), 5);
    col_tt10_writer_tick(w, T0 + 10000); /* within the grace: nothing yet */
    struct col_tt10_writer_stats st;
    col_tt10_writer_stats(w, &st);
    assert_int_equal(st.files, 0);
    /* The next interval's first value writes the previous one at once. */
    reading(&r, a->id, T0 + 1000, "pm25", 20, "pm10", 30);
    col_tt10_writer_add(w, a, &r, "", 9);
    col_tt10_writer_stats(w, &st);
    assert_int_equal(st.files, 1);
    assert_int_equal(col_tt10_writer_low_water(w), 5);     /* until the file is on disk */
    reading(&r, a->id, T0 - 5000, "pm25", 99, "pm10", 99); /* late: dropped */
    col_tt10_writer_add(w, a, &r, "", 0);
    col_tt10_writer_tick(w, T0 + 300000 + 75000); /* end + grace (75 s): written */
    col_tt10_writer_stats(w, &st);
    assert_int_equal(st.files, 2);
    assert_int_equal(st.late, 1);
    struct col_tt10_out *o = col_tt10_writer_outbox(w);
    for (int i = 0; i < 2000 && !col_tt10_out_idle(o); i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_true(col_tt10_out_idle(o));
    assert_true(col_tt10_writer_low_water(w) == UINT64_MAX); /* both files written */

    const char *root = getenv("CT_SOURCE_DIR");
    assert_non_null(root);
    static const char *const names[] = {"HN_CITYTEL_KK-0001_20261205143000.txt",
                                        "HN_CITYTEL_KK-0001_20261205143500.txt"};
    for (size_t i = 0; i < 2; i++) {
        char p1[512], p2[512];
        snprintf(p1, sizeof(p1), "%s/files/%s", tmpl, names[i]);
        snprintf(p2, sizeof(p2), "%s/tests/data/tt10/writer/%s", root, names[i]);
        size_t l1, l2;
        char *got = tt10_test_slurp(p1, &l1), *want = tt10_test_slurp(p2, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(got, want, l1);
        free(got);
        free(want);
        unlink(p1);
    }
    size_t n = 0;
    char fdir[512];
    snprintf(fdir, sizeof(fdir), "%s/files", tmpl);
    DIR *d = opendir(fdir);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        n += de->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(n, 0); /* no other file (none for the device without codes) */
    col_tt10_writer_close(w, on_closed, NULL);
    while (!closed) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
    ct_registry_free(reg);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
}

static void aged(const char *dir, const char *name, int64_t age_s)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    tt10_test_put_aged(path, age_s);
}

/* The outbox keeps files retention_ms (by mtime) in files/ and in every receiver's queue. */
static void test_tt10_out_prunes_old(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/ct-tt10-prune-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    struct col_tt10_out_cfg oc = {.dir = tmpl,
                                  /* a receiver that is never reached: its queue only fills */
                                  .receivers = "ftp://127.0.0.1:9/in/",
                                  .retention_ms = 60 * 86400000LL,
                                  .prune_interval_ms = 100,
                                  .retry_base_ms = 600000,
                                  .retry_max_ms = 600000,
                                  .timeout_ms = 100,
                                  .parallel = 1,
                                  .batch = 16,
                                  .max_puts = 16};
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct col_tt10_out *o = NULL;
    char err[256] = "";
    assert_int_equal(col_tt10_out_create(&loop, &oc, &o, err, sizeof(err)), 0);
    char files[512], queue[512];
    snprintf(files, sizeof(files), "%s/files", tmpl);
    snprintf(queue, sizeof(queue), "%s/queue", tmpl);
    DIR *d = opendir(queue);
    assert_non_null(d);
    char qdir[800] = "";
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] != '.') {
            snprintf(qdir, sizeof(qdir), "%s/%s", queue, de->d_name);
        }
    }
    closedir(d);
    assert_true(qdir[0] != '\0');
    aged(files, "HN_C_S_20261001000000.txt", 61 * 86400);
    aged(files, "HN_C_S_20261003000000.txt", 59 * 86400);
    aged(qdir, "HN_C_S_20261001000000.txt", 61 * 86400);
    struct col_tt10_out_stats st;
    uint64_t deadline = uv_now(&loop) + 20000;
    do {
        uv_run(&loop, UV_RUN_ONCE);
        col_tt10_out_stats(o, &st);
    } while (st.pruned < 2 && uv_now(&loop) < deadline);
    assert_int_equal(st.pruned, 2);
    char p[1200];
    snprintf(p, sizeof(p), "%s/HN_C_S_20261001000000.txt", files);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof(p), "%s/HN_C_S_20261001000000.txt", qdir);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof(p), "%s/HN_C_S_20261003000000.txt", files);
    assert_int_equal(access(p, F_OK), 0);
    closed = false;
    col_tt10_out_close(o, on_closed, NULL);
    while (!closed) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tt10_writer_interval_means),
        cmocka_unit_test(test_tt10_out_prunes_old),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
