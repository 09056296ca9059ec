/* flow_ckpt.c - the flow's checkpoint: what must survive a restart besides the journal.
 *
 * The file <spool.dir>/flow.state holds, at the moment it was written:
 * - P, the last journal record the pipeline processed, and C, the commit point written with it;
 * - for each record in (C, P], whether the pipeline accepted it (one bit);
 * - each device's (boot, seq) replay state (newest accepted and the window's bitmap).
 * It is written (temporary file, fdatasync unless spool.fsync is none, rename) by a libuv
 * worker, and only then is the journal committed up to C: the journal never forgets a record the
 * checkpoint does not cover. After a restart, records up to C are skipped (stored already),
 * records in (C, P] are accepted again without the duplicate check if they were accepted before
 * and dropped silently (already counted) if they were rejected, and later records go through
 * every check against the restored state. So a captured message replayed after a restart is a
 * duplicate (tests/e2e/test_dur_replay.py), and no record accepted before a SIGKILL is lost as
 * its own duplicate (tests/e2e/test_dur_kill.py).
 *
 * Format (little-endian): "CTF1", u32 version 1, u64 P, u64 C, u64 first verdict word, u64
 * verdict words, u32 window bits, u32 devices, the verdict words, then per device: u8 id length,
 * id, u64 boot, u64 seq, the window's words; last a CRC-32 (zlib) of everything before it. A file
 * that does not check out is logged and ignored: the replay then checks every record against an
 * empty state (nothing is lost; a replayed capture within the journal could pass once). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "flow_int.h"
#include "col_obs.h"
#include "ct/bytes.h"
#include "ct/err.h"

#define CKPT_MAGIC 0x31465443u /* "CTF1" */
#define CKPT_VERSION 1u
#define CKPT_MIN_INTERVAL_MS 1000

static void put32(struct ct_buf *b, uint32_t v, int *rc)
{
    uint8_t p[4];
    ct_put_le32(p, v);
    *rc = *rc ? *rc : ct_buf_add(b, p, 4);
}

static void put64(struct ct_buf *b, uint64_t v, int *rc)
{
    uint8_t p[8];
    ct_put_le64(p, v);
    *rc = *rc ? *rc : ct_buf_add(b, p, 8);
}

struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad;
};

static uint64_t get(struct rd *r, int n)
{
    uint64_t v = 0;

    if (r->bad || r->len - r->off < (size_t)n) {
        r->bad = true;
        return 0;
    }
    for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | r->p[r->off + (size_t)i];
    }
    r->off += (size_t)n;
    return v;
}

/* ---- verdicts of processed, uncommitted records ---- */

void flow_verdict_set(struct col_flow *f, uint64_t seq, bool accepted)
{
    uint64_t w = (seq - 1) / 64;
    size_t i;

    if (w < f->vw_base) {
        return;
    }
    i = (size_t)(w - f->vw_base);
    if (i >= f->vw_cap) {
        size_t ncap = f->vw_cap ? f->vw_cap : 64;
        uint64_t *n;
        while (ncap <= i) {
            ncap *= 2;
        }
        n = realloc(f->vw, ncap * sizeof(*n));
        if (n == NULL) {
            /* Without the bit the record counts as rejected at a restart: logged once. */
            if (!f->vw_nomem) {
                col_log(COL_LOG_ERROR, "flow", "out of memory for the checkpoint's verdicts");
            }
            f->vw_nomem = true;
            return;
        }
        memset(n + f->vw_cap, 0, (ncap - f->vw_cap) * sizeof(*n));
        f->vw = n;
        f->vw_cap = ncap;
    }
    if (accepted) {
        f->vw[i] |= (uint64_t)1 << ((seq - 1) % 64);
    } else {
        f->vw[i] &= ~((uint64_t)1 << ((seq - 1) % 64));
    }
}

