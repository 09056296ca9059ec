"""durlib.py - helpers shared by test_durability.py and test_faults.py (standard library only).

A fleet registry of many devices, the dur-pub publisher (its acknowledged readings), InfluxDB
restarted on the same port, the stored points of a database, and the spool's segment format
(docs/spool.md) for damaging a segment on purpose."""
import json
import os
import struct
import subprocess
import zlib

from harness import wait_until

DISTRICTS = [("Hoàn Kiếm", "Hàng Bông"), ("Đống Đa", "Kim Liên"), ("Ba Đình", "Điện Biên"),
             ("Cầu Giấy", "Dịch Vọng"), ("Hai Bà Trưng", "Bách Khoa")]


def fleet_registry(n_air, n_water, first=1, interval_s=None):
    """Registry lines for n_air air and n_water water devices numbered from 'first', in
    publishing order; with interval_s, each device's expected reporting interval (liveness)."""
    out = []
    for kind, n in (("air", n_air), ("water", n_water)):
        for i in range(first, first + n):
            district, ward = DISTRICTS[i % len(DISTRICTS)]
            dev = {"id": f"hn-{kind}-{i:04d}", "kind": kind, "name": f"Trạm {kind} {i}",
                   "lat": 21.0 + i / 1000.0, "lon": 105.8 + i / 1000.0,
                   "district": district, "ward": ward}
            if interval_s is not None:
                dev["interval_s"] = interval_s
            out.append(dev)
    return out


def registry_tail(st, first, name):
    """A registry file with the devices of st.registry from index 'first' on: a second publisher
    uses it so that two publishers never share a device (each device's (boot, seq) must only
    grow: two boots interleaved on one device are replays by the contract)."""
    path = os.path.join(st.dir, f"{name}.registry.jsonl")
    with open(st.registry) as f:
        lines = [ln for ln in f if ln.strip()]
    with open(path, "w") as f:
        f.writelines(lines[first:])
    return path


class Publisher:
    """One dur-pub process: count readings at rate msg/s; every acknowledged reading is a line
    '<device> <boot> <seq> <ts>' of the acked file."""

    def __init__(self, st, name, count, rate, devices, boot, registry=None, extra=None):
        self.st = st
        self.name = name
        self.count = count
        self.acked_file = os.path.join(st.dir, f"{name}.acked")
        self.out_file = os.path.join(st.dir, f"{name}.out")
        argv = [st.exe("tests", "e2e", "tools", "dur-pub"),
                "--broker", f"tcp://127.0.0.1:{st.mqtt_port}", "--registry", registry or st.registry,
                "--master-key-file", st.master_key_file, "--count", str(count),
                "--rate", str(rate), "--devices", str(devices), "--boot", str(boot),
                "--client-id", f"dur-pub-{name}", "--acked-file", self.acked_file,
                "--timeout-s", "300"] + (extra or [])
        self.out = open(self.out_file, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.out,
                                     stderr=open(os.path.join(st.dir, f"{name}.log"), "ab"),
                                     start_new_session=True)
        st.procs[name] = (self.proc, self.out)

    def acked(self):
        """The set of acknowledged readings as (device, ts)."""
        out = set()
        if os.path.exists(self.acked_file):
            with open(self.acked_file) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 4:
                        out.add((parts[0], int(parts[3])))
        return out

    def wait(self, timeout):
        """Waits for the exit; returns (exit code, summary line)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.st.stop(self.name)
            return None, "timed out"
        self.st.stop(self.name)
        with open(self.out_file) as f:
            return rc, f.read().strip()


def start_influxdb_on(st, port):
    """Starts InfluxDB again with the stack's data folder, on 'port' (the port it had)."""
    st.start_influxdb(port)


def stored(st, db, measurements=("air", "water")):
    """The points of 'db' as a set of (device, time ms), and their number (rows)."""
    keep = st.db
    st.db = db
    try:
        out, rows = set(), 0
        for m in measurements:
            for r in st.query(f'SELECT * FROM "{m}" GROUP BY "device"'):
                out.add((r["device"], r["time"]))
                rows += 1
        return out, rows
    finally:
        st.db = keep


def wait_stored(st, db, want, timeout):
    """Waits until the stored set of 'db' holds as many points as 'want'; returns the set."""
    got = [set()]

    def enough():
        got[0], _ = stored(st, db)
        return len(got[0]) >= len(want)
    try:
        wait_until(enough, timeout, f"{len(want)} points in {db}", interval=1.0)
    except AssertionError:
        pass
    return got[0]


def stored_rows(st, db, measurements=("air", "water")):
    """The number of rows of 'db' (a point written twice under different tags counts twice)."""
    return stored(st, db, measurements)[1]


