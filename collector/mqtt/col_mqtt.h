/* col_mqtt.h - TEMPORARY interface copy (the module lands from the mqtt branch). */
#ifndef COL_MQTT_H
#define COL_MQTT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct col_mqtt_cfg {
    const char *uri;
    const char *client_id;
    const char *username, *password;
    const char *ca_file, *cert_file, *key_file;
    unsigned keepalive_s;
    uint32_t session_expiry_s;
    uint16_t receive_max;
    uint32_t max_packet;
    unsigned reconnect_min_ms, reconnect_max_ms;
    unsigned connect_timeout_ms;
    size_t out_queue_max;
};
struct col_mqtt_sub {
    const char *filter;
    uint8_t qos;
    uint8_t retain_handling;
};
struct col_mqtt_msg {
    const char *topic;
    size_t topic_len;
    const void *payload;
    size_t payload_len;
    const char *sig;
    size_t sig_len;
    uint8_t qos;
    bool retain;
    bool dup;
    uint64_t token;
};
enum col_mqtt_event { COL_MQTT_UP, COL_MQTT_DOWN, COL_MQTT_SUB_REFUSED };
typedef void (*col_mqtt_msg_fn)(void *arg, const struct col_mqtt_msg *m);
typedef void (*col_mqtt_event_fn)(void *arg, enum col_mqtt_event ev, const char *why);
struct col_mqtt_stats {
    uint64_t received, acked, connects, lost, published, publish_refused, protocol_errors,
        over_receive_max, stale_acks;
    uint32_t inflight;
    bool up;
    bool paused;
    uint16_t server_receive_max;
};
struct col_mqtt;
int col_mqtt_create(uv_loop_t *loop, const struct col_mqtt_cfg *cfg,
                    const struct col_mqtt_sub *subs, size_t nsubs, col_mqtt_msg_fn on_msg,
                    col_mqtt_event_fn on_event, void *arg, struct col_mqtt **out);
int col_mqtt_start(struct col_mqtt *c);
void col_mqtt_ack(struct col_mqtt *c, uint64_t token);
void col_mqtt_pause(struct col_mqtt *c);
void col_mqtt_resume(struct col_mqtt *c);
int col_mqtt_publish(struct col_mqtt *c, const char *topic, const void *payload, size_t len,
                     uint8_t qos, bool retain);
void col_mqtt_reconnect(struct col_mqtt *c, const char *why);
void col_mqtt_stats(const struct col_mqtt *c, struct col_mqtt_stats *out);
void col_mqtt_close(struct col_mqtt *c, void (*done)(void *arg), void *arg);
void col_mqtt_free(struct col_mqtt *c);
#endif
