/* test_mqtt_fake.c - the MQTT client (collector/mqtt) against a scripted fake broker on the same
 * uv loop, for what a real mosquitto will not do on demand:
 *  - split_and_coalesced: a PUBLISH written one byte per write, then three PUBLISHes in one
 *    write; acks given out of order leave as PUBACKs in PUBLISH order (MQTT 4.6);
 *  - over_receive_max: a broker exceeding our Receive Maximum is tolerated and counted;
 *  - protocol_errors: malformed PUBLISH (0x81), topic alias (0x94), QoS 2 (0x9B), a packet over
 *    our Maximum Packet Size (0x95): each gives the DISCONNECT with that reason and a reconnect;
 *  - connack_refused: CONNACK 0x87 -> DOWN naming "not authorized (0x87)";
 *  - keepalive_timeout: PINGREQ sent; no answer -> DOWN "keep alive timeout". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "col_mqtt.h"
#include "ct/err.h"
#include "mqtt_codec.h"

struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    uv_tcp_t listener;
    int port;
    uv_tcp_t *conn;
    uint8_t in[65536];
    size_t in_len;
    bool eof;
    int accepts;
    uv_timer_t drip;
    uint8_t drip_buf[4096];
    size_t drip_len, drip_at;
    struct col_mqtt *c;
    int ups, downs;
    char last_down[256];
    size_t n;
    uint64_t tokens[64];
    char payloads[64][32];
    char sig[32];
    bool closed;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define WAIT_FOR(f, cond, ms)                                                                      \
    do {                                                                                           \
        int64_t dl_ = now_ms() + (ms);                                                             \
        while (!(cond) && now_ms() < dl_) {                                                        \
            uv_run(&(f)->loop, UV_RUN_ONCE);                                                       \
        }                                                                                          \
    } while (0)

static void on_tick(uv_timer_t *h)
{
    (void)h;
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct fx *f = h->data;
    *buf = uv_buf_init((char *)f->in + f->in_len, (unsigned)(sizeof(f->in) - f->in_len));
}

static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct fx *f = s->data;
    if ((uv_tcp_t *)s != f->conn) {
        return;
    }
    if (n < 0) {
        f->eof = true;
        uv_read_stop(s);
        return;
    }
    f->in_len += (size_t)n;
}

static void srv_on_conn(uv_stream_t *l, int status)
{
    struct fx *f = l->data;
    assert_int_equal(status, 0);
    if (f->conn != NULL) {
        uv_close((uv_handle_t *)f->conn, free_handle);
    }
    f->conn = malloc(sizeof(*f->conn));
    assert_non_null(f->conn);
    uv_tcp_init(&f->loop, f->conn);
    f->conn->data = f;
    assert_int_equal(uv_accept(l, (uv_stream_t *)f->conn), 0);
    uv_tcp_nodelay(f->conn, 1);
    f->in_len = 0;
    f->eof = false;
    f->accepts++;
    uv_read_start((uv_stream_t *)f->conn, srv_alloc, srv_read);
}

struct wr {
    uv_write_t req;
    char data[];
};

static void srv_wrote(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void srv_send(struct fx *f, const void *p, size_t n)
{
    struct wr *w = malloc(sizeof(*w) + n);
    assert_non_null(w);
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    assert_int_equal(uv_write(&w->req, (uv_stream_t *)f->conn, &b, 1, srv_wrote), 0);
}

/* One byte per timer tick: the client sees the packet in many reads. */
static void on_drip(uv_timer_t *t)
{
    struct fx *f = t->data;
    if (f->drip_at < f->drip_len) {
        srv_send(f, f->drip_buf + f->drip_at, 1);
        f->drip_at++;
    } else {
        uv_timer_stop(t);
    }
}

/* Removes the first whole packet from the server's input; returns its type (0: none yet). */
static uint8_t srv_take(struct fx *f, uint8_t *body, size_t *body_len)
{
    struct col_mqtt_frame fr;
    if (col_mqtt_frame(f->in, f->in_len, 0, &fr, NULL) != 0) {
        return 0;
    }
    size_t total = fr.hdr_len + fr.body_len;
    if (body != NULL) {
        memcpy(body, f->in + fr.hdr_len, fr.body_len);
        *body_len = fr.body_len;
    }
    memmove(f->in, f->in + total, f->in_len - total);
    f->in_len -= total;
    return fr.type;
}

static bool has_packet(struct fx *f)
{
    struct col_mqtt_frame fr;
    return col_mqtt_frame(f->in, f->in_len, 0, &fr, NULL) == 0;
}

static void on_msg(void *arg, const struct col_mqtt_msg *m)
{
    struct fx *f = arg;
    if (f->n < 64) {
        f->tokens[f->n] = m->token;
        snprintf(f->payloads[f->n], sizeof(f->payloads[0]), "%.*s", (int)m->payload_len,
                 (const char *)m->payload);
        if (m->sig != NULL) {
            snprintf(f->sig, sizeof(f->sig), "%.*s", (int)m->sig_len, m->sig);
        }
    }
    f->n++;
}

