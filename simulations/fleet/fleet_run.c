/* fleet_run.c - fleet-sim's nodes: setup, the run loop (a wake-up heap over thousands of firmware
 * apps in one thread), node faults (offline, reboot, replacement, clock skew, garbage), the status
 * line and the shutdown. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct/err.h"
#include "ct/topic.h"
#include "fleet.h"
#include "fw_hal.h"

#define IDLE_MAX_MS 100
#define SHUTDOWN_MS 3000
#define REBOOT_GRACE_MS 2000 /* real ms a rebooting node stays silent (its acks drain) */
#define STATS_MS 1000
#define CHECK_MS 200

/* The node's clock: the firmware reads the wall clock through the HAL; fleet-sim links with
 * -Wl,--wrap=fw_hal_wall_ms so that the node being stepped sees its own RTC error (skew fault). */
int64_t __real_fw_hal_wall_ms(void);
int64_t __wrap_fw_hal_wall_ms(void);
static int64_t current_skew_ms;

int64_t __wrap_fw_hal_wall_ms(void)
{
    return __real_fw_hal_wall_ms() + current_skew_ms;
}

static char garbage_owner; /* owner of garbage publishes: their acks are only counted */

/* ---- wake-up heap ---------------------------------------------------------------------------- */

static bool heap_less(const struct fleet *fl, size_t a, size_t b)
{
    return fl->nodes[fl->heap[a]].wake < fl->nodes[fl->heap[b]].wake;
}

static void heap_swap(struct fleet *fl, size_t a, size_t b)
{
    uint32_t t = fl->heap[a];
    fl->heap[a] = fl->heap[b];
    fl->heap[b] = t;
    fl->nodes[fl->heap[a]].heap_pos = a;
    fl->nodes[fl->heap[b]].heap_pos = b;
}

static void heap_fix(struct fleet *fl, size_t i)
{
    while (i > 0 && heap_less(fl, i, (i - 1) / 2)) {
        heap_swap(fl, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < fl->heap_len && heap_less(fl, l, m)) {
            m = l;
        }
        if (r < fl->heap_len && heap_less(fl, r, m)) {
            m = r;
        }
        if (m == i) {
            return;
        }
        heap_swap(fl, i, m);
        i = m;
    }
}

static void set_wake(struct fleet *fl, struct fleet_node *n, int64_t wake)
{
    n->wake = wake;
    heap_fix(fl, n->heap_pos);
}

/* ---- events ---------------------------------------------------------------------------------- */

struct poll_ctx {
    struct fleet *fl;
    struct fleet_conn *c;
};

static void dispatch(void *arg, const struct fw_tx_event *ev)
{
    struct poll_ctx *pc = arg;
    struct fleet *fl = pc->fl;
    if (ev->type == FW_TX_EV_DELIVERED) {
        pc->c->room = true;
        if (ev->owner == &garbage_owner) {
            fl->garbage_acked++;
            return;
        }
        struct fw_app *app = ev->owner;
        struct fleet_node *n = fw_app_user(app);
        fw_app_on_tx_event(app, ev);
        set_wake(fl, n, 0);
        return;
    }
    for (size_t i = 0; i < fl->nnodes; i++) { /* connection events: every node of the conn */
        struct fleet_node *n = &fl->nodes[i];
        if (n->conn == pc->c && n->app != NULL) {
            fw_app_on_tx_event(n->app, ev);
            if (n->started) {
                set_wake(fl, n, 0);
            }
        }
    }
}

int fleet_source(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                 double *out)
{
    struct fleet *fl = arg;
    struct fleet_node *n = node;
    int rc = sim_physics_read(&fl->phys, &n->phys, kind, channel, now_ms, out);
    if (rc == 0 && n->fs.mask != 0) {
        int64_t t = sim_physics_time(&fl->phys, now_ms);
        *out = sim_faults_filter(&fl->fctx, &n->fs, n->phys.dev, channel, t, *out);
    }
    return rc;
}

/* ---- setup ----------------------------------------------------------------------------------- */

