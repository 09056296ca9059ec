#!/usr/bin/env python3
"""run.py - citytel benchmarks against the real Mosquitto and InfluxDB, each figure beside a
baseline measured in the same run on the same broker and store.

    python3 simulations/bench/run.py [--build DIR] all|ingest|store|latency|memory|outage|node ...

Sections:
  ingest   collector messages/s (QoS 1 from a pre-loaded persistent session; QoS 0 live)
           against bench-sub, a bare Paho subscriber, on the same messages
  store    points/s the collector delivers to InfluxDB while its sink drains a backlog (built
           while InfluxDB was paused with SIGSTOP), against curl posting the same kind of line
           protocol in batches of 10 000 lines, 4 in parallel
  latency  sample time (ts) to queryable in InfluxDB, p50/p99, at a steady rate, against the
           broker alone (bench-sub receive time minus ts) on the same messages
  memory   collector VmRSS with 100 000 registered devices at a steady rate over a soak,
           against bench-sub's VmRSS on the same messages
  outage   collector VmRSS before, during and after a store outage (InfluxDB paused while a
           backlog builds, then resumed), against its own VmRSS before the outage
  node     sensor-node RSS and CPU time per message, against bench-pub's CPU per message
  peer     citytel beside Node-RED (simple and batch flows) at paced rates: published, stored,
           lost, CPU per message, peak RSS (simulations/bench/peer.py)

Every server is started by tests/e2e/harness.py on free loopback ports in a temporary folder and
stopped before the section ends. Standard library only. Not a test: it prints figures, it does not
pass or fail them."""
import argparse
import concurrent.futures
import gzip
import http.server
import json
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import harness  # noqa: E402
import peer  # noqa: E402  (the peer section: Node-RED beside citytel, simulations/bench/peer.py)

KINDS = ("air", "air", "air", "water", "rain", "flood", "parking", "air", "water", "air")
DISTRICTS = (("Hoàn Kiếm", "Hàng Bạc"), ("Ba Đình", "Điện Biên"),
             ("Đống Đa", "Láng Hạ"), ("Cầu Giấy", "Dịch Vọng"),
             ("Hai Bà Trưng", "Bách Khoa"))


# -- helpers ------------------------------------------------------------------------------------
def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), kernel {platform.release()}"


def header(title, argv, notes):
    print(f"\n## {title}\n")
    print(f"machine: {machine()}")
    print(f"command: {' '.join(shlex.quote(a) for a in argv)}")
    for n in notes:
        print(f"  {n}")
    print()


def table(rows, head=("measure", "baseline", "citytel", "citytel / baseline")):
    cells = [list(map(str, head))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    out = []
    for k, r in enumerate(cells):
        out.append("| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |")
        if k == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(out))
    sys.stdout.flush()


def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


