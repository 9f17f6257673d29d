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
. "${MTO_SRCDIR:-.}/tests/tap.sh"
B="${MTO_BUILDDIR:-.}"
command -v valgrind >/dev/null 2>&1 || skip_all "valgrind not installed (Debian: apt-get install valgrind)"
if grep -q -- '-fsanitize=address' "$B/Makefile" 2>/dev/null; then
    skip_all "sanitizer build (ASan and valgrind cannot run together; the normal build runs this)"
fi
need_atomic
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-vg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1
# valgrind 3.19 has no AVX-512: OpenBLAS's SkylakeX kernels (OPENBLAS_CORETYPE
# in the caller's environment) would stop on an illegal instruction. The row
# kernels need nothing: valgrind's CPUID hides AVX-512, so they pick AVX2.
export OPENBLAS_CORETYPE=Haswell

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

tok=$("$MTO" run "$tmp/run.lua" tokenizer "$tmp/tok") && [ -f "$tok" ]
ok $? "tokenizer trained outside valgrind" || { diag "tokenizer: '$tok'"; done_testing; }
t0=$(date +%s)
# shellcheck disable=SC2086
"$B/libtool" --mode=execute valgrind -q --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --log-file="$tmp/vg.log" \
    "$B/mto" run "$tmp/run.lua" sweep "$tok" "$tmp/res" > "$tmp/out" 2> "$tmp/err"
rc=$?
secs=$(( $(date +%s) - t0 ))
ok $rc "valgrind reports no error and no leak (exit $rc, ${secs} s)" || {
    diag_file "$tmp/vg.log" 60
    tail -n 10 "$tmp/err" | sed 's/^/# /'; }
rows=$(($(wc -l < "$tmp/res/results.csv" 2>/dev/null || echo 1) - 1))
out=$(cat "$tmp/out")
[ "$out" = "2 0 0" ] && [ "$rows" = 2 ] && [ "$(ls "$tmp/res/predictions" | grep -c '\.tsv$')" = 2 ]
ok $? "the sweep under valgrind ran its 2 points, none failed: 2 result rows, 2 predictions files (output '$out', $rows rows)" ||
    sed 's/^/# /' "$tmp/res/results.csv" 2>/dev/null | head
done_testing