static int app_create(struct fleet *fl, struct fleet_node *n)
{
    const struct ct_device *d = n->phys.dev;
    struct fw_app_cfg cfg = {
        .kind = d->kind,
        .id = d->id,
        .key = n->key,
        .nvs = n->nvs,
        .time_scale = fl->o.scale,
        .interval_ms = (uint32_t)fl->o.interval_ms,
        .backlog_rate = fl->o.rate,
        .sync = false,
        .max_inflight = (int)fl->o.inflight,
        .mm_per_tip = d->mm_per_tip,
        .park_mode = d->park_mode,
        .publish_status = true,
        .sensor_node = n,
    };
    int rc = fw_app_create(&cfg, &n->app);
    if (rc != 0) {
        fprintf(stderr, "fleet-sim: %s: app: %s\n", d->id, ct_strerror(rc));
    }
    return rc;
}

static int make_conn(struct fleet *fl, struct fleet_conn *c, const char *cid,
                     const struct fleet_node *n, size_t window, size_t blocked_cap)
{
    char wt[CT_TOPIC_MAX], wp[256], ws[CT_SIG_HEX_LEN + 1];
    struct fw_tx_cfg tc = {
        .broker = fl->o.broker,
        .client_id = cid,
        .max_inflight = window > FW_TX_MAX_INFLIGHT ? FW_TX_MAX_INFLIGHT : (int)window,
        .reconnect_max_ms = 10000,
    };
    if (n != NULL) { /* per-node: the node's own will */
        int rc = fw_app_status(n->app, false, wt, sizeof(wt), wp, sizeof(wp), ws);
        if (rc != 0) {
            return rc;
        }
        tc.will_topic = wt;
        tc.will_payload = wp;
        tc.will_sig = ws;
    }
    c->blocked = calloc(blocked_cap, sizeof(*c->blocked));
    if (c->blocked == NULL) {
        return CT_E_NOMEM;
    }
    c->blocked_cap = blocked_cap;
    return fw_tx_create(&tc, &c->tx);
}

int fleet_setup(struct fleet *fl, const uint8_t *master, size_t mlen, unsigned kinds)
{
    size_t total = ct_registry_count(fl->reg);
    fl->nodes = calloc(total ? total : 1, sizeof(*fl->nodes));
    fl->heap = calloc(total ? total : 1, sizeof(*fl->heap));
    size_t nconn = fl->shared ? (size_t)fl->o.connections : total;
    fl->conns = calloc(nconn ? nconn : 1, sizeof(*fl->conns));
    if (fl->nodes == NULL || fl->heap == NULL || fl->conns == NULL) {
        return CT_E_NOMEM;
    }
    for (size_t i = 0; i < total; i++) {
        const struct ct_device *d = ct_registry_at(fl->reg, i);
        if (!(kinds & (1u << d->kind))) {
            continue;
        }
        if (fl->o.limit > 0 && fl->nnodes >= fl->o.limit) {
            break;
        }
        struct fleet_node *n = &fl->nodes[fl->nnodes];
        n->phys.dev = d;
        n->phys.index = (uint32_t)fl->nnodes;
        n->phys.user = n;
        n->pending = -1;
        n->fs.mask = sim_faults_select(&fl->fctx, d);
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", fl->o.state_dir, d->id);
        int rc = fw_nvs_open(dir, &n->nvs);
        if (rc != 0) {
            fprintf(stderr, "fleet-sim: %s: %s\n", dir, ct_strerror(rc));
            return rc;
        }
        rc = ct_sig_device_key(master, mlen, d->id, n->key);
        rc = rc ? rc : app_create(fl, n);
        if (rc != 0) {
            return rc;
        }
        /* Nodes were switched on at different times: spread the first sample over one period. */
        uint64_t base =
            fl->o.interval_ms > 0 ? fl->o.interval_ms : (d->kind == CT_KIND_AIR ? 60000 : 300000);
        n->wake = (int64_t)(sim_h01(fl->o.seed, 7, n->phys.index, 0) * (double)base / fl->o.scale);
        n->heap_pos = fl->nnodes;
        fl->heap[fl->nnodes] = (uint32_t)fl->nnodes;
        fl->heap_len = ++fl->nnodes;
        if (!fl->shared) {
            n->conn = &fl->conns[fl->nconns++];
            rc = make_conn(fl, n->conn, d->id, n, fl->o.inflight + 1, 1);
            if (rc != 0) {
                return rc;
            }
        }
    }
    if (fl->shared) {
        fl->nconns = nconn;
        size_t per = fl->nnodes / nconn + 1;
        for (size_t i = 0; i < nconn; i++) {
            char cid[32];
            snprintf(cid, sizeof(cid), "fleet-sim-%zu", i);
            int rc = make_conn(fl, &fl->conns[i], cid, NULL, per * (fl->o.inflight + 1), per);
            if (rc != 0) {
                return rc;
            }
        }
        for (size_t i = 0; i < fl->nnodes; i++) {
            fl->nodes[i].conn = &fl->conns[i % nconn];
        }
    }
    for (size_t i = 0; i < fl->nnodes; i++) {
        fw_app_set_tx(fl->nodes[i].app, fl->nodes[i].conn->tx);
    }
    return 0;
}

