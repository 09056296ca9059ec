/* tt10_deliver.c - delivery of the TT 10/2021 outbox: one pump per receiver on libcurl multi. A
 * pump reads a batch of its queue (a thread-pool job), uploads the batch with up to 'parallel'
 * transfers, unlinks each delivered queue entry and reads the next batch once the batch and its
 * unlinks are done; after a failure it waits (doubling backoff) and reads the queue again, so an
 * outage of any length only delays delivery. The outbox files and their writer are in
 * tt10_out.c; the shared state in tt10_out_int.h. */
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

/* Period of the FTP stall breaker (col_curl_uv_run_all), running only while uploads run: a
 * stalled upload waits up to one period, so at 50 ms one upload at a time could not pass 20
 * stalls a second (docs/benchmarks.md, "TT 10/2021 station files"). */
#define NUDGE_MS 5

static void start_uploads(struct rcv *r);

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
int tt10_rcv_init(struct col_tt10_out *o, struct rcv *r, const char *url, size_t len, char *err,
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
        tt10_out_maybe_free(o);
        return;
    }
    if (r->nitems == 0) {
        free(r->items);
        r->items = NULL;
        r->st.empty = !r->more;
        if (r->more) {
            tt10_rcv_kick(r);
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
        tt10_out_maybe_free(o);
        return;
    }
    tt10_rcv_kick(r);
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
        uv_timer_start(&r->retry, tt10_rcv_retry_cb, (uint64_t)r->backoff_ms, 0);
        r->backoff_ms =
            r->backoff_ms * 2 > r->o->retry_max_ms ? r->o->retry_max_ms : r->backoff_ms * 2;
        return;
    }
    tt10_rcv_kick(r);
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
void tt10_rcv_kick(struct rcv *r)
{
    if (r->o->closing || r->in_backoff || r->filling || r->nitems > 0 || r->unlinks > 0) {
        return;
    }
    start_fill(r);
}

void tt10_rcv_retry_cb(uv_timer_t *t)
{
    struct rcv *r = container_of(t, struct rcv, retry);
    r->in_backoff = false;
    tt10_rcv_kick(r);
}
