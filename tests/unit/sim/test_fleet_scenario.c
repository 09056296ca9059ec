/* test_fleet_scenario.c - fleet-sim driven by a scenario file against a real mosquitto on a free
 * port (integration): a generated registry, 6 simulated minutes per 3 real seconds, and faults by
 * id. Proves: the expected message counts per node and the summary equal to what the subscriber
 * received; a stuck sensor sends one value; a rebooted node continues with boot + 1 and seq 0
 * after its complete boot-0 backlog; a replaced sensor restarts at boot 0, seq 0; a skewed clock
 * shifts ts; an offline node keeps its readings and delivers them late, in order; garbage arrives
 * and does not decode; the scenario's mark and the status line are printed.
 * Second test: the shipped broker-outage.json at x1200; the test stops the broker at the first MARK
 * and restarts it (same port) at the second: the backlog rises, drains to 0, and every reading of
 * every node arrives in (boot, seq) order without a gap.
 * Third test (run with the argument "segments"): one node sends more than one outbox segment (256
 * records) while caught up with its sampling; every reading must arrive. */
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
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct/payload.h"
#include "ct/sig.h"
#include "ct/topic.h"
#include "fw_test_broker.h"

#define NODES 13 /* air, water and flood devices of a 20-device generated registry */
#define PER_NODE_MIN 10
#define PER_NODE_MAX 14
#define SKEW_MS (-600000)

static const char scenario[] =
    "{\"name\":\"test\",\"start\":\"2026-10-14T09:00:00+07:00\",\"rate_scale\":120,"
    "\"sim_duration\":\"12m\",\"seed\":3,"
    "\"weather\":{\"auto_storms\":false,\"auto_haze\":false},"
    "\"faults\":["
    "{\"type\":\"stuck\",\"ids\":[\"hn-air-00001\"]},"
    "{\"type\":\"reboot\",\"ids\":[\"hn-air-00002\"],\"at\":\"4m\"},"
    "{\"type\":\"replace\",\"ids\":[\"hn-air-00003\"],\"at\":\"4m\"},"
    "{\"type\":\"skew\",\"ids\":[\"hn-air-00004\"],\"value\":-600000},"
    "{\"type\":\"offline\",\"ids\":[\"hn-air-00005\"],\"at\":\"1m\",\"for\":\"4m\"},"
    "{\"type\":\"garbage\",\"ids\":[\"hn-air-00006\"],\"prob\":1}],"
    "\"marks\":[{\"at\":\"2m\",\"label\":\"halfway there\"}]}";

static uint8_t master[32];

