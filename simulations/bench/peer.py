"""peer.py - run.py's peer section: citytel beside Node-RED (the peer) at paced rates, on the same
Mosquitto and the same InfluxDB, in one run.

    python3 simulations/bench/run.py peer [--peer-rates 5000,10000] [--peer-messages N] [--full]

For each rate and each subscriber (citytel's collector; Node-RED's "simple" flow, one InfluxDB
write per reading; Node-RED's "batch" flow, 1 000 points or 1 s per write), one after the other
on the one stack: a fresh database, the subscriber started and connected, bench-pub publishing N
signed readings at the rate (QoS 1), then a drain wait; then the row: published (acknowledged by
the broker), stored (raw points counted in InfluxDB), lost, CPU per message and peak RSS.

Node-RED and its InfluxDB nodes are pinned in simulations/bench/nodered/package-lock.json and
installed there with `npm ci` (done here when node_modules is missing). The flows are
simulations/bench/nodered/simple.json and batch.json; each run gets a temporary userDir with a
settings file, a free port for the editor, and its own database.

CT_PEER_DEBUG=1 prints the drain's progress (stored count, the subscriber's CPU each second).

run.py registers this module's section and options; it passes itself in (`sec_peer(args, run)`)
so that this file reuses its stack, tool and InfluxDB helpers instead of copying them."""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NODERED = os.path.join(HERE, "nodered")
RED_JS = os.path.join(NODERED, "node_modules", "node-red", "red.js")
FLOWS = ("simple", "batch")
SUBSCRIBERS = ("citytel",) + FLOWS
FULL_MESSAGES = 300000

# The settings file of one Node-RED run: no editor projects, no telemetry or update checks, no
# palette installs; log to stdout (the run's log file) at info, where node errors appear.
SETTINGS = """module.exports = {{
    uiHost: "127.0.0.1",
    uiPort: {port},
    userDir: {user_dir},
    flowFile: {flow_file},
    credentialSecret: false,
    flowFilePretty: true,
    logging: {{ console: {{ level: "info", metrics: false, audit: false }} }},
    diagnostics: {{ enabled: false }},
    runtimeState: {{ enabled: false }},
    telemetry: {{ enabled: false }},
    externalModules: {{ autoInstall: false, palette: {{ allowInstall: false }} }},
    functionExternalModules: false,
    editorTheme: {{ projects: {{ enabled: false }}, tours: false }},
}};
"""


class PeerError(RuntimeError):
    """A clear reason why the peer section cannot run (npm missing, Node-RED did not start)."""


def add_args(ap):
    """The section's options, on run.py's parser."""
    ap.add_argument("--peer-rates", default="5000,10000",
                    help="peer: paced publishing rates, msg/s, comma separated "
                         "(default 5000,10000)")
    ap.add_argument("--peer-messages", type=int, default=20000,
                    help="peer: readings published per run (default 20 000; --full: 300 000)")
    ap.add_argument("--peer-drain-s", type=float, default=10.0,
                    help="peer: the stored count unchanged and the subscriber idle "
                         "(< 5 %% of a core) this long = drained (default 10 s)")
    ap.add_argument("--peer-drain-cap-s", type=float, default=300.0,
                    help="peer: the longest drain wait after publishing (default 300 s)")
    ap.add_argument("--peer-subscribers", default=",".join(SUBSCRIBERS),
                    help="peer: which to run, of " + ",".join(SUBSCRIBERS))
    ap.add_argument("--full", action="store_true",
                    help=f"peer: {FULL_MESSAGES} readings per run, as measured for issue 19")


def ensure_nodered():
    """Node-RED installed from the lock file: runs `npm ci` in simulations/bench/nodered when its
    node_modules is missing. Returns the node executable."""
    node = shutil.which("node")
    if node is None:
        raise PeerError("node not found on PATH: install Node.js >= 18.5 (Debian: nodejs npm)")
    if os.path.exists(RED_JS):
        return node
    npm = shutil.which("npm")
    if npm is None:
        raise PeerError(f"{RED_JS} is missing and npm is not on PATH: install npm, then "
                        f"`npm ci` in {NODERED}")
    print(f"installing Node-RED: npm ci in {os.path.relpath(NODERED)}")
    sys.stdout.flush()
    r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODERED,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    if r.returncode != 0 or not os.path.exists(RED_JS):
        raise PeerError(f"`npm ci` in {NODERED} failed ({r.returncode}):\n"
                        + r.stdout.decode(errors="replace")[-2000:])
    return node


