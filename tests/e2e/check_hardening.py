#!/usr/bin/env python3
"""The installed programs carry the hardening cmake/CtWarnings.cmake asks for (issue 17).

Reads the ELF files back with readelf (binutils): position independent (type DYN, FLAGS_1 PIE),
full RELRO (a GNU_RELRO segment and BIND_NOW), the stack protector (__stack_chk_fail imported)
and, for optimized builds without a sanitizer, _FORTIFY_SOURCE (checked variants such as
__snprintf_chk imported). Usage: check_hardening.py BUILD_TYPE SANITIZED(0|1) PROGRAM..."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from durlib import Checks  # noqa: E402

checks = Checks()
check = checks.check
T0 = time.time()


def readelf(*args):
    return subprocess.run(["readelf", "-W"] + list(args), capture_output=True, text=True,
                          check=True).stdout


def main():
    build_type, sanitized, programs = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
    fortify = build_type in ("Release", "RelWithDebInfo", "MinSizeRel") and not sanitized
    for exe in programs:
        name = exe.rsplit("/", 1)[-1]
        header = readelf("-h", exe)
        dynamic = readelf("-d", exe)
        check("DYN (" in header and "PIE" in dynamic, f"{name} is a position-independent executable")
        check("GNU_RELRO" in readelf("-l", exe), f"{name} has a RELRO segment")
        check("BIND_NOW" in dynamic or "FLAGS_1" in dynamic and " NOW" in dynamic,
              f"{name} binds now (full RELRO)")
        syms = readelf("--dyn-syms", exe)
        check("__stack_chk_fail" in syms, f"{name} uses the stack protector")
        if fortify:
            chk = sorted({w.split("@")[0] for w in syms.split() if w.startswith("__")
                          and w.split("@")[0].endswith("_chk") and w != "__stack_chk_fail"})
            check(len(chk) > 0, f"{name} uses _FORTIFY_SOURCE's checked functions ({chk[:4]})")
    sys.exit(checks.done(T0))


if __name__ == "__main__":
    main()
