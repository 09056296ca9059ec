#!/bin/sh
# run.sh - build the libFuzzer targets with clang in their own build folder, replay the saved
# regression inputs (tests/fuzz/regress/<target>/), then fuzz each target for a bounded time.
# Exits non-zero on any crash, leak, sanitizer report or failed check; a crashing input is
# written to tests/fuzz/crashes/<target>-crash-<hash> (copy it to regress/<target>/ once fixed).
#
# usage: run.sh [source dir] [build dir]
#   CT_FUZZ_SECONDS  seconds per target (default 20)
#   CT_FUZZ_TARGETS  space-separated subset (default: all)
#   CT_FUZZ_JOBS     build parallelism (default 2)
set -eu

SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
BUILD=${2:-$SRC/build-fuzz}
SECS=${CT_FUZZ_SECONDS:-20}
TARGETS=${CT_FUZZ_TARGETS:-"fuzz_payload fuzz_topic fuzz_registry fuzz_config fuzz_lp fuzz_spool fuzz_http"}
HERE=$SRC/tests/fuzz
CRASHES=$HERE/crashes

command -v clang >/dev/null 2>&1 || { echo "run.sh: clang not found" >&2; exit 2; }
mkdir -p "$BUILD" "$CRASHES"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCT_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log" >&2; echo "run.sh: configure failed" >&2; exit 2; }
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "${CT_FUZZ_JOBS:-2}" --target $TARGETS >"$BUILD/build.log" 2>&1 ||
    { tail -50 "$BUILD/build.log" >&2; echo "run.sh: build failed" >&2; exit 2; }

EXE_DIR=$BUILD/tests/fuzz
SEEDS=$BUILD/fuzz-seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS"

# Seeds from tests/data. fuzz_payload's first byte is the kind (air water rain flood parking).
mkdir -p "$SEEDS/fuzz_payload" "$SEEDS/fuzz_lp" "$SEEDS/fuzz_registry" "$SEEDS/fuzz_config"
for f in "$SRC"/tests/data/payloads/valid/*.json "$SRC"/tests/data/payloads/invalid/*.json; do
    [ -f "$f" ] || continue
    b=$(basename "$f")
    case $b in
        water*) k='\001' ;; rain*) k='\002' ;; flood*) k='\003' ;; parking*) k='\004' ;;
        *) k='\000' ;;
    esac
    { printf "$k"; cat "$f"; } >"$SEEDS/fuzz_payload/$b"
done
cp "$SRC"/config/registry.jsonl "$SEEDS/fuzz_registry/" 2>/dev/null || true
cp "$SRC"/config/collector.example.json "$SEEDS/fuzz_config/" 2>/dev/null || true

status=0
for t in $TARGETS; do
    exe=$EXE_DIR/$t
    corpus=$BUILD/corpus/$t
    mkdir -p "$corpus"
    dirs="$corpus"
    for d in "$HERE/seeds/$t" "$SEEDS/$t"; do
        [ -d "$d" ] && dirs="$dirs $d"
    done
    case $t in
        fuzz_payload) maxlen=4200 ;; fuzz_registry|fuzz_config) maxlen=8192 ;;
        fuzz_http) maxlen=6000 ;; fuzz_spool) maxlen=8192 ;; *) maxlen=1024 ;;
    esac
    if [ -d "$HERE/regress/$t" ] && [ -n "$(ls -A "$HERE/regress/$t" 2>/dev/null)" ]; then
        echo "== $t: replaying regress/$t"
        if ! "$exe" -runs=1 "$HERE"/regress/"$t"/* >"$BUILD/$t.regress.log" 2>&1; then
            tail -40 "$BUILD/$t.regress.log" >&2
            echo "FAIL $t: a regression input fails again" >&2
            status=1
        fi
    fi
    echo "== $t: fuzzing for $SECS s"
    # shellcheck disable=SC2086
    if "$exe" -max_total_time="$SECS" -max_len=$maxlen -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$CRASHES/$t-" $dirs >"$BUILD/$t.log" 2>&1; then
        grep -E "^(stat::number_of_executed_units|stat::new_units_added)" "$BUILD/$t.log" |
            tr '\n' ' '
        echo
    else
        tail -60 "$BUILD/$t.log" >&2
        echo "FAIL $t: crash or failed check; input saved under $CRASHES/" >&2
        status=1
    fi
done
exit $status
