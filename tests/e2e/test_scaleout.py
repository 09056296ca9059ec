#!/usr/bin/env python3
"""End-to-end scale-out: three collectors in one MQTT v5 shared subscription on the real
Mosquitto, the real InfluxDB, and fleet-sim publishing signed air readings from many devices.

Asserts: every reading the publishers had acknowledged is stored exactly once (the count of raw
points equals fleet-sim's acked count, and no device has a gap or an extra point; no two readings of a
device in the collectors' journals share a timestamp, which InfluxDB would merge into one
point); every collector accepted part of the load; one collector is SIGKILLed during the load and restarted
(same client id, persistent session, same spool) and nothing is lost; the window aggregates
(air_agg_10s, tag `collector`) merge across collectors to the exact raw totals: sum of pm25_sum and of
pm25_count equal the raw sum and count, in total and per window. Roles: a "layers" collector
serves /layers/air.geojson from the store with no MQTT connection and no spool; an "ingest"
collector serves /healthz and /metrics and answers 404 for /layers/air.geojson."""
import json
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, wait_until  # noqa: E402
from durlib import records, segments  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

NDEV = 200
PER_NODE = 100
COLLECTORS = ["s1", "s2", "s3"]
WINDOW_S = 10
GROUP = "citytel"

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL - {what}", flush=True)


