/* test_tt10_in.c - the watched folder: the real-shaped inputs of tests/data/tt10/in copied in;
 * good files become readings of the registry's devices (values, statuses, Vietnamese symbols
 * through the map), each bad file lands whole in .quarantine with the line and reason listed in
 * in/bad/EXPECTED.tsv, a file of an unknown station and one with an unmapped symbol are
 * quarantined, a file taken before and uploaded again is a duplicate (handed over once), names
 * with another extension are left alone. test_tt10_in_moves_after_durable: a file goes to .done
 * only after its reading is reported durable, and a reading the caller cannot take leaves its file
 * for a later scan. test_tt10_in_prunes_old: .done and .quarantine keep files keep_ms. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "col_tt10_in.h"
#include "ct/err.h"
#include "tt10_test_util.h"

struct got {
    int n;
    char ids[16][CT_ID_MAX + 1];
    struct ct_reading r[16];
    enum col_tt10_status st[16][CT_MAX_VALUES];
};

static int on_file(void *arg, const struct ct_device *dev, const struct ct_reading *r,
                   const enum col_tt10_status *status, const char *file, uint64_t ticket)
{
    (void)file;
    (void)ticket;
    struct got *g = arg;
    assert_true(g->n < 16);
    snprintf(g->ids[g->n], sizeof(g->ids[0]), "%s", dev->id);
    g->r[g->n] = *r;
    memcpy(g->st[g->n], status, r->n * sizeof(*status));
    g->n++;
    return COL_TT10_IN_DONE;
}

static void copy(const char *src, const char *dir, const char *name)
{
    char dst[1024], tmp[1024];
    snprintf(dst, sizeof(dst), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.up-%s", dir, name);
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    FILE *out = fopen(tmp, "wb");
    assert_non_null(out);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), in);
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    tt10_test_age(tmp); /* an upload that finished a while ago: the settle time has passed */
    assert_int_equal(rename(tmp, dst), 0);
}

static bool closed;
static void on_closed(void *arg)
{
    (void)arg;
    closed = true;
}

static void run_until(uv_loop_t *loop, struct col_tt10_in *in, uint64_t accepted, uint64_t quar,
                      uint64_t dups)
{
    struct col_tt10_in_stats st;
    uint64_t deadline = uv_now(loop) + 30000;
    for (;;) {
        col_tt10_in_stats(in, &st);
        if ((st.accepted >= accepted && st.quarantined >= quar && st.duplicates >= dups) ||
            uv_now(loop) > deadline) {
            break;
        }
        uv_run(loop, UV_RUN_ONCE);
    }
    assert_int_equal(st.accepted, accepted);
    assert_int_equal(st.quarantined, quar);
    assert_int_equal(st.duplicates, dups);
}

