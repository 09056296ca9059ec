/* test_http.c - the HTTP server on a real loop and a real socket: routing, headers, query
 * decoding, 304, gzip, keep-alive, 413/431, 429, timeouts, connection limit, asynchronous and
 * cancelled answers, static files and traversal. Every test ends with uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "col_http.h"
#include "col_obs.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "http_client.h"

static const char big_body[] =
    "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
    "{\"name\":\"Hồ Hoàn Kiếm\",\"pm25\":35.5},\"geometry\":{\"type\":\"Point\",\"coordinates\":"
    "[105.8522,21.0285]}},{\"type\":\"Feature\",\"properties\":{\"name\":\"Hồ Hoàn Kiếm\","
    "\"pm25\":35.5},\"geometry\":{\"type\":\"Point\",\"coordinates\":[105.8522,21.0285]}}]}";

struct fx {
    uv_loop_t loop;
    struct col_http *srv;
    struct col_metrics *metrics;
    uint16_t port;
    bool closed;
    struct col_http_req *held; /* the asynchronous handler's request */
    int calls;
};

static void h_hello(struct col_http_req *req, void *arg)
{
    struct fx *f = arg;
    f->calls++;
    char body[512];
    const char *who = col_http_req_query(req, "who");
    const char *missing = col_http_req_query(req, "nope");
    const char *name2 = "-";
    const char *val2 = col_http_req_query_at(req, 1, &name2);
    const char *name_out = "-";
    assert_null(col_http_req_query_at(req, col_http_req_nquery(req), &name_out));
    int n = snprintf(
        body, sizeof(body), "path=%s who=%s missing=%s client=%s accept=%s host=%s nq=%zu q2=%s=%s",
        col_http_req_path(req), who != NULL ? who : "-", missing != NULL ? "yes" : "no",
        col_http_req_client(req), col_http_req_accept(req) != NULL ? col_http_req_accept(req) : "-",
        col_http_req_host(req) != NULL ? col_http_req_host(req) : "-", col_http_req_nquery(req),
        val2 != NULL ? name2 : "-", val2 != NULL ? val2 : "-");
    struct col_http_resp r = {.status = 200,
                              .content_type = "text/plain; charset=utf-8",
                              .body = body,
                              .len = (size_t)n,
                              .compress = false,
                              .etag = false,
                              .cache_control = "no-store",
                              .extra_headers = NULL};
    assert_int_equal(col_http_respond(req, &r), 0);
}

static void h_layer(struct col_http_req *req, void *arg)
{
    (void)arg;
    struct col_http_resp r = {.status = 200,
                              .content_type = "application/geo+json",
                              .body = big_body,
                              .len = sizeof(big_body) - 1,
                              .compress = true,
                              .etag = true,
                              .cache_control = "max-age=30",
                              .extra_headers = NULL};
    assert_int_equal(col_http_respond(req, &r), 0);
}

static void h_hold(struct col_http_req *req, void *arg)
{
    struct fx *f = arg;
    f->held = req;
}

static char static_root[64];

static void h_static(struct col_http_req *req, void *arg)
{
    (void)arg;
    assert_int_equal(col_http_serve_file(req, static_root, col_http_req_path(req) + 4), 0);
}

static void fx_start(struct fx *f, size_t max_req, size_t max_conn, uint64_t timeout_ms,
                     double rate)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(col_metrics_create(32, &f->metrics), 0);
    struct col_http_cfg cfg = {"127.0.0.1", 0, max_req, max_conn, timeout_ms, rate, f->metrics, 0};
    assert_int_equal(col_http_create(&f->loop, &cfg, &f->srv), 0);
    assert_int_equal(col_http_route(f->srv, "GET", "/hello", false, h_hello, f), 0);
    assert_int_equal(col_http_route(f->srv, "GET", "/layers/", true, h_layer, f), 0);
    assert_int_equal(col_http_route(f->srv, "GET", "/hold", false, h_hold, f), 0);
    assert_int_equal(col_http_route(f->srv, "GET", "/map/", true, h_static, f), 0);
    assert_int_equal(col_http_start(f->srv), 0);
    f->port = col_http_port(f->srv);
    assert_true(f->port > 0);
}

static void on_closed(void *arg)
{
    ((struct fx *)arg)->closed = true;
}

static void fx_finish(struct fx *f, struct tclient *clients, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tclient_close(&clients[i]);
    }
    col_http_close(f->srv, on_closed, f);
    assert_int_equal(loop_finish(&f->loop), 0);
    assert_true(f->closed);
    col_metrics_destroy(f->metrics);
}

static bool connected(void *arg)
{
    struct tclient *cl = arg;
    return cl->connected || cl->eof;
}

