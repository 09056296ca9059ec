/* test_store.c - the query client (col_store) against the fake InfluxDB: GET for reads, POST for
 * writes, escaping, timeout, bounded answer, close with a query running; and the fake itself in
 * thread mode (blocking libcurl client) and its script text. */
#include "col_store.h"
#include "fake_influx.h"

#include <ct/err.h>
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct qctx {
    uv_loop_t loop;
    struct fake_influx *fake;
    struct col_store *store;
    char url[64];
    int calls;
    int status;
    char body[256];
    size_t len;
    bool closed;
};

static void on_answer(void *arg, int status, const char *body, size_t len)
{
    struct qctx *q = arg;
    q->calls++;
    q->status = status;
    q->len = len;
    snprintf(q->body, sizeof(q->body), "%s", body ? body : "(null)");
}

static void qctx_init(struct qctx *q, const struct col_store_cfg *extra)
{
    memset(q, 0, sizeof(*q));
    assert_int_equal(uv_loop_init(&q->loop), 0);
    assert_int_equal(fake_influx_start(&q->loop, &q->fake), 0);
    snprintf(q->url, sizeof(q->url), "http://127.0.0.1:%d/", fake_influx_port(q->fake));
    struct col_store_cfg cfg = *extra;
    cfg.url = q->url;
    assert_int_equal(col_store_create(&q->loop, &cfg, &q->store), 0);
}

static void on_closed(void *arg)
{
    ((struct qctx *)arg)->closed = true;
}

static void qctx_finish(struct qctx *q)
{
    col_store_close(q->store, on_closed, q);
    fake_influx_stop(q->fake);
    uv_run(&q->loop, UV_RUN_DEFAULT);
    assert_true(q->closed);
    assert_int_equal(uv_loop_close(&q->loop), 0);
}

static void on_guard(uv_timer_t *t)
{
    /* Only wakes the loop so that the deadline is checked. */
}

/* Runs until 'n' answers arrived or 5 s passed. */
static void run_answers(struct qctx *q, int n)
{
    uint64_t end = uv_hrtime() / 1000000u + 5000;
    uv_timer_t guard;
    uv_timer_init(&q->loop, &guard);
    uv_timer_start(&guard, on_guard, 5000, 0);
    while (q->calls < n && uv_hrtime() / 1000000u < end) {
        uv_run(&q->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&q->loop, UV_RUN_NOWAIT);
    assert_int_equal(q->calls, n);
}

static void test_store_select_get(void **state)
{
    struct qctx q;
    struct col_store_cfg cfg = {.db = "city", .epoch = "ms"};
    qctx_init(&q, &cfg);
    const char *answer = "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\"}]}]}";
    struct fake_influx_resp r = {.status = 200, .body = answer};
    assert_int_equal(fake_influx_script(q.fake, &r, 1), 0);
    assert_int_equal(
        col_store_query(q.store, "SELECT last(pm25) FROM air WHERE device='a b'", on_answer, &q),
        0);
    run_answers(&q, 1);
    assert_int_equal(q.status, 200);
    assert_string_equal(q.body, answer);
    assert_int_equal(q.len, strlen(answer));
    const struct fake_influx_req *req = fake_influx_req(q.fake, 0);
    assert_string_equal(req->method, "GET");
    assert_string_equal(req->target, "/query?db=city&epoch=ms&q=SELECT%20last%28pm25%29%20FROM%20"
                                     "air%20WHERE%20device%3D%27a%20b%27");
    qctx_finish(&q);
}

static void test_store_create_post(void **state)
{
    struct qctx q;
    struct col_store_cfg cfg = {.user = "admin", .password = "pw"};
    qctx_init(&q, &cfg);
    assert_int_equal(col_store_query(q.store, "CREATE DATABASE city", on_answer, &q), 0);
    run_answers(&q, 1);
    assert_int_equal(q.status, 200);
    assert_string_equal(q.body, "{\"results\":[{\"statement_id\":0}]}"); /* the fake's default */
    const struct fake_influx_req *req = fake_influx_req(q.fake, 0);
    assert_string_equal(req->method, "POST");
    assert_string_equal(req->target, "/query?u=admin&p=pw");
    assert_string_equal(req->body, "q=CREATE%20DATABASE%20city");
    qctx_finish(&q);
}

static void test_store_timeout(void **state)
{
    struct qctx q;
    struct col_store_cfg cfg = {.db = "city", .timeout_ms = 200};
    qctx_init(&q, &cfg);
    struct fake_influx_resp r = {.hang = true};
    assert_int_equal(fake_influx_script(q.fake, &r, 1), 0);
    assert_int_equal(col_store_query(q.store, "SHOW MEASUREMENTS", on_answer, &q), 0);
    run_answers(&q, 1);
    assert_int_equal(q.status, CT_E_TIMEOUT);
    assert_string_equal(q.body, "(null)");
    qctx_finish(&q);
}

static void test_store_too_big(void **state)
{
    struct qctx q;
    struct col_store_cfg cfg = {.db = "city", .max_response_bytes = 16};
    qctx_init(&q, &cfg);
    struct fake_influx_resp r = {.status = 200, .body = "{\"results\":[{\"statement_id\":0}]}"};
    assert_int_equal(fake_influx_script(q.fake, &r, 1), 0);
    assert_int_equal(col_store_query(q.store, "SELECT * FROM air", on_answer, &q), 0);
    run_answers(&q, 1);
    assert_int_equal(q.status, CT_E_TOOBIG);
    qctx_finish(&q);
}

static void test_store_limits_and_close(void **state)
{
    struct qctx q;
    struct col_store_cfg cfg = {.db = "city", .max_inflight = 1};
    qctx_init(&q, &cfg);
    struct fake_influx_resp r = {.hang = true};
    assert_int_equal(fake_influx_script(q.fake, &r, 1), 0);
    assert_int_equal(col_store_query(q.store, "", on_answer, &q), CT_E_INVAL);
    assert_int_equal(col_store_query(q.store, "SELECT 1", on_answer, &q), 0);
    assert_int_equal(col_store_query(q.store, "SELECT 2", on_answer, &q), CT_E_FULL);
    col_store_close(q.store, on_closed, &q);
    assert_int_equal(q.calls, 1); /* the running query was answered by the close */
    assert_int_equal(q.status, CT_E_STATE);
    fake_influx_stop(q.fake);
    uv_run(&q.loop, UV_RUN_DEFAULT);
    assert_true(q.closed);
    assert_int_equal(uv_loop_close(&q.loop), 0);
}

static size_t sink_body(char *d, size_t s, size_t n, void *u)
{
    return s * n;
}

static void test_fake_thread_mode_blocking_client(void **state)
{
    struct fake_influx *f;
    assert_int_equal(fake_influx_start_thread(&f), 0);
    assert_int_equal(
        fake_influx_script_text(f, "# comment\n503 retry-after=7 body={\"error\":\"busy\"}\n"
                                   "hang delay=5\n"),
        0);
    assert_int_equal(fake_influx_script_text(f, "600\n"), CT_E_PARSE);
    assert_int_equal(fake_influx_script_text(f, "204 colour=red\n"), CT_E_PARSE);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/write?db=x", fake_influx_port(f));
    CURL *e = curl_easy_init();
    assert_non_null(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "m v=1 1\n");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 300L);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 503);
    curl_off_t ra = -1;
    assert_int_equal(curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &ra), CURLE_OK);
    assert_int_equal(ra, 7);
    /* The second answer hangs: the client times out. */
    assert_int_equal(curl_easy_perform(e), CURLE_OPERATION_TIMEDOUT);
    /* Then the default answer. */
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 204);
    curl_easy_cleanup(e);
    assert_int_equal(fake_influx_count(f), 3);
    assert_string_equal(fake_influx_req(f, 0)->body, "m v=1 1\n");
    assert_string_equal(fake_influx_req(f, 0)->target, "/write?db=x");
    assert_int_equal(fake_influx_req(f, 1)->status, 0);
    assert_int_equal(fake_influx_req(f, 2)->status, 204);
    assert_null(fake_influx_req(f, 3));
    fake_influx_stop(f);
}

