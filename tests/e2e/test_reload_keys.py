#!/usr/bin/env python3
"""End-to-end: every config key flagged reloadable (collector/config/config_table.c) changed in
the config file, SIGHUP, and seen in effect as an operator would see it (issue 12, point 7).

For each key the log says "reload: <key> changed and applied", and where the effect can be seen
from outside, the test sees it: a reading now rejected (validate.*), more batches per point
(influx.batch_*), a reading held until the flush period ends (influx.flush_ms), concurrent writes
at a slow store (influx.max_inflight), a slow write now timed out (influx.timeout_ms), the pace of
retries (influx.retry_*), a station now stale (liveness.stale_intervals), the watchdog
reconnecting (mqtt.silence_reconnect_s), a debug line (log.level), a connection now refused or
closed and 429 answers (http.*), /config.json (map.*). Keys that need a restart
(validate.replay_window, influx.gzip) are logged "reload: <key> changed; needs a restart; kept".

A second collector ("c2") writes to a scriptable fake store (a Python HTTP server that answers
204 after a set delay) for the keys only a slow store shows."""
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, free_port, wait_until  # noqa: E402
from durlib import Publisher, stored  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
passed = failed = 0

REGISTRY = [{"id": f"hn-air-{i:04d}", "kind": "air", "name": f"Trạm {i}", "lat": 21.0 + i / 100,
             "lon": 105.8 + i / 100, "district": "Hoàn Kiếm", "ward": "Hàng Bông",
             "interval_s": 2} for i in range(1, 4)]
MANUAL = "hn-air-0003"  # the device of single hand-made readings; dur-pub uses 0001 and 0002


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what, flush=True)


# -- a slow fake store ---------------------------------------------------------------------------
class SlowStore:
    """Answers every write 204 after 'delay' seconds; counts requests and the most at once."""

    def __init__(self):
        self.delay = 0.0
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.requests = 0
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, code, body=b""):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                if body:
                    self.send_header("Content-Type", "application/json")
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the collector timed out and closed: what the test wants

            def do_GET(self):
                if self.path.startswith("/query"):
                    self._answer(200, b'{"results":[{"statement_id":0}]}')
                else:
                    self._answer(204)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(n)
                if self.path.startswith("/query"):
                    self._answer(200, b'{"results":[{"statement_id":0}]}')
                    return
                with store.lock:
                    store.requests += 1
                    store.active += 1
                    store.max_active = max(store.max_active, store.active)
                try:
                    time.sleep(store.delay)
                    self._answer(204)
                finally:
                    with store.lock:
                        store.active -= 1

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # a write the collector gave up on (timeout): expected here

        self.port = free_port()
        self.srv = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.max_active = self.active
            self.requests = 0

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# -- the collectors' config files ------------------------------------------------------------------
class Collector:
    def __init__(self, st, name, extra):
        self.st = st
        self.name = name
        self.path = st.start_collector(extra=extra, name=name, instance=name)
        self.port = st.http_port
        self.staff_port = st.staff_port
        self.pid = st.procs[name][0].pid
        wait_until(lambda: b'"mqtt_connected":true' in self.get("/healthz")[2], 30,
                   f"{name} subscribed")

    def get(self, path):
        self.st.http_port = self.port
        self.st.staff_port = self.staff_port
        return self.st.http_get(path)

    def metric(self, key):
        self.st.http_port = self.port
        self.st.staff_port = self.staff_port
        return self.st.metric(key)

    def log(self):
        return self.st.log(self.name)

    def reload(self, changes):
        """Writes 'changes' ({group: {key: value}}) into the config file, sends SIGHUP and waits
        for the reload's summary line."""
        with open(self.path) as f:
            cfg = json.load(f)
        for group, kv in changes.items():
            cfg.setdefault(group, {}).update(kv)
        with open(self.path, "w") as f:
            json.dump(cfg, f, indent=1)
        before = self.log().count("reloaded:")
        os.kill(self.pid, signal.SIGHUP)
        wait_until(lambda: self.log().count("reloaded:") > before, 20, f"{self.name} reloaded")

    def applied(self, key):
        return f"reload: {key} changed and applied" in self.log()


