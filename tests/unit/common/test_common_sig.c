/* test_common_sig.c - HKDF (RFC 5869), HMAC (RFC 4231), device keys and signatures, with the
 * expected values of the openssl command line (protocol.md section 3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ct/err.h"
#include "ct/sig.h"

/* Outside a sanitizer build the test counts the allocations of the signing functions by
 * providing malloc, calloc, realloc and free over glibc's __libc_* (as tests/alloc's shim does):
 * signing and verifying must not allocate, so an allocation failure cannot turn a valid
 * signature into a bad one. ASan owns malloc itself, so its builds skip the count. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static int g_counting;
static unsigned long g_allocs;

void *malloc(size_t n)
{
    g_allocs += g_counting != 0;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    g_allocs += g_counting != 0;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    g_allocs += g_counting != 0;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* Decodes an expected value written in hex; fails the test on bad hex. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    assert_int_equal(ct_hex_decode(hex, strlen(hex), out, n), 0);
    return n;
}

static void fill_range(uint8_t *p, unsigned first, unsigned last)
{
    for (unsigned v = first; v <= last; v++) {
        p[v - first] = (uint8_t)v;
    }
}

static void test_hkdf_rfc5869(void **state)
{
    (void)state;
    uint8_t ikm[80], salt[80], info[80], okm[82], want[82];

    /* Test case 1 */
    memset(ikm, 0x0b, 22);
    fill_range(salt, 0x00, 0x0c);
    fill_range(info, 0xf0, 0xf9);
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
          want, sizeof(want));
    assert_int_equal(ct_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 42), 0);
    assert_memory_equal(okm, want, 42);

    /* Test case 2 */
    fill_range(ikm, 0x00, 0x4f);
    fill_range(salt, 0x60, 0xaf);
    fill_range(info, 0xb0, 0xff);
    unhex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
          "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
          want, sizeof(want));
    assert_int_equal(ct_hkdf_sha256(salt, 80, ikm, 80, info, 80, okm, 82), 0);
    assert_memory_equal(okm, want, 82);

    /* Test case 3: no salt, no info */
    memset(ikm, 0x0b, 22);
    unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
          want, sizeof(want));
    assert_int_equal(ct_hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 42), 0);
    assert_memory_equal(okm, want, 42);

    assert_int_equal(ct_hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 255 * 32 + 1), CT_E_INVAL);
}

struct hmac_case {
    const char *key_hex;
    size_t key_fill_len; /* when key_hex is NULL: that many 0xaa bytes */
    const char *data;
    size_t data_len;
    const char *mac_hex;
};

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t dd[50], cd[50];
    static const char tc7[] = "This is a test using a larger than block-size key and a larger than "
                              "block-size data. The key needs to be hashed before being used by "
                              "the HMAC algorithm.";
    memset(dd, 0xdd, sizeof(dd));
    memset(cd, 0xcd, sizeof(cd));
    const struct hmac_case cases[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", 0, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665", 0, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {NULL, 20, (const char *)dd, 50,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"0102030405060708090a0b0c0d0e0f10111213141516171819", 0, (const char *)cd, 50,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {NULL, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {NULL, 131, tc7, sizeof(tc7) - 1,
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t key[131], want[32], mac[32];
        size_t klen = cases[i].key_fill_len;
        if (cases[i].key_hex != NULL) {
            klen = unhex(cases[i].key_hex, key, sizeof(key));
        } else {
            memset(key, 0xaa, klen);
        }
        unhex(cases[i].mac_hex, want, sizeof(want));
        assert_int_equal(ct_hmac_sha256(key, klen, cases[i].data, cases[i].data_len, NULL, 0, mac),
                         0);
        assert_memory_equal(mac, want, 32);
        /* The same bytes split in two parts give the same MAC. */
        size_t half = cases[i].data_len / 2;
        assert_int_equal(ct_hmac_sha256(key, klen, cases[i].data, half, cases[i].data + half,
                                        cases[i].data_len - half, mac),
                         0);
        assert_memory_equal(mac, want, 32);
    }
}

/* Expected values computed once with:
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:<MASTER_HEX>
 *     -kdfopt salt:city-telemetry/v1 -kdfopt info:hn-air-0001 HKDF
 *   printf '%s\n%s' "$TOPIC" "$PAYLOAD" | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> */
#define MASTER_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_HEX "36d60b25a70984be4c244705850dfa83b08438b4c7f97bb8733bffedeb7cb5f0"
#define TOPIC "city/v1/air/hn-air-0001/up"
#define PAYLOAD                                                                                    \
    "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":3,\"seq\":1742,\"ts\":1763888400000,\"m\":{"         \
    "\"pm25\":"                                                                                    \
    "41.2,\"pm10\":63.0,\"no2\":22.1,\"t\":29.4,\"rh\":78}}"
#define SIG_HEX "2b9134a6c8c64909e640cd62921a85333057ea1aaf975b157c8ee8dcaf3cebdf"

static void test_device_key_matches_openssl(void **state)
{
    (void)state;
    uint8_t master[32], key[CT_KEY_LEN], want[CT_KEY_LEN];
    unhex(MASTER_HEX, master, sizeof(master));
    unhex(KEY_HEX, want, sizeof(want));
    assert_int_equal(ct_sig_device_key(master, sizeof(master), "hn-air-0001", key), 0);
    assert_memory_equal(key, want, CT_KEY_LEN);
    /* Another device gets another key. */
    assert_int_equal(ct_sig_device_key(master, sizeof(master), "hn-air-0002", key), 0);
    assert_memory_not_equal(key, want, CT_KEY_LEN);
}

static void test_sign_and_verify(void **state)
{
    (void)state;
    uint8_t key[CT_KEY_LEN];
    char hex[CT_SIG_HEX_LEN + 1];
    char sig[CT_SIG_HEX_LEN + 1];
    unhex(KEY_HEX, key, sizeof(key));
    assert_int_equal(ct_sig_sign(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), hex), 0);
    assert_string_equal(hex, SIG_HEX);
    assert_true(ct_sig_verify(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), SIG_HEX, 64));

    /* Every single changed character of the signature is refused. */
    for (size_t i = 0; i < CT_SIG_HEX_LEN; i++) {
        memcpy(sig, SIG_HEX, sizeof(sig));
        sig[i] = sig[i] == '0' ? '1' : '0';
        assert_false(ct_sig_verify(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), sig, 64));
    }
    /* Uppercase hex, short and long signatures, another topic, another payload byte. */
    memcpy(sig, SIG_HEX, sizeof(sig));
    sig[1] = 'B';
    assert_false(ct_sig_verify(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), sig, 64));
    assert_false(ct_sig_verify(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), SIG_HEX, 63));
    assert_false(ct_sig_verify(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), SIG_HEX, 0));
    assert_false(ct_sig_verify(key, "city/v1/air/hn-air-0002/up", 26, PAYLOAD, strlen(PAYLOAD),
                               SIG_HEX, 64));
    assert_false(
        ct_sig_verify(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD) - 1, SIG_HEX, 64));
    /* The newline separates topic and payload: moving bytes across it changes the MAC. */
    assert_int_equal(ct_sig_sign(key, "ab", 2, "c", 1, hex), 0);
    assert_int_equal(ct_sig_sign(key, "a", 1, "bc", 1, sig), 0);
    assert_string_not_equal(hex, sig);
    /* Empty payload is signed too. */
    assert_int_equal(ct_sig_sign(key, TOPIC, strlen(TOPIC), NULL, 0, hex), 0);
    assert_true(ct_sig_verify(key, TOPIC, strlen(TOPIC), NULL, 0, hex, 64));
}

