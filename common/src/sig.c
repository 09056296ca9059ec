/* sig.c - device keys (HKDF-SHA256, RFC 5869) and message signatures (HMAC-SHA256, RFC 2104)
 * over mbedTLS 2.28's SHA-256. HMAC and HKDF are written here on stack mbedtls_sha256_context
 * values, so signing and verifying never allocate (mbedtls_md_setup() would, and an allocation
 * failure would turn a valid signature into a bad one). mbedTLS return codes are translated to
 * CT_E_CRYPTO here and never leave this file; key material is wiped from the stack. */
#include "ct/sig.h"

#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "ct/err.h"
#include "ct/bytes.h"

#define SHA256_LEN 32
#define SHA256_BLOCK 64

/* One HMAC-SHA256 in progress: the inner hash, and the key XOR opad for the outer one. */
struct hmac {
    mbedtls_sha256_context inner;
    uint8_t okey[SHA256_BLOCK];
};

/* Starts HMAC(key): a key longer than a block is hashed first (RFC 2104), then zero-padded.
 * On success the caller must end with hmac_finish() or hmac_abort(). */
static int hmac_start(struct hmac *h, const uint8_t *key, size_t key_len)
{
    uint8_t k[SHA256_BLOCK];
    uint8_t ikey[SHA256_BLOCK];
    int rc = 0;

    memset(k, 0, sizeof(k));
    mbedtls_sha256_init(&h->inner);
    if (key_len > SHA256_BLOCK) {
        rc = mbedtls_sha256_ret(key, key_len, k, 0);
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (size_t i = 0; i < SHA256_BLOCK; i++) {
        ikey[i] = (uint8_t)(k[i] ^ 0x36);
        h->okey[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    if (rc == 0) {
        rc = mbedtls_sha256_starts_ret(&h->inner, 0);
    }
    if (rc == 0) {
        rc = mbedtls_sha256_update_ret(&h->inner, ikey, sizeof(ikey));
    }
    mbedtls_platform_zeroize(k, sizeof(k));
    mbedtls_platform_zeroize(ikey, sizeof(ikey));
    if (rc != 0) {
        mbedtls_sha256_free(&h->inner);
        mbedtls_platform_zeroize(h->okey, sizeof(h->okey));
        return CT_E_CRYPTO;
    }
    return 0;
}

static int hmac_update(struct hmac *h, const void *data, size_t len)
{
    if (len == 0) {
        return 0;
    }
    return mbedtls_sha256_update_ret(&h->inner, data, len) == 0 ? 0 : CT_E_CRYPTO;
}

/* Wipes and releases 'h' without a result. */
static void hmac_abort(struct hmac *h)
{
    mbedtls_sha256_free(&h->inner);
    mbedtls_platform_zeroize(h->okey, sizeof(h->okey));
}

/* mac = H(key ^ opad || H(key ^ ipad || message)); releases 'h' whatever happens. */
static int hmac_finish(struct hmac *h, uint8_t mac[SHA256_LEN])
{
    uint8_t ihash[SHA256_LEN];
    mbedtls_sha256_context outer;
    int rc = mbedtls_sha256_finish_ret(&h->inner, ihash);

    mbedtls_sha256_init(&outer);
    if (rc == 0) {
        rc = mbedtls_sha256_starts_ret(&outer, 0);
    }
    if (rc == 0) {
        rc = mbedtls_sha256_update_ret(&outer, h->okey, sizeof(h->okey));
    }
    if (rc == 0) {
        rc = mbedtls_sha256_update_ret(&outer, ihash, sizeof(ihash));
    }
    if (rc == 0) {
        rc = mbedtls_sha256_finish_ret(&outer, mac);
    }
    mbedtls_sha256_free(&outer);
    mbedtls_platform_zeroize(ihash, sizeof(ihash));
    hmac_abort(h);
    return rc == 0 ? 0 : CT_E_CRYPTO;
}

/* HMAC-SHA256 of up to three parts; NULL parts of length 0 are skipped. */
static int hmac3(const uint8_t *key, size_t key_len, const void *a, size_t a_len, const void *b,
                 size_t b_len, const void *c, size_t c_len, uint8_t mac[SHA256_LEN])
{
    struct hmac h;
    int rc = hmac_start(&h, key, key_len);
    if (rc != 0) {
        return rc;
    }
    rc = hmac_update(&h, a, a_len);
    if (rc == 0) {
        rc = hmac_update(&h, b, b_len);
    }
    if (rc == 0) {
        rc = hmac_update(&h, c, c_len);
    }
    if (rc != 0) {
        hmac_abort(&h);
        return rc;
    }
    return hmac_finish(&h, mac);
}

int ct_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len)
{
    uint8_t prk[SHA256_LEN];
    uint8_t t[SHA256_LEN];
    size_t t_len = 0;
    size_t done = 0;
    int rc;

    if (okm == NULL || okm_len > 255 * SHA256_LEN || (ikm == NULL && ikm_len > 0) ||
        (salt == NULL && salt_len > 0) || (info == NULL && info_len > 0)) {
        return CT_E_INVAL;
    }
    /* Extract: PRK = HMAC(salt, IKM). No salt means HashLen zero bytes, which HMAC pads to the
     * same block as an empty key. */
    rc = hmac3(salt, salt_len, ikm, ikm_len, NULL, 0, NULL, 0, prk);
    /* Expand: T(i) = HMAC(PRK, T(i-1) || info || i), OKM = the first okm_len bytes of T(1)... */
    for (unsigned i = 1; rc == 0 && done < okm_len; i++) {
        uint8_t counter = (uint8_t)i;
        rc = hmac3(prk, sizeof(prk), t, t_len, info, info_len, &counter, 1, t);
        if (rc == 0) {
            size_t n = okm_len - done < SHA256_LEN ? okm_len - done : SHA256_LEN;
            memcpy(okm + done, t, n);
            done += n;
            t_len = SHA256_LEN;
        }
    }
    mbedtls_platform_zeroize(prk, sizeof(prk));
    mbedtls_platform_zeroize(t, sizeof(t));
    if (rc != 0) {
        mbedtls_platform_zeroize(okm, okm_len);
    }
    return rc;
}

int ct_hmac_sha256(const uint8_t *key, size_t key_len, const void *a, size_t a_len, const void *b,
                   size_t b_len, uint8_t mac[32])
{
    if ((key == NULL && key_len > 0) || (a == NULL && a_len > 0) || (b == NULL && b_len > 0)) {
        return CT_E_INVAL;
    }
    return hmac3(key, key_len, a, a_len, b, b_len, NULL, 0, mac);
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

/* HMAC-SHA256(key, topic || "\n" || payload). */
static int sig_mac(const uint8_t key[CT_KEY_LEN], const char *topic, size_t topic_len,
                   const void *payload, size_t payload_len, uint8_t mac[SHA256_LEN])
{
    if (key == NULL || (topic == NULL && topic_len > 0) || (payload == NULL && payload_len > 0)) {
        return CT_E_INVAL;
    }
    return hmac3(key, CT_KEY_LEN, topic, topic_len, "\n", 1, payload, payload_len, mac);
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

/* A context that has hashed exactly one 64-byte block whose resulting state is 'state'
 * (mbedTLS 2.28's context fields are public: total counts bytes, buffer holds none). */
static int resume_block(mbedtls_sha256_context *c, const uint32_t state[8])
{
    mbedtls_sha256_init(c);
    if (mbedtls_sha256_starts_ret(c, 0) != 0) {
        return CT_E_CRYPTO;
    }
    memcpy(c->state, state, sizeof(c->state));
    c->total[0] = SHA256_BLOCK;
    c->total[1] = 0;
    return 0;
}

int ct_sig_key_prepare(const uint8_t key[CT_KEY_LEN], struct ct_sig_key *out)
{
    uint8_t pad[SHA256_BLOCK];
    mbedtls_sha256_context c;
    int rc = 0;

    for (int half = 0; half < 2 && rc == 0; half++) {
        memset(pad, half == 0 ? 0x36 : 0x5c, sizeof(pad));
        for (size_t i = 0; i < CT_KEY_LEN; i++) {
            pad[i] = (uint8_t)(key[i] ^ (half == 0 ? 0x36 : 0x5c));
        }
        mbedtls_sha256_init(&c);
        rc = mbedtls_sha256_starts_ret(&c, 0) == 0 &&
                     mbedtls_sha256_update_ret(&c, pad, sizeof(pad)) == 0
                 ? 0
                 : CT_E_CRYPTO;
        if (rc == 0) {
            memcpy(half == 0 ? out->inner : out->outer, c.state, sizeof(out->inner));
        }
        mbedtls_sha256_free(&c);
    }
    mbedtls_platform_zeroize(pad, sizeof(pad));
    if (rc != 0) {
        mbedtls_platform_zeroize(out, sizeof(*out));
    }
    return rc;
}

bool ct_sig_verify_prepared(const struct ct_sig_key *k, const char *topic, size_t topic_len,
                            const void *payload, size_t payload_len, const char *sig,
                            size_t sig_len)
{
    mbedtls_sha256_context c;
    uint8_t ihash[SHA256_LEN];
    uint8_t mac[SHA256_LEN];
    char want[CT_SIG_HEX_LEN + 1];
    unsigned diff = 0;
    int rc;

    if (k == NULL || sig == NULL || sig_len != CT_SIG_HEX_LEN || (topic == NULL && topic_len > 0) ||
        (payload == NULL && payload_len > 0)) {
        return false;
    }
    rc = resume_block(&c, k->inner);
    if (rc == 0 && topic_len > 0) {
        rc = mbedtls_sha256_update_ret(&c, (const uint8_t *)topic, topic_len);
    }
    if (rc == 0) {
        rc = mbedtls_sha256_update_ret(&c, (const uint8_t *)"\n", 1);
    }
    if (rc == 0 && payload_len > 0) {
        rc = mbedtls_sha256_update_ret(&c, payload, payload_len);
    }
    if (rc == 0) {
        rc = mbedtls_sha256_finish_ret(&c, ihash);
    }
    mbedtls_sha256_free(&c);
    if (rc == 0) {
        rc = resume_block(&c, k->outer);
    }
    if (rc == 0) {
        rc = mbedtls_sha256_update_ret(&c, ihash, sizeof(ihash));
    }
    if (rc == 0) {
        rc = mbedtls_sha256_finish_ret(&c, mac);
    }
    mbedtls_sha256_free(&c);
    mbedtls_platform_zeroize(ihash, sizeof(ihash));
    if (rc != 0) {
        mbedtls_platform_zeroize(mac, sizeof(mac));
        return false;
    }
    hex_encode(mac, sizeof(mac), want);
    mbedtls_platform_zeroize(mac, sizeof(mac));
    /* Constant time: every byte is compared whatever the earlier bytes were. */
    for (size_t i = 0; i < CT_SIG_HEX_LEN; i++) {
        diff |= (unsigned)(unsigned char)(want[i] ^ sig[i]);
    }
    mbedtls_platform_zeroize(want, sizeof(want));
    return diff == 0;
}

int ct_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
    /* The text must be exactly 2 * out_len hex digits (either case). */
    if (hex == NULL || out == NULL || hex_len != 2 * out_len) {
        return CT_E_PARSE;
    }
    for (size_t i = 0; i < out_len; i++) {
        int hi = ct_hex_digit(hex[2 * i]);
        int lo = ct_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return CT_E_PARSE;
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return 0;
}
