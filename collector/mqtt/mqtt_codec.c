/* mqtt_codec.c - see mqtt_codec.h. */
#include "mqtt_codec.h"

#include <string.h>

#include "ct/err.h"

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        if (why != NULL) {                                                                         \
            *why = (msg);                                                                          \
        }                                                                                          \
        return CT_E_PARSE;                                                                         \
    } while (0)

size_t col_mqtt_varint_encode(uint32_t v, uint8_t out[4])
{
    if (v > COL_MQTT_VARINT_MAX) {
        return 0;
    }
    size_t n = 0;
    do {
        uint8_t byte = (uint8_t)(v % 128u);
        v /= 128u;
        if (v > 0) {
            byte |= 0x80u;
        }
        out[n++] = byte;
    } while (v > 0);
    return n;
}

int col_mqtt_varint_decode(const uint8_t *p, size_t len, uint32_t *v, size_t *used)
{
    uint32_t value = 0;
    uint32_t mult = 1;
    for (size_t i = 0; i < 4; i++) {
        if (i >= len) {
            return CT_E_AGAIN;
        }
        value += (uint32_t)(p[i] & 0x7Fu) * mult;
        if ((p[i] & 0x80u) == 0) {
            /* A trailing 0x00 continuation byte is a non-minimal encoding (MQTT 1.5.5). */
            if (i > 0 && p[i] == 0) {
                return CT_E_PARSE;
            }
            *v = value;
            *used = i + 1;
            return 0;
        }
        mult *= 128u;
    }
    return CT_E_PARSE;
}

int col_mqtt_frame(const uint8_t *p, size_t len, uint32_t max_packet, struct col_mqtt_frame *f,
                   const char **why)
{
    if (len < 2) {
        return CT_E_AGAIN;
    }
    uint8_t type = p[0] >> 4;
    uint8_t flags = p[0] & 0x0Fu;
    if (type == 0) {
        FAIL("packet type 0 is reserved");
    }
    /* Fixed flags of every type but PUBLISH (MQTT 2.1.3). */
    if (type != COL_MQTT_PUBLISH) {
        uint8_t want =
            (type == COL_MQTT_PUBREL || type == COL_MQTT_SUBSCRIBE || type == COL_MQTT_UNSUBSCRIBE)
                ? 2
                : 0;
        if (flags != want) {
            FAIL("reserved flags of the fixed header are wrong");
        }
    }
    uint32_t rl = 0;
    size_t used = 0;
    int rc = col_mqtt_varint_decode(p + 1, len - 1, &rl, &used);
    if (rc == CT_E_AGAIN) {
        return CT_E_AGAIN;
    }
    if (rc != 0) {
        FAIL("malformed remaining length");
    }
    if (max_packet != 0 && (uint64_t)rl + 1 + used > max_packet) {
        if (why != NULL) {
            *why = "packet larger than the maximum packet size";
        }
        return CT_E_TOOBIG;
    }
    f->type = type;
    f->flags = flags;
    f->hdr_len = 1 + used;
    f->body_len = rl;
    return len - f->hdr_len >= rl ? 0 : CT_E_AGAIN;
}

bool col_mqtt_utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c == 0) {
                return false;
            }
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if ((c & 0xE0u) == 0xC0u) {
            n = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0u) == 0xE0u) {
            n = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8u) == 0xF0u) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (len - i <= n) {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0u) != 0x80u) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

/* ---- Encoding ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xFFu);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends the fixed header for a packet whose body is 'body_len' bytes. */
static int add_header(struct ct_buf *b, uint8_t first, size_t body_len)
{
    uint8_t h[5];
    h[0] = first;
    if (body_len > COL_MQTT_VARINT_MAX) {
        return CT_E_INVAL;
    }
    size_t n = col_mqtt_varint_encode((uint32_t)body_len, h + 1);
    return ct_buf_add(b, h, 1 + n);
}

