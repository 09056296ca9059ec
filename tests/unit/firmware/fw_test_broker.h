/* fw_test_broker.h - test helpers: a real mosquitto on a free port, child processes, and a Paho
 * MQTT v5 subscriber that records every message (topic, payload, `sig`, retained flag).
 *
 * Everything is bounded by deadlines; waits are on conditions (a condvar signalled by Paho's
 * callback, a port that accepts), never fixed sleeps. Test-only code: failures abort the test. */
#ifndef FW_TEST_BROKER_H
#define FW_TEST_BROKER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tb_broker {
    char dir[128]; /* temp dir with mosquitto.conf (and the persistence db) */
    int port;
    pid_t pid; /* 0 when not running */
    bool persistent;
};

/* Picks a free port (bind port 0, read it, close), writes the config, starts mosquitto and waits
 * until the port accepts (at most 10 s). With 'persistent', sessions survive a restart. Returns
 * 0 or -1. */
int tb_broker_start(struct tb_broker *b, bool persistent);
/* As tb_broker_start, with 'extra' (may be NULL) written right after the listener line, for
 * listener options such as TLS files. */
int tb_broker_start_ex(struct tb_broker *b, bool persistent, const char *extra);
/* Restarts on the same port and directory. Returns 0 or -1. */
int tb_broker_restart(struct tb_broker *b);
/* Stops it (SIGTERM, waits); with 'kill9' SIGKILL. */
void tb_broker_stop(struct tb_broker *b, bool kill9);
/* Stops it if running and removes the directory. */
void tb_broker_cleanup(struct tb_broker *b);

/* Runs argv[0] with argv as a child, stderr to 'log' (may be NULL). Returns the pid or -1. */
pid_t tb_spawn(char *const argv[], const char *log);
/* Waits up to timeout_ms for 'pid' to exit; returns its wait status, or -1 on timeout. */
int tb_wait_exit(pid_t pid, int timeout_ms);

#define TB_MAX_MSGS 4096

struct tb_msg {
    char topic[256];
    char payload[4200];
    size_t len;
    char sig[80];
    bool retained;
};

struct tb_sub; /* opaque */

/* Connects a subscriber with client id 'client_id' (clean start unless 'persistent_session')
 * to 127.0.0.1:port, subscribes to 'filter' at QoS 1, and waits for the SUBACK (10 s). Reconnects
 * automatically. Returns NULL on failure. */
struct tb_sub *tb_sub_start(int port, const char *client_id, const char *filter,
                            bool persistent_session);
/* Waits until at least 'n' messages matching 'topic_suffix' (NULL: any) were recorded or
 * timeout_ms passed. Returns the count of matching messages. */
size_t tb_sub_wait(struct tb_sub *s, const char *topic_suffix, size_t n, int timeout_ms);
/* Copies message i (in arrival order); returns false when i is beyond the count. */
bool tb_sub_get(struct tb_sub *s, size_t i, struct tb_msg *out);
size_t tb_sub_count(struct tb_sub *s);
void tb_sub_stop(struct tb_sub *s);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t tb_now_ms(void);

#endif
