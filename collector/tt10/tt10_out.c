/* tt10_out.c - the TT 10/2021 outbox (col_tt10_out.h), its files: writer and pruner jobs on the
 * thread pool, col_tt10_out_put, create, close and stats. A put is written under files/ and linked
 * into each receiver's queue, then the receiver's pump is kicked; the delivery itself (one pump per
 * receiver on libcurl multi) is in tt10_deliver.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "col_obs.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "tt10_int.h"
#include "tt10_out_int.h"

void tt10_out_maybe_free(struct col_tt10_out *o)
{
    if (!o->closing || o->jobs != 0 || o->handles != 0 || !o->curl_closed) {
        return;
    }
    for (size_t i = 0; i < o->nr; i++) {
        struct rcv *r = &o->r[i];
        for (size_t k = 0; k < r->nitems; k++) {
            free(r->items[k].data);
        }
        free(r->items);
        for (unsigned k = 0; k < PARALLEL_MAX; k++) {
            if (r->ups[k].x.easy != NULL) {
                curl_easy_cleanup(r->ups[k].x.easy);
            }
            curl_slist_free_all(r->ups[k].post);
        }
        free(r->url);
        free(r->curl_url);
        free(r->path);
    }
    while (o->puts != NULL) {
        struct put *p = o->puts;
        o->puts = p->next;
        free(p->data);
        free(p);
    }
    void (*cb)(void *) = o->closed_cb;
    void *arg = o->closed_arg;
    free(o->dir);
    free(o->ca_file);
    free(o->ssh_priv);
    free(o->ssh_pub);
    free(o->ssh_known);
    free(o);
    if (cb != NULL) {
        cb(arg);
    }
}

static bool name_ok(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len <= COL_TT10_NAME_MAX && name[0] != '.' && strchr(name, '/') == NULL;
}

static void start_writer(struct col_tt10_out *o);

struct write_job {
    uv_work_t w;
    struct col_tt10_out *o;
    struct put *list;
    char files[PATH_CAP];
    char qdirs[COL_TT10_OUT_RECEIVERS_MAX][PATH_CAP];
    size_t nr;
    bool fsync;
};

static int write_one(struct write_job *j, struct put *p)
{
    char tmp[PATH_CAP + COL_TT10_NAME_MAX + 8], dst[PATH_CAP + COL_TT10_NAME_MAX + 2];
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", j->files, p->name);
    snprintf(dst, sizeof(dst), "%s/%s", j->files, p->name);
    if (access(dst, F_OK) == 0) {
        return 1; /* written and queued by an earlier run: never sent again */
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return CT_E_IO;
    }
    size_t off = 0;
    while (off < p->len) {
        ssize_t n = write(fd, p->data + off, p->len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return CT_E_IO;
        }
        off += (size_t)n;
    }
    if ((j->fsync && fsync(fd) != 0) || close(fd) != 0) {
        unlink(tmp);
        return CT_E_IO;
    }
    for (size_t i = 0; i < j->nr; i++) {
        char q[PATH_CAP + COL_TT10_NAME_MAX + 2];
        snprintf(q, sizeof(q), "%s/%s", j->qdirs[i], p->name);
        if (link(tmp, q) != 0) {
            /* Queued already (the same name put again): the new content replaces it. */
            if (errno != EEXIST || unlink(q) != 0 || link(tmp, q) != 0) {
                unlink(tmp);
                return CT_E_IO;
            }
        }
    }
    return rename(tmp, dst) == 0 ? 0 : CT_E_IO;
}

static void write_work(uv_work_t *w)
{
    struct write_job *j = container_of(w, struct write_job, w);
    for (struct put *p = j->list; p != NULL; p = p->next) {
        p->rc = write_one(j, p);
    }
}

static void write_done(uv_work_t *w, int status)
{
    (void)status;
    struct write_job *j = container_of(w, struct write_job, w);
    struct col_tt10_out *o = j->o;
    o->jobs--;
    o->writing = false;
    o->wjob = NULL;
    uint64_t skipped = 0;
    while (j->list != NULL) {
        struct put *p = j->list;
        j->list = p->next;
        if (p->rc == 0) {
            o->written++;
        } else if (p->rc == 1) {
            skipped++;
        } else {
            o->write_errors++;
            col_log(COL_LOG_ERROR, MOD, "cannot write %s/%s: %s", o->files, p->name,
                    ct_strerror(p->rc));
        }
        free(p->data);
        free(p);
    }
    free(j);
    o->skipped += skipped;
    if (skipped > 0) {
        col_log(COL_LOG_INFO, MOD,
                "%llu station files were written by an earlier run (a journal replay): not "
                "written or sent again",
                (unsigned long long)skipped);
    }
    if (o->closing) {
        tt10_out_maybe_free(o);
        return;
    }
    for (size_t i = 0; i < o->nr; i++) {
        o->r[i].more = true;
        o->r[i].st.empty = false;
        tt10_rcv_kick(&o->r[i]);
    }
    start_writer(o);
}

