/* mqtt_codec.h - pure encode/decode of the MQTT v5 packets the collector's client uses.
 *
 * No I/O and no allocation on the decode side: decoders parse a packet body in place and return
 * pointers into it (valid as long as the caller's buffer). Encoders append whole packets to a
 * struct ct_buf (which grows up to its limit). Every decoder rejects malformed input with
 * CT_E_PARSE and sets *why to a short English reason ("topic length beyond packet"); 'why' may be
 * NULL. Framing (col_mqtt_frame) tells a complete packet from a partial one, so a packet split over
 * many reads and many packets in one read are both handled by the caller's loop (test_mqtt_codec
 * feeds byte by byte).
 *
 * Scope: MQTT 5.0 (OASIS standard, 2019). Client side: CONNECT, SUBSCRIBE, PUBLISH, PUBACK,
 * PINGREQ, DISCONNECT are encoded; CONNACK, SUBACK, PUBLISH, PUBACK, DISCONNECT are decoded. */
#ifndef MQTT_CODEC_H
#define MQTT_CODEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/buf.h"

enum col_mqtt_ptype {
    COL_MQTT_CONNECT = 1,
    COL_MQTT_CONNACK = 2,
    COL_MQTT_PUBLISH = 3,
    COL_MQTT_PUBACK = 4,
    COL_MQTT_PUBREC = 5,
    COL_MQTT_PUBREL = 6,
    COL_MQTT_PUBCOMP = 7,
    COL_MQTT_SUBSCRIBE = 8,
    COL_MQTT_SUBACK = 9,
    COL_MQTT_UNSUBSCRIBE = 10,
    COL_MQTT_UNSUBACK = 11,
    COL_MQTT_PINGREQ = 12,
    COL_MQTT_PINGRESP = 13,
    COL_MQTT_DISCONNECT = 14,
    COL_MQTT_AUTH = 15
};

#define COL_MQTT_VARINT_MAX 268435455u /* largest Variable Byte Integer (4 bytes) */

/* Property identifiers used here (MQTT 5.0 section 2.2.2.2). */
enum {
    COL_MQTT_P_SESSION_EXPIRY = 0x11,
    COL_MQTT_P_ASSIGNED_CLIENT_ID = 0x12,
    COL_MQTT_P_SERVER_KEEP_ALIVE = 0x13,
    COL_MQTT_P_REASON_STRING = 0x1F,
    COL_MQTT_P_RECEIVE_MAX = 0x21,
    COL_MQTT_P_TOPIC_ALIAS_MAX = 0x22,
    COL_MQTT_P_TOPIC_ALIAS = 0x23,
    COL_MQTT_P_MAX_QOS = 0x24,
    COL_MQTT_P_USER_PROPERTY = 0x26,
    COL_MQTT_P_MAX_PACKET = 0x27
};

/* Writes v as a Variable Byte Integer into out; returns 1..4, or 0 when v > COL_MQTT_VARINT_MAX. */
size_t col_mqtt_varint_encode(uint32_t v, uint8_t out[4]);
/* Reads a Variable Byte Integer from p[0..len). Returns 0 (*v, *used set), CT_E_AGAIN when the
 * bytes end inside it, CT_E_PARSE when it runs past 4 bytes or is not minimally encoded. */
int col_mqtt_varint_decode(const uint8_t *p, size_t len, uint32_t *v, size_t *used);

/* One packet's fixed header. */
struct col_mqtt_frame {
    uint8_t type;      /* enum col_mqtt_ptype */
    uint8_t flags;     /* low nibble of the first byte */
    size_t hdr_len;    /* bytes of the fixed header (2..5) */
    uint32_t body_len; /* Remaining Length */
};
/* Looks at the start of p[0..len). Returns 0 when a whole packet is there (its size is
 * hdr_len + body_len), CT_E_AGAIN when more bytes are needed, CT_E_PARSE for a malformed fixed
 * header (bad length, type 0, reserved flags wrong), CT_E_TOOBIG when the packet would exceed
 * max_packet bytes (0: no limit). */
int col_mqtt_frame(const uint8_t *p, size_t len, uint32_t max_packet, struct col_mqtt_frame *f,
                   const char **why);

/* True when s[0..len) is well-formed UTF-8 without U+0000 and without surrogates (MQTT 1.5.4). */
bool col_mqtt_utf8_ok(const char *s, size_t len);

