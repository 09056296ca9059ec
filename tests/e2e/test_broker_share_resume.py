#!/usr/bin/env python3
"""The broker keeps the scale-out promise when a shared-subscription member resumes its session.

Three durable MQTT v5 members A, B, C share `$share/g/t` at QoS 1 on the real Mosquitto. A drops
its connection without DISCONNECT (as a SIGKILLed collector does) and reconnects with the same
client id and clean start off. The broker is stopped (SIGSTOP) while A's CONNECT and one QoS 1
PUBLISH from each of nine publishers are sent, so that it handles the resume and the publishes in
one pass of its loop, the resume first. Upstream Mosquitto 2.0.11 left the old connection on the
share until the end of that pass and dropped, after its PUBACK, every message routed to it
(fixed in 2.0.12, commit 32af599c; docs/durability.md). Asserts: the resume was handled before
at least three of the publishes, every acknowledged message reaches a member, and some reach A on its
resumed session. Raw MQTT over sockets: no client library hides the order of the packets."""
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, free_port, wait_until  # noqa: E402

NPUB = 9
FILTER, TOPIC = "$share/g/t", "t"
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


def vint(n):
    out = b""
    while True:
        b, n = n % 128, n // 128
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def pkt(head, body):
    return bytes([head]) + vint(len(body)) + body


def mstr(x):
    x = x.encode()
    return struct.pack(">H", len(x)) + x


def connect(cid, clean):
    props = b"" if clean else b"\x11" + struct.pack(">I", 3600)  # session expiry 1 h
    return pkt(0x10, mstr("MQTT") + bytes([5, 0x02 if clean else 0]) + struct.pack(">H", 60) +
               vint(len(props)) + props + mstr(cid))


def subscribe(pid):
    return pkt(0x82, struct.pack(">H", pid) + b"\x00" + mstr(FILTER) + b"\x01")


def publish(payload):
    return pkt(0x32, mstr(TOPIC) + struct.pack(">H", 1) + b"\x00" + payload)


def stopped(pid):
    """True once the process is in the stopped state (SIGSTOP takes effect asynchronously)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0] == "T"


class Conn:
    """One MQTT connection: packets as (type, body); PUBLISHes are acknowledged and kept."""

    def __init__(self, port):
        self.sk = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.types = []
        self.bodies = []
        self.got = []

    def send(self, b):
        self.sk.sendall(b)

    def _parse(self):
        while len(self.buf) >= 2:
            n, mul, i = 0, 1, 1
            while True:
                if i >= len(self.buf):
                    return
                b = self.buf[i]
                n, mul, i = n + (b & 127) * mul, mul * 128, i + 1
                if not b & 128:
                    break
            if len(self.buf) < i + n:
                return
            kind, body = self.buf[0] >> 4, self.buf[i:i + n]
            self.buf = self.buf[i + n:]
            self.types.append(kind)
            self.bodies.append(body)
            if kind == 3:  # PUBLISH QoS 1: topic, packet id, properties, payload
                p = 2 + struct.unpack(">H", body[:2])[0]
                pid = body[p:p + 2]
                p, plen, mul = p + 2, 0, 1
                while True:
                    b = body[p]
                    p, plen, mul = p + 1, plen + (b & 127) * mul, mul * 128
                    if not b & 128:
                        break
                self.got.append(body[p + plen:])
                self.send(pkt(0x40, pid))

    def pump(self, timeout=0.05):
        self.sk.settimeout(timeout)
        try:
            d = self.sk.recv(65536)
        except socket.timeout:
            return
        if d:
            self.buf += d
            self._parse()

    def expect(self, kind, timeout=30):
        def seen():
            self.pump()
            return kind in self.types
        wait_until(seen, timeout, f"packet type {kind}", interval=0)
        return self.bodies[self.types.index(kind)]


def main():
    st = Stack("share-resume", None, None)
    conns = []
    log = os.path.join(st.dir, "mosquitto", "mosquitto.log")
    try:
        d = os.path.join(st.dir, "mosquitto")
        os.makedirs(d)
        port = free_port()
        conf = os.path.join(d, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    f"log_dest file {log}\nlog_type all\n")
            if os.geteuid() == 0:
                f.write("user root\n")
        st._spawn("mosquitto", ["mosquitto", "-c", conf], os.path.join(d, "out.log"))
        st.wait_port(port, 20)
        broker = st.procs["mosquitto"][0]

        members = {}
        for cid in ("A", "B", "C"):
            c = Conn(port)
            conns.append(c)
            c.send(connect(cid, False))
            c.expect(2)
            c.send(subscribe(1))
            c.expect(9)
            members[cid] = c
        members["A"].sk.close()  # no DISCONNECT: the session and its share stay
        wait_until(lambda: "Client A closed its connection" in open(log).read(), 30,
                   "the broker saw A go")
        a2 = Conn(port)
        conns.append(a2)
        pubs = []
        for i in range(NPUB):
            p = Conn(port)
            conns.append(p)
            p.send(connect(f"P{i}", True))
            p.expect(2)
            pubs.append(p)

        time.sleep(0.5)  # the broker's loop goes idle: no connection is left on its ready list
        os.kill(broker.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: stopped(broker.pid), 10, "the broker stopped", interval=0.01)
            a2.send(connect("A", False))
            time.sleep(0.1)  # A's socket becomes readable first
            for i, p in enumerate(pubs):
                p.send(publish(f"m{i}".encode()))
            time.sleep(0.1)
        finally:
            os.kill(broker.pid, signal.SIGCONT)

        connack = a2.expect(2)
        check(connack[0] & 1 == 1, "A resumed its session (CONNACK session present)")
        acked = set()
        for i, p in enumerate(pubs):
            p.expect(4)
            acked.add(f"m{i}".encode())
        check(len(acked) == NPUB, f"the broker acknowledged every publish ({len(acked)})")
        a2.send(subscribe(2))  # as the collector does after every CONNACK
        a2.expect(9)
        everyone = [a2, members["B"], members["C"]]

        def delivered():
            for c in everyone:
                c.pump()
            return acked <= {m for c in everyone for m in c.got}
        try:
            wait_until(delivered, 20, "every acknowledged message delivered", interval=0)
        except AssertionError:
            pass
        got = {m for c in everyone for m in c.got}
        check(acked <= got, f"every acknowledged message reached a member of the share "
                            f"(lost {sorted(acked - got)})")
        check(len(a2.got) > 0, f"the resumed A received its part ({sorted(a2.got)})")
        lines = open(log).read().splitlines()
        resumed = max((i for i, ln in enumerate(lines) if "as A (p5, c0" in ln), default=0)
        after = sum(1 for ln in lines[resumed:] if "Received PUBLISH from P" in ln)
        check(resumed > 0 and after >= 3,
              f"the broker handled A's resume before at least 3 of the publishes ({after}), so "
              "the round robin routed one of them to A's share entry")
    finally:
        for c in conns:
            c.sk.close()
        if failed:
            tail = open(log).read()[-6000:] if os.path.exists(log) else ""
            print(f"--- mosquitto log ---\n{tail}")
        st.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
