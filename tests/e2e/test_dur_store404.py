#!/usr/bin/env python3
"""End-to-end (issue 12, point 3): InfluxDB answering 404 (database not found) for 10 minutes
loses nothing and quarantines nothing.

Real Mosquitto and InfluxDB. The collector writes to a database that does not exist yet, so
every write is answered 404 "database not found"; a low-rate load continues for OUTAGE_S
(600 s; CT_DUR_404_S overrides it for a quick local run). A missing database is the store's
state, not the data's: the collector keeps the data and retries. Then the database is created:
every reading the broker acknowledged is stored exactly once (by device and time), none lost,
none extra, and nothing went to the quarantine (citytel_quarantined_total 0, no rejected
lines, the quarantine file empty or absent)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, wait_until  # noqa: E402
from durlib import (Checks, Publisher, assert_exact, fleet_registry, metrics_of,  # noqa: E402
                    start_dur_collector, timed_get)

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

OUTAGE_S = float(os.environ.get("CT_DUR_404_S", "600"))  # the database is missing this long
RATE = 5  # readings per second: a low rate, ~3000 readings over 10 minutes
N_AIR, N_WATER = 8, 2
DEVICES = N_AIR + N_WATER
NAME = "c-404"
DB = "dur_404"


def main():
    ck = Checks()
    t0 = time.time()
    st = Stack("dur-store404", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry(fleet_registry(N_AIR, N_WATER))
        st.write_master_key()
        port = start_dur_collector(st, NAME, DB)
        tail_s = 15
        pub = Publisher(st, "pub-404", int(RATE * (OUTAGE_S + tail_s)), RATE, DEVICES, boot=41,
                        extra=["--timeout-s", str(int(OUTAGE_S + tail_s + 300))])
        t_start = time.time()
        samples = []
        while time.time() - t_start < OUTAGE_S:
            m = metrics_of(st, port)
            samples.append(m)
            time.sleep(min(10.0, max(0.5, OUTAGE_S - (time.time() - t_start))))
        m = metrics_of(st, port)
        ck.check(m.get("citytel_store_points_total", 0) == 0,
                 f"during the 404s nothing was stored (points {m.get('citytel_store_points_total')})")
        ck.check(m.get("citytel_store_retries_total", 0) > 0,
                 f"the 404s were retried (citytel_store_retries_total "
                 f"{m.get('citytel_store_retries_total')})")
        ck.check(m.get("citytel_quarantined_total", 0) == 0,
                 f"nothing quarantined during the 404s ({m.get('citytel_quarantined_total')})")
        code, body, _ = timed_get(st, port, "/healthz", 5.0)
        ck.check(code == 503 and b'"store_ok":false' in body,
                 f"/healthz says the store is not ok during the 404s ({code} {body[:200]!r})")
        ck.figure(f"database missing for {time.time() - t_start:.0f} s at {RATE} readings/s; "
                  f"journal records {m.get('citytel_spool_records')}, pending bytes "
                  f"{m.get('citytel_store_pending_bytes')}")

        st.influx_post(f'CREATE DATABASE "{DB}"')
        t_created = time.time()
        rc, summary = pub.wait(OUTAGE_S + tail_s + 300)
        ck.check(rc == 0, f"every reading acknowledged by the broker ({summary})")
        acked = pub.acked()
        assert_exact(ck, st, "404 for the outage", acked, DB, 180)
        ck.figure(f"stored {time.time() - t_created:.1f} s after the database was created")
        m = metrics_of(st, port)
        rejected = sum(v for k, v in m.items() if k.startswith("citytel_store_rejected_lines_total"))
        ck.check(m.get("citytel_quarantined_total", 0) == 0 and rejected == 0,
                 f"nothing quarantined (citytel_quarantined_total "
                 f"{m.get('citytel_quarantined_total')}, rejected lines {rejected})")
        qpath = os.path.join(st.dir, f"{NAME}-quarantine.jsonl")
        qsize = os.path.getsize(qpath) if os.path.exists(qpath) else 0
        ck.check(qsize == 0, f"the quarantine file is empty ({qsize} bytes)")
        wait_until(lambda: timed_get(st, port, "/healthz", 5.0)[0] == 200, 60, "/healthz ok")
        ck.check(True, "/healthz is ok again once the database exists")
        ck.check(st.stop(NAME) == 0, "the collector stops cleanly")
    except AssertionError as e:
        ck.check(False, str(e))
    finally:
        if ck.failed:
            print(f"--- {NAME} log (tail) ---\n{st.log(NAME)[-3000:]}")
        st.close()
    return ck.done(t0)


if __name__ == "__main__":
    sys.exit(main())