def registry():
    out = []
    for i in range(NDEV):
        out.append({"id": f"hn-air-s{i:03d}", "kind": "air", "name": f"Trạm thử {i:03d}",
                    "lat": 20.98 + (i % 12) * 0.006, "lon": 105.78 + (i // 12) * 0.008,
                    "district": ["Ba Đình", "Hoàn Kiếm", "Cầu Giấy", "Đống Đa"][i % 4],
                    "ward": f"Phường {i % 7}"})
    return out


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def metrics(port):
    status, body = get(port, "/metrics")
    out = {}
    if status != 200:
        return out
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def same_time_readings(st):
    """Readings of one device with equal ts and different (boot, seq) in the collectors' journals:
    InfluxDB keeps one point of each such pair (docs/protocol.md). Only what the spools still
    hold is seen."""
    by = {}
    for name in COLLECTORS:
        spool = os.path.join(st.dir, f"{name}-spool")
        for seg in segments(spool) if os.path.isdir(spool) else []:
            for _, _, data in records(seg):
                _, _, tlen, slen, _, plen = struct.unpack_from("<IqHBBI", data, 0)
                try:
                    m = json.loads(data[20 + tlen + slen:20 + tlen + slen + plen])
                except ValueError:
                    continue
                if isinstance(m, dict) and "ts" in m and "seq" in m:
                    key = (m.get("id"), m["ts"])
                    by.setdefault(key, set()).add((m.get("boot"), m["seq"], name))
    return {k: sorted(v) for k, v in by.items() if len({(b, q) for b, q, _ in v}) > 1}


def main():
    os.environ.pop("CITYTEL_MASTER_KEY", None)
    st = Stack("scaleout", BUILD, SRC)
    ports = {}  # public listeners (layers)
    staff = {}  # staff listeners (/healthz, /metrics)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(registry())
        st.write_master_key()

        def start(name, extra=None, wait_mqtt=True):
            cfg = {"mqtt": {"share_group": GROUP}, "aggregate": {"window_s": WINDOW_S}}
            for g, kv in (extra or {}).items():
                cfg.setdefault(g, {}).update(kv)
            st.start_collector(extra=cfg, name=name, instance=name)
            ports[name] = st.http_port
            staff[name] = st.staff_port
            if wait_mqtt:
                wait_until(lambda: metrics(staff[name]).get("citytel_mqtt_connected") == 1, 30,
                           f"{name} connected")

        for name in COLLECTORS:
            start(name)
        t0 = int(time.time() * 1000)

        out_path = os.path.join(st.dir, "fleet.out")
        fleet_argv = [st.exe("simulations", "fleet", "fleet-sim"), "--registry", st.registry,
                      "--broker", f"tcp://127.0.0.1:{st.mqtt_port}", "--master-key-file",
                      st.master_key_file, "--kinds", "air", "--mode", "shared",
                      "--connections", "4", "--interval-ms", "100", "--count-per-node",
                      str(PER_NODE), "--rate", "40", "--state-dir",
                      os.path.join(st.dir, "fleet-state"), "--print-stats"]
        out = open(out_path, "wb")
        fleet = subprocess.Popen(fleet_argv, stdout=out,
                                 stderr=open(os.path.join(st.dir, "fleet.log"), "wb"),
                                 start_new_session=True)
        try:
            # Kill s2 in the middle of the load, then bring it back on the same session and spool.
            wait_until(lambda: metrics(staff["s2"]).get("citytel_messages_accepted_total", 0)
                       >= 300, 60, "s2 has taken part of the load", interval=0.2)
            s2_before = metrics(staff["s2"]).get("citytel_messages_accepted_total", 0)
            st.stop("s2", sig=signal.SIGKILL)
            check(fleet.poll() is None, "s2 was SIGKILLed while the load was running")
            time.sleep(2.0)
            start("s2")
            rc = fleet.wait(150)
        finally:
            if fleet.poll() is None:
                fleet.kill()
                fleet.wait()
            out.close()
        summary = open(out_path).read().strip()
        acked = int(summary.rpartition("acked=")[2]) if "acked=" in summary else -1
        check(rc == 0 and acked >= NDEV * PER_NODE,
              f"fleet-sim had every node's {PER_NODE} readings acked ({summary!r}, exit {rc})")

        def raw_count():
            r = st.query(f'SELECT count("pm25") AS n FROM "air" WHERE time >= {t0 - 60000}ms')
            return int(r[0]["n"]) if r else 0
        try:
            wait_until(lambda: raw_count() >= acked, 90, "all raw points stored", interval=1.0)
        except AssertionError:
            pass
        time.sleep(2.0)
        n = raw_count()
        check(n == acked, f"raw points in InfluxDB = readings acked by the publishers "
                          f"({n} vs {acked}), with one collector SIGKILLed and restarted")
        clashes = same_time_readings(st)
        check(not clashes, f"no two readings of a device share a timestamp "
                           f"({len(clashes)}: {list(clashes.items())[:3]})")
        per_dev = st.query(f'SELECT count("pm25") AS n FROM "air" WHERE time >= {t0 - 60000}ms '
                           'GROUP BY "device"')
        counts = {r["device"]: int(r["n"]) for r in per_dev}
        check(len(counts) == NDEV and min(counts.values()) >= PER_NODE,
              f"every one of the {NDEV} devices has all its readings "
              f"(min {min(counts.values()) if counts else 0})")

        accepted = {name: metrics(staff[name]).get("citytel_messages_accepted_total", 0)
                    for name in COLLECTORS}
        accepted["s2 before the kill"] = s2_before
        check(all(v > 0 for v in accepted.values()),
              f"each collector accepted part of the load ({accepted})")

        # Window aggregates (docs/derived.md section 4): with aggregate.window_s 10 each
        # collector writes air_agg_10s points tagged with its instance, once a window is older than
        # its end plus the grace (2 windows). Sum of sums and of counts over collectors and parts
        # must equal the raw totals.
        m = f"air_agg_{WINDOW_S}s"
        raw = st.query(f'SELECT sum("pm25") AS s, count("pm25") AS n FROM "air" '
                       f'WHERE time >= {t0 - 60000}ms')[0]

        def merged():
            r = st.query(f'SELECT sum("pm25_sum") AS s, sum("pm25_count") AS n FROM "{m}" '
                         f'WHERE time >= {t0 - 120000}ms')
            return r[0] if r else {"s": 0.0, "n": 0}
        try:
            wait_until(lambda: merged()["n"] >= raw["n"], 3 * WINDOW_S + 40,
                       f"every {m} window written", interval=1.0)
        except AssertionError:
            pass
        got = merged()
        check(got["n"] == raw["n"] and abs(got["s"] - raw["s"]) <= 1e-9 * max(1.0, raw["s"]),
              f"{m}: sum of pm25_sum and of pm25_count over collectors equal the raw totals "
              f"(sum {got['s']} vs {raw['s']}, count {got['n']} vs {raw['n']})")
        by_col = {r["collector"]: int(r["n"]) for r in st.query(
            f'SELECT sum("pm25_count") AS n FROM "{m}" WHERE time >= {t0 - 120000}ms '
            'GROUP BY "collector"')}
        check(set(by_col) == set(COLLECTORS) and all(v > 0 for v in by_col.values()),
              f"{m}: every collector wrote partial windows ({by_col})")
        wins = st.query(f'SELECT sum("pm25_sum") AS s, sum("pm25_count") AS n FROM "{m}" '
                        f'WHERE time >= {t0 - 120000}ms GROUP BY time({WINDOW_S}s) fill(none)')
        raws = {r["time"]: r for r in st.query(
            f'SELECT sum("pm25") AS s, count("pm25") AS n FROM "air" WHERE time >= '
            f'{t0 - 120000}ms GROUP BY time({WINDOW_S}s) fill(none)')}
        bad = [(w["time"], w["n"], raws.get(w["time"], {}).get("n")) for w in wins
               if raws.get(w["time"], {}).get("n") != w["n"]
               or abs(raws[w["time"]]["s"] - w["s"]) > 1e-9 * max(1.0, abs(w["s"]))]
        check(wins and not bad, f"{m}: each window merged over collectors equals its raw points "
                                f"({len(wins)} windows, mismatches {bad[:5]})")

        for name in COLLECTORS:
            check(st.stop(name) == 0, f"{name} stops cleanly")

        # Roles. layers: the map from the store, no MQTT, no spool.
        lay_spool = os.path.join(st.dir, "lay-spool")
        start("lay", {"collector": {"role": "layers"}, "layers": {"refresh_ms": 1000}},
              wait_mqtt=False)
        m = metrics(staff["lay"])
        check(m.get("citytel_mqtt_connected", -1) == 0,
              f"role layers: citytel_mqtt_connected 0 ({m.get('citytel_mqtt_connected')})")
        check(not any(k.startswith("citytel_spool_") for k in m) and not os.path.exists(lay_spool),
              "role layers: no spool (no spool metrics, no spool directory)")
        time.sleep(1.5)
        mlog = open(os.path.join(st.dir, "mosquitto", "mosquitto.log")).read()
        check("citytel-lay" not in mlog, "role layers: no MQTT client connected to the broker")

        def layer():
            status, body = get(ports["lay"], "/layers/air.geojson")
            if status != 200:
                return None
            doc = json.loads(body)
            feats = [f for f in doc.get("features", []) if f.get("properties")]
            return doc if len(feats) == NDEV else None
        try:
            doc = wait_until(layer, 30, "the air layer with every station", interval=0.5)
        except AssertionError:
            doc = None
        status, body = get(ports["lay"], "/layers/air.geojson")
        check(status == 200 and doc is not None and doc.get("type") == "FeatureCollection",
              f"role layers: /layers/air.geojson is a FeatureCollection of the {NDEV} stations "
              f"(HTTP {status}, {len(json.loads(body).get('features', [])) if status == 200 else 0}"
              " features)")
        text = body.decode("utf-8", "replace")
        props = {k for f in (doc or {}).get("features", []) for k in f.get("properties", {})}
        check("Trạm thử" in text and not props & {"sig", "payload", "key", "boot", "seq"},
              f"role layers: the layer holds the stations' public names and no signature, "
              f"payload or counters (properties {sorted(props)})")
        check(st.stop("lay") == 0, "the layers collector stops cleanly")

        # ingest: health and metrics, no public layers.
        start("ing", {"collector": {"role": "ingest"}})
        check(get(staff["ing"], "/healthz")[0] == 200, "role ingest: /healthz 200")
        check(get(staff["ing"], "/metrics")[0] == 200, "role ingest: /metrics 200")
        check(get(ports["ing"], "/layers/air.geojson")[0] == 404,
              "role ingest: /layers/air.geojson 404")
        check(st.stop("ing") == 0, "the ingest collector stops cleanly")
    finally:
        if failed:
            for name in COLLECTORS + ["lay", "ing", "fleet"]:
                print(f"--- {name} log ---\n{st.log(name)[-2500:]}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
