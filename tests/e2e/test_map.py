#!/usr/bin/env python3
"""End-to-end, public side: the real collector serves the built map page and the layers, built
from the real InfluxDB after every station of the example registry reported once through the
real broker. Checks the GeoJSON layers (RFC 7946 essentials, Vietnamese names, values) and the
OGC API, then runs the browser test (headless Chromium via playwright-core) against it."""
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


def reading(dev, seq, ts):
    kind = dev["kind"]
    m = {"air": {"pm25": 41.2, "pm10": 63.0, "no2": 22.1, "t": 29.4, "rh": 78},
         "water": {"ph": 7.1, "do": 6.4, "turb": 12.5, "ec": 410, "t": 26.0},
         "rain": {"tips": 10, "mm": 2.0},
         "flood": {"depth": 35.0},
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
        st.start_collector(extra={"map": {"dir": dist}, "layers": {"refresh_ms": 1000}})
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 20, "the collector subscribed")
        now = int(time.time() * 1000)
        for dev in registry:
            topic = f"city/v1/{dev['kind']}/{dev['id']}/up"
            st.publish(topic, reading(dev, 1, now - 1000), key_of=dev["id"])
        wait_until(lambda: st.metric("citytel_store_points_total") >= len(registry), 30,
                   "every station's point stored")

        def layer(name):
            status, headers, body = st.http_get(f"/layers/{name}.geojson")
            return json.loads(body) if status == 200 else None

        def air_ready():
            doc = layer("air")
            return doc if doc and any(f["properties"].get("pm25") == 41.2
                                      for f in doc["features"]) else None
        air = wait_until(air_ready, 30, "the air layer shows the new values", interval=0.5)
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
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
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
