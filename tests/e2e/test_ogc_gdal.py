#!/usr/bin/env python3
"""End-to-end, open standards (issue 16): the real collector, fed through the real broker into
the real InfluxDB, is read by clients no one on the project wrote. GDAL's OAPIF driver
(`ogrinfo`, `ogr2ogr`) lists the collections from the landing URL (with and without a trailing
slash), filters by bbox, pages, reads one feature and exports to GeoPackage; curl-like reads
check the OGC exception for crs, the OpenAPI document, and the NGSI-LD query API (type, id, q,
georel near, limit/offset, ProblemDetails, the Smart Data Models' required attributes). No
non-public station appears on any of these surfaces."""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
passed = failed = 0

# The required attributes of each Smart Data Model, copied from the models' published schemas:
#   AirQualityObserved   smart-data-models/dataModel.Environment AirQualityObserved/schema.json
#                        (commit 0878c20, "required")
#   WaterQualityObserved smart-data-models/dataModel.Environment WaterQualityObserved/schema.json
#                        (commit 0320013, "required")
#   WeatherObserved      smart-data-models/dataModel.Weather WeatherObserved/schema.json
#                        (commit 1979055, "required")
#   FloodMonitoring      smart-data-models/dataModel.Environment FloodMonitoring/doc/spec.md
#                        (commit 36f72a1, "Required properties"; its schema.json there is a stub)
#   OffStreetParking     smart-data-models/dataModel.Parking OffStreetParking/schema.json
#                        (commit 0499a1f, version 0.1.3, "required")
SDM_REQUIRED = {
    "AirQualityObserved": ["id", "type", "dateObserved", "location"],
    "WaterQualityObserved": ["id", "type", "dateObserved", "location"],
    "WeatherObserved": ["id", "type", "dateObserved", "location"],
    "FloodMonitoring": ["id", "type"],
    "OffStreetParking": ["id", "type", "location"],
}
HIDDEN = ["hn-air-9001", "hn-water-9001", "hn-rain-9001", "hn-flood-9001", "hn-park-9001"]


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "FAIL - ") + what)


def reading(dev, seq, ts):
    kind = dev["kind"]
    m = {"air": {"pm25": 41.2 + seq, "pm10": 63.0, "no2": 22.1, "t": 29.4, "rh": 78},
         "water": {"ph": 7.1, "do": 6.4, "turb": 12.5, "ec": 410, "t": 26.0},
         "rain": {"tips": 10, "mm": 2.0},
         "flood": {"depth": 35.0},
         "parking": ({"capacity": dev.get("capacity", 0), "occupied": 12}
                     if dev.get("mode") == "lot" else {"occupied": True})}[kind]
    return json.dumps({"v": 1, "id": dev["id"], "boot": 1, "seq": seq, "ts": ts, "m": m},
                      separators=(",", ":"), ensure_ascii=False)


def gdal(st, argv, timeout=60):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       env=dict(os.environ, GDAL_HTTP_TIMEOUT="20", CPL_VSIL_CURL_USE_CACHE="NO"))
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0:
        print(f"# {' '.join(argv)} -> {r.returncode}\n{out[-1500:]}")
    return r.returncode, out


