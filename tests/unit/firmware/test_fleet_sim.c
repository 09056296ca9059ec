/* test_fleet_sim.c - fleet-sim against a real mosquitto (integration), in both modes: every
 * registry device (one per kind, a lot and a bay) gets --count-per-node readings acked, the
 * subscriber sees them signed with HKDF(master, id), decodable, in (boot, seq) order, and the
 * summary line "published=<n> acked=<n>" is printed with the right totals. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "ct/payload.h"
#include "ct/sig.h"
#include "ct/topic.h"
#include "fw_test_broker.h"

#define NDEV 6
#define COUNT 3

static const char *const ids[NDEV] = {"hn-air-0101",   "hn-water-0101", "hn-rain-0101",
                                      "hn-flood-0101", "hn-park-0101",  "hn-bay-0101"};

static const char registry[] =
    "# test registry\n"
    "{\"id\":\"hn-air-0101\",\"kind\":\"air\",\"name\":\"Trạm thử\",\"lat\":21.03,\"lon\":105.85,"
    "\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bông\"}\n"
    "{\"id\":\"hn-water-0101\",\"kind\":\"water\",\"name\":\"Hồ Tây\",\"lat\":21.05,\"lon\":105.82,"
    "\"district\":\"Tây Hồ\",\"ward\":\"Quảng An\"}\n"
    "{\"id\":\"hn-rain-0101\",\"kind\":\"rain\",\"name\":\"Mưa\",\"lat\":21.0,\"lon\":105.8,"
    "\"district\":\"Đống Đa\",\"ward\":\"Láng Hạ\",\"mm_per_tip\":0.2}\n"
    "{\"id\":\"hn-flood-0101\",\"kind\":\"flood\",\"name\":\"Ngập\",\"lat\":21.0,\"lon\":105.8,"
    "\"district\":\"Đống Đa\",\"ward\":\"Láng Hạ\",\"mount_cm\":300}\n"
    "{\"id\":\"hn-park-0101\",\"kind\":\"parking\",\"name\":\"Bãi xe\",\"lat\":21.02,"
    "\"lon\":105.84,\"district\":\"Hoàn Kiếm\",\"ward\":\"Tràng Tiền\",\"mode\":\"lot\","
    "\"capacity\":150}\n"
    "{\"id\":\"hn-bay-0101\",\"kind\":\"parking\",\"name\":\"Ô đỗ\",\"lat\":21.02,\"lon\":105.84,"
    "\"district\":\"Hoàn Kiếm\",\"ward\":\"Tràng "
    "Tiền\",\"mode\":\"bay\",\"lot\":\"hn-park-0101\"}\n";

static uint8_t master[32];

struct fx {
    char dir[128];
    char bin[512];
    struct tb_broker broker;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *bin = getenv("CT_BINARY_DIR");
    assert_non_null(bin);
    snprintf(f->bin, sizeof(f->bin), "%s/simulations/fleet/fleet-sim", bin);
    assert_int_equal(access(f->bin, X_OK), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-fleet-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[200];
    snprintf(path, sizeof(path), "%s/registry.jsonl", f->dir);
    write_file(path, registry);
    char hex[70];
    for (int i = 0; i < 32; i++) {
        master[i] = (uint8_t)(0xA0 ^ (i * 13));
        snprintf(hex + 2 * i, 3, "%02x", master[i]);
    }
    snprintf(path, sizeof(path), "%s/master.hex", f->dir);
    write_file(path, hex);
    assert_int_equal(tb_broker_start(&f->broker, false), 0);
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

/* Runs fleet-sim to completion; returns the summary's acked total. */
static uint64_t run_fleet(struct fx *f, const char *mode, const char *state_name)
{
    char reg[200], mk[200], st[200], log[200], uri[64], count[8];
    snprintf(reg, sizeof(reg), "%s/registry.jsonl", f->dir);
    snprintf(mk, sizeof(mk), "%s/master.hex", f->dir);
    snprintf(st, sizeof(st), "%s/%s", f->dir, state_name);
    snprintf(log, sizeof(log), "%s/%s.log", f->dir, state_name);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", f->broker.port);
    snprintf(count, sizeof(count), "%d", COUNT);
    char *argv[] = {f->bin,
                    (char *)"--registry",
                    reg,
                    (char *)"--broker",
                    uri,
                    (char *)"--master-key-file",
                    mk,
                    (char *)"--mode",
                    (char *)mode,
                    (char *)"--connections",
                    (char *)"2",
                    (char *)"--rate-scale",
                    (char *)"300",
                    (char *)"--count-per-node",
                    count,
                    (char *)"--state-dir",
                    st,
                    (char *)"--duration-s",
                    (char *)"60",
                    NULL};
    pid_t pid = tb_spawn(argv, log);
    assert_true(pid > 0);
    int status = tb_wait_exit(pid, 90000);
    assert_true(status >= 0 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    FILE *fp = fopen(log, "r");
    assert_non_null(fp);
    char line[512];
    uint64_t published = 0, acked = 0;
    bool found = false;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (sscanf(line, "published=%" SCNu64 " acked=%" SCNu64, &published, &acked) == 2) {
            found = true;
        }
    }
    fclose(fp);
    assert_true(found);
    assert_true(acked >= NDEV * COUNT);
    assert_true(published >= acked);
    return acked;
}

/* Every device has >= COUNT signed, decodable readings in order after 'from'. */
static void check_devices(struct tb_sub *sub, size_t from)
{
    for (int d = 0; d < NDEV; d++) {
        uint8_t key[CT_KEY_LEN];
        assert_int_equal(ct_sig_device_key(master, sizeof(master), ids[d], key), 0);
        uint64_t next = 0;
        struct tb_msg m;
        for (size_t i = from; tb_sub_get(sub, i, &m); i++) {
            struct ct_topic t;
            assert_int_equal(ct_topic_parse(m.topic, strlen(m.topic), &t), 0);
            if (t.type != CT_TOPIC_UP || strcmp(t.id, ids[d]) != 0) {
                continue;
            }
            assert_true(ct_sig_verify(key, m.topic, strlen(m.topic), m.payload, m.len, m.sig,
                                      strlen(m.sig)));
            struct ct_reading r;
            struct ct_reason why;
            assert_int_equal(ct_payload_decode(m.payload, m.len, t.kind, &r, &why), 0);
            assert_true(r.n > 0);
            assert_int_equal(ct_reading_check_ranges(&r), 0);
            if (r.seq >= next) {
                assert_int_equal(r.seq, next);
                next++;
            }
        }
        print_message("%s: %" PRIu64 " readings\n", ids[d], next);
        assert_true(next >= COUNT);
    }
}

static void test_fleet_per_node_and_shared(void **state)
{
    struct fx *f = *state;
    struct tb_sub *sub = tb_sub_start(f->broker.port, "tb-fleet", "city/v1/+/+/up", false);
    assert_non_null(sub);
    run_fleet(f, "per-node", "st1");
    assert_true(tb_sub_wait(sub, "/up", NDEV * COUNT, 10000) >= NDEV * COUNT);
    check_devices(sub, 0);
    size_t before = tb_sub_count(sub);
    run_fleet(f, "shared", "st2");
    assert_true(tb_sub_wait(sub, "/up", before + NDEV * COUNT, 10000) >= before + NDEV * COUNT);
    check_devices(sub, before);
    tb_sub_stop(sub);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fleet_per_node_and_shared, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
