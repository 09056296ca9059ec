/* ct/sig.h - device keys and message signatures (protocol.md section 3), over mbedTLS.
 *
 * Only bytes and lengths cross this header: callers never see mbedTLS types. */
#ifndef CT_SIG_H
#define CT_SIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CT_KEY_LEN 32
#define CT_SIG_HEX_LEN 64
#define CT_SIG_SALT "city-telemetry/v1"

/* RFC 5869 HKDF-SHA256. Returns 0, CT_E_INVAL (okm_len > 255*32) or CT_E_CRYPTO. */
int ct_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len);
/* RFC 2104/4231 HMAC-SHA256 of the concatenation of two parts (either may be empty).
 * Returns 0 or CT_E_CRYPTO. */
int ct_hmac_sha256(const uint8_t *key, size_t key_len, const void *a, size_t a_len, const void *b,
                   size_t b_len, uint8_t mac[32]);

/* device key = HKDF-SHA256(IKM = master, salt = "city-telemetry/v1", info = device_id, L = 32). */
int ct_sig_device_key(const uint8_t *master, size_t master_len, const char *device_id,
                      uint8_t key[CT_KEY_LEN]);
/* sig = lowercase hex of HMAC-SHA256(key, topic || "\n" || payload). 'hex' gets 64 chars + NUL. */
int ct_sig_sign(const uint8_t key[CT_KEY_LEN], const char *topic, size_t topic_len,
                const void *payload, size_t payload_len, char hex[CT_SIG_HEX_LEN + 1]);
/* True when 'sig' (sig_len chars, lowercase hex) is the signature; constant-time compare. */
bool ct_sig_verify(const uint8_t key[CT_KEY_LEN], const char *topic, size_t topic_len,
                   const void *payload, size_t payload_len, const char *sig, size_t sig_len);
/* A device key prepared for verifying many messages: the SHA-256 states after the key's inner and
 * outer padded blocks (RFC 2104), so that a signature costs two block compressions less than
 * ct_sig_verify. Plain words, no pointers: copy or zero it freely. It is key material: wipe it
 * when done. */
struct ct_sig_key {
    uint32_t inner[8];
    uint32_t outer[8];
};

/* Prepares 'key'. Returns 0 or CT_E_CRYPTO. */
int ct_sig_key_prepare(const uint8_t key[CT_KEY_LEN], struct ct_sig_key *out);
/* ct_sig_verify with a prepared key: the same answer for every input (test_sig_prepared). */
bool ct_sig_verify_prepared(const struct ct_sig_key *k, const char *topic, size_t topic_len,
                            const void *payload, size_t payload_len, const char *sig,
                            size_t sig_len);
/* Parses hex ("0a1b..") into bytes. Returns 0 or CT_E_PARSE. */
int ct_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len);

#endif
