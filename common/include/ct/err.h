/* ct/err.h - the project's one error space.
 *
 * Every action returns int: 0 on success, a negative CT_E_* code on failure. Predicates return
 * bool. Foreign codes (uv, CURLcode, mbedTLS, MQTTASYNC_*) are translated at the module edge, and
 * the edge logs the foreign name too. Values are explicit and never reused. */
#ifndef CT_ERR_H
#define CT_ERR_H

#define CT_ERR_MAP(XX)                                                                             \
    XX(OK, 0, "success")                                                                           \
    XX(NOMEM, -1, "out of memory")                                                                 \
    XX(INVAL, -2, "invalid argument")                                                              \
    XX(FULL, -3, "queue or buffer is full")                                                        \
    XX(RANGE, -4, "value out of range")                                                            \
    XX(PARSE, -5, "malformed input")                                                               \
    XX(IO, -6, "input/output error")                                                               \
    XX(CRYPTO, -7, "cryptographic failure")                                                        \
    XX(NOTFOUND, -8, "not found")                                                                  \
    XX(TOOBIG, -9, "too big for its limit")                                                        \
    XX(AGAIN, -10, "try again later")                                                              \
    XX(CORRUPT, -11, "corrupt data")                                                               \
    XX(STATE, -12, "wrong state for this call")                                                    \
    XX(NET, -13, "network error")                                                                  \
    XX(TIMEOUT, -14, "timed out")                                                                  \
    XX(EXISTS, -15, "already exists")

enum ct_err {
#define CT_ERR_ENUM(name, val, text) CT_E_##name = (val),
    CT_ERR_MAP(CT_ERR_ENUM)
#undef CT_ERR_ENUM
        CT_E__LAST = -16 /* never use! */
};

/* Returns a sentence for 'err' ("queue or buffer is full"); never NULL. */
const char *ct_strerror(int err);
/* Returns the code's name ("CT_E_FULL"); never NULL. */
const char *ct_err_name(int err);

#endif
