/* spool.c - open, append, roll-over, full policies, commit, stats, the flusher, close. */
#include "spool_int.h"

#include "ct/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEF_SEGMENT_BYTES (16u * 1024u * 1024u)
#define DEF_MAX_TOTAL_BYTES (1024ull * 1024u * 1024u)
#define DEF_MAX_RECORD_BYTES (16u * 1024u)
#define DEF_FSYNC_INTERVAL_MS 200u
#define DEF_COMMIT_INTERVAL_MS 1000u

static int apply_defaults(const struct col_spool_cfg *in, struct col_spool_cfg *c)
{
    *c = *in;
    if (c->dir == NULL || c->dir[0] == '\0') {
        return CT_E_INVAL;
    }
    if (c->segment_bytes == 0) {
        c->segment_bytes = DEF_SEGMENT_BYTES;
    }
    if (c->max_total_bytes == 0) {
        c->max_total_bytes = DEF_MAX_TOTAL_BYTES;
    }
    if (c->max_record_bytes == 0) {
        c->max_record_bytes = DEF_MAX_RECORD_BYTES;
    }
    if (c->fsync_interval_ms == 0) {
        c->fsync_interval_ms = DEF_FSYNC_INTERVAL_MS;
    }
    if (c->commit_interval_ms == 0) {
        c->commit_interval_ms = DEF_COMMIT_INTERVAL_MS;
    }
    if (c->fsync > COL_SPOOL_FSYNC_NONE || c->full > COL_SPOOL_FULL_DROP_OLDEST ||
        c->segment_bytes < SEG_HDR_LEN + REC_HDR_LEN + 1 ||
        (uint64_t)c->max_record_bytes + SEG_HDR_LEN + REC_HDR_LEN > c->segment_bytes ||
        c->max_total_bytes / 2 < c->segment_bytes) {
        return CT_E_INVAL;
    }
    return 0;
}

static void *flusher_main(void *arg);

int col_spool_open(const struct col_spool_cfg *cfg, struct col_spool **out)
{
    struct col_spool_cfg c;
    if (cfg == NULL || out == NULL || apply_defaults(cfg, &c) != 0) {
        return CT_E_INVAL;
    }
    struct col_spool *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return CT_E_NOMEM;
    }
    int rc = CT_E_NOMEM;
    s->cur_fd = -1;
    s->dir_fd = -1;
    s->dir = strdup(c.dir);
    if (s->dir == NULL) {
        goto out_free;
    }
    s->cfg = c;
    s->cfg.dir = s->dir;
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        rc = CT_E_IO;
        goto out_free;
    }
    s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        rc = CT_E_IO;
        goto out_free;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->persist_mu, NULL);
    pthread_cond_init(&s->room_cv, &ca);
    pthread_cond_init(&s->flush_cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = col_spool_recover(s);
    if (rc != 0) {
        goto out_sync;
    }
    if (pthread_create(&s->flusher, NULL, flusher_main, s) != 0) {
        rc = CT_E_NOMEM;
        goto out_sync;
    }
    s->flusher_started = true;
    *out = s;
    return 0;
out_sync:
    pthread_cond_destroy(&s->flush_cv);
    pthread_cond_destroy(&s->room_cv);
    pthread_mutex_destroy(&s->persist_mu);
    pthread_mutex_destroy(&s->mu);
    if (s->cur_fd >= 0) {
        close(s->cur_fd);
    }
    while (s->nseg > 0) {
        col_spool_segs_remove(s, s->nseg - 1);
    }
    free(s->segs);
out_free:
    if (s->dir_fd >= 0) {
        close(s->dir_fd);
    }
    free(s->dir);
    free(s);
    return rc;
}

static int do_fdatasync(struct col_spool *s, int fd)
{
    s->st.fsyncs++;
    if (fdatasync(fd) != 0) {
        s->st.io_errors++;
        col_spool_log(s, "spool: fdatasync failed: %s", strerror(errno));
        return CT_E_IO;
    }
    return 0;
}

/* Closes the current segment (synced unless fsync is none) and creates a new one starting at
 * next_seq: written under a temp name, synced, renamed, directory synced. Lock held. */
