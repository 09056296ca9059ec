/* tt10_in.c - the watched folder of incoming station files (col_tt10_in.h). One pipeline at a
 * time: a scan job (thread pool: list, read, parse), the mapping and the callback (loop), a wait
 * until every reading handed over is durable (col_tt10_in_durable), a finish job (thread pool:
 * move to .done or .quarantine, remove duplicates); a scan asked for meanwhile runs when the
 * finish job is done. A prune job (thread pool) removes old files of .done and .quarantine. */
#include "col_tt10_in.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "col_obs.h"
#include "ct/err.h"
#include "tt10_int.h"

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

#define PATH_CAP 1024

/* OUT_KEEP: the callback could not take the reading; the file stays for a later scan. */
enum outcome { OUT_GOOD = 0, OUT_BAD, OUT_DUP, OUT_KEEP };

#define TICKET_INDEX_BITS 16 /* a ticket is (scan generation << 16) | index in the scan */

struct entry {
    char name[COL_TT10_NAME_MAX + 1];
    enum outcome outcome;
    size_t line;
    char reason[COL_TT10_ERR_MAX];
    struct col_tt10_file *f; /* parsed (good); owned */
    bool waiting;            /* handed over, not yet durable */
};

struct job {
    uv_work_t w;
    struct col_tt10_in *in;
    struct entry *e;
    size_t n, max;
    size_t waiting; /* entries handed over and not yet durable */
    uint32_t gen;   /* the scan's generation (tickets) */
};

struct col_tt10_in {
    uv_loop_t *loop;
    char dir[PATH_CAP], done[PATH_CAP + 8], quar[PATH_CAP + 16];
    struct col_tt10_fmt fmt;
    struct col_tt10_map map;
    int64_t settle_ms, poll_ms;
    uint32_t batch;
    int64_t keep_ms, prune_interval_ms;
    col_tt10_in_cb cb;
    void *arg;
    const struct ct_registry *reg;
    uv_fs_event_t ev;
    uv_timer_t timer;
    uv_timer_t prune;
    bool ev_open;
    struct job *wait_job; /* the scan whose readings are being made durable, or NULL */
    uint32_t gen;
    bool busy, rescan, closing;
    unsigned jobs, handles;
    void (*closed_cb)(void *);
    void *closed_arg;
    struct col_tt10_in_stats st;
};

static void start_scan(struct col_tt10_in *in);

static void maybe_free(struct col_tt10_in *in)
{
    if (!in->closing || in->jobs != 0 || in->handles != 0) {
        return;
    }
    void (*cb)(void *) = in->closed_cb;
    void *arg = in->closed_arg;
    free(in);
    if (cb != NULL) {
        cb(arg);
    }
}

static void free_job(struct job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->e[i].f);
    }
    free(j->e);
    free(j);
}

static bool has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcmp(name + n - e, ext) == 0;
}

/* ---- scan (thread pool) ---- */

