/* console_keep.c - the files the console keeps across restarts (the ongoing "exceeding" alerts,
 * the staff-set station states, the waiting recompute jobs): read once at creation, rewritten whole
 * on the libuv thread pool after a change (temporary file, fsync, rename: a crash leaves the old
 * file or the new one, never a torn one), one write at a time; a change during a write starts
 * another when it ends. Contract: console_int.h. Tests: tests/e2e/test_console.py
 * (check_outage_restart), test_console_recompute_keep. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_obs.h"
#include "console_int.h"
#include "ct/err.h"

struct keep_job {
    uv_work_t work;
    struct col_console_keep *k;
    struct ct_buf text;
    uint64_t gen; /* the changes this write holds */
    int err;      /* errno of a failed write, 0 */
};

/* A request answered when the change it made is in the file. */
struct col_console_keep_wait {
    struct col_http_req *req;
    uint64_t gen;
    struct col_console_keep_wait *next;
};

int col_console_keep_init(struct col_console_keep *k, struct col_console *c, const char *path,
                          const char *what, col_console_keep_text_fn text)
{
    memset(k, 0, sizeof(*k));
    k->c = c;
    k->what = what;
    k->text = text;
    if (path != NULL && path[0] != '\0') {
        k->path = strdup(path);
        if (k->path == NULL) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

int col_console_keep_load(struct col_console_keep *k, char *err, size_t errcap)
{
    FILE *f;
    size_t cap = 1u << 20;
    size_t n;

    if (k->path == NULL) {
        return 0;
    }
    f = fopen(k->path, "rb");
    if (f == NULL) {
        if (errno == ENOENT) {
            return 0; /* nothing kept yet */
        }
        snprintf(err, errcap, "%s: %s", k->path, strerror(errno));
        return CT_E_IO;
    }
    k->restore = malloc(cap);
    while (k->restore != NULL &&
           (n = fread(k->restore + k->restore_len, 1, cap - k->restore_len, f)) > 0) {
        k->restore_len += n;
        if (k->restore_len == cap) {
            char *more = realloc(k->restore, cap * 2);
            if (more == NULL) {
                free(k->restore);
            }
            k->restore = more;
            cap *= 2;
        }
    }
    fclose(f);
    return k->restore != NULL ? 0 : CT_E_NOMEM;
}

void col_console_keep_free(struct col_console_keep *k)
{
    free(k->path);
    free(k->restore);
    k->path = NULL;
    k->restore = NULL;
}

static void reply_failed(struct col_console_keep *k, struct col_http_req *req)
{
    char msg[200];

    snprintf(msg, sizeof(msg),
             "The change is made but cannot be kept across a restart (%s): see the collector's "
             "log.",
             k->what);
    col_console_reply_error(req, 500, msg);
}

/* Answers the requests whose change is durable now (ok) or could not be written. */
static void answer_waits(struct col_console_keep *k, uint64_t gen, bool ok)
{
    struct col_console_keep_wait **pp = &k->waits;

    while (*pp != NULL) {
        struct col_console_keep_wait *w = *pp;
        if (w->gen > gen) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        if (ok) {
            col_console_reply(w->req, 200, "application/json", "{\"ok\":true}\n", 12, NULL);
        } else {
            reply_failed(k, w->req);
        }
        free(w);
    }
}

/* Thread pool: no loop state touched. */
static void save_work(uv_work_t *w)
{
    struct keep_job *j = container_of(w, struct keep_job, work);
    char tmp[4096];
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", j->k->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        j->err = errno;
        return;
    }
    if ((j->text.len > 0 && write(fd, j->text.p, j->text.len) != (ssize_t)j->text.len) ||
        fsync(fd) != 0) {
        j->err = errno != 0 ? errno : EIO;
    }
    if (close(fd) != 0 && j->err == 0) {
        j->err = errno;
    }
    if (j->err == 0 && rename(tmp, j->k->path) != 0) {
        j->err = errno;
    }
}

static void save_done(uv_work_t *w, int status)
{
    struct keep_job *j = container_of(w, struct keep_job, work);
    struct col_console_keep *k = j->k;
    bool ok = status == 0 && j->err == 0;

    k->saving = false;
    if (!ok) {
        col_log(COL_LOG_ERROR, "console", "cannot write %s: %s (%s are not kept across a restart)",
                k->path, strerror(j->err != 0 ? j->err : ECANCELED), k->what);
    }
    answer_waits(k, j->gen, ok);
    ct_buf_free(&j->text);
    free(j);
    if (k->gen > k->saved_gen) {
        col_console_keep_save(k, NULL);
    }
    col_console_maybe_closed(k->c);
}

void col_console_keep_save(struct col_console_keep *k, struct col_http_req *req)
{
    struct keep_job *j;

    if (k->path == NULL) { /* not kept */
        if (req != NULL) {
            col_console_reply(req, 200, "application/json", "{\"ok\":true}\n", 12, NULL);
        }
        return;
    }
    k->gen++;
    if (req != NULL) {
        struct col_console_keep_wait *w = malloc(sizeof(*w));
        if (w == NULL) {
            reply_failed(k, req);
        } else {
            *w = (struct col_console_keep_wait){req, k->gen, k->waits};
            k->waits = w;
        }
    }
    if (k->saving) {
        return; /* save_done starts the next write */
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        goto out_fail;
    }
    j->k = k;
    j->gen = k->gen;
    ct_buf_init(&j->text, 16u << 20);
    if (k->text(k->c, &j->text) != 0 ||
        uv_queue_work(col_console_loop(k->c), &j->work, save_work, save_done) != 0) {
        ct_buf_free(&j->text);
        free(j);
        goto out_fail;
    }
    k->saving = true;
    k->saved_gen = j->gen;
    return;
out_fail:
    col_log(COL_LOG_ERROR, "console", "cannot save %s to %s (out of memory)", k->what, k->path);
    k->saved_gen = k->gen;
    answer_waits(k, k->gen, false);
}