/* Forgets the verdicts of records at or below 'c'. */
static void verdict_trim(struct col_flow *f, uint64_t c)
{
    uint64_t nb = c / 64; /* the word of record c + 1 */
    size_t drop;

    if (nb <= f->vw_base) {
        return;
    }
    drop = (size_t)(nb - f->vw_base);
    if (drop >= f->vw_cap) {
        memset(f->vw, 0, f->vw_cap * sizeof(*f->vw));
    } else {
        memmove(f->vw, f->vw + drop, (f->vw_cap - drop) * sizeof(*f->vw));
        memset(f->vw + f->vw_cap - drop, 0, drop * sizeof(*f->vw));
    }
    f->vw_base = nb;
}

/* ---- the loaded checkpoint ---- */

bool flow_ckpt_known(const struct col_flow *f, uint64_t seq)
{
    return seq > f->ck_committed && seq <= f->ck_processed;
}

bool flow_ckpt_accepted(const struct col_flow *f, uint64_t seq)
{
    uint64_t w = (seq - 1) / 64;

    if (w < f->ck_vbase || w - f->ck_vbase >= f->ck_nwords) {
        return false;
    }
    return (f->ck_vw[w - f->ck_vbase] >> ((seq - 1) % 64)) & 1u;
}

static void ckpt_path(const struct col_flow *f, char *out, size_t cap, const char *suffix)
{
    snprintf(out, cap, "%s/flow.state%s", f->cfg.spool_dir, suffix);
}

static int parse(struct col_flow *f, const uint8_t *p, size_t len)
{
    struct rd r = {p, len, 0, false};
    struct col_dedup *d = col_pipeline_devices(f->parts.pipeline);
    uint64_t pr;
    uint64_t c;
    uint64_t nwords;
    uint32_t window;
    uint32_t ndev;
    size_t wwords;

    if (len < 4 || (uint32_t)crc32(0L, p, (uInt)(len - 4)) !=
                       (uint32_t)(p[len - 4] | p[len - 3] << 8 | p[len - 2] << 16 |
                                  (uint32_t)p[len - 1] << 24)) {
        return CT_E_CORRUPT;
    }
    r.len = len - 4;
    if (get(&r, 4) != CKPT_MAGIC || get(&r, 4) != CKPT_VERSION) {
        return CT_E_CORRUPT;
    }
    pr = get(&r, 8);
    c = get(&r, 8);
    f->ck_vbase = get(&r, 8);
    nwords = get(&r, 8);
    window = (uint32_t)get(&r, 4);
    ndev = (uint32_t)get(&r, 4);
    if (r.bad || nwords > (r.len - r.off) / 8 || window > COL_REPLAY_WINDOW_MAX || c > pr) {
        return CT_E_CORRUPT;
    }
    f->ck_vw = calloc(nwords ? nwords : 1, sizeof(uint64_t));
    if (f->ck_vw == NULL) {
        return CT_E_NOMEM;
    }
    f->ck_nwords = nwords;
    for (uint64_t i = 0; i < nwords; i++) {
        f->ck_vw[i] = get(&r, 8);
    }
    wwords = (window + 63) / 64;
    for (uint32_t i = 0; i < ndev && !r.bad; i++) {
        char id[CT_ID_MAX + 1];
        size_t idlen = (size_t)get(&r, 1);
        struct col_devstate *s;
        if (r.bad || idlen == 0 || idlen > CT_ID_MAX || r.len - r.off < idlen) {
            return CT_E_CORRUPT;
        }
        memcpy(id, r.p + r.off, idlen);
        id[idlen] = '\0';
        r.off += idlen;
        s = col_dedup_get(d, id);
        if (s == NULL) {
            return CT_E_FULL;
        }
        s->seen = true;
        s->boot = get(&r, 8);
        s->seq = get(&r, 8);
        for (size_t w = 0; w < wwords; w++) {
            uint64_t v = get(&r, 8);
            if (w < COL_REPLAY_WINDOW_MAX / 64) {
                s->bits[w] = v;
            }
        }
    }
    if (r.bad || r.off != r.len) {
        return CT_E_CORRUPT;
    }
    f->ck_processed = pr;
    f->ck_committed = c;
    return 0;
}