struct fx {
    char dir[128];
    char bin[512];
    struct tb_broker broker;
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int fx_setup_common(void **state, bool persistent)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *bin = getenv("CT_BINARY_DIR");
    assert_non_null(bin);
    snprintf(f->bin, sizeof(f->bin), "%s/simulations/fleet/fleet-sim", bin);
    assert_int_equal(access(f->bin, X_OK), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-fleetsc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[200], hex[70];
    for (int i = 0; i < 32; i++) {
        master[i] = (uint8_t)(0x5A ^ (i * 7));
        snprintf(hex + 2 * i, 3, "%02x", master[i]);
    }
    snprintf(path, sizeof(path), "%s/master.hex", f->dir);
    write_file(path, hex);
    snprintf(path, sizeof(path), "%s/scenario.json", f->dir);
    write_file(path, scenario);
    assert_int_equal(tb_broker_start(&f->broker, persistent), 0);
    *state = f;
    return 0;
}

static int fx_setup(void **state)
{
    return fx_setup_common(state, false);
}

static int fx_setup_persistent(void **state)
{
    return fx_setup_common(state, true);
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

static int run(char *const argv[], const char *log)
{
    pid_t pid = tb_spawn(argv, log);
    assert_true(pid > 0);
    int status = tb_wait_exit(pid, 60000);
    assert_true(status >= 0 && WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* What the subscriber saw of one device. */
struct dev_log {
    char id[CT_ID_MAX + 1];
    size_t n;
    uint64_t boot[64], seq[64];
    int64_t ts[64];
    double pm25[64];
    size_t arrival[64]; /* index in the subscriber's arrival order */
    size_t garbage;
};

static struct dev_log *find(struct dev_log *logs, size_t *nlogs, const char *id)
{
    for (size_t i = 0; i < *nlogs; i++) {
        if (strcmp(logs[i].id, id) == 0) {
            return &logs[i];
        }
    }
    assert_true(*nlogs < 32);
    struct dev_log *l = &logs[(*nlogs)++];
    memset(l, 0, sizeof(*l));
    snprintf(l->id, sizeof(l->id), "%s", id);
    return l;
}

static void test_fleet_scenario_faults(void **state)
{
    struct fx *f = *state;
    char reg[200], mk[200], sc[200], st[200], log[200], uri[64];
    snprintf(reg, sizeof(reg), "%s/registry.jsonl", f->dir);
    snprintf(mk, sizeof(mk), "%s/master.hex", f->dir);
    snprintf(sc, sizeof(sc), "%s/scenario.json", f->dir);
    snprintf(st, sizeof(st), "%s/state", f->dir);
    snprintf(log, sizeof(log), "%s/fleet.log", f->dir);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", f->broker.port);
    char *gen[] = {f->bin,       (char *)"--write-registry", reg,         (char *)"--nodes",
                   (char *)"20", (char *)"--seed",           (char *)"4", NULL};
    assert_int_equal(run(gen, log), 0);
    struct tb_sub *sub = tb_sub_start(f->broker.port, "tb-fleetsc", "city/v1/+/+/up", false);
    assert_non_null(sub);
    int64_t t_begin = wall_ms();
    char *argv[] = {f->bin,
                    (char *)"--registry",
                    reg,
                    (char *)"--broker",
                    uri,
                    (char *)"--master-key-file",
                    mk,
                    (char *)"--scenario",
                    sc,
                    (char *)"--kinds",
                    (char *)"air,water,flood",
                    (char *)"--mode",
                    (char *)"shared",
                    (char *)"--connections",
                    (char *)"2",
                    (char *)"--interval-ms",
                    (char *)"60000",
                    (char *)"--rate",
                    (char *)"50",
                    (char *)"--state-dir",
                    st,
                    NULL};
    assert_int_equal(run(argv, log), 0);
    int64_t t_end = wall_ms();
    /* The summary and the mark. */
    FILE *fp = fopen(log, "r");
    assert_non_null(fp);
    char line[1024];
    uint64_t published = 0, acked = 0;
    bool summary = false, mark = false, status = false;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (sscanf(line, "published=%" SCNu64 " acked=%" SCNu64, &published, &acked) == 2) {
            summary = true;
        }
        mark = mark || (strncmp(line, "MARK t=", 7) == 0 && strstr(line, "halfway there"));
        status = status || strstr(line, "msgs/s=") != NULL;
    }
    fclose(fp);
    assert_true(summary && mark && status);
    size_t valid = 0;
    tb_sub_wait(sub, "/up", (size_t)acked + 1000, 3000); /* let the tail arrive */
    static struct dev_log logs[32];
    size_t nlogs = 0;
    struct tb_msg m;
    for (size_t i = 0; tb_sub_get(sub, i, &m); i++) {
        struct ct_topic t;
        assert_int_equal(ct_topic_parse(m.topic, strlen(m.topic), &t), 0);
        uint8_t key[CT_KEY_LEN];
        assert_int_equal(ct_sig_device_key(master, sizeof(master), t.id, key), 0);
        assert_true(
            ct_sig_verify(key, m.topic, strlen(m.topic), m.payload, m.len, m.sig, strlen(m.sig)));
        struct dev_log *l = find(logs, &nlogs, t.id);
        struct ct_reading r;
        struct ct_reason why;
        if (ct_payload_decode(m.payload, m.len, t.kind, &r, &why) != 0 || strcmp(r.id, t.id) != 0) {
            l->garbage++;
            continue;
        }
        valid++;
        assert_true(l->n < 64);
        const struct ct_value *pm = ct_reading_get(&r, "pm25");
        l->boot[l->n] = r.boot;
        l->seq[l->n] = r.seq;
        l->ts[l->n] = r.ts_ms;
        l->pm25[l->n] = pm != NULL ? pm->num : -1;
        l->arrival[l->n] = i;
        l->n++;
    }
    tb_sub_stop(sub);
    print_message("published=%" PRIu64 " acked=%" PRIu64 " received=%zu devices=%zu\n", published,
                  acked, valid, nlogs);
    assert_int_equal(valid, acked); /* every acked reading arrived once */
    assert_true(nlogs == NODES);
    for (size_t i = 0; i < nlogs; i++) {
        struct dev_log *l = &logs[i];
        bool restarted = strcmp(l->id, "hn-air-00002") == 0 || strcmp(l->id, "hn-air-00003") == 0;
        print_message("%s: %zu readings, %zu garbage\n", l->id, l->n, l->garbage);
        assert_true(l->n <= PER_NODE_MAX);
        assert_true(l->n >= (restarted ? PER_NODE_MIN - 5 : PER_NODE_MIN));
        assert_true(l->garbage == 0 || strcmp(l->id, "hn-air-00006") == 0);
        bool skewed = strcmp(l->id, "hn-air-00004") == 0;
        for (size_t k = 0; k < l->n; k++) {
            int64_t ts = l->ts[k] - (skewed ? SKEW_MS : 0);
            assert_true(ts >= t_begin - 1000 && ts <= t_end + 1000); /* real time, not simulated */
        }
    }
    /* Stuck: one value; a healthy air node varies. */
    struct dev_log *stuck = find(logs, &nlogs, "hn-air-00001");
    struct dev_log *fine = find(logs, &nlogs, "hn-air-00007");
    size_t varies = 0;
    for (size_t k = 1; k < stuck->n; k++) {
        assert_true(stuck->pm25[k] == stuck->pm25[0]);
    }
    for (size_t k = 1; k < fine->n; k++) {
        varies += fine->pm25[k] != fine->pm25[0];
    }
    assert_true(varies > 0);
    /* Reboot: boot 0 seq 0..k-1 complete, then boot 1 from seq 0. */
    struct dev_log *rb = find(logs, &nlogs, "hn-air-00002");
    size_t k = 0;
    while (k < rb->n && rb->boot[k] == 0) {
        assert_int_equal(rb->seq[k], k);
        k++;
    }
    assert_true(k >= 3 && k < rb->n);
    for (size_t j = k; j < rb->n; j++) {
        assert_int_equal(rb->boot[j], 1);
        assert_int_equal(rb->seq[j], j - k);
    }
    /* Replacement: boot 0 again, seq back to 0 (the collector sees a replay: see README). */
    struct dev_log *rp = find(logs, &nlogs, "hn-air-00003");
    size_t zeros = 0;
    for (size_t j = 0; j < rp->n; j++) {
        assert_int_equal(rp->boot[j], 0);
        zeros += rp->seq[j] == 0;
    }
    assert_int_equal(zeros, 2);
    /* Offline: every reading, in order, some delivered well after newer readings of others. */
    struct dev_log *off = find(logs, &nlogs, "hn-air-00005");
    bool late = false;
    for (size_t j = 0; j < off->n; j++) {
        assert_int_equal(off->seq[j], j);
        for (size_t i = 0; i < nlogs && !late; i++) {
            for (size_t q = 0; q < logs[i].n; q++) {
                if (logs[i].arrival[q] < off->arrival[j] && strcmp(logs[i].id, "hn-air-00004") &&
                    logs[i].ts[q] > off->ts[j] + 1000) {
                    late = true;
                    break;
                }
            }
        }
    }
    assert_true(late);
    /* Garbage after every reading of its node. */
    assert_true(find(logs, &nlogs, "hn-air-00006")->garbage >= PER_NODE_MIN - 2);
}

/* Waits until the log holds a line containing 'what' (at most timeout_ms). */
static bool wait_log(const char *log, const char *what, int timeout_ms)
{
    int64_t deadline = tb_now_ms() + timeout_ms;
    while (tb_now_ms() < deadline) {
        FILE *fp = fopen(log, "r");
        char line[1024];
        bool found = false;
        while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
            found = found || strstr(line, what) != NULL;
        }
        if (fp != NULL) {
            fclose(fp);
        }
        if (found) {
            return true;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_fleet_broker_outage(void **state)
{
    struct fx *f = *state;
    char reg[200], mk[200], sc[512], st[200], log[200], uri[64];
    snprintf(reg, sizeof(reg), "%s/registry.jsonl", f->dir);
    snprintf(mk, sizeof(mk), "%s/master.hex", f->dir);
    snprintf(sc, sizeof(sc), "%s/simulations/scenarios/broker-outage.json",
             getenv("CT_SOURCE_DIR"));
    snprintf(st, sizeof(st), "%s/state", f->dir);
    snprintf(log, sizeof(log), "%s/outage.log", f->dir);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", f->broker.port);
    char *gen[] = {f->bin, (char *)"--write-registry", reg, (char *)"--nodes", (char *)"20", NULL};
    assert_int_equal(run(gen, log), 0);
    struct tb_sub *sub = tb_sub_start(f->broker.port, "tb-fleet-outage", "city/v1/+/+/up", true);
    assert_non_null(sub);
    /* x1200: marks at 1.5 s (stop), 4.5 s (start), 7.5 s; air every 100 ms per node (fewer than
     * 256 readings per node: one outbox segment; see test_fleet_outbox_segments). */
    char *argv[] = {f->bin,
                    (char *)"--registry",
                    reg,
                    (char *)"--broker",
                    uri,
                    (char *)"--master-key-file",
                    mk,
                    (char *)"--scenario",
                    sc,
                    (char *)"--kinds",
                    (char *)"air",
                    (char *)"--mode",
                    (char *)"shared",
                    (char *)"--connections",
                    (char *)"2",
                    (char *)"--rate-scale",
                    (char *)"1200",
                    (char *)"--duration-s",
                    (char *)"14",
                    (char *)"--rate",
                    (char *)"200",
                    (char *)"--interval-ms",
                    (char *)"120000",
                    (char *)"--state-dir",
                    st,
                    NULL};
    pid_t pid = tb_spawn(argv, log);
    assert_true(pid > 0);
    assert_true(wait_log(log, "STOP THE BROKER", 20000));
    tb_broker_stop(&f->broker, false);
    assert_true(wait_log(log, "START THE BROKER", 20000));
    assert_int_equal(tb_broker_restart(&f->broker), 0);
    int status = tb_wait_exit(pid, 40000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *fp = fopen(log, "r");
    assert_non_null(fp);
    char line[1024];
    uint64_t published = 0, acked = 0, max_backlog = 0, last_backlog = 1;
    bool started = false;
    while (fgets(line, sizeof(line), fp) != NULL) {
        sscanf(line, "published=%" SCNu64 " acked=%" SCNu64, &published, &acked);
        started = started || strstr(line, "START THE BROKER") != NULL;
        const char *b = strstr(line, " backlog=");
        if (b != NULL) {
            uint64_t v = strtoull(b + 9, NULL, 10);
            max_backlog = v > max_backlog ? v : max_backlog;
            last_backlog = started ? v : last_backlog;
        }
    }
    fclose(fp);
    print_message("published=%" PRIu64 " acked=%" PRIu64 " max backlog=%" PRIu64 "\n", published,
                  acked, max_backlog);
    assert_true(max_backlog > 100); /* the nodes kept sampling during the outage */
    assert_true(last_backlog < 10); /* and drained it: only live readings in flight remain */
    tb_sub_wait(sub, "/up", (size_t)acked + 1000, 5000);
    /* Every node: readings 0..n-1 of boot 0, in order (resends after the loss may repeat). */
    static struct dev_log logs[32];
    size_t nlogs = 0;
    uint64_t distinct = 0;
    struct tb_msg m;
    for (size_t i = 0; tb_sub_get(sub, i, &m); i++) {
        struct ct_topic t;
        struct ct_reading r;
        struct ct_reason why;
        assert_int_equal(ct_topic_parse(m.topic, strlen(m.topic), &t), 0);
        assert_int_equal(ct_payload_decode(m.payload, m.len, t.kind, &r, &why), 0);
        struct dev_log *l = find(logs, &nlogs, t.id);
        assert_int_equal(r.boot, 0);
        if (getenv("CT_DEBUG_SEQ") && strcmp(t.id, getenv("CT_DEBUG_SEQ")) == 0) {
            print_message("%zu %s seq %llu\n", i, t.id, (unsigned long long)r.seq);
        }
        if (r.seq >= l->n) { /* l->n: the next expected seq */
            if (r.seq != l->n) {
                print_error("%s: seq %llu after %zu\n", t.id, (unsigned long long)r.seq, l->n);
            }
            assert_int_equal(r.seq, l->n);
            l->n++;
            distinct++;
        }
    }
    tb_sub_stop(sub);
    assert_int_equal(nlogs, 8);
    assert_int_equal(distinct, acked);
}

/* More than one outbox segment (256 records) per node, no outage: every reading arrives. */
static void test_fleet_outbox_segments(void **state)
{
    struct fx *f = *state;
    char reg[200], mk[200], st[200], log[200], uri[64];
    snprintf(reg, sizeof(reg), "%s/registry.jsonl", f->dir);
    snprintf(mk, sizeof(mk), "%s/master.hex", f->dir);
    snprintf(st, sizeof(st), "%s/state", f->dir);
    snprintf(log, sizeof(log), "%s/segments.log", f->dir);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", f->broker.port);
    char *gen[] = {f->bin, (char *)"--write-registry", reg, (char *)"--nodes", (char *)"6", NULL};
    assert_int_equal(run(gen, log), 0);
    struct tb_sub *sub = tb_sub_start(f->broker.port, "tb-fleet-seg", "city/v1/+/+/up", false);
    assert_non_null(sub);
    /* Air every 25 ms: about 320 readings in 8 s. */
    char *argv[] = {f->bin,
                    (char *)"--registry",
                    reg,
                    (char *)"--broker",
                    uri,
                    (char *)"--master-key-file",
                    mk,
                    (char *)"--kinds",
                    (char *)"air",
                    (char *)"--limit",
                    (char *)"1",
                    (char *)"--rate-scale",
                    (char *)"1200",
                    (char *)"--interval-ms",
                    (char *)"30000",
                    (char *)"--rate",
                    (char *)"200",
                    (char *)"--duration-s",
                    (char *)"8",
                    (char *)"--state-dir",
                    st,
                    NULL};
    assert_int_equal(run(argv, log), 0);
    FILE *fp = fopen(log, "r");
    assert_non_null(fp);
    char line[1024];
    uint64_t published = 0, acked = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        sscanf(line, "published=%" SCNu64 " acked=%" SCNu64, &published, &acked);
    }
    fclose(fp);
    tb_sub_wait(sub, "/up", (size_t)acked + 1000, 3000);
    uint64_t next = 0, n = 0;
    struct tb_msg m;
    for (size_t i = 0; tb_sub_get(sub, i, &m); i++) {
        struct ct_topic t;
        struct ct_reading r;
        struct ct_reason why;
        assert_int_equal(ct_topic_parse(m.topic, strlen(m.topic), &t), 0);
        assert_int_equal(ct_payload_decode(m.payload, m.len, t.kind, &r, &why), 0);
        n++;
        if (r.seq != next) {
            print_error("%s: seq %llu after %llu\n", t.id, (unsigned long long)r.seq,
                        (unsigned long long)next);
        }
        assert_int_equal(r.seq, next);
        next++;
    }
    tb_sub_stop(sub);
    print_message("%" PRIu64 " readings of one node, acked=%" PRIu64 "\n", n, acked);
    assert_true(n > 280);
    assert_int_equal(n, acked);
}

/* Without arguments: the scenario tests; with "segments": the outbox segment test alone (its own
 * CTest entry, test_sim_fleet_segments). */
int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fleet_scenario_faults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fleet_broker_outage, fx_setup_persistent, fx_teardown),
    };
    const struct CMUnitTest segments[] = {
        cmocka_unit_test_setup_teardown(test_fleet_outbox_segments, fx_setup, fx_teardown),
    };
    if (argc > 1 && strcmp(argv[1], "segments") == 0) {
        return cmocka_run_group_tests(segments, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
