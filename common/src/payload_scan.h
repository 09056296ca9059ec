/* payload_scan.h - private to the payload decoder (library ct_json): the lexical pass over the
 * raw payload bytes and the shared reason writer. Not installed, not part of the public API. */
#ifndef CT_PAYLOAD_SCAN_H
#define CT_PAYLOAD_SCAN_H
#include <stdbool.h>
#include <stddef.h>

#include "ct/payload.h"

enum ct_scan_role { CT_SCAN_OTHER = 0, CT_SCAN_TOP, CT_SCAN_M };

#define CT_SCAN_FLAGS 32
/* Longest number token accepted (cJSON 1.7.15 reads at most 63 characters of a number). */
#define CT_SCAN_NUMBER_MAX 63

/* Whether the number token of a top-level member or of a member of `m` was an integer token
 * (no fraction, no exponent). Only keys of at most CT_MEMBER_NAME_MAX bytes are noted. */
struct ct_scan_flag {
    enum ct_scan_role parent;
    char key[CT_MEMBER_NAME_MAX + 1];
    bool is_int;
};

struct ct_scan_result {
    struct ct_scan_flag flags[CT_SCAN_FLAGS];
    size_t nflags;
};

/* Checks 'len' bytes of 'buf' (not NUL-terminated; len <= CT_PAYLOAD_MAX) against the strict
 * JSON grammar and the lexical rules of ct_payload_decode, and refuses number tokens longer than
 * CT_SCAN_NUMBER_MAX characters. Returns 0 with *res filled, or
 * CT_E_PARSE with *why filled (CT_REJ_UTF8 or CT_REJ_JSON, member path, sentence). */
int ct_payload_scan(const char *buf, size_t len, struct ct_scan_result *res, struct ct_reason *why);

/* True when the member 'key' of 'parent' (top level or `m`) was noted as an integer token. */
bool ct_scan_is_int(const struct ct_scan_result *res, enum ct_scan_role parent, const char *key);

/* Fills *why with 'code', the member 'path' ("" for none) and the sentence
 * "member \"<path>\": <fmt...>" (or "payload: <fmt...>"). Always returns CT_E_PARSE. */
int ct_payload_fail(struct ct_reason *why, enum ct_reject code, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Appends NUL-terminated 'src' to the NUL-terminated text in 'dst' (cap bytes), truncating at a
 * UTF-8 sequence boundary. */
void ct_strlcat(char *dst, const char *src, size_t cap);

#endif