static void on_event(void *arg, enum col_mqtt_event ev, const char *why)
{
    struct fx *f = arg;
    if (ev == COL_MQTT_UP) {
        f->ups++;
    } else if (ev == COL_MQTT_DOWN) {
        f->downs++;
        snprintf(f->last_down, sizeof(f->last_down), "%s", why);
    }
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, on_tick, 10, 10);
    uv_timer_init(&f->loop, &f->drip);
    f->drip.data = f;
    uv_tcp_init(&f->loop, &f->listener);
    f->listener.data = f;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&f->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&f->listener, 8, srv_on_conn), 0);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&f->listener, (struct sockaddr *)&ss, &len);
    f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *state = f;
    return 0;
}

static void on_closed(void *arg)
{
    ((struct fx *)arg)->closed = true;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (f->c != NULL) {
        col_mqtt_close(f->c, on_closed, f);
        WAIT_FOR(f, f->closed, 5000);
        assert_true(f->closed);
        col_mqtt_free(f->c);
    }
    if (f->conn != NULL) {
        uv_close((uv_handle_t *)f->conn, free_handle);
    }
    uv_close((uv_handle_t *)&f->listener, NULL);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_close((uv_handle_t *)&f->drip, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void start_client(struct fx *f, uint16_t receive_max, uint32_t max_packet, unsigned ka)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", f->port);
    struct col_mqtt_cfg cfg = {.uri = uri,
                               .client_id = "fake",
                               .receive_max = receive_max,
                               .max_packet = max_packet,
                               .keepalive_s = ka,
                               .reconnect_min_ms = 50,
                               .reconnect_max_ms = 100};
    const struct col_mqtt_sub sub = {"t/#", 1, 0};
    assert_int_equal(col_mqtt_create(&f->loop, &cfg, &sub, 1, on_msg, on_event, f, &f->c), 0);
    assert_int_equal(col_mqtt_start(f->c), 0);
}

/* Answers CONNECT (CONNACK 'reason') and, when accepted, SUBSCRIBE (granted QoS 1). */
static void handshake(struct fx *f, int accepts, uint8_t reason)
{
    WAIT_FOR(f, f->accepts == accepts && has_packet(f), 5000);
    assert_int_equal(srv_take(f, NULL, NULL), COL_MQTT_CONNECT);
    const uint8_t connack[] = {0x20, 3, 0, reason, 0};
    srv_send(f, connack, sizeof(connack));
    if (reason != 0) {
        return;
    }
    int ups = f->ups;
    WAIT_FOR(f, has_packet(f), 5000);
    uint8_t body[256];
    size_t bl = 0;
    assert_int_equal(srv_take(f, body, &bl), COL_MQTT_SUBSCRIBE);
    const uint8_t suback[] = {0x90, 4, body[0], body[1], 0, 1};
    srv_send(f, suback, sizeof(suback));
    WAIT_FOR(f, f->ups == ups + 1, 5000);
    assert_int_equal(f->ups, ups + 1);
}

/* Appends a QoS 1 PUBLISH of topic "t/x" with packet id 'pid' and an optional "sig". */
static size_t make_pub(uint8_t *out, uint16_t pid, const char *payload, bool sig)
{
    uint8_t props[32];
    size_t pl = 0;
    if (sig) {
        const uint8_t up[] = {0x26, 0, 3, 's', 'i', 'g', 0, 2, 'Z', 'Z'};
        memcpy(props, up, sizeof(up));
        pl = sizeof(up);
    }
    size_t len = strlen(payload);
    size_t body = 2 + 3 + 2 + 1 + pl + len;
    size_t n = 0;
    out[n++] = 0x32;
    out[n++] = (uint8_t)body;
    out[n++] = 0;
    out[n++] = 3;
    memcpy(out + n, "t/x", 3);
    n += 3;
    out[n++] = (uint8_t)(pid >> 8);
    out[n++] = (uint8_t)pid;
    out[n++] = (uint8_t)pl;
    memcpy(out + n, props, pl);
    n += pl;
    memcpy(out + n, payload, len);
    return n + len;
}

static void test_split_and_coalesced(void **state)
{
    struct fx *f = *state;
    start_client(f, 0, 0, 0);
    handshake(f, 1, 0);
    f->drip_len = make_pub(f->drip_buf, 1, "first", true);
    f->drip_at = 0;
    uv_timer_start(&f->drip, on_drip, 1, 1);
    WAIT_FOR(f, f->n == 1, 10000);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->payloads[0], "first");
    assert_string_equal(f->sig, "ZZ");
    uint8_t three[256];
    size_t n = make_pub(three, 2, "two", false);
    n += make_pub(three + n, 3, "three", false);
    n += make_pub(three + n, 4, "four", false);
    srv_send(f, three, n);
    WAIT_FOR(f, f->n == 4, 5000);
    assert_int_equal(f->n, 4);
    assert_string_equal(f->payloads[3], "four");
    /* Out of order: 3 and 4 are held until 1 and 2 are acked. */
    struct col_mqtt_stats st;
    col_mqtt_ack(f->c, f->tokens[3]);
    col_mqtt_ack(f->c, f->tokens[2]);
    col_mqtt_stats(f->c, &st);
    assert_int_equal(st.acked, 0);
    assert_int_equal(st.inflight, 4);
    col_mqtt_ack(f->c, f->tokens[0]);
    col_mqtt_ack(f->c, f->tokens[1]);
    col_mqtt_ack(f->c, f->tokens[1]); /* twice: ignored, counted */
    col_mqtt_stats(f->c, &st);
    assert_int_equal(st.acked, 4);
    assert_int_equal(st.stale_acks, 1);
    const uint8_t want[] = {0x40, 2, 0, 1, 0x40, 2, 0, 2, 0x40, 2, 0, 3, 0x40, 2, 0, 4};
    WAIT_FOR(f, f->in_len >= sizeof(want), 5000);
    assert_int_equal(f->in_len, sizeof(want));
    assert_memory_equal(f->in, want, sizeof(want));
}

