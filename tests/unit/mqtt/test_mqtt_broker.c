/* test_mqtt_broker.c - the collector's MQTT v5 client (collector/mqtt) against a real mosquitto
 * (integration). Each test starts its own broker on a free loopback port in a temp dir and
 * publishes with mosquitto_pub; the client runs on a uv loop in this thread. Waits are bounded
 * polls of conditions (WAIT_FOR), never sleeps used as assertions.
 *
 *  - sig_and_topics: topic, payload, the "sig" user property, QoS 0 and 1, our own publish;
 *  - withheld_acks_redelivered: 50 QoS 1 messages never acked -> all 50 redelivered (DUP) to the
 *    next connection with the same client id: no PUBACK leaves without col_mqtt_ack;
 *  - half_acked_other_half_redelivered: acks given out of order are held (MQTT 4.6), then the 25
 *    acked are not redelivered and exactly the other 25 are;
 *  - pause: while paused 2000 published messages are not delivered; after resume all arrive
 *    exactly once;
 *  - acl_refused_subscription: a filter denied by the ACL (dynamic security plugin: mosquitto
 *    2.0.11's acl_file never refuses a SUBSCRIBE) -> COL_MQTT_SUB_REFUSED (0x87), no UP;
 *  - broker_restart: the broker killed and restarted on its port -> DOWN, UP again, messages flow;
 *  - tls_client_cert: ssl:// to a listener that requires a client certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "col_mqtt.h"
#include "ct/err.h"
#include "fw_test_broker.h"

#define MAX_RECS 4096

struct rec {
    char topic[64];
    char payload[64];
    char sig[16];
    bool has_sig;
    bool dup;
    uint8_t qos;
    uint64_t token;
};

struct tc {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking forever */
    struct tb_broker broker;
    char dir[128]; /* TLS files */
    struct col_mqtt *c;
    struct rec *recs;
    size_t n;
    bool auto_ack;
    int ups, downs, refused;
    char last_refused[512];
    bool closed;
};

#define WAIT_FOR(t, cond, ms)                                                                      \
    do {                                                                                           \
        int64_t dl_ = tb_now_ms() + (ms);                                                          \
        while (!(cond) && tb_now_ms() < dl_) {                                                     \
            uv_run(&(t)->loop, UV_RUN_ONCE);                                                       \
        }                                                                                          \
    } while (0)

static void on_msg(void *arg, const struct col_mqtt_msg *m)
{
    struct tc *t = arg;
    if (t->n < MAX_RECS) {
        struct rec *r = &t->recs[t->n];
        memset(r, 0, sizeof(*r));
        snprintf(r->topic, sizeof(r->topic), "%.*s", (int)m->topic_len, m->topic);
        snprintf(r->payload, sizeof(r->payload), "%.*s", (int)m->payload_len,
                 (const char *)m->payload);
        if (m->sig != NULL) {
            r->has_sig = true;
            snprintf(r->sig, sizeof(r->sig), "%.*s", (int)m->sig_len, m->sig);
        }
        r->dup = m->dup;
        r->qos = m->qos;
        r->token = m->token;
    }
    t->n++;
    if (t->auto_ack) {
        col_mqtt_ack(t->c, m->token);
    }
}

static void on_event(void *arg, enum col_mqtt_event ev, const char *why)
{
    struct tc *t = arg;
    if (ev == COL_MQTT_UP) {
        t->ups++;
    } else if (ev == COL_MQTT_DOWN) {
        t->downs++;
    } else {
        t->refused++;
        snprintf(t->last_refused, sizeof(t->last_refused), "%s", why);
    }
}

static void on_tick(uv_timer_t *h)
{
    (void)h;
}

static struct tc *tc_new(const char *extra)
{
    struct tc *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->recs = calloc(MAX_RECS, sizeof(*t->recs));
    assert_non_null(t->recs);
    assert_int_equal(uv_loop_init(&t->loop), 0);
    uv_timer_init(&t->loop, &t->tick);
    uv_timer_start(&t->tick, on_tick, 20, 20);
    if (extra != NULL) {
        assert_int_equal(tb_broker_start_ex(&t->broker, false, extra), 0);
    }
    return t;
}

static void on_closed(void *arg)
{
    ((struct tc *)arg)->closed = true;
}

static void client_close(struct tc *t)
{
    if (t->c == NULL) {
        return;
    }
    t->closed = false;
    col_mqtt_close(t->c, on_closed, t);
    WAIT_FOR(t, t->closed, 10000);
    assert_true(t->closed);
    col_mqtt_free(t->c);
    t->c = NULL;
}

