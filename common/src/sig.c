/* sig.c - device keys (HKDF-SHA256) and message signatures (HMAC-SHA256) over mbedTLS 2.28.
 * mbedTLS return codes are translated to CT_E_CRYPTO here and never leave this file. */
#include "ct/sig.h"

#include <string.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "ct/err.h"

#define SHA256_LEN 32

static const mbedtls_md_info_t *sha256(void)
{
    return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
}

int ct_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len)
{
    const mbedtls_md_info_t *md = sha256();
    if (okm == NULL || okm_len > 255 * SHA256_LEN || (ikm == NULL && ikm_len > 0) ||
        (salt == NULL && salt_len > 0) || (info == NULL && info_len > 0)) {
        return CT_E_INVAL;
    }
    if (md == NULL ||
        mbedtls_hkdf(md, salt, salt_len, ikm, ikm_len, info, info_len, okm, okm_len) != 0) {
        return CT_E_CRYPTO;
    }
    return 0;
}

int ct_hmac_sha256(const uint8_t *key, size_t key_len, const void *a, size_t a_len, const void *b,
                   size_t b_len, uint8_t mac[32])
{
    mbedtls_md_context_t ctx;
    const mbedtls_md_info_t *md = sha256();
    int rc = CT_E_CRYPTO;

    if ((key == NULL && key_len > 0) || (a == NULL && a_len > 0) || (b == NULL && b_len > 0)) {
        return CT_E_INVAL;
    }
    mbedtls_md_init(&ctx);
    if (md == NULL || mbedtls_md_setup(&ctx, md, 1) != 0) {
        goto out_free;
    }
    if (mbedtls_md_hmac_starts(&ctx, key, key_len) != 0) {
        goto out_free;
    }
    if (a_len > 0 && mbedtls_md_hmac_update(&ctx, a, a_len) != 0) {
        goto out_free;
    }
    if (b_len > 0 && mbedtls_md_hmac_update(&ctx, b, b_len) != 0) {
        goto out_free;
    }
    if (mbedtls_md_hmac_finish(&ctx, mac) != 0) {
        goto out_free;
    }
    rc = 0;
out_free:
    mbedtls_md_free(&ctx);
    return rc;
}

int ct_sig_device_key(const uint8_t *master, size_t master_len, const char *device_id,
                      uint8_t key[CT_KEY_LEN])
{
    if (device_id == NULL) {
        return CT_E_INVAL;
    }
    return ct_hkdf_sha256((const uint8_t *)CT_SIG_SALT, strlen(CT_SIG_SALT), master, master_len,
                          (const uint8_t *)device_id, strlen(device_id), key, CT_KEY_LEN);
}

/* HMAC-SHA256(key, topic || "\n" || payload): the topic and its newline are hashed as part a. */
static int sig_mac(const uint8_t key[CT_KEY_LEN], const char *topic, size_t topic_len,
                   const void *payload, size_t payload_len, uint8_t mac[SHA256_LEN])
{
    mbedtls_md_context_t ctx;
    const mbedtls_md_info_t *md = sha256();
    int rc = CT_E_CRYPTO;

    if (key == NULL || (topic == NULL && topic_len > 0) || (payload == NULL && payload_len > 0)) {
        return CT_E_INVAL;
    }
    mbedtls_md_init(&ctx);
    if (md == NULL || mbedtls_md_setup(&ctx, md, 1) != 0 ||
        mbedtls_md_hmac_starts(&ctx, key, CT_KEY_LEN) != 0) {
        goto out_free;
    }
    if ((topic_len > 0 && mbedtls_md_hmac_update(&ctx, (const unsigned char *)topic, topic_len)) ||
        mbedtls_md_hmac_update(&ctx, (const unsigned char *)"\n", 1) != 0 ||
        (payload_len > 0 && mbedtls_md_hmac_update(&ctx, payload, payload_len) != 0) ||
        mbedtls_md_hmac_finish(&ctx, mac) != 0) {
        goto out_free;
    }
    rc = 0;
out_free:
    mbedtls_md_free(&ctx);
    return rc;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int ct_sig_sign(const uint8_t key[CT_KEY_LEN], const char *topic, size_t topic_len,
                const void *payload, size_t payload_len, char hex[CT_SIG_HEX_LEN + 1])
{
    uint8_t mac[SHA256_LEN];
    int rc = sig_mac(key, topic, topic_len, payload, payload_len, mac);
    if (rc != 0) {
        hex[0] = '\0';
        return rc;
    }
    hex_encode(mac, sizeof(mac), hex);
    mbedtls_platform_zeroize(mac, sizeof(mac));
    return 0;
}

bool ct_sig_verify(const uint8_t key[CT_KEY_LEN], const char *topic, size_t topic_len,
                   const void *payload, size_t payload_len, const char *sig, size_t sig_len)
{
    char want[CT_SIG_HEX_LEN + 1];
    unsigned diff = 0;

    if (sig == NULL || sig_len != CT_SIG_HEX_LEN) {
        return false;
    }
    if (ct_sig_sign(key, topic, topic_len, payload, payload_len, want) != 0) {
        return false;
    }
    /* Constant time: every byte is compared whatever the earlier bytes were. */
    for (size_t i = 0; i < CT_SIG_HEX_LEN; i++) {
        diff |= (unsigned)(unsigned char)(want[i] ^ sig[i]);
    }
    mbedtls_platform_zeroize(want, sizeof(want));
    return diff == 0;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int ct_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
    /* The text must be exactly 2 * out_len hex digits (either case). */
    if (hex == NULL || out == NULL || hex_len != 2 * out_len) {
        return CT_E_PARSE;
    }
    for (size_t i = 0; i < out_len; i++) {
        int hi = hex_nibble(hex[2 * i]);
        int lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return CT_E_PARSE;
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return 0;
}