static int roll(struct col_spool *s)
{
    char tmp[PATH_MAX];
    char path[PATH_MAX];
    uint8_t hdr[SEG_HDR_LEN];
    bool sync = s->cfg.fsync != COL_SPOOL_FSYNC_NONE;
    if (s->cur_fd >= 0) {
        if (sync && s->dirty) {
            do_fdatasync(s, s->cur_fd);
        }
        close(s->cur_fd);
        s->cur_fd = -1;
        s->dirty = false;
    }
    if (col_spool_seg_path(s, s->next_seq, ".tmp", tmp, sizeof(tmp)) != 0 ||
        col_spool_seg_path(s, s->next_seq, "", path, sizeof(path)) != 0) {
        return CT_E_IO;
    }
    struct seg *g = col_spool_segs_push(s);
    if (g == NULL) {
        return CT_E_NOMEM;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        goto out_err;
    }
    col_spool_seg_hdr_encode(hdr, s->next_seq, col_spool_now(s));
    if (write(fd, hdr, SEG_HDR_LEN) != (ssize_t)SEG_HDR_LEN || (sync && fdatasync(fd) != 0) ||
        rename(tmp, path) != 0 || (sync && fsync(s->dir_fd) != 0)) {
        close(fd);
        unlink(tmp);
        goto out_err;
    }
    g->first_seq = s->next_seq;
    g->size = SEG_HDR_LEN;
    g->valid_end = SEG_HDR_LEN;
    s->total_bytes += SEG_HDR_LEN;
    s->cur_fd = fd;
    return 0;
out_err:
    s->st.io_errors++;
    col_spool_log(s, "spool: cannot create segment %s: %s", path, strerror(errno));
    s->nseg--;
    return CT_E_IO;
}

/* Records of g above the commit point (seqs within a segment are contiguous but for skipped
 * corrupt ones, so this is exact for clean segments and an upper bound otherwise). */
static uint64_t uncommitted(const struct col_spool *s, const struct seg *g)
{
    if (g->nrec == 0 || g->last_seq <= s->commit_seq) {
        return 0;
    }
    uint64_t above = g->last_seq - s->commit_seq;
    return above < g->nrec ? above : g->nrec;
}

/* Deletes segs[0]; lock held. */
static void delete_first(struct col_spool *s)
{
    char path[PATH_MAX];
    struct seg *g = &s->segs[0];
    if (col_spool_seg_path(s, g->first_seq, "", path, sizeof(path)) == 0 && unlink(path) != 0 &&
        errno != ENOENT) {
        s->st.io_errors++;
        col_spool_log(s, "spool: cannot delete %s: %s", path, strerror(errno));
    }
    s->total_bytes -= g->size;
    col_spool_segs_remove(s, 0);
}

static bool roll_needed(const struct col_spool *s, uint64_t frame)
{
    if (s->cur_fd < 0) {
        return true;
    }
    const struct seg *g = &s->segs[s->nseg - 1];
    return g->nrec > 0 && g->size + frame > s->cfg.segment_bytes;
}

/* Makes room for 'frame' bytes under the full policy; lock held. Returns 0 or CT_E_FULL (or an
 * error of roll()). */
