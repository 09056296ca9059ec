#!/usr/bin/env python3
"""Hostile end-to-end: real Mosquitto, real InfluxDB and the collector, started once; then more
than 80 kinds of bad input through MQTT and a set of hostile HTTP requests.

For every bad MQTT message the test asserts what the system does: the counter of the expected
reason in /metrics (citytel_rejected_total{reason=...}, or citytel_values_dropped_total for a
value dropped alone), the quarantine line (reason and device) for a rejected message, and that a
valid "canary" message published right after it is accepted and stored (nothing lost, in
order). At the end every canary is in InfluxDB with its exact value, the collector is still
alive, and it exits 0 on SIGTERM. docs/hostile-input.md lists every case.

usage: test_hostile.py <build dir>   (CT_SOURCE_DIR names the source tree)"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
from harness import Stack, device_key, sign, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
PAYLOADS = os.path.join(SRC, "tests", "data", "payloads", "invalid")

T_ID = "hn-air-0001"
T_TOPIC = f"city/v1/air/{T_ID}/up"
CANARY = "hn-air-0900"
CANARY_TOPIC = f"city/v1/air/{CANARY}/up"
INJ_ID = "hn-air-0777"
INJ_DISTRICT = 'Quận "Ba, Đình"=1'
INJ_WARD = 'Phường Kim Mã, x=1 "q" \\ end'

REGISTRY = [
    {"id": T_ID, "kind": "air", "name": "Trạm Hàng Bông", "lat": 21.0305, "lon": 105.8470,
     "district": "Hoàn Kiếm", "ward": "Hàng Bông"},
    {"id": "hn-air-0002", "kind": "air", "name": "Trạm Kim Liên", "lat": 21.0070,
     "lon": 105.8330, "district": "Đống Đa", "ward": "Kim Liên"},
    {"id": CANARY, "kind": "air", "name": "Canary", "lat": 21.01, "lon": 105.81,
     "district": "Ba Đình", "ward": "Kim Mã"},
    {"id": "hn-water-0001", "kind": "water", "name": "Hồ Hoàn Kiếm", "lat": 21.0288,
     "lon": 105.8525, "district": "Hoàn Kiếm", "ward": "Hàng Trống"},
    {"id": "hn-park-0001", "kind": "parking", "name": "Bãi xe Đồng Xuân", "lat": 21.038,
     "lon": 105.849, "district": "Hoàn Kiếm", "ward": "Đồng Xuân", "mode": "lot",
     "capacity": 40},
    {"id": INJ_ID, "kind": "air", "name": 'Trạm "x", y=1\\', "lat": 21.02, "lon": 105.82,
     "district": INJ_DISTRICT, "ward": INJ_WARD},
]

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"FAIL - {what}")
    sys.stdout.flush()
    return cond


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Hostile:
    def __init__(self, st):
        self.st = st
        self.now = int(time.time() * 1000)
        self.seq = {T_ID: 0, CANARY: 0, "hn-water-0001": 0, "hn-park-0001": 0, INJ_ID: 0}
        self.canaries = {}  # ts -> pm25
        self.qpath = os.path.join(st.dir, "collector-quarantine.jsonl")
        self.qoff = 0
        self.accepted = 0

    # -- HTTP helpers (tolerate the collector's own rate limit) --------------------------------
    def get(self, path):
        # /healthz and /metrics are served by the staff listener.
        port = self.st.staff_port if path in ("/healthz", "/metrics") else self.st.http_port
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                            timeout=10) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                if e.code != 429:
                    return e.code, e.read()
            time.sleep(0.2)
        raise AssertionError(f"GET {path}: still 429")

    def metrics(self):
        status, body = self.get("/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                key, _, val = line.rpartition(" ")
                out[key] = float(val)
        return out

    @staticmethod
    def rej(m, reason):
        return m.get(f'citytel_rejected_total{{reason="{reason}"}}', 0.0)

    @staticmethod
    def drop(m, reason):
        return m.get(f'citytel_values_dropped_total{{reason="{reason}"}}', 0.0)

    # -- publishing ------------------------------------------------------------------------------
    def pub(self, topic, payload, sig=None, key_of=None, empty=False):
        if isinstance(payload, str):
            payload = payload.encode()
        if key_of is not None:
            sig = sign(device_key(self.st.master, key_of), topic, payload)
        argv = ["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", str(self.st.mqtt_port),
                "-q", "1", "-t", topic]
        argv += ["-n"] if empty else ["-s"]
        if sig is not None:
            argv += ["-D", "publish", "user-property", "sig", sig]
        subprocess.run(argv, input=b"" if empty else payload, check=True, timeout=20)

    def next_seq(self, dev):
        self.seq[dev] = self.seq.get(dev, 0) + 1
        return self.seq[dev]

    def air(self, dev=T_ID, seq=None, ts=None, m=None, boot=1):
        seq = self.next_seq(dev) if seq is None else seq
        # A distinct time per message: InfluxDB merges points of equal series and time.
        return compact({"v": 1, "id": dev, "boot": boot, "seq": seq,
                        "ts": self.now - 100000 + seq % 90000 if ts is None else ts,
                        "m": m if m is not None else {"pm25": 12.5, "pm10": 20.0}})

    def canary(self):
        seq = self.next_seq(CANARY)
        ts = self.now - 3000000 + seq  # unique, inside the window
        pm = round(seq * 0.5, 1)
        self.pub(CANARY_TOPIC, compact({"v": 1, "id": CANARY, "boot": 1, "seq": seq, "ts": ts,
                                        "m": {"pm25": pm}}), key_of=CANARY)
        self.canaries[ts] = pm
        return ts

    def new_quarantine_lines(self):
        try:
            with open(self.qpath, "rb") as f:
                f.seek(self.qoff)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.qoff += end
        return [json.loads(x) for x in data[:end].splitlines() if x.strip()]

    def case(self, name, send, reason, kind="reject", device=T_ID, count=1):
        """Sends one bad input, then a canary; asserts the counter of 'reason' grew by 'count',
        the quarantine got the line (rejections other than duplicate), and the canary landed.
        kind: "reject" (citytel_rejected_total), "drop" (citytel_values_dropped_total, the
        message stands), "accept" (no rejection expected, the message is accepted)."""
        before = self.metrics()
        send()
        self.canary()
        want_acc = self.accepted + 1 + (1 if kind in ("drop", "accept") else 0)
        try:
            after = wait_until(lambda: (lambda m: m if m.get(
                "citytel_messages_accepted_total", 0) >= want_acc else None)(self.metrics()),
                20, f"{name}: the canary accepted", interval=0.1)
        except AssertionError as e:
            check(False, f"{name}: {e}")
            self.accepted = int(self.metrics().get("citytel_messages_accepted_total", 0))
            return
        self.accepted = int(after.get("citytel_messages_accepted_total", 0))
        check(self.accepted == want_acc,
              f"{name}: exactly the expected messages accepted ({self.accepted} vs {want_acc})")
        if kind == "accept":
            return
        if kind == "drop":
            got = self.drop(after, reason) - self.drop(before, reason)
            check(got == count, f"{name}: values_dropped{{reason={reason}}} +{count} (got +{got})")
            return
        got = self.rej(after, reason) - self.rej(before, reason)
        others = {r: self.rej(after, r) - self.rej(before, r) for r in REASONS if r != reason}
        others = {r: d for r, d in others.items() if d}
        check(got == count and not others,
              f"{name}: rejected{{reason={reason}}} +{count} (got +{got}, others {others})")
        if reason == "duplicate":
            return
        lines = wait_until(lambda: self.new_quarantine_lines() or None, 10,
                           f"{name}: quarantine line")
        ok = len(lines) == count and all(q.get("reason") == reason for q in lines)
        if device is not None:
            ok = ok and all(q.get("device") == device for q in lines)
        check(ok, f"{name}: quarantined with reason {reason}"
              + (f" and device {device}" if device else "")
              + ("" if ok else f" (got {[(q.get('reason'), q.get('device')) for q in lines]})"))


REASONS = ["size", "topic", "unknown_device", "spoof", "no_sig", "bad_sig", "utf8", "json",
           "schema", "type", "range", "future", "too_old", "duplicate", "replay", "no_values",
           "overload"]


def mqtt_cases(h):
    st = h.st
    ok = h.air  # a well-formed payload of the target device

    # 1. Every refused payload of tests/data/payloads/invalid, signed: reason = file prefix.
    for f in sorted(os.listdir(PAYLOADS)):
        data = open(os.path.join(PAYLOADS, f), "rb").read()
        reason = f.split("-", 1)[0]
        empty = len(data) == 0
        # The size check comes first (before the topic is read): no device in the line.
        h.case(f"payload file {f}", lambda d=data, e=empty: h.pub(
            T_TOPIC, d, key_of=T_ID, empty=e), reason, device=None if reason == "size" else T_ID)

    # 2. Hand-made payloads (signed, on the target's topic).
    raw = [
        ("malformed JSON", b'{"v":1,"id":', "json"),
        ("truncated valid payload", ok()[:40], "json"),
        ("trailing garbage", ok() + b"}}garbage", "json"),
        ("duplicate key seq", b'{"v":1,"id":"%s","boot":1,"seq":5,"seq":6,"ts":%d,"m":{}}'
         % (T_ID.encode(), h.now), "json"),
        ("case-variant key ID", b'{"v":1,"ID":"%s","boot":1,"seq":5,"ts":%d,"m":{}}'
         % (T_ID.encode(), h.now), "schema"),
        ("seq 2^53+1", b'{"v":1,"id":"%s","boot":1,"seq":9007199254740993,"ts":%d,"m":{}}'
         % (T_ID.encode(), h.now), "json"),
        ("pm25 1e400", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{"pm25":1e400}}'
         % (T_ID.encode(), h.now), "json"),
        ("NaN token", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{"pm25":NaN}}'
         % (T_ID.encode(), h.now), "json"),
        ("Infinity token", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{"pm25":-Infinity}}'
         % (T_ID.encode(), h.now), "json"),
        ("negative seq", b'{"v":1,"id":"%s","boot":1,"seq":-1,"ts":%d,"m":{}}'
         % (T_ID.encode(), h.now), "schema"),
        ("fractional seq", b'{"v":1,"id":"%s","boot":1,"seq":1.5,"ts":%d,"m":{}}'
         % (T_ID.encode(), h.now), "schema"),
        ("invalid UTF-8 byte", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{},"x":"\xff"}'
         % (T_ID.encode(), h.now), "utf8"),
        ("overlong UTF-8 slash", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{"\xc0\xaf":1}}'
         % (T_ID.encode(), h.now), "utf8"),
        ("escaped NUL in id", b'{"v":1,"id":"hn-air-0001\\u0000","boot":1,"seq":5,"ts":%d,'
         b'"m":{}}' % h.now, "utf8"),
        ("string for boot", b'{"v":1,"id":"%s","boot":"1","seq":5,"ts":%d,"m":{}}'
         % (T_ID.encode(), h.now), "schema"),
        ("array for m", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":[1,2]}'
         % (T_ID.encode(), h.now), "schema"),
        ("nesting depth 50", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{"x":%s1%s}}'
         % (T_ID.encode(), h.now, b"[" * 50, b"]" * 50), "json"),
        ("payload of 4097 bytes", b"{" + b" " * 4095 + b"}", "size"),
        ("payload of 60 KB", b'{"v":1,"pad":"' + b"x" * 60000 + b'"}', "size"),
        ("wrong v", b'{"v":2,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{}}'
         % (T_ID.encode(), h.now), "schema"),
        ("unknown top-level member", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{},'
         b'"admin":true}' % (T_ID.encode(), h.now), "schema"),
        ("JSON array, not object", b'[1,2,3]', "schema"),
        ("bare string", b'"hello"', "schema"),
        ("lone surrogate escape", b'{"v":1,"id":"%s","boot":1,"seq":5,"ts":%d,"m":{},'
         b'"x":"\\ud800"}' % (T_ID.encode(), h.now), "utf8"),
    ]
    for name, payload, reason in raw:
        h.case(name, lambda p=payload: h.pub(T_TOPIC, p, key_of=T_ID), reason,
               device=None if reason == "size" else T_ID)
    h.case("empty payload (MQTT null message)", lambda: h.pub(T_TOPIC, b"", key_of=T_ID,
                                                              empty=True), "size", device=None)

    # 3. Topics and devices.
    h.case("topic kind spoof (air device on a water topic)",
           lambda: h.pub(f"city/v1/water/{T_ID}/up", ok(), key_of=T_ID), "spoof")
    h.case("payload id spoof (id of another device)",
           lambda: h.pub("city/v1/air/hn-air-0002/up", ok(dev=T_ID), key_of="hn-air-0002"),
           "spoof", device="hn-air-0002")
    h.case("topic id with uppercase",
           lambda: h.pub("city/v1/air/HN-AIR-0001/up", ok(), key_of=T_ID), "topic", device=None)
    long_id = "a" * 65
    h.case("topic id of 65 chars",
           lambda: h.pub(f"city/v1/air/{long_id}/up", ok(dev=long_id), key_of=long_id),
           "topic", device=None)
    h.case("unknown device",
           lambda: h.pub("city/v1/air/hn-air-9999/up", ok(dev="hn-air-9999"),
                         key_of="hn-air-9999"), "unknown_device", device="hn-air-9999")
    h.case("unknown kind in topic",
           lambda: h.pub(f"city/v1/fire/{T_ID}/up", ok(), key_of=T_ID), "topic", device=None)

    # 4. Signatures.
    h.case("forged signature", lambda: h.pub(T_TOPIC, ok(), sig="0" * 64), "bad_sig")
    h.case("signature of another device's key",
           lambda: h.pub(T_TOPIC, ok(), key_of="hn-air-0002"), "bad_sig")

    def truncated():
        p = ok()
        h.pub(T_TOPIC, p, sig=sign(device_key(st.master, T_ID), T_TOPIC, p)[:32])
    h.case("truncated signature", truncated, "bad_sig")

    def upper():
        p = ok()
        h.pub(T_TOPIC, p, sig=sign(device_key(st.master, T_ID), T_TOPIC, p).upper())
    h.case("uppercase-hex signature", upper, "bad_sig")

    def other_payload():
        p = ok()
        h.pub(T_TOPIC, p, sig=sign(device_key(st.master, T_ID), T_TOPIC, p + b" "))
    h.case("signature of different bytes", other_payload, "bad_sig")
    h.case("missing signature", lambda: h.pub(T_TOPIC, ok()), "no_sig")

    # 5. Validation: window, replay, duplicate, ranges.
    h.case("ts 10 minutes in the future",
           lambda: h.pub(T_TOPIC, ok(ts=h.now + 600000), key_of=T_ID), "future")
    h.case("ts 8 days old",
           lambda: h.pub(T_TOPIC, ok(ts=h.now - 8 * 86400000), key_of=T_ID), "too_old")
    good = ok(seq=5000, ts=h.now - 1000)
    h.seq[T_ID] = 5000
    h.case("a valid message of the target (seq 5000)",
           lambda: h.pub(T_TOPIC, good, key_of=T_ID), None, kind="accept")
    h.case("duplicate (same boot, seq resent)",
           lambda: h.pub(T_TOPIC, good, key_of=T_ID), "duplicate")
    h.case("replay older than the window (seq 100 after 5000)",
           lambda: h.pub(T_TOPIC, ok(seq=100), key_of=T_ID), "replay")
    h.case("pm25 3000 with a valid pm10 (value dropped)",
           lambda: h.pub(T_TOPIC, ok(m={"pm25": 3000, "pm10": 30.0}), key_of=T_ID),
           "range", kind="drop")
    h.case("only value out of range (message rejected)",
           lambda: h.pub(T_TOPIC, ok(m={"pm25": 3000}), key_of=T_ID), "range")
    h.case("string where a number belongs (m.pm25 \"41\")",
           lambda: h.pub(T_TOPIC, ok(m={"pm25": "41", "pm10": 30.0}), key_of=T_ID),
           "type", kind="drop")
    h.case("negative pm10", lambda: h.pub(T_TOPIC, ok(m={"pm10": -1, "pm25": 5.0}),
                                          key_of=T_ID), "range", kind="drop")
    wt = "city/v1/water/hn-water-0001/up"
    h.case("water ph 15",
           lambda: h.pub(wt, compact({"v": 1, "id": "hn-water-0001", "boot": 1,
                                      "seq": h.next_seq("hn-water-0001"), "ts": h.now,
                                      "m": {"ph": 15, "do": 7.5}}), key_of="hn-water-0001"),
           "range", kind="drop")
    pt = "city/v1/parking/hn-park-0001/up"
    h.case("parking occupied 50 > capacity 40",
           lambda: h.pub(pt, compact({"v": 1, "id": "hn-park-0001", "boot": 1,
                                      "seq": h.next_seq("hn-park-0001"), "ts": h.now,
                                      "m": {"capacity": 40, "occupied": 50}}),
                         key_of="hn-park-0001"), "range", kind="drop")
    h.case("status with a bad state",
           lambda: h.pub(f"city/v1/air/{T_ID}/status",
                         compact({"v": 1, "id": T_ID, "state": "exploded"}), key_of=T_ID),
           "schema")

    # 6. A burst of 1000 signed garbage messages, then one valid message: it must land.
    garbage = b'{"v":1,"id":"hn-air-0001","boot":'
    gsig = sign(device_key(st.master, T_ID), T_TOPIC, garbage)

    def burst():
        argv = ["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", str(st.mqtt_port), "-q",
                "1", "-t", T_TOPIC, "-l", "-D", "publish", "user-property", "sig", gsig]
        subprocess.run(argv, input=(garbage + b"\n") * 1000, check=True, timeout=60)
    h.case("burst of 1000 garbage messages", burst, "json", count=1000)


def injection_case(h):
    """Line-protocol injection through registry values: the point lands with the exact tags."""
    st = h.st
    seq = h.next_seq(INJ_ID)
    ts = h.now - 5000
    h.case("line-protocol injection through district/ward names",
           lambda: h.pub(f"city/v1/air/{INJ_ID}/up",
                         compact({"v": 1, "id": INJ_ID, "boot": 1, "seq": seq, "ts": ts,
                                  "m": {"pm25": 33.5}}), key_of=INJ_ID), None, kind="accept")
    rows = wait_until(lambda: st.query(
        f"SELECT * FROM \"air\" WHERE \"device\" = '{INJ_ID}'") or None, 30,
        "the injection device's point")
    check(len(rows) == 1, f"injection: exactly one point stored ({len(rows)})")
    r = rows[0] if rows else {}
    check(r.get("district") == INJ_DISTRICT,
          f"injection: district tag exact ({r.get('district')!r})")
    check(r.get("ward") == INJ_WARD, f"injection: ward tag exact ({r.get('ward')!r})")
    check(r.get("pm25") == 33.5 and r.get("time") == ts, "injection: value and time exact")
    extra = [k for k, v in r.items() if v is not None and k not in (
        "time", "device", "district", "ward", "pm25")]
    check(extra == [], f"injection: nothing else injected (extra columns {extra})")
    keys = st.query('SHOW TAG KEYS FROM "air"')
    tags = sorted(k.get("tagKey") for k in keys)
    check(tags == ["device", "district", "ward"], f"injection: only the three tag keys ({tags})")
    ms = sorted(x.get("name") for x in st.query("SHOW MEASUREMENTS"))
    check(all(m in ("air", "air_1m", "water", "parking", "rejected") or m.startswith(
        ("air_", "water_", "parking_")) for m in ms), f"injection: no foreign measurement ({ms})")


# -- HTTP --------------------------------------------------------------------------------------
LEAKS = ("/tmp", "/work", "/var/", "influx", "Traceback", "stack", ".c:", "citytel-", "errno",
         "0x")


def raw_http(port, data, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                cl = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(
                    b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
        return out
    finally:
        s.close()


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def no_leak(resp, what):
    body = resp.partition(b"\r\n\r\n")[2].decode(errors="replace")
    bad = [w for w in LEAKS if w.lower() in body.lower()]
    check(not bad, f"{what}: the error body has no internal detail ({body[:60]!r})")


def http_cases(h):
    port = h.st.http_port
    r = raw_http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
                 b"\r\n\r\n")
    check(status_of(r) == 431, f"oversized headers: 431 ({status_of(r)})")
    no_leak(r, "431")
    r = raw_http(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                 b"x" * 100)
    check(status_of(r) == 413, f"oversized body (Content-Length): 413 ({status_of(r)})")
    no_leak(r, "413")
    for path in (b"/../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/layers/../../etc/passwd",
                 b"/map/..%2f..%2fetc/passwd", b"/layers/%00.geojson"):
        r = raw_http(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        st = status_of(r)
        check(st in (400, 404) and b"root:" not in r, f"traversal {path.decode()}: {st}")
        no_leak(r, f"traversal {path.decode()}")
    r = raw_http(port, b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status_of(r) in (400, 405, 501), f"bad method BREW: 4xx/501 ({status_of(r)})")
    no_leak(r, "bad method")
    r = raw_http(port, b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status_of(r) in (404, 405), f"DELETE /metrics: 404/405 ({status_of(r)})")
    no_leak(r, "DELETE")
    r = raw_http(port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status_of(r) == 404, f"unknown path: 404 ({status_of(r)})")
    no_leak(r, "404")
    r = raw_http(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    check(status_of(r) in (None, 400), f"TLS hello / garbage: 400 or closed ({status_of(r)})")
    if r:
        no_leak(r, "garbage")

    # Slowloris: one byte per second; the server closes within its request timeout (2 s).
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 30 + b"\r\n\r\n"
    t0 = time.time()
    closed_at = None
    for i in range(len(req)):
        try:
            s.sendall(req[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.time()
            break
        s.settimeout(1.0)
        try:
            b = s.recv(4096)
            if not b or b.startswith(b"HTTP/1.1 408") or b.startswith(b"HTTP/1.1"):
                closed_at = time.time()
                break
        except socket.timeout:
            pass
        if time.time() - t0 > 15:
            break
    s.close()
    took = None if closed_at is None else round(closed_at - t0, 1)
    check(closed_at is not None and 1.5 <= closed_at - t0 < 6,
          f"slowloris: closed after the 2 s timeout ({took} s)")

    # 200 requests in about a second from one client: 429 appears (rate 50/s, burst 100).
    codes = []
    t0 = time.time()
    for _ in range(200):
        r = raw_http(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        codes.append(status_of(r))
    dt = time.time() - t0
    n429 = codes.count(429)
    check(n429 > 0, f"200 requests in {dt:.1f} s: {n429} answered 429")
    r429 = raw_http(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    if status_of(r429) == 429:
        check(b"retry-after:" in r429.lower(), "429 carries Retry-After")
        no_leak(r429, "429")
    time.sleep(2.5)  # let the bucket refill for what follows


def main():
    st = Stack("hostile", BUILD, SRC)
    h = Hostile(st)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(REGISTRY)
        st.write_master_key()
        st.start_collector(extra={
            "http": {"timeout_ms": 2000, "rate_per_client": 50, "max_request_bytes": 8192},
            "log": {"level": "info"}})
        proc = st.procs["collector"][0]
        wait_until(lambda: h.get("/healthz")[0] == 200, 20, "/healthz 200")
        wait_until(lambda: b'"mqtt_connected":true' in h.get("/healthz")[1], 20, "MQTT connected")

        t0 = time.time()
        mqtt_cases(h)
        injection_case(h)
        print(f"# MQTT cases took {time.time() - t0:.1f} s")

        # Every canary is stored, with its exact value (nothing lost after any bad input).
        want = dict(h.canaries)
        rows = wait_until(lambda: (lambda r: r if len(r) >= len(want) else None)(st.query(
            f"SELECT pm25 FROM \"air\" WHERE \"device\" = '{CANARY}'")), 30,
            f"{len(want)} canary points", interval=0.5)
        got = {r["time"]: r["pm25"] for r in rows}
        check(got == want, f"all {len(want)} canaries stored exactly ({len(got)} stored)")
        tgt = st.query(f"SELECT * FROM \"air\" WHERE \"device\" = '{T_ID}'")
        check(len(tgt) == 4, f"the target device has exactly its 4 accepted points ({len(tgt)})")
        def rejected_points():
            q = st.query('SELECT sum("count") AS n FROM "rejected" GROUP BY "reason"')
            got = {r["reason"]: r["n"] for r in q}
            return got if got.get("json", 0) >= 1000 and got.get("bad_sig", 0) >= 5 else None
        try:
            got_rej = wait_until(rejected_points, 30, "rejected points", interval=0.5)
            check(True, f"rejections written as `rejected` points ({got_rej})")
        except AssertionError as e:
            check(False, f"rejections written as `rejected` points: {e}")

        # The operators are told, in the log, at most once per 10 s: a summary per reason.
        def summary_lines():
            lines = [ln for ln in st.log("collector").splitlines()
                     if "rejected" in ln and "message(s) in the last" in ln]
            return lines if any("bad_sig" in ln for ln in lines) else None
        try:
            lines = wait_until(summary_lines, 25, "a rejection summary in the log", interval=0.5)
            check(any("json" in ln for ln in lines) and "quarantined" in lines[0],
                  f"the log summarises the rejections by reason ({lines[0][:160]})")
            check(len(lines) <= 2 + int((time.time() - t0) / 10),
                  f"rejection summaries are rate-limited ({len(lines)} lines)")
        except AssertionError as e:
            check(False, f"rejection summary in the log: {e}")

        http_cases(h)
        check(proc.poll() is None, "the collector is still running after every hostile input")
        check(h.get("/healthz")[0] == 200, "/healthz still answers 200")
        check(st.stop("collector") == 0, "the collector exits 0 on SIGTERM")
    finally:
        if failed:
            print(f"--- collector log ---\n{st.log('collector')[-4000:]}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