static void bad(struct entry *e, size_t line, const char *reason)
{
    e->outcome = OUT_BAD;
    e->line = line;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static void take(struct col_tt10_in *in, struct entry *e, const char *path)
{
    char err[COL_TT10_ERR_MAX] = "";
    e->f = calloc(1, sizeof(*e->f));
    char *buf = malloc(COL_TT10_FILE_MAX + 1);
    if (e->f == NULL || buf == NULL) {
        free(buf);
        bad(e, 0, "out of memory");
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, buf, COL_TT10_FILE_MAX + 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    size_t line = 0;
    if (got < 0) {
        bad(e, 0, "cannot be read");
    } else if (col_tt10_parse_name(&in->fmt, e->name, strlen(e->name), e->f, err, sizeof(err)) !=
                   0 ||
               col_tt10_parse(&in->fmt, buf, (size_t)got, e->f, &line, err, sizeof(err)) != 0) {
        bad(e, line, err);
    } else {
        e->outcome = OUT_GOOD;
    }
    free(buf);
}

static void scan_work(uv_work_t *w)
{
    struct job *j = container_of(w, struct job, w);
    struct col_tt10_in *in = j->in;
    j->e = calloc(j->max, sizeof(*j->e));
    DIR *d = j->e != NULL ? opendir(in->dir) : NULL;
    if (d == NULL) {
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    struct dirent *de;
    while (j->n < j->max && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strlen(de->d_name) > COL_TT10_NAME_MAX ||
            !has_ext(de->d_name, in->fmt.ext)) {
            continue;
        }
        char path[PATH_CAP + COL_TT10_NAME_MAX + 2];
        char done[PATH_CAP + COL_TT10_NAME_MAX + 16];
        int pn = snprintf(path, sizeof(path), "%s/%s", in->dir, de->d_name);
        int dn = snprintf(done, sizeof(done), "%s/%s", in->done, de->d_name);
        struct stat sb;
        if (pn < 0 || (size_t)pn >= sizeof(path) || dn < 0 || (size_t)dn >= sizeof(done) ||
            lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            continue;
        }
        int64_t mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
        if (now_ms - mtime_ms < in->settle_ms) {
            continue; /* maybe still being written; the next scan looks again */
        }
        struct entry *e = &j->e[j->n++];
        memcpy(e->name, de->d_name, strlen(de->d_name) + 1); /* <= COL_TT10_NAME_MAX: checked */
        if (access(done, F_OK) == 0) {
            e->outcome = OUT_DUP;
            continue;
        }
        take(in, e, path);
    }
    closedir(d);
}

/* ---- finish (thread pool) ---- */

static void finish_work(uv_work_t *w)
{
    struct job *j = container_of(w, struct job, w);
    struct col_tt10_in *in = j->in;
    for (size_t i = 0; i < j->n; i++) {
        struct entry *e = &j->e[i];
        char src[PATH_CAP + COL_TT10_NAME_MAX + 2], dst[PATH_CAP + COL_TT10_NAME_MAX + 32];
        snprintf(src, sizeof(src), "%s/%s", in->dir, e->name);
        if (e->outcome == OUT_KEEP) {
            continue;
        }
        if (e->outcome == OUT_DUP) {
            unlink(src);
            continue;
        }
        snprintf(dst, sizeof(dst), "%s/%s", e->outcome == OUT_GOOD ? in->done : in->quar, e->name);
        if (rename(src, dst) != 0) {
            continue;
        }
        if (e->outcome == OUT_BAD) {
            char rpath[PATH_CAP + COL_TT10_NAME_MAX + 40];
            snprintf(rpath, sizeof(rpath), "%s/%s.reason", in->quar, e->name);
            FILE *f = fopen(rpath, "w");
            if (f != NULL) {
                fprintf(f, "line %zu: %s\n", e->line, e->reason);
                fclose(f);
            }
        }
    }
}

static void finish_done(uv_work_t *w, int status)
{
    (void)status;
    struct job *j = container_of(w, struct job, w);
    struct col_tt10_in *in = j->in;
    in->jobs--;
    in->busy = false;
    /* Counted once the files are where the counts say (tests poll the counts). */
    for (size_t i = 0; i < j->n; i++) {
        const struct entry *e = &j->e[i];
        if (e->outcome == OUT_GOOD) {
            in->st.accepted++;
        } else if (e->outcome == OUT_DUP) {
            in->st.duplicates++;
        } else if (e->outcome == OUT_BAD) {
            in->st.quarantined++;
            col_log(COL_LOG_WARN, "tt10", "quarantined %s: line %zu: %s", e->name, e->line,
                    e->reason);
        }
    }
    bool again = in->rescan || j->n == j->max;
    free_job(j);
    if (in->closing) {
        maybe_free(in);
        return;
    }
    if (again) {
        in->rescan = false;
        start_scan(in);
    }
}

/* ---- mapping (loop) ---- */

static const struct ct_device *find_station(const struct ct_registry *reg,
                                            const struct col_tt10_file *f)
{
    size_t n = ct_registry_count(reg);
    for (size_t i = 0; i < n; i++) {
        const struct ct_device *d = ct_registry_at(reg, i);
        if (d->has_tt10 && strcmp(d->tt10_station, f->station) == 0 &&
            strcmp(d->tt10_facility, f->facility) == 0 &&
            strcmp(d->tt10_province, f->province) == 0) {
            return d;
        }
    }
    return NULL;
}

/* Maps a parsed file to a reading and hands it over, or marks the entry bad. */
static void deliver(struct col_tt10_in *in, struct job *j, size_t idx)
{
    struct entry *e = &j->e[idx];
    const struct col_tt10_file *f = e->f;
    const struct ct_device *dev = find_station(in->reg, f);
    char why[COL_TT10_ERR_MAX];
    if (dev == NULL) {
        snprintf(why, sizeof(why), "station %s_%s_%s is not in the registry", f->province,
                 f->facility, f->station);
        bad(e, 0, why);
        return;
    }
    struct ct_reading r;
    enum col_tt10_status status[CT_MAX_VALUES];
    memset(&r, 0, sizeof(r));
    r.kind = dev->kind;
    memcpy(r.id, dev->id, sizeof(r.id));
    r.ts_ms = f->ts_ms;
    for (size_t i = 0; i < f->n; i++) {
        const struct col_tt10_line *l = &f->lines[i];
        const struct col_tt10_param *p = col_tt10_map_symbol(&in->map, dev->kind, l->symbol);
        if (p == NULL) {
            snprintf(why, sizeof(why), "symbol %s is not mapped for kind %s", l->symbol,
                     ct_kind_name(dev->kind));
            bad(e, i + 1, why);
            return;
        }
        if (strcmp(p->unit, l->unit) != 0) {
            snprintf(why, sizeof(why), "unit of %s is \"%s\", expected \"%s\"", l->symbol, l->unit,
                     p->unit);
            bad(e, i + 1, why);
            return;
        }
        if (r.n == CT_MAX_VALUES) {
            bad(e, i + 1, "too many parameters");
            return;
        }
        struct ct_value *v = &r.values[r.n];
        memcpy(v->name, p->member, sizeof(v->name));
        const struct ct_member *m = ct_schema_find(dev->kind, p->member, strlen(p->member));
        v->type = m != NULL ? m->type : CT_VT_NUMBER;
        v->num = l->value;
        status[r.n++] = l->status;
    }
    uint64_t ticket = ((uint64_t)j->gen << TICKET_INDEX_BITS) | idx;
    int rc = in->cb(in->arg, dev, &r, status, e->name, ticket);
    if (rc == COL_TT10_IN_WAIT) {
        e->waiting = true;
        j->waiting++;
    } else if (rc < 0) {
        e->outcome = OUT_KEEP;
    }
}

static void start_finish(struct col_tt10_in *in, struct job *j)
{
    if (uv_queue_work(in->loop, &j->w, finish_work, finish_done) != 0) {
        in->jobs--;
        in->busy = false;
        free_job(j);
    }
}

void col_tt10_in_durable(struct col_tt10_in *in, uint64_t ticket)
{
    struct job *j = in != NULL ? in->wait_job : NULL;
    size_t idx = (size_t)(ticket & ((1u << TICKET_INDEX_BITS) - 1));
    if (j == NULL || (uint32_t)(ticket >> TICKET_INDEX_BITS) != j->gen || idx >= j->n ||
        !j->e[idx].waiting) {
        return;
    }
    j->e[idx].waiting = false;
    j->waiting--;
    in->st.waiting = j->waiting;
    if (j->waiting == 0) {
        in->wait_job = NULL;
        start_finish(in, j);
    }
}

static void scan_done(uv_work_t *w, int status)
{
    (void)status;
    struct job *j = container_of(w, struct job, w);
    struct col_tt10_in *in = j->in;
    in->st.scans++;
    if (!in->closing) {
        for (size_t i = 0; i < j->n; i++) {
            if (j->e[i].outcome == OUT_GOOD) {
                deliver(in, j, i);
            }
        }
    }
    if (j->n == 0 || in->closing) {
        in->jobs--;
        in->busy = false;
        bool again = in->rescan && !in->closing;
        in->rescan = false;
        free_job(j);
        if (in->closing) {
            maybe_free(in);
        } else if (again) {
            start_scan(in);
        }
        return;
    }
    if (j->waiting > 0) {
        in->wait_job = j; /* finished by the last col_tt10_in_durable */
        in->st.waiting = j->waiting;
        return;
    }
    start_finish(in, j);
}

static void start_scan(struct col_tt10_in *in)
{
    if (in->closing) {
        return;
    }
    if (in->busy) {
        in->rescan = true;
        return;
    }
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return;
    }
    j->in = in;
    j->max = in->batch;
    j->gen = ++in->gen;
    if (uv_queue_work(in->loop, &j->w, scan_work, scan_done) != 0) {
        free(j);
        return;
    }
    in->busy = true;
    in->jobs++;
}

static void on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)name;
    (void)events;
    (void)status;
    start_scan(container_of(h, struct col_tt10_in, ev));
}

