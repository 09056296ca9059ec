#!/usr/bin/env bash
# scripts/test.sh - run the whole test suite on a fresh Debian 12 machine (as root).
#
# Installs what is missing, builds twice from scratch (warnings as errors; and with ASan+UBSan),
# and runs every test in both builds: unit tests, integration tests against the real Mosquitto
# and InfluxDB, end-to-end tests and the map's browser test. Exits non-zero if anything fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=lib/deps.sh
. scripts/lib/deps.sh
ct_install_deps
ct_install_commands node:nodejs npm:npm chromium:chromium

jobs=$(nproc)
status=0
run_build()
{
    local dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    cmake -S . -B "$dir" -DCT_WERROR=ON "$@" >"$dir/cmake.log" 2>&1 || { cat "$dir/cmake.log"; return 1; }
    cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1 || { grep -E -B2 -A6 "error" "$dir/build.log" | head -80; return 1; }
}

echo "== build (warnings are errors)"
run_build build
# The long fault tests (label longfault: a 10-minute store outage, two 2-minute broker and store
# outages) mostly wait on timers; they run two at a time in the background from here, beside the
# other builds and passes, and are reported at the end.
echo "== long fault tests (release build), in the background: build/longfault.log"
ctest --test-dir build --output-on-failure -j2 --timeout 1500 -L longfault >build/longfault.log 2>&1 &
longfault_pid=$!
trap 'kill "$longfault_pid" 2>/dev/null || true' EXIT
echo "== build (ASan + UBSan)"
run_build build-asan -DCT_SANITIZE=ON

echo "== build (ThreadSanitizer: the collector and the tests of its threaded parts)"
tsan_tests="test_intake test_spool test_spool_crash test_sink_deliver test_sink_fail test_sink_chaos"
tsan_e2e="e2e_faults"
rm -rf build-tsan
cmake -S . -B build-tsan -DCT_WERROR=ON -DCT_TSAN=ON >build-tsan.cmake.log 2>&1 \
    || { cat build-tsan.cmake.log; exit 1; }
# shellcheck disable=SC2086
cmake --build build-tsan -j"$jobs" --target collector dur-pub fault-influx $tsan_tests \
    >build-tsan/build.log 2>&1 || { grep -E -B2 -A6 "error" build-tsan/build.log | head -80; exit 1; }
rm -f build-tsan.cmake.log

echo "== map page and browser test packages (npm)"
(cd dashboards/map && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
    >build/npm-map.log 2>&1 || { tail -30 build/npm-map.log; exit 1; }
(cd tests/e2e/map && npm ci --no-audit --no-fund --loglevel=error) >build/npm-e2e.log 2>&1 \
    || { tail -30 build/npm-e2e.log; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== tests (release build)"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600 -LE longfault || status=1
echo "== tests (ASan + UBSan build)"
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900 -LE "browser|fuzz|slow|release-only" || status=1
echo "== tests (ThreadSanitizer build: intake, spool, sink; the collector under load)"
tsan_re="^($(echo $tsan_tests $tsan_e2e | tr ' ' '|'))\$"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 900 -R "$tsan_re" || status=1
echo "== long fault tests (release build; started after the release build)"
if ! wait "$longfault_pid"; then
    status=1
fi
cat build/longfault.log
exit $status