static void tc_free(struct tc *t)
{
    client_close(t);
    uv_close((uv_handle_t *)&t->tick, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&t->loop), 0); /* no handle of the client leaked */
    tb_broker_cleanup(&t->broker);
    if (t->dir[0] != '\0') {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
        assert_int_equal(system(cmd), 0);
    }
    free(t->recs);
    free(t);
}

/* Creates and starts a client subscribed to 'subs' (default: "t/#" at QoS 1). */
static void client_start(struct tc *t, const char *client_id, const struct col_mqtt_sub *subs,
                         size_t nsubs, const struct col_mqtt_cfg *base)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", t->broker.port);
    struct col_mqtt_cfg cfg = {0};
    if (base != NULL) {
        cfg = *base;
    } else {
        cfg.uri = uri;
    }
    cfg.client_id = client_id;
    cfg.keepalive_s = 5;
    cfg.session_expiry_s = 600;
    cfg.reconnect_min_ms = 100;
    cfg.reconnect_max_ms = 500;
    static const struct col_mqtt_sub def = {"t/#", 1, 0};
    if (subs == NULL) {
        subs = &def;
        nsubs = 1;
    }
    assert_int_equal(col_mqtt_create(&t->loop, &cfg, subs, nsubs, on_msg, on_event, t, &t->c), 0);
    assert_int_equal(col_mqtt_start(t->c), 0);
}

static bool child_done(pid_t pid, int *status)
{
    return waitpid(pid, status, WNOHANG) == pid;
}

/* Publishes the lines 1..n (or 'msg' once when n == 0) to 'topic' at 'qos' with the user property
 * sig=abc, running the loop meanwhile. 'tls' adds the test CA and client certificate. */
static void publish(struct tc *t, const char *topic, int n, const char *msg, int qos, bool tls)
{
    char cmd[2048];
    char tlsopt[600] = "";
    if (tls) {
        snprintf(tlsopt, sizeof(tlsopt),
                 "--cafile %s/ca.crt --cert %s/client.crt --key %s/client.key", t->dir, t->dir,
                 t->dir);
    }
    if (n > 0) {
        snprintf(cmd, sizeof(cmd),
                 "seq 1 %d | mosquitto_pub -h 127.0.0.1 -p %d -V 5 -q %d -t '%s' -l "
                 "-D publish user-property sig abc %s",
                 n, t->broker.port, qos, topic, tlsopt);
    } else {
        snprintf(cmd, sizeof(cmd), "mosquitto_pub -h 127.0.0.1 -p %d -V 5 -q %d -t '%s' -m '%s' %s",
                 t->broker.port, qos, topic, msg, tlsopt);
    }
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};
    pid_t pid = tb_spawn(argv, NULL);
    assert_true(pid > 0);
    int status = -1;
    bool done = false;
    WAIT_FOR(t, (done = child_done(pid, &status)), 30000);
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    assert_true(done);
    assert_int_equal(status, 0);
}

static size_t count_topic(const struct tc *t, const char *topic)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n && i < MAX_RECS; i++) {
        k += strcmp(t->recs[i].topic, topic) == 0 ? 1 : 0;
    }
    return k;
}

static void test_sig_and_topics(void **state)
{
    (void)state;
    struct tc *t = tc_new("");
    t->auto_ack = true;
    client_start(t, "col-sig", NULL, 0, NULL);
    WAIT_FOR(t, t->ups == 1, 10000);
    assert_int_equal(t->ups, 1);
    publish(t, "t/a", 3, NULL, 1, false);
    publish(t, "t/b", 0, "hello", 0, false);
    WAIT_FOR(t, t->n >= 4, 10000);
    assert_int_equal(t->n, 4);
    for (int i = 0; i < 3; i++) {
        char want[8];
        snprintf(want, sizeof(want), "%d", i + 1);
        assert_string_equal(t->recs[i].topic, "t/a");
        assert_string_equal(t->recs[i].payload, want);
        assert_true(t->recs[i].has_sig);
        assert_string_equal(t->recs[i].sig, "abc");
        assert_int_equal(t->recs[i].qos, 1);
        assert_true(t->recs[i].token != 0);
    }
    assert_string_equal(t->recs[3].topic, "t/b");
    assert_string_equal(t->recs[3].payload, "hello");
    assert_false(t->recs[3].has_sig);
    assert_int_equal(t->recs[3].token, 0);
    /* Our own QoS 1 publish comes back through the subscription and is acknowledged. */
    assert_int_equal(col_mqtt_publish(t->c, "t/out", "alert", 5, 1, false), 0);
    struct col_mqtt_stats st;
    WAIT_FOR(t, (col_mqtt_stats(t->c, &st), st.published == 1 && t->n == 5), 10000);
    assert_int_equal(st.published, 1);
    assert_string_equal(t->recs[4].topic, "t/out");
    assert_string_equal(t->recs[4].payload, "alert");
    assert_int_equal(st.received, 5);
    assert_int_equal(st.acked, 4);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(st.protocol_errors, 0);
    assert_true(st.up);
    tc_free(t);
}