static bool got_eof(void *arg)
{
    return ((struct tclient *)arg)->eof;
}

static void get(struct fx *f, struct tclient *cl, const char *request, struct tresp *r)
{
    tclient_open(cl, &f->loop, f->port);
    assert_true(run_until(&f->loop, connected, cl, 5000));
    tclient_send(cl, request, strlen(request));
    assert_int_equal(await_responses(&f->loop, cl, 1, r), 1);
}

static void assert_header(const struct tresp *r, const char *name, const char *want)
{
    char v[1024];
    if (!tresp_header(r, name, v, sizeof(v))) {
        print_error("missing header %s in:\n%s\n", name, r->head);
    }
    assert_true(tresp_header(r, name, v, sizeof(v)));
    assert_string_equal(v, want);
}

static void test_http_route_query_and_headers(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 16384, 8, 5000, 0);
    struct tclient cl;
    struct tresp r;
    get(&f, &cl,
        "GET /hello?who=Ho%C3%A0n+Ki%E1%BA%BFm&x=1 HTTP/1.1\r\nHost: t\r\nAccept: "
        "text/plain\r\n\r\n",
        &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "text/plain; charset=utf-8");
    assert_header(&r, "X-Content-Type-Options", "nosniff");
    assert_header(&r, "X-Frame-Options", "DENY");
    assert_header(&r, "Referrer-Policy", "no-referrer");
    assert_header(&r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    assert_header(&r, "Cache-Control", "no-store");
    const char want[] = "path=/hello who=Hoàn Kiếm missing=no client=127.0.0.1 accept=text/plain "
                        "host=t nq=2 q2=x=1";
    assert_int_equal(r.body_len, strlen(want));
    assert_memory_equal(r.body, want, r.body_len);

    /* Unknown path, wrong method, bad escape: plain bodies without details. */
    struct tclient c2, c3, c4;
    get(&f, &c2, "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.body_len, 14);
    assert_memory_equal(r.body, "404 Not Found\n", 14);
    get(&f, &c3, "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab", &r);
    assert_int_equal(r.status, 405);
    get(&f, &c4, "GET /hello?who=%zz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_memory_equal(r.body, "400 Bad Request\n", 16);
    assert_header(&r, "Connection", "close");
    assert_int_equal(f.calls, 1);
    tclient_close(&c2);
    tclient_close(&c3);
    tclient_close(&c4);
    fx_finish(&f, &cl, 1);
}

static void test_http_etag_304_and_gzip(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 16384, 8, 5000, 0);
    struct tclient c1, c2, c3, c4;
    struct tresp r;
    get(&f, &c1, "GET /layers/air.geojson HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, sizeof(big_body) - 1);
    assert_memory_equal(r.body, big_body, r.body_len);
    assert_header(&r, "Vary", "Accept-Encoding");
    assert_header(&r, "Cache-Control", "max-age=30");
    char etag[64], want_etag[24];
    assert_true(tresp_header(&r, "ETag", etag, sizeof(etag)));
    col_http_etag(big_body, sizeof(big_body) - 1, false, want_etag);
    assert_string_equal(etag, want_etag);
    assert_false(tresp_header(&r, "Content-Encoding", etag + 40, 8));

    char req[256];
    snprintf(req, sizeof(req),
             "GET /layers/air.geojson HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"x\", %s\r\n\r\n",
             want_etag);
    get(&f, &c2, req, &r);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    assert_header(&r, "ETag", want_etag);

    get(&f, &c3,
        "GET /layers/air.geojson HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br, gzip;q=0.8\r\n\r\n",
        &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Encoding", "gzip");
    assert_true(tresp_header(&r, "ETag", etag, sizeof(etag)));
    assert_non_null(strstr(etag, "-gz\""));
    char plain[1024];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 31), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)r.body;
    zs.avail_in = (uInt)r.body_len;
    zs.next_out = (Bytef *)plain;
    zs.avail_out = sizeof(plain);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, sizeof(big_body) - 1);
    assert_memory_equal(plain, big_body, sizeof(big_body) - 1);
    inflateEnd(&zs);

    /* gzip;q=0 is a refusal. */
    get(&f, &c4, "GET /layers/x HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0\r\n\r\n", &r);
    assert_false(tresp_header(&r, "Content-Encoding", plain, sizeof(plain)));
    tclient_close(&c2);
    tclient_close(&c3);
    tclient_close(&c4);
    fx_finish(&f, &c1, 1);
}