static void on_timer(uv_timer_t *t)
{
    start_scan(container_of(t, struct col_tt10_in, timer));
}

/* ---- retention of .done and .quarantine (thread pool) ---- */

struct prune_job {
    uv_work_t w;
    struct col_tt10_in *in;
    time_t before;
    uint64_t removed;
};

static void prune_work(uv_work_t *w)
{
    struct prune_job *j = container_of(w, struct prune_job, w);
    j->removed = tt10_prune_dir(j->in->done, j->before) + tt10_prune_dir(j->in->quar, j->before);
}

static void prune_done(uv_work_t *w, int status)
{
    (void)status;
    struct prune_job *j = container_of(w, struct prune_job, w);
    struct col_tt10_in *in = j->in;
    in->jobs--;
    in->st.pruned += j->removed;
    if (j->removed > 0) {
        col_log(COL_LOG_INFO, "tt10", "pruned %llu taken or quarantined files older than %lld days",
                (unsigned long long)j->removed, (long long)(in->keep_ms / 86400000));
    }
    free(j);
    maybe_free(in);
}

static void on_prune(uv_timer_t *t)
{
    struct col_tt10_in *in = container_of(t, struct col_tt10_in, prune);
    struct prune_job *j = calloc(1, sizeof(*j));
    if (j == NULL || in->closing) {
        free(j);
        return;
    }
    j->in = in;
    j->before = (time_t)((int64_t)time(NULL) - in->keep_ms / 1000);
    if (uv_queue_work(in->loop, &j->w, prune_work, prune_done) != 0) {
        free(j);
        return;
    }
    in->jobs++;
}

