/* mqtt_tls.h - internal: TLS for col_mqtt with OpenSSL over two memory BIOs.
 *
 * The socket stays libuv's: ciphertext read from the stream is fed in (col_mqtt_tls_feed),
 * plaintext comes out of col_mqtt_tls_read; plaintext to send goes in with col_mqtt_tls_write
 * and the ciphertext to write to the stream is drained with col_mqtt_tls_drain. Nothing here
 * blocks or touches a file descriptor. Loop thread only. */
#ifndef MQTT_TLS_H
#define MQTT_TLS_H
#include <stdbool.h>
#include <stddef.h>

#include "ct/buf.h"

struct col_mqtt_tls_ctx; /* certificates and verification settings; shared by connections */
struct col_mqtt_tls;     /* one connection */

/* Loads the CA file (NULL: the system's default CAs), and the client certificate and key when
 * both are given. Returns 0, CT_E_INVAL (why filled) or CT_E_NOMEM. */
int col_mqtt_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                         struct col_mqtt_tls_ctx **out, char *why, size_t why_len);
void col_mqtt_tls_ctx_free(struct col_mqtt_tls_ctx *x);

/* A client session for 'host': SNI and a name check for names, an IP check for addresses. */
int col_mqtt_tls_new(struct col_mqtt_tls_ctx *x, const char *host, struct col_mqtt_tls **out);
void col_mqtt_tls_free(struct col_mqtt_tls *t);

int col_mqtt_tls_feed(struct col_mqtt_tls *t, const void *p, size_t n);
/* Advances the handshake: 1 done, 0 needs more input, CT_E_CRYPTO failed (why filled). */
int col_mqtt_tls_handshake(struct col_mqtt_tls *t, char *why, size_t why_len);
bool col_mqtt_tls_ready(const struct col_mqtt_tls *t);
/* Encrypts all of p (after the handshake). Returns 0 or CT_E_CRYPTO. */
int col_mqtt_tls_write(struct col_mqtt_tls *t, const void *p, size_t n);
/* Decrypts into p[0..cap): bytes (> 0), 0 when more input is needed, CT_E_NET when the peer
 * closed, CT_E_CRYPTO on a TLS error (why filled). */
long col_mqtt_tls_read(struct col_mqtt_tls *t, void *p, size_t cap, char *why, size_t why_len);
/* Appends the pending ciphertext to 'out'. Returns 0, CT_E_TOOBIG or CT_E_NOMEM. */
int col_mqtt_tls_drain(struct col_mqtt_tls *t, struct ct_buf *out);

#endif
