/* tt10_out.c - the TT 10/2021 outbox (col_tt10_out.h): writer and pruner jobs on the thread pool,
 * one delivery pump per receiver on libcurl multi. A pump reads a batch of its queue (a thread-pool
 * job), uploads the batch with up to 'parallel' transfers, unlinks each delivered queue entry and
 * reads the next batch once the batch and its unlinks are done; after a failure it waits (doubling
 * backoff) and reads the queue again, so an outage of any length only delays delivery. */
#include "col_tt10_out.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "col_curl_uv.h"
#include "col_obs.h"
#include "col_tt10.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "tt10_int.h"

#define MOD "tt10"
#define PATH_CAP 1024
#define PARALLEL_MAX 16
/* Period of the FTP stall breaker (col_curl_uv_run_all), running only while uploads run: a
 * stalled upload waits up to one period, so at 50 ms one upload at a time could not pass 20
 * stalls a second (docs/benchmarks.md, "TT 10/2021 station files"). */
#define NUDGE_MS 5

enum scheme { SC_FTP = 0, SC_FTPES, SC_FTPS, SC_SFTP };

struct item {
    char name[COL_TT10_NAME_MAX + 1];
    char *data; /* owned */
    size_t len;
};

struct rcv;

struct upload {
    struct col_curl_xfer x;
    struct rcv *r;
    struct item *it;
    size_t off;
    struct curl_slist *post;
    char errbuf[CURL_ERROR_SIZE];
};

struct rcv {
    struct col_tt10_out *o;
    enum scheme scheme;
    char *url;      /* as given, credentials included; owned */
    char *curl_url; /* the URL handed to libcurl (ftpes:// becomes ftp://); owned */
    char *path;     /* decoded remote directory (sftp rename), owned */
    char qdir[PATH_CAP];
    uv_timer_t retry;
    int64_t backoff_ms;
    bool in_backoff;
    bool filling;
    bool more;   /* something was queued since the last fill started */
    bool failed; /* an upload of the current batch failed */
    struct item *items;
    size_t nitems, next, active;
    unsigned unlinks; /* unlinks of delivered entries still running */
    struct upload ups[PARALLEL_MAX];
    struct col_tt10_out_rstats st;
};

struct put {
    struct put *next;
    char name[COL_TT10_NAME_MAX + 1];
    char *data;
    size_t len;
    uint64_t mark; /* the lowest journal record behind it; 0: none */
    int rc;        /* set by the writer: 0, 1 (already in files/: skipped) or CT_E_* */
};

struct write_job;

struct col_tt10_out {
    uv_loop_t *loop;
    struct col_curl_uv *cu;
    char *dir;
    char files[PATH_CAP];
    char *ca_file, *ssh_priv, *ssh_pub, *ssh_known;
    bool tls_verify, fsync;
    int64_t retention_ms, prune_interval_ms, retry_base_ms, retry_max_ms, timeout_ms;
    uint32_t parallel, batch;
    size_t max_puts;
    struct rcv r[COL_TT10_OUT_RECEIVERS_MAX];
    size_t nr;
    struct put *puts, **puts_tail; /* waiting for the writer */
    size_t nputs;
    bool writing;
    struct write_job *wjob; /* the running write job, or NULL */
    uv_timer_t prune;
    uv_timer_t nudge; /* col_curl_uv_run_all() while uploads run (col_curl_uv.h says why) */
    unsigned jobs;    /* thread-pool jobs and fs requests running */
    unsigned handles; /* uv handles open (timers) */
    bool closing, curl_closed;
    void (*closed_cb)(void *);
    void *closed_arg;
    uint64_t written, write_errors, full, pruned, skipped;
};

static void kick(struct rcv *r);
static void retry_cb(uv_timer_t *t);
static void nudge_cb(uv_timer_t *t);

static void maybe_free(struct col_tt10_out *o)
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

/* ---- receivers ---- */

static uint64_t fnv(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    }
    return h;
}

/* Fills r from 'url' (len bytes): scheme, the URL without credentials (for stats and the queue's
 * id), the decoded path. */