/* ---- Encoders: each appends one whole packet; returns 0, CT_E_TOOBIG, CT_E_NOMEM or
 * CT_E_INVAL (a string longer than 65535 or a packet beyond the varint range). ---- */

struct col_mqtt_connect {
    const char *client_id; /* required */
    const char *username;  /* NULL: none */
    const char *password;  /* NULL: none */
    uint16_t keepalive_s;
    bool clean_start;
    uint32_t session_expiry_s; /* property sent when != 0 */
    uint16_t receive_max;      /* property sent when != 0 and != 65535 */
    uint32_t max_packet;       /* property sent when != 0 */
    /* Topic Alias Maximum is always sent as 0 (absent means 0 too; we say it explicitly). */
};
int col_mqtt_enc_connect(struct ct_buf *b, const struct col_mqtt_connect *c);

struct col_mqtt_sub_item {
    const char *filter;
    uint8_t qos;
    uint8_t retain_handling;
};
int col_mqtt_enc_subscribe(struct ct_buf *b, uint16_t packet_id, const struct col_mqtt_sub_item *s,
                           size_t n);
/* QoS 0 or 1. For QoS 1 'packet_id' is written and *pid_off (may be NULL) is set to the offset of
 * the packet id within the appended packet, so a queued packet can be renumbered. */
int col_mqtt_enc_publish(struct ct_buf *b, const char *topic, size_t topic_len, const void *payload,
                         size_t len, uint8_t qos, bool retain, bool dup, uint16_t packet_id,
                         size_t *pid_off);
/* PUBACK with reason 0 and no properties (the short 4-byte form). */
int col_mqtt_enc_puback(struct ct_buf *b, uint16_t packet_id);
int col_mqtt_enc_pingreq(struct ct_buf *b);
int col_mqtt_enc_disconnect(struct ct_buf *b, uint8_t reason);
/* Appends the 4-byte PUBACK into out[4]; the receive path's allocation-free form. */
void col_mqtt_puback_bytes(uint16_t packet_id, uint8_t out[4]);

/* ---- Decoders (body = bytes after the fixed header) ---- */

struct col_mqtt_connack {
    bool session_present;
    uint8_t reason;
    uint16_t receive_max;     /* 65535 when absent */
    uint32_t max_packet;      /* 0 when absent (no limit) */
    int32_t server_keepalive; /* -1 when absent */
    uint16_t topic_alias_max; /* 0 when absent */
    uint8_t max_qos;          /* 2 when absent */
    const char *assigned_id;  /* NULL when absent; not NUL-terminated */
    size_t assigned_id_len;
    const char *reason_string; /* NULL when absent; not NUL-terminated */
    size_t reason_string_len;
};
int col_mqtt_dec_connack(const uint8_t *body, size_t len, struct col_mqtt_connack *out,
                         const char **why);

struct col_mqtt_publish {
    const char *topic; /* points into the body; not NUL-terminated */
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
    const char *sig; /* value of the first user property named "sig"; NULL when absent */
    size_t sig_len;
    uint8_t qos;
    bool retain;
    bool dup;
    uint16_t packet_id;   /* 0 for QoS 0 */
    uint16_t topic_alias; /* 0 when absent */
};
/* 'flags' is the fixed header's low nibble. QoS 3 and a zero-length topic without a Topic Alias
 * are malformed; QoS 2 decodes (the caller decides). */
int col_mqtt_dec_publish(uint8_t flags, const uint8_t *body, size_t len,
                         struct col_mqtt_publish *out, const char **why);

/* SUBACK: *codes points at the n reason codes (one per filter, in order). */
int col_mqtt_dec_suback(const uint8_t *body, size_t len, uint16_t *packet_id, const uint8_t **codes,
                        size_t *n, const char **why);
/* PUBACK (also the shape of PUBREC/PUBREL/PUBCOMP): reason 0 when omitted. */
int col_mqtt_dec_puback(const uint8_t *body, size_t len, uint16_t *packet_id, uint8_t *reason,
                        const char **why);
/* DISCONNECT: reason 0 when omitted. */
int col_mqtt_dec_disconnect(const uint8_t *body, size_t len, uint8_t *reason, const char **why);

/* A short name for an MQTT v5 reason code ("not authorized"); "unknown reason" otherwise. */
const char *col_mqtt_reason_name(uint8_t code);

#endif