def vm_kib(pid, key):
    """A size from /proc/<pid>/status in KiB (VmHWM: the peak resident size so far)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_nodered(b, node, flow, db, tag):
    """Starts Node-RED (one foreground node process) with the flow against the stack's broker and
    InfluxDB, database db, in a temporary userDir; waits until its MQTT client is connected.
    Returns (process, log path)."""
    user_dir = os.path.join(b.st.dir, f"nodered-{tag}")
    os.makedirs(user_dir)
    flow_file = os.path.join(user_dir, "flows.json")
    shutil.copyfile(os.path.join(NODERED, f"{flow}.json"), flow_file)
    settings = os.path.join(user_dir, "settings.js")
    port = b.run_module.harness.free_port()
    with open(settings, "w") as f:
        f.write(SETTINGS.format(port=port, user_dir=repr(user_dir), flow_file=repr(flow_file)))
    env = dict(os.environ, CT_MQTT_PORT=str(b.st.mqtt_port),
               CT_INFLUX_PORT=str(b.st.influx_port), CT_NR_DB=db)
    argv = [node, RED_JS, "--settings", settings, "--userDir", user_dir, "--port", str(port)]
    log = os.path.join(b.st.dir, f"nodered-{tag}.log")
    b.commands.append(argv)
    logf = open(log, "ab")
    proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    # Registered with the stack, so that its close() stops Node-RED whatever happens.
    b.st.procs[f"nodered-{tag}"] = (proc, logf)

    def connected():
        if proc.poll() is not None:
            raise PeerError(failed_msg(log, f"Node-RED exited with {proc.returncode}"))
        text = open(log, errors="replace").read()
        return "Connected to broker" in text and "Started flows" in text
    try:
        b.run_module.harness.wait_until(connected, 90, "Node-RED connected to the broker")
    except AssertionError as e:
        raise PeerError(failed_msg(log, f"Node-RED did not connect: {e}")) from None
    time.sleep(1.0)  # its subscription follows the connection
    return proc, log


def failed_msg(log, what):
    """The reason with the log's tail, and a copy of the log that outlives the stack's folder."""
    keep = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                        f"citytel-bench-{os.path.basename(log)}")
    shutil.copyfile(log, keep)
    tail = open(log, errors="replace").read()[-1500:]
    return f"{what}; its log: {keep}\n{tail}"


def log_counts(log):
    """(lines Node-RED logged at error level: a failed write is logged once per message; times
    its MQTT client lost the broker: with a clean session the broker drops what it queued)."""
    errors = lost_broker = 0
    with open(log, errors="replace") as f:
        for line in f:
            errors += "[error]" in line
            lost_broker += "Disconnected from broker" in line
    return errors, lost_broker


def drain(b, db, published, pids, quiet_s, cap_s):
    """Polls the raw points stored in db every second until it equals published, or until for
    quiet_s it has not changed while the processes in pids (the subscriber) used less than 5 %
    of a core each, or cap_s passed. Returns the last count. (InfluxDB is not watched: the count
    query itself costs it 10 to 15 % of a core once a database holds some 10 000 points.)"""
    r = b.run_module
    t_end = time.time() + cap_s
    last, t_last = -1, time.time()
    cpu_last = {p: r.proc_cpu_s(p) for p in pids}
    while time.time() < t_end:
        n = r.raw_points(b, db)
        if n >= published:
            return n
        cpu = {p: r.proc_cpu_s(p) for p in pids}
        busy = any(cpu[p] - cpu_last[p] > 0.05 for p in pids)
        if os.environ.get("CT_PEER_DEBUG"):
            sys.stderr.write(f"drain: stored {n}, CPU s in the last second: " + ", ".join(
                f"{cpu[p] - cpu_last[p]:.2f}" for p in pids) + "\n")
        cpu_last = cpu
        if n != last or busy:
            last, t_last = n, time.time()
        elif time.time() - t_last >= quiet_s:
            break
        time.sleep(1.0)
    return max(last, 0)


def one_run(b, node, who, rate, n, args):
    """One subscriber at one rate. Returns the row's figures as a dict."""
    r = b.run_module
    db = f"peer_{who}_{int(rate)}"
    b.st.influx_post(f'CREATE DATABASE "{db}"')
    log = None
    if who == "citytel":
        spool = {"dir": os.path.join(b.st.dir, f"spool-peer-{int(rate)}")}
        proc = b.start_collector(spool=spool, influx={"db": db})
    else:
        proc, log = start_nodered(b, node, who, db, f"{who}-{int(rate)}")
    cpu0 = r.proc_cpu_s(proc.pid)
    pub = b.run(b.pub_argv(n, rate=rate), timeout=n / rate * 4 + 300)
    acked = int(pub.get("acked", 0))
    if who == "citytel":
        r.watch(b, ("citytel_messages_accepted_total",),
                lambda v: v["citytel_messages_accepted_total"] >= acked, timeout=300, stall_s=20)
        r.sink_idle(b)
    stored = drain(b, db, acked, (proc.pid,), args.peer_drain_s,
                   cap_s=max(args.peer_drain_cap_s, n / rate * 2))
    if proc.poll() is not None:
        sys.stderr.write(f"warning: {who} exited with {proc.returncode} during the run\n")
        cpu1, hwm = cpu0, 0
    else:
        cpu1 = r.proc_cpu_s(proc.pid)
        hwm = vm_kib(proc.pid, "VmHWM")
    rejected = b.st.metric("citytel_rejected_total") if who == "citytel" else None
    errors, disconnects = log_counts(log) if log else (None, None)
    if who == "citytel":
        b.stop_collector(end_session=True)
    else:
        b.st.stop(f"nodered-{who}-{int(rate)}")
    return {"who": who, "rate": rate, "sent_rate": pub.get("rate", 0.0), "published": acked,
            "stored": stored, "cpu_us": (cpu1 - cpu0) / max(acked, 1) * 1e6,
            "rss_mib": hwm / 1024.0, "errors": errors, "disconnects": disconnects,
            "rejected": rejected}


