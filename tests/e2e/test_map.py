#!/usr/bin/env python3
"""End-to-end, public side: the real collector serves the built map page and the layers, built
from the real InfluxDB after the stations of the example registry reported through the real
broker (air and water with a three-hour backlog, so hourly VN_AQI exists; one air station
silent). Checks the GeoJSON layers (RFC 7946 essentials, Vietnamese names, bands with the grey
no-data band, "updated", the flood bands of docs/indices.md), that no source map is served even
when one lies in map.dir, /favicon.ico, that after a quiet interval the first request gets the
new data, the 24-hour history, the OGC API, then runs the browser test (headless Chromium via
playwright-core) against it; screenshots go to <build>/artifacts/map.
CT_MAP_WRITE_FIXTURES=1 also rewrites tests/e2e/map/fixtures from this run."""
import json
import os
import shutil
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


PM25 = [41.2, 12.0, 65.0, 110.0, 200.0, 300.0, 30.0]  # VN_AQI Trung bình, Tốt, Kém, Xấu, ...
DEPTH = [0.0, 5.0, 15.0, 25.0, 45.0, 65.0, 35.0]       # every flood band of docs/indices.md


def reading(dev, seq, ts, i=0):
    kind = dev["kind"]
    m = {"air": {"pm25": PM25[i % len(PM25)], "pm10": 63.0, "no2": 22.1, "t": 29.4, "rh": 78},
         "water": {"ph": 7.1, "do": 6.4, "turb": 12.5, "ec": 410, "t": 26.0},
         "rain": {"tips": 10 * (i % 4), "mm": 2.0 * (i % 4) ** 2},
         "flood": {"depth": DEPTH[i % len(DEPTH)]},
         "parking": ({"capacity": dev.get("capacity", 0), "occupied": 12}
                     if dev.get("mode") == "lot" else {"occupied": True})}[kind]
    return json.dumps({"v": 1, "id": dev["id"], "boot": 1, "seq": seq, "ts": ts, "m": m},
                      separators=(",", ":"), ensure_ascii=False)


def rfc7946_ok(doc):
    if doc.get("type") != "FeatureCollection" or "crs" in doc:
        return False
    for f in doc.get("features", []):
        g = f.get("geometry") or {}
        c = g.get("coordinates", [])
        if (f.get("type") != "Feature" or g.get("type") != "Point" or len(c) != 2
                or not -180 <= c[0] <= 180 or not -90 <= c[1] <= 90
                or not isinstance(f.get("properties"), dict)):
            return False
    return True


