/* fuzz_http.c - the collector's HTTP server (col_http, http-parser underneath) fed hostile
 * request bytes through a real loopback TCP connection, in process: the server runs on a libuv
 * loop in this thread; the target writes the input, half-closes and drives the loop until the
 * server closes the connection. Checks: every answer starts with a status line, an error answer
 * carries only "<status> <reason>", and the server closes the connection within its timeout.
 * The same input also goes through col_http_pct_decode() and col_layers_query_parse(). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "col_http.h"
#include "col_layers.h"
#include "ct/err.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define TIMEOUT_MS 150

static uv_loop_t g_loop;
static struct col_http *g_http;
static uint16_t g_port;

static void on_echo(struct col_http_req *req, void *arg)
{
    char body[512];
    const char *a = col_http_req_query(req, "a");
    size_t blen = 0;
    (void)col_http_req_body(req, &blen);
    const char *inm = col_http_req_if_none_match(req);
    int n = snprintf(body, sizeof(body), "%s|%s|%s|%zu|%s|%d", col_http_req_method(req),
                     col_http_req_path(req), a != NULL ? a : "-", blen, inm != NULL ? inm : "-",
                     col_http_req_accepts_gzip(req) ? 1 : 0);
    struct col_http_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.content_type = "text/plain";
    resp.body = body;
    resp.len = n > 0 ? ((size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1) : 0;
    resp.compress = true;
    resp.etag = true;
    (void)col_http_respond(req, &resp); /* a cancelled request answers 0 and sends nothing */
}

static void on_static(struct col_http_req *req, void *arg)
{
    const char *path = col_http_req_path(req);
    (void)col_http_serve_file(req, (const char *)arg, path + strlen("/static/"));
}

static char g_root[256];
static char g_index[300];

static void rm_root(void)
{
    unlink(g_index);
    rmdir(g_root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof(g_root), "%s/ct-fuzz-http-XXXXXX", tmp != NULL ? tmp : "/tmp");
    FZ_CHECK(mkdtemp(g_root) != NULL, "mkdtemp");
    snprintf(g_index, sizeof(g_index), "%s/index.html", g_root);
    atexit(rm_root);
    FILE *f = fopen(g_index, "w");
    FZ_CHECK(f != NULL, "fopen");
    fputs("<html>ok</html>\n", f);
    fclose(f);

    FZ_CHECK(uv_loop_init(&g_loop) == 0, "loop");
    struct col_http_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "127.0.0.1";
    cfg.port = 0;
    cfg.max_request_bytes = 2048;
    cfg.max_connections = 8;
    cfg.timeout_ms = TIMEOUT_MS;
    cfg.rate_per_client = 0;
    FZ_CHECK(col_http_create(&g_loop, &cfg, &g_http) == 0, "create");
    FZ_CHECK(col_http_route(g_http, "GET", "/x", false, on_echo, NULL) == 0, "route");
    FZ_CHECK(col_http_route(g_http, "GET", "/p/", true, on_echo, NULL) == 0, "route");
    FZ_CHECK(col_http_route(g_http, "POST", "/post", false, on_echo, NULL) == 0, "route");
    FZ_CHECK(col_http_route(g_http, "GET", "/static/", true, on_static, g_root) == 0, "route");
    FZ_CHECK(col_http_start(g_http) == 0, "start");
    g_port = col_http_port(g_http);
    FZ_CHECK(g_port != 0, "port");
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Checks the answers read so far: each status line's error body has no internal detail. */
static void check_answer(const char *resp, size_t len)
{
    if (len == 0) {
        return;
    }
    FZ_CHECK(len >= 12 && memcmp(resp, "HTTP/1.1 ", 9) == 0, "not a status line: %.40s", resp);
    long status = strtol(resp + 9, NULL, 10);
    if (status >= 400) {
        const char *body = strstr(resp, "\r\n\r\n");
        FZ_CHECK(body != NULL, "error answer without a header end");
        body += 4;
        FZ_CHECK(strstr(body, "/tmp") == NULL && strstr(body, ".c:") == NULL &&
                     strstr(body, "influx") == NULL,
                 "internal detail in an error body: %s", body);
    }
}

static void fuzz_helpers(const uint8_t *data, size_t size)
{
    char out[4096];
    long n = col_http_pct_decode((const char *)data, size, (size & 1) != 0, out, sizeof(out));
    FZ_CHECK(n >= -1 && n < (long)sizeof(out), "pct_decode %ld", n);
    if (n >= 0) {
        FZ_CHECK(out[n] == '\0' && strlen(out) == (size_t)n, "pct_decode NUL");
        FZ_CHECK((size_t)n <= size, "decoded longer than input");
    }
    struct col_layers_query q;
    char err[256];
    err[0] = '\0';
    int rc = col_layers_query_parse((const char *)data, size, &q, err, sizeof(err));
    FZ_CHECK(rc == 0 || rc == CT_E_PARSE, "query_parse %d", rc);
    FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "query err unterminated");
    if (rc == 0) {
        FZ_CHECK(q.limit >= 1 && q.limit <= COL_LAYERS_LIMIT_MAX, "limit %u", q.limit);
        if (q.has_bbox) {
            FZ_CHECK(q.bbox[0] <= q.bbox[2] && q.bbox[1] <= q.bbox[3], "bbox order");
        }
        if (q.has_datetime && q.has_start && q.has_end) {
            FZ_CHECK(q.start_ms <= q.end_ms, "datetime order");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384) {
        return 0;
    }
    fuzz_helpers(data, size);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FZ_CHECK(fd >= 0, "socket");
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(g_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FZ_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
    FZ_CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "nonblock");

    size_t sent = 0;
    bool shut = false;
    bool closed = false;
    static char resp[1 << 16];
    size_t rlen = 0;
    uint64_t deadline = now_ms() + TIMEOUT_MS * 10 + 2000;
    while (!closed && now_ms() < deadline) {
        uv_run(&g_loop, UV_RUN_NOWAIT);
        if (sent < size) {
            ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (w > 0) {
                sent += (size_t)w;
            } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                sent = size; /* the server closed on us: fine */
            }
        }
        if (sent == size && !shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        char tmp[4096];
        ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
        if (r > 0) {
            size_t k = (size_t)r < sizeof(resp) - 1 - rlen ? (size_t)r : sizeof(resp) - 1 - rlen;
            memcpy(resp + rlen, tmp, k);
            rlen += k;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            closed = true;
        } else {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            poll(&pfd, 1, 1);
        }
    }
    close(fd);
    resp[rlen] = '\0';
    FZ_CHECK(closed, "the server kept a half-closed connection open past its timeout");
    check_answer(resp, rlen);
    /* Let the server notice and free the connection. */
    uint64_t until = now_ms() + 1000;
    while (col_http_connections(g_http) > 0 && now_ms() < until) {
        uv_run(&g_loop, UV_RUN_NOWAIT);
        struct pollfd none;
        poll(&none, 0, 1);
    }
    FZ_CHECK(col_http_connections(g_http) == 0, "a connection leaked in the server");
    return 0;
}
