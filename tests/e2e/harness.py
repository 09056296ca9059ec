"""harness.py - start the real Mosquitto and InfluxDB, the collector and sensor nodes for the
end-to-end tests, on free loopback ports in a temporary folder, and stop them all again.

Standard library only. Every process started here is stopped by Stack.close(), which the tests
call in a finally block (and atexit, as a safety net)."""
import atexit
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

SALT = b"city-telemetry/v1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, timeout, what, interval=0.1):
    """Polls cond() until it returns a true value or the deadline passes (then raises)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def hkdf_sha256(ikm, salt, info, length=32):
    """RFC 5869, written here independently of the C code under test."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def device_key(master, device_id):
    return hkdf_sha256(master, SALT, device_id.encode())


def sign(key, topic, payload):
    return hmac.new(key, topic.encode() + b"\n" + payload, hashlib.sha256).hexdigest()


class Stack:
    """The servers and programs of one test, in one temporary folder."""

    def __init__(self, name, build_dir, src_dir):
        self.build = build_dir
        self.src = src_dir
        self.dir = tempfile.mkdtemp(prefix=f"citytel-{name}-")
        self.procs = {}
        self.master = bytes(range(1, 33))
        self.db = "citytel"
        atexit.register(self.close)

    # -- servers -------------------------------------------------------------------------------
    def start_mosquitto(self, port=None):
        d = os.path.join(self.dir, "mosquitto")
        os.makedirs(d, exist_ok=True)
        self.mqtt_port = port or free_port()
        conf = os.path.join(d, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.mqtt_port} 127.0.0.1\nallow_anonymous true\n"
                    f"persistence true\npersistence_location {d}/\nautosave_interval 1\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
                    f"log_dest file {d}/mosquitto.log\n")
            if os.geteuid() == 0:
                f.write("user root\n")
        self._spawn("mosquitto", ["mosquitto", "-c", conf], os.path.join(d, "out.log"))
        self.wait_port(self.mqtt_port, 20)
        return self.mqtt_port

    def start_influxdb(self, port=None, conf_edit=None):
        """Starts InfluxDB with the stack's data folder; again on 'port' after a stop.
        conf_edit(text) -> text may change the configuration (the console benchmark's)."""
        d = os.path.join(self.dir, "influxdb")
        os.makedirs(d, exist_ok=True)
        self.influx_port = port or free_port()
        rpc = free_port()
        conf = os.path.join(d, "influxdb.conf")
        with open(conf, "w") as f:
            text = f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{d}/meta"
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.influx_port}"
  log-enabled = false
