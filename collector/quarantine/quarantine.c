/* quarantine.c - the rotating quarantine file. */
#include "quarantine_int.h"

#include "ct/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEF_MAX_BYTES (10u * 1024u * 1024u)
#define DEF_KEEP 5u
#define DEF_MAX_PAYLOAD 8192u
#define MIN_MAX_BYTES 4096u
#define MAX_KEEP 1000u

struct col_quarantine {
    struct col_quarantine_cfg cfg; /* defaults applied; cfg.path points at 'path' */
    char *path;                    /* owned copy */
    unsigned keep;                 /* rotated files kept (0..MAX_KEEP) */
    pthread_mutex_t mu;            /* guards everything below */
    int fd;                        /* the live file, O_APPEND; -1 after a failed rotation */
    uint64_t size;                 /* bytes in the live file */
    uint64_t *lines;               /* lines[0]: live file, lines[i]: <path>.i */
    struct col_quarantine_stats st;
    struct qbuf line; /* reused for each line */
};

static int rot_path(const struct col_quarantine *q, unsigned i, char *out, size_t cap)
{
    int n = i == 0 ? snprintf(out, cap, "%s", q->path) : snprintf(out, cap, "%s.%u", q->path, i);
    return (n < 0 || (size_t)n >= cap) ? CT_E_TOOBIG : 0;
}

/* Counts newlines of a file (0 when it does not exist). */
static uint64_t count_lines(const char *path)
{
    char buf[65536];
    uint64_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0) {
            break;
        }
        for (ssize_t i = 0; i < r; i++) {
            n += buf[i] == '\n';
        }
    }
    close(fd);
    return n;
}

static int open_live(struct col_quarantine *q)
{
    q->fd = open(q->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (q->fd < 0) {
        return CT_E_IO;
    }
    struct stat sb;
    if (fstat(q->fd, &sb) != 0) {
        close(q->fd);
        q->fd = -1;
        return CT_E_IO;
    }
    q->size = (uint64_t)sb.st_size;
    return 0;
}

int col_quarantine_open(const struct col_quarantine_cfg *cfg, struct col_quarantine **out)
{
    if (cfg == NULL || out == NULL || cfg->path == NULL || cfg->path[0] == '\0' ||
        (cfg->max_bytes != 0 && cfg->max_bytes < MIN_MAX_BYTES)) {
        return CT_E_INVAL;
    }
    struct col_quarantine *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        return CT_E_NOMEM;
    }
    int rc = CT_E_NOMEM;
    q->cfg = *cfg;
    q->path = strdup(cfg->path);
    if (q->path == NULL) {
        goto out_free;
    }
    q->cfg.path = q->path;
    if (q->cfg.max_bytes == 0) {
        q->cfg.max_bytes = DEF_MAX_BYTES;
    }
    if (q->cfg.max_payload_bytes == 0) {
        q->cfg.max_payload_bytes = DEF_MAX_PAYLOAD;
    }
    q->keep = cfg->keep == 0 ? DEF_KEEP : (cfg->keep == COL_QUARANTINE_KEEP_NONE ? 0 : cfg->keep);
    if (q->keep > MAX_KEEP) {
        rc = CT_E_INVAL;
        goto out_free;
    }
    q->lines = calloc(q->keep + 1, sizeof(*q->lines));
    if (q->lines == NULL) {
        goto out_free;
    }
    for (unsigned i = 0; i <= q->keep; i++) {
        char p[PATH_MAX];
        if (rot_path(q, i, p, sizeof(p)) != 0) {
            rc = CT_E_INVAL;
            goto out_free;
        }
        q->lines[i] = count_lines(p);
    }
    rc = open_live(q);
    if (rc != 0) {
        goto out_free;
    }
    pthread_mutex_init(&q->mu, NULL);
    *out = q;
    return 0;
out_free:
    free(q->lines);
    free(q->path);
    free(q);
    return rc;
}

/* Shifts the files by one and starts an empty live file. Lock held. */
static int rotate(struct col_quarantine *q)
{
    char from[PATH_MAX];
    char to[PATH_MAX];
    if (q->fd >= 0) {
        close(q->fd);
        q->fd = -1;
    }
    q->st.rotations++;
    q->st.expired += q->lines[q->keep];
    if (q->keep == 0) {
        rot_path(q, 0, from, sizeof(from));
        unlink(from);
    } else {
        rot_path(q, q->keep, to, sizeof(to));
        unlink(to);
        for (unsigned i = q->keep; i >= 1; i--) {
            rot_path(q, i - 1, from, sizeof(from));
            rot_path(q, i, to, sizeof(to));
            if (rename(from, to) != 0 && errno != ENOENT) {
                return CT_E_IO;
            }
            q->lines[i] = q->lines[i - 1];
        }
    }
    q->lines[0] = 0;
    return open_live(q);
}

int col_quarantine_write(struct col_quarantine *q, const struct col_quarantine_entry *e)
{
    int rc;
    pthread_mutex_lock(&q->mu);
    q->line.len = 0;
    rc = col_quarantine_qline_build(&q->line, e, q->cfg.max_payload_bytes);
    if (rc != 0) {
        goto out_unlock;
    }
    if (q->line.len > q->cfg.max_bytes) {
        rc = CT_E_TOOBIG;
        goto out_drop;
    }
    if (q->fd < 0 || (q->size > 0 && q->size + q->line.len > q->cfg.max_bytes)) {
        rc = rotate(q);
        if (rc != 0) {
            goto out_drop;
        }
    }
    size_t done = 0;
    while (done < q->line.len) {
        ssize_t w = write(q->fd, q->line.p + done, q->line.len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            /* Do not leave half a line: cut it off (best effort). */
            if (done > 0 && ftruncate(q->fd, (off_t)q->size) != 0) {
                q->size += done;
            }
            rc = CT_E_IO;
            goto out_drop;
        }
        done += (size_t)w;
    }
    q->size += q->line.len;
    q->lines[0]++;
    q->st.written++;
    goto out_unlock;
out_drop:
    q->st.dropped++;
out_unlock:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void col_quarantine_stats(struct col_quarantine *q, struct col_quarantine_stats *st)
{
    pthread_mutex_lock(&q->mu);
    *st = q->st;
    st->bytes = q->size;
    pthread_mutex_unlock(&q->mu);
}

void col_quarantine_close(struct col_quarantine *q)
{
    if (q == NULL) {
        return;
    }
    if (q->fd >= 0) {
        close(q->fd);
    }
    pthread_mutex_destroy(&q->mu);
    col_quarantine_qbuf_free(&q->line);
    free(q->lines);
    free(q->path);
    free(q);
}