static void test_withheld_acks_redelivered(void **state)
{
    (void)state;
    struct tc *t = tc_new("");
    client_start(t, "col-withheld", NULL, 0, NULL);
    WAIT_FOR(t, t->ups == 1, 10000);
    publish(t, "t/w", 50, NULL, 1, false);
    WAIT_FOR(t, t->n >= 50, 10000);
    assert_int_equal(t->n, 50);
    struct col_mqtt_stats st;
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.acked, 0);
    assert_int_equal(st.inflight, 50);
    client_close(t);

    t->n = 0;
    client_start(t, "col-withheld", NULL, 0, NULL);
    WAIT_FOR(t, t->n >= 50, 10000);
    assert_int_equal(t->n, 50);
    for (int i = 0; i < 50; i++) {
        char want[8];
        snprintf(want, sizeof(want), "%d", i + 1);
        assert_string_equal(t->recs[i].payload, want);
        assert_true(t->recs[i].dup);
    }
    /* After a reconnect (the watchdog's path) the same 50 come again, and a token of the earlier
     * connection is ignored and counted. */
    uint64_t old_token = t->recs[0].token;
    col_mqtt_reconnect(t->c, "test");
    WAIT_FOR(t, t->n >= 100, 10000);
    assert_int_equal(t->n, 100);
    assert_string_equal(t->recs[50].payload, "1");
    col_mqtt_ack(t->c, old_token);
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.stale_acks, 1);
    assert_int_equal(st.acked, 0);
    col_mqtt_ack(t->c, t->recs[50].token);
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.acked, 1);
    assert_int_equal(st.lost, 1);
    tc_free(t);
}

static void test_half_acked_other_half_redelivered(void **state)
{
    (void)state;
    struct tc *t = tc_new("");
    client_start(t, "col-half", NULL, 0, NULL);
    WAIT_FOR(t, t->ups == 1, 10000);
    publish(t, "t/h", 50, NULL, 1, false);
    WAIT_FOR(t, t->n >= 50, 10000);
    assert_int_equal(t->n, 50);
    /* Out of order: 2..25 first are held (MQTT 4.6), then 1 releases all 25. */
    struct col_mqtt_stats st;
    for (int i = 24; i >= 1; i--) {
        col_mqtt_ack(t->c, t->recs[i].token);
    }
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.acked, 0);
    col_mqtt_ack(t->c, t->recs[0].token);
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.acked, 25);
    assert_int_equal(st.inflight, 25);
    client_close(t);

    t->n = 0;
    client_start(t, "col-half", NULL, 0, NULL);
    WAIT_FOR(t, t->n >= 25, 10000);
    /* A marker published after the reconnect arrives after the redeliveries: then the count is
     * final, without waiting for something not to happen. */
    publish(t, "t/marker", 0, "end", 1, false);
    WAIT_FOR(t, count_topic(t, "t/marker") == 1, 10000);
    assert_int_equal(count_topic(t, "t/marker"), 1);
    assert_int_equal(count_topic(t, "t/h"), 25);
    for (int i = 0; i < 25; i++) {
        char want[8];
        snprintf(want, sizeof(want), "%d", i + 26);
        assert_string_equal(t->recs[i].payload, want);
        assert_true(t->recs[i].dup);
    }
    tc_free(t);
}

