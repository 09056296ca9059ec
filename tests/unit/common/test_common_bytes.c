/* Unit tests of the byte helpers (ct/bytes.h), the JSON string writer (ct_buf_add_json_str) and
 * the one key reader (ct/key.h): known vectors, and the one rule for key files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ct/buf.h"
#include "ct/bytes.h"
#include "ct/err.h"
#include "ct/key.h"

static void test_le_roundtrip(void **state)
{
    uint8_t b[8];

    (void)state;
    ct_put_le16(b, 0x1234);
    assert_int_equal(b[0], 0x34);
    assert_int_equal(ct_get_le16(b), 0x1234);
    ct_put_le32(b, 0xA1B2C3D4u);
    assert_int_equal(b[0], 0xD4);
    assert_int_equal(b[3], 0xA1);
    assert_int_equal(ct_get_le32(b), 0xA1B2C3D4u);
    ct_put_le64(b, 0x0102030405060708ull);
    assert_int_equal(b[0], 0x08);
    assert_int_equal(b[7], 0x01);
    assert_true(ct_get_le64(b) == 0x0102030405060708ull);
}

static void test_hash_and_crc_vectors(void **state)
{
    (void)state;
    /* FNV-1a 64 of "" and "a" (the published test vectors). */
    assert_true(ct_fnv1a64_str("") == 0xcbf29ce484222325ull);
    assert_true(ct_fnv1a64_str("a") == 0xaf63dc4c8601ec8cull);
    assert_true(ct_fnv1a64("a", 1) == ct_fnv1a64_str("a"));
    /* CRC-32 check value of "123456789", and continuation. */
    assert_int_equal(ct_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(ct_crc32(ct_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(ct_hex_digit('0'), 0);
    assert_int_equal(ct_hex_digit('f'), 15);
    assert_int_equal(ct_hex_digit('F'), 15);
    assert_int_equal(ct_hex_digit('g'), -1);
}

static void test_utf8_seq(void **state)
{
    (void)state;
    assert_int_equal(ct_utf8_seq((const unsigned char *)"a", 1), 1);
    assert_int_equal(ct_utf8_seq((const unsigned char *)"\xc4\x90", 2), 2);         /* Đ */
    assert_int_equal(ct_utf8_seq((const unsigned char *)"\xe1\xba\xa1", 3), 3);     /* ạ */
    assert_int_equal(ct_utf8_seq((const unsigned char *)"\xc0\xaf", 2), 0);         /* overlong */
    assert_int_equal(ct_utf8_seq((const unsigned char *)"\xed\xa0\x80", 3), 0);     /* surrogate */
    assert_int_equal(ct_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4), 0); /* > 10FFFF */
    assert_int_equal(ct_utf8_seq((const unsigned char *)"\xe1\xba", 2), 0);         /* cut */
}

static void test_json_str(void **state)
{
    struct ct_buf b;
    char mem[12];
    static const char in[] = "Đống \"Đa\"\\\n\x01\xff";

    (void)state;
    ct_buf_init(&b, 1024);
    assert_int_equal(ct_buf_add_json_str(&b, in, sizeof(in) - 1), 0);
    assert_string_equal(b.p, "\"Đống \\\"Đa\\\"\\\\\\n\\u0001\\ufffd\"");
    ct_buf_free(&b);
    /* Too long for a fixed buffer: nothing appended. */
    ct_buf_init_fixed(&b, mem, sizeof(mem));
    assert_int_equal(ct_buf_adds(&b, "ab"), 0);
    assert_int_equal(ct_buf_add_json_str(&b, "0123456789", 10), CT_E_TOOBIG);
    assert_string_equal(b.p, "ab");
}

static void test_key_parse_rule(void **state)
{
    uint8_t k[32];
    size_t n = 0;
    static const char hex32[] = "00112233445566778899aabbccddeeff";

    (void)state;
    assert_int_equal(ct_key_parse(hex32, 32, 16, k, sizeof(k), &n), 0);
    assert_int_equal(n, 16);
    assert_int_equal(k[15], 0xff);
    /* White space around: accepted, the same key. */
    assert_int_equal(ct_key_parse(" \t00112233445566778899AABBCCDDEEFF\r\n", 36, 16, k, 32, &n), 0);
    assert_int_equal(n, 16);
    assert_int_equal(k[10], 0xaa);
    /* Inside, odd, short, not hex, empty: refused; too long for the room: too big. */
    assert_int_equal(ct_key_parse("0011 2233445566778899aabbccddeeff", 33, 16, k, 32, &n),
                     CT_E_PARSE);
    assert_int_equal(ct_key_parse(hex32, 31, 15, k, 32, &n), CT_E_PARSE);
    assert_int_equal(ct_key_parse(hex32, 30, 16, k, 32, &n), CT_E_PARSE);
    assert_int_equal(ct_key_parse("zz112233445566778899aabbccddeeff", 32, 16, k, 32, &n),
                     CT_E_PARSE);
    assert_int_equal(ct_key_parse(" \n", 2, 1, k, 32, &n), CT_E_PARSE);
    assert_int_equal(ct_key_parse(hex32, 32, 8, k, 8, &n), CT_E_TOOBIG);
}

static void test_key_file(void **state)
{
    char path[] = "/tmp/ct-key-XXXXXX";
    uint8_t k[64];
    size_t n = 0;
    unsigned mode = 0;
    int fd = mkstemp(path);
    static const char text[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(ct_key_read_file(path, CT_KEY_MASTER_MIN, k, sizeof(k), &n, &mode), 0);
    assert_int_equal(n, 32);
    assert_int_equal(mode & 0777, 0640);
    /* A device key must be 32 bytes: a 16-byte file is refused by the same rule. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, 32), 32);
    close(fd);
    assert_int_equal(ct_key_read_file(path, CT_KEY_DEVICE_LEN, k, sizeof(k), &n, NULL), CT_E_PARSE);
    unlink(path);
    assert_int_equal(ct_key_read_file(path, 16, k, sizeof(k), &n, NULL), CT_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_le_roundtrip),   cmocka_unit_test(test_hash_and_crc_vectors),
        cmocka_unit_test(test_utf8_seq),       cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_key_parse_rule), cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