/* ---- node faults ----------------------------------------------------------------------------- */

static int wipe_cb(void *arg, const char *name)
{
    return fw_nvs_remove(arg, name);
}

/* Carries out a pending reboot or replacement once the node's in-flight publishes drained. */
static void finish_restart(struct fleet *fl, struct fleet_node *n, int64_t now)
{
    const struct fw_outbox *ob = fw_app_outbox(n->app);
    if (now - n->pending_since < REBOOT_GRACE_MS || fw_outbox_outstanding(ob) != 0) {
        return;
    }
    const struct sim_fault_spec *f = &fl->sc.faults[n->pending];
    struct fw_app_stats st;
    fw_app_get_stats(n->app, &st);
    n->prev.acked += st.acked;
    n->prev.published += st.published;
    fw_app_destroy(n->app);
    n->app = NULL;
    if (f->type == SIM_FAULT_REPLACE) { /* new hardware: empty storage */
        fw_nvs_list(n->nvs, "obseg-", wipe_cb, n->nvs);
        fw_nvs_remove(n->nvs, "outbox.ack");
        fw_nvs_remove(n->nvs, "boot");
        fl->replacements++;
    } else {
        fl->reboots++;
    }
    n->fs.done |= 1u << n->pending;
    n->pending = -1;
    if (app_create(fl, n) != 0) {
        fprintf(stderr, "fleet-sim: %s: cannot restart; node stopped\n", n->phys.dev->id);
        set_wake(fl, n, INT64_MAX);
        return;
    }
    fw_app_set_tx(n->app, n->offline ? NULL : n->conn->tx);
    set_wake(fl, n, 0);
}

/* Applies node faults due at simulated time t; returns false when the node must not be stepped. */
static bool node_faults(struct fleet *fl, struct fleet_node *n, int64_t now, int64_t t)
{
    if (n->app == NULL) {
        return false;
    }
    bool off = sim_faults_offline(&fl->fctx, &n->fs, t);
    if (off != n->offline) {
        n->offline = off;
        if (n->pending < 0) {
            fw_app_set_tx(n->app, off ? NULL : n->conn->tx);
        }
    }
    if (n->pending < 0) {
        int idx = sim_faults_due(&fl->fctx, &n->fs, SIM_FAULT_REBOOT, t);
        idx = idx >= 0 ? idx : sim_faults_due(&fl->fctx, &n->fs, SIM_FAULT_REPLACE, t);
        if (idx >= 0) {
            n->pending = idx;
            n->pending_since = now;
            fw_app_set_tx(n->app, NULL); /* power cut: nothing more is sent */
        }
    }
    if (n->pending >= 0) {
        finish_restart(fl, n, now);
        return n->pending < 0;
    }
    return true;
}

static void send_garbage(struct fleet *fl, struct fleet_node *n, int64_t t)
{
    struct fw_app_stats st;
    fw_app_get_stats(n->app, &st);
    for (; n->garbage_seen < st.queued; n->garbage_seen++) {
        if (!sim_faults_garbage(&fl->fctx, &n->fs, n->phys.dev, n->garbage_seen, t) || n->offline ||
            !fw_tx_connected(n->conn->tx)) {
            continue;
        }
        char topic[CT_TOPIC_MAX], payload[256], sig[CT_SIG_HEX_LEN + 1];
        size_t len =
            sim_faults_garbage_payload(n->phys.dev->id, n->garbage_seen, payload, sizeof(payload));
        if (ct_topic_format(CT_TOPIC_UP, n->phys.dev->kind, n->phys.dev->id, topic,
                            sizeof(topic)) == 0 &&
            ct_sig_sign(n->key, topic, strlen(topic), payload, len, sig) == 0 &&
            fw_tx_publish(n->conn->tx, topic, payload, len, false, sig, &garbage_owner, 0) == 0) {
            fl->garbage_sent++;
        }
    }
}

