#!/usr/bin/env python3
"""End-to-end (issue 12, point 5): a captured signed message published again is rejected and
counted, before and after a collector restart, and never written twice.

Real Mosquitto and InfluxDB. dur-pub publishes 40 signed readings; an MQTT v5 subscriber
(mosquitto_sub) captures the exact bytes on the wire (topic, payload, the `sig` user property).
Two captured messages are published again byte for byte (mosquitto_pub, same `sig`): the newest
reading of a device (a duplicate of its high-water mark) and an older one.
- before the restart: each is rejected and counted (citytel_rejected_total with reason
  "duplicate" or "replay" rises by exactly one per message), citytel_messages_accepted_total and
  citytel_store_points_total do not move, the stored points stay the same;
- the collector is stopped once its journal is committed (citytel_spool_records 0, so the
  journal's replay cannot be what remembers the devices), then started again with the same
  config and spool;
- after the restart: the same two messages are rejected and counted again, nothing accepted,
  nothing written; stored points == acknowledged readings exactly, no row twice."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from harness import Stack, wait_until  # noqa: E402
from durlib import (Checks, Publisher, assert_exact, fleet_registry, metrics_of,  # noqa: E402
                    start_dur_collector)

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

NAME = "c-replay"
DB = "dur_replay"
DEVICES = 4
COUNT = 40
DUP = 'citytel_rejected_total{reason="duplicate"}'
REPLAY = 'citytel_rejected_total{reason="replay"}'


def capture_start(st):
    """mosquitto_sub (MQTT v5) printing 'topic payload-hex user-properties' per message."""
    path = os.path.join(st.dir, "capture.txt")
    out = open(path, "wb")
    p = subprocess.Popen(["mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p", str(st.mqtt_port),
                          "-q", "1", "-t", "city/v1/+/+/up", "-F", "%t %x %P"],
                         stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)
    st.procs["capture"] = (p, out)
    return path


def captured(path):
    """[(topic, payload bytes, sig hex)] in arrival order."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2].startswith("sig:"):
                out.append((parts[0], bytes.fromhex(parts[1]), parts[2][4:]))
    return out


def republish(st, topic, payload, sig):
    """The captured bytes again, with the captured signature, at QoS 1."""
    subprocess.run(["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", str(st.mqtt_port),
                    "-q", "1", "-t", topic, "-s", "-D", "publish", "user-property", "sig", sig],
                   input=payload, check=True, timeout=20)


def main():
    ck = Checks()
    t0 = time.time()
    st = Stack("dur-replay", BUILD, SRC)
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.influx_post(f'CREATE DATABASE "{DB}"')
        st.write_registry(fleet_registry(DEVICES, 0))
        st.write_master_key()
        port = start_dur_collector(st, NAME, DB)
        cap = capture_start(st)
        time.sleep(1)  # the capture's subscription is in place
        pub = Publisher(st, "pub-replay", COUNT, 20, DEVICES, boot=51)
        rc, summary = pub.wait(60)
        ck.check(rc == 0, f"every reading acknowledged by the broker ({summary})")
        acked = pub.acked()
        wait_until(lambda: len(captured(cap)) >= COUNT, 20, "the capture of every message")
        msgs = captured(cap)
        assert_exact(ck, st, "before the replay", acked, DB, 60)
        # The newest message of the first device (its high-water mark) and an older one of it.
        first_topic = msgs[0][0]
        mine = [m for m in msgs if m[0] == first_topic]
        chosen = [mine[-1], mine[len(mine) // 2 - 1]]
        ck.figure(f"captured {len(msgs)} messages; replaying {len(chosen)} of {first_topic}: "
                  + ", ".join(m[1].decode()[:80] for m in chosen))

        def replay_round(when, port):
            m0 = metrics_of(st, port)
            rows0 = assert_exact(ck, st, f"{when}, before the replay", acked, DB, 30)
            for topic, payload, sig in chosen:
                republish(st, topic, payload, sig)

            def counted():
                m = metrics_of(st, port)
                return (m.get(DUP, 0) + m.get(REPLAY, 0)) - (m0.get(DUP, 0) + m0.get(REPLAY, 0))
            try:
                wait_until(lambda: counted() >= len(chosen), 30, "the replays counted")
            except AssertionError:
                pass
            time.sleep(2)  # anything written would be written by now (flush_ms 200)
            m = metrics_of(st, port)
            n = counted()
            ck.check(n == len(chosen), f"{when}: each replayed message rejected and counted once "
                                       f"as duplicate or replay ({n} of {len(chosen)}; "
                                       f"duplicate {m.get(DUP)}, replay {m.get(REPLAY)})")
            acc = m.get("citytel_messages_accepted_total", 0) - m0.get(
                "citytel_messages_accepted_total", 0)
            ck.check(acc == 0, f"{when}: no replayed message accepted ({acc:.0f})")
            # Derived points (window aggregates, the `rejected` counts) may be written meanwhile;
            # what must not change is the readings: compared row by row below.
            got = assert_exact(ck, st, f"{when}, after the replay", acked, DB, 10)
            ck.check(got == rows0, f"{when}: the stored points are unchanged")

        replay_round("before the restart", port)

        # Stop once the journal is committed, so that after the restart the devices' high-water
        # marks can only come from state kept across restarts, not from replaying the journal.
        try:
            wait_until(lambda: metrics_of(st, port).get("citytel_spool_records", 1) == 0, 60,
                       "the journal committed", interval=0.5)
        except AssertionError:
            pass
        recs = metrics_of(st, port).get("citytel_spool_records")
        ck.figure(f"journal records at the stop: {recs}")
        ck.check(st.stop(NAME, sig=signal.SIGTERM) == 0, "the collector stops cleanly")
        port = start_dur_collector(st, NAME, DB)
        replay_round("after the restart", port)
        ck.check(st.stop(NAME) == 0, "the collector stops cleanly at the end")
    except AssertionError as e:
        ck.check(False, str(e))
    finally:
        if ck.failed:
            print(f"--- {NAME} log (tail) ---\n{st.log(NAME)[-3000:]}")
        st.close()
    return ck.done(t0)


if __name__ == "__main__":
    sys.exit(main())