static void test_http_keep_alive_pipelined(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 16384, 8, 5000, 0);
    struct tclient cl;
    struct tresp r[3];
    tclient_open(&cl, &f.loop, f.port);
    assert_true(run_until(&f.loop, connected, &cl, 5000));
    const char two[] = "GET /hello?who=a HTTP/1.1\r\nHost: t\r\n\r\n"
                       "GET /hello?who=b HTTP/1.1\r\nHost: t\r\n\r\n";
    tclient_send(&cl, two, sizeof(two) - 1);
    assert_int_equal(await_responses(&f.loop, &cl, 2, r), 2);
    assert_non_null(strstr(r[0].body, "who=a "));
    assert_non_null(strstr(r[1].body, "who=b "));
    assert_header(&r[1], "Connection", "keep-alive");
    assert_int_equal(col_http_connections(f.srv), 1);
    /* A third request later on the same connection: HEAD, so a head without a body, then the
     * server closes as asked. */
    size_t before = r[0].total + r[1].total;
    const char third[] = "HEAD /hello?who=c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    tclient_send(&cl, third, sizeof(third) - 1);
    assert_true(run_until(&f.loop, got_eof, &cl, 5000));
    assert_true(cl.len > before + 4);
    assert_memory_equal(cl.buf + before, "HTTP/1.1 200 OK\r\n", 17);
    assert_memory_equal(cl.buf + cl.len - 4, "\r\n\r\n", 4);
    cl.buf[cl.len - 1] = '\0'; /* the last '\n' of the head: now a string */
    assert_non_null(strstr(cl.buf + before, "Connection: close\r\n"));
    assert_int_equal(f.calls, 3);
    fx_finish(&f, &cl, 1);
}

static void test_http_limits_413_431(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 1024, 8, 5000, 0);
    struct tclient c1, c2, c3;
    struct tresp r;
    get(&f, &c1, "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", &r);
    assert_int_equal(r.status, 413);
    assert_memory_equal(r.body, "413 Content Too Large\n", r.body_len);
    assert_header(&r, "Connection", "close");
    assert_true(run_until(&f.loop, got_eof, &c1, 5000));

    char big[3000];
    int n = snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: ");
    memset(big + n, 'a', 2000);
    memcpy(big + n + 2000, "\r\n\r\n", 5);
    get(&f, &c2, big, &r);
    assert_int_equal(r.status, 431);
    assert_memory_equal(r.body, "431 Request Header Fields Too Large\n", r.body_len);
    assert_true(run_until(&f.loop, got_eof, &c2, 5000));

    /* A chunked body growing past the limit. */
    char chunked[2048];
    n = snprintf(chunked, sizeof(chunked),
                 "POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "600\r\n");
    memset(chunked + n, 'b', 0x600 > 1900 ? 1900 : 0x600);
    n += 0x600;
    memcpy(chunked + n, "\r\n", 3);
    tclient_open(&c3, &f.loop, f.port);
    assert_true(run_until(&f.loop, connected, &c3, 5000));
    tclient_send(&c3, chunked, strlen(chunked));
    assert_int_equal(await_responses(&f.loop, &c3, 1, &r), 1);
    assert_int_equal(r.status, 413);
    assert_int_equal(f.calls, 0);
    tclient_close(&c2);
    tclient_close(&c3);
    fx_finish(&f, &c1, 1);
}

static void test_http_rate_limit_429(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 16384, 8, 5000, 0.5); /* burst 1, then one every 2 s */
    struct tclient cl;
    struct tresp r[2];
    tclient_open(&cl, &f.loop, f.port);
    assert_true(run_until(&f.loop, connected, &cl, 5000));
    const char two[] =
        "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    tclient_send(&cl, two, sizeof(two) - 1);
    assert_int_equal(await_responses(&f.loop, &cl, 2, r), 2);
    assert_int_equal(r[0].status, 200);
    assert_int_equal(r[1].status, 429);
    assert_header(&r[1], "Retry-After", "2");
    assert_memory_equal(r[1].body, "429 Too Many Requests\n", r[1].body_len);
    assert_int_equal(f.calls, 1);
    /* The limit counts per client, on a new connection too. */
    struct tclient c2;
    struct tresp r2;
    get(&f, &c2, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r2);
    assert_int_equal(r2.status, 429);
    struct ct_buf text;
    ct_buf_init(&text, 1 << 16);
    assert_int_equal(col_metrics_render(f.metrics, &text), 0);
    assert_non_null(strstr(text.p, "citytel_http_refused_total{reason=\"rate_limited\"} 2\n"));
    ct_buf_free(&text);
    tclient_close(&c2);
    fx_finish(&f, &cl, 1);
}

