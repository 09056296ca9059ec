/* test_obs.c - the log's line format, level filter, sanitising and bound; the metrics registry's
 * exposition text, escaping, limits, family rules and atomic updates from several threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "col_obs.h"
#include "ct/err.h"

/* Runs the log into a temporary file and returns what was written (static storage). */
static const char *captured(FILE *f)
{
    static char out[8192];
    fflush(f);
    rewind(f);
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    return out;
}

static void test_obs_log_format_and_level(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    col_log_set_stream(f);
    col_log_set_level(COL_LOG_WARN);
    assert_true(col_log_enabled(COL_LOG_ERROR));
    assert_false(col_log_enabled(COL_LOG_INFO));
    col_log(COL_LOG_INFO, "sink", "hidden %d", 1);
    col_log(COL_LOG_WARN, "sink", "batch of %d points refused: %s", 12, "400");
    col_log(COL_LOG_ERROR, NULL, "evil\ninjected line");
    const char *out = captured(f);
    /* 2026-11-23T16:30:10.123Z WARN  [sink] ... */
    assert_int_equal(strlen(out) > 25, 1);
    assert_true(out[4] == '-' && out[7] == '-' && out[10] == 'T' && out[13] == ':' &&
                out[16] == ':' && out[19] == '.' && out[23] == 'Z' && out[24] == ' ');
    assert_memory_equal(out + 25, "WARN  [sink] batch of 12 points refused: 400\n", 45);
    const char *second = strchr(out, '\n') + 1;
    assert_string_equal(second + 25, "ERROR [-] evil?injected line\n");
    assert_null(strstr(out, "hidden"));

    /* A long message is cut to the bound and still ends the line. */
    rewind(f);
    assert_int_equal(ftruncate(fileno(f), 0), 0);
    char big[4000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    col_log(COL_LOG_ERROR, "t", "%s", big);
    out = captured(f);
    assert_int_equal(strlen(out), COL_LOG_LINE_MAX - 1);
    assert_string_equal(out + strlen(out) - 4, "...\n");

    col_log_set_stream(NULL);
    col_log_set_level(COL_LOG_INFO);
    fclose(f);

    enum col_log_level lvl;
    assert_int_equal(col_log_level_parse("debug", &lvl), 0);
    assert_int_equal(lvl, COL_LOG_DEBUG);
    assert_int_equal(col_log_level_parse("loud", &lvl), CT_E_INVAL);
    assert_string_equal(col_log_level_name(COL_LOG_INFO), "INFO");
}

static void test_obs_metrics_render(void **state)
{
    (void)state;
    struct col_metrics *m = NULL;
    assert_int_equal(col_metrics_create(16, &m), 0);
    struct col_metric *bad_sig, *replay, *q, *plain;
    const char *l1[] = {"reason", "bad_sig", NULL};
    const char *l2[] = {"reason", "replay", NULL};
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "citytel_rejected_total",
                                          "Messages rejected, by reason.", l1, &bad_sig),
                     0);
    assert_int_equal(col_metrics_register(m, COL_METRIC_GAUGE, "citytel_queue_depth",
                                          "Messages in the ingest queue.", NULL, &q),
                     0);
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "citytel_rejected_total",
                                          "Messages rejected, by reason.", l2, &replay),
                     0);
    const char *l3[] = {"path", "a\"b\\c\nd", "code", "200", NULL};
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "http_requests_total",
                                          "Requests.\nBy path \\ code.", l3, &plain),
                     0);
    col_metric_inc(bad_sig);
    col_metric_inc(bad_sig);
    col_metric_add(replay, 5);
    col_metric_set(q, 42);
    col_metric_gauge_add(q, -2);
    col_metric_set(bad_sig, 100); /* ignored on a counter */
    col_metric_inc(plain);

    struct ct_buf out;
    ct_buf_init(&out, 1 << 16);
    assert_int_equal(col_metrics_render(m, &out), 0);
    assert_string_equal(out.p, "# HELP citytel_rejected_total Messages rejected, by reason.\n"
                               "# TYPE citytel_rejected_total counter\n"
                               "citytel_rejected_total{reason=\"bad_sig\"} 2\n"
                               "citytel_rejected_total{reason=\"replay\"} 5\n"
                               "# HELP citytel_queue_depth Messages in the ingest queue.\n"
                               "# TYPE citytel_queue_depth gauge\n"
                               "citytel_queue_depth 40\n"
                               "# HELP http_requests_total Requests.\\nBy path \\\\ code.\n"
                               "# TYPE http_requests_total counter\n"
                               "http_requests_total{path=\"a\\\"b\\\\c\\nd\",code=\"200\"} 1\n");
    ct_buf_free(&out);

    /* A too small buffer says so. */
    ct_buf_init(&out, 10);
    assert_int_equal(col_metrics_render(m, &out), CT_E_TOOBIG);
    ct_buf_free(&out);
    col_metrics_destroy(m);
    col_metrics_destroy(NULL);
}

