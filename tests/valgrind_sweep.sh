#!/bin/sh
# valgrind_sweep.sh — an end-to-end tiny sweep (read ATOMIC rows, train a
# tokenizer-backed 2-layer T5 with early stopping, decode, score, write the
# results CSV and predictions) under valgrind --error-exitcode=1
# --leak-check=full: no invalid read/write, no use of uninitialised values,
# no definite/indirect leak. The tokenizer is trained outside valgrind (it is
# SentencePiece's code, not ours). Skips when valgrind is absent, when the
# build uses sanitizers (they cannot run under valgrind) or without the
# shared ATOMIC sample. OPENBLAS_NUM_THREADS=1 keeps it deterministic and
# within a minute on 2 cores. No suppressions are needed (none of OpenBLAS,
# Lua, jansson or libgomp reports a definite or indirect leak or an error).
set -u
B="${MTO_BUILDDIR:-.}"
SRC="${MTO_SRCDIR:-.}"
data="${MTO_SHARED_DATA:-/nonexistent}/atomic2020-sample"
if ! command -v valgrind >/dev/null 2>&1; then
    echo "1..0 # SKIP valgrind not installed (Debian: apt-get install valgrind)"
    exit 0
fi
if grep -q -- '-fsanitize=address' "$B/Makefile" 2>/dev/null; then
    echo "1..0 # SKIP sanitizer build (ASan and valgrind cannot run together; the normal build runs this)"
    exit 0
fi
if [ ! -f "$data/train.tsv" ]; then
    echo "1..0 # SKIP no shared ATOMIC sample (MTO_SHARED_DATA unset or missing)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-vg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export MTO_SRCDIR="$SRC" OPENBLAS_NUM_THREADS=1

cat > "$tmp/run.lua" <<'LUA'
local mto = require "mto"
local tiny = dofile(os.getenv("MTO_SRCDIR") .. "/tests/sweep_tiny.lua")
if arg[1] == "tokenizer" then print(tiny.tokenizer(arg[2])) return end
-- one point with a validation set (early stopping keeps the best parameters)
-- and one few-shot point, both decoded and scored
local spec = tiny.spec(arg[2], {epochs = 2, patience = 1})
spec.full = {epochs = 1, max_steps = 6}
spec.templates = {"mapping"}
spec.shots = {4, "full"}
spec.seeds = {1}
spec.tasks.xIntent.max_test_heads = 6
local s = mto.sweep(spec):run{results = arg[3], quiet = true}
print(s.ran .. " " .. s.skipped .. " " .. s.failed)
LUA

tok=$("$B/mto" run "$tmp/run.lua" tokenizer "$tmp/tok")
if [ $? != 0 ] || [ ! -f "$tok" ]; then echo "1..1"; echo "not ok 1 - tokenizer trained ($tok)"; exit 0; fi
echo "1..3"
echo "ok 1 - tokenizer trained outside valgrind"
t0=$(date +%s)
# shellcheck disable=SC2086
"$B/libtool" --mode=execute valgrind -q --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --log-file="$tmp/vg.log" \
    "$B/mto" run "$tmp/run.lua" sweep "$tok" "$tmp/res" > "$tmp/out" 2> "$tmp/err"
rc=$?
secs=$(( $(date +%s) - t0 ))
if [ $rc = 0 ]; then echo "ok 2 - valgrind reports no error and no leak (${secs} s)"
else
    echo "not ok 2 - valgrind exit $rc (${secs} s)"
    sed 's/^/# /' "$tmp/vg.log" | head -n 60
    sed 's/^/# /' "$tmp/err" | tail -n 10
fi
rows=$(($(wc -l < "$tmp/res/results.csv" 2>/dev/null || echo 1) - 1))
out=$(cat "$tmp/out")
if [ "$out" = "2 0 0" ] && [ "$rows" = 2 ] &&
   [ "$(ls "$tmp/res/predictions" | grep -c '\.tsv$')" = 2 ]; then
    echo "ok 3 - the sweep under valgrind ran its 2 points, none failed: 2 result rows, 2 predictions files"
else
    echo "not ok 3 - sweep output '$out', $rows rows"
    sed 's/^/# /' "$tmp/res/results.csv" 2>/dev/null | head
fi