static int make_room(struct col_spool *s, uint64_t frame)
{
    for (;;) {
        uint64_t need = frame + (roll_needed(s, frame) ? SEG_HDR_LEN : 0);
        if (s->total_bytes + need <= s->cfg.max_total_bytes) {
            return 0;
        }
        if (s->cfg.full != COL_SPOOL_FULL_DROP_OLDEST) {
            return CT_E_FULL;
        }
        if (s->nseg >= 2) {
            struct seg *g = &s->segs[0];
            uint64_t lost = uncommitted(s, g);
            s->st.dropped_records += lost;
            if (g->last_seq > s->commit_seq) {
                s->commit_seq = g->last_seq;
                s->commit_dirty = true;
            }
            col_spool_log(s, "spool: full: dropped the oldest segment (%llu uncommitted records)",
                          (unsigned long long)lost);
            delete_first(s);
            continue;
        }
        if (s->nseg == 1 && s->segs[0].nrec > 0) {
            /* Only the open segment is left: start a new one first, so that the directory
             * always shows the next sequence number, then drop it. */
            int rc = roll(s);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        return CT_E_FULL;
    }
}

int col_spool_append(struct col_spool *s, const void *data, size_t len, uint64_t *seq)
{
    if (s == NULL || (data == NULL && len > 0)) {
        return CT_E_INVAL;
    }
    if (len > s->cfg.max_record_bytes) {
        return CT_E_TOOBIG;
    }
    uint8_t hdr[REC_HDR_LEN];
    uint32_t crc_data = col_spool_crc(0, data, len);
    uint64_t frame = REC_HDR_LEN + (uint64_t)len;
    int rc;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        rc = CT_E_STATE;
        goto out_unlock;
    }
    rc = make_room(s, frame);
    if (rc == CT_E_FULL) {
        s->st.full_refusals++;
    }
    if (rc == 0 && roll_needed(s, frame)) {
        rc = roll(s);
    }
    if (rc != 0) {
        goto out_unlock;
    }
    struct seg *g = &s->segs[s->nseg - 1];
    uint64_t now = col_spool_now(s);
    col_spool_rec_hdr_encode(hdr, crc_data, (uint32_t)len, s->next_seq, now);
    struct iovec iov[2] = {{.iov_base = hdr, .iov_len = REC_HDR_LEN},
                           {.iov_base = (void *)(uintptr_t)data, .iov_len = len}};
    size_t done = 0;
    while (done < frame) {
        ssize_t w;
        if (done == 0) {
            w = writev(s->cur_fd, iov, 2);
        } else if (done < REC_HDR_LEN) {
            w = write(s->cur_fd, hdr + done, REC_HDR_LEN - done);
        } else {
            w = write(s->cur_fd, (const uint8_t *)data + (done - REC_HDR_LEN), frame - done);
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            s->st.io_errors++;
            col_spool_log(s, "spool: append failed: %s", w < 0 ? strerror(errno) : "no progress");
            /* Cut the partial frame off; if that fails, leave the segment so the next append
             * starts a fresh one and the scan at open treats the tail as torn. */
            if (ftruncate(s->cur_fd, (off_t)g->size) != 0) {
                g->damaged = true;
                close(s->cur_fd);
                s->cur_fd = -1;
            }
            rc = CT_E_IO;
            goto out_unlock;
        }
        done += (size_t)w;
    }
    uint64_t my_seq = s->next_seq++;
    g->nrec++;
    g->last_seq = my_seq;
    g->size += frame;
    g->valid_end = g->size;
    col_spool_seg_note_time(g, my_seq, now);
    s->total_bytes += frame;
    s->st.appended++;
    if (seq != NULL) {
        *seq = my_seq;
    }
    if (s->cfg.fsync == COL_SPOOL_FSYNC_ALWAYS) {
        rc = do_fdatasync(s, s->cur_fd);
    } else {
        s->dirty = true;
    }
out_unlock:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static bool has_room(const struct col_spool *s)
{
    uint64_t need = (uint64_t)s->cfg.max_record_bytes + REC_HDR_LEN + SEG_HDR_LEN;
    return s->total_bytes + need <= s->cfg.max_total_bytes;
}

int col_spool_wait_room(struct col_spool *s, uint64_t timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += (time_t)(timeout_ms / 1000u);
    dl.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping && !has_room(s)) {
        if (pthread_cond_timedwait(&s->room_cv, &s->mu, &dl) == ETIMEDOUT) {
            break;
        }
    }
    if (s->stopping) {
        rc = CT_E_STATE;
    } else if (!has_room(s)) {
        rc = CT_E_TIMEOUT;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int col_spool_commit(struct col_spool *s, uint64_t seq)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (seq >= s->next_seq) {
        rc = CT_E_INVAL;
        goto out_unlock;
    }
    if (seq <= s->commit_seq) {
        goto out_unlock;
    }
    s->commit_seq = seq;
    s->commit_dirty = true;
    bool freed = false;
    /* Never the newest segment: it shows the next sequence number after a restart. */
    while (s->nseg >= 2 && (s->segs[0].nrec == 0 || s->segs[0].last_seq <= seq)) {
        delete_first(s);
        freed = true;
    }
    if (freed) {
        pthread_cond_broadcast(&s->room_cv);
    }
out_unlock:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int col_spool_sync(struct col_spool *s)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->cur_fd >= 0 && s->dirty && s->cfg.fsync != COL_SPOOL_FSYNC_NONE) {
        rc = do_fdatasync(s, s->cur_fd);
        s->dirty = false;
    }
    uint64_t c = s->commit_seq;
    s->commit_dirty = false;
    pthread_mutex_unlock(&s->mu);
    if (col_spool_commit_persist(s, c) != 0) {
        pthread_mutex_lock(&s->mu);
        s->st.io_errors++;
        s->commit_dirty = true;
        pthread_mutex_unlock(&s->mu);
        rc = CT_E_IO;
    }
    return rc;
}