/* ct_sig_verify_prepared answers as ct_sig_verify: the RFC-checked signature, each changed
 * character, other lengths, topics and payloads of every size across the block boundaries. */
static void test_sig_prepared(void **state)
{
    (void)state;
    uint8_t key[CT_KEY_LEN];
    struct ct_sig_key k;
    char sig[CT_SIG_HEX_LEN + 1];
    char payload[300];

    unhex(KEY_HEX, key, sizeof(key));
    assert_int_equal(ct_sig_key_prepare(key, &k), 0);
    assert_true(
        ct_sig_verify_prepared(&k, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), SIG_HEX, 64));
    for (size_t i = 0; i < CT_SIG_HEX_LEN; i++) {
        memcpy(sig, SIG_HEX, sizeof(sig));
        sig[i] = sig[i] == '0' ? '1' : '0';
        assert_false(
            ct_sig_verify_prepared(&k, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), sig, 64));
    }
    assert_false(
        ct_sig_verify_prepared(&k, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), SIG_HEX, 63));
    assert_false(ct_sig_verify_prepared(&k, "city/v1/air/hn-air-0002/up", 26, PAYLOAD,
                                        strlen(PAYLOAD), SIG_HEX, 64));
    for (size_t n = 0; n < sizeof(payload); n++) {
        payload[n] = (char)('a' + n % 26);
        assert_int_equal(ct_sig_sign(key, TOPIC, strlen(TOPIC), payload, n, sig), 0);
        assert_true(ct_sig_verify_prepared(&k, TOPIC, strlen(TOPIC), payload, n, sig, 64));
        assert_true(ct_sig_verify(key, TOPIC, strlen(TOPIC), payload, n, sig, 64));
        assert_false(ct_sig_verify_prepared(&k, TOPIC, strlen(TOPIC) - 1, payload, n, sig, 64));
    }
}

static void test_no_allocation(void **state)
{
    (void)state;
#if COUNT_ALLOCS
    uint8_t master[32], key[CT_KEY_LEN], okm[100], mac[32], longkey[131];
    char hex[CT_SIG_HEX_LEN + 1];
    unhex(MASTER_HEX, master, sizeof(master));
    memset(longkey, 0xaa, sizeof(longkey));
    g_allocs = 0;
    g_counting = 1;
    assert_int_equal(ct_sig_device_key(master, sizeof(master), "hn-air-0001", key), 0);
    assert_int_equal(ct_sig_sign(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), hex), 0);
    bool ok = ct_sig_verify(key, TOPIC, strlen(TOPIC), PAYLOAD, strlen(PAYLOAD), SIG_HEX, 64);
    assert_int_equal(ct_hmac_sha256(longkey, sizeof(longkey), "a", 1, "b", 1, mac), 0);
    assert_int_equal(ct_hkdf_sha256(NULL, 0, master, 32, NULL, 0, okm, sizeof(okm)), 0);
    g_counting = 0;
    assert_true(ok);
    assert_string_equal(hex, SIG_HEX);
    assert_int_equal(g_allocs, 0);
#else
    skip();
#endif
}

static void test_hex_decode(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(ct_hex_decode("00ffA0b1", 8, out, 4), 0);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0xa0);
    assert_int_equal(out[3], 0xb1);
    assert_int_equal(ct_hex_decode("00ff", 3, out, 1), CT_E_PARSE);
    assert_int_equal(ct_hex_decode("0g", 2, out, 1), CT_E_PARSE);
    assert_int_equal(ct_hex_decode("0 ", 2, out, 1), CT_E_PARSE);
    assert_int_equal(ct_hex_decode("00ff", 4, out, 1), CT_E_PARSE);
    assert_int_equal(ct_hex_decode("", 0, out, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_device_key_matches_openssl),
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_sig_prepared),
        cmocka_unit_test(test_no_allocation),
        cmocka_unit_test(test_hex_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
