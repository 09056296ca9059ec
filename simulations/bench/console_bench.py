#!/usr/bin/env python3
"""console_bench.py - how fast the staff console answers with a large registry.

    python3 simulations/bench/console_bench.py [--build DIR] [--stations N] [--days D]
                                               [--sampled K] [--repeat R]

What it does:
  1. generates a registry of N air stations (default 10 000, interval 300 s);
  2. starts the real Mosquitto and InfluxDB (tests/e2e/harness.py) and the collector with the
     console, and one viewer account (`collector staff-user add`);
  3. writes D days (default 30) of 5-minute raw `air` points for K sampled stations (default 10)
     with InfluxDB's /write (the points the collector would have written): the per-station
     reports read one station's series, so their cost depends on that station's data, not on
     the fleet's;
  4. times, R times each (default 5), over HTTP on the staff listener: GET stations (the first
     page: 1 000 stations' states and parameter levels), GET silent, and for a sampled station the completeness
     of a day (JSON and CSV), of a month, the hourly VN_AQI of a day and the approved export (after
     approving the day), and prints the median and the worst, with the answer's size and the
     InfluxQL each issues.

Not a test: it prints figures. Standard library only."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
from harness import Stack, wait_until  # noqa: E402
from test_console import Client  # noqa: E402

QUERIES = {
    "stations": "(none: computed on the loop)",
    "silent": "(none: computed on the loop)",
    "completeness day": "SELECT * FROM \"air\" WHERE device='<id>' AND <day>; "
                        "SELECT sum(\"count\") FROM rejected WHERE device='<id>' AND <day> "
                        "GROUP BY time(1h) fill(none)",
    "completeness month": "the same over the month",
    "aqi day": "SELECT * FROM air WHERE device='<id>' AND <day - 11 h ..>; SELECT * FROM "
               "console_decision WHERE \"action\"='invalid' AND station='<id>'",
    "export day": "SELECT * FROM \"air\" WHERE device='<id>' AND <day>; two console_decision "
                  "selects",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--stations", type=int, default=10000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--sampled", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    st = Stack("console-bench", a.build, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry([{"id": f"hn-air-{i:05d}", "kind": "air", "name": f"Trạm {i}",
                            "lat": 21.0 + (i % 100) / 1000, "lon": 105.8 + (i // 100) / 1000,
                            "district": f"Quận {i % 12}", "ward": f"Phường {i % 50}",
                            "interval_s": 300} for i in range(a.stations)])
        st.write_master_key()
        users = os.path.join(st.dir, "users")
        extra = {"console": {"users_file": users}}
        cfg = st.start_collector(extra=extra, wait_http=False)
        st.stop("collector")
        exe = os.path.join(a.build, "collector", "app", "collector")
        for name, role in (("bench", "viewer"), ("boss", "approver")):
            subprocess.run([exe, "staff-user", "add", name, role, "-c", cfg], input=b"bench-pass",
                           check=True, stderr=subprocess.DEVNULL, timeout=60)
        st.start_collector(extra=extra)
        wait_until(lambda: st.http_get("/healthz")[0] == 200, 60, "the collector subscribed")
        day0 = (int(time.time()) + 7 * 3600) // 86400 * 86400 - 7 * 3600
        start = day0 - (a.days - 1) * 86400
        t0 = time.monotonic()
        for k in range(a.sampled):
            dev = f"hn-air-{k * (a.stations // a.sampled):05d}"
            lines = [f"air,device={dev},district=Q,ward=P pm25={30 + (t // 300) % 40},pm10=60,"
                     f"no2=20 {t * 1000}" for t in range(start, day0 + 86400, 300)
                     if t < time.time()]
            for i in range(0, len(lines), 5000):
                req = urllib.request.Request(
                    f"http://127.0.0.1:{st.influx_port}/write?db={st.db}&precision=ms",
                    data="\n".join(lines[i:i + 5000]).encode(), method="POST")
                urllib.request.urlopen(req, timeout=60).read()
        print(f"wrote {a.days} days of 5-min points for {a.sampled} stations in "
              f"{time.monotonic() - t0:.1f} s")
        c = Client(st.staff_port)
        c.login("bench", "bench-pass")
        boss = Client(st.staff_port)
        boss.login("boss", "bench-pass")
        dev = "hn-air-00000"
        day = time.strftime("%Y-%m-%d", time.gmtime(day0 + 7 * 3600))
        boss.call("POST", "approve", {"id": dev, "day": day, "why": "bench"})

        def get(path):
            req = urllib.request.Request(c.base + path, headers={"Cookie": c.cookie})
            t = time.monotonic()
            with urllib.request.urlopen(req, timeout=120) as r:
                body = r.read()
            return time.monotonic() - t, len(body)
        cases = [("stations", "stations"), ("silent", "silent"),
                 ("completeness day", f"completeness?id={dev}&day={day}"),
                 ("completeness day CSV", f"completeness?id={dev}&day={day}&format=csv"),
                 ("completeness month", f"completeness?id={dev}&month={day[:7]}"),
                 ("aqi day", f"aqi?id={dev}&day={day}"),
                 ("export day", f"export?id={dev}&day={day}")]
        def approved():
            try:
                return get(f"export?id={dev}&day={day}")
            except urllib.error.HTTPError:
                return None
        wait_until(approved, 30, "the approval stored")
        print(f"{a.stations} stations; {os.cpu_count()} CPUs")
        print(f"{'request':24} {'median ms':>10} {'worst ms':>10} {'bytes':>10}")
        for name, path in cases:
            runs = [get(path) for _ in range(a.repeat)]
            ms = [r[0] * 1000 for r in runs]
            print(f"{name:24} {statistics.median(ms):10.1f} {max(ms):10.1f} {runs[0][1]:10d}")
        print("\nqueries issued:")
        for k, v in QUERIES.items():
            print(f"  {k}: {v}")
    finally:
        st.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
