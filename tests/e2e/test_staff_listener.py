#!/usr/bin/env python3
"""End-to-end: the staff listener stays answering while one client fills the public one (issue
13, point 3).

The real Mosquitto and InfluxDB and the collector with its two listeners on loopback. Asserts:
/healthz and /metrics are served on the staff port and not on the public port (404 there);
(1) with no per-client cap, 256 idle connections from one address fill the public listener
(http.max_connections 256: a 257th is refused) and /healthz and /metrics on the staff port each
answer in under 1 s; (2) with the default cap (http.max_connections_per_client 16), the same 256
connections leave the public listener answering another client address (127.0.0.2) and the staff
listener answering in under 1 s; the refusals are counted in /metrics as
citytel_http_refused_total{listener="public",reason="per_client"}."""
import os
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, wait_until  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
SRC = os.environ.get("CT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
IDLE = 256

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL - {what}", flush=True)


def timed_get(port, path, source="127.0.0.1"):
    """(status or None, seconds) of one GET from 'source' with a fresh connection."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
    except OSError:
        status = None
    return status, time.monotonic() - t0


def open_idle(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks


def main():
    st = Stack("staff", BUILD, SRC)
    socks = []
    try:
        st.start_mosquitto()
        st.start_influxdb()
        st.write_registry([{"id": "hn-air-0001", "kind": "air", "name": "Trạm A", "lat": 21.03,
                            "lon": 105.85, "district": "Hoàn Kiếm", "ward": "Hàng Bông"}])
        st.write_master_key()

        # (1) No per-client cap: the public listener full, the staff one untouched.
        st.start_collector(extra={"http": {"max_connections_per_client": 0,
                                           "timeout_ms": "60s"}})
        wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 30, "collector connected")
        check(st.http_get("/healthz", port=st.http_port)[0] == 404
              and st.http_get("/metrics", port=st.http_port)[0] == 404,
              "/healthz and /metrics are not served on the public port")
        check(st.http_get("/layers/air.geojson", port=st.staff_port)[0] == 404,
              "the public layers are not served on the staff port")
        socks = open_idle(st.http_port, IDLE)
        wait_until(lambda: st.metric('citytel_http_connections{listener="public"}') >= IDLE, 20,
                   f"{IDLE} idle public connections")
        extra, _ = timed_get(st.http_port, "/layers/air.geojson")
        check(extra is None, f"the public listener is full: connection {IDLE + 1} is refused "
                             f"({extra})")
        for path in ("/healthz", "/metrics"):
            status, took = timed_get(st.staff_port, path)
            check(status == 200 and took < 1.0,
                  f"with {IDLE} idle public connections, staff {path} answers {status} in "
                  f"{took:.3f} s (< 1 s)")
        for s in socks:
            s.close()
        socks = []
        check(st.stop("collector") == 0, "the collector stops cleanly")

        # (2) The default per-client cap: one address cannot take the public listener.
        st.start_collector(extra={"http": {"timeout_ms": "60s"}})
        wait_until(lambda: st.metric("citytel_mqtt_connected") == 1, 30, "collector connected")
        socks = open_idle(st.http_port, IDLE)
        key = 'citytel_http_refused_total{listener="public",reason="per_client"}'
        try:
            wait_until(lambda: st.metric(key) >= IDLE - 16, 20, "per-client refusals counted")
        except AssertionError:
            pass
        check(st.metric(key) == IDLE - 16,
              f"{IDLE - 16} of {IDLE} connections from one address refused and counted "
              f"({key} = {st.metric(key)})")
        status, took = timed_get(st.http_port, "/layers/air.geojson", source="127.0.0.2")
        check(status in (200, 503) and took < 5.0,
              f"another client address still gets an answer from the public listener "
              f"({status} in {took:.3f} s)")
        for path in ("/healthz", "/metrics"):
            status, took = timed_get(st.staff_port, path)
            check(status == 200 and took < 1.0,
                  f"staff {path} answers {status} in {took:.3f} s (< 1 s)")
        check(st.stop("collector") == 0, "the collector stops cleanly")
    finally:
        for s in socks:
            s.close()
        if failed:
            print(f"--- collector log ---\n{st.log('collector')[-3000:]}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