/* ---- life cycle ---- */

int col_tt10_in_create(uv_loop_t *loop, const struct col_tt10_in_cfg *cfg,
                       const struct ct_registry *reg, struct col_tt10_in **out, char *err,
                       size_t errcap)
{
    if (cfg->dir == NULL || cfg->dir[0] == '\0' || strlen(cfg->dir) >= PATH_CAP ||
        cfg->cb == NULL || cfg->batch < 1 || cfg->batch > 4096) {
        snprintf(err, errcap, "tt10 in: bad configuration");
        return CT_E_INVAL;
    }
    struct col_tt10_in *in = calloc(1, sizeof(*in));
    if (in == NULL) {
        return CT_E_NOMEM;
    }
    in->loop = loop;
    snprintf(in->dir, sizeof(in->dir), "%s", cfg->dir);
    snprintf(in->done, sizeof(in->done), "%s/.done", cfg->dir);
    snprintf(in->quar, sizeof(in->quar), "%s/.quarantine", cfg->dir);
    in->fmt = cfg->fmt;
    in->map = *cfg->map;
    in->settle_ms = cfg->settle_ms > 0 ? cfg->settle_ms : 0;
    in->poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : 5000;
    in->batch = cfg->batch;
    in->keep_ms = cfg->keep_ms > 0 ? cfg->keep_ms : 0;
    in->prune_interval_ms = cfg->prune_interval_ms > 0 ? cfg->prune_interval_ms : 3600 * 1000;
    in->cb = cfg->cb;
    in->arg = cfg->arg;
    in->reg = reg;
    /* Start-up only: three mkdir calls before the loop serves anything else. */
    if ((mkdir(in->dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(in->done, 0755) != 0 && errno != EEXIST) ||
        (mkdir(in->quar, 0755) != 0 && errno != EEXIST)) {
        snprintf(err, errcap, "tt10 in: cannot create %s: %s", in->dir, strerror(errno));
        free(in);
        return CT_E_IO;
    }
    uv_timer_init(loop, &in->timer);
    in->handles++;
    uv_timer_start(&in->timer, on_timer, 0, (uint64_t)in->poll_ms);
    uv_timer_init(loop, &in->prune);
    in->handles++;
    if (in->keep_ms > 0) {
        uv_timer_start(&in->prune, on_prune, 1000, (uint64_t)in->prune_interval_ms);
    }
    if (uv_fs_event_init(loop, &in->ev) == 0) {
        in->ev_open = true;
        in->handles++;
        if (uv_fs_event_start(&in->ev, on_event, in->dir, 0) != 0) {
            col_log(COL_LOG_WARN, "tt10", "cannot watch %s; polling every %lld ms", in->dir,
                    (long long)in->poll_ms);
        }
    }
    *out = in;
    return 0;
}

void col_tt10_in_registry(struct col_tt10_in *in, const struct ct_registry *reg)
{
    in->reg = reg;
}

void col_tt10_in_stats(const struct col_tt10_in *in, struct col_tt10_in_stats *st)
{
    *st = in->st;
}

static void handle_closed(uv_handle_t *h)
{
    struct col_tt10_in *in = h->data;
    in->handles--;
    maybe_free(in);
}

void col_tt10_in_close(struct col_tt10_in *in, void (*closed_cb)(void *arg), void *arg)
{
    if (in == NULL) {
        return;
    }
    in->closing = true;
    in->closed_cb = closed_cb;
    in->closed_arg = arg;
    if (in->wait_job != NULL) {
        /* Not durable yet: the files stay in the folder for the next start. */
        free_job(in->wait_job);
        in->wait_job = NULL;
        in->jobs--;
        in->busy = false;
    }
    in->timer.data = in;
    uv_close((uv_handle_t *)&in->timer, handle_closed);
    in->prune.data = in;
    uv_close((uv_handle_t *)&in->prune, handle_closed);
    if (in->ev_open) {
        in->ev.data = in;
        uv_close((uv_handle_t *)&in->ev, handle_closed);
    }
}
