/* fw_test_broker.c - see fw_test_broker.h. */
#include "fw_test_broker.h"

#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 20

int64_t tb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

pid_t tb_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid != 0) {
        return pid;
    }
    if (log != NULL) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
    }
    execv(argv[0], argv);
    _exit(127);
}

int tb_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = tb_now_ms() + timeout_ms;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (tb_now_ms() >= deadline) {
            return -1;
        }
        nap(POLL_MS);
    }
}

static int launch(struct tb_broker *b)
{
    char conf[200];
    char log[200];
    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
    snprintf(log, sizeof(log), "%s/mosquitto.log", b->dir);
    char *argv[] = {(char *)"/usr/sbin/mosquitto", (char *)"-c", conf, NULL};
    b->pid = tb_spawn(argv, log);
    if (b->pid < 0) {
        b->pid = 0;
        return -1;
    }
    int64_t deadline = tb_now_ms() + 10000;
    while (!port_accepts(b->port)) {
        if (tb_now_ms() >= deadline || waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            fprintf(stderr, "tb: mosquitto did not come up on port %d (see %s)\n", b->port, log);
            return -1;
        }
        nap(POLL_MS);
    }
    return 0;
}

int tb_broker_start(struct tb_broker *b, bool persistent)
{
    return tb_broker_start_ex(b, persistent, NULL);
}

int tb_broker_start_ex(struct tb_broker *b, bool persistent, const char *extra)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->dir, sizeof(b->dir), "/tmp/ct-test-broker-XXXXXX");
    if (mkdtemp(b->dir) == NULL) {
        return -1;
    }
    b->persistent = persistent;
    b->port = free_port();
    if (b->port <= 0) {
        return -1;
    }
    char conf[200];
    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "listener %d 127.0.0.1\n%s", b->port, extra != NULL ? extra : "");
    fprintf(f, "allow_anonymous true\nmax_queued_messages 100000\n");
    if (getuid() == 0) {
        fprintf(f, "user root\n");
    }
    if (persistent) {
        fprintf(f, "persistence true\npersistence_location %s/\nautosave_interval 3600\n", b->dir);
    } else {
        fprintf(f, "persistence false\n");
    }
    fclose(f);
    return launch(b);
}

int tb_broker_restart(struct tb_broker *b)
{
    if (b->pid != 0) {
        tb_broker_stop(b, false);
    }
    return launch(b);
}

void tb_broker_stop(struct tb_broker *b, bool kill9)
{
    if (b->pid == 0) {
        return;
    }
    kill(b->pid, kill9 ? SIGKILL : SIGTERM);
    if (tb_wait_exit(b->pid, 10000) < 0) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, NULL, 0);
    }
    b->pid = 0;
}

void tb_broker_cleanup(struct tb_broker *b)
{
    tb_broker_stop(b, false);
    if (b->dir[0] != '\0') {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "tb: could not remove %s\n", b->dir);
        }
    }
}

struct tb_sub {
    MQTTAsync client;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool subscribed;
    bool failed;
    char filter[256];
    struct tb_msg *msgs;
    size_t n;
};

static int on_msg(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct tb_sub *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->n < TB_MAX_MSGS) {
        struct tb_msg *x = &s->msgs[s->n++];
        memset(x, 0, sizeof(*x));
        size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
        if (tl >= sizeof(x->topic)) {
            tl = sizeof(x->topic) - 1;
        }
        memcpy(x->topic, topic, tl);
        size_t pl = (size_t)m->payloadlen < sizeof(x->payload) - 1 ? (size_t)m->payloadlen
                                                                   : sizeof(x->payload) - 1;
        memcpy(x->payload, m->payload, pl);
        x->len = pl;
        x->retained = m->retained != 0;
        for (int i = 0; i < m->properties.count; i++) {
            MQTTProperty *p = &m->properties.array[i];
            if (p->identifier == MQTTPROPERTY_CODE_USER_PROPERTY && p->value.data.len == 3 &&
                memcmp(p->value.data.data, "sig", 3) == 0 &&
                (size_t)p->value.value.len < sizeof(x->sig)) {
                memcpy(x->sig, p->value.value.data, (size_t)p->value.value.len);
            }
        }
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_sub_ok(void *ctx, MQTTAsync_successData5 *r)
{
    struct tb_sub *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->subscribed = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_fail(void *ctx, MQTTAsync_failureData5 *r)
{
    struct tb_sub *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->failed = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_conn_ok(void *ctx, MQTTAsync_successData5 *r)
{
    struct tb_sub *s = ctx;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess5 = on_sub_ok;
    ro.onFailure5 = on_fail;
    ro.context = s;
    if (MQTTAsync_subscribe(s->client, s->filter, 1, &ro) != MQTTASYNC_SUCCESS) {
        on_fail(s, NULL);
    }
}

struct tb_sub *tb_sub_start(int port, const char *client_id, const char *filter,
                            bool persistent_session)
{
    struct tb_sub *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->msgs = calloc(TB_MAX_MSGS, sizeof(*s->msgs));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    snprintf(s->filter, sizeof(s->filter), "%s", filter);
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    if (s->msgs == NULL ||
        MQTTAsync_createWithOptions(&s->client, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                    &co) != MQTTASYNC_SUCCESS) {
        free(s->msgs);
        free(s);
        return NULL;
    }
    MQTTAsync_setCallbacks(s->client, s, NULL, on_msg, NULL);
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    MQTTProperties props = MQTTProperties_initializer;
    opts.cleanstart = persistent_session ? 0 : 1;
    opts.automaticReconnect = 1;
    opts.minRetryInterval = 1;
    opts.maxRetryInterval = 1;
    opts.onSuccess5 = on_conn_ok;
    opts.onFailure5 = on_fail;
    opts.context = s;
    if (persistent_session) {
        MQTTProperty p;
        memset(&p, 0, sizeof(p));
        p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
        p.value.integer4 = 3600;
        MQTTProperties_add(&props, &p);
        opts.connectProperties = &props;
    }
    int rc = MQTTAsync_connect(s->client, &opts);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        tb_sub_stop(s);
        return NULL;
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    while (!s->subscribed && !s->failed) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT) {
            break;
        }
    }
    bool ok = s->subscribed;
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        tb_sub_stop(s);
        return NULL;
    }
    return s;
}

static bool suffix_match(const struct tb_msg *m, const char *suffix)
{
    if (suffix == NULL) {
        return true;
    }
    size_t a = strlen(m->topic);
    size_t b = strlen(suffix);
    return a >= b && strcmp(m->topic + a - b, suffix) == 0;
}

size_t tb_sub_wait(struct tb_sub *s, const char *topic_suffix, size_t n, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    size_t count = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        count = 0;
        for (size_t i = 0; i < s->n; i++) {
            count += suffix_match(&s->msgs[i], topic_suffix) ? 1 : 0;
        }
        if (count >= n || pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return count;
}

bool tb_sub_get(struct tb_sub *s, size_t i, struct tb_msg *out)
{
    pthread_mutex_lock(&s->mu);
    bool ok = i < s->n;
    if (ok) {
        *out = s->msgs[i];
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

size_t tb_sub_count(struct tb_sub *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void tb_sub_stop(struct tb_sub *s)
{
    if (s == NULL) {
        return;
    }
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = 1000;
    MQTTAsync_disconnect(s->client, &d);
    MQTTAsync_destroy(&s->client);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->msgs);
    free(s);
}
