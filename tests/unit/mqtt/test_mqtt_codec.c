/* test_mqtt_codec.c - the MQTT v5 codec of collector/mqtt: byte-exact CONNECT and SUBSCRIBE,
 * CONNACK/SUBACK/PUBLISH/PUBACK/DISCONNECT decoding with properties, Variable Byte Integer edges,
 * malformed input rejected with a reason, and framing fed one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ct/err.h"
#include "mqtt_codec.h"

static void test_varint_edges(void **state)
{
    (void)state;
    static const struct {
        uint32_t v;
        size_t n;
        uint8_t b[4];
    } cases[] = {
        {0, 1, {0x00}},
        {127, 1, {0x7F}},
        {128, 2, {0x80, 0x01}},
        {16383, 2, {0xFF, 0x7F}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {2097151, 3, {0xFF, 0xFF, 0x7F}},
        {2097152, 4, {0x80, 0x80, 0x80, 0x01}},
        {268435455, 4, {0xFF, 0xFF, 0xFF, 0x7F}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t out[4];
        assert_int_equal(col_mqtt_varint_encode(cases[i].v, out), cases[i].n);
        assert_memory_equal(out, cases[i].b, cases[i].n);
        uint32_t v = 0;
        size_t used = 0;
        assert_int_equal(col_mqtt_varint_decode(cases[i].b, cases[i].n, &v, &used), 0);
        assert_int_equal(v, cases[i].v);
        assert_int_equal(used, cases[i].n);
        /* Every proper prefix is incomplete, not wrong. */
        for (size_t k = 0; k < cases[i].n; k++) {
            assert_int_equal(col_mqtt_varint_decode(cases[i].b, k, &v, &used), CT_E_AGAIN);
        }
    }
    uint8_t out[4];
    assert_int_equal(col_mqtt_varint_encode(268435456u, out), 0);
    uint32_t v;
    size_t used;
    const uint8_t five[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_int_equal(col_mqtt_varint_decode(five, sizeof(five), &v, &used), CT_E_PARSE);
    const uint8_t nonmin[] = {0x80, 0x00};
    assert_int_equal(col_mqtt_varint_decode(nonmin, sizeof(nonmin), &v, &used), CT_E_PARSE);
}

static void test_connect_bytes(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 1 << 16);
    struct col_mqtt_connect c = {.client_id = "col",
                                 .username = "u",
                                 .password = "pw",
                                 .keepalive_s = 30,
                                 .clean_start = false,
                                 .session_expiry_s = 3600,
                                 .receive_max = 1000,
                                 .max_packet = 66560};
    assert_int_equal(col_mqtt_enc_connect(&b, &c), 0);
    const uint8_t want[] = {0x10, 39,                             /* CONNECT, remaining length */
                            0x00, 0x04, 'M',  'Q',  'T',  'T', 5, /* protocol name, level 5 */
                            0xC0,                         /* user name + password, clean start 0 */
                            0x00, 30,                     /* keep alive */
                            16,                           /* property length */
                            0x11, 0x00, 0x00, 0x0E, 0x10, /* session expiry 3600 */
                            0x21, 0x03, 0xE8,             /* receive maximum 1000 */
                            0x27, 0x00, 0x01, 0x04, 0x00, /* maximum packet size 66560 */
                            0x22, 0x00, 0x00,             /* topic alias maximum 0 */
                            0x00, 0x03, 'c',  'o',  'l',  /* client id */
                            0x00, 0x01, 'u',              /* user name */
                            0x00, 0x02, 'p',  'w'};       /* password */
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.p, want, sizeof(want));
    /* The frame reader agrees with the encoder. */
    struct col_mqtt_frame f;
    assert_int_equal(col_mqtt_frame((uint8_t *)b.p, b.len, 0, &f, NULL), 0);
    assert_int_equal(f.type, COL_MQTT_CONNECT);
    assert_int_equal(f.hdr_len + f.body_len, b.len);
    ct_buf_free(&b);
}