static int add_u8(struct ct_buf *b, uint8_t v)
{
    return ct_buf_add(b, &v, 1);
}

static int add_u16(struct ct_buf *b, uint16_t v)
{
    uint8_t p[2];
    put16(p, v);
    return ct_buf_add(b, p, 2);
}

static int add_u32(struct ct_buf *b, uint32_t v)
{
    uint8_t p[4];
    put32(p, v);
    return ct_buf_add(b, p, 4);
}

static int add_str(struct ct_buf *b, const char *s, size_t len)
{
    if (len > 65535) {
        return CT_E_INVAL;
    }
    int rc = add_u16(b, (uint16_t)len);
    return rc != 0 ? rc : ct_buf_add(b, s, len);
}

static int add_varint(struct ct_buf *b, uint32_t v)
{
    uint8_t p[4];
    size_t n = col_mqtt_varint_encode(v, p);
    return n == 0 ? CT_E_INVAL : ct_buf_add(b, p, n);
}

/* Undo helper: on any failure the buffer is cut back to where the packet started. */
static int finish(struct ct_buf *b, size_t start, int rc)
{
    if (rc != 0) {
        ct_buf_truncate(b, start);
    }
    return rc;
}

static size_t opt_len(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

int col_mqtt_enc_connect(struct ct_buf *b, const struct col_mqtt_connect *c)
{
    if (c->client_id == NULL) {
        return CT_E_INVAL;
    }
    size_t idl = strlen(c->client_id);
    size_t ul = opt_len(c->username);
    size_t pl = opt_len(c->password);
    if (idl > 65535 || ul > 65535 || pl > 65535) {
        return CT_E_INVAL;
    }
    size_t props = 0;
    props += c->session_expiry_s != 0 ? 5 : 0;
    props += (c->receive_max != 0 && c->receive_max != 65535) ? 3 : 0;
    props += c->max_packet != 0 ? 5 : 0;
    props += 3; /* Topic Alias Maximum 0 */
    uint8_t vb[4];
    size_t body = 10 + col_mqtt_varint_encode((uint32_t)props, vb) + props + 2 + idl;
    body += c->username != NULL ? 2 + ul : 0;
    body += c->password != NULL ? 2 + pl : 0;
    size_t start = b->len;
    uint8_t flags = c->clean_start ? 0x02 : 0;
    flags |= c->username != NULL ? 0x80 : 0;
    flags |= c->password != NULL ? 0x40 : 0;
    int rc = add_header(b, COL_MQTT_CONNECT << 4, body);
    rc = rc != 0 ? rc : add_str(b, "MQTT", 4);
    rc = rc != 0 ? rc : add_u8(b, 5);
    rc = rc != 0 ? rc : add_u8(b, flags);
    rc = rc != 0 ? rc : add_u16(b, c->keepalive_s);
    rc = rc != 0 ? rc : add_varint(b, (uint32_t)props);
    if (rc == 0 && c->session_expiry_s != 0) {
        rc = add_u8(b, COL_MQTT_P_SESSION_EXPIRY);
        rc = rc != 0 ? rc : add_u32(b, c->session_expiry_s);
    }
    if (rc == 0 && c->receive_max != 0 && c->receive_max != 65535) {
        rc = add_u8(b, COL_MQTT_P_RECEIVE_MAX);
        rc = rc != 0 ? rc : add_u16(b, c->receive_max);
    }
    if (rc == 0 && c->max_packet != 0) {
        rc = add_u8(b, COL_MQTT_P_MAX_PACKET);
        rc = rc != 0 ? rc : add_u32(b, c->max_packet);
    }
    rc = rc != 0 ? rc : add_u8(b, COL_MQTT_P_TOPIC_ALIAS_MAX);
    rc = rc != 0 ? rc : add_u16(b, 0);
    rc = rc != 0 ? rc : add_str(b, c->client_id, idl);
    if (rc == 0 && c->username != NULL) {
        rc = add_str(b, c->username, ul);
    }
    if (rc == 0 && c->password != NULL) {
        rc = add_str(b, c->password, pl);
    }
    return finish(b, start, rc);
}

int col_mqtt_enc_subscribe(struct ct_buf *b, uint16_t packet_id, const struct col_mqtt_sub_item *s,
                           size_t n)
{
    size_t body = 2 + 1; /* packet id, property length 0 */
    for (size_t i = 0; i < n; i++) {
        size_t fl = strlen(s[i].filter);
        if (fl == 0 || fl > 65535 || s[i].qos > 2 || s[i].retain_handling > 2) {
            return CT_E_INVAL;
        }
        body += 2 + fl + 1;
    }
    if (n == 0 || packet_id == 0) {
        return CT_E_INVAL;
    }
    size_t start = b->len;
    int rc = add_header(b, (COL_MQTT_SUBSCRIBE << 4) | 0x02, body);
    rc = rc != 0 ? rc : add_u16(b, packet_id);
    rc = rc != 0 ? rc : add_u8(b, 0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = add_str(b, s[i].filter, strlen(s[i].filter));
        /* Options: QoS bits 0-1, No Local 0, Retain As Published 0, Retain Handling bits 4-5. */
        rc = rc != 0 ? rc : add_u8(b, (uint8_t)(s[i].qos | (s[i].retain_handling << 4)));
    }
    return finish(b, start, rc);
}

int col_mqtt_enc_publish(struct ct_buf *b, const char *topic, size_t topic_len, const void *payload,
                         size_t len, uint8_t qos, bool retain, bool dup, uint16_t packet_id,
                         size_t *pid_off)
{
    if (qos > 1 || topic_len == 0 || topic_len > 65535 || (qos == 1 && packet_id == 0)) {
        return CT_E_INVAL;
    }
    size_t body = 2 + topic_len + (qos > 0 ? 2 : 0) + 1 + len;
    if (body > COL_MQTT_VARINT_MAX) {
        return CT_E_INVAL;
    }
    uint8_t first =
        (uint8_t)((COL_MQTT_PUBLISH << 4) | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0));
    size_t start = b->len;
    int rc = add_header(b, first, body);
    rc = rc != 0 ? rc : add_str(b, topic, topic_len);
    if (rc == 0 && qos > 0) {
        if (pid_off != NULL) {
            *pid_off = b->len - start;
        }
        rc = add_u16(b, packet_id);
    }
    rc = rc != 0 ? rc : add_u8(b, 0);
    if (rc == 0 && len > 0) {
        rc = ct_buf_add(b, payload, len);
    }
    return finish(b, start, rc);
}