def kv(text):
    """Parses 'a=1 b=2.5' (the last line of a tool's stdout) into a dict of floats."""
    lines = [ln for ln in text.decode().splitlines() if "=" in ln]
    out = {}
    for tok in (lines[-1].split() if lines else []):
        k, _, v = tok.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def registry_lines(n, kinds=KINDS):
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        district, ward = DISTRICTS[i % len(DISTRICTS)]
        d = {"id": f"bench-{kind}-{i:06d}", "kind": kind, "name": f"Trạm {kind} {i}",
             "lat": 21.0 + (i % 1000) * 1e-4, "lon": 105.8 + (i // 1000) * 1e-4,
             "district": district, "ward": ward}
        if kind == "parking":
            d.update({"mode": "lot", "capacity": 200})
        out.append(d)
    return out


class Bench:
    """One section's stack: the real broker and store, a registry, the bench tools."""

    def __init__(self, args, name, devices, kinds=KINDS, influx=True):
        self.args = args
        self.st = harness.Stack(f"bench-{name}", args.build, SRC)
        self.st.start_mosquitto()
        if influx:
            self.st.start_influxdb()
        self.st.write_registry(registry_lines(devices, kinds))
        self.st.write_master_key()
        self.broker = f"tcp://127.0.0.1:{self.st.mqtt_port}"
        self.boot = int(time.time())
        self.commands = []

    def tool(self, name):
        return os.path.join(self.args.build, "simulations", "bench", name)

    def pub_argv(self, count, qos=1, rate=None, devices=None, inflight=1000):
        self.boot += 1
        argv = [self.tool("bench-pub"), "--broker", self.broker, "--registry", self.st.registry,
                "--master-key-file", self.st.master_key_file, "--count", str(count),
                "--qos", str(qos), "--inflight", str(inflight), "--boot", str(self.boot)]
        if rate:
            argv += ["--rate", str(rate)]
        if devices:
            argv += ["--devices", str(devices)]
        return argv

    def sub_argv(self, count, qos=1, extra=()):
        return [self.tool("bench-sub"), "--broker", self.broker, "--count", str(count),
                "--qos", str(qos)] + list(extra)

    def run(self, argv, timeout=900, quiet=False):
        self.commands.append(argv)
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if r.returncode != 0 and not quiet:
            sys.stderr.write(f"warning: {os.path.basename(argv[0])} exited {r.returncode}: "
                             f"{r.stderr.decode()[-500:]}\n")
        return kv(r.stdout)

    def spawn(self, argv):
        self.commands.append(argv)
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def collector_cfg(self, **over):
        extra = {"log": {"level": "warn"},
                 "influx": {"flush_ms": self.args.flush_ms},
                 "http": {"rate_per_client": 0}}
        for group, kvs in over.items():
            extra.setdefault(group, {}).update(kvs)
        return extra

    def start_collector(self, wait_mqtt=True, **over):
        """Starts the collector; waits for its HTTP port and, with wait_mqtt, its MQTT session."""
        self.st.start_collector(extra=self.collector_cfg(**over))
        if wait_mqtt:
            harness.wait_until(lambda: self.st.metric("citytel_mqtt_connected") == 1, 30,
                               "collector connected")
        return self.st.procs["collector"][0]

    def stop_collector(self, end_session=False):
        """Stops the collector; with end_session, also ends its persistent session in the broker
        (a clean-start connection under its client id), so that messages published for a later
        measurement do not queue up for it."""
        self.st.stop("collector")
        if end_session:
            self.run(self.sub_argv(1, extra=["--client-id", "citytel-collector",
                                             "--timeout-s", "1"]), quiet=True)

    def close(self):
        self.st.close()

    def print_commands(self):
        print("\ntool commands of this section:")
        for a in self.commands:
            print("  " + " ".join(shlex.quote(os.path.relpath(x) if x.startswith(SRC) else x)
                                  for x in a))


def slope(samples, lo_value, hi_value):
    """Rate of a counter from the last sample at or below lo_value before it moved to the first
    sample at or above hi_value (samples are 0.1 s apart). When the counter had already moved at
    the first sample, counts from that sample (the messages before it are left out). Returns
    (rate, seconds)."""
    i = next((k for k, s in enumerate(samples) if s[1] > lo_value), None)
    if i is None:
        return 0.0, 0.0
    start = samples[i - 1] if i > 0 else samples[i]
    end = next((s for s in samples if s[1] >= hi_value), samples[-1])
    if end[0] <= start[0]:
        return 0.0, 0.0
    return (end[1] - start[1]) / (end[0] - start[0]), end[0] - start[0]


def family(m, name):
    """A metric's value from parsed /metrics: the sample 'name' itself, or, for a labelled family
    such as citytel_rejected_total{reason="..."}, the sum over its labels."""
    if name in m:
        return m[name]
    return sum(v for k, v in m.items() if k.startswith(name + "{"))


def watch(b, names, until, timeout, stall_s, interval=0.1):
    """Samples collector metrics every 'interval' s until until(values) is true, or nothing moved
    for stall_s, or timeout. A labelled family (citytel_rejected_total) is summed over its labels.
    Returns {name: [(t, value), ...]}."""
    out = {n: [] for n in names}
    t_end = time.time() + timeout
    last_change, last = time.time(), None
    while time.time() < t_end:
        m = b.st.metrics()
        t = time.time()
        vals = tuple(family(m, n) for n in names)
        for n, v in zip(names, vals):
            out[n].append((t, v))
        if vals != last:
            last, last_change = vals, t
        if until(dict(zip(names, vals))) or t - last_change > stall_s:
            break
        time.sleep(interval)
    return out


# -- sections -----------------------------------------------------------------------------------
def preload(b, n, spool):
    """Creates the collector's persistent session, stops it and publishes n QoS 1 messages."""
    b.start_collector(spool=spool)
    b.stop_collector()
    res = b.run(b.pub_argv(n))
    if res.get("acked", 0) < n:
        sys.stderr.write(f"warning: only {res.get('acked', 0):.0f} of {n} acknowledged\n")
    return res


def median(v):
    v = sorted(v)
    if not v:
        return 0.0
    m = len(v) // 2
    return v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2


def q1_base(b, n):
    """bench-sub drains n messages pre-loaded into its persistent session. Returns (msg/s,
    received, CPU seconds of the whole process: user + system, all threads, from wait4)."""
    b.run(b.sub_argv(1, extra=["--session", "--prepare", "--client-id", "bench-base"]))
    b.run(b.pub_argv(n))
    out, cpu, _ = run_measured(b.sub_argv(n, extra=["--session", "--client-id", "bench-base",
                                                    "--timeout-s", "300"]), b)
    r = kv(out)
    # Ends the baseline's session (clean start, no expiry) so it queues nothing more.
    b.run(b.sub_argv(1, extra=["--client-id", "bench-base", "--timeout-s", "1"]), quiet=True)
    return r.get("rate", 0.0), r.get("received", 0.0), cpu


def proc_cpu_s(pid):
    """utime + stime of a live process (all its threads), in seconds, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SINK_IDLE = ("citytel_store_pending_bytes", "citytel_store_inflight",
             "citytel_store_backlog_batches")
# Polling period of the store section's drain (a /metrics request each; the collector answers in
# well under a millisecond).
DRAIN_POLL_S = 0.02


def sink_idle(b, timeout=300):
    """Waits until the sink holds nothing: no line protocol pending, no write in flight, no batch
    waiting for a retry (every accepted message's points are in InfluxDB)."""
    harness.wait_until(lambda: all(b.st.metric(k) == 0 for k in SINK_IDLE), timeout,
                       "the sink's backlog written")


def fresh(s, name):
    """The counter 'name' without the journal records the collector replayed at start (with a
    fresh journal per run there are none; kept so that a replay could never count)."""
    rep = s["citytel_spool_replayed_total"]
    return [(t, v - r) for (t, v), (_, r) in zip(s[name], rep)]


def q1_collector(b, n, k):
    """The collector drains n messages pre-loaded into its persistent session, with a journal of
    its own (spool-<k>: a fresh one per run, so nothing of an earlier run is replayed). Returns
    (msg/s, accepted, rejected, CPU seconds of the whole process from its start until every point
    of the run is in InfluxDB)."""
    spool = {"dir": os.path.join(b.st.dir, f"spool-q1-{k}")}
    preload(b, n, spool)
    coll = b.start_collector(wait_mqtt=False, spool=spool)
    names = ("citytel_messages_accepted_total", "citytel_rejected_total",
             "citytel_spool_replayed_total")
    s = watch(b, names, lambda v: v[names[0]] - v[names[2]] + v[names[1]] >= n, timeout=600,
              stall_s=20)
    sink_idle(b)
    cpu = proc_cpu_s(coll.pid)
    b.stop_collector(end_session=True)
    acc = fresh(s, names[0])
    rate, _ = slope(acc, 0, n)
    return rate, acc[-1][1], s[names[1]][-1][1], cpu


def q0_base(b, n0):
    sub_argv = b.sub_argv(n0, qos=0, extra=["--idle-s", "3", "--timeout-s", "300"])
    res = {}
    th = threading.Thread(target=lambda: res.update(zip(("out", "cpu", "rss"),
                                                        run_measured(sub_argv, b))))
    th.start()
    time.sleep(1.0)
    b.run(b.pub_argv(n0, qos=0))
    th.join(timeout=330)
    r = kv(res.get("out", b""))
    return r.get("rate", 0.0), r.get("received", 0.0), res.get("cpu", 0.0)


def q0_collector(b, n0, k):
    spool = {"dir": os.path.join(b.st.dir, f"spool-q0-{k}")}
    coll = b.start_collector(mqtt={"qos": 0}, spool=spool)
    pub = b.spawn(b.pub_argv(n0, qos=0))
    names = ("citytel_messages_accepted_total", "citytel_spool_replayed_total")
    s = watch(b, names, lambda v: v[names[0]] - v[names[1]] >= n0, timeout=300, stall_s=3)
    pub.communicate(timeout=60)
    sink_idle(b)
    cpu = proc_cpu_s(coll.pid)
    b.stop_collector(end_session=True)
    acc = fresh(s, names[0])
    rate, _ = slope(acc, 0, acc[-1][1])
    return rate, acc[-1][1], cpu


def rep_rows(label, pairs):
    """One table row from repeated (baseline, citytel) rates: medians and the median ratio."""
    base = median([p[0] for p in pairs])
    cit = median([p[1] for p in pairs])
    rat = median([p[1] / p[0] for p in pairs if p[0]])
    row = [label, f"{base:.0f}", f"{cit:.0f}", f"{rat:.2f}"]
    if len(pairs) > 1:
        print(f"{label}, each run (baseline, citytel): " +
              ", ".join(f"({a:.0f}, {c:.0f})" for a, c in pairs))
    return row


def cpu_row(label, pairs):
    """The CPU row: medians of (baseline, citytel) microseconds per message and the median of
    baseline / citytel per run (the share of a bare subscriber's cost: 1.0 = as cheap)."""
    base = median([p[0] for p in pairs])
    cit = median([p[1] for p in pairs])
    rat = median([p[0] / p[1] for p in pairs if p[1]])
    print(f"{label}, each run (baseline, citytel): " +
          ", ".join(f"({a:.1f}, {c:.1f})" for a, c in pairs))
    return [label, f"{base:.1f}", f"{cit:.1f}", f"{rat:.2f} (baseline / citytel)"]


def sec_ingest(args):
    n, n0 = args.messages, args.messages_qos0
    b = Bench(args, "ingest", args.ingest_devices)
    try:
        header("ingest: messages per second", sys.argv,
               [f"{args.ingest_devices} devices; QoS 1: {n} messages pre-loaded into each "
                "subscriber's persistent session while it was stopped, then drained;",
                f"QoS 0: {n0} messages published flat out while the subscriber runs.",
                "citytel = collector (signature check, strict decode, validation, spool "
                f"journal, InfluxDB writes, flush {args.flush_ms} ms), from /metrics "
                "citytel_messages_accepted_total every 0.1 s; baseline = bench-sub",
                f"{args.repeat} run(s) of each, baseline and citytel alternating; medians"])
        q1, q0, got1, got0, cpu1, cpu0 = [], [], [], [], [], []
        for k in range(args.repeat):
            br, brec, bcpu = q1_base(b, n)
            cr, cacc, crej, ccpu = q1_collector(b, n, k)
            q1.append((br, cr))
            got1.append((brec, cacc, crej))
            cpu1.append((bcpu / max(brec, 1) * 1e6, ccpu / max(cacc, 1) * 1e6))
        for k in range(args.repeat):
            br, brec, bcpu = q0_base(b, n0)
            cr, cacc, ccpu = q0_collector(b, n0, k)
            q0.append((br, cr))
            got0.append((brec, cacc))
            cpu0.append((bcpu / max(brec, 1) * 1e6, ccpu / max(cacc, 1) * 1e6))
        rows = [cpu_row("CPU per message, us", cpu1),
                rep_rows("QoS 1 messages/s (drain of a pre-loaded session)", q1),
                ["QoS 1 messages received / accepted (last run)", f"{got1[-1][0]:.0f} / {n}",
                 f"{got1[-1][1]:.0f} / {n} (rejected {got1[-1][2]:.0f})",
                 ratio(got1[-1][1], got1[-1][0])],
                cpu_row("QoS 0 CPU per message, us", cpu0),
                rep_rows("QoS 0 messages/s (live, publisher flat out)", q0),
                ["QoS 0 received / accepted of published (last run)", f"{got0[-1][0]:.0f} / {n0}",
                 f"{got0[-1][1]:.0f} / {n0}", ratio(got0[-1][1], got0[-1][0])]]
        table(rows)
        b.print_commands()
    finally:
        b.close()


def lp_lines(reg, n, t0):
    """Line protocol shaped like the collector's raw points, for the store baseline."""
    def esc(s):
        return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")
    fields = {"air": "pm25=20.5,pm10=35.5,no2=22.5,t=29.4,rh=78",
              "water": "ph=7.2,do=6.5,turb=12.5,ec=450,t=27.1",
              "rain": "mm=0.2,tips=10", "flood": "depth=1.5",
              "parking": "capacity=200i,occupied=10i"}
    out = []
    for i in range(n):
        d = reg[i % len(reg)]
        out.append(f"{d['kind']},device={d['id']},district={esc(d['district'])},"
                   f"ward={esc(d['ward'])} {fields[d['kind']]} {t0 + i}")
    return out


def post_batches(port, db, lines, batch, parallel):
    """POSTs 'lines' with curl in batches, 'parallel' at a time; returns (seconds, failures)."""
    files = []
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"citytel-bench-lp-{os.getpid()}")
    os.makedirs(tmp, exist_ok=True)
    for k in range(0, len(lines), batch):
        path = os.path.join(tmp, f"b{k // batch}.lp")
        with open(path, "w") as f:
            f.write("\n".join(lines[k:k + batch]) + "\n")
        files.append(path)
    url = f"http://127.0.0.1:{port}/write?db={db}&precision=ms"

    def one(path):
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "--data-binary", f"@{path}", url], stdout=subprocess.PIPE,
                           timeout=120)
        return r.stdout.decode().strip() == "204"

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        ok = list(ex.map(one, files))
    dt = time.time() - t0
    for p in files:
        os.unlink(p)
    os.rmdir(tmp)
    return dt, ok.count(False)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A stand-in for InfluxDB's HTTP API that keeps the bodies of /write (the lines, in the
    order they came) and answers every query with an empty result."""
    bodies = None  # set per server: a list the handler appends to

    def log_message(self, *args):
        pass

    def _empty(self):
        body = b'{"results":[{"statement_id":0}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/ping"):
            self.send_response(204)
            self.end_headers()
        else:
            self._empty()

    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.path.startswith("/write"):
            self._empty()
            return
        if self.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        self.server.bodies.append(data)
        self.send_response(204)
        self.end_headers()


def capture_lines(args, n):
    """The lines the collector writes for n of bench-pub's messages (raw and derived, in its
    order): the collector, set up as in the store runs, writes to a recorder instead of InfluxDB.
    Returns the lines (str)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    srv.bodies = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    b = Bench(args, "store-capture", args.ingest_devices, influx=False)
    try:
        b.st.influx_port = srv.server_address[1]
        influx = {}
        if args.gzip is not None:
            influx["gzip"] = args.gzip == "on"
        b.start_collector(influx=influx, layers={"refresh_ms": "1h"})
        b.run(b.pub_argv(n))
        watch(b, ("citytel_messages_accepted_total",),
              lambda v: v["citytel_messages_accepted_total"] >= n, timeout=300, stall_s=20)
        watch(b, SINK_IDLE, lambda v: all(v[k] == 0 for k in SINK_IDLE), timeout=300, stall_s=20)
        b.stop_collector()
    finally:
        b.close()
        srv.shutdown()
    return b"".join(srv.bodies).decode("utf-8").splitlines()


