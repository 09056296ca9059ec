#!/usr/bin/env python3
"""test_tt10_deliver.py - TT 10/2021 station files delivered by the outbox (tt10-bench drives
collector/tt10's col_tt10_out) to a real vsftpd over FTPS (explicit TLS, certificate checked
against the test CA) and a real OpenSSH sftp server (host key pinned), through receiver outages
and an outbox restart. Asserts what the receiving operators see: every file written arrives at
every receiver under its own name, byte for byte the same as the outbox's copy, no temporary
(.part) or extra names, and nothing is left queued.

Phases:
  1. The SFTP receiver is down when the outbox starts; the FTPS receiver goes down (listener and
     sessions killed) while files are being delivered and comes back 3 s later; SFTP comes back
     after 4 s. One outbox run must deliver everything to both.
  2. The SFTP receiver goes down again; a run writes a new set and stops with SFTP's backlog
     queued (exit 2: not idle). The receiver comes back; a new run (a restart, writing nothing)
     delivers the backlog."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tt10_servers  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CT_BINARY_DIR", "build")
BENCH = os.path.join(BUILD, "simulations", "bench", "tt10-bench")


def run_bench(outbox, v, s, extra, wait=True):
    args = [BENCH, "--dir", outbox, "--receivers", v.url + " " + s.url, "--ca", v.cert,
            "--ssh-key", s.client_key, "--ssh-pub", s.client_pub, "--known-hosts", s.known_hosts,
            "--retry-base-ms", "200", "--retry-max-ms", "1000", "--no-fsync"] + extra
    log = open(os.path.join(outbox + ".log"), "ab")
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
    if not wait:
        return p
    out, _ = p.communicate(timeout=120)
    return p.returncode, json.loads(out)


def check_arrived(outbox, receivers):
    files = os.path.join(outbox, "files")
    names = sorted(n for n in os.listdir(files) if not n.startswith("."))
    for r in receivers:
        got = sorted(os.listdir(r.incoming))
        extra = sorted(set(got) - set(names))
        missing = sorted(set(names) - set(got))
        assert not extra, "%s: names that were never written: %s" % (r.url, extra[:5])
        assert not missing, "%s: %d files missing, e.g. %s" % (r.url, len(missing), missing[:5])
        for n in names:
            with open(os.path.join(files, n), "rb") as a, open(os.path.join(r.incoming, n),
                                                               "rb") as b:
                assert a.read() == b.read(), "%s: %s differs from the outbox's copy" % (r.url, n)
    queue = os.path.join(outbox, "queue")
    for q in os.listdir(queue):
        left = os.listdir(os.path.join(queue, q))
        assert not left, "queue %s still holds %s" % (q, left[:5])
    return len(names)


def main():
    if not os.path.exists(BENCH):
        raise SystemExit("tt10-bench not built: %s" % BENCH)
    tmp = tempfile.mkdtemp(prefix="ct-tt10-")
    v = s = None
    try:
        v = tt10_servers.Vsftpd(tmp)
        s = tt10_servers.Sshd(tmp)
        outbox = os.path.join(tmp, "outbox")

        # Phase 1: SFTP down from the start, FTPS down for 3 s in the middle.
        s.stop()
        p = run_bench(outbox, v, s, ["--stations", "100", "--times", "6", "--until-idle",
                                     "--max-seconds", "90", "--parallel", "1"], wait=False)
        harness.wait_until(lambda: len(os.listdir(v.incoming)) >= 50, 60,
                           "the first FTPS deliveries")
        v.stop()
        t_down = time.time()
        time.sleep(3)  # the outage itself, not an assertion
        v.start()
        harness.wait_until(lambda: time.time() - t_down > 4, 10, "4 s of SFTP outage")
        s.start()
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, "phase 1 did not finish: %s" % out
        st = json.loads(out)
        assert st["written"] == 600, st
        ftps, sftp = st["receivers"]
        assert sftp["failures"] > 0 and sftp["backoffs"] > 0, st
        assert ftps["failures"] > 0, "the FTPS outage was not seen: %s" % st
        n = check_arrived(outbox, [v, s])
        assert n == 600, n
        print("phase 1: 600 files to both receivers; FTPS failures %d, SFTP failures %d"
              % (ftps["failures"], sftp["failures"]))

        # Phase 2: SFTP down; a run writes 100 more and stops with them queued for SFTP.
        s.stop()
        rc, st = run_bench(outbox, v, s, ["--stations", "50", "--times", "2", "--start-ms",
                                          str(1796455800000 + 6 * 300000), "--until-idle",
                                          "--max-seconds", "6"])
        assert rc == 2 and st["written"] == 100, (rc, st)
        assert st["receivers"][1]["delivered"] == 0, st
        assert len(os.listdir(s.incoming)) == 600
        s.start()
        rc, st = run_bench(outbox, v, s, ["--stations", "0", "--until-idle", "--max-seconds",
                                          "60"])
        assert rc == 0, (rc, st)
        # At least the 100 (a file whose rename answer was lost is sent again under its name).
        assert st["receivers"][1]["delivered"] >= 100, st
        n = check_arrived(outbox, [v, s])
        assert n == 700, n
        print("phase 2: SFTP backlog of 100 delivered after a restart; 700 files each, byte-exact")
        print("1 passed, 0 failed")
    finally:
        for srv in (v, s):
            if srv is not None and srv.proc is not None:
                srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