/* ---- stepping -------------------------------------------------------------------------------- */

static void step_node(struct fleet *fl, struct fleet_node *n, int64_t now)
{
    int64_t t = sim_physics_time(&fl->phys, now);
    if (n->fs.mask != 0 && !node_faults(fl, n, now, t)) {
        if (n->pending >= 0) {
            set_wake(fl, n, now + 100);
        }
        return;
    }
    n->started = true;
    current_skew_ms = n->fs.mask != 0 ? sim_faults_skew_ms(&fl->fctx, &n->fs, t) : 0;
    int64_t wake = fw_app_step(n->app, now);
    current_skew_ms = 0;
    if (n->fs.mask != 0) {
        send_garbage(fl, n, t);
        /* Fault windows start and end between samples: look again at least each simulated
         * minute. */
        int64_t check = now + (int64_t)(60000.0 / fl->phys.scale) + 1;
        wake = wake < check ? wake : check;
    }
    set_wake(fl, n, wake);
    const struct fw_outbox *ob = fw_app_outbox(n->app);
    uint64_t out = fw_outbox_outstanding(ob);
    bool waiting = !n->offline && fw_tx_connected(n->conn->tx) && fw_outbox_pending(ob) > out &&
                   out < fl->o.inflight;
    struct fleet_conn *c = n->conn;
    if (waiting && !n->blocked && c->nblocked < c->blocked_cap) {
        c->blocked[c->nblocked++] = (uint32_t)(n - fl->nodes);
        n->blocked = true;
    }
}

/* Steps the nodes that waited for window room on connections that got acks. */
static void step_blocked(struct fleet *fl, int64_t now)
{
    for (size_t i = 0; i < fl->nconns; i++) {
        struct fleet_conn *c = &fl->conns[i];
        if (!c->room) {
            continue;
        }
        c->room = false;
        size_t k = c->nblocked;
        c->nblocked = 0;
        for (size_t j = 0; j < k; j++) {
            struct fleet_node *n = &fl->nodes[c->blocked[j]];
            n->blocked = false;
            step_node(fl, n, now);
        }
    }
}

void fleet_totals(const struct fleet *fl, uint64_t *published, uint64_t *acked, uint64_t *backlog,
                  uint64_t *min_acked)
{
    *published = *acked = *backlog = 0;
    *min_acked = fl->nnodes == 0 ? 0 : UINT64_MAX;
    for (size_t i = 0; i < fl->nnodes; i++) {
        const struct fleet_node *n = &fl->nodes[i];
        struct fw_app_stats st = {0};
        if (n->app != NULL) {
            fw_app_get_stats(n->app, &st);
            *backlog += fw_outbox_pending(fw_app_outbox(n->app));
        }
        uint64_t a = st.acked + n->prev.acked;
        *published += st.published + n->prev.published;
        *acked += a;
        *min_acked = a < *min_acked ? a : *min_acked;
    }
}

static void fmt_sim_time(int64_t sim_ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(sim_ms / 1000 + 7 * 3600);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL || strftime(buf, cap, "%Y-%m-%d %H:%M", &tm) == 0) {
        snprintf(buf, cap, "?");
    }
}