static int rcv_init(struct col_tt10_out *o, struct rcv *r, const char *url, size_t len, char *err,
                    size_t errcap)
{
    static const struct {
        const char *prefix;
        enum scheme sc;
    } schemes[] = {
        {"ftp://", SC_FTP}, {"ftpes://", SC_FTPES}, {"ftps://", SC_FTPS}, {"sftp://", SC_SFTP}};
    size_t k = 0, plen = 0;
    for (; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
        plen = strlen(schemes[k].prefix);
        if (len > plen && strncmp(url, schemes[k].prefix, plen) == 0) {
            break;
        }
    }
    if (k == sizeof(schemes) / sizeof(schemes[0]) || url[len - 1] != '/' || len > 1000) {
        snprintf(err, errcap,
                 "tt10 receiver %.*s: expected ftp://, ftpes://, ftps:// or sftp:// ending in '/'",
                 (int)(len > 200 ? 200 : len), url);
        return CT_E_INVAL;
    }
    r->o = o;
    r->scheme = schemes[k].sc;
    r->url = strndup(url, len);
    size_t off = r->scheme == SC_FTPES ? 3 : 0; /* "ftpes://" -> "ftp://" */
    r->curl_url = malloc(len + 1);
    if (r->url == NULL || r->curl_url == NULL) {
        return CT_E_NOMEM;
    }
    if (off > 0) {
        snprintf(r->curl_url, len + 1, "ftp://%.*s", (int)(len - plen), url + plen);
    } else {
        memcpy(r->curl_url, url, len);
        r->curl_url[len] = '\0';
    }
    /* host part: after the scheme up to the first '/'; drop "user:pass@". */
    const char *host = url + plen;
    const char *slash = memchr(host, '/', len - plen);
    if (slash == NULL) {
        snprintf(err, errcap, "tt10 receiver %s: no path", r->url);
        return CT_E_INVAL;
    }
    const char *at = memchr(host, '@', (size_t)(slash - host));
    const char *h = at != NULL ? at + 1 : host;
    snprintf(r->st.url, sizeof(r->st.url), "%s%.*s", schemes[k].prefix, (int)(url + len - h), h);
    if (r->scheme == SC_SFTP && slash[1] == '~') {
        snprintf(err, errcap, "tt10 receiver %s: sftp needs an absolute path", r->st.url);
        return CT_E_INVAL;
    }
    CURL *e = curl_easy_init();
    int dlen = 0;
    char *dec = e != NULL ? curl_easy_unescape(e, slash, (int)(url + len - slash), &dlen) : NULL;
    if (dec != NULL) {
        r->path = strndup(dec, (size_t)dlen);
        curl_free(dec);
    }
    if (e != NULL) {
        curl_easy_cleanup(e);
    }
    if (r->path == NULL) {
        return CT_E_NOMEM;
    }
    snprintf(r->qdir, sizeof(r->qdir), "%s/queue/%016llx", o->dir,
             (unsigned long long)fnv(r->st.url, strlen(r->st.url)));
    r->backoff_ms = o->retry_base_ms;
    return 0;
}

/* ---- file jobs ---- */

struct fill_job {
    uv_work_t w;
    struct rcv *r;
    char qdir[PATH_CAP];
    uint32_t max;
    struct item *items;
    size_t n;
};

static void fill_work(uv_work_t *w)
{
    struct fill_job *j = container_of(w, struct fill_job, w);
    j->items = calloc(j->max, sizeof(*j->items));
    if (j->items == NULL) {
        return;
    }
    DIR *d = opendir(j->qdir);
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    while (j->n < j->max && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strlen(de->d_name) > COL_TT10_NAME_MAX) {
            continue;
        }
        /* The name is at most COL_TT10_NAME_MAX (checked above): openat needs no joined path. */
        size_t nlen = strlen(de->d_name);
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        struct stat sb;
        char *buf = NULL;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size <= COL_TT10_FILE_MAX) {
            buf = malloc((size_t)sb.st_size + 1);
        }
        ssize_t got = buf != NULL ? read(fd, buf, (size_t)sb.st_size) : -1;
        close(fd);
        if (got != (ssize_t)sb.st_size) {
            free(buf);
            continue;
        }
        struct item *it = &j->items[j->n++];
        memcpy(it->name, de->d_name, nlen + 1); /* nlen <= COL_TT10_NAME_MAX < sizeof(name) */
        it->data = buf;
        it->len = (size_t)got;
    }
    closedir(d);
}

static void start_uploads(struct rcv *r);

static void fill_done(uv_work_t *w, int status)
{
    (void)status;
    struct fill_job *j = container_of(w, struct fill_job, w);
    struct rcv *r = j->r;
    struct col_tt10_out *o = r->o;
    o->jobs--;
    r->filling = false;
    r->items = j->items;
    r->nitems = j->n;
    r->next = 0;
    free(j);
    if (o->closing) {
        maybe_free(o);
        return;
    }
    if (r->nitems == 0) {
        free(r->items);
        r->items = NULL;
        r->st.empty = !r->more;
        if (r->more) {
            kick(r);
        }
        return;
    }
    start_uploads(r);
}

