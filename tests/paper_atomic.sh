#!/bin/sh
# tests/paper_atomic.sh — keep experiments/paper_atomic.lua working: run it on
# the shared ATOMIC-2020 sample with a tiny model and a few steps. Prints TAP.
data="${MTO_SHARED_DATA:-../shared/data}/atomic2020-sample"
echo "1..3"
if [ ! -f "$data/train.tsv" ]; then
  for i in 1 2 3; do echo "ok $i # SKIP no ATOMIC sample at $data"; done
  exit 0
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/mto-paper-XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
"$MTO_BUILDDIR/mto" run "$MTO_SRCDIR/experiments/paper_atomic.lua" --tiny --data "$data" --results "$out" \
  >"$out/log" 2>"$out/err"
rc=$?
if [ $rc -eq 0 ]; then echo "ok 1 - paper_atomic.lua --tiny exits 0"; else echo "not ok 1 - exit $rc"; sed 's/^/# /' "$out/err" | tail -5; fi
rows=$(cat "$out"/*/results.csv 2>/dev/null | grep -c '^task=')
# 4 templates x 2 shot settings per method; prompt_tune joins finetune when the build has it
want=16; grep -q 'prompt tuning: not available' "$out/log" && want=8
# prompt tuning runs the soft-prompt families (pre_pt, masked_pre_pt, post_pt, masked_post_pt)
pt=$(cat "$out"/*/results.csv 2>/dev/null | grep -c '^task=[^,]*;template=[a-z_]*_pt;[^,]*;method=prompt_tune;')
if [ "$rows" -eq "$want" ] && [ "$pt" -eq $((want - 8)) ]; then
  echo "ok 2 - $want result rows (4 templates x 2 shot settings x methods; $pt prompt-tuning rows on *_pt families)"
else echo "not ok 2 - $rows result rows, want $want; $pt prompt-tuning rows on *_pt families"; fi
if grep -q 'masked_prompting' "$out/log" && grep -q '0 failed' "$out/log"; then echo "ok 3 - table printed, no failed point"
else echo "not ok 3 - table or failures"; sed 's/^/# /' "$out/log" | tail -5; fi