static void test_subscribe_bytes(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 1 << 16);
    struct col_mqtt_sub_item s[2] = {{"a/#", 1, 0}, {"b", 0, 2}};
    assert_int_equal(col_mqtt_enc_subscribe(&b, 7, s, 2), 0);
    const uint8_t want[] = {0x82, 13,  0x00, 0x07, 0x00, 0x00, 0x03, 'a',
                            '/',  '#', 0x01, 0x00, 0x01, 'b',  0x20};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.p, want, sizeof(want));
    assert_int_equal(col_mqtt_enc_subscribe(&b, 0, s, 2), CT_E_INVAL);
    assert_int_equal(b.len, sizeof(want));
    ct_buf_free(&b);
}

static void test_connack_decode(void **state)
{
    (void)state;
    const uint8_t body[] = {0x01, 0x00, 23,               /* session present, success */
                            0x21, 0x00, 0x14,             /* receive maximum 20 */
                            0x27, 0x00, 0x00, 0x10, 0x00, /* maximum packet 4096 */
                            0x13, 0x00, 0x3C,             /* server keep alive 60 */
                            0x12, 0x00, 0x02, 'i',  'd',  /* assigned client id */
                            0x25, 0x01,                   /* retain available (skipped) */
                            0x22, 0x00, 0x0A,             /* topic alias maximum 10 */
                            0x24, 0x01};                  /* maximum QoS 1 */
    struct col_mqtt_connack a;
    assert_int_equal(col_mqtt_dec_connack(body, sizeof(body), &a, NULL), 0);
    assert_true(a.session_present);
    assert_int_equal(a.reason, 0);
    assert_int_equal(a.receive_max, 20);
    assert_int_equal(a.max_packet, 4096);
    assert_int_equal(a.server_keepalive, 60);
    assert_int_equal(a.assigned_id_len, 2);
    assert_memory_equal(a.assigned_id, "id", 2);
    assert_int_equal(a.topic_alias_max, 10);
    assert_int_equal(a.max_qos, 1);

    const uint8_t refused[] = {0x00, 0x87, 0x00};
    assert_int_equal(col_mqtt_dec_connack(refused, sizeof(refused), &a, NULL), 0);
    assert_int_equal(a.reason, 0x87);
    assert_false(a.session_present);
    assert_int_equal(a.receive_max, 65535);
    assert_string_equal(col_mqtt_reason_name(a.reason), "not authorized");

    const char *why = NULL;
    const uint8_t beyond[] = {0x00, 0x00, 10, 0x21, 0x00, 0x14};
    assert_int_equal(col_mqtt_dec_connack(beyond, sizeof(beyond), &a, &why), CT_E_PARSE);
    assert_string_equal(why, "property length beyond packet");
    const uint8_t unknown[] = {0x00, 0x00, 2, 0x7E, 0x00};
    assert_int_equal(col_mqtt_dec_connack(unknown, sizeof(unknown), &a, &why), CT_E_PARSE);
    const uint8_t short1[] = {0x00};
    assert_int_equal(col_mqtt_dec_connack(short1, sizeof(short1), &a, &why), CT_E_PARSE);
    assert_string_equal(why, "CONNACK truncated");
}

static void test_suback_decode(void **state)
{
    (void)state;
    const uint8_t body[] = {0x00, 0x07, 0x03, 0x1F, 0x00, 0x00, 0x01, 0x00, 0x87};
    uint16_t pid;
    const uint8_t *codes;
    size_t n;
    assert_int_equal(col_mqtt_dec_suback(body, sizeof(body), &pid, &codes, &n, NULL), 0);
    assert_int_equal(pid, 7);
    assert_int_equal(n, 3);
    assert_int_equal(codes[0], 0x01);
    assert_int_equal(codes[1], 0x00);
    assert_int_equal(codes[2], 0x87);
    const char *why = NULL;
    const uint8_t none[] = {0x00, 0x07, 0x00};
    assert_int_equal(col_mqtt_dec_suback(none, sizeof(none), &pid, &codes, &n, &why), CT_E_PARSE);
    assert_string_equal(why, "SUBACK without reason codes");
}