void col_mqtt_puback_bytes(uint16_t packet_id, uint8_t out[4])
{
    out[0] = COL_MQTT_PUBACK << 4;
    out[1] = 2;
    put16(out + 2, packet_id);
}

int col_mqtt_enc_puback(struct ct_buf *b, uint16_t packet_id)
{
    uint8_t p[4];
    col_mqtt_puback_bytes(packet_id, p);
    return ct_buf_add(b, p, 4);
}

int col_mqtt_enc_pingreq(struct ct_buf *b)
{
    const uint8_t p[2] = {COL_MQTT_PINGREQ << 4, 0};
    return ct_buf_add(b, p, 2);
}

int col_mqtt_enc_disconnect(struct ct_buf *b, uint8_t reason)
{
    const uint8_t p[4] = {COL_MQTT_DISCONNECT << 4, 2, reason, 0};
    return ct_buf_add(b, p, 4);
}

/* ---- Decoding ---- */

struct rd {
    const uint8_t *p;
    size_t len;
    size_t at;
};

static bool rd_u8(struct rd *r, uint8_t *v)
{
    if (r->len - r->at < 1) {
        return false;
    }
    *v = r->p[r->at++];
    return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
    if (r->len - r->at < 2) {
        return false;
    }
    *v = (uint16_t)((r->p[r->at] << 8) | r->p[r->at + 1]);
    r->at += 2;
    return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
    if (r->len - r->at < 4) {
        return false;
    }
    const uint8_t *p = r->p + r->at;
    *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    r->at += 4;
    return true;
}

