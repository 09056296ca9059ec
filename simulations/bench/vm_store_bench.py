#!/usr/bin/env python3
"""vm_store_bench.py - what one citytel reading costs VictoriaMetrics (Debian's victoria-metrics,
single node): bytes per stored sample on disk, and line-protocol samples/s with VM's CPU per
sample, for the sizing in docs/deployment.md section 5.

    python3 simulations/bench/vm_store_bench.py [--stations 300] [--hours 24]
    python3 simulations/bench/vm_store_bench.py --derived [--build DIR]

Writes the raw air points the collector writes (measurement air, tags device/district/ward, 8
float fields with one decimal, a random walk per station, one reading a minute with up to 0.5 s
of clock jitter, ms precision) through /write in batches of 10 000 lines, 4 in parallel, then
flushes, merges and reads VM's own counters: vm_data_size_bytes and vm_rows (storage/*).
VM is started by tests/e2e/harness.py in a temporary folder on a free loopback port. Standard
library only; it prints figures, it does not pass or fail them.

--derived runs the collector (store.kind victoriametrics) with Mosquitto instead: one station of
each kind air, water, rain, flood publishes 90 readings one minute apart (a backlog ending 30 min
ago, so the hours and windows close), and the script counts the samples VM holds per
measurement: raw samples per reading and derived samples per reading, with aggregate.window_s
--window-s (default 60, the collector's default)."""
import argparse
import concurrent.futures
import os
import random
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "e2e"))
import harness  # noqa: E402

FIELDS = ("pm25", "pm10", "o3", "co", "so2", "no2", "t", "rh")
START = {"pm25": 35.0, "pm10": 60.0, "o3": 40.0, "co": 800.0, "so2": 12.0, "no2": 30.0,
         "t": 28.0, "rh": 75.0}


def batches(stations, hours, size):
    rnd = random.Random(17)
    state = [dict(START) for _ in range(stations)]
    t0 = (int(time.time()) - hours * 3600) // 60 * 60 * 1000
    lines = []
    for minute in range(hours * 60):
        for s in range(stations):
            v = state[s]
            for f in FIELDS:
                v[f] = max(0.0, v[f] + rnd.gauss(0, 0.02 * START[f]))
            ts = t0 + minute * 60000 + rnd.randint(0, 500)
            fields = ",".join(f"{f}={v[f]:.1f}" for f in FIELDS)
            lines.append(f"air,device=hn-air-{s:04d},district=D{s % 12},ward=W{s % 90} "
                         f"{fields} {ts}")
            if len(lines) == size:
                yield "\n".join(lines).encode()
                lines = []
    if lines:
        yield "\n".join(lines).encode()


def post(url, body):
    with urllib.request.urlopen(urllib.request.Request(url, body, method="POST"),
                                timeout=120) as r:
        r.read()


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def vm_metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    size = rows = 0.0
    for line in text.splitlines():
        if line.startswith(("vm_data_size_bytes{", "vm_rows{")) and "storage/" in line:
            print("  " + line)
        if line.startswith('vm_data_size_bytes{type="storage/'):
            size += float(line.rsplit(" ", 1)[1])
        elif line.startswith('vm_rows{type="storage/'):
            rows += float(line.rsplit(" ", 1)[1])
    return size, rows


MEMBERS = {"air": lambda i: {"pm25": 30 + i % 7, "pm10": 50.0, "o3": 40.0, "co": 800.0,
                              "so2": 12.0, "no2": 30.0, "t": 28.5, "rh": 70.0},
           "water": lambda i: {"ph": 7.1, "do": 5.5, "turb": 12.0, "ec": 300.0, "t": 27.0,
                               "nh4": 0.3, "cod": 10.0, "tss": 20.0},
           "rain": lambda i: {"mm": 0.2, "tips": i + 1},
           "flood": lambda i: {"depth": float(i % 40)}}


