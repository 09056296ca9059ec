#!/usr/bin/env python3
"""End-to-end (issue 12, point 1): SIGKILL at 20 random moments under a steady load loses
nothing and stores nothing twice.

Real Mosquitto and InfluxDB; one collector with a small spool (spool.max_bytes 1 MiB, segments
of 128 KiB), killed with SIGKILL and restarted with the same config and spool, 20 times:
- phase 1 (store up): 13 kills at random moments (0.3 to 4 s after the restart);
- phase 2 (InfluxDB stopped, a burst fills the spool): 4 kills while citytel_spool_full is 1
  (each after the restarted collector reports the spool full again);
- phase 3 (InfluxDB back, the backlog draining): 3 kills.
A steady publisher runs throughout. At the end every reading the broker acknowledged to the
publishers is stored exactly once (by device and time): none lost, none extra.
The random moments come from CT_SEED (printed) so a failure can be replayed."""
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, wait_until  # noqa: E402
from durlib import (registry_tail, Checks, Publisher, assert_exact, fleet_registry, metrics_of,  # noqa: E402
                    start_dur_collector, start_influxdb_on)

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

N_AIR, N_WATER = 20, 5
DEVICES = N_AIR + N_WATER
RATE = 30
KILLS_UP, KILLS_FULL, KILLS_DRAIN = 13, 4, 3
NAME = "c-kill"
DB = "dur_kill"
EXTRA = {"spool": {"max_bytes": "1MiB", "segment_bytes": "128KiB", "full_policy": "block"}}


def main():
    ck = Checks()
    t0 = time.time()
    seed = int(os.environ.get("CT_SEED", str(int(time.time()))))
    rnd = random.Random(seed)
    print(f"# CT_SEED={seed}", flush=True)
    st = Stack("dur-kill", BUILD, SRC)
    kills = []

    def kill(phase):
        m = metrics_of(st, st.staff_port, timeout=2)
        st.stop(NAME, sig=signal.SIGKILL)
        kills.append((phase, m.get("citytel_spool_full"), m.get("citytel_spool_records")))
        time.sleep(rnd.uniform(0.0, 1.0))
        return start_dur_collector(st, NAME, DB, EXTRA, wait_subscribed=False)

    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.influx_post(f'CREATE DATABASE "{DB}"')
        st.write_registry(fleet_registry(N_AIR, N_WATER))
        st.write_master_key()
        port = start_dur_collector(st, NAME, DB, EXTRA)
        steady = Publisher(st, "pub-steady", RATE * 110, RATE, DEVICES // 2, boot=21)
        pubs = [steady]
        time.sleep(2)

        # Phase 1: the store is up.
        for _ in range(KILLS_UP):
            time.sleep(rnd.uniform(0.3, 4.0))
            port = kill("up")

        # Phase 2: the store down, a burst fills the spool; kills while it is full.
        influx_port = st.influx_port
        st.stop("influxd")
        burst = Publisher(st, "pub-burst", 6000, 400, DEVICES - DEVICES // 2, boot=22,
                          registry=registry_tail(st, DEVICES // 2, "burst"))
        pubs.append(burst)
        full_kills = 0
        for _ in range(KILLS_FULL):
            try:
                wait_until(lambda: metrics_of(st, st.staff_port, 2).get("citytel_spool_full") == 1,
                           60, "citytel_spool_full 1", interval=0.3)
            except AssertionError:
                pass
            time.sleep(rnd.uniform(0.2, 2.0))
            if metrics_of(st, st.staff_port, 2).get("citytel_spool_full") == 1:
                full_kills += 1
            port = kill("full")
        ck.check(full_kills >= 3, f"{full_kills} of the kills came while the spool was full "
                                  "(citytel_spool_full 1)")

        # Phase 3: the store returns; kills while the backlog drains.
        start_influxdb_on(st, influx_port)
        for _ in range(KILLS_DRAIN):
            time.sleep(rnd.uniform(0.5, 4.0))
            port = kill("drain")
        ck.check(len(kills) == KILLS_UP + KILLS_FULL + KILLS_DRAIN,
                 f"{len(kills)} SIGKILLs at random moments")
        ck.figure("kills (phase, spool_full, spool_records): " + ", ".join(
            f"({p}, {f}, {r})" for p, f, r in kills))
        wait_until(lambda: b'"mqtt_connected":true' in st.http_get("/healthz")[2], 30,
                   "the last collector subscribed")

        for pub in pubs:
            rc, summary = pub.wait(300)
            ck.check(rc == 0, f"{pub.name}: every reading acknowledged by the broker ({summary})")
        acked = set()
        for pub in pubs:
            acked |= pub.acked()
        assert_exact(ck, st, f"{len(kills)} SIGKILLs", acked, DB, 180)
        ck.check(st.stop(NAME) == 0, "the collector stops cleanly at the end")
        _ = port
    except AssertionError as e:
        ck.check(False, str(e))
    finally:
        if ck.failed:
            print(f"--- {NAME} log (tail) ---\n{st.log(NAME)[-4000:]}")
        st.close()
    return ck.done(t0)


if __name__ == "__main__":
    sys.exit(main())
