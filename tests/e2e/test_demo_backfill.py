#!/usr/bin/env python3
"""End-to-end, the demo's first minute: fleet-sim with --backfill-hours (as scripts/demo.sh starts
it) sends each air and water station's last hours, signed, through the real broker into the real
collector and InfluxDB, so the public air layer shows VN_AQI bands (not the grey "chưa đủ số
liệu") within a minute of the simulator's start, and the water layer a VN_WQI."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
passed = failed = 0


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what)


def main():
    st = Stack("demo-backfill", BUILD, SRC)
    fleet = None
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.registry = os.path.join(SRC, "config", "registry.jsonl")
        st.write_master_key()
        st.start_collector(extra={"layers": {"refresh_ms": 1000}})
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 20, "the collector subscribed")

        def layer(name):
            status, _, body = st.http_get(f"/layers/{name}.geojson")
            return json.loads(body) if status == 200 else None

        air0 = layer("air")
        check(air0 is not None and all(f["properties"]["nodata"] for f in air0["features"]),
              "before the simulator every air station is grey (not enough data yet)")
        argv = [st.exe("simulations", "fleet", "fleet-sim"), "--registry", st.registry,
                "--broker", f"tcp://127.0.0.1:{st.mqtt_port}", "--master-key-file",
                st.master_key_file, "--kinds", "air,water", "--rate-scale", "60",
                "--backfill-hours", "3", "--duration-s", "90", "--state-dir",
                os.path.join(st.dir, "fleet-state")]
        t0 = time.time()
        fleet = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(st.dir, "fleet.log"), "wb"),
                                 start_new_session=True)
        n_air = len(air0["features"])

        def coloured():
            doc = layer("air")
            n = sum(1 for f in doc["features"] if not f["properties"]["nodata"]) if doc else 0
            return doc if n == n_air else None
        air = wait_until(coloured, 60, "every air station has a VN_AQI band", interval=0.5)
        took = time.time() - t0
        check(True, f"every air station shows a VN_AQI band {took:.1f} s after the simulator started")
        check(all(f["properties"]["color"] != "#9E9E9E" for f in air["features"]),
              "no grey air marker once the backlog arrived")
        water = wait_until(lambda: (lambda d: d if d and any(
            isinstance(f["properties"].get("wqi_vn"), (int, float)) for f in d["features"])
            else None)(layer("water")), 30, "a water station has a VN_WQI")
        check(any(f["properties"].get("preliminary") is True for f in water["features"]),
              "the probe-only VN_WQI is marked preliminary")
        log = open(os.path.join(st.dir, "fleet.log"), encoding="utf-8", errors="replace").read()
        check("backfilled" in log, "fleet-sim says how many readings it backfilled")
        m = st.metrics()
        rejected = {k: v for k, v in m.items()
                    if k.startswith("citytel_rejected_total") and v and "duplicate" not in k}
        check(not rejected, f"no message rejected (signature, replay, ...): {rejected}")
        check(m.get("citytel_messages_accepted_total", 0) >= n_air * 18,
              "at least 3 h x 6 readings per air station accepted")
    finally:
        if fleet is not None and fleet.poll() is None:
            fleet.terminate()
            try:
                fleet.wait(20)
            except subprocess.TimeoutExpired:
                fleet.kill()
                fleet.wait()
        if failed:
            print(st.log("collector")[-3000:])
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