def store_base(b, reg, n, lines=None, db="bench_base"):
    """curl POSTs n raw points to the database 'db' (or 'lines', the collector's own for n
    messages). Returns (raw points/s, failed POSTs, InfluxDB's CPU seconds over the posts, the
    curl processes' CPU seconds)."""
    b.st.influx_post(f'CREATE DATABASE "{db}"')
    if lines is None:
        lines = lp_lines(reg, n, int(time.time() * 1000) - 2 * n)
    pid = b.st.procs["influxd"][0].pid
    c0, ru0 = proc_cpu_s(pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    dt, fails = post_batches(b.st.influx_port, db, lines, 10000, 4)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    curl_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return n / dt, fails, proc_cpu_s(pid) - c0, curl_cpu


RAW_MEASUREMENTS = ("air", "water", "rain", "flood", "parking")


def raw_points(b, db=None):
    """Raw points stored in a database (the collector's by default): per raw measurement (the
    kinds), the largest count over its fields (every raw point of a kind carries the fields
    bench-pub sends for it), summed. Derived points live in other measurements."""
    url = (f"http://127.0.0.1:{b.st.influx_port}/query?" + urllib.parse.urlencode(
        {"db": db or b.st.db, "q": "SELECT count(*) FROM " + ",".join(RAW_MEASUREMENTS)}))
    with urllib.request.urlopen(url, timeout=120) as r:
        body = json.load(r)
    total = 0
    for res in body.get("results", []):
        for ser in res.get("series", []):
            total += max(v for v in ser["values"][0][1:] if v is not None)
    return total


def influx_settle(b, cold_s=11.0, idle_share=0.05, cap_s=90.0):
    """Waits until InfluxDB has put away what the previous writer left: past the test config's
    cache-snapshot-write-cold-duration (10 s), the cache of the now cold shard is snapshotted to
    TSM files and compacted. Without this wait that work ran during the next writer's timed
    drain (the collector always ran after curl's baseline), charging curl's points to the
    collector. Returns when influxd used less than 'idle_share' of a core over one second."""
    pid = b.st.procs["influxd"][0].pid
    time.sleep(cold_s)
    end = time.time() + cap_s
    while time.time() < end:
        c0 = proc_cpu_s(pid)
        time.sleep(1.0)
        if proc_cpu_s(pid) - c0 < idle_share:
            return


def store_outage(b, n, total, at_peak, timeout=600, stall_s=30):
    """A store outage: InfluxDB paused (SIGSTOP) while n messages are published and the collector
    has accepted 'total' in all, so its sink holds them; at_peak() is read then, and InfluxDB
    resumed (SIGCONT) whatever happens. Returns at_peak()'s value."""
    influxd = b.st.procs["influxd"][0]
    influxd.send_signal(signal.SIGSTOP)
    try:
        b.run(b.pub_argv(n))
        name = "citytel_messages_accepted_total"
        watch(b, (name,), lambda v: v[name] >= total, timeout=timeout, stall_s=stall_s)
        return at_peak()
    finally:
        influxd.send_signal(signal.SIGCONT)


def store_collector(b, n):
    """Pauses InfluxDB, lets the collector (a fresh journal and InfluxDB: nothing of an earlier
    run) accept n messages, resumes InfluxDB and times the drain of the sink's backlog: the clock
    stops when the sink holds nothing (every raw and derived point written). Returns (raw
    points/s, raw points in InfluxDB, all points written (raw + derived) in the span, points
    written before the resume, POSTs in the drain, (InfluxDB's, the collector's) CPU seconds over
    the drain)."""
    # A write pending at SIGSTOP waits for the resume instead of timing out (30 s by default):
    # the figure is the sink's drain, not its retry backoff after an outage.
    influx = {"timeout_ms": 600000}
    if b.args.gzip is not None:
        influx["gzip"] = b.args.gzip == "on"
    if b.args.batch_max_points:
        influx["batch_max_points"] = b.args.batch_max_points
    # The public layers' refresh (layers.refresh_ms, 30 s) reads every station's newest points and
    # 24-hour histories from InfluxDB; landing in a 3-5 s drain, those reads took a varying part of
    # InfluxDB's CPU from the writes measured here (docs/benchmarks.md). They are a read load a map
    # puts on the store whoever writes to it, measured by layers_bench.py; here they wait an hour.
    b.start_collector(influx=influx, layers={"refresh_ms": "1h"})
    influxd = b.st.procs["influxd"][0]

    def at_peak():
        m = b.st.metrics()
        return (m.get("citytel_store_points_total", 0.0),
                m.get("citytel_store_requests_total", 0.0), m.get("citytel_store_inflight", 0.0),
                (proc_cpu_s(influxd.pid), proc_cpu_s(b.st.procs["collector"][0].pid)))
    held, posts0, waiting, cpu0 = store_outage(b, n, n, at_peak, timeout=300, stall_s=20)
    t_cont = time.time()
    names = ("citytel_store_points_total",) + SINK_IDLE
    s = watch(b, names, lambda v: all(v[k] == 0 for k in SINK_IDLE), timeout=600, stall_s=30,
              interval=DRAIN_POLL_S)
    # CPU over the drain, read as soon as the sink is empty (both are idle after it).
    cpu = (proc_cpu_s(influxd.pid) - cpu0[0],
           proc_cpu_s(b.st.procs["collector"][0].pid) - cpu0[1])
    # The sink emptied between the last busy sample and the first idle one: the midpoint, so
    # the polling adds no bias (taking the idle sample's time charged the collector half a
    # period, 50 ms of a 2-3 s drain at the former 0.1 s polling, against curl's exact end).
    t_idle = s[names[0]][-1][0]
    t_end = (t_idle + s[names[0]][-2][0]) / 2 if len(s[names[0]]) > 1 else t_idle
    written = s[names[0]][-1][1] - held
    # The drain's requests: those started after the resume and those waiting at the pause.
    posts = b.st.metric("citytel_store_requests_total") - posts0 + waiting
    b.stop_collector(end_session=True)
    raw = raw_points(b)
    span = t_end - t_cont
    return (raw / span if span > 0 else 0.0), raw, written, held, posts, cpu


def sec_store(args):
    n = args.store_messages
    header("store: raw points per second into InfluxDB", sys.argv,
           [f"{args.ingest_devices} devices; each run on a fresh broker, InfluxDB and journal; "
            f"InfluxDB paused (SIGSTOP) while {n} messages are published to the running "
            "collector, so its sink holds a backlog; then resumed (SIGCONT): the clock stops "
            "when the sink holds nothing (/metrics citytel_store_pending_bytes, _inflight and "
            "_backlog_batches all 0, sampled every 0.02 s; the end is the midpoint between "
            "the last busy and the first idle sample); citytel = raw points counted in "
            "InfluxDB (SELECT count(*) over the kinds' measurements) / that span. The derived "
            "points (rollups, indices) are written in the same span and not counted",
            "baseline = curl POSTing the same number of raw points of the same shape "
            "(same tags) in batches of 10 000 lines, 4 at a time, to another database of "
            "the same InfluxDB, before the collector's run; then a wait until InfluxDB has "
            "snapshotted and compacted curl's points (past its 10 s cold-shard snapshot, influxd "
            "under 5 % of a core for 1 s), so that work is not charged to the collector; the collector's influx.timeout_ms is "
            "600 s so that writes pending at the pause wait instead of failing into the retry "
            "backoff",
            "second baseline = curl POSTing the collector's own lines (raw and derived, "
            "captured once before the runs from a collector writing to a recorder in place of "
            "InfluxDB, same messages), the same way, to a third database, then the same wait: "
            "the sink against curl on equal data, so the derived data's cost to InfluxDB is "
            "apart from the sink's",
            f"{args.repeat} run(s) of each, baselines and citytel alternating; each ratio is "
            "the median of the runs' ratios",
            "CPU per raw point = (InfluxDB's CPU + the sender's CPU) over the posts (curl: every "
            "curl process; citytel: the collector, over the drain) / raw points stored; it "
            "moves less than the rates when other jobs share the cores",
            "the collector's layers.refresh_ms is 1 h, so the public map's reads of the store do "
            "not land in the drain",
            "collector influx.gzip " + (args.gzip or "as shipped (off)") +
            ", influx.batch_max_points " + (str(args.batch_max_points) if args.batch_max_points
                                            else "as shipped")])
    reg = registry_lines(args.ingest_devices)
    own = capture_lines(args, n)
    pairs, same, costs, same_costs, fails, last, b = [], [], [], [], 0, None, None
    for rep in range(args.repeat):
        b = Bench(args, "store", args.ingest_devices)
        try:
            base, f, base_influx_cpu, curl_cpu = store_base(b, reg, n)
            fails += f
            influx_settle(b)
            eq, f, eq_influx_cpu, eq_curl_cpu = store_base(b, reg, n, own, "bench_same")
            fails += f
            influx_settle(b)
            last = store_collector(b, n)
            pairs.append((base, last[0]))
            same.append((eq, last[0]))
            # CPU per raw point (us), InfluxDB + the sender: what a loaded machine does not move
            # much, unlike the rates (the machine's other jobs take the cores).
            c_base = (base_influx_cpu + curl_cpu) / n * 1e6
            c_ours = (last[5][0] + last[5][1]) / max(last[1], 1) * 1e6
            costs.append((c_base, c_ours))
            same_costs.append(((eq_influx_cpu + eq_curl_cpu) / n * 1e6, c_ours))
            print(f"run {rep + 1}: curl {base:.0f} raw points/s, posting the collector's lines "
                  f"{eq:.0f} (InfluxDB + curl {(eq_influx_cpu + eq_curl_cpu) / n * 1e6:.2f} us "
                  f"per raw point); citytel {last[0]:.0f} raw "
                  f"points/s, {last[4]:.0f} POSTs in the drain for {last[2]:.0f} points "
                  f"({last[2] / max(last[4], 1):.0f} lines per POST); CPU per raw point, "
                  f"InfluxDB + sender: curl {base_influx_cpu / n * 1e6:.2f} + "
                  f"{curl_cpu / n * 1e6:.2f} us, citytel {last[5][0] / max(last[1], 1) * 1e6:.2f}"
                  f" + {last[5][1] / max(last[1], 1) * 1e6:.2f} us")
            sys.stdout.flush()
            if rep == args.repeat - 1:
                b.commands.append(
                    ["curl", "--data-binary", "@batch.lp",
                     f"http://127.0.0.1:{b.st.influx_port}/write?db=bench_base&precision=ms",
                     f"(x{(n + 9999) // 10000} per run, 4 in parallel)"])
                mc = (median([c[0] for c in costs]), median([c[1] for c in costs]))
                ms = (median([c[0] for c in same_costs]), median([c[1] for c in same_costs]))
                table([rep_rows("raw points/s into InfluxDB", pairs),
                       ["CPU per raw point (InfluxDB + sender), us, median",
                        f"{mc[0]:.2f}", f"{mc[1]:.2f}", f"{mc[0] / mc[1]:.2f}"],
                       rep_rows("the same data: curl posting the collector's own lines "
                                f"({len(own)} for {n} raw points), raw points/s", same),
                       ["the same data: CPU per raw point (InfluxDB + sender), us, median",
                        f"{ms[0]:.2f}", f"{ms[1]:.2f}", f"{ms[0] / ms[1]:.2f}"],
                       ["raw points stored (last run)", f"{n} ({fails} failed POSTs)",
                        f"{last[1]:.0f} (+ {last[2] - last[1]:.0f} derived; "
                        f"{last[3]:.0f} before the resume)", ratio(last[1], n)],
                       ["POSTs in the drain (last run)", f"{(n + 9999) // 10000}",
                        f"{last[4]:.0f} ({last[2] / max(last[4], 1):.0f} lines each)", ""]])
                b.print_commands()
        finally:
            b.close()


def pctl(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))] if v else float("nan")