/* A PUBLISH body as a broker would send it: topic, packet id, properties, payload. */
static size_t make_publish(uint8_t *out, const char *topic, uint16_t pid, const uint8_t *props,
                           size_t plen, const char *payload)
{
    size_t n = 0;
    size_t tl = strlen(topic);
    out[n++] = (uint8_t)(tl >> 8);
    out[n++] = (uint8_t)tl;
    memcpy(out + n, topic, tl);
    n += tl;
    if (pid != 0) {
        out[n++] = (uint8_t)(pid >> 8);
        out[n++] = (uint8_t)pid;
    }
    out[n++] = (uint8_t)plen;
    if (plen > 0) {
        memcpy(out + n, props, plen);
    }
    n += plen;
    memcpy(out + n, payload, strlen(payload));
    return n + strlen(payload);
}

static void test_publish_roundtrip_and_properties(void **state)
{
    (void)state;
    /* Encoded by us, decoded by us. */
    struct ct_buf b;
    ct_buf_init(&b, 1 << 16);
    size_t pid_off = 0;
    assert_int_equal(
        col_mqtt_enc_publish(&b, "city/alert", 10, "hello", 5, 1, true, false, 0x1234, &pid_off),
        0);
    struct col_mqtt_frame f;
    assert_int_equal(col_mqtt_frame((uint8_t *)b.p, b.len, 0, &f, NULL), 0);
    assert_int_equal(f.type, COL_MQTT_PUBLISH);
    assert_int_equal((uint8_t)b.p[pid_off], 0x12);
    struct col_mqtt_publish p;
    assert_int_equal(
        col_mqtt_dec_publish(f.flags, (uint8_t *)b.p + f.hdr_len, f.body_len, &p, NULL), 0);
    assert_int_equal(p.topic_len, 10);
    assert_memory_equal(p.topic, "city/alert", 10);
    assert_int_equal(p.payload_len, 5);
    assert_memory_equal(p.payload, "hello", 5);
    assert_int_equal(p.qos, 1);
    assert_true(p.retain);
    assert_false(p.dup);
    assert_int_equal(p.packet_id, 0x1234);
    assert_null(p.sig);
    ct_buf_free(&b);

    /* Broker-style properties: payload format, message expiry, two user properties ("sig" is
     * the second one, a second "sig" is ignored), subscription identifier (varint), content type.
     */
    const uint8_t props[] = {
        0x01, 0x01,                              /* payload format */
        0x02, 0x00, 0x00, 0x00, 0x3C,            /* message expiry */
        0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v', /* user k=v */
        0x26, 0x00, 0x03, 's',  'i',  'g',  0x00, 0x03, 'a',  'b',  'c',  0x26,
        0x00, 0x03, 's',  'i',  'g',  0x00, 0x01, 'X',  0x0B, 0x81, 0x01, /* sub id 129 */
        0x03, 0x00, 0x04, 'j',  's',  'o',  'n'};                         /* content type */
    uint8_t body[256];
    size_t n = make_publish(body, "t/1", 9, props, sizeof(props), "{}");
    assert_int_equal(col_mqtt_dec_publish(0x0A, body, n, &p, NULL), 0); /* DUP, QoS 1 */
    assert_true(p.dup);
    assert_int_equal(p.packet_id, 9);
    assert_int_equal(p.sig_len, 3);
    assert_memory_equal(p.sig, "abc", 3);
    assert_int_equal(p.payload_len, 2);
    assert_memory_equal(p.payload, "{}", 2);

    /* QoS 0 has no packet id. */
    n = make_publish(body, "t", 0, NULL, 0, "x");
    assert_int_equal(col_mqtt_dec_publish(0x00, body, n, &p, NULL), 0);
    assert_int_equal(p.packet_id, 0);
    assert_int_equal(p.payload_len, 1);

    /* A topic alias is decoded (the client refuses it: it announces Topic Alias Maximum 0). */
    const uint8_t alias[] = {0x23, 0x00, 0x05};
    n = make_publish(body, "", 0, alias, sizeof(alias), "x");
    assert_int_equal(col_mqtt_dec_publish(0x00, body, n, &p, NULL), 0);
    assert_int_equal(p.topic_alias, 5);
}

