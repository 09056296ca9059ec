#!/usr/bin/env python3
"""End-to-end (issue 12, points 1 and 2): a full spool with stale-station alerts firing must not
deadlock, and loses nothing.

Real Mosquitto and InfluxDB. A collector with a small spool (spool.max_bytes 1 MiB, segments of
128 KiB) and short liveness (interval_s 2 in the registry, liveness.stale_intervals 1), a steady
load; InfluxDB is stopped and a burst fills the spool while the load continues. With the spool
full and stations going stale (stale alerts are published on MQTT by the loop):
- /healthz answers within 2 s, 503 with "spool_ok":false; /metrics answers with
  citytel_spool_full 1; the log has a line containing "spool is full";
- this still holds 15 s later (the stale alerts have fired by then: citytel_alerts_total
  {type="stale"} > 0);
- SIGTERM makes the collector exit within 5 s;
- restarted with the same config and spool, while the store is still down, it answers /healthz;
Then InfluxDB returns: every reading the broker acknowledged to the publishers is stored exactly
once (by device and time), none lost, none extra."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, wait_until  # noqa: E402
from durlib import (registry_tail, Checks, Publisher, assert_exact, fleet_registry, metrics_of,  # noqa: E402
                    start_dur_collector, start_influxdb_on, timed_get)

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

N_AIR, N_WATER = 20, 5
DEVICES = N_AIR + N_WATER
SPOOL = {"max_bytes": "1MiB", "segment_bytes": "128KiB", "full_policy": "block"}
NAME = "c-full"
DB = "dur_full"


def main():
    ck = Checks()
    t0 = time.time()
    st = Stack("dur-spool-full", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.influx_post(f'CREATE DATABASE "{DB}"')
        st.write_registry(fleet_registry(N_AIR, N_WATER, interval_s=2))
        st.write_master_key()
        extra = {"spool": SPOOL, "liveness": {"stale_intervals": 1}}
        port = start_dur_collector(st, NAME, DB, extra)

        # A steady load for the whole test (20 readings/s), then the store goes down.
        steady = Publisher(st, "pub-steady", 20 * 75, 20, DEVICES // 2, boot=11)
        wait_until(lambda: metrics_of(st, port).get("citytel_store_points_total", 0) > 20, 30,
                   "points stored before the outage")
        influx_port = st.influx_port
        st.stop("influxd")
        t_down = time.time()

        # A burst of 6000 readings at 400/s: the 1 MiB journal holds about 3800.
        burst = Publisher(st, "pub-burst", 6000, 400, DEVICES - DEVICES // 2, boot=12,
                          registry=registry_tail(st, DEVICES // 2, "burst"))

        def full():
            return metrics_of(st, port, timeout=3).get("citytel_spool_full") == 1
        try:
            wait_until(full, 60, "citytel_spool_full 1", interval=0.5)
        except AssertionError:
            pass
        ck.figure(f"spool full {time.time() - t_down:.1f} s after the store went down")

        def probe(when):
            code, body, secs = timed_get(st, port, "/healthz", 2.0)
            ck.check(code == 503 and b'"spool_ok":false' in body,
                     f"{when}: /healthz answers within 2 s, 503 with spool_ok false "
                     f"(status {code}, {secs:.2f} s, {body[:200]!r})")
            m = metrics_of(st, port, timeout=2.0)
            ck.check(m.get("citytel_spool_full") == 1,
                     f"{when}: /metrics answers, citytel_spool_full 1 "
                     f"({m.get('citytel_spool_full')})")
            return m

        probe("spool full")
        ck.check("spool is full" in st.log(NAME), "the log says the spool is full")
        # Stations go stale while nothing is processed: the loop publishes stale alerts.
        try:
            wait_until(lambda: metrics_of(st, port, 2.0).get(
                'citytel_alerts_total{type="stale"}', 0) > 0, 20, "stale alerts", interval=0.5)
        except AssertionError:
            pass
        time.sleep(15)
        m = probe("15 s later, stale alerts fired")
        stale = m.get('citytel_alerts_total{type="stale"}', 0)
        ck.check(stale > 0, f"stale-station alerts fired while the spool was full ({stale})")
        ck.check(st.procs[NAME][0].poll() is None, "the collector still runs with a full spool")

        # SIGTERM with the spool full and the store down: exits within 5 s.
        proc = st.procs[NAME][0]
        t_term = time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5.0)
            exited = True
        except Exception:
            exited = False
        ck.check(exited, f"SIGTERM with a full spool: exit within 5 s "
                         f"({time.time() - t_term:.1f} s, status {proc.returncode})")
        st.stop(NAME, sig=signal.SIGKILL)

        # Restarted with the same spool while the store is still down: it answers.
        port = start_dur_collector(st, NAME, DB, extra, wait_subscribed=False)
        code, body, secs = timed_get(st, port, "/healthz", 2.0)
        ck.check(code in (200, 503), f"restarted with the full spool: /healthz answers within "
                                     f"2 s (status {code}, {secs:.2f} s)")
        time.sleep(3)

        # The store returns: everything acknowledged is stored, exactly once.
        start_influxdb_on(st, influx_port)
        ck.figure(f"store down for {time.time() - t_down:.1f} s")
        for pub in (burst, steady):
            rc, summary = pub.wait(180)
            ck.check(rc == 0, f"{pub.name}: every reading acknowledged by the broker ({summary})")
        acked = burst.acked() | steady.acked()
        assert_exact(ck, st, "spool full", acked, DB, 120)
        try:
            wait_until(lambda: metrics_of(st, port).get("citytel_spool_full") == 0, 60,
                       "the spool freed")
        except AssertionError:
            pass
        code, body, _ = timed_get(st, port, "/healthz", 5.0)
        ck.check(code == 200, f"/healthz is ok again ({code} {body[:200]!r})")
        ck.check(st.stop(NAME) == 0, "the collector stops cleanly")
    except AssertionError as e:
        ck.check(False, str(e))
    finally:
        if ck.failed:
            print(f"--- {NAME} log ---\n{st.log(NAME)[-3000:]}")
        st.close()
    return ck.done(t0)


if __name__ == "__main__":
    sys.exit(main())
