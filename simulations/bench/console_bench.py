#!/usr/bin/env python3
"""console_bench.py - how fast the staff console answers for a large fleet with a month of data.

    nice -n 10 python3 simulations/bench/console_bench.py [--build DIR] [--stations N]
        [--days D] [--writers W] [--repeat R] [--data DIR] [--load-only] [--load-until HH:MM]

What it does:
  1. generates a registry of N air stations (default 10 000, interval 300 s);
  2. starts the real InfluxDB 1.6 (its query log on, so the bench can show the InfluxQL the
     console issues) and loads D days (default 30) of 5-minute raw `air` points for every
     station (N x D x 288 points: 86.4 million by default), the points the collector writes:
     pm25, pm10, no2, so2, o3, co, t, rh (floats, one decimal), tags device, district, ward; and
     per station one `rejected` point a day and a `stale` alert every tenth day. Line protocol in
     gzip'd batches of 30 minutes of the whole fleet (60 000 points), W writes in flight (default
     3), the newest day first, so a load cut short (--load-until, UTC) leaves the most recent days;
  3. starts Mosquitto and the collector with the console, one viewer and one approver account
     (`collector staff-user add`); the last S stations (--silent, default 1 000) have a registry
     interval of 10 s: each gets one live reading (bench-pub) and then none, so that liveness
     (stale_intervals 2) counts them silent 20 s later and the silent list has S rows;
  4. times, R times each (default 5), over HTTP on the staff listener: GET stations (the first
     page: 1 000 stations), GET silent, for one station the completeness of the newest full day
     (JSON, CSV), of the month with the most data (the monthly report, JSON and CSV), the hourly
     VN_AQI of the day, the approved export (after approving the day), and the alerts view (the
     last 7 days, all kinds); prints the median and the worst, the answer's size, the InfluxQL
     each request issued (read from the store's query log) and, as the baseline, the median time
     of the same InfluxQL sent straight to the store's /query.

With --data DIR the store's files are kept in DIR (loaded once, the days already loaded are
skipped on the next run: DIR/loaded-days); without it everything lives in a temporary folder that
is removed at the end. Not a test: it prints figures. Standard library only."""
import argparse
import concurrent.futures
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
from harness import Stack, wait_until  # noqa: E402
from test_console import Client  # noqa: E402

DAY = 86400
TZ = 7 * 3600  # the console's days are Asia/Ho_Chi_Minh's
BATCH_STEPS = 6  # 5-minute steps of the whole fleet per write: 30 minutes, 60 000 points