def describe_diff(acked, got):
    missing = sorted(acked - got)
    extra = sorted(got - acked)
    return (f"acked={len(acked)} stored={len(got)} missing={len(missing)} {missing[:5]} "
            f"extra={len(extra)} {extra[:5]}")


# -- the issue-12 durability tests (test_dur_*.py) -----------------------------------------------
# Shorter retry caps than the defaults, so that the drain starts within seconds of the store's
# return.
FAST_SINK = {"flush_ms": 200, "retry_base_ms": 200, "retry_max_ms": 2000, "timeout_ms": 5000,
             "connect_timeout_ms": 1000}


class Checks:
    """ok/FAIL lines, '# figure:' lines and the exit status of one test script."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        print(("ok - " if cond else "FAIL - ") + what, flush=True)
        return cond

    def figure(self, text):
        print(f"# figure: {text}", flush=True)

    def done(self, t0):
        import time
        print(f"{self.passed} passed, {self.failed} failed ({time.time() - t0:.0f} s)", flush=True)
        return 1 if self.failed else 0


def start_dur_collector(st, name, db, extra=None, wait_subscribed=True):
    """A collector 'name' (instance, MQTT client id, spool and quarantine named after it) writing
    to database 'db' with FAST_SINK and 10 s aggregation windows; 'extra' overrides groups.
    Restarting with the same name reuses the spool and the MQTT session. Returns the port of its
    staff listener (/healthz, /metrics)."""
    cfg = {"influx": dict(FAST_SINK, db=db), "mqtt": {"client_id": f"citytel-{name}"},
           "collector": {"instance": name}, "aggregate": {"window_s": 10}}
    for group, kv in (extra or {}).items():
        cfg.setdefault(group, {}).update(kv)
    st.start_collector(extra=cfg, name=name, instance=name)
    port = st.staff_port
    if wait_subscribed:
        wait_until(lambda: b'"mqtt_connected":true' in timed_get(st, port, "/healthz", 5)[1],
                   30, f"{name} subscribed")
    return port


def timed_get(st, port, path, timeout):
    """GET with a hard timeout: (status or None when no answer in time, body, seconds)."""
    import time
    import urllib.error
    import urllib.request
    t0 = time.time()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read(), time.time() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.time() - t0
    except OSError:
        return None, b"", time.time() - t0


def metrics_of(st, port, timeout=5):
    """/metrics of the collector on 'port' as {name{labels}: value}; {} when it does not answer."""
    code, body, _ = timed_get(st, port, "/metrics", timeout)
    out = {}
    if code != 200:
        return out
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def assert_exact(ck, st, what, acked, db, timeout):
    """Checks that the stored points of 'db' are exactly 'acked' (by device and time), none
    lost, none extra, and no point stored twice (rows == distinct points)."""
    got = wait_stored(st, db, acked, timeout)
    got, rows = stored(st, db)
    ck.check(got == acked, f"{what}: acknowledged == stored, by device and time "
                           f"({describe_diff(acked, got)})")
    ck.check(rows == len(got), f"{what}: no point stored twice ({rows} rows, {len(got)} "
                               "distinct)")
    return got


# -- the spool's segment format (docs/spool.md) ------------------------------------------------
SEG_HDR = 40
REC_HDR = 32
REC_MAGIC = bytes([0xC7, 0x5E, 0x52, 0x31])


def segments(spool_dir):
    return sorted(os.path.join(spool_dir, n) for n in os.listdir(spool_dir)
                  if n.startswith("spool-") and n.endswith(".seg"))


def records(path):
    """The valid records of a segment: list of (offset, seq, data)."""
    with open(path, "rb") as f:
        buf = f.read()
    out, off = [], SEG_HDR
    while off + REC_HDR <= len(buf):
        magic, crc, length, flags, seq, _ = struct.unpack_from("<4sIIIQQ", buf, off)
        end = off + REC_HDR + length
        if magic != REC_MAGIC or flags != 0 or end > len(buf):
            break
        data = buf[off + REC_HDR:end]
        if zlib.crc32(data + buf[off + 8:off + REC_HDR]) & 0xFFFFFFFF != crc:
            break
        out.append((off, seq, data))
        off = end
    return out


def record_reading(data):
    """(device, ts) of the reading in a collector message record (col_msg.h layout:
    u32 magic, i64 recv_ms, u16 topic_len, u8 sig_len, u8 flags, u32 payload_len, then topic,
    sig, payload)."""
    _, _, tlen, slen, _, plen = struct.unpack_from("<IqHBBI", data, 0)
    payload = data[20 + tlen + slen:20 + tlen + slen + plen]
    msg = json.loads(payload)
    return msg["id"], msg["ts"]