static void test_over_receive_max(void **state)
{
    struct fx *f = *state;
    start_client(f, 2, 0, 0);
    handshake(f, 1, 0);
    uint8_t five[512];
    size_t n = 0;
    for (uint16_t i = 1; i <= 5; i++) {
        n += make_pub(five + n, i, "m", false);
    }
    srv_send(f, five, n);
    WAIT_FOR(f, f->n == 5, 5000);
    struct col_mqtt_stats st;
    col_mqtt_stats(f->c, &st);
    assert_int_equal(st.received, 5);
    assert_int_equal(st.over_receive_max, 3);
    assert_int_equal(st.inflight, 5);
    assert_int_equal(st.protocol_errors, 0);
    assert_int_equal(f->downs, 0);
    for (size_t i = 0; i < 5; i++) {
        col_mqtt_ack(f->c, f->tokens[i]);
    }
    col_mqtt_stats(f->c, &st);
    assert_int_equal(st.acked, 5);
}

/* Sends 'pkt'; expects DISCONNECT with 'reason', then a new connection. */
static void expect_protocol_error(struct fx *f, const uint8_t *pkt, size_t len, uint8_t reason,
                                  int accepts)
{
    srv_send(f, pkt, len);
    WAIT_FOR(f, f->eof, 5000);
    assert_true(f->eof);
    assert_true(f->in_len >= 4);
    const uint8_t want[] = {0xE0, 2, reason, 0};
    assert_memory_equal(f->in, want, 4);
    handshake(f, accepts + 1, 0);
}

static void test_protocol_errors(void **state)
{
    struct fx *f = *state;
    start_client(f, 0, 1024, 0);
    handshake(f, 1, 0);
    const uint8_t bad_topic_len[] = {0x30, 4, 0, 9, 't', 'x'};
    expect_protocol_error(f, bad_topic_len, sizeof(bad_topic_len), 0x81, 1);
    const uint8_t alias[] = {0x30, 7, 0, 0, 3, 0x23, 0, 1, 'x'};
    expect_protocol_error(f, alias, sizeof(alias), 0x94, 2);
    const uint8_t qos2[] = {0x34, 7, 0, 1, 't', 0, 1, 0, 'x'};
    expect_protocol_error(f, qos2, sizeof(qos2), 0x9B, 3);
    const uint8_t big[] = {0x30, 0xD0, 0x0F}; /* 2000 bytes announced, max 1024 */
    expect_protocol_error(f, big, sizeof(big), 0x95, 4);
    struct col_mqtt_stats st;
    col_mqtt_stats(f->c, &st);
    assert_int_equal(st.protocol_errors, 4);
    assert_int_equal(st.lost, 4);
    assert_int_equal(st.connects, 5);
    assert_non_null(strstr(f->last_down, "protocol error"));
}

static void test_connack_refused(void **state)
{
    struct fx *f = *state;
    start_client(f, 0, 0, 0);
    handshake(f, 1, 0x87);
    WAIT_FOR(f, f->downs >= 1, 5000);
    assert_int_equal(f->downs, 1);
    assert_non_null(strstr(f->last_down, "not authorized (0x87)"));
    /* And it tries again (backoff 50..100 ms). */
    handshake(f, 2, 0);
}

static void test_keepalive_timeout(void **state)
{
    struct fx *f = *state;
    start_client(f, 0, 0, 1);
    handshake(f, 1, 0);
    WAIT_FOR(f, has_packet(f), 5000);
    assert_int_equal(srv_take(f, NULL, NULL), COL_MQTT_PINGREQ);
    WAIT_FOR(f, f->downs >= 1, 5000);
    assert_int_equal(f->downs, 1);
    assert_non_null(strstr(f->last_down, "keep alive timeout"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split_and_coalesced, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_over_receive_max, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_protocol_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_connack_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_timeout, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