def station(i, interval_s=300):
    return {"id": f"hn-air-{i:05d}", "kind": "air", "name": f"Trạm {i}",
            "lat": 21.0 + (i % 100) / 1000, "lon": 105.8 + (i // 100) / 1000,
            "district": f"Quận {i % 12}", "ward": f"Phường {i % 50}", "interval_s": interval_s}


def make_silent(st, a):
    """The last --silent stations (registry interval 10 s, liveness.stale_intervals 2) get one
    live reading each (bench-pub) and then none: 20 s later liveness counts them silent."""
    reg = os.path.join(st.dir, "silent.jsonl")
    with open(reg, "w", encoding="utf-8") as f:
        for i in range(a.stations - a.silent, a.stations):
            f.write(json.dumps(station(i, 10), ensure_ascii=False) + "\n")
    subprocess.run([os.path.join(a.build, "simulations", "bench", "bench-pub"), "--broker",
                    f"tcp://127.0.0.1:{st.mqtt_port}", "--registry", reg, "--master-key-file",
                    st.master_key_file, "--count", str(a.silent), "--qos", "1"],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)


def tag(s):
    return s.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def bench_conf(text):
    """The harness's InfluxDB configuration with the query log on (the InfluxQL each request
    issues) and, for the load, a larger cache and write timeout (the defaults refuse writes with
    500 "timeout" while a snapshot of the cache is written on a loaded machine)."""
    data = ("query-log-enabled = true\n  cache-max-memory-size = \"4g\"\n"
            "  cache-snapshot-memory-size = \"256m\"\n  wal-fsync-delay = \"200ms\"")
    text = text.replace("query-log-enabled = false", data)
    return text.replace('level = "warn"', 'level = "info"') + \
        '[coordinator]\n  write-timeout = "300s"\n'


class Loader:
    """Writes the fleet's points day by day, the newest day first."""

    def __init__(self, st, n, writers):
        self.url = f"http://127.0.0.1:{st.influx_port}/write?db={st.db}&precision=s"
        self.n = n
        self.writers = writers
        rnd = random.Random(15)
        self.pool = [f"pm25={rnd.uniform(5, 150):.1f},pm10={rnd.uniform(10, 250):.1f},"
                     f"no2={rnd.uniform(5, 120):.1f},so2={rnd.uniform(2, 80):.1f},"
                     f"o3={rnd.uniform(10, 180):.1f},co={rnd.uniform(300, 9000):.1f},"
                     f"t={rnd.uniform(14, 38):.1f},rh={rnd.uniform(40, 98):.1f}"
                     for _ in range(4093)]
        self.prefix = [f"air,device={s['id']},district={tag(s['district'])},"
                       f"ward={tag(s['ward'])} " for s in map(station, range(n))]
        self.points = 0

    def _post(self, lines):
        body = gzip.compress("".join(lines).encode(), compresslevel=1)
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Encoding": "gzip"})
        for attempt in range(5):
            try:
                with urllib.request.urlopen(req, timeout=600) as r:
                    r.read()
                return len(lines)
            except (urllib.error.URLError, TimeoutError) as e:
                if attempt == 4:
                    raise
                why = e.read()[:200] if isinstance(e, urllib.error.HTTPError) else ""
                print(f"write failed ({e} {why}); again", flush=True)
                time.sleep(5)
        return 0

    def _batch(self, t0, day_start):
        pool, npool, prefix = self.pool, len(self.pool), self.prefix
        lines = []
        for t in range(t0, t0 + BATCH_STEPS * 300, 300):
            k, tail = t // 300, f" {t}\n"
            lines.extend([prefix[i] + pool[(i * 7919 + k * 104729) % npool] + tail
                          for i in range(self.n)])
        if t0 == day_start:  # the day's rejections and alerts ride on its first batch
            for i in range(self.n):
                s = station(i)
                lines.append(f"rejected,device={s['id']},reason=range count=1i "
                             f"{day_start + (i % 24) * 3600 + 60}\n")
                if (i + day_start // DAY) % 10 == 0:
                    lines.append(f"alert,device={s['id']},district={tag(s['district'])},"
                                 f"type=stale level=1i,label=\"silent\",value=0 "
                                 f"{day_start + (i % 24) * 3600 + 120}\n")
        return self._post(lines)

    def day(self, pool, day_start):
        futs = [pool.submit(self._batch, t, day_start)
                for t in range(day_start, day_start + DAY, BATCH_STEPS * 300)]
        for f in futs:
            self.points += f.result()


def load(st, a, day0, data_dir):
    done_path = os.path.join(data_dir, "loaded-days")
    done = set(open(done_path).read().split()) if os.path.exists(done_path) else set()
    ld = Loader(st, a.stations, a.writers)
    t0 = time.monotonic()
    stop_at = None
    if a.load_until:
        hh, mm = map(int, a.load_until.split(":"))
        stop_at = (int(time.time()) // DAY) * DAY + hh * 3600 + mm * 60
    with concurrent.futures.ThreadPoolExecutor(a.writers) as pool:
        for k in range(1, a.days + 1):
            ds = day0 - k * DAY
            name = time.strftime("%Y-%m-%d", time.gmtime(ds + TZ))
            if name in done:
                continue
            if stop_at is not None and time.time() >= stop_at:
                print(f"--load-until {a.load_until} reached: stopping the load", flush=True)
                break
            ld.day(pool, ds)
            with open(done_path, "a") as f:
                f.write(name + "\n")
            el = time.monotonic() - t0
            print(f"loaded {name}: {ld.points} points in {el:.0f} s "
                  f"({ld.points / el:,.0f} points/s)", flush=True)
    days = set(open(done_path).read().split()) if os.path.exists(done_path) else set()
    return sorted(days)


def queries_since(log, offset):
    """The InfluxQL statements the store executed since 'offset' of its log, once each."""
    with open(log, errors="replace") as f:
        f.seek(offset)
        text = f.read()
    out, seen = [], set()
    for m in re.finditer(r'msg="Executing query" .*?query="((?:[^"\\]|\\.)*)"', text):
        q = m.group(1).replace('\\"', '"')
        if shown(q) not in seen:  # the repeats of a request differ only in their times
            seen.add(shown(q))
            out.append(q)
    return out


def shown(q):
    return re.sub(r"\d{13,}", "<ms>", q)


def store_ms(st, qs, repeat):
    """The store's own time for the same statements, sent as one /query (median ms)."""
    url = f"http://127.0.0.1:{st.influx_port}/query"
    data = urllib.parse.urlencode({"db": st.db, "epoch": "ms", "q": ";".join(qs)}).encode()
    runs = []
    for _ in range(repeat):
        t = time.monotonic()
        with urllib.request.urlopen(url, data, timeout=600) as r:
            r.read()
        runs.append((time.monotonic() - t) * 1000)
    return statistics.median(runs)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--stations", type=int, default=10000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--silent", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", help="keep the store's files in this folder (reused next time)")
    ap.add_argument("--load-only", action="store_true")
    ap.add_argument("--load-until", help="stop loading at this UTC time (HH:MM)")
    a = ap.parse_args()
    st = Stack("console-bench", a.build, SRC)
    try:
        data_dir = os.path.join(st.dir, "influxdb")
        if a.data:
            data_dir = os.path.abspath(a.data)
            os.makedirs(data_dir, exist_ok=True)
            os.symlink(data_dir, os.path.join(st.dir, "influxdb"))
        try:
            st.start_influxdb(conf_edit=bench_conf)
        except AssertionError:  # a large write-ahead log takes longer than the harness waits
            wait_until(st._influx_ping, 1800, "InfluxDB /ping (replaying its WAL)", interval=2)
            st.influx_post(f'CREATE DATABASE "{st.db}"')
        qlog = os.path.join(st.dir, "influxdb", "out.log")
        day0 = (int(time.time()) + TZ) // DAY * DAY - TZ  # today's start, Asia/Ho_Chi_Minh
        days = load(st, a, day0, data_dir)
        print(f"{len(days)} days loaded for {a.stations} stations: {days[0]} .. {days[-1]}",
              flush=True)
        if a.load_only:
            return 0
        st.start_mosquitto()
        st.write_registry([station(i, 10 if i >= a.stations - a.silent else 300)
                           for i in range(a.stations)])
        st.write_master_key()
        users = os.path.join(st.dir, "users")
        extra = {"console": {"users_file": users}, "liveness": {"stale_intervals": 2}}
        cfg = st.start_collector(extra=extra, wait_http=False)
        st.stop("collector")
        exe = os.path.join(a.build, "collector", "app", "collector")
        for name, role in (("bench", "viewer"), ("boss", "approver")):
            subprocess.run([exe, "staff-user", "add", name, role, "-c", cfg], input=b"bench-pass",
                           check=True, stderr=subprocess.DEVNULL, timeout=60)
        started = os.path.getsize(qlog)
        st.start_collector(extra=extra)
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 120, "the collector subscribed")
        c = Client(st.staff_port)
        c.login("bench", "bench-pass")
        if a.silent > 0:
            make_silent(st, a)

            def silent_n():
                s, d = c.call("GET", "silent?limit=1000")
                n = d.get("total", len(d.get("stations", []))) if s == 200 else 0
                return n if n >= a.silent else None
            wait_until(silent_n, 300, f"{a.silent} stations silent", interval=2)
        boss = Client(st.staff_port)
        boss.login("boss", "bench-pass")
        dev = "hn-air-00000"
        day = days[-1]
        months = {}
        for d in days:
            months[d[:7]] = months.get(d[:7], 0) + 1
        month = max(months, key=lambda m: (months[m], m))
        boss.call("POST", "approve", {"id": dev, "day": day, "why": "bench"})
        n = st.query(f"SELECT count(pm25) FROM air WHERE device='{dev}'")
        print(f"store: {n[0]['count'] if n else 0} points of {dev}", flush=True)

        def get(path):
            """(seconds, bytes of the answer, HTTP status)"""
            req = urllib.request.Request(c.base + path, headers={"Cookie": c.cookie})
            t = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=600) as r:
                    body, status = r.read(), r.status
            except urllib.error.HTTPError as e:
                body, status = e.read(), e.code
            return time.monotonic() - t, len(body), status
        cases = [("stations (1 000 of them)", "stations"), ("silent", "silent"),
                 (f"completeness {day}", f"completeness?id={dev}&day={day}"),
                 ("  the same, CSV", f"completeness?id={dev}&day={day}&format=csv"),
                 (f"report {month} ({months[month]} d)", f"completeness?id={dev}&month={month}"),
                 ("  the same, CSV", f"completeness?id={dev}&month={month}&format=csv"),
                 (f"aqi {day}", f"aqi?id={dev}&day={day}"),
                 (f"approved CSV {day}", f"export?id={dev}&day={day}"),
                 ("alerts, last 7 days", "alerts")]

        def approved():
            r = get(f"export?id={dev}&day={day}")
            return r if r[2] == 200 else None
        wait_until(approved, 60, "the approval stored")
        print(f"{a.stations} stations; {len(days)} days of 5-min data each; "
              f"{os.cpu_count()} CPUs; median (worst) of {a.repeat}")
        print(f"{'request':28} {'median ms':>10} {'worst ms':>10} {'bytes':>10} "
              f"{'store ms':>10}")
        issued = []
        background = queries_since(qlog, started)
        for name, path in cases:
            off = os.path.getsize(qlog)
            runs = [get(path) for _ in range(a.repeat)]
            time.sleep(0.5)
            qs = queries_since(qlog, off)
            issued.append((name, qs))
            ms = [r[0] * 1000 for r in runs]
            direct = f"{store_ms(st, qs, a.repeat):10.1f}" if qs else f"{'-':>10}"
            bad = [r[2] for r in runs if r[2] != 200]
            print(f"{name:28} {statistics.median(ms):10.1f} {max(ms):10.1f} {runs[0][1]:10d} "
                  f"{direct}" + (f"  HTTP {bad} in {len(bad)} of {len(runs)}" if bad else ""),
                  flush=True)
        print("\n(store ms: the same InfluxQL sent straight to InfluxDB's /query, median)")
        print("resident memory after the requests: " + ", ".join(
            f"{name} {rss_mib(st.procs[name][0].pid):.0f} MiB" for name in ("influxd", "collector")))
        print("InfluxQL issued (from the store's query log; InfluxDB writes times as hours since "
              "1970, <ms> a time in ms):")
        for name, qs in issued:
            print(f"  {name.strip()}: " + ("; ".join(map(shown, qs)) if qs else
                                          "none (on the loop)"))
        print("before the first request (the collector's own, e.g. the public layers'):")
        for q in background:
            print(f"  {shown(q)}")
    finally:
        st.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