static void test_tt10_in_folder(void **state)
{
    (void)state;
    const char *root = getenv("CT_SOURCE_DIR");
    assert_non_null(root);
    char dir[] = "/tmp/ct-tt10-in-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char reg_text[] =
        "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"Trạm Hàng Bông\",\"lat\":21.03,"
        "\"lon\":105.85,\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bông\",\"tt10\":{\"province\":"
        "\"HN\",\"facility\":\"CITYTEL\",\"station\":\"KK-0001\"}}\n"
        "{\"id\":\"hn-water-0002\",\"kind\":\"water\",\"name\":\"Sông Tô Lịch\",\"lat\":21.03,"
        "\"lon\":105.79,\"district\":\"Cầu Giấy\",\"ward\":\"Dịch Vọng\",\"tt10\":{\"province\":"
        "\"HN\",\"facility\":\"CITYTEL\",\"station\":\"NM-0002\"}}\n"
        "{\"id\":\"hn-air-0003\",\"kind\":\"air\",\"name\":\"Trạm Kim Mã\",\"lat\":21.03,"
        "\"lon\":105.82,\"district\":\"Ba Đình\",\"ward\":\"Kim Mã\",\"tt10\":{\"province\":"
        "\"HN\",\"facility\":\"CITYTEL\",\"station\":\"KK-0003\"}}\n";
    struct ct_registry *reg = NULL;
    char err[256] = "";
    assert_int_equal(ct_registry_parse(reg_text, strlen(reg_text), "r", &reg, err, sizeof(err)), 0);
    struct col_tt10_map map;
    char spec[2048];
    /* The built-in map plus the Vietnamese names one logger uses (aliases of t and rh). */
    snprintf(spec, sizeof(spec), "%s,air.t=Nhiệt độ:°C,air.rh=Độ ẩm:%%",
             col_tt10_map_default_spec());
    assert_int_equal(col_tt10_map_parse(spec, &map, err, sizeof(err)), 0);

    struct got *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    struct col_tt10_in_cfg cfg = {.dir = dir,
                                  .map = &map,
                                  .settle_ms = 2000,
                                  .poll_ms = 100,
                                  .batch = 8,
                                  .cb = on_file,
                                  .arg = g};
    col_tt10_fmt_default(&cfg.fmt);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct col_tt10_in *in = NULL;
    assert_int_equal(col_tt10_in_create(&loop, &cfg, reg, &in, err, sizeof(err)), 0);

    static const char *const good[] = {"HN_CITYTEL_KK-0001_20261205143000.txt",
                                       "HN_CITYTEL_NM-0002_20261205143500.txt",
                                       "HN_CITYTEL_KK-0003_20261205144000.txt"};
    char src[1024];
    for (size_t i = 0; i < 3; i++) {
        snprintf(src, sizeof(src), "%s/tests/data/tt10/in/good/%s", root, good[i]);
        copy(src, dir, good[i]);
    }
    /* An unknown station and an unmapped symbol (good syntax). */
    snprintf(src, sizeof(src), "%s/tests/data/tt10/in/good/%s", root, good[0]);
    copy(src, dir, "HN_OTHER_KK-0001_20261205143000.txt");
    char *list = tt10_test_data("in/bad/EXPECTED.tsv", NULL);
    size_t nbad = 0;
    for (char *p = list, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        char *tab = strchr(p, '\t');
        if (p[0] == '#' || tab == NULL) {
            continue;
        }
        *tab = '\0';
        snprintf(src, sizeof(src), "%s/tests/data/tt10/in/bad/%s", root, p);
        copy(src, dir, p);
        nbad += strstr(p, ".txt") != NULL;
    }
    run_until(&loop, in, 3, nbad + 1, 0);

    /* The readings, in any order. */
    assert_int_equal(g->n, 3);
    for (int i = 0; i < g->n; i++) {
        const struct ct_reading *r = &g->r[i];
        if (strcmp(g->ids[i], "hn-air-0001") == 0) {
            assert_int_equal(r->n, 5);
            assert_string_equal(r->values[0].name, "pm25");
            assert_true(r->values[0].num == 35.2);
            assert_string_equal(r->values[2].name, "no2");
            assert_int_equal(g->st[i][2], COL_TT10_CALIBRATING);
            assert_int_equal(r->ts_ms, 1796455800000);
        } else if (strcmp(g->ids[i], "hn-water-0002") == 0) {
            assert_int_equal(r->kind, CT_KIND_WATER);
            assert_string_equal(r->values[0].name, "ph");
            assert_int_equal(g->st[i][1], COL_TT10_FAULT);
        } else {
            assert_string_equal(g->ids[i], "hn-air-0003");
            assert_string_equal(r->values[0].name, "t");
            assert_true(r->values[0].num == 23.8);
            assert_string_equal(r->values[1].name, "rh");
        }
    }
    /* Every bad file whole in quarantine, with its reason. */
    char path[1200];
    free(list);
    list = tt10_test_data("in/bad/EXPECTED.tsv", NULL);
    for (char *p = list, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        char *tab = strchr(p, '\t');
        if (p[0] == '#' || tab == NULL) {
            continue;
        }
        *tab = '\0';
        if (strstr(p, ".txt") == NULL) {
            snprintf(path, sizeof(path), "%s/%s", dir, p);
            assert_int_equal(access(path, F_OK), 0); /* another extension: left alone */
            continue;
        }
        char *colon = strchr(tab + 1, ':');
        char want[512];
        snprintf(want, sizeof(want), "line %.*s: %s\n", (int)(colon - tab - 1), tab + 1, colon + 1);
        snprintf(path, sizeof(path), "%s/.quarantine/%s.reason", dir, p);
        char *got = tt10_test_slurp(path, NULL);
        assert_string_equal(got, want);
        free(got);
        snprintf(path, sizeof(path), "%s/.quarantine/%s", dir, p);
        assert_int_equal(access(path, F_OK), 0);
    }
    free(list);
    snprintf(path, sizeof(path), "%s/.quarantine/HN_OTHER_KK-0001_20261205143000.txt.reason", dir);
    char *why = tt10_test_slurp(path, NULL);
    assert_string_equal(why, "line 0: station HN_OTHER_KK-0001 is not in the registry\n");
    free(why);

    /* The same file uploaded again: a duplicate, not handed over. An unmapped symbol: bad. */
    snprintf(src, sizeof(src), "%s/tests/data/tt10/in/good/%s", root, good[0]);
    copy(src, dir, good[0]);
    snprintf(path, sizeof(path), "%s/HN_CITYTEL_KK-0001_20261205150000.txt", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("PM-2.5\t1\tug/m3\t20261205150000\t00\r\nBenzen\t1\tug/m3\t20261205150000\t00\r\n", f);
    fclose(f);
    tt10_test_age(path);
    run_until(&loop, in, 3, nbad + 2, 1);
    assert_int_equal(g->n, 3);
    snprintf(path, sizeof(path), "%s/.quarantine/HN_CITYTEL_KK-0001_20261205150000.txt.reason",
             dir);
    why = tt10_test_slurp(path, NULL);
    assert_string_equal(why, "line 2: symbol Benzen is not mapped for kind air\n");
    free(why);
    snprintf(path, sizeof(path), "%s/%s", dir, good[0]);
    assert_int_not_equal(access(path, F_OK), 0); /* the duplicate was removed */

    col_tt10_in_close(in, on_closed, NULL);
    while (!closed) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
    ct_registry_free(reg);
    free(g);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static const char one_reg[] =
    "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"A\",\"lat\":21.03,\"lon\":105.85,"
    "\"district\":\"D\",\"ward\":\"W\",\"tt10\":{\"province\":\"HN\",\"facility\":"
    "\"CITYTEL\",\"station\":\"KK-0001\"}}\n";

/* The callback of the durability test: the first call refuses (CT_E_FULL), later ones wait. */
struct waiter {
    int calls;
    uint64_t ticket;
};

static int on_file_wait(void *arg, const struct ct_device *dev, const struct ct_reading *r,
                        const enum col_tt10_status *status, const char *file, uint64_t ticket)
{
    (void)dev;
    (void)r;
    (void)status;
    (void)file;
    struct waiter *w = arg;
    w->ticket = ticket;
    return w->calls++ == 0 ? CT_E_FULL : COL_TT10_IN_WAIT;
}

static bool exists(const char *dir, const char *sub, const char *name)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s%s/%s", dir, sub, name);
    return access(path, F_OK) == 0;
}

static void spin_done(uv_timer_t *t)
{
    (void)t; /* a one-shot timer is inactive once it fired */
}

/* Runs the loop for about 'ms'. */
static void spin(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, spin_done, ms, 0);
    while (uv_is_active((uv_handle_t *)&t)) {
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* A watcher of a fresh folder with the one-device registry, the built-in map and the waiting
 * callback. */
struct fx {
    char dir[32];
    struct ct_registry *reg;
    struct col_tt10_map map;
    uv_loop_t loop;
    struct col_tt10_in *in;
    struct waiter w;
};

static void fx_open(struct fx *f, int64_t poll_ms, int64_t keep_ms)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-tt10-in-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[256] = "";
    assert_int_equal(ct_registry_parse(one_reg, strlen(one_reg), "r", &f->reg, err, sizeof(err)),
                     0);
    assert_int_equal(col_tt10_map_parse(col_tt10_map_default_spec(), &f->map, err, sizeof(err)), 0);
    struct col_tt10_in_cfg cfg = {.dir = f->dir,
                                  .map = &f->map,
                                  .settle_ms = 2000,
                                  .poll_ms = poll_ms,
                                  .batch = 8,
                                  .keep_ms = keep_ms,
                                  .prune_interval_ms = 100,
                                  .cb = on_file_wait,
                                  .arg = &f->w};
    col_tt10_fmt_default(&cfg.fmt);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(col_tt10_in_create(&f->loop, &cfg, f->reg, &f->in, err, sizeof(err)), 0);
}

static void fx_close(struct fx *f)
{
    closed = false;
    col_tt10_in_close(f->in, on_closed, NULL);
    while (!closed) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ct_registry_free(f->reg);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_tt10_in_moves_after_durable(void **state)
{
    (void)state;
    const char *root = getenv("CT_SOURCE_DIR");
    assert_non_null(root);
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fx_open(f, 50, 0);
    const char *dir = f->dir;
    const char *name = "HN_CITYTEL_KK-0001_20261205143000.txt";
    char src[1024];
    snprintf(src, sizeof(src), "%s/tests/data/tt10/in/good/%s", root, name);
    copy(src, dir, name);

    /* Refused at first: the file stays and is handed over again by a later scan. */
    uint64_t deadline = uv_now(&f->loop) + 20000;
    while (f->w.calls < 2 && uv_now(&f->loop) < deadline) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    assert_int_equal(f->w.calls, 2);
    /* Handed over, not durable: it stays in the folder however many scans pass. */
    spin(&f->loop, 500);
    struct col_tt10_in_stats st;
    col_tt10_in_stats(f->in, &st);
    assert_int_equal(f->w.calls, 2);
    assert_int_equal(st.waiting, 1);
    assert_int_equal(st.accepted, 0);
    assert_true(exists(dir, "", name));
    assert_false(exists(dir, "/.done", name));
    /* A ticket of another scan is ignored; the right one moves the file. */
    col_tt10_in_durable(f->in, f->w.ticket + (1u << 16));
    spin(&f->loop, 200);
    assert_true(exists(dir, "", name));
    col_tt10_in_durable(f->in, f->w.ticket);
    deadline = uv_now(&f->loop) + 20000;
    do {
        uv_run(&f->loop, UV_RUN_ONCE);
        col_tt10_in_stats(f->in, &st);
    } while (st.accepted == 0 && uv_now(&f->loop) < deadline);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.waiting, 0);
    assert_false(exists(dir, "", name));
    assert_true(exists(dir, "/.done", name));
    fx_close(f);
    free(f);
}

static void put_aged(const char *dir, const char *sub, const char *name, int64_t age_s)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s%s/%s", dir, sub, name);
    tt10_test_put_aged(path, age_s);
}