def main():
    registry = [json.loads(line) for line in open(os.path.join(SRC, "config", "registry.jsonl"),
                                                  encoding="utf-8")
                if line.strip() and not line.startswith("#")]
    # One hidden station of each kind, inside the Hanoi box and next to public ones.
    kinds = {"hn-air-9001": "air", "hn-water-9001": "water", "hn-rain-9001": "rain",
             "hn-flood-9001": "flood", "hn-park-9001": "parking"}
    for dev_id, kind in kinds.items():
        d = {"id": dev_id, "kind": kind, "name": f"Ẩn {kind}", "lat": 21.03, "lon": 105.85,
             "district": "Hoàn Kiếm", "ward": "Hàng Bông", "public": False}
        if kind == "parking":
            d.update({"mode": "lot", "capacity": 50})
        registry.append(d)
    st = Stack("ogc", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(registry)
        st.write_master_key()
        st.start_collector(extra={"layers": {"refresh_ms": 1000}})
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 30, "the collector subscribed")
        now = int(time.time() * 1000)
        for dev in registry:
            st.publish(f"city/v1/{dev['kind']}/{dev['id']}/up", reading(dev, 1, now - 1000),
                       key_of=dev["id"])
        wait_until(lambda: st.metric("citytel_store_points_total") >= len(registry), 60,
                   "every station's point stored")
        base = f"http://127.0.0.1:{st.http_port}/ogc"

        def items(kind, qs=""):
            status, _, body = st.http_get(f"/ogc/collections/{kind}/items{qs}")
            return json.loads(body) if status == 200 else None

        def air_ready():
            doc = items("air")
            return doc if doc and any(f["properties"].get("pm25") == 42.2
                                      for f in doc["features"]) else None
        wait_until(air_ready, 40, "the air items show the new values", interval=0.5)
        n_air = sum(1 for d in registry if d["kind"] == "air" and d.get("public", True))

        # -- GDAL: list, from the README's URL and with a trailing slash
        for url in (base, base + "/"):
            rc, out = gdal(st, ["ogrinfo", "-ro", "-q", f"OAPIF:{url}"])
            listed = all(f": {k} (" in out or f": {k}" in out
                         for k in ("air", "water", "rain", "flood", "parking"))
            check(rc == 0 and listed, f"ogrinfo OAPIF:{url} lists the five collections")
        # -- GDAL: every air feature, paged two by two through the next links
        rc, out = gdal(st, ["ogrinfo", "-ro", "-oo", "PAGE_SIZE=2", f"OAPIF:{base}", "air"])
        got = out.count("OGRFeature(air)")
        check(rc == 0 and got == n_air, f"ogrinfo pages 2 by 2 through all {n_air} air features "
                                        f"(got {got})")
        check("hn-air-9001" not in out and "Ẩn" not in out, "GDAL never sees the hidden station")
        # -- GDAL: bbox (-spat) around one station only (Hàng Bông, 105.847 21.0305)
        rc, out = gdal(st, ["ogrinfo", "-ro", "-spat", "105.846", "21.030", "105.848", "21.031",
                            f"OAPIF:{base}", "air"])
        check(rc == 0 and out.count("OGRFeature(air)") == 1 and "hn-air-0001" in out,
              "ogrinfo -spat selects the one station in the box")
        # -- GDAL: one feature by attribute
        rc, out = gdal(st, ["ogrinfo", "-ro", "-where", "id = 'hn-air-0002'", f"OAPIF:{base}",
                            "air"])
        check(rc == 0 and out.count("OGRFeature(air)") == 1 and "Trạm Kim Mã" in out,
              "ogrinfo -where id = ... reads one feature")
        # -- GDAL: export to GeoPackage
        gpkg = os.path.join(st.dir, "hanoi.gpkg")
        rc, out = gdal(st, ["ogr2ogr", "-f", "GPKG", gpkg, f"OAPIF:{base}", "air", "flood"],
                       timeout=90)
        rows = {}
        if rc == 0 and os.path.exists(gpkg):
            db = sqlite3.connect(gpkg)
            for t in ("air", "flood"):
                rows[t] = db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            db.close()
        n_flood = sum(1 for d in registry if d["kind"] == "flood" and d.get("public", True))
        check(rows == {"air": n_air, "flood": n_flood},
              f"ogr2ogr -f GPKG exports the air and flood layers ({rows})")

        # -- the API itself
        status, _, body = st.http_get("/ogc/collections/air/items/hn-air-0001")
        f = json.loads(body) if status == 200 else {}
        check(f.get("type") == "Feature" and f.get("id") == "hn-air-0001",
              "/items/{featureId} returns the feature")
        status, _, body = st.http_get("/ogc/collections/air/items/hn-air-9001")
        check(status == 404 and json.loads(body).get("code") == "NotFound",
              "a hidden station's feature is 404 with an OGC exception")
        for param in ("crs", "bbox-crs"):
            qs = urllib.parse.urlencode({param: "http://www.opengis.net/def/crs/EPSG/0/4326"})
            status, headers, body = st.http_get(f"/ogc/collections/air/items?{qs}")
            doc = json.loads(body) if body.startswith(b"{") else {}
            check(status == 400 and doc.get("code") == "InvalidParameterValue"
                  and headers.get("Content-Type", "").startswith("application/json"),
                  f"{param}=EPSG:4326 is refused with 400 and an OGC exception")
        status, _, body = st.http_get(
            "/ogc/collections/air/items?crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84")
        check(status == 200, "crs=CRS84 is accepted")
        status, headers, body = st.http_get("/ogc")
        land = json.loads(body)
        rels = {ln["rel"]: ln for ln in land["links"]}
        check(rels.get("service-desc", {}).get("href") == base + "/api"
              and rels.get("service-doc", {}).get("href") == base + "/api.html",
              "the landing page links service-desc and service-doc")
        # Behind a TLS-terminating reverse proxy: links follow X-Forwarded-Proto/-Host (and
        # Forwarded); a value with CR/LF or odd characters is ignored (Host is used).
        status, headers, body = st.http_get("/ogc", {"X-Forwarded-Proto": "https",
                                                     "X-Forwarded-Host": "data.hanoi.example"})
        hrefs = [ln["href"] for ln in json.loads(body)["links"]]
        check(status == 200 and hrefs and
              all(h.startswith("https://data.hanoi.example/ogc") for h in hrefs) and
              "X-Forwarded-Proto" in headers.get("Vary", ""),
              "behind a proxy (X-Forwarded-Proto: https) every link starts with https://")
        status, _, body = st.http_get("/ogc/collections/air/items?limit=1",
                                      {"Forwarded": 'for=192.0.2.1;proto=https;host="gis.example"'})
        hrefs = [ln["href"] for ln in json.loads(body)["links"]]
        check(status == 200 and hrefs and all(h.startswith("https://gis.example/ogc/")
                                              for h in hrefs),
              "Forwarded: proto=https;host=... gives https:// links on items pages")
        status, _, body = st.http_get("/ogc", {"X-Forwarded-Host": "evil.example/<x>",
                                               "X-Forwarded-Proto": "gopher"})
        hrefs = [ln["href"] for ln in json.loads(body)["links"]]
        check(all(h.startswith(base) for h in hrefs),
              "bad forwarded values are ignored: links from Host")
        status, headers, body = st.http_get("/ogc/api")
        api = json.loads(body) if status == 200 else {}
        check(api.get("openapi", "").startswith("3.0") and
              "/collections/{collectionId}/items/{featureId}" in api.get("paths", {}),
              "/ogc/api is an OpenAPI 3.0 document covering the feature path")
        status, _, body = st.http_get("/ogc/conformance")
        conf = json.loads(body)["conformsTo"]
        check(not any(c.endswith("/html") for c in conf), "no untrue conformance class (html)")

        # -- NGSI-LD
        def ngsi(qs="", accept="application/ld+json", path="/ngsi-ld/v1/entities"):
            status, headers, body = st.http_get(path + qs, {"Accept": accept})
            return status, headers, json.loads(body) if body else None
        status, headers, ents = ngsi("?limit=1000")
        ids = [e["id"] for e in ents] if status == 200 else []
        check(status == 200 and len(ids) == sum(1 for d in registry if d.get("public", True)
                                                and (d["kind"] != "parking"
                                                     or d.get("mode") == "lot")),
              f"/ngsi-ld/v1/entities lists every public station ({len(ids)})")
        check(not any(h in i for i in ids for h in HIDDEN), "no hidden station in NGSI-LD")
        bad = []
        for e in ents or []:
            for attr in SDM_REQUIRED[e["type"]]:
                if attr not in e:
                    bad.append(f"{e['id']}:{attr}")
        check(ents and not bad, f"every entity has its Smart Data Model's required attributes {bad}")
        e = next((e for e in ents or [] if e["type"] == "AirQualityObserved"), {})
        dob = e.get("dateObserved", {}).get("value", {})
        check(dob.get("@type") == "DateTime" and str(dob.get("@value", "")).endswith("Z"),
              "dateObserved is {\"@type\": \"DateTime\", \"@value\": ...}")
        status, _, page = ngsi("?type=AirQualityObserved&limit=2&offset=1")
        check(status == 200 and len(page) == 2 and page[0]["id"] == ids[1],
              "type, limit and offset page the air entities")
        status, headers, _ = ngsi("?type=AirQualityObserved&limit=0&count=true")
        check(headers.get("NGSILD-Results-Count") == str(n_air), "count=true gives the total")
        status, _, page = ngsi("?" + urllib.parse.urlencode(
            {"type": "AirQualityObserved", "q": "pm25>42;pm25<=42.2"}))
        check(status == 200 and len(page) == n_air, "q with ';' (AND) and numbers")
        status, _, page = ngsi("?" + urllib.parse.urlencode(
            {"type": "AirQualityObserved", "q": 'name=="Trạm Kim Mã"'}))
        check(status == 200 and [p["id"] for p in page] ==
              ["urn:ngsi-ld:AirQualityObserved:hn-air-0002"], "q with a quoted string")
        status, _, page = ngsi("?type=AirQualityObserved&q=pm25%3E1000")
        check(status == 200 and page == [], "q that matches nothing gives []")
        near = urllib.parse.urlencode({"type": "AirQualityObserved",
                                       "georel": "near;maxDistance==300",
                                       "geometry": "Point", "coordinates": "[105.847,21.0305]"})
        status, _, page = ngsi("?" + near)
        check(status == 200 and [p["id"] for p in page] ==
              ["urn:ngsi-ld:AirQualityObserved:hn-air-0001"], "georel near;maxDistance")
        status, _, one = ngsi(path="/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:hn-air-0001")
        check(status == 200 and one.get("id") == "urn:ngsi-ld:AirQualityObserved:hn-air-0001",
              "GET /entities/{id}")
        status, headers, pd = ngsi(path="/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:"
                                        "hn-air-9001")
        check(status == 404 and pd.get("type") ==
              "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound",
              "a hidden station's entity is 404 ResourceNotFound")
        status, headers, pd = ngsi("?q=pm25%3E%3E")
        check(status == 400 and pd.get("type", "").startswith("https://uri.etsi.org/ngsi-ld/errors/")
              and headers.get("Content-Type", "").startswith("application/json"),
              f"a malformed q is a 400 ProblemDetails ({pd})")
        status, headers, body = ngsi("?type=WeatherObserved", accept="application/json")
        check(status == 200 and "Link" in headers and "@context" not in body[0],
              "Accept: application/json gives the context as a Link header")
    finally:
        if failed:
            print(st.log("collector")[-3000:])
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
