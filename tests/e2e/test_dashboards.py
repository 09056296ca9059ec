#!/usr/bin/env python3
"""End-to-end: every InfluxQL query of the Grafana dashboards (dashboards/grafana/*.json: the
template variables' and every panel target's) runs against the real InfluxDB after the real
collector stored one reading of every station of the example registry. Asserts: each query is
answered 200 without an error for every kind the dashboards offer, and the queries of the raw
measurements return series (the measurement and tag names match what the collector writes)."""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_until  # noqa: E402
from test_map import reading  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
FIELD = {"air": "pm25", "water": "ph", "rain": "tips", "flood": "depth", "parking": "occupied"}
passed = failed = 0


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what, flush=True)


def queries(doc):
    """(title, query) of every template variable and panel target, rows' panels included."""
    out = [(f"variable {v['name']}", v["query"]) for v in doc.get("templating", {}).get("list", [])
           if v.get("type") == "query"]
    panels = [p for top in doc["panels"] for p in [top] + top.get("panels", [])]
    for p in panels:
        for t in p.get("targets", []):
            if t.get("query"):
                out.append((p.get("title", "?"), t["query"]))
    return out


def expand(q, kind, devices):
    dev = devices.get(kind, ["none"])[0]
    subs = {"timeFilter": "time > now() - 6h", "__interval": "1m", "kind": kind,
            "field": FIELD[kind], "device": devices["air"][0], "kdevice": dev,
            "pollutant": "pm25", "lot": "hn-park-0001", "expected_per_hour": "60"}
    return re.sub(r"\$\{?([A-Za-z_]+)\}?", lambda m: subs.get(m.group(1), m.group(0)), q)


def run(st, q):
    url = (f"http://127.0.0.1:{st.influx_port}/query?"
           + urllib.parse.urlencode({"db": st.db, "epoch": "ms", "q": q}))
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, {"error": e.read().decode(errors="replace")}


def main():
    registry = [json.loads(line) for line in open(os.path.join(SRC, "config", "registry.jsonl"),
                                                  encoding="utf-8")
                if line.strip() and not line.startswith("#")]
    devices = {}
    for d in registry:
        devices.setdefault(d["kind"], []).append(d["id"])
    st = Stack("dashboards", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.registry = os.path.join(SRC, "config", "registry.jsonl")
        st.write_master_key()
        st.start_collector()
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 30, "the collector subscribed")
        now = int(time.time() * 1000)
        for dev in registry:
            st.publish(f"city/v1/{dev['kind']}/{dev['id']}/up", reading(dev, 1, now - 1000),
                       key_of=dev["id"])
        wait_until(lambda: st.metric("citytel_store_points_total") >= len(registry), 60,
                   "every station's point stored")
        for kind, want in (("air", "60"), ("water", "12")):
            status, body = run(st, "SHOW TAG VALUES FROM \"station_info\" WITH KEY = "
                               f"\"expected_per_hour\" WHERE \"kind\" = '{kind}'")
            vals = [v[1] for r in body.get("results", []) for s in r.get("series", [])
                    for v in s["values"]]
            check(vals == [want], f"expected_per_hour of {kind} from the registry: {vals}")
        for name in sorted(os.listdir(os.path.join(SRC, "dashboards", "grafana"))):
            if not name.endswith(".json"):
                continue
            doc = json.load(open(os.path.join(SRC, "dashboards", "grafana", name),
                                 encoding="utf-8"))
            qs = queries(doc)
            bad, with_data = [], 0
            for title, q in qs:
                for kind in (FIELD if "$kind" in q or "${field" in q or "$kdevice" in q
                             else ["air"]):
                    status, body = run(st, expand(q, kind, devices))
                    errs = [r["error"] for r in body.get("results", []) if "error" in r]
                    if status != 200 or errs or "error" in body:
                        bad.append((title, kind, status, errs or body.get("error")))
                    elif any(r.get("series") for r in body.get("results", [])):
                        with_data += 1
            check(not bad, f"{name}: all {len(qs)} queries answered without error ({bad[:3]})")
            check(with_data > 0, f"{name}: {with_data} query runs returned data")
    finally:
        if failed:
            print(st.log("collector")[-2000:])
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
