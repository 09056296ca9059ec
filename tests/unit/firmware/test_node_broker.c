/* test_node_broker.c - sensor-node against a real mosquitto (integration).
 *
 * 1. --print-key equals HKDF(master, id); a node publishes readings that a subscriber receives in
 *    order with valid signatures; a late subscriber gets the retained "online" status; SIGKILL
 *    makes the broker publish the will "offline"; a restart (boot + 1) sends the unacked backlog
 *    first and --count makes it exit 0.
 * 2. The broker is stopped for 10 s while the node keeps sampling, then restarted on the same
 *    port: every reading arrives, in order, none lost (duplicates of unacked resends allowed). */
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
#include <time.h>
#include <unistd.h>

#include "ct/payload.h"
#include "ct/sig.h"
#include "fw_test_broker.h"

struct fx {
    char dir[128];
    char node_bin[512];
    char master[200];
    char keyfile[200];
    char state[200];
    char log[200];
    char uri[64];
    struct tb_broker broker;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void device_key(const char *id, uint8_t key[CT_KEY_LEN])
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++) {
        master[i] = (uint8_t)(i * 7 + 1);
    }
    assert_int_equal(ct_sig_device_key(master, sizeof(master), id, key), 0);
}

/* Provisions 'id': its key file is written by `sensor-node --print-key`, checked against HKDF. */
static void provision(struct fx *f, const char *id)
{
    char out[240];
    snprintf(out, sizeof(out), "%s/print-key.out", f->dir);
    char *argv[] = {f->node_bin, (char *)"--print-key", (char *)"--master-key-file",
                    f->master,   (char *)"--id",        (char *)id,
                    NULL};
    unlink(out);
    pid_t pid = tb_spawn(argv, out);
    assert_true(pid > 0);
    int st = tb_wait_exit(pid, 10000);
    assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    FILE *fp = fopen(out, "r");
    assert_non_null(fp);
    char hex[100] = {0};
    assert_non_null(fgets(hex, sizeof(hex), fp));
    fclose(fp);
    uint8_t key[CT_KEY_LEN];
    device_key(id, key);
    char want[CT_KEY_LEN * 2 + 2];
    for (int i = 0; i < CT_KEY_LEN; i++) {
        snprintf(want + 2 * i, 3, "%02x", key[i]);
    }
    want[64] = '\n';
    want[65] = '\0';
    assert_string_equal(hex, want);
    write_file(f->keyfile, hex);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *bin = getenv("CT_BINARY_DIR");
    assert_non_null(bin);
    snprintf(f->node_bin, sizeof(f->node_bin), "%s/firmware-sensor/app/sensor-node", bin);
    assert_int_equal(access(f->node_bin, X_OK), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-node-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->master, sizeof(f->master), "%s/master.hex", f->dir);
    snprintf(f->keyfile, sizeof(f->keyfile), "%s/device.hex", f->dir);
    snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/node.log", f->dir);
    char hex[70];
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", (unsigned)(i * 7 + 1));
    }
    hex[64] = '\n';
    hex[65] = '\0';
    write_file(f->master, hex);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    tb_broker_cleanup(&f->broker);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static pid_t start_node(struct fx *f, const char *kind, const char *id, const char *interval,
                        const char *count)
{
    char *argv[24];
    int n = 0;
    argv[n++] = f->node_bin;
    argv[n++] = (char *)"--kind";
    argv[n++] = (char *)kind;
    argv[n++] = (char *)"--id";
    argv[n++] = (char *)id;
    argv[n++] = (char *)"--broker";
    argv[n++] = f->uri;
    argv[n++] = (char *)"--key-file";
    argv[n++] = f->keyfile;
    argv[n++] = (char *)"--state-dir";
    argv[n++] = f->state;
    argv[n++] = (char *)"--interval-ms";
    argv[n++] = (char *)interval;
    argv[n++] = (char *)"--rate";
    argv[n++] = (char *)"50";
    if (count != NULL) {
        argv[n++] = (char *)"--count";
        argv[n++] = (char *)count;
    }
    argv[n] = NULL;
    pid_t pid = tb_spawn(argv, f->log);
    assert_true(pid > 0);
    return pid;
}

struct up {
    uint64_t boot;
    uint64_t seq;
};

/* Decodes and verifies every "up" message in arrival order into ups[]; returns the count. */
static size_t collect_ups(struct tb_sub *s, enum ct_kind kind, const char *id, struct up *ups,
                          size_t cap)
{
    uint8_t key[CT_KEY_LEN];
    device_key(id, key);
    size_t n = 0;
    struct tb_msg m;
    for (size_t i = 0; tb_sub_get(s, i, &m); i++) {
        size_t tl = strlen(m.topic);
        if (tl < 3 || strcmp(m.topic + tl - 3, "/up") != 0) {
            continue;
        }
        assert_true(ct_sig_verify(key, m.topic, tl, m.payload, m.len, m.sig, strlen(m.sig)));
        struct ct_reading r;
        struct ct_reason why;
        assert_int_equal(ct_payload_decode(m.payload, m.len, kind, &r, &why), 0);
        assert_string_equal(r.id, id);
        assert_true(r.n > 0);
        assert_true(n < cap);
        ups[n].boot = r.boot;
        ups[n].seq = r.seq;
        n++;
    }
    return n;
}

/* Arrival order with resent duplicates removed must be exactly (boot, 0), (boot, 1), ...; returns
 * the number of distinct readings of 'boot'. */
