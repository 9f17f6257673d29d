#!/bin/sh
# tests/quickstart_repro.sh — the default study is reproducible: two runs of
# experiments/quickstart.lua (--tiny: 2 replicates, every condition, a few steps)
# in the report's environment (OPENBLAS_CORETYPE=Haswell; one engine thread per
# process), each from an empty cache, one with 2 worker processes and one with a
# single process, write identical tables.md;
# the tables carry the replicated sections, and gnuplot (when installed) the figures.
# Prints TAP.
. "${MTO_SRCDIR:-.}/tests/tap.sh"
plan 5
out=$(mktemp -d "${TMPDIR:-/tmp}/mto-repro-XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
for k in a b; do
  w=2; [ $k = b ] && w=1
  OPENBLAS_CORETYPE=Haswell "$MTO" run "$SRC/experiments/quickstart.lua" --tiny --replicates 2 --verbatim-replicates 2 \
    --workers $w --quiet --cache "$out/cache-$k" --results "$out/results-$k" >"$out/log-$k" 2>"$out/err-$k"
  rc=$?
  if [ $rc -ne 0 ]; then diag "run $k exited $rc"; tail -n 5 "$out/err-$k" | sed 's/^/# /'; fi
done
[ -s "$out/results-a/tables.md" ] && cmp -s "$out/results-a/tables.md" "$out/results-b/tables.md"
ok $? "two runs from empty caches (--workers 2 and 1) write identical tables.md" || {
  diag "tables.md differ or are missing"
  diff "$out/results-a/tables.md" "$out/results-b/tables.md" 2>&1 | head -10 | sed 's/^/# /'; }
t="$out/results-a/tables.md"
n=0
for s in 'Knowledge probe per replicate' 'held-out phrasing (primary)' 'verbatim' 'unseen phrase' \
         'gain over Mapping' 'Verdict' 'Matching scored by code' 'full data ROUGE-L' \
         'Dead end 1: multiple choice' 'Dead end 2: prompt tuning' 'Dead end 3: the adaptation arm'; do
  grep -q "$s" "$t" 2>/dev/null && n=$((n + 1))
done
[ $n -eq 11 ]
ok $? "tables.md has the probe, three conditions, paired gains, verdict, matching, full data, the three dead ends ($n of 11 sections)"
# replicates x seeds: the 3-shot cells have n = 2 x 2 = 4 units
grep -q '| v1_1 / masked_prompting (aligned) | .* | 4 |' "$t"
ok $? "cells pool replicates x seeds (n = 4)"
if command -v gnuplot >/dev/null 2>&1; then
  [ -s "$out/results-a/templates.png" ] && [ -s "$out/results-a/shots.png" ]
  ok $? "figures written"
else skip "gnuplot not installed"; fi
# the tiny models score near 0, so the tables alone are a weak check: the
# pre-trained weights must be bit-identical too
n=0; bad=0
for f in $(cd "$out/cache-a" && find . -name model.safetensors | sort); do
  n=$((n + 1)); cmp -s "$out/cache-a/$f" "$out/cache-b/$f" || bad=$((bad + 1))
done
[ $n -eq 20 ] && [ $bad -eq 0 ]
ok $? "all $n checkpoints bit-identical (stage 1 + 3 regimes, 2 replicates x 2 conditions, and the 2 adapted copies of each replicate's lm_adapt; $bad differ, want 20)"
done_testing