static void test_publish_malformed(void **state)
{
    (void)state;
    uint8_t body[256];
    struct col_mqtt_publish p;
    const char *why = NULL;

    size_t n = make_publish(body, "", 0, NULL, 0, "x");
    assert_int_equal(col_mqtt_dec_publish(0x00, body, n, &p, &why), CT_E_PARSE);
    assert_string_equal(why, "zero-length topic without a topic alias");

    n = make_publish(body, "t/\xC3\x28", 0, NULL, 0, "x");
    assert_int_equal(col_mqtt_dec_publish(0x00, body, n, &p, &why), CT_E_PARSE);
    assert_string_equal(why, "topic is not valid UTF-8");

    const uint8_t len_beyond[] = {0x00, 0x20, 't'};
    assert_int_equal(col_mqtt_dec_publish(0x00, len_beyond, sizeof(len_beyond), &p, &why),
                     CT_E_PARSE);
    assert_string_equal(why, "topic length beyond packet");

    const uint8_t prop_beyond[] = {0x00, 0x01, 't', 0x09, 0x01, 0x01};
    assert_int_equal(col_mqtt_dec_publish(0x00, prop_beyond, sizeof(prop_beyond), &p, &why),
                     CT_E_PARSE);
    assert_string_equal(why, "property length beyond packet");

    /* A user property whose string runs past the property block. */
    const uint8_t str_beyond[] = {0x00, 0x01, 't', 0x04, 0x26, 0x00, 0x09, 'k'};
    assert_int_equal(col_mqtt_dec_publish(0x00, str_beyond, sizeof(str_beyond), &p, &why),
                     CT_E_PARSE);
    assert_string_equal(why, "PUBLISH property malformed or beyond its block");

    const uint8_t trunc_varint[] = {0x00, 0x01, 't', 0x80};
    assert_int_equal(col_mqtt_dec_publish(0x00, trunc_varint, sizeof(trunc_varint), &p, &why),
                     CT_E_PARSE);
    assert_string_equal(why, "property length truncated");

    n = make_publish(body, "t", 0, NULL, 0, "x");
    assert_int_equal(col_mqtt_dec_publish(0x06, body, n, &p, &why), CT_E_PARSE); /* QoS 3 */
    assert_string_equal(why, "PUBLISH QoS 3");
    n = make_publish(body, "t", 0, NULL, 0, "");
    assert_int_equal(col_mqtt_dec_publish(0x02, body, 4, &p, &why), CT_E_PARSE);
    assert_string_equal(why, "PUBLISH truncated before the packet id");

    assert_true(col_mqtt_utf8_ok("a/\xE2\x82\xAC", 5));
    assert_false(col_mqtt_utf8_ok("a\0b", 3));
    assert_false(col_mqtt_utf8_ok("\xED\xA0\x80", 3)); /* surrogate */
    assert_false(col_mqtt_utf8_ok("\xC0\xAF", 2));     /* overlong */
}

static void test_puback_disconnect(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 64);
    assert_int_equal(col_mqtt_enc_puback(&b, 0xBEEF), 0);
    const uint8_t want[] = {0x40, 0x02, 0xBE, 0xEF};
    assert_memory_equal(b.p, want, 4);
    uint16_t pid;
    uint8_t reason;
    assert_int_equal(col_mqtt_dec_puback((uint8_t *)b.p + 2, 2, &pid, &reason, NULL), 0);
    assert_int_equal(pid, 0xBEEF);
    assert_int_equal(reason, 0);
    const uint8_t with_reason[] = {0x00, 0x05, 0x10, 0x00};
    assert_int_equal(col_mqtt_dec_puback(with_reason, 4, &pid, &reason, NULL), 0);
    assert_int_equal(reason, 0x10);
    const uint8_t disc[] = {0x8E, 0x00};
    assert_int_equal(col_mqtt_dec_disconnect(disc, 2, &reason, NULL), 0);
    assert_int_equal(reason, 0x8E);
    ct_buf_reset(&b);
    assert_int_equal(col_mqtt_enc_disconnect(&b, 0), 0);
    const uint8_t dwant[] = {0xE0, 0x02, 0x00, 0x00};
    assert_memory_equal(b.p, dwant, 4);
    ct_buf_free(&b);
}

