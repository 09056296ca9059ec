/* dedup.c - per-device state table and the (boot, seq) duplicate/replay window. */
#include "col_dedup.h"

#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/bytes.h"

struct col_dedup {
    struct col_devstate **slots; /* open addressing; NULL = empty */
    size_t cap;                  /* power of two */
    size_t count;
    size_t max_devices;
    uint32_t window;
};

int col_dedup_create(size_t max_devices, uint32_t window, struct col_dedup **out)
{
    struct col_dedup *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return CT_E_NOMEM;
    }
    d->cap = 1024;
    d->slots = calloc(d->cap, sizeof(*d->slots));
    if (d->slots == NULL) {
        free(d);
        return CT_E_NOMEM;
    }
    d->max_devices = max_devices;
    d->window = window == 0 ? 1 : (window > COL_REPLAY_WINDOW_MAX ? COL_REPLAY_WINDOW_MAX : window);
    *out = d;
    return 0;
}

static int grow(struct col_dedup *d)
{
    size_t ncap = d->cap * 2;
    struct col_devstate **ns = calloc(ncap, sizeof(*ns));

    if (ns == NULL) {
        return CT_E_NOMEM;
    }
    for (size_t i = 0; i < d->cap; i++) {
        struct col_devstate *s = d->slots[i];
        if (s != NULL) {
            size_t j = ct_fnv1a64_str(s->id) & (ncap - 1);
            while (ns[j] != NULL) {
                j = (j + 1) & (ncap - 1);
            }
            ns[j] = s;
        }
    }
    free(d->slots);
    d->slots = ns;
    d->cap = ncap;
    return 0;
}

struct col_devstate *col_dedup_get(struct col_dedup *d, const char *id)
{
    size_t i = ct_fnv1a64_str(id) & (d->cap - 1);
    struct col_devstate *s;

    while (d->slots[i] != NULL) {
        if (strcmp(d->slots[i]->id, id) == 0) {
            return d->slots[i];
        }
        i = (i + 1) & (d->cap - 1);
    }
    if (d->count >= d->max_devices || strlen(id) > CT_ID_MAX) {
        return NULL;
    }
    if ((d->count + 1) * 2 > d->cap) {
        if (grow(d) != 0) {
            return NULL;
        }
        return col_dedup_get(d, id);
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    memcpy(s->id, id, strlen(id) + 1);
    s->online = -1;
    d->slots[i] = s;
    d->count++;
    return s;
}

static bool bit_get(const struct col_devstate *s, uint64_t i)
{
    return (s->bits[i / 64] >> (i % 64)) & 1u;
}

enum ct_reject col_dedup_check(const struct col_dedup *d, const struct col_devstate *s,
                               uint64_t boot, uint64_t seq)
{
    uint64_t back;

    if (!s->seen || boot > s->boot) {
        return CT_REJ_NONE;
    }
    if (boot < s->boot) {
        return CT_REJ_REPLAY;
    }
    if (seq > s->seq) {
        return CT_REJ_NONE;
    }
    back = s->seq - seq;
    if (back >= d->window) {
        return CT_REJ_REPLAY;
    }
    return bit_get(s, back) ? CT_REJ_DUPLICATE : CT_REJ_NONE;
}

/* Shifts the window so that bit 0 stands for a sequence number 'by' higher. */
static void shift(struct col_devstate *s, uint64_t by, uint32_t window)
{
    size_t words = (window + 63) / 64;

    if (by >= window) {
        memset(s->bits, 0, sizeof(s->bits));
        return;
    }
    size_t wshift = (size_t)(by / 64);
    unsigned bshift = (unsigned)(by % 64);
    for (size_t i = words; i-- > 0;) {
        uint64_t v = 0;
        if (i >= wshift) {
            v = s->bits[i - wshift] << bshift;
            if (bshift != 0 && i >= wshift + 1) {
                v |= s->bits[i - wshift - 1] >> (64 - bshift);
            }
        }
        s->bits[i] = v;
    }
}

void col_dedup_accept(struct col_dedup *d, struct col_devstate *s, uint64_t boot, uint64_t seq)
{
    if (!s->seen || boot > s->boot) {
        memset(s->bits, 0, sizeof(s->bits));
        s->seen = true;
        s->boot = boot;
        s->seq = seq;
        s->bits[0] = 1;
        return;
    }
    if (seq > s->seq) {
        shift(s, seq - s->seq, d->window);
        s->seq = seq;
        s->bits[0] |= 1;
        return;
    }
    uint64_t back = s->seq - seq;
    s->bits[back / 64] |= (uint64_t)1 << (back % 64);
}

void col_dedup_each(const struct col_dedup *d, void (*fn)(void *arg, const struct col_devstate *s),
                    void *arg)
{
    for (size_t i = 0; i < d->cap; i++) {
        if (d->slots[i] != NULL) {
            fn(arg, d->slots[i]);
        }
    }
}

uint32_t col_dedup_window(const struct col_dedup *d)
{
    return d->window;
}

size_t col_dedup_count(const struct col_dedup *d)
{
    return d->count;
}

void col_dedup_free(struct col_dedup *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->cap; i++) {
        free(d->slots[i]);
    }
    free(d->slots);
    free(d);
}