static uint64_t check_in_order(const struct up *ups, size_t n, uint64_t boot)
{
    uint64_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (ups[i].boot != boot) {
            continue;
        }
        if (ups[i].seq < next) {
            continue; /* a resend of an unacked reading: QoS 1 is at least once */
        }
        assert_int_equal(ups[i].seq, next);
        next++;
    }
    return next;
}

static void test_node_signed_status_will_restart(void **state)
{
    struct fx *f = *state;
    const char *id = "hn-air-0042";
    assert_int_equal(tb_broker_start(&f->broker, false), 0);
    snprintf(f->uri, sizeof(f->uri), "tcp://127.0.0.1:%d", f->broker.port);
    provision(f, id);
    struct tb_sub *sub =
        tb_sub_start(f->broker.port, "tb-sub-1", "city/v1/air/hn-air-0042/#", false);
    assert_non_null(sub);
    pid_t node = start_node(f, "air", id, "100", NULL);
    assert_true(tb_sub_wait(sub, "/up", 20, 30000) >= 20);

    /* A late subscriber gets the retained online status, signed. */
    struct tb_sub *late =
        tb_sub_start(f->broker.port, "tb-sub-2", "city/v1/air/hn-air-0042/status", false);
    assert_non_null(late);
    assert_int_equal(tb_sub_wait(late, "/status", 1, 10000), 1);
    struct tb_msg m;
    assert_true(tb_sub_get(late, 0, &m));
    assert_true(m.retained);
    assert_string_equal(m.payload, "{\"v\":1,\"id\":\"hn-air-0042\",\"boot\":0,\"seq\":0,\"state\":"
                                   "\"online\",\"fw\":\"" CT_VERSION "\"}");
    uint8_t key[CT_KEY_LEN];
    device_key(id, key);
    assert_true(
        ct_sig_verify(key, m.topic, strlen(m.topic), m.payload, m.len, m.sig, strlen(m.sig)));
    tb_sub_stop(late);

    /* SIGKILL: the broker publishes the will. */
    kill(node, SIGKILL);
    assert_true(tb_wait_exit(node, 10000) >= 0);
    assert_true(tb_sub_wait(sub, "/status", 2, 15000) >= 2);
    size_t total = tb_sub_count(sub);
    bool offline = false;
    for (size_t i = 0; i < total; i++) {
        assert_true(tb_sub_get(sub, i, &m));
        if (strstr(m.topic, "/status") != NULL &&
            strcmp(m.payload, "{\"v\":1,\"id\":\"hn-air-0042\",\"boot\":0,\"seq\":1,"
                              "\"state\":\"offline\"}") == 0) {
            offline = true;
            assert_true(ct_sig_verify(key, m.topic, strlen(m.topic), m.payload, m.len, m.sig,
                                      strlen(m.sig)));
        }
    }
    assert_true(offline);

    static struct up ups[TB_MAX_MSGS];
    size_t n = collect_ups(sub, CT_KIND_AIR, id, ups, TB_MAX_MSGS);
    uint64_t boot0 = check_in_order(ups, n, 0);
    assert_true(boot0 >= 20);

    /* Restart: boot 1; whatever boot 0 left unacked comes first; --count ends it with 0. */
    node = start_node(f, "air", id, "100", "5");
    int st = tb_wait_exit(node, 30000);
    assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(tb_sub_wait(sub, "/up", n + 5, 10000) >= n + 5);
    n = collect_ups(sub, CT_KIND_AIR, id, ups, TB_MAX_MSGS);
    uint64_t boot0_after = check_in_order(ups, n, 0);
    assert_true(boot0_after >= boot0);
    assert_true(check_in_order(ups, n, 1) >= 5);
    bool seen_boot1 = false;
    for (size_t i = 0; i < n; i++) {
        seen_boot1 = seen_boot1 || ups[i].boot == 1;
        assert_false(seen_boot1 && ups[i].boot == 0); /* the backlog went first */
    }
    tb_sub_stop(sub);
}

static void test_node_survives_broker_outage(void **state)
{
    struct fx *f = *state;
    const char *id = "hn-water-0007";
    assert_int_equal(tb_broker_start(&f->broker, true), 0);
    snprintf(f->uri, sizeof(f->uri), "tcp://127.0.0.1:%d", f->broker.port);
    provision(f, id);
    /* A persistent session, so that the subscriber misses nothing while the broker restarts. */
    struct tb_sub *sub =
        tb_sub_start(f->broker.port, "tb-sub-outage", "city/v1/water/hn-water-0007/up", true);
    assert_non_null(sub);
    pid_t node = start_node(f, "water", id, "200", "90");
    assert_true(tb_sub_wait(sub, "/up", 5, 20000) >= 5);

    tb_broker_stop(&f->broker, false);
    /* The outage itself is the scenario: the node keeps sampling (about 50 readings) meanwhile. */
    struct timespec outage = {10, 0};
    nanosleep(&outage, NULL);
    assert_int_equal(tb_broker_restart(&f->broker), 0);

    int st = tb_wait_exit(node, 60000);
    assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(tb_sub_wait(sub, "/up", 90, 20000) >= 90);
    static struct up ups[TB_MAX_MSGS];
    size_t n = collect_ups(sub, CT_KIND_WATER, id, ups, TB_MAX_MSGS);
    uint64_t distinct = check_in_order(ups, n, 0);
    print_message("outage: %zu messages, %llu distinct readings in order\n", n,
                  (unsigned long long)distinct);
    assert_true(distinct >= 90);
    tb_sub_stop(sub);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_node_signed_status_will_restart, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_node_survives_broker_outage, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