static void start_writer(struct col_tt10_out *o)
{
    if (o->writing || o->puts == NULL || o->closing) {
        return;
    }
    struct write_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return; /* the next put tries again */
    }
    j->o = o;
    j->list = o->puts;
    snprintf(j->files, sizeof(j->files), "%s", o->files);
    for (size_t i = 0; i < o->nr; i++) {
        snprintf(j->qdirs[i], sizeof(j->qdirs[i]), "%s", o->r[i].qdir);
    }
    j->nr = o->nr;
    j->fsync = o->fsync;
    if (uv_queue_work(o->loop, &j->w, write_work, write_done) != 0) {
        free(j);
        return;
    }
    o->puts = NULL;
    o->puts_tail = &o->puts;
    o->nputs = 0;
    o->writing = true;
    o->wjob = j;
    o->jobs++;
}

uint64_t col_tt10_out_low_water(const struct col_tt10_out *o)
{
    uint64_t low = UINT64_MAX;
    for (const struct put *p = o->puts; p != NULL; p = p->next) {
        low = p->mark != 0 && p->mark < low ? p->mark : low;
    }
    for (const struct put *p = o->wjob != NULL ? o->wjob->list : NULL; p != NULL; p = p->next) {
        low = p->mark != 0 && p->mark < low ? p->mark : low;
    }
    return low;
}

int col_tt10_out_put(struct col_tt10_out *o, const char *name, const void *data, size_t len,
                     uint64_t mark)
{
    if (o->closing) {
        return CT_E_STATE;
    }
    if (!name_ok(name) || len > COL_TT10_FILE_MAX) {
        return CT_E_INVAL;
    }
    if (o->nputs >= o->max_puts) {
        o->full++;
        return CT_E_FULL;
    }
    struct put *p = calloc(1, sizeof(*p));
    char *copy = malloc(len + 1);
    if (p == NULL || copy == NULL) {
        free(p);
        free(copy);
        return CT_E_NOMEM;
    }
    memcpy(copy, data, len);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->data = copy;
    p->len = len;
    p->mark = mark;
    *o->puts_tail = p;
    o->puts_tail = &p->next;
    o->nputs++;
    start_writer(o);
    return 0;
}

struct prune_job {
    uv_work_t w;
    struct col_tt10_out *o;
    char dirs[COL_TT10_OUT_RECEIVERS_MAX + 1][PATH_CAP];
    size_t ndirs;
    time_t before;
    uint64_t removed;
};

static void prune_work(uv_work_t *w)
{
    struct prune_job *j = container_of(w, struct prune_job, w);
    for (size_t i = 0; i < j->ndirs; i++) {
        j->removed += tt10_prune_dir(j->dirs[i], j->before);
    }
}

static void prune_done(uv_work_t *w, int status)
{
    (void)status;
    struct prune_job *j = container_of(w, struct prune_job, w);
    struct col_tt10_out *o = j->o;
    o->jobs--;
    o->pruned += j->removed;
    if (j->removed > 0) {
        col_log(COL_LOG_INFO, MOD, "pruned %llu files older than the retention",
                (unsigned long long)j->removed);
    }
    free(j);
    tt10_out_maybe_free(o);
}

static void prune_cb(uv_timer_t *t)
{
    struct col_tt10_out *o = container_of(t, struct col_tt10_out, prune);
    struct prune_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return;
    }
    j->o = o;
    snprintf(j->dirs[0], PATH_CAP, "%s", o->files);
    for (size_t i = 0; i < o->nr; i++) {
        snprintf(j->dirs[i + 1], PATH_CAP, "%s", o->r[i].qdir);
    }
    j->ndirs = o->nr + 1;
    j->before = (time_t)((int64_t)time(NULL) - o->retention_ms / 1000);
    if (uv_queue_work(o->loop, &j->w, prune_work, prune_done) != 0) {
        free(j);
        return;
    }
    o->jobs++;
}

/* Start-up only (before the loop runs the outbox): mkdir -p of a short path. */
static int mkdirs(const char *path)
{
    char buf[PATH_CAP];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return CT_E_IO;
            }
            *p = '/';
        }
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? CT_E_IO : 0;
}

static void handle_closed(uv_handle_t *h)
{
    struct col_tt10_out *o = h->data;
    o->handles--;
    tt10_out_maybe_free(o);
}