[logging]
  level = "warn"
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""
            f.write(conf_edit(text) if conf_edit else text)
        self._spawn("influxd", ["influxd", "run", "-config", conf], os.path.join(d, "out.log"))
        wait_until(self._influx_ping, 60, "InfluxDB /ping")
        self.influx_post(f'CREATE DATABASE "{self.db}"')
        return self.influx_port

    def start_victoriametrics(self, port=None):
        """Starts Debian's victoria-metrics (single node) with the stack's data folder, as the
        store the collector writes (line protocol at /write) and reads (/api/v1/export): sets
        influx_port (start_collector's influx.url) and store_kind; pass extra={"store":
        {"kind": st.store_kind}} to start_collector."""
        d = os.path.join(self.dir, "victoriametrics")
        os.makedirs(d, exist_ok=True)
        exe = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
        if not os.path.exists(exe):
            raise AssertionError("victoria-metrics is not installed (scripts/lib/deps.sh)")
        self.influx_port = port or free_port()
        self.store_kind = "victoriametrics"
        self._spawn("victoria-metrics",
                    [exe, f"-storageDataPath={d}/data",
                     f"-httpListenAddr=127.0.0.1:{self.influx_port}",
                     "-retentionPeriod=1y", "-search.latencyOffset=0s", "-loggerLevel=WARN"],
                    os.path.join(d, "out.log"))

        def health():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.influx_port}/health",
                                            timeout=2) as r:
                    return r.read().strip() == b"OK"
            except OSError:
                return False
        wait_until(health, 60, "VictoriaMetrics /health")
        return self.influx_port

    def vm_export(self, match):
        """Raw samples of the series matching 'match' (a series selector), straight from
        VictoriaMetrics' /api/v1/export: a list of (metric labels, [(ms, value), ...])."""
        url = (f"http://127.0.0.1:{self.influx_port}/api/v1/export?" +
               urllib.parse.urlencode({"match[]": match, "start": "0"}))
        with urllib.request.urlopen(url, timeout=10) as r:
            lines = r.read().decode().splitlines()
        out = []
        for line in lines:
            if line.strip():
                o = json.loads(line)
                out.append((o["metric"], sorted(zip(o["timestamps"], o["values"]))))
        return out

    def _influx_ping(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.influx_port}/ping", timeout=2):
                return True
        except OSError:
            return False

    def influx_post(self, q):
        data = urllib.parse.urlencode({"q": q}).encode()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.influx_port}/query", data,
                                    timeout=10) as r:
            return json.load(r)

    def query(self, q):
        """Runs an InfluxQL query; returns a list of dict rows (column -> value), times in ms."""
        url = (f"http://127.0.0.1:{self.influx_port}/query?" +
               urllib.parse.urlencode({"db": self.db, "epoch": "ms", "q": q}))
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        rows = []
        for res in body.get("results", []):
            if "error" in res:
                raise AssertionError(f"InfluxDB: {res['error']} for {q}")
            for s in res.get("series", []):
                for v in s["values"]:
                    row = dict(zip(s["columns"], v))
                    row.update(s.get("tags", {}))
                    rows.append(row)
        return rows

    def wait_port(self, port, timeout):
        def ok():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(ok, timeout, f"port {port}")

    # -- the collector ---------------------------------------------------------------------------
    def write_registry(self, lines):
        path = os.path.join(self.dir, "registry.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for obj in lines:
                f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.registry = path
        return path

    def write_master_key(self):
        path = os.path.join(self.dir, "master.key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, self.master.hex().encode() + b"\n")
        os.close(fd)
        self.master_key_file = path
        return path

    def start_collector(self, extra=None, name="collector", instance="c1", wait_http=True):
        """Starts a collector; with wait_http, waits for its listeners and sets http_port (the
        public listener: map, layers, OGC API) and staff_port (the staff listener: /healthz,
        /metrics)."""
        port_file = os.path.join(self.dir, f"{name}.port")
        staff_file = os.path.join(self.dir, f"{name}.staff-port")
        for f in (port_file, staff_file):
            if os.path.exists(f):
                os.unlink(f)
        cfg = {
            "collector": {"instance": instance},
            "log": {"level": "info"},
            "mqtt": {"uri": f"tcp://127.0.0.1:{self.mqtt_port}",
                     "client_id": f"citytel-{name}"},
            "registry": {"path": self.registry},
            "security": {"require_signatures": True, "master_key_file": self.master_key_file},
            "influx": {"url": f"http://127.0.0.1:{self.influx_port}", "api": 1, "db": self.db,
                       "flush_ms": 200},
            "spool": {"dir": os.path.join(self.dir, f"{name}-spool")},
            "quarantine": {"path": os.path.join(self.dir, f"{name}-quarantine.jsonl")},
            # The tests are machine clients that fire requests back to back from one address,
            # faster than the public listener's default 20 per second on a fast machine; the rate
            # limit itself is checked by e2e_reload_keys and e2e_hostile.
            "http": {"listen": "127.0.0.1", "port": 0, "port_file": port_file,
                     "staff_listen": "127.0.0.1", "staff_port": 0,
                     "staff_port_file": staff_file, "rate_per_client": 0},
        }
        for group, kv in (extra or {}).items():
            cfg.setdefault(group, {}).update(kv)
        path = os.path.join(self.dir, f"{name}.json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        exe = os.path.join(self.build, "collector", "app", "collector")
        self._spawn(name, [exe, "run", "-c", path], os.path.join(self.dir, f"{name}.log"))
        if wait_http:
            proc = self.procs[name][0]

            def port_ready():
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited with {proc.returncode}:\n"
                                         + self.log(name)[-2000:])
                return os.path.exists(port_file) and open(port_file).read().strip()
            wait_until(port_ready, 30, f"{name} HTTP port file")
            self.http_port = int(open(port_file).read().strip())
            # The staff listener is bound before the public one's port file is written.
            self.staff_port = int(open(staff_file).read().strip())
        return path

    STAFF_PATHS = ("/healthz", "/metrics")

    def http_get(self, path, headers=None, port=None):
        """GET on the collector: the staff surfaces (/healthz, /metrics) on staff_port, every
        other path on the public http_port, unless 'port' is given."""
        if port is None:
            staff = path.split("?")[0] in self.STAFF_PATHS
            port = self.staff_port if staff else self.http_port
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def healthz(self):
        """(status, parsed JSON body) of the staff listener's /healthz."""
        status, _, body = self.http_get("/healthz", port=self.staff_port)
        return status, json.loads(body)

    def metrics(self):
        """Parses the staff listener's /metrics into {name{labels}: value}."""
        _, _, body = self.http_get("/metrics", port=self.staff_port)
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                key, _, val = line.rpartition(" ")
                out[key] = float(val)
        return out

    def metric(self, key):
        return self.metrics().get(key, 0.0)

    # -- publishing --------------------------------------------------------------------------------
    def publish(self, topic, payload, sig=None, key_of=None, qos=1):
        """Publishes with mosquitto_pub (MQTT v5), with a `sig` user property when given, or
        signed with the device key of 'key_of'."""
        if isinstance(payload, str):
            payload = payload.encode()
        if key_of is not None:
            sig = sign(device_key(self.master, key_of), topic, payload)
        argv = ["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", str(self.mqtt_port),
                "-q", str(qos), "-t", topic, "-s"]
        if sig is not None:
            argv += ["-D", "publish", "user-property", "sig", sig]
        subprocess.run(argv, input=payload, check=True, timeout=20)

    def run(self, argv, timeout=120, name=None):
        log = os.path.join(self.dir, (name or os.path.basename(argv[0])) + ".log")
        with open(log, "ab") as f:
            return subprocess.run(argv, stdout=subprocess.PIPE, stderr=f, timeout=timeout,
                                  check=False)

    def exe(self, *parts):
        return os.path.join(self.build, *parts)

    # -- processes ---------------------------------------------------------------------------------
    def _spawn(self, name, argv, log):
        f = open(log, "ab")
        self.procs[name] = (subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                             start_new_session=True), f)

    def spawn(self, name, argv):
        self._spawn(name, argv, os.path.join(self.dir, f"{name}.log"))
        return self.procs[name][0]

    def stop(self, name, sig=signal.SIGTERM, timeout=20):
        p, f = self.procs.pop(name, (None, None))
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        f.close()
        return p.returncode

    def log(self, name):
        path = os.path.join(self.dir, f"{name}.log")
        return open(path, errors="replace").read() if os.path.exists(path) else ""

    def close(self):
        for name in list(self.procs):
            self.stop(name, timeout=10)
        if os.environ.get("CT_KEEP_TMP"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