def sec_latency(args):
    rate, secs = args.rate, args.latency_s
    n = int(rate * secs)
    b = Bench(args, "latency", args.ingest_devices, kinds=("air",))
    try:
        header("latency: sample time (ts) to queryable", sys.argv,
               [f"{args.ingest_devices} air devices, {rate} messages/s for {secs} s (ts = send "
                "time); baseline = bench-sub's receive time minus ts (broker alone), on the "
                "same messages",
                f"citytel = first time a point answers SELECT on InfluxDB (polled every "
                f"{args.poll_ms} ms, so up to {args.poll_ms} ms of resolution) minus ts; "
                f"collector flush {args.flush_ms} ms"])
        b.start_collector()
        sub = b.spawn(b.sub_argv(n, extra=["--latency", "--timeout-s", str(secs + 60)]))
        time.sleep(1.0)
        t_start = int(time.time() * 1000)
        pub = b.spawn(b.pub_argv(n, rate=rate))
        seen = {}
        hi = t_start
        deadline = time.time() + secs + 30
        while time.time() < deadline and len(seen) < n:
            t_q = time.time() * 1000
            q = f"SELECT pm25, device FROM air WHERE time > {max(t_start, hi - 5000)}ms"
            url = (f"http://127.0.0.1:{b.st.influx_port}/query?" +
                   urllib.parse.urlencode({"db": b.st.db, "epoch": "ms", "q": q}))
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
            for res in body.get("results", []):
                for ser in res.get("series", []):
                    cols = ser["columns"]
                    ti, di = cols.index("time"), cols.index("device")
                    for row in ser["values"]:
                        key = (row[di], row[ti])
                        if key not in seen:
                            seen[key] = t_q - row[ti]
                            hi = max(hi, row[ti])
            time.sleep(args.poll_ms / 1000)
        pres = kv(pub.communicate(timeout=60)[0])
        base = kv(sub.communicate(timeout=120)[0])
        lat = list(seen.values())
        b.stop_collector()
        p50, p99 = pctl(lat, 0.5), pctl(lat, 0.99)
        table([["p50 latency, ms", f"{base.get('lat_p50_ms', 0):.1f}", f"{p50:.0f}",
                ratio(p50, base.get("lat_p50_ms", 0))],
               ["p99 latency, ms", f"{base.get('lat_p99_ms', 0):.1f}", f"{p99:.0f}",
                ratio(p99, base.get("lat_p99_ms", 0))],
               ["messages measured", f"{base.get('lat_n', 0):.0f} / {n}", f"{len(lat)} / {n}",
                ratio(len(lat), base.get("lat_n", 0))]])
        print(f"\nbench-pub sent {pres.get('acked', 0):.0f} at {pres.get('rate', 0):.0f} msg/s")
        b.print_commands()
    finally:
        b.close()