static void test_pause(void **state)
{
    (void)state;
    struct tc *t = tc_new("");
    t->auto_ack = true;
    client_start(t, "col-pause", NULL, 0, NULL);
    WAIT_FOR(t, t->ups == 1, 10000);
    col_mqtt_pause(t->c);
    col_mqtt_pause(t->c); /* idempotent */
    publish(t, "t/p", 2000, NULL, 1, false);
    /* The broker has them all (the publisher got its PUBACKs); give it time to push. */
    int64_t until = tb_now_ms() + 500;
    WAIT_FOR(t, tb_now_ms() >= until, 1000);
    struct col_mqtt_stats st;
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.received, 0);
    assert_true(st.paused);
    assert_true(st.up);
    col_mqtt_resume(t->c);
    WAIT_FOR(t, t->n >= 2000, 30000);
    assert_int_equal(t->n, 2000);
    publish(t, "t/marker", 0, "end", 1, false);
    WAIT_FOR(t, count_topic(t, "t/marker") == 1, 10000);
    assert_int_equal(count_topic(t, "t/p"), 2000);
    static bool seen[2001];
    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->recs[i].topic, "t/p") == 0) {
            int v = atoi(t->recs[i].payload);
            assert_true(v >= 1 && v <= 2000);
            assert_false(seen[v]); /* exactly once */
            seen[v] = true;
        }
    }
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.acked, 2001);
    assert_int_equal(st.lost, 0);
    tc_free(t);
}

static void test_acl_refused_subscription(void **state)
{
    (void)state;
    struct tc *t = tc_new(NULL);
    snprintf(t->dir, sizeof(t->dir), "/tmp/ct-test-mqtt-acl-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    char acl[200];
    snprintf(acl, sizeof(acl), "%s/dynsec.json", t->dir);
    FILE *f = fopen(acl, "w");
    assert_non_null(f);
    /* mosquitto 2.0.11's acl_file never refuses a SUBSCRIBE (it filters at delivery; checked
     * with mosquitto_sub: SUBACK granted); the dynamic security plugin does refuse (0x87). */
    fprintf(f, "{\"defaultACLAccess\":{\"publishClientSend\":true,\"publishClientReceive\":true,"
               "\"subscribe\":false,\"unsubscribe\":true},\"clients\":[],"
               "\"groups\":[{\"groupname\":\"anon\",\"roles\":[{\"rolename\":\"r\"}],"
               "\"clients\":[]}],\"anonymousGroup\":\"anon\",\"roles\":[{\"rolename\":\"r\","
               "\"acls\":[{\"acltype\":\"subscribePattern\",\"topic\":\"t/#\","
               "\"allow\":true}]}]}\n");
    fclose(f);
    char extra[400];
    snprintf(extra, sizeof(extra),
             "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\n"
             "plugin_opt_config_file %s\n",
             acl);
    assert_int_equal(tb_broker_start_ex(&t->broker, false, extra), 0);
    const struct col_mqtt_sub subs[2] = {{"t/#", 1, 0}, {"secret/#", 1, 0}};
    client_start(t, "col-acl", subs, 2, NULL);
    WAIT_FOR(t, t->refused >= 1, 10000);
    assert_int_equal(t->refused, 1);
    assert_non_null(strstr(t->last_refused, "secret/#"));
    assert_non_null(strstr(t->last_refused, "0x87"));
    assert_int_equal(t->ups, 0);
    /* Still connected: the granted filter delivers. */
    t->auto_ack = true;
    publish(t, "t/x", 0, "ok", 1, false);
    WAIT_FOR(t, t->n >= 1, 10000);
    assert_int_equal(t->n, 1);
    tc_free(t);
}

static void test_broker_restart(void **state)
{
    (void)state;
    struct tc *t = tc_new("");
    t->auto_ack = true;
    client_start(t, "col-restart", NULL, 0, NULL);
    WAIT_FOR(t, t->ups == 1, 10000);
    tb_broker_stop(&t->broker, true);
    WAIT_FOR(t, t->downs >= 1, 10000);
    assert_true(t->downs >= 1);
    struct col_mqtt_stats st;
    col_mqtt_stats(t->c, &st);
    assert_false(st.up);
    assert_int_equal(st.lost, 1);
    assert_int_equal(tb_broker_restart(&t->broker), 0);
    WAIT_FOR(t, t->ups == 2, 15000);
    assert_int_equal(t->ups, 2);
    publish(t, "t/r", 5, NULL, 1, false);
    WAIT_FOR(t, t->n >= 5, 10000);
    assert_int_equal(t->n, 5);
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.connects, 2);
    assert_true(st.up);
    tc_free(t);
}