static void test_frame_errors(void **state)
{
    (void)state;
    struct col_mqtt_frame f;
    const char *why = NULL;
    const uint8_t type0[] = {0x00, 0x00};
    assert_int_equal(col_mqtt_frame(type0, 2, 0, &f, &why), CT_E_PARSE);
    const uint8_t badflags[] = {0x41, 0x02, 0x00, 0x01}; /* PUBACK with flags 1 */
    assert_int_equal(col_mqtt_frame(badflags, 4, 0, &f, &why), CT_E_PARSE);
    assert_string_equal(why, "reserved flags of the fixed header are wrong");
    const uint8_t longlen[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_int_equal(col_mqtt_frame(longlen, 6, 0, &f, &why), CT_E_PARSE);
    assert_string_equal(why, "malformed remaining length");
    const uint8_t truncated[] = {0x30, 0xFF, 0xFF};
    assert_int_equal(col_mqtt_frame(truncated, 3, 0, &f, &why), CT_E_AGAIN);
    const uint8_t big[] = {0x30, 0x80, 0x80, 0x04}; /* 65536 bytes of body */
    assert_int_equal(col_mqtt_frame(big, 4, 65536, &f, &why), CT_E_TOOBIG);
    assert_int_equal(col_mqtt_frame(big, 4, 65536 + 4, &f, &why), CT_E_AGAIN);
}

/* Three packets in one stream, fed one byte at a time and then all at once: the same packets
 * come out either way. */
static void test_byte_by_byte(void **state)
{
    (void)state;
    struct ct_buf s;
    ct_buf_init(&s, 1 << 20);
    char big[3000];
    memset(big, 'p', sizeof(big));
    assert_int_equal(col_mqtt_enc_publish(&s, "a/b", 3, "one", 3, 0, false, false, 0, NULL), 0);
    assert_int_equal(col_mqtt_enc_publish(&s, "c", 1, big, sizeof(big), 1, false, false, 5, NULL),
                     0);
    assert_int_equal(col_mqtt_enc_puback(&s, 5), 0);
    const uint8_t *stream = (const uint8_t *)s.p;

    for (int mode = 0; mode < 2; mode++) {
        uint8_t buf[8192];
        size_t have = 0;
        size_t fed = 0;
        int packets = 0;
        size_t payload_total = 0;
        while (fed < s.len) {
            size_t step = mode == 0 ? 1 : s.len;
            memcpy(buf + have, stream + fed, step);
            have += step;
            fed += step;
            size_t off = 0;
            for (;;) {
                struct col_mqtt_frame f;
                int rc = col_mqtt_frame(buf + off, have - off, 65536, &f, NULL);
                if (rc == CT_E_AGAIN) {
                    break;
                }
                assert_int_equal(rc, 0);
                if (f.type == COL_MQTT_PUBLISH) {
                    struct col_mqtt_publish p;
                    assert_int_equal(
                        col_mqtt_dec_publish(f.flags, buf + off + f.hdr_len, f.body_len, &p, NULL),
                        0);
                    payload_total += p.payload_len;
                } else {
                    assert_int_equal(f.type, COL_MQTT_PUBACK);
                }
                packets++;
                off += f.hdr_len + f.body_len;
            }
            memmove(buf, buf + off, have - off);
            have -= off;
        }
        assert_int_equal(packets, 3);
        assert_int_equal(payload_total, 3 + sizeof(big));
        assert_int_equal(have, 0);
    }
    ct_buf_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_edges),
        cmocka_unit_test(test_connect_bytes),
        cmocka_unit_test(test_subscribe_bytes),
        cmocka_unit_test(test_connack_decode),
        cmocka_unit_test(test_suback_decode),
        cmocka_unit_test(test_publish_roundtrip_and_properties),
        cmocka_unit_test(test_publish_malformed),
        cmocka_unit_test(test_puback_disconnect),
        cmocka_unit_test(test_frame_errors),
        cmocka_unit_test(test_byte_by_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
