/* fuzz_util.h - small helpers shared by the libFuzzer targets: a cursor over the fuzzer's bytes
 * and a failure report that aborts (so libFuzzer saves the input). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz {
    const uint8_t *p;
    size_t n;
};

/* Takes one byte; 0 when the input is exhausted. */
static inline uint8_t fz_u8(struct fz *f)
{
    if (f->n == 0) {
        return 0;
    }
    uint8_t b = f->p[0];
    f->p++;
    f->n--;
    return b;
}

static inline uint64_t fz_u64(struct fz *f)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | fz_u8(f);
    }
    return v;
}

/* Copies a string of up to (length byte % max) bytes into out (cap > max), stopping at a NUL:
 * always NUL-terminated. */
static inline void fz_str(struct fz *f, char *out, size_t cap, size_t max)
{
    size_t want = fz_u8(f) % (max + 1);
    size_t k = 0;
    while (k < want && f->n > 0 && k + 1 < cap) {
        out[k] = (char)fz_u8(f);
        if (out[k] == '\0') {
            break;
        }
        k++;
    }
    out[k] = '\0';
}

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
