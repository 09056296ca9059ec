#!/usr/bin/env python3
"""End-to-end (issue 12, points 1 and 9): the spool on a full file system loses nothing.

The spool directory is on a 4 MiB tmpfs (mount -t tmpfs; the test needs root and exits 77,
skipped, when the mount fails); spool.max_bytes stays large, so the file system fills before
the spool's own bound, with the default segment size. InfluxDB is stopped and a burst of
readings fills the file system while a steady load continues. Then:
- the broker keeps what could not be made durable: it acknowledged every reading to the
  publishers, and the collector took fewer messages than that (citytel_mqtt_messages_total);
- /healthz answers within 2 s with 503 and "spool_ok":false (the spool cannot take data);
- the log says the disk is full, once or a few times, not thousands of lines (< 20 lines
  naming "No space left on device" / ENOSPC / disk or file system full);
InfluxDB returns: the backlog drains, the tmpfs frees (under half used) and every reading the
broker acknowledged is stored exactly once (by device and time): none lost, none extra."""
import os
import re
import subprocess
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

SKIP = 77
N_AIR, N_WATER = 20, 5
DEVICES = N_AIR + N_WATER
NAME = "c-disk"
DB = "dur_disk"
DISK_FULL = re.compile(r"no space left|enospc|disk (is )?full|file ?system (is )?full", re.I)


def used_fraction(path):
    v = os.statvfs(path)
    return 1.0 - v.f_bavail / v.f_blocks if v.f_blocks else 0.0


def main():
    ck = Checks()
    t0 = time.time()
    st = Stack("dur-disk-full", BUILD, SRC)
    mnt = os.path.join(st.dir, "tmpfs")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt],
                       stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        print(f"SKIP: cannot mount a tmpfs for the spool (needs root and CAP_SYS_ADMIN): "
              f"{r.stderr.decode().strip()}", flush=True)
        st.close()
        return SKIP
    mounted = True
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.influx_post(f'CREATE DATABASE "{DB}"')
        st.write_registry(fleet_registry(N_AIR, N_WATER))
        st.write_master_key()
        # spool.min_free_bytes at its lowest (256 KiB): the file system fills to that budget.
        extra = {"spool": {"dir": os.path.join(mnt, "spool"), "max_bytes": "1GiB",
                           "min_free_bytes": "256KiB"}}
        port = start_dur_collector(st, NAME, DB, extra)
        steady = Publisher(st, "pub-steady", 20 * 70, 20, DEVICES // 2, boot=31)
        wait_until(lambda: metrics_of(st, port).get("citytel_store_points_total", 0) > 20, 30,
                   "points stored before the outage")
        influx_port = st.influx_port
        st.stop("influxd")
        t_down = time.time()
        # About 15 000 journal records fit in 4 MiB: 20 000 readings at 800/s overflow it.
        burst = Publisher(st, "pub-burst", 20000, 800, DEVICES - DEVICES // 2, boot=32,
                          registry=registry_tail(st, DEVICES // 2, "burst"))
        try:
            wait_until(lambda: used_fraction(mnt) > 0.9, 90, "the tmpfs full", interval=0.5)
        except AssertionError:
            pass
        ck.check(used_fraction(mnt) > 0.9, f"the spool's file system filled to its budget "
                                           f"({used_fraction(mnt):.0%} used)")
        ck.figure(f"file system full {time.time() - t_down:.1f} s after the store went down")
        rc, summary = burst.wait(120)
        ck.check(rc == 0, f"the broker acknowledged the whole burst ({summary})")
        time.sleep(10)  # the full disk lasts: at most a few log lines about it

        code, body, secs = timed_get(st, port, "/healthz", 2.0)
        ck.check(code == 503 and b'"spool_ok":false' in body,
                 f"full disk: /healthz answers within 2 s, 503 with spool_ok false "
                              f"({code}, {secs:.2f} s, {body[:200]!r})")
        m = metrics_of(st, port, 2.0)
        taken = m.get("citytel_mqtt_messages_total", 0)
        sent = len(burst.acked()) + len(steady.acked())
        ck.check(0 < taken < sent, f"the broker keeps what could not be made durable "
                                   f"({sent} acknowledged to the publishers, {taken:.0f} taken "
                                   "by the collector)")
        lines = [x for x in st.log(NAME).splitlines() if DISK_FULL.search(x)]
        ck.check(1 <= len(lines) < 20, f"the log says the disk is full, {len(lines)} line(s) "
                                       f"(first: {lines[:1]})")

        # The store returns: drained, the tmpfs frees, nothing lost.
        start_influxdb_on(st, influx_port)
        ck.figure(f"store down for {time.time() - t_down:.1f} s")
        rc, summary = steady.wait(180)
        ck.check(rc == 0, f"the broker acknowledged the steady load ({summary})")
        acked = burst.acked() | steady.acked()
        assert_exact(ck, st, "full disk", acked, DB, 180)
        try:
            wait_until(lambda: used_fraction(mnt) < 0.5, 90, "the tmpfs freed", interval=1.0)
        except AssertionError:
            pass
        ck.check(used_fraction(mnt) < 0.5, f"the spool's file system frees once the store took "
                                           f"the backlog ({used_fraction(mnt):.0%} used)")
        code, body, _ = timed_get(st, port, "/healthz", 5.0)
        ck.check(code == 200, f"/healthz is ok again ({code} {body[:200]!r})")
        ck.check(st.stop(NAME) == 0, "the collector stops cleanly")
    except AssertionError as e:
        ck.check(False, str(e))
    finally:
        if ck.failed:
            log = st.log(NAME)
            n = len([x for x in log.splitlines() if DISK_FULL.search(x)])
            print(f"--- {NAME} log ({n} disk-full lines; tail) ---\n{log[-3000:]}")
        for name in list(st.procs):
            st.stop(name, timeout=10)
        if mounted:
            subprocess.run(["umount", "-l", mnt], check=False)
        st.close()
    return ck.done(t0)


if __name__ == "__main__":
    sys.exit(main())