def derived(build, window_s):
    import json
    st = harness.Stack("vmderived", build, ".")
    n = 90
    try:
        st.start_mosquitto()
        st.start_victoriametrics()
        st.write_registry([{"id": f"hn-{k}-0001", "kind": k, "name": k, "lat": 21.0,
                            "lon": 105.8, "district": "D", "ward": "W", "interval_s": 60}
                           for k in MEMBERS])
        st.write_master_key()
        st.start_collector(extra={"store": {"kind": "victoriametrics"},
                                  "aggregate": {"window_s": window_s}})
        harness.wait_until(lambda: st.healthz()[1].get("mqtt_connected"), 20, "MQTT")
        t0 = (int(time.time()) // 60 - n - 30) * 60000
        for k, members in MEMBERS.items():
            dev = f"hn-{k}-0001"
            for i in range(n):
                body = json.dumps({"v": 1, "id": dev, "boot": 1, "seq": i + 1,
                                   "ts": t0 + i * 60000 + 1234, "m": members(i)})
                st.publish(f"city/v1/{k}/{dev}/up", body, key_of=dev)
        time.sleep(20)  # the windows close at the collector's next ticks
        urllib.request.urlopen(f"http://127.0.0.1:{st.influx_port}/internal/force_flush").read()
        time.sleep(3)
        per = {}
        for metric, samples in st.vm_export('{__name__=~".+"}'):
            name = metric["__name__"]
            kind = name.split("_", 1)[0]
            base = name.split("_")[0] if "_agg_" not in name else kind + "_agg"
            meas = next((m for m in ("air_aqi_daily", "air_aqi", "water_wqi", "rain_1h",
                                     "flood_level") if name.startswith(m + "_")),
                        base)
            per.setdefault(kind, {}).setdefault(meas, 0)
            per[kind][meas] += len(samples)
        for kind, m in per.items():
            raw = m.get(kind, 0)
            der = sum(v for k, v in m.items() if k != kind)
            print(f"{kind}: {n} readings, raw {raw} samples ({raw / n:.1f}/reading), derived "
                  f"{der} ({der / n:.1f}/reading): {m}")
    finally:
        st.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=300)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--derived", action="store_true")
    ap.add_argument("--build", default="build")
    ap.add_argument("--window-s", type=int, default=60, help="aggregate.window_s (--derived)")
    a = ap.parse_args()
    if a.derived:
        return derived(os.path.abspath(a.build), a.window_s)
    st = harness.Stack("vmbench", ".", ".")
    try:
        port = st.start_victoriametrics()
        pid = st.procs["victoria-metrics"][0].pid
        url = f"http://127.0.0.1:{port}/write?db=citytel&precision=ms"
        bodies = list(batches(a.stations, a.hours, 10000))
        samples = a.stations * a.hours * 60 * len(FIELDS)
        c0, t0 = cpu_s(pid), time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(lambda b: post(url, b), bodies))
        wall, cpu = time.monotonic() - t0, cpu_s(pid) - c0
        urllib.request.urlopen(f"http://127.0.0.1:{port}/internal/force_flush", timeout=60).read()
        part = time.strftime("%Y_%m", time.gmtime())
        urllib.request.urlopen(f"http://127.0.0.1:{port}/internal/force_merge?"
                               f"partition_prefix={part}", timeout=600).read()
        size, rows = 0.0, 0.0
        deadline = time.time() + 300
        while time.time() < deadline:
            size, rows = vm_metrics(port)
            if rows >= samples:
                break
            time.sleep(2)
        time.sleep(10)  # background merges shrink the parts further
        size, rows = vm_metrics(port)
        du = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in
                 os.walk(os.path.join(st.dir, "victoriametrics", "data")) for f in fs)
        print(f"stations {a.stations}, hours {a.hours}, samples written {samples}")
        print(f"ingest: {samples / wall:,.0f} samples/s over {wall:.1f} s wall, "
              f"VM CPU {cpu:.1f} s = {cpu / samples * 1e6:.2f} us/sample")
        print(f"storage: vm_rows {rows:,.0f}, vm_data_size_bytes {size:,.0f} = "
              f"{size / max(rows, 1):.2f} bytes/sample; data folder {du:,} bytes = "
              f"{du / samples:.2f} bytes/sample (with indexes)")
    finally:
        st.close()


if __name__ == "__main__":
    main()
