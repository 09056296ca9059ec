/* spool_format.c - byte layout of segments and records, and the validating segment cursor. */
#include "spool_int.h"

#include "ct/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

const unsigned char col_spool_rec_magic[4] = {0xC7, 0x5E, 0x52, 0x31};

uint32_t col_spool_crc(uint32_t crc, const void *p, size_t n)
{
    const Bytef *b = p;
    /* zlib takes uInt lengths; records are far below 4 GiB but stay general. */
    while (n > 0) {
        uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = (uint32_t)crc32(crc, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return crc;
}

void col_spool_seg_hdr_encode(uint8_t *h, uint64_t first_seq, uint64_t created_ms)
{
    memset(h, 0, SEG_HDR_LEN);
    memcpy(h, SEG_MAGIC, 8);
    ct_put_le16(h + 8, SEG_VERSION);
    ct_put_le16(h + 10, SEG_HDR_LEN);
    ct_put_le64(h + 16, first_seq);
    ct_put_le64(h + 24, created_ms);
    ct_put_le32(h + 32, col_spool_crc(0, h, 32));
}

bool col_spool_seg_hdr_decode(const uint8_t *h, uint64_t *first_seq, uint64_t *created_ms)
{
    if (memcmp(h, SEG_MAGIC, 8) != 0 || ct_get_le16(h + 8) != SEG_VERSION ||
        ct_get_le16(h + 10) != SEG_HDR_LEN || ct_get_le32(h + 32) != col_spool_crc(0, h, 32)) {
        return false;
    }
    *first_seq = ct_get_le64(h + 16);
    *created_ms = ct_get_le64(h + 24);
    return *first_seq > 0;
}

void col_spool_rec_hdr_encode(uint8_t *h, uint32_t crc_data, uint32_t len, uint64_t seq,
                              uint64_t time_ms)
{
    memcpy(h, col_spool_rec_magic, 4);
    ct_put_le32(h + 8, len);
    ct_put_le32(h + 12, 0);
    ct_put_le64(h + 16, seq);
    ct_put_le64(h + 24, time_ms);
    ct_put_le32(h + 4, col_spool_crc(crc_data, h + 8, REC_HDR_LEN - 8));
}

int col_spool_cur_init(struct seg_cur *c, int fd, uint64_t off, uint64_t end, uint32_t max_rec)
{
    size_t cap = (size_t)max_rec + REC_HDR_LEN;
    if (cap < READ_BUF_MIN) {
        cap = READ_BUF_MIN;
    }
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        return CT_E_NOMEM;
    }
    *c = (struct seg_cur){
        .fd = fd, .off = off, .end = end, .buf = buf, .cap = cap, .max_rec = max_rec};
    return 0;
}

void col_spool_cur_free(struct seg_cur *c)
{
    free(c->buf);
    c->buf = NULL;
}

/* Makes [off, off + n) available in the buffer, reading no byte at or past c->end. Returns a
 * pointer to it, or NULL with *err set (0: past the end; CT_E_IO). A file shorter than c->end is
 * the end for the scan at open, and a read error for a strict cursor (a reader: the spool wrote
 * those bytes, so missing ones must not read as "no more records"). */
static const uint8_t *load(struct seg_cur *c, uint64_t off, size_t n, int *err)
{
    *err = 0;
    if (off + n > c->end) {
        return NULL;
    }
    if (off >= c->boff && off + n <= c->boff + c->blen) {
        return c->buf + (off - c->boff);
    }
    uint64_t want = c->end - off;
    if (want > c->cap) {
        want = c->cap;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(c->fd, c->buf + got, (size_t)want - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            *err = CT_E_IO;
            c->blen = 0;
            return NULL;
        }
        if (r == 0) {
            break; /* the file is shorter than 'end' thought */
        }
        got += (size_t)r;
    }
    c->boff = off;
    c->blen = got;
    if (got < n && c->strict) {
        *err = CT_E_IO;
        c->blen = 0;
        return NULL;
    }
    if (got < n) {
        c->end = off + got;
        return NULL;
    }
    return c->buf;
}

/* Returns true when a whole valid record starts at 'off'; fills *v. */
static bool valid_at(struct seg_cur *c, uint64_t off, struct rec_view *v, int *err)
{
    const uint8_t *h = load(c, off, REC_HDR_LEN, err);
    if (h == NULL || memcmp(h, col_spool_rec_magic, 4) != 0) {
        return false;
    }
    uint32_t len = ct_get_le32(h + 8);
    if (len > c->max_rec || ct_get_le32(h + 12) != 0) {
        return false;
    }
    const uint8_t *r = load(c, off, REC_HDR_LEN + (size_t)len, err);
    if (r == NULL) {
        return false;
    }
    uint32_t crc = col_spool_crc(0, r + REC_HDR_LEN, len);
    crc = col_spool_crc(crc, r + 8, REC_HDR_LEN - 8);
    if (crc != ct_get_le32(r + 4)) {
        return false;
    }
    v->len = len;
    v->seq = ct_get_le64(r + 16);
    v->time_ms = ct_get_le64(r + 24);
    v->off = off;
    v->data = r + REC_HDR_LEN;
    return true;
}

/* Finds the first valid record at or after 'from'. Returns true with c->off on it. */
static bool resync(struct seg_cur *c, uint64_t from, int *err)
{
    uint64_t p = from;
    struct rec_view v;
    while (p + REC_HDR_LEN <= c->end) {
        size_t span = (size_t)((c->end - p) < c->cap ? (c->end - p) : c->cap);
        const uint8_t *w = load(c, p, span, err);
        if (w == NULL) {
            return false;
        }
        const uint8_t *hit = memchr(w, col_spool_rec_magic[0], span);
        if (hit == NULL) {
            p += span;
            continue;
        }
        uint64_t cand = p + (uint64_t)(hit - w);
        if (valid_at(c, cand, &v, err)) {
            c->off = cand;
            return true;
        }
        if (*err != 0) {
            return false;
        }
        p = cand + 1;
    }
    return false;
}

enum rec_res col_spool_cur_next(struct seg_cur *c, struct rec_view *v)
{
    int err = 0;
    if (c->off >= c->end) {
        return REC_END;
    }
    if (valid_at(c, c->off, v, &err)) {
        c->off += REC_HDR_LEN + (uint64_t)v->len;
        return REC_OK;
    }
    if (err != 0) {
        return REC_IOERR;
    }
    /* Damaged or partial. A plausible header whose frame runs past the end, or fewer bytes than
     * a header, is a torn tail unless a valid record follows. */
    bool partial = c->end - c->off < REC_HDR_LEN;
    if (!partial) {
        const uint8_t *h = load(c, c->off, REC_HDR_LEN, &err);
        if (h == NULL) {
            return err != 0 ? REC_IOERR : REC_TORN;
        }
        uint32_t len = ct_get_le32(h + 8);
        bool framed =
            memcmp(h, col_spool_rec_magic, 4) == 0 && len <= c->max_rec && ct_get_le32(h + 12) == 0;
        uint64_t next = c->off + REC_HDR_LEN + len;
        partial = framed && next > c->end;
        /* A damaged record whose frame is intact, followed by a valid record or the segment's
         * end, is skipped whole: nothing inside its data (which devices control) may be read as
         * a record. Only a damaged frame makes the reader search byte by byte. */
        struct rec_view next_v;
        if (framed && !partial && (next == c->end || valid_at(c, next, &next_v, &err))) {
            c->off = next;
            return REC_CORRUPT;
        }
        if (err != 0) {
            return REC_IOERR;
        }
    }
    if (resync(c, c->off + 1, &err)) {
        return REC_CORRUPT;
    }
    if (err != 0) {
        return REC_IOERR;
    }
    if (partial) {
        return REC_TORN;
    }
    c->off = c->end;
    return REC_CORRUPT;
}

int col_spool_seg_path(const struct col_spool *s, uint64_t first_seq, const char *suffix, char *out,
                       size_t cap)
{
    int n = snprintf(out, cap, "%s/" SEG_PREFIX "%020llu" SEG_SUFFIX "%s", s->dir,
                     (unsigned long long)first_seq, suffix);
    return (n < 0 || (size_t)n >= cap) ? CT_E_TOOBIG : 0;
}

void col_spool_log(const struct col_spool *s, const char *fmt, ...)
{
    if (s->cfg.log == NULL) {
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_arg, msg);
}

uint64_t col_spool_now(const struct col_spool *s)
{
    if (s->cfg.now_ms != NULL) {
        return s->cfg.now_ms(s->cfg.now_arg);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t col_spool_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void col_spool_seg_note_time(struct seg *g, uint64_t seq, uint64_t time_ms)
{
    if (g->nck > 0 && g->ck[g->nck - 1].time_ms / 1000u == time_ms / 1000u) {
        return;
    }
    if (g->nck >= CKPT_MAX) {
        return;
    }
    if (g->ck == NULL) {
        g->ck = malloc(CKPT_MAX * sizeof(*g->ck));
        if (g->ck == NULL) {
            return; /* the age gauge degrades to the segment's first checkpoint; never fatal */
        }
    }
    g->ck[g->nck++] = (struct ckpt){.seq = seq, .time_ms = time_ms};
}

struct seg *col_spool_segs_push(struct col_spool *s)
{
    if (s->nseg == s->capseg) {
        size_t cap = s->capseg == 0 ? 16 : s->capseg * 2;
        struct seg *n = realloc(s->segs, cap * sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        s->segs = n;
        s->capseg = cap;
    }
    struct seg *g = &s->segs[s->nseg++];
    memset(g, 0, sizeof(*g));
    return g;
}

void col_spool_segs_remove(struct col_spool *s, size_t i)
{
    free(s->segs[i].ck);
    memmove(&s->segs[i], &s->segs[i + 1], (s->nseg - i - 1) * sizeof(*s->segs));
    s->nseg--;
}
