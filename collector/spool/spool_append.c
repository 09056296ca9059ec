/* spool_append.c - the writer of col_spool: col_spool_append_batch and col_spool_append (one
 * writev() per chunk of records, roll-over to a new segment, the full policies, fsync "always").
 * The room checks and the file-system budget are spool_room.c's. Callers hold append_mu while
 * they write; see the lock notes in spool_int.h. */
#include "spool_int.h"

#include "ct/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

static bool is_nospace(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

/* Why a batch stopped, for the once-per-streak log line. */
enum wfail { WF_NONE, WF_TOTAL, WF_FSFREE, WF_NOSPACE, WF_IO };

/* The state of one col_spool_append_batch() call (append_mu held). */
struct wbatch {
    const struct col_spool_rec *recs;
    size_t n;
    size_t written; /* records written and published */
    size_t durable; /* of those, durable per the fsync setting */
    uint64_t now;
    bool fs_fresh; /* the file system was sampled during this call */
    enum wfail kind;
    char why[400];
};

static void note_fail(struct wbatch *b, enum wfail kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_fail(struct wbatch *b, enum wfail kind, const char *fmt, ...)
{
    va_list ap;
    b->kind = kind;
    va_start(ap, fmt);
    vsnprintf(b->why, sizeof(b->why), fmt, ap);
    va_end(ap);
}

/* Path of the newest segment, for messages. */
static void tail_path(struct col_spool *s, char *out, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    uint64_t first = s->nseg > 0 ? s->segs[s->nseg - 1].first_seq : s->next_seq;
    pthread_mutex_unlock(&s->mu);
    if (col_spool_seg_path(s, first, "", out, cap) != 0) {
        snprintf(out, cap, "%s", s->dir);
    }
}

/* Stops appending to the newest segment (after a failed fsync or a partial write that could not
 * be cut off): the next append starts a new one, and recovery never appends to it. 'mu' held. */
static void close_tail_locked(struct col_spool *s)
{
    if (s->cur_fd >= 0) {
        close(s->cur_fd);
        s->cur_fd = -1;
    }
    if (s->nseg > 0) {
        s->segs[s->nseg - 1].damaged = true;
    }
    s->dirty = false;
    s->w_unsynced = false;
}

/* fdatasync()s the newest segment for the append holder. On success the batch's records written
 * so far are durable (fsync "always"). On failure the segment is closed and CT_E_IO returned. */
static int w_sync(struct col_spool *s, struct wbatch *b)
{
    int fd = s->cur_fd;
    int r = s->cfg.fdatasync_fn != NULL ? s->cfg.fdatasync_fn(s->cfg.hook_arg, fd) : fdatasync(fd);
    int e = errno;
    if (r != 0) {
        char path[PATH_MAX];
        tail_path(s, path, sizeof(path));
        note_fail(b, WF_IO,
                  "spool: cannot fdatasync segment %s: %s; its unsynced records are not "
                  "acknowledged, appends continue in a new segment",
                  path, strerror(e));
    }
    pthread_mutex_lock(&s->mu);
    s->st.fsyncs++;
    if (r != 0) {
        s->st.io_errors++;
        close_tail_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    if (r != 0) {
        return CT_E_IO;
    }
    s->w_unsynced = false;
    if (s->cfg.fsync == COL_SPOOL_FSYNC_ALWAYS) {
        b->durable = b->written;
    }
    return 0;
}

/* Closes the newest segment (synced unless fsync is none) and creates a new one starting at
 * next_seq: written under a temp name, synced, renamed, directory synced. Called by the append
 * holder WITHOUT 'mu' (it takes it only to publish the new segment). Returns 0, CT_E_FULL (no
 * space for the new file), CT_E_IO or CT_E_NOMEM. */
static int roll_w(struct col_spool *s, struct wbatch *b)
{
    char tmp[PATH_MAX];
    char path[PATH_MAX];
    uint8_t hdr[SEG_HDR_LEN];
    bool sync = s->cfg.fsync != COL_SPOOL_FSYNC_NONE;
    if (s->cur_fd >= 0) {
        pthread_mutex_lock(&s->mu);
        bool dirty = s->dirty;
        s->dirty = false;
        pthread_mutex_unlock(&s->mu);
        if (sync && (dirty || s->w_unsynced) && w_sync(s, b) != 0 &&
            s->cfg.fsync == COL_SPOOL_FSYNC_ALWAYS) {
            return CT_E_IO; /* its records are not durable: stop the batch there */
        }
    }
    uint64_t first = s->next_seq;
    if (col_spool_seg_path(s, first, ".tmp", tmp, sizeof(tmp)) != 0 ||
        col_spool_seg_path(s, first, "", path, sizeof(path)) != 0) {
        return CT_E_IO;
    }
    int e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = errno;
        goto out_err;
    }
    col_spool_seg_hdr_encode(hdr, first, col_spool_now(s));
    ssize_t w = write(fd, hdr, SEG_HDR_LEN);
    if (w != (ssize_t)SEG_HDR_LEN || (sync && fdatasync(fd) != 0) || rename(tmp, path) != 0 ||
        (sync && fsync(s->dir_fd) != 0)) {
        e = w >= 0 && w < (ssize_t)SEG_HDR_LEN ? ENOSPC : errno;
        close(fd);
        unlink(tmp);
        unlink(path);
        goto out_err;
    }
    pthread_mutex_lock(&s->mu);
    struct seg *g = col_spool_segs_push(s);
    if (g == NULL) {
        pthread_mutex_unlock(&s->mu);
        close(fd);
        unlink(path);
        return CT_E_NOMEM;
    }
    g->first_seq = first;
    g->size = SEG_HDR_LEN;
    g->valid_end = SEG_HDR_LEN;
    s->total_bytes += SEG_HDR_LEN;
    s->fs_since += SEG_HDR_LEN;
    int old = s->cur_fd;
    s->cur_fd = fd;
    s->dirty = false;
    pthread_mutex_unlock(&s->mu);
    if (old >= 0) {
        close(old);
    }
    s->w_unsynced = false;
    return 0;
out_err:
    pthread_mutex_lock(&s->mu);
    s->st.io_errors++;
    if (is_nospace(e)) {
        s->st.nospace++;
    }
    pthread_mutex_unlock(&s->mu);
    note_fail(b, is_nospace(e) ? WF_NOSPACE : WF_IO,
              "spool: cannot create segment %s: %s; holding new messages until appends succeed",
              path, strerror(e));
    return is_nospace(e) ? CT_E_FULL : CT_E_IO;
}

/* True when the newest segment needs a roll before a frame of 'frame' bytes; 'mu' held or the
 * append holder. */
static bool roll_needed(const struct col_spool *s, uint64_t frame)
{
    if (s->cur_fd < 0 || s->nseg == 0) {
        return true;
    }
    const struct seg *g = &s->segs[s->nseg - 1];
    return g->nrec > 0 && g->size + frame > s->cfg.segment_bytes;
}

/* Drops the oldest segment under drop_oldest; 'mu' held, nseg >= 2. */
static void drop_oldest(struct col_spool *s)
{
    struct seg *g = &s->segs[0];
    uint64_t lost = col_spool_uncommitted(s, g);
    s->st.dropped_records += lost;
    if (g->last_seq > s->commit_seq) {
        s->commit_seq = g->last_seq;
        s->commit_dirty = true;
    }
    col_spool_log(s, "spool: full: dropped the oldest segment (%llu uncommitted records)",
                  (unsigned long long)lost);
    col_spool_delete_first(s);
}

/* Gets the newest segment ready for the batch's next record and decides how many records (from
 * b->written on, at most w_max_recs) go into one writev(): those that fit in the segment, under
 * max_total_bytes and above min_free_bytes. Returns 0 with *cnt >= 1 and *bytes set, or
 * CT_E_TOOBIG, CT_E_FULL, CT_E_IO, CT_E_NOMEM, CT_E_STATE with *cnt = 0. Append holder, 'mu' not
 * held. */
static int plan_chunk(struct col_spool *s, struct wbatch *b, size_t *cnt, uint64_t *bytes)
{
    const struct col_spool_rec *r = &b->recs[b->written];
    *cnt = 0;
    *bytes = 0;
    if (r->len > s->cfg.max_record_bytes) {
        return CT_E_TOOBIG;
    }
    uint64_t frame0 = REC_HDR_LEN + (uint64_t)r->len;
    uint64_t total_room;
    uint64_t seg_size;
    uint64_t seg_nrec;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return CT_E_STATE;
        }
        bool need_roll = roll_needed(s, frame0);
        uint64_t need = frame0 + (need_roll ? SEG_HDR_LEN : 0);
        bool fits = s->total_bytes + need <= s->cfg.max_total_bytes;
        if (!fits && s->cfg.full == COL_SPOOL_FULL_DROP_OLDEST) {
            if (s->nseg >= 2) {
                drop_oldest(s);
                pthread_mutex_unlock(&s->mu);
                continue;
            }
            if (s->nseg == 1 && s->segs[0].nrec > 0) {
                /* Only the newest segment is left: start a new one first, so that the directory
                 * always shows the next sequence number, then drop it. */
                pthread_mutex_unlock(&s->mu);
                int rc = roll_w(s, b);
                if (rc != 0) {
                    return rc;
                }
                continue;
            }
        }
        if (!fits) {
            uint64_t max = s->cfg.max_total_bytes;
            pthread_mutex_unlock(&s->mu);
            note_fail(b, WF_TOTAL,
                      "spool: full: max_total_bytes (%llu) reached; holding new messages until "
                      "commits free room",
                      (unsigned long long)max);
            return CT_E_FULL;
        }
        pthread_mutex_unlock(&s->mu);
        uint64_t fs = col_spool_fs_free_now(s, false);
        if (fs < s->cfg.min_free_bytes || fs - s->cfg.min_free_bytes < need) {
            if (!b->fs_fresh) {
                b->fs_fresh = true; /* refuse only on a fresh sample */
                fs = col_spool_fs_free_now(s, true);
            }
            if (fs < s->cfg.min_free_bytes || fs - s->cfg.min_free_bytes < need) {
                note_fail(b, WF_FSFREE,
                          "spool: the file system of %s has %llu bytes free, under "
                          "min_free_bytes (%llu) after this append; holding new messages until "
                          "space is freed",
                          s->dir, (unsigned long long)fs,
                          (unsigned long long)s->cfg.min_free_bytes);
                return CT_E_FULL;
            }
        }
        if (need_roll) {
            int rc = roll_w(s, b);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        pthread_mutex_lock(&s->mu);
        total_room = s->cfg.max_total_bytes - s->total_bytes;
        seg_size = s->segs[s->nseg - 1].size;
        seg_nrec = s->segs[s->nseg - 1].nrec;
        pthread_mutex_unlock(&s->mu);
        uint64_t fs_room = fs - s->cfg.min_free_bytes;
        if (fs_room < total_room) {
            total_room = fs_room;
        }
        break;
    }
    size_t k = 0;
    uint64_t sum = 0;
    while (b->written + k < b->n && k < s->w_max_recs) {
        size_t len = b->recs[b->written + k].len;
        if (len > s->cfg.max_record_bytes) {
            break;
        }
        uint64_t frame = REC_HDR_LEN + (uint64_t)len;
        if (seg_nrec + k > 0 && seg_size + sum + frame > s->cfg.segment_bytes) {
            break; /* the next chunk rolls over */
        }
        if (sum + frame > total_room) {
            break; /* the next chunk re-checks the room, with a fresh sample before refusing */
        }
        sum += frame;
        k++;
    }
    *cnt = k;
    *bytes = sum;
    return 0;
}

/* Writes records [b->written, b->written + cnt) (cnt frames, 'bytes' in all) to the newest
 * segment with writev() (looping over partial writes), then publishes the whole records under
 * 'mu'. A failed write is cut back to the last whole record; if that fails the segment is closed.
 * Returns 0, CT_E_FULL (ENOSPC, EDQUOT) or CT_E_IO. Append holder, 'mu' not held. */
static int write_chunk(struct col_spool *s, struct wbatch *b, size_t cnt, uint64_t bytes)
{
    struct iovec *iov = s->w_iov;
    const struct col_spool_rec *r = &b->recs[b->written];
    uint64_t seq = s->next_seq;
    for (size_t k = 0; k < cnt; k++) {
        uint8_t *h = s->w_hdrs + k * REC_HDR_LEN;
        uint32_t crc = col_spool_crc(0, r[k].data, r[k].len);
        col_spool_rec_hdr_encode(h, crc, (uint32_t)r[k].len, seq + k, b->now);
        iov[2 * k] = (struct iovec){.iov_base = h, .iov_len = REC_HDR_LEN};
        iov[2 * k + 1] =
            (struct iovec){.iov_base = (void *)(uintptr_t)r[k].data, .iov_len = r[k].len};
    }
    struct iovec *v = iov;
    int nv = (int)(2 * cnt);
    uint64_t off = 0;
    int e = 0;
    while (off < bytes) {
        ssize_t w = s->cfg.writev_fn != NULL ? s->cfg.writev_fn(s->cfg.hook_arg, s->cur_fd, v, nv)
                                             : writev(s->cur_fd, v, nv);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        off += (uint64_t)w;
        size_t left = (size_t)w;
        while (nv > 0 && left >= v->iov_len) {
            left -= v->iov_len;
            v++;
            nv--;
        }
        if (nv > 0 && left > 0) {
            v->iov_base = (uint8_t *)v->iov_base + left;
            v->iov_len -= left;
        }
    }
    size_t whole = 0;
    uint64_t acc = 0;
    while (whole < cnt && acc + REC_HDR_LEN + r[whole].len <= off) {
        acc += REC_HDR_LEN + r[whole].len;
        whole++;
    }
    bool cut_failed = false;
    if (e != 0) {
        char path[PATH_MAX];
        tail_path(s, path, sizeof(path));
        note_fail(b, is_nospace(e) ? WF_NOSPACE : WF_IO,
                  "spool: cannot write segment %s: %s; holding new messages until appends "
                  "succeed",
                  path, strerror(e));
        if (acc < off) {
            pthread_mutex_lock(&s->mu);
            uint64_t keep = s->segs[s->nseg - 1].size + acc;
            pthread_mutex_unlock(&s->mu);
            cut_failed = ftruncate(s->cur_fd, (off_t)keep) != 0;
        }
    }
    pthread_mutex_lock(&s->mu);
    struct seg *g = &s->segs[s->nseg - 1];
    if (whole > 0) {
        g->nrec += whole;
        g->last_seq = seq + whole - 1;
        g->size += acc;
        g->valid_end = g->size;
        col_spool_seg_note_time(g, seq, b->now);
        s->total_bytes += acc;
        s->fs_since += acc;
        s->next_seq += whole;
        s->st.appended += whole;
        if (s->cfg.fsync == COL_SPOOL_FSYNC_INTERVAL) {
            s->dirty = true;
        }
    }
    if (e != 0) {
        s->st.io_errors++;
        if (is_nospace(e)) {
            s->st.nospace++;
        }
        if (cut_failed) {
            /* Garbage follows the last record: never append after it; the scan at open treats
             * it as a torn tail. */
            close_tail_locked(s);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (whole > 0) {
        s->w_unsynced = true;
        b->written += whole;
        if (s->cfg.fsync != COL_SPOOL_FSYNC_ALWAYS) {
            b->durable = b->written;
        }
    }
    if (e != 0) {
        return is_nospace(e) ? CT_E_FULL : CT_E_IO;
    }
    return 0;
}

int col_spool_append_batch(struct col_spool *s, const struct col_spool_rec *recs, size_t n,
                           uint64_t *first_seq, size_t *done)
{
    if (done != NULL) {
        *done = 0;
    }
    if (first_seq != NULL) {
        *first_seq = 0;
    }
    if (s == NULL || done == NULL || (recs == NULL && n > 0)) {
        return CT_E_INVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (recs[i].data == NULL && recs[i].len > 0) {
            return CT_E_INVAL;
        }
    }
    struct wbatch b = {.recs = recs, .n = n, .now = col_spool_now(s)};
    int rc = 0;
    pthread_mutex_lock(&s->append_mu);
    pthread_mutex_lock(&s->mu);
    bool stopping = s->stopping;
    uint64_t first = s->next_seq;
    pthread_mutex_unlock(&s->mu);
    if (first_seq != NULL) {
        *first_seq = first;
    }
    if (stopping) {
        rc = CT_E_STATE;
        goto out_unlock;
    }
    while (b.written < n) {
        size_t cnt;
        uint64_t bytes;
        rc = plan_chunk(s, &b, &cnt, &bytes);
        if (rc != 0) {
            break;
        }
        rc = write_chunk(s, &b, cnt, bytes);
        if (rc != 0) {
            break;
        }
    }
    if (s->cfg.fsync == COL_SPOOL_FSYNC_ALWAYS && s->w_unsynced && s->cur_fd >= 0) {
        int src = w_sync(s, &b);
        if (src != 0 && (rc == 0 || rc == CT_E_TOOBIG)) {
            rc = src;
        }
    }
    *done = b.durable;
    bool failed = rc == CT_E_FULL || rc == CT_E_IO;
    pthread_mutex_lock(&s->mu);
    if (rc == CT_E_FULL) {
        s->st.full_refusals++;
    }
    if (failed) {
        if (b.kind != WF_NONE && (s->w_streak == 0 || (int)b.kind != s->w_kind)) {
            col_spool_log(s, "%s", b.why);
            s->w_kind = (int)b.kind;
        }
        s->w_streak++;
    } else if (rc == 0 && n > 0 && s->w_streak > 0) {
        col_spool_log(s, "spool: writes succeed again after %llu failures",
                      (unsigned long long)s->w_streak);
        s->w_streak = 0;
        s->w_kind = WF_NONE;
    }
    if (rc == 0 || rc == CT_E_FULL) {
        s->pressure = rc == CT_E_FULL;
    }
    if (s->pressure && col_spool_retire_due(s)) {
        /* Everything is committed and yet no room: the flusher deletes the newest segment. */
        s->retire_wanted = true;
        pthread_cond_broadcast(&s->flush_cv);
    }
    pthread_mutex_unlock(&s->mu);
out_unlock:
    pthread_mutex_unlock(&s->append_mu);
    return rc;
}

int col_spool_append(struct col_spool *s, const void *data, size_t len, uint64_t *seq)
{
    if (s == NULL || (data == NULL && len > 0)) {
        return CT_E_INVAL;
    }
    struct col_spool_rec r = {.data = data, .len = len};
    uint64_t first = 0;
    size_t done = 0;
    int rc = col_spool_append_batch(s, &r, 1, &first, &done);
    if (rc == 0 && seq != NULL) {
        *seq = first;
    }
    return rc;
}