/* A length-prefixed string or binary; false when it runs past the end. */
static bool rd_bin(struct rd *r, const char **s, size_t *len)
{
    uint16_t n;
    if (!rd_u16(r, &n) || r->len - r->at < n) {
        return false;
    }
    *s = (const char *)r->p + r->at;
    *len = n;
    r->at += n;
    return true;
}

/* Reads a property block's length and returns a reader over just the properties. */
static int rd_props(struct rd *r, struct rd *props, const char **why)
{
    uint32_t plen;
    size_t used;
    int rc = col_mqtt_varint_decode(r->p + r->at, r->len - r->at, &plen, &used);
    if (rc == CT_E_AGAIN) {
        FAIL("property length truncated");
    }
    if (rc != 0) {
        FAIL("malformed property length");
    }
    r->at += used;
    if (plen > r->len - r->at) {
        FAIL("property length beyond packet");
    }
    props->p = r->p + r->at;
    props->len = plen;
    props->at = 0;
    r->at += plen;
    return 0;
}

/* Skips one property value of identifier 'id'; false for unknown ids or truncation. */
static bool skip_prop(struct rd *r, uint8_t id)
{
    uint8_t b;
    uint16_t s;
    uint32_t w;
    const char *x;
    size_t n;
    switch (id) {
    case 0x01:
    case 0x17:
    case 0x19:
    case 0x24:
    case 0x25:
    case 0x28:
    case 0x29:
    case 0x2A:
        return rd_u8(r, &b);
    case 0x13:
    case 0x21:
    case 0x22:
    case 0x23:
        return rd_u16(r, &s);
    case 0x02:
    case 0x11:
    case 0x18:
    case 0x27:
        return rd_u32(r, &w);
    case 0x03:
    case 0x08:
    case 0x09:
    case 0x12:
    case 0x15:
    case 0x16:
    case 0x1A:
    case 0x1C:
    case 0x1F:
        return rd_bin(r, &x, &n);
    case 0x26:
        return rd_bin(r, &x, &n) && rd_bin(r, &x, &n);
    case 0x0B: {
        uint32_t v;
        size_t used;
        if (col_mqtt_varint_decode(r->p + r->at, r->len - r->at, &v, &used) != 0) {
            return false;
        }
        r->at += used;
        return true;
    }
    default:
        return false;
    }
}

int col_mqtt_dec_connack(const uint8_t *body, size_t len, struct col_mqtt_connack *out,
                         const char **why)
{
    memset(out, 0, sizeof(*out));
    out->receive_max = 65535;
    out->server_keepalive = -1;
    out->max_qos = 2;
    struct rd r = {body, len, 0};
    uint8_t ack_flags;
    if (!rd_u8(&r, &ack_flags) || !rd_u8(&r, &out->reason)) {
        FAIL("CONNACK truncated");
    }
    if ((ack_flags & 0xFEu) != 0) {
        FAIL("CONNACK reserved flags set");
    }
    out->session_present = (ack_flags & 1u) != 0;
    if (r.at == r.len) {
        return 0; /* no property block */
    }
    struct rd pr;
    int rc = rd_props(&r, &pr, why);
    if (rc != 0) {
        return rc;
    }
    while (pr.at < pr.len) {
        uint8_t id = pr.p[pr.at++];
        bool ok = true;
        uint16_t s = 0;
        uint32_t w = 0;
        uint8_t b = 0;
        switch (id) {
        case COL_MQTT_P_RECEIVE_MAX:
            ok = rd_u16(&pr, &s);
            if (ok && s == 0) {
                FAIL("CONNACK receive maximum 0");
            }
            out->receive_max = s;
            break;
        case COL_MQTT_P_MAX_PACKET:
            ok = rd_u32(&pr, &w);
            out->max_packet = w;
            break;
        case COL_MQTT_P_SERVER_KEEP_ALIVE:
            ok = rd_u16(&pr, &s);
            out->server_keepalive = s;
            break;
        case COL_MQTT_P_TOPIC_ALIAS_MAX:
            ok = rd_u16(&pr, &s);
            out->topic_alias_max = s;
            break;
        case COL_MQTT_P_MAX_QOS:
            ok = rd_u8(&pr, &b);
            out->max_qos = b;
            break;
        case COL_MQTT_P_ASSIGNED_CLIENT_ID:
            ok = rd_bin(&pr, &out->assigned_id, &out->assigned_id_len);
            break;
        case COL_MQTT_P_REASON_STRING:
            ok = rd_bin(&pr, &out->reason_string, &out->reason_string_len);
            break;
        default:
            ok = skip_prop(&pr, id);
            break;
        }
        if (!ok) {
            FAIL("CONNACK property malformed or beyond its block");
        }
    }
    return 0;
}

