/* hal_posix.c - the POSIX backend of fw_hal.h (Linux: sensor-node, fleet-sim, tests).
 *
 * NVS is a directory; blobs are replaced with write-to-temporary, fsync, rename, fsync(dir). */
#include "fw_hal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ct/err.h"

#define NVS_PATH_MAX 4096

struct fw_nvs {
    char dir[NVS_PATH_MAX]; /* the store's directory */
};

int64_t fw_hal_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fw_hal_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fw_hal_sleep_ms(uint32_t ms)
{
    struct timespec req = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&req, &req) != 0 && errno == EINTR) {
    }
}

static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv;
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static bool wake_flag;

static void wake_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wake_cv, &attr);
    pthread_condattr_destroy(&attr);
}

bool fw_hal_idle(uint32_t max_ms)
{
    pthread_once(&wake_once, wake_init);
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += max_ms / 1000;
    dl.tv_nsec += (long)(max_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&wake_mu);
    while (!wake_flag) {
        if (pthread_cond_timedwait(&wake_cv, &wake_mu, &dl) == ETIMEDOUT) {
            break;
        }
    }
    bool woken = wake_flag;
    wake_flag = false;
    pthread_mutex_unlock(&wake_mu);
    return woken;
}

void fw_hal_wake(void)
{
    pthread_once(&wake_once, wake_init);
    pthread_mutex_lock(&wake_mu);
    wake_flag = true;
    pthread_cond_signal(&wake_cv);
    pthread_mutex_unlock(&wake_mu);
}