static void status_line(struct fleet *fl, int64_t now, int64_t start, uint64_t *last_acked,
                        int64_t *last_at)
{
    uint64_t published, acked, backlog, min_acked;
    fleet_totals(fl, &published, &acked, &backlog, &min_acked);
    size_t up = 0, online = 0;
    double max_depth = 0, max_rain = 0;
    int64_t t = sim_physics_time(&fl->phys, now);
    for (size_t i = 0; i < fl->nconns; i++) {
        up += fw_tx_connected(fl->conns[i].tx) ? 1 : 0;
    }
    for (size_t i = 0; i < fl->nnodes; i++) {
        const struct fleet_node *n = &fl->nodes[i];
        online += (!n->offline && n->pending < 0 && fw_tx_connected(n->conn->tx)) ? 1 : 0;
        if (n->phys.dev->kind == CT_KIND_FLOOD && n->phys.depth_cm > max_depth) {
            max_depth = n->phys.depth_cm;
        }
        if (n->phys.dev->kind == CT_KIND_RAIN) {
            double r = sim_physics_rain_at(&fl->phys, n->phys.dev->lat, n->phys.dev->lon, t);
            max_rain = r > max_rain ? r : max_rain;
        }
    }
    char when[32];
    fmt_sim_time(t, when, sizeof(when));
    double secs = (double)(now - *last_at) / 1000.0;
    fprintf(stderr,
            "fleet-sim: t=%llds sim=%s nodes=%zu online=%zu connections=%zu/%zu msgs/s=%.0f "
            "published=%" PRIu64 " acked=%" PRIu64 " backlog=%" PRIu64 " rain_max=%.1fmm/h "
            "flood_max=%.0fcm\n",
            (long long)((now - start) / 1000), when, fl->nnodes, online, up, fl->nconns,
            secs > 0 ? (double)(acked - *last_acked) / secs : 0.0, published, acked, backlog,
            max_rain, max_depth);
    *last_acked = acked;
    *last_at = now;
}

static void check_marks(struct fleet *fl, int64_t now, int64_t start)
{
    int64_t rel = sim_physics_time(&fl->phys, now) - fl->phys.start_sim;
    while (fl->have_scenario && fl->marks_done < fl->sc.nmarks) {
        /* Marks are listed in any order: announce each once when its time has come. */
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < fl->sc.nmarks; i++) {
            if (!(fl->marks_mask & (1u << i)) && fl->sc.marks[i].at_ms <= rel) {
                best = i;
                break;
            }
        }
        if (best == SIZE_MAX) {
            return;
        }
        fl->marks_mask |= 1u << best;
        fl->marks_done++;
        char when[32];
        fmt_sim_time(fl->phys.start_sim + fl->sc.marks[best].at_ms, when, sizeof(when));
        fprintf(stderr, "fleet-sim: MARK t=%llds sim=%s: %s\n", (long long)((now - start) / 1000),
                when, fl->sc.marks[best].label);
        printf("MARK t=%lld %s\n", (long long)((now - start) / 1000), fl->sc.marks[best].label);
        fflush(stdout);
    }
}

/* --backfill-hours: each air and water node queues a reading every FLEET_BACKFILL_STEP_MS of
 * the last H wall-clock hours, oldest first, before its live readings. The city model is asked
 * for the simulated time as far back (H hours / the time scale of monotonic time), so the
 * history joins the live values smoothly. They go through the node's outbox, signature and
 * broker like every reading (the collector checks them all); fleet-sim's tests and e2e_demo
 * show the map's VN_AQI colours within a minute of the start. */
static void fleet_backfill(struct fleet *fl, int64_t mono_now)
{
    int64_t span = (int64_t)(fl->o.backfill_hours * 3600000.0);
    int64_t wall_now = __real_fw_hal_wall_ms();
    uint64_t queued = 0;
    for (size_t i = 0; i < fl->nnodes; i++) {
        struct fleet_node *n = &fl->nodes[i];
        enum ct_kind k = n->phys.dev->kind;
        if (k != CT_KIND_AIR && k != CT_KIND_WATER) {
            continue;
        }
        for (int64_t back = span; back > 0; back -= FLEET_BACKFILL_STEP_MS) {
            int64_t mono = mono_now - (int64_t)((double)back / fl->phys.scale);
            if (fw_app_backfill(n->app, mono, wall_now - back) == 0) {
                queued++;
            }
        }
    }
    fprintf(stderr, "fleet-sim: backfilled %" PRIu64 " readings of the last %g h\n", queued,
            fl->o.backfill_hours);
}