static void start_fill(struct rcv *r)
{
    struct col_tt10_out *o = r->o;
    struct fill_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return; /* tried again on the next put or retry */
    }
    j->r = r;
    j->max = o->batch;
    snprintf(j->qdir, sizeof(j->qdir), "%s", r->qdir);
    r->more = false;
    if (uv_queue_work(o->loop, &j->w, fill_work, fill_done) != 0) {
        free(j);
        return;
    }
    r->filling = true;
    o->jobs++;
}

/* ---- uploads ---- */

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t room = size * nitems, left = u->it->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(buf, u->it->data + u->off, n);
    u->off += n;
    return n;
}

struct unlink_req {
    uv_fs_t fs;
    struct rcv *r;
};

static void unlink_done(uv_fs_t *fs)
{
    struct unlink_req *q = container_of(fs, struct unlink_req, fs);
    struct rcv *r = q->r;
    struct col_tt10_out *o = r->o;
    uv_fs_req_cleanup(fs);
    free(q);
    o->jobs--;
    r->unlinks--;
    if (o->closing) {
        maybe_free(o);
        return;
    }
    kick(r);
}

static void batch_end(struct rcv *r)
{
    for (size_t k = 0; k < r->nitems; k++) {
        free(r->items[k].data);
    }
    free(r->items);
    r->items = NULL;
    r->nitems = r->next = 0;
    if (r->failed) {
        r->failed = false;
        r->in_backoff = true;
        r->st.backoffs++;
        uv_timer_start(&r->retry, retry_cb, (uint64_t)r->backoff_ms, 0);
        r->backoff_ms =
            r->backoff_ms * 2 > r->o->retry_max_ms ? r->o->retry_max_ms : r->backoff_ms * 2;
        return;
    }
    kick(r);
}

static void upload_done(struct col_curl_xfer *x, CURLcode rc)
{
    struct upload *u = container_of(x, struct upload, x);
    struct rcv *r = u->r;
    struct col_tt10_out *o = r->o;
    r->active--;
    if (rc == CURLE_OK) {
        r->st.delivered++;
        r->st.up = true;
        r->backoff_ms = o->retry_base_ms;
        struct unlink_req *q = calloc(1, sizeof(*q));
        char path[PATH_CAP + COL_TT10_NAME_MAX + 2];
        snprintf(path, sizeof(path), "%s/%s", r->qdir, u->it->name);
        if (q != NULL) {
            q->r = r;
            if (uv_fs_unlink(o->loop, &q->fs, path, unlink_done) == 0) {
                o->jobs++;
                r->unlinks++;
            } else {
                free(q);
            }
        }
    } else {
        r->st.failures++;
        r->st.up = false;
        r->failed = true;
        r->next = r->nitems; /* start no more of this batch */
        struct ct_buf eb;
        ct_buf_init_fixed(&eb, r->st.last_error, sizeof(r->st.last_error));
        if (ct_buf_printf(&eb, "%s: %s", curl_easy_strerror(rc), u->errbuf) != 0) {
            ct_buf_adds(&eb, curl_easy_strerror(rc)); /* the detail did not fit */
        }
        col_log(COL_LOG_WARN, MOD, "upload of %s to %s failed: %s", u->it->name, r->st.url,
                r->st.last_error);
    }
    curl_slist_free_all(u->post);
    u->post = NULL;
    u->it = NULL;
    if (r->active == 0 && r->next == r->nitems) {
        batch_end(r);
    } else {
        start_uploads(r);
    }
}

