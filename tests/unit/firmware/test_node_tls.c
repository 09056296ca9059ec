/* test_node_tls.c - sensor-node over TLS with a client certificate (integration).
 *
 * A test CA signs a server certificate (SAN IP:127.0.0.1) and a client certificate; mosquitto
 * requires the client certificate. With --ca/--cert/--key-pem the node gets --count readings
 * acked over ssl:// and exits 0; without the client certificate, or with plain tcp:// to the TLS
 * port, it never gets an ack (it is stopped by SIGTERM after a bounded wait and reports 0 acked).
 */
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

#include "fw_test_broker.h"

struct fx {
    char dir[128];
    char bin[512];
    struct tb_broker broker;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *bin = getenv("CT_BINARY_DIR");
    assert_non_null(bin);
    snprintf(f->bin, sizeof(f->bin), "%s/firmware-sensor/app/sensor-node", bin);
    assert_int_equal(access(f->bin, X_OK), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-tls-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
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
             "-keyout client.key -out client.csr -subj /CN=hn-air-0777 && "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out client.crt -days 2 && "
             "printf '%%064d\\n' 7 > device.hex",
             f->dir);
    assert_int_equal(system(cmd), 0);
    char extra[1024];
    snprintf(extra, sizeof(extra),
             "cafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n"
             "require_certificate true\n",
             f->dir, f->dir, f->dir);
    assert_int_equal(tb_broker_start_ex(&f->broker, false, extra), 0);
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

/* Runs the node; returns its exit status, or -1 when it had to be stopped after wait_ms. */
static int run_node(struct fx *f, const char *scheme, bool with_cert, const char *state,
                    int wait_ms)
{
    char uri[64], key[200], st[200], ca[200], crt[200], pem[200], log[200];
    snprintf(uri, sizeof(uri), "%s://127.0.0.1:%d", scheme, f->broker.port);
    snprintf(key, sizeof(key), "%s/device.hex", f->dir);
    snprintf(st, sizeof(st), "%s/%s", f->dir, state);
    snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
    snprintf(crt, sizeof(crt), "%s/client.crt", f->dir);
    snprintf(pem, sizeof(pem), "%s/client.key", f->dir);
    snprintf(log, sizeof(log), "%s/%s.log", f->dir, state);
    char *argv[32];
    int n = 0;
    const char *fixed[] = {
        "--kind",      "air", "--id",          "hn-air-0777", "--broker", uri, "--key-file", key,
        "--state-dir", st,    "--interval-ms", "100",         "--count",  "3", "--ca",       ca};
    argv[n++] = f->bin;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        argv[n++] = (char *)fixed[i];
    }
    if (with_cert) {
        argv[n++] = (char *)"--cert";
        argv[n++] = crt;
        argv[n++] = (char *)"--key-pem";
        argv[n++] = pem;
    }
    argv[n] = NULL;
    pid_t pid = tb_spawn(argv, log);
    assert_true(pid > 0);
    int status = tb_wait_exit(pid, wait_ms);
    if (status >= 0) {
        return status;
    }
    kill(pid, SIGTERM);
    status = tb_wait_exit(pid, 15000);
    assert_true(status >= 0);
    /* Stopped by the signal: a clean exit that never got an ack. */
    FILE *fp = fopen(log, "r");
    assert_non_null(fp);
    char line[512];
    bool zero_acked = false;
    while (fgets(line, sizeof(line), fp) != NULL) {
        zero_acked = zero_acked || strstr(line, " acked=0 ") != NULL;
    }
    fclose(fp);
    assert_true(zero_acked);
    return -1;
}

static void test_node_tls_client_cert(void **state)
{
    struct fx *f = *state;
    int st = run_node(f, "ssl", true, "ok", 30000);
    assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(run_node(f, "ssl", false, "nocert", 4000), -1);
    assert_int_equal(run_node(f, "tcp", false, "plain", 4000), -1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_node_tls_client_cert, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