static uint64_t oldest_time(const struct col_spool *s)
{
    for (size_t i = 0; i < s->nseg; i++) {
        const struct seg *g = &s->segs[i];
        if (uncommitted(s, g) == 0 || g->nck == 0) {
            continue;
        }
        uint32_t k = 0;
        while (k + 1 < g->nck && g->ck[k + 1].seq <= s->commit_seq + 1) {
            k++;
        }
        return g->ck[k].time_ms;
    }
    return 0;
}

void col_spool_stats(struct col_spool *s, struct col_spool_stats *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    st->records = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        st->records += uncommitted(s, &s->segs[i]);
    }
    st->bytes = s->total_bytes;
    st->segments = s->nseg;
    st->oldest_ms = oldest_time(s);
    st->last_seq = s->next_seq - 1;
    st->commit_seq = s->commit_seq;
    pthread_mutex_unlock(&s->mu);
}

static void deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The flusher: fdatasync()s appended data every fsync_interval_ms (fsync "interval") and
 * persists a changed commit point at most every commit_interval_ms. It never holds the lock
 * while it syncs: it syncs a dup() of the descriptor, so a roll-over cannot close it away. */
static void *flusher_main(void *arg)
{
    struct col_spool *s = arg;
    bool interval = s->cfg.fsync == COL_SPOOL_FSYNC_INTERVAL;
    uint64_t tick = s->cfg.commit_interval_ms;
    if (interval && s->cfg.fsync_interval_ms < tick) {
        tick = s->cfg.fsync_interval_ms;
    }
    uint64_t next_fsync = col_spool_mono_ms() + s->cfg.fsync_interval_ms;
    uint64_t next_commit = col_spool_mono_ms() + s->cfg.commit_interval_ms;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        uint64_t now = col_spool_mono_ms();
        if (interval && s->dirty && s->cur_fd >= 0 && now >= next_fsync) {
            int fd = dup(s->cur_fd);
            s->dirty = false;
            next_fsync = now + s->cfg.fsync_interval_ms;
            pthread_mutex_unlock(&s->mu);
            int r = fd >= 0 ? fdatasync(fd) : -1;
            int e = errno;
            if (fd >= 0) {
                close(fd);
            }
            pthread_mutex_lock(&s->mu);
            s->st.fsyncs++;
            if (r != 0) {
                s->st.io_errors++;
                s->dirty = true;
                col_spool_log(s, "spool: flusher fdatasync failed: %s", strerror(e));
            }
        }
        if (s->commit_dirty && now >= next_commit) {
            uint64_t c = s->commit_seq;
            s->commit_dirty = false;
            next_commit = now + s->cfg.commit_interval_ms;
            pthread_mutex_unlock(&s->mu);
            int r = col_spool_commit_persist(s, c);
            pthread_mutex_lock(&s->mu);
            if (r != 0) {
                s->st.io_errors++;
                s->commit_dirty = true;
            }
        }
        if (s->stopping) {
            break;
        }
        struct timespec dl;
        deadline_in(&dl, tick);
        pthread_cond_timedwait(&s->flush_cv, &s->mu, &dl);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void col_spool_close(struct col_spool *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->flush_cv);
    pthread_cond_broadcast(&s->room_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->flusher_started) {
        pthread_join(s->flusher, NULL);
    }
    if (s->cur_fd >= 0) {
        if (s->dirty && s->cfg.fsync != COL_SPOOL_FSYNC_NONE) {
            do_fdatasync(s, s->cur_fd);
        }
        close(s->cur_fd);
    }
    if (s->commit_seq > s->persisted_seq) {
        col_spool_commit_persist(s, s->commit_seq);
    }
    while (s->nseg > 0) {
        col_spool_segs_remove(s, s->nseg - 1);
    }
    free(s->segs);
    pthread_cond_destroy(&s->flush_cv);
    pthread_cond_destroy(&s->room_cv);
    pthread_mutex_destroy(&s->persist_mu);
    pthread_mutex_destroy(&s->mu);
    close(s->dir_fd);
    free(s->dir);
    free(s);
}