static int setup_easy(struct rcv *r, struct upload *u)
{
    struct col_tt10_out *o = r->o;
    if (u->x.easy == NULL) {
        u->x.easy = curl_easy_init();
        if (u->x.easy == NULL) {
            return CT_E_NOMEM;
        }
    } else {
        curl_easy_reset(u->x.easy);
    }
    CURL *e = u->x.easy;
    char url[2048], a[PATH_CAP + 2 * COL_TT10_NAME_MAX + 32], b[PATH_CAP + 2 * COL_TT10_NAME_MAX];
    snprintf(url, sizeof(url), "%s%s.part", r->curl_url, u->it->name);
    struct curl_slist *l = NULL;
    if (r->scheme == SC_SFTP) {
        snprintf(a, sizeof(a), "*rm \"%s%s\"", r->path, u->it->name);
        l = curl_slist_append(l, a);
        snprintf(b, sizeof(b), "rename \"%s%s.part\" \"%s%s\"", r->path, u->it->name, r->path,
                 u->it->name);
    } else {
        snprintf(a, sizeof(a), "RNFR %s.part", u->it->name);
        l = curl_slist_append(l, a);
        snprintf(b, sizeof(b), "RNTO %s", u->it->name);
    }
    struct curl_slist *l2 = l != NULL ? curl_slist_append(l, b) : NULL;
    if (l2 == NULL) {
        curl_slist_free_all(l);
        return CT_E_NOMEM;
    }
    u->post = l2;
    u->off = 0;
    u->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, u);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->it->len);
    curl_easy_setopt(e, CURLOPT_POSTQUOTE, u->post);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, u->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "ftp,ftps,sftp");
    if (getenv("CT_TT10_CURL_VERBOSE") != NULL) {
        curl_easy_setopt(e, CURLOPT_VERBOSE, 1L); /* debugging a receiver: libcurl's trace */
    }
    if (r->scheme == SC_FTPES) {
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    }
    if (r->scheme == SC_FTPES || r->scheme == SC_FTPS) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
        if (o->ca_file[0] != '\0') {
            curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
        }
    }
    if (r->scheme == SC_SFTP) {
        curl_easy_setopt(e, CURLOPT_SSH_AUTH_TYPES,
                         (long)(CURLSSH_AUTH_PUBLICKEY | CURLSSH_AUTH_PASSWORD));
        if (o->ssh_priv[0] != '\0') {
            curl_easy_setopt(e, CURLOPT_SSH_PRIVATE_KEYFILE, o->ssh_priv);
        }
        if (o->ssh_pub[0] != '\0') {
            curl_easy_setopt(e, CURLOPT_SSH_PUBLIC_KEYFILE, o->ssh_pub);
        }
        if (o->ssh_known[0] != '\0') {
            curl_easy_setopt(e, CURLOPT_SSH_KNOWNHOSTS, o->ssh_known);
        }
    }
    return 0;
}

static void start_uploads(struct rcv *r)
{
    struct col_tt10_out *o = r->o;
    while (!o->closing && r->next < r->nitems && r->active < o->parallel) {
        struct upload *u = NULL;
        for (unsigned k = 0; k < o->parallel; k++) {
            if (r->ups[k].it == NULL) {
                u = &r->ups[k];
                break;
            }
        }
        if (u == NULL) {
            break;
        }
        u->r = r;
        u->it = &r->items[r->next++];
        if (setup_easy(r, u) != 0 || col_curl_uv_start(o->cu, &u->x, upload_done) != 0) {
            curl_slist_free_all(u->post);
            u->post = NULL;
            u->it = NULL;
            r->failed = true;
            r->next = r->nitems;
            break;
        }
        r->active++;
        if (!uv_is_active((uv_handle_t *)&o->nudge)) {
            uv_timer_start(&o->nudge, nudge_cb, NUDGE_MS, NUDGE_MS);
        }
    }
    if (r->active == 0 && r->next == r->nitems && r->nitems > 0) {
        batch_end(r);
    }
}

/* Starts the next step of r's pump when it is idle. */
static void kick(struct rcv *r)
{
    if (r->o->closing || r->in_backoff || r->filling || r->nitems > 0 || r->unlinks > 0) {
        return;
    }
    start_fill(r);
}

static void retry_cb(uv_timer_t *t)
{
    struct rcv *r = container_of(t, struct rcv, retry);
    r->in_backoff = false;
    kick(r);
}

/* ---- writer ---- */

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

static void start_writer(struct col_tt10_out *o);

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
        maybe_free(o);
        return;
    }
    for (size_t i = 0; i < o->nr; i++) {
        o->r[i].more = true;
        o->r[i].st.empty = false;
        kick(&o->r[i]);
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

/* ---- retention ---- */

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
    maybe_free(o);
}

static void nudge_cb(uv_timer_t *t)
{
    struct col_tt10_out *o = container_of(t, struct col_tt10_out, nudge);
    size_t active = 0;
    for (size_t i = 0; i < o->nr; i++) {
        active += o->r[i].active;
    }
    if (active == 0) {
        uv_timer_stop(t); /* started again with the next upload */
        return;
    }
    col_curl_uv_run_all(o->cu);
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

/* ---- life cycle ---- */

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
    maybe_free(o);
}

static void curl_closed(void *arg)
{
    struct col_tt10_out *o = arg;
    o->curl_closed = true;
    maybe_free(o);
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
        rc = rcv_init(o, &o->r[o->nr], s, len, err, errcap);
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
        uv_timer_start(&o->r[i].retry, retry_cb, 0, 0); /* the first look at the queue */
        o->r[i].in_backoff = true;
    }
    *out = o;
    return 0;
out_free:
    o->closing = true;
    maybe_free(o);
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