int fw_hal_random_bytes(void *out, size_t len)
{
    unsigned char *p = out;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return CT_E_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

uint32_t fw_hal_random_u32(void)
{
    uint32_t v = 0;
    if (fw_hal_random_bytes(&v, sizeof(v)) != 0) {
        return 0;
    }
    return v;
}

/* ---- NVS ---- */

static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > FW_NVS_NAME_MAX || name[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int path_of(const struct fw_nvs *nvs, const char *name, const char *suffix, char *out,
                   size_t cap)
{
    if (!name_valid(name)) {
        return CT_E_INVAL;
    }
    int n = snprintf(out, cap, "%s/%s%s", nvs->dir, name, suffix);
    if (n < 0 || (size_t)n >= cap) {
        return CT_E_INVAL;
    }
    return 0;
}

static int mkdirs(const char *dir)
{
    char tmp[NVS_PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s", dir);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return CT_E_INVAL;
    }
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return CT_E_IO;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        return CT_E_IO;
    }
    return 0;
}

int fw_nvs_open(const char *dir, struct fw_nvs **out)
{
    if (dir == NULL || dir[0] == '\0' || strlen(dir) >= NVS_PATH_MAX - FW_NVS_NAME_MAX - 8) {
        return CT_E_INVAL;
    }
    int rc = mkdirs(dir);
    if (rc != 0) {
        return rc;
    }
    struct fw_nvs *nvs = calloc(1, sizeof(*nvs));
    if (nvs == NULL) {
        return CT_E_NOMEM;
    }
    snprintf(nvs->dir, sizeof(nvs->dir), "%s", dir);
    *out = nvs;
    return 0;
}

void fw_nvs_close(struct fw_nvs *nvs)
{
    if (nvs == NULL) {
        return;
    }
    free(nvs);
}

/* fsyncs the storage directory, so a rename or a new file in it survives a power loss. The
 * directory is opened only for this: a simulator running tens of thousands of nodes in one
 * process must not hold a descriptor per node. */
static int sync_dir(const struct fw_nvs *nvs)
{
    int fd = open(nvs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return CT_E_IO;
    }
    if (fsync(fd) != 0) {
        rc = CT_E_IO;
    }
    close(fd);
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return CT_E_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fw_nvs_read(struct fw_nvs *nvs, const char *name, void *buf, size_t cap, size_t *len)
{
    char path[NVS_PATH_MAX];
    int rc = path_of(nvs, name, "", path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? CT_E_NOTFOUND : CT_E_IO;
    }
    size_t total = 0;
    rc = 0;
    for (;;) {
        unsigned char scratch[1];
        void *dst = total < cap ? (unsigned char *)buf + total : scratch;
        size_t want = total < cap ? cap - total : sizeof(scratch);
        ssize_t n = read(fd, dst, want);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = CT_E_IO;
            break;
        }
        if (n == 0) {
            break;
        }
        if (total >= cap) {
            rc = CT_E_TOOBIG;
            break;
        }
        total += (size_t)n;
    }
    close(fd);
    if (rc == 0) {
        *len = total;
    }
    return rc;
}

int fw_nvs_write(struct fw_nvs *nvs, const char *name, const void *data, size_t len, bool sync)
{
    char path[NVS_PATH_MAX];
    char tmp[NVS_PATH_MAX];
    int rc = path_of(nvs, name, "", path, sizeof(path));
    if (rc == 0) {
        rc = path_of(nvs, name, ".tmp~", tmp, sizeof(tmp));
    }
    if (rc != 0) {
        return rc;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return CT_E_IO;
    }
    rc = write_all(fd, data, len);
    if (rc == 0 && sync && fsync(fd) != 0) {
        rc = CT_E_IO;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = CT_E_IO;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = CT_E_IO;
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    if (sync && sync_dir(nvs) != 0) {
        return CT_E_IO;
    }
    return 0;
}

int fw_nvs_log_append(struct fw_nvs *nvs, const char *name, const void *data, size_t len, bool sync)
{
    char path[NVS_PATH_MAX];
    int rc = path_of(nvs, name, "", path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return CT_E_IO;
    }
    struct stat st;
    bool created = fstat(fd, &st) == 0 && st.st_size == 0;
    rc = write_all(fd, data, len);
    if (rc == 0 && sync && fdatasync(fd) != 0) {
        rc = CT_E_IO;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = CT_E_IO;
    }
    if (rc == 0 && sync && created && sync_dir(nvs) != 0) {
        rc = CT_E_IO;
    }
    return rc;
}

int fw_nvs_log_read(struct fw_nvs *nvs, const char *name, uint64_t off, void *buf, size_t cap,
                    size_t *got)
{
    char path[NVS_PATH_MAX];
    int rc = path_of(nvs, name, "", path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    if (off > (uint64_t)INT64_MAX) {
        return CT_E_INVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? CT_E_NOTFOUND : CT_E_IO;
    }
    size_t total = 0;
    rc = 0;
    while (total < cap) {
        ssize_t n = pread(fd, (unsigned char *)buf + total, cap - total, (off_t)(off + total));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = CT_E_IO;
            break;
        }
        if (n == 0) {
            break;
        }
        total += (size_t)n;
    }
    close(fd);
    *got = total;
    return rc;
}

int fw_nvs_log_size(struct fw_nvs *nvs, const char *name, uint64_t *size)
{
    char path[NVS_PATH_MAX];
    int rc = path_of(nvs, name, "", path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        return errno == ENOENT ? CT_E_NOTFOUND : CT_E_IO;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

int fw_nvs_log_truncate(struct fw_nvs *nvs, const char *name, uint64_t size)
{
    char path[NVS_PATH_MAX];
    int rc = path_of(nvs, name, "", path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    if (size > (uint64_t)INT64_MAX) {
        return CT_E_INVAL;
    }
    if (truncate(path, (off_t)size) != 0) {
        return errno == ENOENT ? CT_E_NOTFOUND : CT_E_IO;
    }
    return 0;
}

int fw_nvs_remove(struct fw_nvs *nvs, const char *name)
{
    char path[NVS_PATH_MAX];
    int rc = path_of(nvs, name, "", path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return CT_E_IO;
    }
    return 0;
}

int fw_nvs_list(struct fw_nvs *nvs, const char *prefix, int (*fn)(void *arg, const char *name),
                void *arg)
{
    DIR *d = opendir(nvs->dir);
    if (d == NULL) {
        return CT_E_IO;
    }
    size_t plen = strlen(prefix);
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0) {
                rc = CT_E_IO;
            }
            break;
        }
        if (!name_valid(e->d_name) || strncmp(e->d_name, prefix, plen) != 0) {
            continue;
        }
        rc = fn(arg, e->d_name);
        if (rc != 0) {
            break;
        }
    }
    closedir(d);
    return rc;
}

/* ---- Sensor source ---- */

static pthread_mutex_t src_mu = PTHREAD_MUTEX_INITIALIZER;
static fw_hal_sensor_fn src_fn;
static void *src_arg;

void fw_hal_sensor_set_source(fw_hal_sensor_fn fn, void *arg)
{
    pthread_mutex_lock(&src_mu);
    src_fn = fn;
    src_arg = arg;
    pthread_mutex_unlock(&src_mu);
}

int fw_hal_sensor_read(void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                       double *out)
{
    pthread_mutex_lock(&src_mu);
    fw_hal_sensor_fn fn = src_fn;
    void *arg = src_arg;
    pthread_mutex_unlock(&src_mu);
    if (fn == NULL) {
        return CT_E_NOTFOUND;
    }
    return fn(arg, node, kind, channel, now_ms, out);
}
