#!/usr/bin/env python3
"""tt10_run.py - TT 10/2021 outbox figures against a real vsftpd (FTPS, explicit TLS) and OpenSSH
sftp server on loopback (tests/e2e/tt10_servers.py), driven by tt10-bench:

  live     10 000 stations' files (one 5-minute round: 2 000 files a minute is the load) written
           (fsync each) and delivered to one receiver; files/s written and delivered
  backlog  the receiver down while N rounds are written, then up: catch-up files/s, and the time
           a day's backlog (288 rounds of 10 000 stations) takes at that rate

    python3 simulations/bench/tt10_run.py [--build DIR] [--stations N] [--rounds R] [--parallel P]

Not a test: prints figures (one JSON line per measurement)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import tt10_servers  # noqa: E402


def bench(build, outbox, url, srv, extra):
    args = [os.path.join(build, "simulations", "bench", "tt10-bench"), "--dir", outbox,
            "--receivers", url, "--retry-base-ms", "200", "--retry-max-ms", "1000"] + extra
    if isinstance(srv, tt10_servers.Vsftpd):
        args += ["--ca", srv.cert]
    else:
        args += ["--ssh-key", srv.client_key, "--ssh-pub", srv.client_pub, "--known-hosts",
                 srv.known_hosts]
    p = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    return p.returncode, json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--stations", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--receiver", choices=["ftps", "sftp", "both"], default="both")
    ap.add_argument("sections", nargs="*", default=["live", "backlog"])
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ct-tt10-bench-")
    v = tt10_servers.Vsftpd(tmp)
    s = tt10_servers.Sshd(tmp)
    try:
        rcvs = [(n, r) for n, r in (("ftps", v), ("sftp", s)) if a.receiver in (n, "both")]
        for name, srv in rcvs if "live" in a.sections else ():
            ob = os.path.join(tmp, "live-" + name)
            rc, st = bench(a.build, ob, srv.url, srv,
                           ["--stations", str(a.stations), "--times", "1", "--until-idle",
                            "--max-seconds", "1800", "--parallel", str(a.parallel)])
            n = st["written"]
            print(json.dumps({"section": "live", "receiver": name, "files": n,
                              "write_files_per_s": round(n / st["write_s"], 1),
                              "delivered": st["receivers"][0]["delivered"],
                              "deliver_files_per_s": round(n / st["elapsed_s"], 1),
                              "elapsed_s": st["elapsed_s"], "rc": rc}), flush=True)
        for name, srv in rcvs if "backlog" in a.sections else ():
            ob = os.path.join(tmp, "backlog-" + name)
            srv.stop()
            rc, st = bench(a.build, ob, srv.url, srv,
                           ["--stations", str(a.stations), "--times", str(a.rounds),
                            "--until-written", "--max-seconds", "600", "--no-fsync"])
            n = st["written"]
            srv.start()
            t0 = time.time()
            rc, st = bench(a.build, ob, srv.url, srv,
                           ["--stations", "0", "--until-idle", "--max-seconds", "3600",
                            "--parallel", str(a.parallel)])
            wall = time.time() - t0
            rate = st["receivers"][0]["delivered"] / st["elapsed_s"]
            print(json.dumps({"section": "backlog", "receiver": name, "files": n,
                              "delivered": st["receivers"][0]["delivered"],
                              "catch_up_s": st["elapsed_s"], "wall_s": round(wall, 2),
                              "files_per_s": round(rate, 1),
                              "day_backlog_h": round(288 * a.stations / rate / 3600, 2),
                              "rc": rc}), flush=True)
    finally:
        v.stop()
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