static void test_tt10_in_prunes_old(void **state)
{
    (void)state;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fx_open(f, 5000, 60 * 86400000LL);
    const char *dir = f->dir;
    /* 61 days old: removed; 59 days old: kept (in both folders). */
    put_aged(dir, "/.done", "HN_CITYTEL_KK-0001_20261001000000.txt", 61 * 86400);
    put_aged(dir, "/.done", "HN_CITYTEL_KK-0001_20261003000000.txt", 59 * 86400);
    put_aged(dir, "/.quarantine", "HN_CITYTEL_KK-0001_20261001000500.txt.reason", 61 * 86400);
    put_aged(dir, "/.quarantine", "HN_CITYTEL_KK-0001_20261003000500.txt.reason", 59 * 86400);
    struct col_tt10_in_stats st;
    uint64_t deadline = uv_now(&f->loop) + 20000;
    do {
        uv_run(&f->loop, UV_RUN_ONCE);
        col_tt10_in_stats(f->in, &st);
    } while (st.pruned < 2 && uv_now(&f->loop) < deadline);
    spin(&f->loop, 300); /* a few more prunes: nothing else goes */
    col_tt10_in_stats(f->in, &st);
    assert_int_equal(st.pruned, 2);
    assert_false(exists(dir, "/.done", "HN_CITYTEL_KK-0001_20261001000000.txt"));
    assert_true(exists(dir, "/.done", "HN_CITYTEL_KK-0001_20261003000000.txt"));
    assert_false(exists(dir, "/.quarantine", "HN_CITYTEL_KK-0001_20261001000500.txt.reason"));
    assert_true(exists(dir, "/.quarantine", "HN_CITYTEL_KK-0001_20261003000500.txt.reason"));
    fx_close(f);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tt10_in_folder),
        cmocka_unit_test(test_tt10_in_moves_after_durable),
        cmocka_unit_test(test_tt10_in_prunes_old),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