static void test_tls_client_cert(void **state)
{
    (void)state;
    struct tc *t = tc_new(NULL);
    snprintf(t->dir, sizeof(t->dir), "/tmp/ct-test-mqtt-tls-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && exec >openssl.log 2>&1 && "
             "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout ca.key -out ca.crt -days 2 -subj /CN=citytel-test-ca && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out server.crt -days 2 -extfile san.ext && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout client.key -out client.csr -subj /CN=collector && "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out client.crt -days 2",
             t->dir);
    assert_int_equal(system(cmd), 0);
    char extra[1024];
    snprintf(extra, sizeof(extra),
             "cafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n"
             "require_certificate true\n",
             t->dir, t->dir, t->dir);
    assert_int_equal(tb_broker_start_ex(&t->broker, false, extra), 0);
    char uri[64], ca[200], crt[200], key[200];
    snprintf(uri, sizeof(uri), "ssl://127.0.0.1:%d", t->broker.port);
    snprintf(ca, sizeof(ca), "%s/ca.crt", t->dir);
    snprintf(crt, sizeof(crt), "%s/client.crt", t->dir);
    snprintf(key, sizeof(key), "%s/client.key", t->dir);
    struct col_mqtt_cfg cfg = {.uri = uri, .ca_file = ca, .cert_file = crt, .key_file = key};
    t->auto_ack = true;
    client_start(t, "col-tls", NULL, 0, &cfg);
    WAIT_FOR(t, t->ups == 1, 15000);
    assert_int_equal(t->ups, 1);
    publish(t, "t/tls", 20, NULL, 1, true);
    WAIT_FOR(t, t->n >= 20, 10000);
    assert_int_equal(t->n, 20);
    assert_string_equal(t->recs[19].payload, "20");
    assert_string_equal(t->recs[19].sig, "abc");
    struct col_mqtt_stats st;
    col_mqtt_stats(t->c, &st);
    assert_int_equal(st.acked, 20);
    client_close(t);

    /* Without the client certificate the broker refuses the handshake: DOWN, never UP. */
    struct col_mqtt_cfg nocert = {.uri = uri, .ca_file = ca};
    t->downs = 0;
    client_start(t, "col-tls-nocert", NULL, 0, &nocert);
    WAIT_FOR(t, t->downs >= 1, 15000);
    assert_true(t->downs >= 1);
    assert_int_equal(t->ups, 1);
    tc_free(t);
}

static void test_create_rejects(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct col_mqtt *c = NULL;
    struct col_mqtt_cfg cfg = {.uri = "tcp://127.0.0.1:1883"};
    assert_int_equal(col_mqtt_create(&loop, &cfg, NULL, 0, on_msg, on_event, NULL, &c),
                     CT_E_INVAL); /* no client id */
    cfg.client_id = "x";
    cfg.uri = "http://h:1";
    assert_int_equal(col_mqtt_create(&loop, &cfg, NULL, 0, on_msg, on_event, NULL, &c), CT_E_INVAL);
    cfg.uri = "mqtt://h:99999999";
    assert_int_equal(col_mqtt_create(&loop, &cfg, NULL, 0, on_msg, on_event, NULL, &c), CT_E_INVAL);
    cfg.uri = "mqtts://h";
    cfg.ca_file = "/nonexistent/ca.crt";
    assert_int_equal(col_mqtt_create(&loop, &cfg, NULL, 0, on_msg, on_event, NULL, &c), CT_E_INVAL);
    cfg.uri = "mqtt://[::1]:1883";
    cfg.ca_file = NULL;
    assert_int_equal(col_mqtt_create(&loop, &cfg, NULL, 0, on_msg, on_event, NULL, &c), 0);
    /* Out queue bound: refused beyond out_queue_max while down. */
    col_mqtt_free(c);
    cfg.out_queue_max = 100;
    assert_int_equal(col_mqtt_create(&loop, &cfg, NULL, 0, on_msg, on_event, NULL, &c), 0);
    char big[80];
    memset(big, 'x', sizeof(big));
    assert_int_equal(col_mqtt_publish(c, "a", big, sizeof(big), 1, false), 0);
    assert_int_equal(col_mqtt_publish(c, "a", big, sizeof(big), 1, false), CT_E_FULL);
    struct col_mqtt_stats st;
    col_mqtt_stats(c, &st);
    assert_int_equal(st.publish_refused, 1);
    col_mqtt_free(c);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects),
        cmocka_unit_test(test_sig_and_topics),
        cmocka_unit_test(test_withheld_acks_redelivered),
        cmocka_unit_test(test_half_acked_other_half_redelivered),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_acl_refused_subscription),
        cmocka_unit_test(test_broker_restart),
        cmocka_unit_test(test_tls_client_cert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
