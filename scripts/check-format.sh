#!/usr/bin/env bash
# scripts/check-format.sh - fails when a tracked C file differs from clang-format's output with
# the project's .clang-format (the house style is enforced by the tool, not by review).
set -u
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format not found: install the Debian package 'clang-format'"; exit 1; }
bad=0
for f in $(git ls-files '*.c' '*.h'); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
[ "$bad" = 0 ] && echo "all C files formatted"
exit $bad
