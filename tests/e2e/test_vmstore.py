#!/usr/bin/env python3
"""End-to-end (issue 17, the second store): the collector with store.kind "victoriametrics" against
Debian's real victoria-metrics (single node), Mosquitto and signed readings over MQTT.

Asserts, reading VictoriaMetrics with urllib (/api/v1/export), never with our code:
- the raw readings (air pm25, rain mm) and the derived rain_1h (its 24-h sum mm_24h) are stored as VM series
  (<measurement>_<field>, tags as labels);
- the public layers and the OGC API items, built from VM by the collector, show those values;
- a restarted collector rebuilds its rain ring from VM: the next 24-h sum is the three earlier
  amounts plus the new one (7.0 mm), where a collector without the rebuild would say 0.6 mm;
- the rain layer's 24-h history (hourly maxima) has one value per hour with rain."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

AIR, RAIN = "hn-air-0001", "hn-rain-0001"
HOUR = 3600 * 1000


def station(dev_id, kind):
    return {"id": dev_id, "kind": kind, "name": f"Trạm {dev_id}", "lat": 21.03, "lon": 105.85,
            "district": "Hoàn Kiếm", "ward": "Hàng Bông", "interval_s": 300, "public": True}


def publish(st, dev_id, kind, seq, ts, m):
    payload = json.dumps({"v": 1, "id": dev_id, "boot": 1, "seq": seq, "ts": ts, "m": m},
                         separators=(",", ":"))
    st.publish(f"city/v1/{kind}/{dev_id}/up", payload, key_of=dev_id)


def last_value(st, name, device):
    """The newest (ms, value) of series 'name' of 'device' in VM, or None."""
    best = None
    for metric, samples in st.vm_export('{__name__="%s",device="%s"}' % (name, device)):
        if samples and (best is None or samples[-1][0] > best[0]):
            best = samples[-1]
    return best


def values(st, name, device):
    return [v for metric, s in st.vm_export('{__name__="%s",device="%s"}' % (name, device))
            for _, v in s]


def near(x, v):
    return isinstance(x, (int, float)) and abs(x - v) < 1e-9


def feature(st, path, dev_id):
    status, _, body = st.http_get(path)
    if status != 200:
        return None
    for f in json.loads(body).get("features", []):
        if f.get("id") == dev_id:
            return f["properties"]
    return None


def main():
    t0 = time.time()
    st = Stack("vmstore", BUILD, SRC)
    extra = {"store": {"kind": "victoriametrics"}, "layers": {"refresh_ms": 1000}}
    try:
        st.start_mosquitto()
        st.start_victoriametrics()
        st.write_registry([station(AIR, "air"), station(RAIN, "rain")])
        st.write_master_key()
        st.start_collector(extra=extra)
        wait_until(lambda: st.healthz()[1].get("mqtt_connected"), 20, "MQTT connected")
        now = int(time.time() * 1000)
        # Rain in three closed hours (2.0 + 3.0 + 1.4 mm, 0.2 mm per tip), so that their windows
        # close and the journal commits them: a restart then does not replay them (a replayed
        # amount also restored from the store counts twice, docs/derived.md section 9).
        hour0 = now - now % HOUR
        for seq, (h, mm, tips) in enumerate([(4, 2.0, 10), (3, 3.0, 25), (2, 1.4, 32)], start=1):
            publish(st, RAIN, "rain", seq, hour0 - h * HOUR + 30 * 60000, {"mm": mm, "tips": tips})
        publish(st, AIR, "air", 1, now - 60000, {"pm25": 41.5, "pm10": 60.0, "t": 29.5})

        # 1. In VM, read with its own API.
        wait_until(lambda: 41.5 in values(st, "air_pm25", AIR), 30, "air_pm25 in VM")
        wait_until(lambda: sorted(set(values(st, "rain_mm", RAIN))) == [1.4, 2.0, 3.0], 30,
                   "the three rain amounts in VM")
        wait_until(lambda: near((last_value(st, "rain_1h_mm_24h", RAIN) or (0, 0))[1], 6.4), 30,
                   "rain_1h mm_24h 6.4 mm in VM")
        print(f"stored in VM after {time.time() - t0:.1f} s")

        # 2. The public layers and OGC API items, read from VM by the collector.
        wait_until(lambda: (feature(st, "/layers/air.geojson", AIR) or {}).get("pm25") == 41.5,
                   30, "pm25 41.5 on /layers/air.geojson")
        wait_until(lambda: (feature(st, "/ogc/collections/air/items", AIR) or {}).get("pm25")
                   == 41.5, 30, "pm25 41.5 on /ogc/collections/air/items")
        wait_until(lambda: near((feature(st, "/layers/rain.geojson", RAIN) or {}).get("mm_24h"),
                                6.4), 30, "mm_24h 6.4 on /layers/rain.geojson")

        # 3. Restart: the rain ring comes back from VM, so the 24-h total continues. Only the
        # air record (its hour still open) may stay in the journal.
        wait_until(lambda: st.metric("citytel_spool_records") <= 1, 30,
                   "the rain records committed")
        assert st.stop("collector") == 0, st.log("collector")[-2000:]
        st.start_collector(extra=extra)
        wait_until(lambda: st.log("collector").count("state rebuilt from the store") >= 2, 30,
                   "the second start's rebuild")
        wait_until(lambda: st.healthz()[1].get("mqtt_connected"), 20, "MQTT connected again")
        t_new = int(time.time() * 1000)
        publish(st, RAIN, "rain", 4, t_new, {"mm": 0.6, "tips": 35})
        wait_until(lambda: (last_value(st, "rain_1h_mm_24h", RAIN) or (0, 0))[0] == t_new, 30,
                   "the 24-h sum of the new reading in VM")
        got = last_value(st, "rain_1h_mm_24h", RAIN)[1]
        rain = st.vm_export('{__name__=~"rain.*"}')
        assert abs(got - 7.0) < 1e-9, f"the 24-h sum after the restart: {got} mm, not 7.0; {rain}"
        wait_until(lambda: near((feature(st, "/layers/rain.geojson", RAIN) or {}).get("mm_24h"),
                                7.0), 30, "mm_24h 7.0 on /layers/rain.geojson")
        # The popup chart: the hourly maxima of rain_1h over 24 h, read by a MetricsQL range
        # query, one per hour with rain.
        def history():
            status, _, body = st.http_get("/layers/rain.history.json")
            return status == 200 and sorted(v for _, v in json.loads(body)["series"].get(RAIN, []))
        wait_until(lambda: history() == [0.6, 1.4, 2.0, 3.0], 30,
                   "the hourly rain maxima on /layers/rain.history.json")
        assert "a rebuild answer could not be used" not in st.log("collector")
        assert "rebuild query failed" not in st.log("collector")
        print(f"e2e_vmstore: OK in {time.time() - t0:.1f} s")
        return 0
    except Exception:
        print("collector log tail:\n" + st.log("collector")[-3000:], file=sys.stderr)
        raise
    finally:
        st.close()


if __name__ == "__main__":
    sys.exit(main())