static void curl_closed(void *arg)
{
    struct col_tt10_out *o = arg;
    o->curl_closed = true;
    tt10_out_maybe_free(o);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

int col_tt10_out_create(uv_loop_t *loop, const struct col_tt10_out_cfg *cfg,
                        struct col_tt10_out **out, char *err, size_t errcap)
{
    if (cfg->dir == NULL || cfg->dir[0] == '\0' || strlen(cfg->dir) > PATH_CAP - 64 ||
        cfg->parallel < 1 || cfg->parallel > PARALLEL_MAX || cfg->batch < 1 || cfg->batch > 4096 ||
        cfg->max_puts < 1) {
        snprintf(err, errcap, "tt10 outbox: bad configuration");
        return CT_E_INVAL;
    }
    struct col_tt10_out *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return CT_E_NOMEM;
    }
    o->loop = loop;
    o->puts_tail = &o->puts;
    o->curl_closed = true;
    o->dir = strdup(cfg->dir);
    o->ca_file = dup_or_empty(cfg->ca_file);
    o->ssh_priv = dup_or_empty(cfg->ssh_private_key);
    o->ssh_pub = dup_or_empty(cfg->ssh_public_key);
    o->ssh_known = dup_or_empty(cfg->ssh_known_hosts);
    o->tls_verify = cfg->tls_verify;
    o->fsync = cfg->fsync;
    o->retention_ms = cfg->retention_ms;
    o->prune_interval_ms = cfg->prune_interval_ms;
    o->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 1000;
    o->retry_max_ms = cfg->retry_max_ms >= o->retry_base_ms ? cfg->retry_max_ms : o->retry_base_ms;
    o->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    o->parallel = cfg->parallel;
    o->batch = cfg->batch;
    o->max_puts = cfg->max_puts;
    int rc = CT_E_NOMEM;
    if (o->dir == NULL || o->ca_file == NULL || o->ssh_priv == NULL || o->ssh_pub == NULL ||
        o->ssh_known == NULL) {
        goto out_free;
    }
    snprintf(o->files, sizeof(o->files), "%s/files", o->dir);
    const char *s = cfg->receivers != NULL ? cfg->receivers : "";
    while (*s != '\0') {
        size_t skip = strspn(s, " ,\t\n");
        s += skip;
        size_t len = strcspn(s, " ,\t\n");
        if (len == 0) {
            break;
        }
        if (o->nr == COL_TT10_OUT_RECEIVERS_MAX) {
            snprintf(err, errcap, "tt10: more than %d receivers", COL_TT10_OUT_RECEIVERS_MAX);
            rc = CT_E_INVAL;
            goto out_free;
        }
        rc = tt10_rcv_init(o, &o->r[o->nr], s, len, err, errcap);
        o->nr++;
        if (rc != 0) {
            goto out_free;
        }
        s += len;
    }
    rc = mkdirs(o->files);
    for (size_t i = 0; rc == 0 && i < o->nr; i++) {
        rc = mkdirs(o->r[i].qdir);
    }
    if (rc != 0) {
        snprintf(err, errcap, "tt10: cannot create the outbox under %s: %s", o->dir,
                 strerror(errno));
        goto out_free;
    }
    rc = col_curl_uv_create(loop, &o->cu);
    if (rc != 0) {
        snprintf(err, errcap, "tt10: libcurl multi: %s", ct_strerror(rc));
        goto out_free;
    }
    o->curl_closed = false;
    uv_timer_init(loop, &o->prune);
    o->prune.data = o;
    o->handles++;
    uv_timer_init(loop, &o->nudge);
    o->nudge.data = o;
    o->handles++;
    for (size_t i = 0; i < o->nr; i++) {
        uv_timer_init(loop, &o->r[i].retry);
        o->r[i].retry.data = o;
        o->handles++;
    }
    if (o->retention_ms > 0 && o->prune_interval_ms > 0) {
        uv_timer_start(&o->prune, prune_cb, 1000, (uint64_t)o->prune_interval_ms);
    }
    for (size_t i = 0; i < o->nr; i++) {
        uv_timer_start(&o->r[i].retry, tt10_rcv_retry_cb, 0, 0); /* the first look at the queue */
        o->r[i].in_backoff = true;
    }
    *out = o;
    return 0;
out_free:
    o->closing = true;
    tt10_out_maybe_free(o);
    return rc;
}

bool col_tt10_out_idle(const struct col_tt10_out *o)
{
    if (o->nputs > 0 || o->writing) {
        return false;
    }
    for (size_t i = 0; i < o->nr; i++) {
        const struct rcv *r = &o->r[i];
        if (!r->st.empty || r->filling || r->nitems > 0 || r->unlinks > 0 || r->more) {
            return false;
        }
    }
    return true;
}

void col_tt10_out_stats(const struct col_tt10_out *o, struct col_tt10_out_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->written = o->written;
    st->write_errors = o->write_errors;
    st->full = o->full;
    st->pruned = o->pruned;
    st->skipped = o->skipped;
    st->puts_waiting = o->nputs;
    st->nreceivers = o->nr;
    for (size_t i = 0; i < o->nr; i++) {
        st->r[i] = o->r[i].st;
    }
}

void col_tt10_out_close(struct col_tt10_out *o, void (*closed_cb)(void *arg), void *arg)
{
    if (o == NULL) {
        return;
    }
    o->closing = true;
    o->closed_cb = closed_cb;
    o->closed_arg = arg;
    for (size_t i = 0; i < o->nr; i++) {
        struct rcv *r = &o->r[i];
        for (unsigned k = 0; k < PARALLEL_MAX; k++) {
            if (r->ups[k].it != NULL) {
                col_curl_uv_cancel(o->cu, &r->ups[k].x);
                r->ups[k].it = NULL;
            }
        }
        r->active = 0;
        uv_close((uv_handle_t *)&r->retry, handle_closed);
    }
    uv_close((uv_handle_t *)&o->prune, handle_closed);
    uv_close((uv_handle_t *)&o->nudge, handle_closed);
    col_curl_uv_close(o->cu, curl_closed, o);
}