/* A gauge kept in milliseconds is rendered in seconds (COL_METRIC_GAUGE_MILLI). */
static void test_obs_metrics_milli(void **state)
{
    (void)state;
    struct col_metrics *m = NULL;
    struct col_metric *lat, *neg;
    struct ct_buf out;

    assert_int_equal(col_metrics_create(4, &m), 0);
    assert_int_equal(col_metrics_register(m, COL_METRIC_GAUGE_MILLI, "citytel_latency_seconds",
                                          "Latency.", NULL, &lat),
                     0);
    assert_int_equal(col_metrics_register(m, COL_METRIC_GAUGE_MILLI, "citytel_skew_seconds",
                                          "Skew.", NULL, &neg),
                     0);
    col_metric_set(lat, 1234);
    col_metric_gauge_add(lat, 3);
    col_metric_set(neg, -5);
    ct_buf_init(&out, 1 << 12);
    assert_int_equal(col_metrics_render(m, &out), 0);
    assert_string_equal(out.p, "# HELP citytel_latency_seconds Latency.\n"
                               "# TYPE citytel_latency_seconds gauge\n"
                               "citytel_latency_seconds 1.237\n"
                               "# HELP citytel_skew_seconds Skew.\n"
                               "# TYPE citytel_skew_seconds gauge\n"
                               "citytel_skew_seconds -0.005\n");
    ct_buf_free(&out);
    col_metrics_destroy(m);
}

static void test_obs_metrics_rules_and_limit(void **state)
{
    (void)state;
    struct col_metrics *m = NULL;
    assert_int_equal(col_metrics_create(0, &m), CT_E_INVAL);
    assert_int_equal(col_metrics_create(3, &m), 0);
    struct col_metric *a, *b, *c;
    const char *la[] = {"reason", "x", NULL};
    const char *lb[] = {"reason", "y", NULL};
    const char *lc[] = {"reason", "z", NULL};
    const char *other[] = {"cause", "x", NULL};
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "r_total", "R.", la, &a), 0);
    /* Same labels again: the existing handle. */
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "r_total", "R.", la, &b),
                     CT_E_EXISTS);
    assert_ptr_equal(a, b);
    /* A family's type, help and label names are fixed. */
    assert_int_equal(col_metrics_register(m, COL_METRIC_GAUGE, "r_total", "R.", lb, &b),
                     CT_E_INVAL);
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "r_total", "Other.", lb, &b),
                     CT_E_INVAL);
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "r_total", "R.", other, &b),
                     CT_E_INVAL);
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "r_total", "R.", NULL, &b),
                     CT_E_INVAL);
    /* Bad names. */
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "9x", "h", NULL, &b), CT_E_INVAL);
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "a-b", "h", NULL, &b), CT_E_INVAL);
    const char *badlabel[] = {"__x", "v", NULL};
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "x", "h", badlabel, &b),
                     CT_E_INVAL);
    const char *duplabel[] = {"a", "1", "a", "2", NULL};
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "x", "h", duplabel, &b),
                     CT_E_INVAL);
    const char *many[] = {"a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL};
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "x", "h", many, &b), CT_E_INVAL);
    /* The series limit. */
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "r_total", "R.", lb, &b), 0);
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "g:ok", "G.", NULL, &c), 0);
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "r_total", "R.", lc, &c),
                     CT_E_FULL);
    assert_int_equal(col_metrics_register(m, COL_METRIC_GAUGE, "new_one", "N.", NULL, &c),
                     CT_E_FULL);
    struct ct_buf out;
    ct_buf_init(&out, 4096);
    assert_int_equal(col_metrics_render(m, &out), 0);
    assert_null(strstr(out.p, "new_one")); /* a refused family leaves no trace */
    ct_buf_free(&out);
    col_metrics_destroy(m);
}

enum { THREADS = 4, BUMPS = 200000 };

static void *bump(void *arg)
{
    struct col_metric **s = arg;
    for (int i = 0; i < BUMPS; i++) {
        col_metric_inc(s[0]);
        col_metric_gauge_add(s[1], (i & 1) ? 1 : -1);
    }
    return NULL;
}

static void test_obs_metrics_threads(void **state)
{
    (void)state;
    struct col_metrics *m = NULL;
    assert_int_equal(col_metrics_create(4, &m), 0);
    struct col_metric *s[2];
    const char *l[] = {"reason", "bad_sig", NULL};
    assert_int_equal(col_metrics_register(m, COL_METRIC_COUNTER, "c_total", "C.", l, &s[0]), 0);
    assert_int_equal(col_metrics_register(m, COL_METRIC_GAUGE, "g", "G.", NULL, &s[1]), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, bump, s), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    assert_int_equal(col_metric_value(s[0]), (int64_t)THREADS * BUMPS);
    assert_int_equal(col_metric_value(s[1]), 0);
    col_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obs_log_format_and_level),
        cmocka_unit_test(test_obs_metrics_render),
        cmocka_unit_test(test_obs_metrics_milli),
        cmocka_unit_test(test_obs_metrics_rules_and_limit),
        cmocka_unit_test(test_obs_metrics_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