/* At start, before the flow: restores the replay state. A missing file is a first start. */
int flow_ckpt_load(struct col_flow *f)
{
    char path[4096];
    uint8_t *buf = NULL;
    struct stat st;
    int fd;
    int rc;

    ckpt_path(f, path, sizeof(path), "");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            col_log(COL_LOG_WARN, "flow", "checkpoint %s: %s; replay protection starts empty", path,
                    strerror(errno));
        }
        return 0;
    }
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (512 << 20)) {
        rc = CT_E_CORRUPT;
        goto out;
    }
    buf = malloc((size_t)st.st_size);
    if (buf == NULL) {
        rc = CT_E_NOMEM;
        goto out;
    }
    if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
        rc = CT_E_IO;
        goto out;
    }
    rc = parse(f, buf, (size_t)st.st_size);
out:
    close(fd);
    free(buf);
    if (rc != 0) {
        free(f->ck_vw);
        f->ck_vw = NULL;
        f->ck_nwords = 0;
        f->ck_processed = 0;
        f->ck_committed = 0;
        col_log(COL_LOG_WARN, "flow",
                "checkpoint %s unusable (%s); replay protection starts empty, every journal "
                "record is checked again",
                path, ct_strerror(rc));
        return 0;
    }
    col_log(COL_LOG_INFO, "flow",
            "checkpoint loaded: %zu devices' replay state, records up to %llu known",
            col_dedup_count(col_pipeline_devices(f->parts.pipeline)),
            (unsigned long long)f->ck_processed);
    return 0;
}

/* Where the flow starts: after the commit point of the journal or of the checkpoint, whichever
 * is later (the journal persists its own commit point lazily). */
void flow_ckpt_begin(struct col_flow *f, uint64_t spool_commit)
{
    uint64_t c = spool_commit > f->ck_committed ? spool_commit : f->ck_committed;

    f->next_seq = c + 1;
    f->committed = c;
    f->vw_base = c / 64;
    f->ck_last_p = f->ck_processed;
}

/* ---- writing ---- */

struct ser_ctx {
    struct ct_buf *b;
    uint32_t wwords;
    uint32_t n;
    int rc;
};

static void ser_dev(void *arg, const struct col_devstate *s)
{
    struct ser_ctx *x = arg;
    size_t idlen = strlen(s->id);

    if (!s->seen || x->rc != 0) {
        return;
    }
    x->rc = ct_buf_add(x->b, (uint8_t[]){(uint8_t)idlen}, 1);
    x->rc = x->rc ? x->rc : ct_buf_add(x->b, s->id, idlen);
    put64(x->b, s->boot, &x->rc);
    put64(x->b, s->seq, &x->rc);
    for (uint32_t w = 0; w < x->wwords; w++) {
        put64(x->b, s->bits[w], &x->rc);
    }
    x->n++;
}

static int serialise(struct col_flow *f, struct ct_buf *b, uint64_t p, uint64_t c)
{
    struct col_dedup *d = col_pipeline_devices(f->parts.pipeline);
    uint32_t window = col_dedup_window(d);
    uint64_t first = c / 64;
    uint64_t last = p > 0 ? (p - 1) / 64 : 0;
    uint64_t nwords = p > c ? last - first + 1 : 0;
    struct ser_ctx x = {b, (window + 63) / 64, 0, 0};
    size_t ndev_off;
    uint32_t crc;
    int rc = 0;

    put32(b, CKPT_MAGIC, &rc);
    put32(b, CKPT_VERSION, &rc);
    put64(b, p, &rc);
    put64(b, c, &rc);
    put64(b, first, &rc);
    put64(b, nwords, &rc);
    put32(b, window, &rc);
    ndev_off = b->len;
    put32(b, 0, &rc);
    for (uint64_t w = first; w < first + nwords; w++) {
        uint64_t v = 0;
        if (w >= f->vw_base && w - f->vw_base < f->vw_cap) {
            v = f->vw[w - f->vw_base];
        }
        put64(b, v, &rc);
    }
    if (rc != 0) {
        return rc;
    }
    col_dedup_each(d, ser_dev, &x);
    if (x.rc != 0) {
        return x.rc;
    }
    for (int i = 0; i < 4; i++) {
        ((uint8_t *)b->p)[ndev_off + (size_t)i] = (uint8_t)(x.n >> (8 * i));
    }
    crc = (uint32_t)crc32(0L, (const Bytef *)b->p, (uInt)b->len);
    put32(b, crc, &rc);
    return rc;
}