void fleet_run(struct fleet *fl, volatile int *stop)
{
    int64_t start = fw_hal_mono_ms();
    if (fl->o.backfill_hours > 0) {
        fleet_backfill(fl, start);
    }
    int64_t stats_at = start + STATS_MS, check_at = start, last_at = start;
    uint64_t last_acked = 0;
    fl->marks_done = 0;
    fl->marks_mask = 0;
    for (size_t i = 0; i < fl->nnodes; i++) { /* first wake-ups: offsets from now */
        fl->nodes[i].wake += start;
    }
    for (size_t i = fl->heap_len / 2 + 1; i-- > 0;) {
        if (i < fl->heap_len) {
            heap_fix(fl, i);
        }
    }
    for (;;) {
        int64_t now = fw_hal_mono_ms();
        int64_t next = now + IDLE_MAX_MS;
        for (size_t i = 0; i < fl->nconns; i++) {
            struct poll_ctx pc = {fl, &fl->conns[i]};
            int64_t t = fw_tx_poll(fl->conns[i].tx, now, dispatch, &pc);
            next = t < next ? t : next;
        }
        step_blocked(fl, now);
        while (fl->heap_len > 0 && fl->nodes[fl->heap[0]].wake <= now) {
            step_node(fl, &fl->nodes[fl->heap[0]], now);
        }
        if (fl->heap_len > 0) {
            next = fl->nodes[fl->heap[0]].wake < next ? fl->nodes[fl->heap[0]].wake : next;
        }
        if (fl->o.print_stats && now >= stats_at) {
            status_line(fl, now, start, &last_acked, &last_at);
            stats_at = now + STATS_MS;
        }
        check_marks(fl, now, start);
        if (*stop || (fl->o.duration_s > 0 && now - start >= fl->o.duration_s * 1000.0)) {
            return;
        }
        if (fl->o.count_per_node > 0 && now >= check_at) {
            uint64_t published, acked, backlog, min_acked;
            fleet_totals(fl, &published, &acked, &backlog, &min_acked);
            if (min_acked >= fl->o.count_per_node) {
                return;
            }
            check_at = now + CHECK_MS;
        }
        if (next > now) {
            fw_hal_idle((uint32_t)(next - now > IDLE_MAX_MS ? IDLE_MAX_MS : next - now));
        }
    }
}

void fleet_shutdown(struct fleet *fl)
{
    size_t next = 0;
    int64_t deadline = fw_hal_mono_ms() + SHUTDOWN_MS;
    for (;;) {
        int64_t now = fw_hal_mono_ms();
        while (next < fl->nnodes) {
            struct fleet_node *n = &fl->nodes[next];
            int rc = n->app != NULL && n->pending < 0 && !n->offline
                         ? fw_app_publish_offline(n->app)
                         : 0;
            if (rc == CT_E_FULL) {
                break;
            }
            next++; /* published, or not connected: nothing more to do for it */
        }
        int inflight = 0;
        for (size_t i = 0; i < fl->nconns; i++) {
            struct poll_ctx pc = {fl, &fl->conns[i]};
            fw_tx_poll(fl->conns[i].tx, now, dispatch, &pc);
            inflight += fw_tx_connected(fl->conns[i].tx) ? fw_tx_inflight(fl->conns[i].tx) : 0;
        }
        if (inflight == 0 && next == fl->nnodes) {
            break;
        }
        if (now >= deadline) {
            fprintf(stderr, "fleet-sim: shutdown: %zu/%zu offline statuses sent, %d in flight\n",
                    next, fl->nnodes, inflight);
            break;
        }
        fw_hal_idle(20);
    }
    for (size_t i = 0; i < fl->nconns; i++) {
        fw_tx_disconnect(fl->conns[i].tx, 1000);
    }
}

void fleet_free(struct fleet *fl)
{
    for (size_t i = 0; i < fl->nconns; i++) {
        fw_tx_destroy(fl->conns[i].tx);
        free(fl->conns[i].blocked);
    }
    for (size_t i = 0; i < fl->nnodes; i++) {
        fw_app_destroy(fl->nodes[i].app);
        fw_nvs_close(fl->nodes[i].nvs);
    }
    free(fl->conns);
    free(fl->nodes);
    free(fl->heap);
    ct_registry_free(fl->reg);
}