def sample_rss(pids, stop, interval, out, accepted=None):
    """Appends (time, {name: VmRSS KiB}) every interval; with 'accepted' (a callable returning
    two numbers), also the collector's accepted-message count under the key "acc" and the bytes
    its store queue holds (citytel_store_pending_bytes) under "pend"."""
    while not stop.is_set():
        t = time.time()
        row = {k: rss_kib(p) for k, p in pids.items()}
        if accepted is not None:
            try:
                row["acc"], row["pend"] = accepted()
            except Exception:  # the collector busy or gone: the sample has no count
                row["acc"], row["pend"] = None, None
        out.append((t, row))
        stop.wait(interval)


def sec_memory(args):
    rate, secs, devs = args.mem_rate, args.soak_s, args.mem_devices
    n = int(rate * secs)
    b = Bench(args, "memory", devs)
    try:
        header("memory: resident size over a soak", sys.argv,
               [f"{devs} registered devices (all kinds), {rate} messages/s spread over all of "
                f"them for {secs} s (each device every {devs / rate:.0f} s); VmRSS from "
                "/proc/<pid>/status every 5 s",
                "baseline = bench-sub (bare Paho subscriber) receiving the same messages"])
        coll = b.start_collector()
        sub = b.spawn(b.sub_argv(n, extra=["--timeout-s", str(secs + 120)]))
        time.sleep(1.0)
        idle = {"citytel": rss_kib(coll.pid), "base": rss_kib(sub.pid)}
        samples, stop = [], threading.Event()
        th = threading.Thread(target=sample_rss, args=(
            {"citytel": coll.pid, "base": sub.pid}, stop, 5.0, samples,
            lambda: (b.st.metric("citytel_messages_accepted_total"),
                     b.st.metric("citytel_store_pending_bytes"))))
        pub = b.spawn(b.pub_argv(n, rate=rate))
        th.start()
        pres = kv(pub.communicate(timeout=secs + 300)[0])
        # The end sample is taken once the collector has processed every message (a loaded
        # machine leaves it behind the publisher), so growth is not confused with a backlog.
        try:
            harness.wait_until(
                lambda: b.st.metric("citytel_messages_accepted_total") >= pres.get("acked", n),
                300, "collector caught up")
        except AssertionError:
            print("note: the collector had not processed every message 300 s after the "
                  "publisher ended")
        time.sleep(2.0)
        stop.set()
        th.join()
        acc = b.st.metric("citytel_messages_accepted_total")
        seen = b.st.metric("citytel_devices_seen")
        trims = b.st.metric("citytel_store_memory_trims_total")
        sres = kv(sub.communicate(timeout=200)[0])
        b.stop_collector()

        t_pub = samples[0][0]
        # "After one round": the first sample at which the collector has processed as many
        # messages as there are devices (every device once), not the wall-clock time of that.
        t_round = next((t for t, v in samples if (v.get("acc") or 0) >= devs),
                       t_pub + devs / rate)

        def col(k):
            vals = [(t, v[k]) for t, v in samples if v[k] is not None]
            rnd = next((v for t, v in vals if t >= t_round), vals[-1][1])
            return rnd, vals[-1][1], max(v for _, v in vals)
        br, be, bm = col("base")
        cr, ce, cm = col("citytel")
        bi, ci = idle["base"], idle["citytel"]
        mib = 1024.0
        table([["VmRSS before traffic, MiB", f"{bi / mib:.1f}", f"{ci / mib:.1f}", ratio(ci, bi)],
               [f"VmRSS after one round (every device processed once, {t_round - t_pub:.0f} s), MiB",
                f"{br / mib:.1f}", f"{cr / mib:.1f}", ratio(cr, br)],
               ["VmRSS at soak end, MiB", f"{be / mib:.1f}", f"{ce / mib:.1f}", ratio(ce, be)],
               ["VmRSS peak, MiB", f"{bm / mib:.1f}", f"{cm / mib:.1f}", ratio(cm, bm)],
               ["growth during the first round, KiB per device",
                f"{(br - bi) / devs:.3f}", f"{(cr - ci) / devs:.3f}", "-"],
               [f"growth after the first round ({samples[-1][0] - t_round:.0f} s), MiB",
                f"{(be - br) / mib:.1f}", f"{(ce - cr) / mib:.1f}", "-"],
               ["messages received / accepted", f"{sres.get('received', 0):.0f}",
                f"{acc:.0f}", ratio(acc, sres.get("received", 0))]])
        print(f"\n{len(samples)} samples; bench-pub sent {pres.get('acked', 0):.0f}; the collector "
              f"saw {seen:.0f} distinct devices; the store queue drained from a backlog and "
              f"handed its free memory back {trims or 0:.0f} time(s) "
              "(citytel_store_memory_trims_total)")
        series = [v["citytel"] for _, v in samples if v["citytel"] is not None]
        step = max(1, (len(series) + 24) // 25)
        print(f"collector VmRSS, MiB, every {5 * step} s: " + " ".join(
            f"{v / mib:.0f}" for v in series[::step]))
        # The store queue (influx.max_pending_bytes, 256 MiB by default) fills while the store
        # is slower than the readings; its bytes are a bounded buffer, not per-device state, so
        # they are shown apart: VmRSS minus the queue's bytes is what the devices' state costs.
        pend = [(v["citytel"], v["pend"]) for _, v in samples
                if v["citytel"] is not None and v.get("pend") is not None]
        print(f"store queue (citytel_store_pending_bytes), MiB, every {5 * step} s: " + " ".join(
            f"{q / 1048576:.0f}" for _, q in pend[::step]))
        print(f"VmRSS minus the store queue, MiB, every {5 * step} s: " + " ".join(
            f"{(r * 1024 - q) / 1048576:.0f}" for r, q in pend[::step]))
        b.print_commands()
    finally:
        b.close()


def sec_outage(args):
    """VmRSS before, at the peak of and after a store outage: the sink's queue is a bounded
    buffer, and once it drains the collector hands the memory back (col_sink.h)."""
    n = args.outage_messages
    b = Bench(args, "outage", args.ingest_devices)
    try:
        header("outage: memory before, during and after a store outage", sys.argv,
               [f"{args.ingest_devices} devices; InfluxDB paused (SIGSTOP) while {n} messages are "
                "published and accepted, so the sink holds them; then resumed (SIGCONT) until the "
                "sink holds nothing; VmRSS from /proc/<pid>/status one second later",
                "baseline = the same collector's VmRSS before the outage (its devices already "
                "seen once, so their state is in it)"])
        coll = b.start_collector(influx={"timeout_ms": 600000}, layers={"refresh_ms": "1h"},
                                 log={"level": "info"})
        names = ("citytel_messages_accepted_total",)
        # One message per device first, so the baseline holds the devices' state.
        b.run(b.pub_argv(args.ingest_devices))
        watch(b, names, lambda v: v[names[0]] >= args.ingest_devices, timeout=120, stall_s=20)
        watch(b, SINK_IDLE, lambda v: all(v[k] == 0 for k in SINK_IDLE), timeout=120, stall_s=20)
        time.sleep(1.0)
        before = rss_kib(coll.pid)
        held, peak = store_outage(
            b, n, args.ingest_devices + n,
            lambda: (b.st.metric("citytel_store_pending_bytes"), rss_kib(coll.pid)))
        watch(b, SINK_IDLE, lambda v: all(v[k] == 0 for k in SINK_IDLE), timeout=600, stall_s=30)
        time.sleep(1.0)
        after = rss_kib(coll.pid)
        trims = b.st.metric("citytel_store_memory_trims_total") or 0
        b.stop_collector()
        logs = subprocess.run(["grep", "-rh", "store queue drained", b.st.dir],
                              stdout=subprocess.PIPE, text=True).stdout.strip()
        mib = 1024.0
        table([["VmRSS, MiB", f"{before / mib:.1f}", f"{after / mib:.1f} after the drain",
                ratio(after, before)],
               ["VmRSS at the outage's peak, MiB", "", f"{peak / mib:.1f}", ratio(peak, before)],
               ["store queue at the peak, MiB", "", f"{(held or 0) / 1048576:.1f}", ""],
               ["memory handed back (citytel_store_memory_trims_total)", "", f"{trims:.0f}", ""]],
              head=("measure", "before the outage", "citytel", "citytel / before"))
        if logs:
            print("\ncollector log: " + logs.splitlines()[-1])
        b.print_commands()
    finally:
        b.close()


def run_measured(argv, b):
    """Runs argv to its end; returns (stdout, cpu seconds (utime + stime), peak VmRSS KiB sampled
    every 50 ms). (ru_maxrss is not used: after fork+exec it keeps the Python parent's size.)"""
    b.commands.append(argv)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak, out = [0], []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    while True:
        r = rss_kib(p.pid)
        if r is None:
            break
        peak[0] = max(peak[0], r)
        try:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        except ChildProcessError:
            break
        if pid != 0:
            p.returncode = os.waitstatus_to_exitcode(status)
            reader.join()
            return out[0] if out else b"", ru.ru_utime + ru.ru_stime, peak[0]
        time.sleep(0.05)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    return out[0] if out else b"", ru.ru_utime + ru.ru_stime, peak[0]


def sec_node(args):
    n = args.node_count
    b = Bench(args, "node", 1, kinds=("air",), influx=False)
    try:
        header("node: sensor-node CPU and memory per message", sys.argv,
               [f"{n} air readings, one every {args.node_interval_ms} ms, sent through the "
                "outbox (--no-sync) at QoS 1 to the broker; CPU = utime + stime of the "
                "finished process (wait4 rusage, the same counters as /proc/<pid>/stat)",
                "baseline = bench-pub encoding, signing and publishing the same number of air "
                "payloads for one device at the same rate (--jit)"])
        dev = harness.device_key(b.st.master, "bench-air-000000").hex()
        key = os.path.join(b.st.dir, "device.key")
        with open(key, "w") as f:
            f.write(dev + "\n")
        node = os.path.join(args.fw_build, "firmware-sensor", "app", "sensor-node")
        rate = 1000.0 / args.node_interval_ms
        argv = [node, "--kind", "air", "--id", "bench-air-000000", "--broker", b.broker,
                "--key-file", key, "--state-dir", os.path.join(b.st.dir, "node"),
                "--interval-ms", str(args.node_interval_ms), "--count", str(n),
                "--rate", str(int(rate * 2)), "--no-sync", "--seed", "1"]
        _, ncpu, npeak = run_measured(argv, b)
        out, bcpu, bpeak = run_measured(b.pub_argv(n, rate=rate, inflight=16), b)
        bres = kv(out)
        table([["CPU per message, us", f"{bcpu / n * 1e6:.1f}", f"{ncpu / n * 1e6:.1f}",
                ratio(ncpu, bcpu)],
               ["CPU total, s", f"{bcpu:.2f}", f"{ncpu:.2f}", ratio(ncpu, bcpu)],
               ["peak VmRSS (sampled), MiB", f"{bpeak / 1024:.1f}", f"{npeak / 1024:.1f}",
                ratio(npeak, bpeak)]])
        print(f"\nbench-pub acked {bres.get('acked', 0):.0f} of {n}")
        b.print_commands()
    finally:
        b.close()


SECTIONS = {"ingest": sec_ingest, "store": sec_store, "latency": sec_latency,
            "memory": sec_memory, "outage": sec_outage, "node": sec_node}
SECTIONS["peer"] = lambda args: peer.sec_peer(args, sys.modules[__name__])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sections", nargs="+", choices=list(SECTIONS) + ["all"])
    ap.add_argument("--build", default=os.path.join(SRC, "build-bench"),
                    help="build folder with the collector and bench tools (default build-bench)")
    ap.add_argument("--fw-build", default=None,
                    help="build folder with sensor-node (default: --build)")
    ap.add_argument("--messages", type=int, default=200000, help="ingest, QoS 1")
    ap.add_argument("--messages-qos0", type=int, default=100000, help="ingest, QoS 0")
    ap.add_argument("--store-messages", type=int, default=500000, help="store backlog")
    ap.add_argument("--ingest-devices", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3,
                    help="ingest and store: runs of each measurement (medians reported)")
    ap.add_argument("--flush-ms", type=int, default=250,
                    help="collector influx.flush_ms (default 250, as shipped)")
    ap.add_argument("--gzip", choices=("on", "off"), default=None,
                    help="store: the collector's influx.gzip (default: as shipped, off)")
    ap.add_argument("--batch-max-points", type=int, default=0,
                    help="store: the collector's influx.batch_max_points (default: as shipped)")
    ap.add_argument("--rate", type=float, default=1000.0, help="latency: messages/s")
    ap.add_argument("--latency-s", type=int, default=30)
    ap.add_argument("--poll-ms", type=int, default=100, help="latency: InfluxDB poll period")
    ap.add_argument("--mem-devices", type=int, default=100000)
    ap.add_argument("--mem-rate", type=float, default=2000.0, help="memory: messages/s")
    ap.add_argument("--soak-s", type=int, default=120, help="memory soak (600 for 10 minutes)")
    ap.add_argument("--outage-messages", type=int, default=400000,
                    help="outage: messages accepted while InfluxDB is paused")
    ap.add_argument("--node-count", type=int, default=3000)
    ap.add_argument("--node-interval-ms", type=int, default=5)
    peer.add_args(ap)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.fw_build = os.path.abspath(args.fw_build or args.build)
    # InfluxDB answers 500 when it runs out of file descriptors; it inherits this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    names = list(SECTIONS) if "all" in args.sections else args.sections
    t0 = time.time()
    print(f"# citytel benchmarks ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print(f"machine: {machine()}")
    for name in names:
        SECTIONS[name](args)
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
