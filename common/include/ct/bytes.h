/* ct/bytes.h - the project's one copy of the small byte helpers: little-endian integers in byte
 * arrays (the spool's, the checkpoint's and the firmware outbox's formats), FNV-1a hashes (hash
 * tables, ETags), UTF-8 sequences, CRC-32 (IEEE 802.3, the same values as zlib's crc32()) and hex
 * digits.
 *
 * Pure functions of their arguments: no allocation, no state, safe from any thread. */
#ifndef CT_BYTES_H
#define CT_BYTES_H
#include <stddef.h>
#include <stdint.h>

static inline void ct_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void ct_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void ct_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline uint16_t ct_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ct_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static inline uint64_t ct_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* FNV-1a, 64 bits, of 'len' bytes / of a NUL-terminated string. */
uint64_t ct_fnv1a64(const void *data, size_t len);
uint64_t ct_fnv1a64_str(const char *s);

/* CRC-32 (IEEE, reflected, as zlib and the firmware outbox): pass 0 to start, the previous value
 * to continue. Bitwise, no table: for the firmware's small records and the calibration blob. */
uint32_t ct_crc32(uint32_t crc, const void *data, size_t len);

/* Length of the valid UTF-8 sequence at p ('n' bytes available, n >= 1) per RFC 3629 (no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0 when it is not valid. */
size_t ct_utf8_seq(const unsigned char *p, size_t n);

/* The value of a hex digit (either case), or -1. */
int ct_hex_digit(int c);

#endif