int col_mqtt_dec_publish(uint8_t flags, const uint8_t *body, size_t len,
                         struct col_mqtt_publish *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    out->qos = (uint8_t)((flags >> 1) & 3u);
    out->retain = (flags & 1u) != 0;
    out->dup = (flags & 8u) != 0;
    if (out->qos == 3) {
        FAIL("PUBLISH QoS 3");
    }
    if (out->qos == 0 && out->dup) {
        FAIL("PUBLISH QoS 0 with DUP set");
    }
    struct rd r = {body, len, 0};
    uint16_t tl;
    if (!rd_u16(&r, &tl)) {
        FAIL("PUBLISH truncated before the topic");
    }
    if (r.len - r.at < tl) {
        FAIL("topic length beyond packet");
    }
    out->topic = (const char *)body + r.at;
    out->topic_len = tl;
    r.at += tl;
    if (!col_mqtt_utf8_ok(out->topic, tl)) {
        FAIL("topic is not valid UTF-8");
    }
    if (out->qos > 0) {
        if (!rd_u16(&r, &out->packet_id)) {
            FAIL("PUBLISH truncated before the packet id");
        }
        if (out->packet_id == 0) {
            FAIL("PUBLISH packet id 0");
        }
    }
    struct rd pr;
    int rc = rd_props(&r, &pr, why);
    if (rc != 0) {
        return rc;
    }
    while (pr.at < pr.len) {
        uint8_t id = pr.p[pr.at++];
        bool ok;
        if (id == COL_MQTT_P_USER_PROPERTY) {
            const char *k, *v;
            size_t kl, vl;
            ok = rd_bin(&pr, &k, &kl) && rd_bin(&pr, &v, &vl);
            if (ok && out->sig == NULL && kl == 3 && memcmp(k, "sig", 3) == 0) {
                out->sig = v;
                out->sig_len = vl;
            }
        } else if (id == COL_MQTT_P_TOPIC_ALIAS) {
            ok = rd_u16(&pr, &out->topic_alias);
            if (ok && out->topic_alias == 0) {
                FAIL("topic alias 0");
            }
        } else {
            ok = skip_prop(&pr, id);
        }
        if (!ok) {
            FAIL("PUBLISH property malformed or beyond its block");
        }
    }
    if (tl == 0 && out->topic_alias == 0) {
        FAIL("zero-length topic without a topic alias");
    }
    out->payload = body + r.at;
    out->payload_len = len - r.at;
    return 0;
}

