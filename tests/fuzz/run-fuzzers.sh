#!/bin/sh
# run-fuzzers.sh — build and run every libFuzzer target in tests/fuzz/.
#
# usage: tests/fuzz/run-fuzzers.sh [SECONDS] [NAME...]
#   SECONDS  time per target (default 60)
#   NAME     only these targets (fuzz_NAME.c); default: every fuzz_*.c
# env:
#   FUZZ_OUT    work dir for binaries, corpora, artifacts (default $TMPDIR/mto-fuzz)
#   FUZZ_RUNS   also stop after this many executions (libFuzzer -runs)
#   FUZZ_ARGS   extra libFuzzer flags (e.g. "-jobs=4 -workers=4")
#   CC, CXX     compilers (default clang, clang++)
#
# A target fuzz_NAME.c declares what to link in comment lines near its top:
#   /* fuzz-sources: core/error.c core/safetensors.c */   (paths from the source root;
#                                                           .cc/.cpp go through $CXX)
#   /* fuzz-libs: -ljansson */                             (optional)
#   /* fuzz-pkgs: sentencepiece */                         (optional, pkg-config names)
#   /* fuzz-cflags: -DFOO */                               (optional)
# Seeds are read from tests/fuzz/corpus/NAME/ and tests/fuzz/regressions/NAME/
# (never written: new inputs go to $FUZZ_OUT/corpus-NAME); tests/fuzz/NAME.dict
# is used when present.
# Exit status is non-zero if any target failed to build or found a crash,
# leak, timeout or out-of-memory.
set -u

secs=${1:-60}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-${TMPDIR:-/tmp}/mto-fuzz}
CC=${CC:-clang}
CXX=${CXX:-clang++}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
mkdir -p "$out" || exit 1

# The value of a "/* fuzz-KEY: ... */" line in file $1.
decl() {
    sed -n "s|^/\* fuzz-$2:\(.*\)\*/.*|\1|p" "$1" | head -n 1
}

if [ $# -gt 0 ]; then
    targets=""
    for n in "$@"; do targets="$targets $here/fuzz_$n.c"; done
else
    targets=$(ls "$here"/fuzz_*.c 2>/dev/null)
fi
[ -n "$targets" ] || { echo "no fuzz targets in $here" >&2; exit 1; }

status=0
summary=""
for t in $targets; do
    name=$(basename "$t" .c)
    name=${name#fuzz_}
    [ -f "$t" ] || { echo "$name: $t not found" >&2; status=1; continue; }
    srcs=$(decl "$t" sources)
    libs=$(decl "$t" libs)
    pkgs=$(decl "$t" pkgs)
    extra=$(decl "$t" cflags)
    pkgflags=""
    [ -n "$pkgs" ] && pkgflags=$(pkg-config --cflags --libs $pkgs)
    inc="-I$top/core -I$top/tests -I$here -I$top"
    objdir="$out/obj-$name"
    rm -rf "$objdir" && mkdir -p "$objdir"
    echo "== $name: building"
    linker=$CC
    objs=""
    ok=1
    # The target itself gets the fuzzer runtime at link time only.
    for s in $(basename "$t") $srcs; do
        case $s in
        fuzz_*.c) path=$t ;;
        *) path=$top/$s ;;
        esac
        o="$objdir/$(echo "$s" | tr '/.' '__').o"
        case $s in
        *.cc|*.cpp|*.cxx)
            linker=$CXX
            $CXX -std=c++17 -g -O1 -fsanitize=fuzzer-no-link $SAN $inc $extra $pkgflags \
                -c "$path" -o "$o" || ok=0 ;;
        *)
            $CC -g -O1 -fsanitize=fuzzer-no-link $SAN $inc $extra $pkgflags \
                -c "$path" -o "$o" || ok=0 ;;
        esac
        objs="$objs $o"
    done
    bin="$out/fuzz_$name"
    if [ $ok = 1 ]; then
        $linker -fsanitize=fuzzer $SAN $objs $libs $pkgflags -lm -o "$bin" || ok=0
    fi
    if [ $ok != 1 ]; then
        echo "$name: BUILD FAILED" >&2
        summary="$summary
$name: build failed"
        status=1
        continue
    fi

    work="$out/corpus-$name"
    mkdir -p "$work"
    seeds="$here/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    # Past findings (tests/fuzz/regressions/NAME/) are replayed first, read-only
    # like the seeds: libFuzzer writes new inputs only to the first directory.
    [ -d "$here/regressions/$name" ] && seeds="$seeds $here/regressions/$name"
    dict=""
    [ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
    runs=""
    [ -n "${FUZZ_RUNS:-}" ] && runs="-runs=$FUZZ_RUNS"
    log="$out/$name.log"
    echo "== $name: fuzzing for ${secs}s${FUZZ_RUNS:+ or $FUZZ_RUNS runs} (log: $log)"
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" $runs -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/$name-" $dict ${FUZZ_ARGS:-} \
        "$work" $seeds > "$log" 2>&1
    rc=$?
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    ncorp=$(ls "$work" | wc -l)
    if [ $rc = 0 ]; then
        res="ok"
    else
        res="FAILED (exit $rc; see $log and $out/$name-*)"
        status=1
        grep -E 'ERROR|runtime error|invariant failed|SUMMARY' "$log" | head -n 5
    fi
    line="$name: ${execs:-?} execs in $((end - start))s (${rate:-?}/s), ${cov:-cov ?}, corpus $ncorp, $res"
    echo "$line"
    summary="$summary
$line"
done
echo "== summary$summary"
exit $status
