/* mqtt_tls.c - see mqtt_tls.h. */
#include "mqtt_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"

struct col_mqtt_tls_ctx {
    SSL_CTX *ctx;
};

struct col_mqtt_tls {
    SSL *ssl;
    BIO *rbio; /* ciphertext in (owned by ssl) */
    BIO *wbio; /* ciphertext out (owned by ssl) */
    bool ready;
};

static void why_ssl(char *why, size_t why_len, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
    }
    ERR_clear_error();
    snprintf(why, why_len, "%s%s%s", what, buf[0] != '\0' ? ": " : "", buf);
}

int col_mqtt_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                         struct col_mqtt_tls_ctx **out, char *why, size_t why_len)
{
    struct col_mqtt_tls_ctx *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        return CT_E_NOMEM;
    }
    x->ctx = SSL_CTX_new(TLS_client_method());
    if (x->ctx == NULL) {
        free(x);
        return CT_E_NOMEM;
    }
    SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file != NULL ? SSL_CTX_load_verify_locations(x->ctx, ca_file, NULL)
                             : SSL_CTX_set_default_verify_paths(x->ctx);
    char what[300];
    if (ok != 1) {
        snprintf(what, sizeof(what), "cannot load the CA file %s", ca_file ? ca_file : "(system)");
        why_ssl(why, why_len, what);
        goto fail;
    }
    if (cert_file != NULL || key_file != NULL) {
        if (cert_file == NULL || key_file == NULL) {
            snprintf(why, why_len, "a client certificate needs both cert_file and key_file");
            goto fail;
        }
        if (SSL_CTX_use_certificate_chain_file(x->ctx, cert_file) != 1) {
            snprintf(what, sizeof(what), "cannot load the client certificate %s", cert_file);
            why_ssl(why, why_len, what);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(x->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(x->ctx) != 1) {
            snprintf(what, sizeof(what), "cannot load the client key %s", key_file);
            why_ssl(why, why_len, what);
            goto fail;
        }
    }
    *out = x;
    return 0;
fail:
    SSL_CTX_free(x->ctx);
    free(x);
    return CT_E_INVAL;
}

void col_mqtt_tls_ctx_free(struct col_mqtt_tls_ctx *x)
{
    if (x != NULL) {
        SSL_CTX_free(x->ctx);
        free(x);
    }
}

int col_mqtt_tls_new(struct col_mqtt_tls_ctx *x, const char *host, struct col_mqtt_tls **out)
{
    struct col_mqtt_tls *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return CT_E_NOMEM;
    }
    t->ssl = SSL_new(x->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        goto fail;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* ssl owns both from here */
    SSL_set_connect_state(t->ssl);
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    if (is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1) {
            goto fail_ssl;
        }
    } else {
        if (SSL_set_tlsext_host_name(t->ssl, host) != 1 || SSL_set1_host(t->ssl, host) != 1) {
            goto fail_ssl;
        }
    }
    *out = t;
    return 0;
fail:
    BIO_free(t->rbio);
    BIO_free(t->wbio);
fail_ssl:
    SSL_free(t->ssl);
    free(t);
    ERR_clear_error();
    return CT_E_NOMEM;
}

void col_mqtt_tls_free(struct col_mqtt_tls *t)
{
    if (t != NULL) {
        SSL_free(t->ssl);
        free(t);
    }
}

int col_mqtt_tls_feed(struct col_mqtt_tls *t, const void *p, size_t n)
{
    while (n > 0) {
        int w = BIO_write(t->rbio, p, n > 65536 ? 65536 : (int)n);
        if (w <= 0) {
            return CT_E_NOMEM;
        }
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

int col_mqtt_tls_handshake(struct col_mqtt_tls *t, char *why, size_t why_len)
{
    if (t->ready) {
        return 1;
    }
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->ready = true;
        return 1;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK) {
        snprintf(why, why_len, "TLS handshake: certificate verify failed: %s",
                 X509_verify_cert_error_string(v));
        ERR_clear_error();
    } else {
        why_ssl(why, why_len, "TLS handshake failed");
    }
    return CT_E_CRYPTO;
}

bool col_mqtt_tls_ready(const struct col_mqtt_tls *t)
{
    return t->ready;
}

int col_mqtt_tls_write(struct col_mqtt_tls *t, const void *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(t->ssl, p, n > 1u << 30 ? 1 << 30 : (int)n);
        if (w <= 0) {
            ERR_clear_error();
            return CT_E_CRYPTO;
        }
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

long col_mqtt_tls_read(struct col_mqtt_tls *t, void *p, size_t cap, char *why, size_t why_len)
{
    int r = SSL_read(t->ssl, p, cap > 1u << 30 ? 1 << 30 : (int)cap);
    if (r > 0) {
        return r;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(why, why_len, "TLS closed by the peer");
        return CT_E_NET;
    }
    why_ssl(why, why_len, "TLS read failed");
    return CT_E_CRYPTO;
}

int col_mqtt_tls_drain(struct col_mqtt_tls *t, struct ct_buf *out)
{
    char tmp[16384];
    for (;;) {
        int n = BIO_read(t->wbio, tmp, sizeof(tmp));
        if (n <= 0) {
            return 0;
        }
        int rc = ct_buf_add(out, tmp, (size_t)n);
        if (rc != 0) {
            return rc;
        }
    }
}