static void test_http_timeout_and_connection_limit(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 16384, 1, 150, 0);
    struct tclient idle, second;
    tclient_open(&idle, &f.loop, f.port);
    assert_true(run_until(&f.loop, connected, &idle, 5000));
    /* Beyond max_connections: accepted and closed at once. */
    tclient_open(&second, &f.loop, f.port);
    assert_true(run_until(&f.loop, got_eof, &second, 5000));
    assert_int_equal(second.len, 0);
    assert_false(idle.eof);
    assert_int_equal(col_http_connections(f.srv), 1);
    /* A partial request does not keep the connection: the timer closes it. */
    tclient_send(&idle, "GET /hel", 8);
    uv_update_time(&f.loop);
    uint64_t t0 = uv_now(&f.loop);
    assert_true(run_until(&f.loop, got_eof, &idle, 5000));
    assert_true(uv_now(&f.loop) - t0 >= 100);
    assert_int_equal(idle.len, 0);
    assert_int_equal(col_http_connections(f.srv), 0);
    tclient_close(&second);
    fx_finish(&f, &idle, 1);
}

/* max_connections_per_client: one address beyond its cap is closed at once and counted, while
 * the server still has room (issue 13). */
static void test_http_per_client_cap(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 16384, 8, 5000, 0);
    col_http_set_max_per_client(f.srv, 2);
    struct tclient cl[3];
    for (int i = 0; i < 2; i++) {
        tclient_open(&cl[i], &f.loop, f.port);
        assert_true(run_until(&f.loop, connected, &cl[i], 5000));
    }
    tclient_open(&cl[2], &f.loop, f.port);
    assert_true(run_until(&f.loop, got_eof, &cl[2], 5000));
    assert_int_equal(cl[2].len, 0);
    assert_false(cl[0].eof || cl[1].eof);
    struct col_http_stats hs;
    col_http_get_stats(f.srv, &hs);
    assert_int_equal(hs.count[COL_HTTP_REF_PER_CLIENT], 1);
    assert_int_equal(hs.count[COL_HTTP_REF_CONNECTIONS], 0);
    assert_int_equal(hs.connections, 2);
    assert_string_equal(col_http_count_name(COL_HTTP_REF_PER_CLIENT), "per_client");
    fx_finish(&f, cl, 3);
}

static bool held(void *arg)
{
    return ((struct fx *)arg)->held != NULL;
}

static bool no_connections(void *arg)
{
    return col_http_connections(((struct fx *)arg)->srv) == 0;
}