int col_mqtt_dec_suback(const uint8_t *body, size_t len, uint16_t *packet_id, const uint8_t **codes,
                        size_t *n, const char **why)
{
    struct rd r = {body, len, 0};
    if (!rd_u16(&r, packet_id)) {
        FAIL("SUBACK truncated");
    }
    struct rd pr;
    int rc = rd_props(&r, &pr, why);
    if (rc != 0) {
        return rc;
    }
    while (pr.at < pr.len) {
        uint8_t id = pr.p[pr.at++];
        if (!skip_prop(&pr, id)) {
            FAIL("SUBACK property malformed or beyond its block");
        }
    }
    if (r.at == r.len) {
        FAIL("SUBACK without reason codes");
    }
    *codes = body + r.at;
    *n = len - r.at;
    return 0;
}

/* The end of a PUBACK or DISCONNECT: an optional reason code, then optional properties (read
 * and skipped), then nothing; 'trailing' is the message for bytes beyond them. */
static int rd_reason_end(struct rd *r, uint8_t *reason, const char *trailing, const char **why)
{
    if (r->at < r->len) {
        rd_u8(r, reason);
    }
    if (r->at < r->len) {
        struct rd pr;
        int rc = rd_props(r, &pr, why);
        if (rc != 0) {
            return rc;
        }
    }
    if (r->at != r->len) {
        FAIL(trailing);
    }
    return 0;
}

int col_mqtt_dec_puback(const uint8_t *body, size_t len, uint16_t *packet_id, uint8_t *reason,
                        const char **why)
{
    struct rd r = {body, len, 0};
    *reason = 0;
    if (!rd_u16(&r, packet_id)) {
        FAIL("PUBACK truncated");
    }
    return rd_reason_end(&r, reason, "PUBACK has trailing bytes", why);
}

int col_mqtt_dec_disconnect(const uint8_t *body, size_t len, uint8_t *reason, const char **why)
{
    struct rd r = {body, len, 0};
    *reason = 0;
    return rd_reason_end(&r, reason, "DISCONNECT has trailing bytes", why);
}

const char *col_mqtt_reason_name(uint8_t code)
{
    switch (code) {
    case 0x00:
        return "success";
    case 0x01:
        return "granted QoS 1";
    case 0x02:
        return "granted QoS 2";
    case 0x04:
        return "disconnect with will message";
    case 0x10:
        return "no matching subscribers";
    case 0x80:
        return "unspecified error";
    case 0x81:
        return "malformed packet";
    case 0x82:
        return "protocol error";
    case 0x83:
        return "implementation specific error";
    case 0x84:
        return "unsupported protocol version";
    case 0x85:
        return "client identifier not valid";
    case 0x86:
        return "bad user name or password";
    case 0x87:
        return "not authorized";
    case 0x88:
        return "server unavailable";
    case 0x89:
        return "server busy";
    case 0x8A:
        return "banned";
    case 0x8B:
        return "server shutting down";
    case 0x8C:
        return "bad authentication method";
    case 0x8D:
        return "keep alive timeout";
    case 0x8E:
        return "session taken over";
    case 0x8F:
        return "topic filter invalid";
    case 0x90:
        return "topic name invalid";
    case 0x91:
        return "packet identifier in use";
    case 0x93:
        return "receive maximum exceeded";
    case 0x94:
        return "topic alias invalid";
    case 0x95:
        return "packet too large";
    case 0x96:
        return "message rate too high";
    case 0x97:
        return "quota exceeded";
    case 0x98:
        return "administrative action";
    case 0x99:
        return "payload format invalid";
    case 0x9A:
        return "retain not supported";
    case 0x9B:
        return "QoS not supported";
    case 0x9C:
        return "use another server";
    case 0x9D:
        return "server moved";
    case 0x9E:
        return "shared subscriptions not supported";
    case 0x9F:
        return "connection rate exceeded";
    case 0xA0:
        return "maximum connect time";
    case 0xA1:
        return "subscription identifiers not supported";
    case 0xA2:
        return "wildcard subscriptions not supported";
    default:
        return "unknown reason";
    }
}