def burst(st, name, count, boot, rate=2000):
    """dur-pub: 'count' readings of hn-air-0001/0002 as fast as 'rate'; waits for every ack."""
    pub = Publisher(st, name, count, rate, 2, boot)
    rc, summary = pub.wait(60)
    assert rc == 0, f"{name}: {summary}"
    return pub


def wait_points(c, base, n, timeout=30):
    wait_until(lambda: c.metric("citytel_store_points_total") >= base + n, timeout,
               f"{n} more points delivered by {c.name}")


def reloadable_keys():
    keys = []
    with open(os.path.join(SRC, "docs", "config.md"), encoding="utf-8") as f:
        for line in f:
            cols = [c.strip() for c in line.replace("\\|", "/").split("|")]
            if len(cols) > 6 and cols[5] == "reload":
                keys.append(cols[1].strip("`"))
    return keys


def air(seq, ts, pm25=12.0):
    return json.dumps({"v": 1, "id": MANUAL, "boot": 1, "seq": seq, "ts": ts,
                       "m": {"pm25": pm25}}, separators=(",", ":"))


def main():
    st = Stack("reload-keys", BUILD, SRC)
    store = SlowStore()
    seq = [0]
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(REGISTRY)
        st.write_master_key()
        c1 = Collector(st, "c1", {
            "influx": {"flush_ms": "2s", "batch_max_points": 5000, "batch_max_bytes": "1MiB",
                       "gzip": True},
            "liveness": {"stale_intervals": 1000},
            "http": {"rate_per_client": 0, "max_connections": 256, "timeout_ms": "10s"},
            "mqtt": {"silence_reconnect_s": 300}})

        def send(ts, pm25=12.0):
            seq[0] += 1
            st.publish(f"city/v1/air/{MANUAL}/up", air(seq[0], ts, pm25), key_of=MANUAL)
            return seq[0]

        def stored_at(ts):
            st.db = "citytel"
            return any(t == ts for d, t in stored(st, "citytel")[0] if d == MANUAL)

        # -- log.level: a rejected reading's debug line appears only after info -> debug.
        def bad_sig():
            st.publish(f"city/v1/air/{MANUAL}/up", air(999999, int(time.time() * 1000)),
                       sig="00" * 32)
        r0 = c1.metric('citytel_rejected_total{reason="bad_sig"}')
        bad_sig()
        wait_until(lambda: c1.metric('citytel_rejected_total{reason="bad_sig"}') > r0, 20,
                   "the first bad signature counted")
        check("rejected bad_sig" not in c1.log(), "log.level info: no debug line")
        c1.reload({"log": {"level": "debug"}})
        check(c1.applied("log.level"), "log.level: the reload says applied")
        bad_sig()
        wait_until(lambda: "rejected bad_sig" in c1.log(), 20, "the debug line")
        check(True, "log.level debug: a rejection's debug line appears after the reload")
        c1.reload({"log": {"level": "info"}})

        # -- validate.future_ms: a reading 60 s ahead is accepted, then rejected as future.
        ahead = int(time.time() * 1000) + 60_000
        send(ahead)
        wait_until(lambda: stored_at(ahead), 30, "the reading 60 s ahead stored")
        check(True, "validate.future_ms 5m: a reading 60 s ahead is stored")
        c1.reload({"validate": {"future_ms": "10s"}})
        check(c1.applied("validate.future_ms"), "validate.future_ms: the reload says applied")
        f0 = c1.metric('citytel_rejected_total{reason="future"}')
        ahead2 = int(time.time() * 1000) + 60_000
        send(ahead2)
        wait_until(lambda: c1.metric('citytel_rejected_total{reason="future"}') > f0, 20,
                   "the future rejection")
        check(not stored_at(ahead2), "validate.future_ms 10s: a reading 60 s ahead is rejected "
                                     "(reason future) and not stored")

        # -- validate.backlog_ms: a reading 2 minutes old is accepted, then rejected as too old.
        old = int(time.time() * 1000) - 120_000
        send(old)
        wait_until(lambda: stored_at(old), 30, "the reading 2 min old stored")
        check(True, "validate.backlog_ms 7d: a reading 2 minutes old is stored")
        c1.reload({"validate": {"backlog_ms": "60s"}})
        check(c1.applied("validate.backlog_ms"), "validate.backlog_ms: the reload says applied")
        o0 = c1.metric('citytel_rejected_total{reason="too_old"}')
        old2 = int(time.time() * 1000) - 120_000
        send(old2)
        wait_until(lambda: c1.metric('citytel_rejected_total{reason="too_old"}') > o0, 20,
                   "the too_old rejection")
        check(not stored_at(old2), "validate.backlog_ms 60s: a reading 2 minutes old is "
                                   "rejected (reason too_old) and not stored")

        # -- restart-only keys: said so, and kept.
        c1.reload({"validate": {"replay_window": 64}, "influx": {"gzip": False}})
        for key in ("validate.replay_window", "influx.gzip"):
            check(f"reload: {key} changed; needs a restart; kept" in c1.log(),
                  f"{key}: the reload says it needs a restart and keeps it")

        # -- influx.batch_max_points: 40 readings in a burst go out in a few batches; after
        # batch_max_points 1, one batch per point.
        p0, b0 = c1.metric("citytel_store_points_total"), c1.metric("citytel_store_batches_total")
        burst(st, "burst-a", 40, boot=1001)
        wait_points(c1, p0, 40)
        ba = c1.metric("citytel_store_batches_total") - b0
        check(ba <= 10, f"batch_max_points 5000: 40 points in {ba:.0f} batches")
        c1.reload({"influx": {"batch_max_points": 1}})
        check(c1.applied("influx.batch_max_points"), "influx.batch_max_points: applied")
        p0, b0 = c1.metric("citytel_store_points_total"), c1.metric("citytel_store_batches_total")
        burst(st, "burst-b", 40, boot=1002)
        wait_points(c1, p0, 40)
        dp = c1.metric("citytel_store_points_total") - p0
        db_ = c1.metric("citytel_store_batches_total") - b0
        check(db_ == dp, f"batch_max_points 1: one batch per point ({dp:.0f} points, "
                         f"{db_:.0f} batches)")

        # -- influx.batch_max_bytes: 1 KiB batches hold a few lines each.
        c1.reload({"influx": {"batch_max_points": 5000, "batch_max_bytes": "1KiB"}})
        check(c1.applied("influx.batch_max_bytes"), "influx.batch_max_bytes: applied")
        p0, b0 = c1.metric("citytel_store_points_total"), c1.metric("citytel_store_batches_total")
        burst(st, "burst-c", 40, boot=1003)
        wait_points(c1, p0, 40)
        dp = c1.metric("citytel_store_points_total") - p0
        db_ = c1.metric("citytel_store_batches_total") - b0
        check(db_ >= 3 and db_ < dp, f"batch_max_bytes 1KiB: {dp:.0f} points in {db_:.0f} "
                                     "batches (several lines per batch, at most 1 KiB each)")

        # -- influx.flush_ms: with 10 min a lone reading waits in the open batch; set back to
        # 200 ms, the same open batch leaves at once.
        c1.reload({"influx": {"batch_max_bytes": "1MiB", "flush_ms": "10m"}})
        check(c1.applied("influx.flush_ms"), "influx.flush_ms: applied")
        lone = int(time.time() * 1000)
        send(lone)
        wait_until(lambda: c1.metric("citytel_store_pending_bytes") > 0, 20, "a pending point")
        time.sleep(4)
        check(not stored_at(lone) and c1.metric("citytel_store_pending_bytes") > 0,
              "flush_ms 10m: a lone reading is still held after 4 s")
        c1.reload({"influx": {"flush_ms": "200ms"}})
        wait_until(lambda: stored_at(lone), 10, "the held reading stored")
        check(True, "flush_ms 200ms: the held reading is stored within seconds of the reload")

        # -- influx.* on the slow store: max_inflight, timeout_ms, retry_base_ms/retry_max_ms,
        # connect_timeout_ms.
        c2 = Collector(st, "c2", {
            "influx": {"url": f"http://127.0.0.1:{store.port}", "flush_ms": "10ms",
                       "batch_max_points": 1, "max_inflight": 1, "timeout_ms": "30s",
                       "retry_base_ms": "100ms", "retry_max_ms": "100ms"}})
        store.delay = 1.5
        store.reset()
        burst(st, "burst-d", 8, boot=1004)
        time.sleep(3)
        check(store.max_active == 1, f"max_inflight 1: one write at a time "
                                     f"({store.max_active} at most)")
        c2.reload({"influx": {"max_inflight": 4}})
        check(c2.applied("influx.max_inflight"), "influx.max_inflight: applied")
        store.reset()
        burst(st, "burst-e", 12, boot=1005)
        wait_until(lambda: store.max_active >= 4, 20, "4 writes at once")
        check(store.max_active == 4, f"max_inflight 4: four writes at once "
                                     f"({store.max_active} at most)")
        wait_until(lambda: c2.metric("citytel_store_backlog_batches") == 0 and
                   c2.metric("citytel_store_inflight") == 0 and
                   c2.metric("citytel_store_pending_bytes") == 0, 60, "c2 drained")

        # timeout_ms: a write answered after 3 s succeeds with 30 s and fails with 1 s.
        store.delay = 3.0
        e0 = c2.metric("citytel_store_transport_errors_total")
        send(int(time.time() * 1000))
        time.sleep(4.5)
        check(c2.metric("citytel_store_transport_errors_total") == e0,
              "timeout_ms 30s: a write answered after 3 s is no error")
        c2.reload({"influx": {"timeout_ms": "1s"}})
        check(c2.applied("influx.timeout_ms"), "influx.timeout_ms: applied")
        send(int(time.time() * 1000))
        wait_until(lambda: c2.metric("citytel_store_transport_errors_total") > e0, 20,
                   "a timed-out write")
        check(True, "timeout_ms 1s: the write answered after 3 s now times out (transport error)")

        # retry_*: every write times out now; the pace of attempts follows the backoff cap.
        c2.reload({"influx": {"timeout_ms": "200ms", "retry_base_ms": "5s",
                              "retry_max_ms": "5s"}})
        check(c2.applied("influx.retry_base_ms") and c2.applied("influx.retry_max_ms"),
              "influx.retry_base_ms and retry_max_ms: applied")
        time.sleep(6)
        store.reset()
        time.sleep(8)
        slow = store.requests
        c2.reload({"influx": {"retry_base_ms": "100ms", "retry_max_ms": "100ms"}})
        time.sleep(1)
        store.reset()
        time.sleep(8)
        fast = store.requests
        check(slow < 12 and fast >= 12 and fast > 2 * slow,
              f"retry caps: {slow} attempts in 8 s with 5 s caps, {fast} with 100 ms caps")
        c2.reload({"influx": {"connect_timeout_ms": "2s"}})
        check(c2.applied("influx.connect_timeout_ms"),
              "influx.connect_timeout_ms: applied (not observable on loopback: connects are "
              "immediate)")
        store.delay = 0
        c2.reload({"influx": {"timeout_ms": "30s"}})
        wait_until(lambda: c2.metric("citytel_store_backlog_batches") == 0 and
                   c2.metric("citytel_store_pending_bytes") == 0, 30, "c2 drained again")
        check(st.stop("c2") == 0, "c2 stops cleanly")

        # -- liveness.stale_intervals: interval_s 2; with 1000 intervals nothing is stale;
        # with 1, the silent stations go stale within seconds.
        st.http_port = c1.port
        st.staff_port = c1.staff_port
        send(int(time.time() * 1000))
        time.sleep(5)
        check(c1.metric("citytel_stations_stale") == 0,
              "stale_intervals 1000: no station stale 5 s after its reading")
        a0 = c1.metric('citytel_alerts_total{type="stale"}')
        c1.reload({"liveness": {"stale_intervals": 1}})
        check(c1.applied("liveness.stale_intervals"), "liveness.stale_intervals: applied")
        wait_until(lambda: c1.metric("citytel_stations_stale") >= 1, 20, "a stale station")
        check(c1.metric('citytel_alerts_total{type="stale"}') > a0,
              "stale_intervals 1: the silent stations are stale and alerted")

        # -- mqtt.silence_reconnect_s: with 5 s, a silent subscription is made again.
        w0 = c1.metric("citytel_mqtt_watchdog_reconnects_total")
        c1.reload({"mqtt": {"silence_reconnect_s": 5}})
        check(c1.applied("mqtt.silence_reconnect_s"), "mqtt.silence_reconnect_s: applied")
        wait_until(lambda: c1.metric("citytel_mqtt_watchdog_reconnects_total") > w0, 30,
                   "a watchdog reconnection")
        check("no message for 5 s while connected" in c1.log(),
              "silence_reconnect_s 5: the watchdog reconnects a silent subscription")
        c1.reload({"mqtt": {"silence_reconnect_s": 300}})

        # -- map.tile_url, map.tile_attribution: /config.json.
        c1.reload({"map": {"tile_url": "https://tiles.example/{z}/{x}/{y}.png",
                           "tile_attribution": "© Example"}})
        code, _, body = c1.get("/config.json")
        cfg = json.loads(body)
        check(code == 200 and cfg["tile_url"] == "https://tiles.example/{z}/{x}/{y}.png" and
              cfg["attribution"] == "© Example" and c1.applied("map.tile_url") and
              c1.applied("map.tile_attribution"), f"map.tile_*: /config.json serves them ({cfg})")

        # -- layers.refresh_ms: read at each request; the reload says applied.
        c1.reload({"layers": {"refresh_ms": "5s"}})
        check(c1.applied("layers.refresh_ms"), "layers.refresh_ms: applied")

        # -- http.max_connections: with 3, a 4th connection is closed at once.
        def idle_conns(n):
            out = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", c1.port), timeout=5)
                out.append(s)
            return out

        def answered(s):
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                return s.recv(100).startswith(b"HTTP/1.1 ")
            except OSError:
                return False

        held = idle_conns(3)
        extra = idle_conns(1)[0]
        check(answered(extra), "max_connections 256: a 4th connection is served")
        for s in held + [extra]:
            s.close()
        c1.reload({"http": {"max_connections": 3}})
        check(c1.applied("http.max_connections"), "http.max_connections: applied")
        time.sleep(0.5)
        held = idle_conns(3)
        time.sleep(0.5)
        extra = idle_conns(1)[0]
        check(not answered(extra), "max_connections 3: a 4th connection is closed unanswered")
        for s in held + [extra]:
            s.close()
        time.sleep(0.5)
        c1.reload({"http": {"max_connections": 256}})

        # -- http.timeout_ms: an idle connection is closed after 500 ms, not 10 s.
        def closed_within(seconds):
            s = socket.create_connection(("127.0.0.1", c1.port), timeout=seconds)
            try:
                return s.recv(1) == b""
            except socket.timeout:
                return False
            except OSError:
                return True
            finally:
                s.close()
        check(not closed_within(2.0), "http.timeout_ms 10s: an idle connection stays open 2 s")
        c1.reload({"http": {"timeout_ms": "500ms"}})
        check(c1.applied("http.timeout_ms"), "http.timeout_ms: applied")
        check(closed_within(3.0), "http.timeout_ms 500ms: an idle connection is closed")

        # -- http.rate_per_client (the public listener; the staff one has no rate limit):
        # 0 (unlimited) -> 1 per second: a quick series gets 429.
        codes = [c1.get("/config.json")[0] for _ in range(10)]
        check(429 not in codes, f"rate_per_client 0: 10 quick requests answered ({codes})")
        c1.reload({"http": {"rate_per_client": 1}})
        check(c1.applied("http.rate_per_client"), "http.rate_per_client: applied")
        codes = [c1.get("/config.json")[0] for _ in range(10)]
        check(codes.count(429) >= 5, f"rate_per_client 1: most of 10 quick requests get 429 "
                                     f"({codes})")
        c1.reload({"http": {"rate_per_client": 0}})
        time.sleep(2.5)

        # -- the per-client cap of the public listener and the staff listener's limit.
        c1.reload({"http": {"max_connections_per_client": 8, "staff_max_connections": 16}})
        check(c1.applied("http.max_connections_per_client"),
              "http.max_connections_per_client: applied")
        check(c1.applied("http.staff_max_connections"), "http.staff_max_connections: applied")
        check(c1.get("/healthz")[0] in (200, 503), "the staff listener answers after the reload")

        # Every key documented as reloadable (docs/config.md, generated from the table and kept
        # in sync by the config unit test) was seen applied.
        keys = reloadable_keys()
        check(len(keys) >= 19, f"{len(keys)} reloadable keys documented")
        log = c1.log() + st.log("c2")
        missing = [k for k in keys if f"reload: {k} changed and applied" not in log]
        check(not missing, f"every reloadable key logged as applied (missing: {missing})")
        check(st.stop("c1") == 0, "c1 stops cleanly")
    finally:
        if failed:
            for n in ("c1", "c2"):
                print(f"--- {n} ---\n" + st.log(n)[-3000:])
        store.close()
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