static int write_file(const char *dir, const void *p, size_t len, bool sync)
{
    char tmp[4096];
    char path[4096];
    int fd;
    int rc = 0;

    snprintf(tmp, sizeof(tmp), "%s/flow.state.tmp", dir);
    snprintf(path, sizeof(path), "%s/flow.state", dir);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, (const char *)p + off, len - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = errno;
            break;
        }
        off += (size_t)n;
    }
    if (rc == 0 && sync && fdatasync(fd) != 0) {
        rc = errno;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = errno;
    }
    return rc;
}

static void ckpt_work(uv_work_t *w)
{
    struct col_flow *f = w->data;

    f->ckpt_errno = write_file(f->cfg.spool_dir, f->ckpt_buf.p, f->ckpt_buf.len, f->cfg.ckpt_sync);
}

static void ckpt_after(uv_work_t *w, int status)
{
    struct col_flow *f = w->data;

    f->ckpt_busy = false;
    if (status != 0 || f->ckpt_errno != 0) {
        if (!f->ckpt_failing) {
            col_log(COL_LOG_ERROR, "flow",
                    "cannot write the checkpoint in %s: %s; the journal is not committed until "
                    "it can be",
                    f->cfg.spool_dir, status != 0 ? uv_strerror(status) : strerror(f->ckpt_errno));
        }
        f->ckpt_failing = true;
        return;
    }
    if (f->ckpt_failing) {
        col_log(COL_LOG_INFO, "flow", "the checkpoint is written again");
        f->ckpt_failing = false;
    }
    f->ck_last_p = f->ckpt_p;
    if (f->ckpt_c > f->committed && f->parts.spool != NULL) {
        if (col_spool_commit(f->parts.spool, f->ckpt_c) == 0) {
            f->committed = f->ckpt_c;
        }
    }
    verdict_trim(f, f->committed);
    if (f->ck_vw != NULL && f->committed >= f->ck_processed) {
        free(f->ck_vw);
        f->ck_vw = NULL;
        f->ck_nwords = 0;
    }
}

/* Writes a checkpoint and then commits the journal up to 'upto', when either moved. */
void flow_ckpt_commit(struct col_flow *f, uint64_t upto)
{
    uint64_t p = f->next_seq - 1;
    uint64_t now = uv_now(f->loop);
    int rc;

    if (f->ckpt_busy || (upto <= f->committed && p == f->ck_last_p)) {
        return;
    }
    if (now - f->ckpt_at < CKPT_MIN_INTERVAL_MS && !f->stopping_ckpt) {
        return;
    }
    if (upto < f->committed) {
        upto = f->committed;
    }
    ct_buf_reset(&f->ckpt_buf);
    rc = serialise(f, &f->ckpt_buf, p, upto);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "flow", "cannot build the checkpoint: %s", ct_strerror(rc));
        return;
    }
    f->ckpt_p = p;
    f->ckpt_c = upto;
    f->ckpt_at = now;
    f->ckpt_busy = true;
    f->ckpt_req.data = f;
    if (uv_queue_work(f->loop, &f->ckpt_req, ckpt_work, ckpt_after) != 0) {
        f->ckpt_busy = false;
    }
}

/* At exit, after the loop stopped: the last checkpoint and commit, synchronously. */
void flow_ckpt_final(struct col_flow *f, uint64_t upto)
{
    uint64_t p = f->next_seq - 1;
    int err;

    if (f->parts.spool == NULL || f->parts.pipeline == NULL || !f->flow_started) {
        return;
    }
    if (upto < f->committed) {
        upto = f->committed;
    }
    ct_buf_reset(&f->ckpt_buf);
    if (serialise(f, &f->ckpt_buf, p, upto) != 0) {
        return;
    }
    err = write_file(f->cfg.spool_dir, f->ckpt_buf.p, f->ckpt_buf.len, f->cfg.ckpt_sync);
    if (err != 0) {
        col_log(COL_LOG_ERROR, "flow", "cannot write the checkpoint: %s", strerror(err));
        return;
    }
    if (upto > f->committed) {
        col_spool_commit(f->parts.spool, upto);
        f->committed = upto;
    }
}
