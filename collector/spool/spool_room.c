/* spool_room.c - the room checks of col_spool (col_spool_has_room, col_spool_wait_room) and the
 * file-system budget (spool.min_free_bytes, sampled with statvfs) that the writer
 * (spool_append.c) also consults before each chunk. See the lock notes in spool_int.h. */
#include "spool_int.h"

#include "ct/err.h"

#include <errno.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <time.h>

#define FS_SAMPLE_MS 1000u /* the file system's free space is sampled at most this often */

/* Free bytes of the spool's file system, UINT64_MAX when unknown (never refuse on a failed
 * statvfs). No lock held. */
static uint64_t fs_query(const struct col_spool *s)
{
    if (s->cfg.free_bytes != NULL) {
        return s->cfg.free_bytes(s->cfg.hook_arg, s->dir);
    }
    struct statvfs v;
    if (statvfs(s->dir, &v) != 0) {
        return UINT64_MAX;
    }
    return (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
}

/* Estimated free bytes of the file system now: the last sample minus what was appended since,
 * sampled again when older than FS_SAMPLE_MS, invalidated by a deletion, or when 'fresh'. 'mu'
 * not held (statvfs may be slow). */
uint64_t col_spool_fs_free_now(struct col_spool *s, bool fresh)
{
    pthread_mutex_lock(&s->mu);
    bool stale = fresh || !s->fs_valid || col_spool_mono_ms() - s->fs_ms >= FS_SAMPLE_MS;
    uint64_t v = s->fs_free > s->fs_since ? s->fs_free - s->fs_since : 0;
    uint64_t since0 = s->fs_since;
    pthread_mutex_unlock(&s->mu);
    if (!stale) {
        return v;
    }
    uint64_t f = fs_query(s);
    pthread_mutex_lock(&s->mu);
    s->fs_valid = true;
    s->fs_free = f;
    s->fs_ms = col_spool_mono_ms();
    /* Bytes appended while statvfs ran may be missing from the sample: keep counting them. */
    s->fs_since = s->fs_since >= since0 ? s->fs_since - since0 : 0;
    v = f > s->fs_since ? f - s->fs_since : 0;
    pthread_mutex_unlock(&s->mu);
    return v;
}

bool col_spool_has_room(struct col_spool *s, size_t bytes)
{
    if (s == NULL) {
        return false;
    }
    /* Segment headers of the roll-overs the batch may cause. */
    uint64_t per = s->cfg.segment_bytes - SEG_HDR_LEN;
    uint64_t need = (uint64_t)bytes + ((uint64_t)bytes / per + 1u) * SEG_HDR_LEN;
    pthread_mutex_lock(&s->mu);
    bool ok = !s->stopping;
    if (s->cfg.full == COL_SPOOL_FULL_REFUSE) {
        ok = ok && s->total_bytes + need <= s->cfg.max_total_bytes;
    } else {
        ok = ok && need <= s->cfg.max_total_bytes;
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        return false;
    }
    uint64_t fs = col_spool_fs_free_now(s, false);
    return fs >= s->cfg.min_free_bytes && fs - s->cfg.min_free_bytes >= need;
}

static bool has_room(const struct col_spool *s)
{
    uint64_t need = (uint64_t)s->cfg.max_record_bytes + REC_HDR_LEN + SEG_HDR_LEN;
    return s->total_bytes + need <= s->cfg.max_total_bytes;
}

int col_spool_wait_room(struct col_spool *s, uint64_t timeout_ms)
{
    struct timespec dl;
    col_spool_deadline_in(&dl, timeout_ms);
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