def main():
    dist = os.path.join(SRC, "dashboards", "map", "dist")
    if not os.path.exists(os.path.join(dist, "index.html")):
        print(f"FAIL - the map page is not built ({dist}); scripts/test.sh builds it")
        print("0 passed, 1 failed")
        return 1
    registry = [json.loads(line) for line in open(os.path.join(SRC, "config", "registry.jsonl"),
                                                  encoding="utf-8")
                if line.strip() and not line.startswith("#")]
    st = Stack("map", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.registry = os.path.join(SRC, "config", "registry.jsonl")
        st.write_master_key()
        served = os.path.join(st.dir, "map")
        shutil.copytree(dist, served)
        with open(os.path.join(served, "app.js.map"), "w", encoding="utf-8") as f:
            f.write('{"version":3,"sources":["secret.js"]}')
        st.start_collector(extra={"map": {"dir": served}, "layers": {"refresh_ms": 1000}})
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 20, "the collector subscribed")
        now = int(time.time() * 1000)
        # The backlog's hours end at least 3 minutes ago: derive writes an hour's index once
        # the hour's last window is past its grace (2 x aggregate.window_s), so a run in the
        # first minutes of an hour would otherwise see its newest backlog hour still open.
        hour = (now - 180000) - (now - 180000) % 3600000
        npoints = 0
        air_silent = [d for d in registry if d["kind"] == "air"][-1]["id"]
        for i, dev in enumerate(registry):
            if dev["id"] == air_silent:
                continue  # never reports: the grey "not enough data yet" band
            topic = f"city/v1/{dev['kind']}/{dev['id']}/up"
            # Air and water: a backlog over the last three hours (as the demo's simulator
            # sends), so the hourly VN_AQI / VN_WQI exist at once; varied values per station.
            times = ([hour - 9000000, hour - 5400000, hour - 1800000, now - 1000]
                     if dev["kind"] in ("air", "water") else [now - 1000])
            for seq, ts in enumerate(times, 1):
                st.publish(topic, reading(dev, seq, ts, i), key_of=dev["id"])
                npoints += 1
        wait_until(lambda: st.metric("citytel_store_points_total") >= npoints, 60,
                   "every station's point stored")

        def layer(name):
            status, headers, body = st.http_get(f"/layers/{name}.geojson")
            return json.loads(body) if status == 200 else None

        def air_ready():
            doc = layer("air")
            return doc if doc and any(f["properties"].get("aqi_vn") is not None
                                      for f in doc["features"]) else None
        air = wait_until(air_ready, 60, "the air layer shows VN_AQI from the backlog", interval=0.5)
        bands = {f["properties"]["band_vi"] for f in air["features"]}
        check(len(bands) >= 3 and "Chưa đủ số liệu" in bands,
              f"air features carry VN_AQI bands and the grey no-data band ({sorted(bands)})")
        times = [f["properties"]["time"] for f in air["features"] if f["properties"]["time"]]
        check(air.get("updated") == max(times), "the layer's updated time is its newest value")
        n_air = sum(1 for d in registry if d["kind"] == "air")
        check(len(air["features"]) == n_air, f"one air feature per station ({n_air})")
        check(rfc7946_ok(air), "the air layer is an RFC 7946 FeatureCollection")
        names = {f["properties"]["name"] for f in air["features"]}
        check("Trạm Hàng Bông" in names, "public names keep their Vietnamese diacritics")
        check(not any("key" in json.dumps(f["properties"]) for f in air["features"]),
              "no key material in public features")
        for name in ("water", "rain", "flood", "parking"):
            doc = wait_until(lambda: layer(name), 20, f"the {name} layer")
            check(rfc7946_ok(doc) and len(doc["features"]) > 0,
                  f"the {name} layer has valid features ({len(doc['features'])})")
        status, headers, _ = st.http_get("/layers/air.geojson")
        etag = headers.get("ETag")
        check(etag is not None, "layers carry an ETag")
        check(st.http_get("/layers/air.geojson", {"If-None-Match": etag})[0] == 304,
              "If-None-Match answers 304")
        flood = layer("flood")
        check([b["vi"] for b in flood["legend"]["bands"]]
              == ["Khô", "Ngập nhẹ", "Ngập", "Ngập sâu", "Nguy hiểm", "Chưa đủ số liệu"],
              "the flood legend is docs/indices.md's bands plus the grey one")
        # Issue 13: no source map is served, even when one lies in map.dir (the test copy has one).
        check(st.http_get("/app.js.map")[0] == 404, "/app.js.map is not served")
        check(not any(n.endswith(".map") for n in os.listdir(dist)),
              "the production build has no source map")
        status, headers, _ = st.http_get("/favicon.ico")
        check(status == 200 and headers.get("Content-Type") == "image/x-icon", "/favicon.ico")
        # After a quiet interval the first request gets the new data, never the old document.
        probe = next(d for d in registry if d["kind"] == "air" and d["id"] != air_silent)
        before = st.metric("citytel_store_points_total")
        st.publish(f"city/v1/air/{probe['id']}/up",
                   json.dumps({"v": 1, "id": probe["id"], "boot": 1, "seq": 9,
                               "ts": int(time.time() * 1000), "m": {"pm25": 77.7}},
                              separators=(",", ":")), key_of=probe["id"])
        wait_until(lambda: st.metric("citytel_store_points_total") > before, 30, "probe stored")
        time.sleep(1.2)  # lets the cached layer pass its refresh interval (1 s)
        fresh = layer("air")
        pf = next(f for f in fresh["features"] if f["id"] == probe["id"])
        check(pf["properties"].get("pm25") == 77.7,
              "after a quiet interval the first request shows the new reading")
        status, headers, body = st.http_get("/layers/air.history.json")
        hist = json.loads(body) if status == 200 else {}
        ids = {d["id"] for d in registry if d["kind"] == "air"}
        series = hist.get("series", {})
        check(status == 200 and set(series) <= ids and len(series) == len(ids) - 1
              and all(len(v) >= 2 for v in series.values()),
              f"the 24-hour history has hourly VN_AQI of every reporting air station ({len(series)})")
        check(headers.get("ETag") is not None, "the history is cached like the layers (ETag)")
        if os.environ.get("CT_MAP_WRITE_FIXTURES"):
            for name in ("air", "water", "rain", "flood", "parking"):
                for suffix in (".geojson", ".history.json"):
                    _, _, raw = st.http_get(f"/layers/{name}{suffix}")
                    with open(os.path.join(SRC, "tests", "e2e", "map", "fixtures", name + suffix),
                              "w", encoding="utf-8") as fx:
                        json.dump(json.loads(raw), fx, ensure_ascii=False, indent=1)
        status, _, body = st.http_get("/ogc/collections")
        cols = json.loads(body)
        check(status == 200 and {c["id"] for c in cols["collections"]} >= {"air", "flood"},
              "OGC API /ogc/collections lists the layers")
        status, _, body = st.http_get("/ogc/collections/air/items?limit=2")
        items = json.loads(body)
        check(status == 200 and items.get("numberReturned") == 2, "OGC items honour limit")
        status, _, body = st.http_get("/ngsi-ld/v1/entities?type=AirQualityObserved",
                                      {"Accept": "application/ld+json"})
        check(status == 200 and "AirQualityObserved" in body.decode(),
              "NGSI-LD entities at /ngsi-ld/v1/entities")

        env = dict(os.environ, MAP_URL=f"http://127.0.0.1:{st.http_port}/",
                   CT_ARTIFACT_DIR=os.path.join(os.path.abspath(BUILD), "artifacts", "map"))
        mapdir = os.path.join(SRC, "tests", "e2e", "map")
        r = subprocess.run(["node", "--test", "map.test.mjs"], cwd=mapdir, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=150)
        out = r.stdout.decode(errors="replace")
        print(out[-3000:])
        check(r.returncode == 0, "the browser test passes against the real collector")
    finally:
        if failed:
            print(st.log("collector")[-3000:])
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