LABELS = {"citytel": "citytel (collector)",
          "simple": "Node-RED simple (one write per reading)",
          "batch": "Node-RED batch (1 000 points or 1 s)"}


def peer_table(r, rows):
    head = ("subscriber", "rate, msg/s (sent at)", "published (acked)", "stored", "lost",
            "lost, %", "CPU per message, us", "peak RSS, MiB",
            "write errors / broker disconnects logged")
    out = []
    for x in rows:
        lost = x["published"] - x["stored"]
        errs = ("-" if x["errors"] is None else
                f"{x['errors']:,} / {x['disconnects']}".replace(",", " "))
        out.append([LABELS[x["who"]], f"{x['rate']:,.0f} ({x['sent_rate']:,.0f})".replace(",", " "),
                    f"{x['published']:,}".replace(",", " "),
                    f"{x['stored']:,}".replace(",", " "), f"{lost:,}".replace(",", " "),
                    f"{100.0 * lost / max(x['published'], 1):.1f}", f"{x['cpu_us']:.1f}",
                    f"{x['rss_mib']:.0f}", errs])
    r.table(out, head=head)


def sec_peer(args, r):
    """The section; r is run.py's module (its Bench, helpers and table)."""
    n = FULL_MESSAGES if args.full else args.peer_messages
    rates = [float(x) for x in args.peer_rates.split(",") if x.strip()]
    who_all = [w.strip() for w in args.peer_subscribers.split(",") if w.strip()]
    bad = [w for w in who_all if w not in SUBSCRIBERS]
    if bad:
        raise SystemExit(f"--peer-subscribers: unknown {bad}; known: {SUBSCRIBERS}")
    node = None
    if any(w in FLOWS for w in who_all):
        try:
            node = ensure_nodered()
        except PeerError as e:
            raise SystemExit(f"peer: {e}") from None
        ver = subprocess.run([node, "--version"], stdout=subprocess.PIPE).stdout.decode().strip()
    r.header("peer: citytel beside Node-RED at paced rates", sys.argv,
             [f"{args.ingest_devices} devices (all kinds); per rate and subscriber, one after the "
              f"other on the same Mosquitto and InfluxDB: a fresh database, the subscriber "
              f"started and connected, then bench-pub --rate publishing {n} signed readings at "
              "QoS 1, then a drain wait (the stored count equals published, or has not moved for "
              f"{args.peer_drain_s:g} s while the subscriber used < 5 % of a core)",
              "published = acknowledged by the broker (bench-pub acked); stored = raw points in "
              "the subscriber's database (SELECT count(*) over the kinds' measurements); lost = "
              "published - stored",
              "CPU per message = the subscriber process's utime + stime (all threads, "
              "/proc/<pid>/stat) from just before publishing to the end of the drain (start-up "
              "not included) / published; peak RSS = its VmHWM at the end",
              "citytel verifies each signature, validates, journals and writes raw and derived "
              f"points (flush {args.flush_ms} ms); Node-RED "
              + (f"(node {ver}, node-red 4.1.8, node-red-contrib-influxdb 0.7.0) " if node else "")
              + "checks nothing: mqtt in (QoS 1, JSON) -> function (reading to point) -> "
              "influxdb out (simple: one write per reading) or join 1 000 / 1 s -> influxdb batch "
              "(batch); flows in simulations/bench/nodered/"])
    b = r.Bench(args, "peer", args.ingest_devices)
    b.run_module = r
    rows = []
    try:
        for rate in rates:
            for who in who_all:
                x = one_run(b, node, who, rate, n, args)
                rows.append(x)
                extra = (f", {x['errors']} error lines in its log, {x['disconnects']} "
                         "disconnections from the broker" if x["errors"] is not None
                         else f", rejected {x['rejected']:.0f}")
                print(f"{who} at {rate:.0f} msg/s: published {x['published']} (bench-pub sent "
                      f"at {x['sent_rate']:.0f} msg/s), stored {x['stored']}{extra}")
                sys.stdout.flush()
        print()
        peer_table(r, rows)
        b.print_commands()
    except PeerError as e:
        raise SystemExit(f"peer: {e}") from None
    finally:
        b.close()
