#!/bin/sh
# fuzz_brief.sh — CI's short fuzzing pass: build every libFuzzer target in
# tests/fuzz/ with clang (-fsanitize=fuzzer,address,undefined), replay the
# committed crash regressions (tests/fuzz/regressions/NAME/) and run each
# target for FUZZ_BRIEF_SECONDS (default 12) on its seed corpus. One TAP line
# per target; a crash, leak, timeout or build failure is "not ok". Skips (as
# a TAP skip, with the reason) when clang or libFuzzer is not installed.
set -u
src=${MTO_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
MTO_SRCDIR=$src
. "$src/tests/tap.sh"
secs=${FUZZ_BRIEF_SECONDS:-12}
CC=${FUZZ_CC:-clang}
here=$src/tests/fuzz

targets=$(cd "$here" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
n=$(echo "$targets" | wc -w)

work=$(mktemp -d "${TMPDIR:-/tmp}/mto-fuzz-brief.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap 'rm -rf "$work"' EXIT

# Can this clang link a libFuzzer target (clang + libfuzzer-14-dev / compiler-rt)?
command -v "$CC" >/dev/null 2>&1 || skip_all "$CC not installed (Debian: apt-get install clang libfuzzer-14-dev)"
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$work/probe.c"
"$CC" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" >/dev/null 2>&1 ||
    skip_all "$CC cannot link -fsanitize=fuzzer,address,undefined (Debian: apt-get install libfuzzer-14-dev)"

plan "$n"
for t in $targets; do
    reg=""
    [ -d "$here/regressions/$t" ] && reg="$here/regressions/$t"
    nreg=0
    [ -n "$reg" ] && nreg=$(ls "$reg" | wc -l)
    # run-fuzzers.sh passes the regressions directory as a read-only corpus:
    # libFuzzer runs every file in it first, so a finding that comes back fails here.
    FUZZ_OUT="$work/out" CC=$CC CXX=${FUZZ_CXX:-clang++} \
        sh "$here/run-fuzzers.sh" "$secs" "$t" > "$work/$t.out" 2>&1
    rc=$?
    line=$(grep "^$t: " "$work/$t.out" | tail -n 1)
    if [ $rc = 0 ] && echo "$line" | grep -q ', ok$'; then
        ok 0 "$t: $nreg regression inputs replayed; ${line#"$t: "}"
    else
        ok 1 "$t: ${line:-no result} (exit $rc)"
        tail -n 30 "$work/$t.out" | sed 's/^/# /'
        for log in "$work/out/$t.log"; do [ -f "$log" ] && grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n 5 | sed 's/^/# /'; done
    fi
done
done_testing