static void test_http_async_and_cancelled(void **state)
{
    (void)state;
    struct fx f;
    fx_start(&f, 16384, 8, 5000, 0);
    struct tclient cl;
    struct tresp r;
    tclient_open(&cl, &f.loop, f.port);
    assert_true(run_until(&f.loop, connected, &cl, 5000));
    const char req[] = "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n";
    tclient_send(&cl, req, sizeof(req) - 1);
    assert_true(run_until(&f.loop, held, &f, 5000));
    assert_false(col_http_req_cancelled(f.held));
    assert_int_equal(cl.len, 0); /* nothing answered yet */
    struct col_http_resp resp = {.status = 200,
                                 .content_type = "text/plain",
                                 .body = "later",
                                 .len = 5,
                                 .compress = false,
                                 .etag = false,
                                 .cache_control = NULL,
                                 .extra_headers = NULL};
    assert_int_equal(col_http_respond(f.held, &resp), 0);
    f.held = NULL;
    assert_int_equal(await_responses(&f.loop, &cl, 1, &r), 1);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "later", 5);

    /* The client leaves while the handler holds the request. */
    struct tclient gone;
    tclient_open(&gone, &f.loop, f.port);
    assert_true(run_until(&f.loop, connected, &gone, 5000));
    tclient_send(&gone, req, sizeof(req) - 1);
    assert_true(run_until(&f.loop, held, &f, 5000));
    tclient_close(&gone);
    tclient_close(&cl);
    assert_true(run_until(&f.loop, no_connections, &f, 5000));
    assert_true(col_http_req_cancelled(f.held));
    assert_int_equal(col_http_respond_error(f.held, 503), 0); /* safe, ignored, freed */
    f.held = NULL;
    fx_finish(&f, NULL, 0);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_http_static_files(void **state)
{
    (void)state;
    char base[] = "/tmp/test_http_XXXXXX";
    assert_non_null(mkdtemp(base));
    snprintf(static_root, sizeof(static_root), "%s/map", base);
    assert_int_equal(mkdir(static_root, 0700), 0);
    put_file(static_root, "index.html", "<!doctype html><title>Bản đồ</title>");
    put_file(static_root, "app.js", "console.log(1);");
    put_file(static_root, "style.css", "body{}");
    put_file(static_root, "air.geojson", "{}");
    put_file(base, "secret.txt", "do not serve");
    char link[256];
    snprintf(link, sizeof(link), "%s/escape.txt", static_root);
    char target[256];
    snprintf(target, sizeof(target), "%s/secret.txt", base);
    assert_int_equal(symlink(target, link), 0);

    struct fx f;
    fx_start(&f, 16384, 16, 5000, 0);
    struct {
        const char *target;
        int status;
        const char *type;
    } cases[] = {
        {"/map/", 200, "text/html; charset=utf-8"},
        {"/map/index.html", 200, "text/html; charset=utf-8"},
        {"/map/app.js", 200, "text/javascript; charset=utf-8"},
        {"/map/style.css", 200, "text/css; charset=utf-8"},
        {"/map/air.geojson", 200, "application/geo+json"},
        {"/map/../secret.txt", 404, NULL},
        {"/map/%2e%2e/secret.txt", 404, NULL},
        {"/map/a/..%2F..%2Fsecret.txt", 404, NULL},
        {"/map/..\\secret.txt", 404, NULL},
        {"/map/escape.txt", 404, NULL},
        {"/map/missing.png", 404, NULL},
        {"/map/%00x", 400, NULL},
    };
    struct tclient cl[sizeof(cases) / sizeof(cases[0])];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[256];
        struct tresp r;
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", cases[i].target);
        get(&f, &cl[i], req, &r);
        if (r.status != cases[i].status) {
            print_error("%s: %d\n", cases[i].target, r.status);
        }
        assert_int_equal(r.status, cases[i].status);
        if (cases[i].type != NULL) {
            assert_header(&r, "Content-Type", cases[i].type);
        }
        if (r.status != 200) {
            assert_null(strstr(r.body, "secret"));
        }
        if (i == 0) {
            const char want[] = "<!doctype html><title>Bản đồ</title>";
            assert_int_equal(r.body_len, strlen(want));
            assert_memory_equal(r.body, want, r.body_len);
            char csp[512];
            assert_true(tresp_header(&r, "Content-Security-Policy", csp, sizeof(csp)));
            assert_non_null(strstr(csp, "default-src 'self'"));
            assert_non_null(strstr(csp, "frame-ancestors 'none'"));
        }
    }
    for (size_t i = 1; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tclient_close(&cl[i]);
    }
    fx_finish(&f, &cl[0], 1);
    char path[256];
    const char *names[] = {
        "map/index.html", "map/app.js", "map/style.css", "map/air.geojson", "map/escape.txt",
        "secret.txt",     "map"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", base, names[i]);
        assert_int_equal(remove(path), 0);
    }
    assert_int_equal(rmdir(base), 0);
}

static void test_http_helpers(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(col_http_pct_decode("a%20b+c", 7, true, out, sizeof(out)), 5);
    assert_string_equal(out, "a b c");
    assert_int_equal(col_http_pct_decode("a+b", 3, false, out, sizeof(out)), 3);
    assert_string_equal(out, "a+b");
    assert_int_equal(col_http_pct_decode("%4", 2, false, out, sizeof(out)), -1);
    assert_int_equal(col_http_pct_decode("%00", 3, false, out, sizeof(out)), -1);
    assert_int_equal(col_http_pct_decode("abcd", 4, false, out, 4), -1);
    assert_true(col_http_etag_matches("*", "\"x\""));
    assert_true(col_http_etag_matches("W/\"x\", \"y\"", "\"x\""));
    assert_false(col_http_etag_matches("\"xy\"", "\"x\""));
    assert_false(col_http_etag_matches(NULL, "\"x\""));
    assert_string_equal(col_http_content_type("a/b.SVG"), "image/svg+xml");
    assert_string_equal(col_http_content_type("a.png"), "image/png");
    assert_string_equal(col_http_content_type("a.json"), "application/json");
    assert_string_equal(col_http_content_type("noext"), "application/octet-stream");
    assert_string_equal(col_http_reason(431), "Request Header Fields Too Large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_route_query_and_headers),
        cmocka_unit_test(test_http_etag_304_and_gzip),
        cmocka_unit_test(test_http_keep_alive_pipelined),
        cmocka_unit_test(test_http_limits_413_431),
        cmocka_unit_test(test_http_rate_limit_429),
        cmocka_unit_test(test_http_timeout_and_connection_limit),
        cmocka_unit_test(test_http_async_and_cancelled),
        cmocka_unit_test(test_http_per_client_cap),
        cmocka_unit_test(test_http_static_files),
        cmocka_unit_test(test_http_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