struct prog {
    uv_process_t proc;
    bool exited;
    int64_t status;
};

static void on_prog_exit(uv_process_t *p, int64_t status, int sig)
{
    struct prog *g = (struct prog *)(void *)((char *)p - offsetof(struct prog, proc));
    g->exited = true;
    g->status = sig ? -sig : status;
    uv_close((uv_handle_t *)p, NULL);
}

static long post_status(int port)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/write?db=x", port);
    CURL *e = curl_easy_init();
    assert_non_null(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "m v=1 1\n");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    long code = -1;
    if (curl_easy_perform(e) == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_easy_cleanup(e);
    return code;
}

static void test_fake_program(void **state)
{
    const char *bin_dir = getenv("CT_BINARY_DIR");
    if (bin_dir == NULL) {
        skip();
    }
    char bin[512], dir[] = "/tmp/ct-fake-XXXXXX", script[600], port_file[600];
    snprintf(bin, sizeof(bin), "%s/tests/fakes/fake-influx", bin_dir);
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/script", dir);
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    FILE *fp = fopen(script, "w");
    assert_non_null(fp);
    fputs("# first a failure\n500 body={\"error\":\"boom\"}\n", fp);
    assert_int_equal(fclose(fp), 0);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct prog g = {.exited = false};
    char *args[] = {bin, "--port-file", port_file, "--script", script, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t opt = {
        .file = bin, .args = args, .exit_cb = on_prog_exit, .stdio_count = 3, .stdio = stdio};
    assert_int_equal(uv_spawn(&loop, &g.proc, &opt), 0);
    /* Wait for the port file: a 10 ms tick wakes the loop until it exists or 5 s pass. */
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_guard, 10, 10);
    uint64_t end = uv_hrtime() / 1000000u + 5000;
    while (access(port_file, R_OK) != 0 && !g.exited && uv_hrtime() / 1000000u < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    fp = fopen(port_file, "r");
    assert_non_null(fp);
    int port = 0;
    assert_int_equal(fscanf(fp, "%d", &port), 1);
    fclose(fp);
    assert_true(port > 0 && port < 65536);
    assert_int_equal(post_status(port), 500);
    assert_int_equal(post_status(port), 204);
    uv_process_kill(&g.proc, SIGTERM);
    end = uv_hrtime() / 1000000u + 5000;
    while (!g.exited && uv_hrtime() / 1000000u < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_true(g.exited);
    assert_int_equal(g.status, 0);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    unlink(script);
    unlink(port_file);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_select_get),
        cmocka_unit_test(test_store_create_post),
        cmocka_unit_test(test_store_timeout),
        cmocka_unit_test(test_store_too_big),
        cmocka_unit_test(test_store_limits_and_close),
        cmocka_unit_test(test_fake_thread_mode_blocking_client),
        cmocka_unit_test(test_fake_program),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
