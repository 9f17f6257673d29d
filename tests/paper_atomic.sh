#!/bin/sh
# tests/paper_atomic.sh — keep experiments/paper_atomic.lua working: run it in
# paper mode (the default) on the shared ATOMIC-2020 sample with a tiny model and
# a few steps. Prints TAP.
. "${MTO_SRCDIR:-.}/tests/tap.sh"
data="${MTO_SHARED_DATA:-../shared/data}/atomic2020-sample"
plan 6
if [ ! -f "$data/train.tsv" ]; then
  for i in 1 2 3 4 5 6; do skip "no ATOMIC sample at $data"; done
  done_testing
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/mto-paper-XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
"$MTO" run "$SRC/experiments/paper_atomic.lua" --tiny --data "$data" --results "$out" \
  >"$out/log" 2>"$out/err"
rc=$?
ok $rc "paper_atomic.lua --tiny exits 0 (exit $rc)" || tail -n 5 "$out/err" | sed 's/^/# /'
rows=$(cat "$out"/*/results.csv 2>/dev/null | grep -c '^task=')
# 4 templates x 2 shot settings per method; prompt_tune joins finetune when the build has it
want=16; grep -q 'prompt tuning: not available' "$out/log" && want=8
# prompt tuning runs the soft-prompt families (pre_pt, masked_pre_pt, post_pt, masked_post_pt)
pt=$(cat "$out"/*/results.csv 2>/dev/null | grep -c '^task=[^,]*;template=[a-z_]*_pt;[^,]*;method=prompt_tune;')
[ "$rows" -eq "$want" ] && [ "$pt" -eq $((want - 8)) ]
ok $? "$rows result rows, want $want (4 templates x 2 shot settings x methods; $pt prompt-tuning rows on *_pt families)"
grep -q 'masked_prompting' "$out/log" && grep -q '0 failed' "$out/log"
ok $? "table printed, no failed point" || tail -n 5 "$out/log" | sed 's/^/# /'
# paper mode: the paper's metric columns beside mto's, paper sampling and phrases in every key
head -1 "$out/finetune/results.csv" | tr ',' '\n' >"$out/cols"
grep -qx rouge_l_paper "$out/cols" && grep -qx exact_match_paper "$out/cols" && grep -qx rouge_l "$out/cols" &&
  [ "$(cat "$out"/*/results.csv | grep -c 'sampling=paper;phrases=paper;')" -eq "$rows" ] &&
  grep -q "ROUGE-L as the paper's code computes it" "$out/log" && grep -q "ROUGE-L, mto's" "$out/log"
ok $? "paper mode: rouge_l_paper and exact_match_paper beside rouge_l; sampling and phrases = paper" ||
  diag "columns: $(tr '\n' ' ' < "$out/cols")"
# the paper's head selection: 4 shots -> 5 heads (its loop keeps head N+1) x 1 tail
n4=$(awk -F, 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR>1 && $h["shots"]=="4" && $h["method"]=="finetune"{print $h["n_train"]}' \
     "$out/finetune/results.csv" | sort -u)
[ "$n4" = "5" ]
ok $? "paper sampling: 4 shots train on 5 heads x 1 tail (n_train '$n4', want 5)"
# golden layout of the printed gain table (the numbers vary with the tiny model's training)
awk '/^4-shot, finetune: gain over mapping, rouge_l_paper$/{on=1; next} on && /^rouge_l_paper: mean over runs/{print; exit} on{print}' \
  "$out/log" | sed -E "s/[0-9]+\.[0-9]+/N/g; s/\(\+N%\)|\(-N%\)|\(n\/a\)/(G%)/g; s/; n\/a: the baseline's mean is 0//" >"$out/gain"
cat >"$out/gain.want" <<'WANT'
### model = tiny

| template | xIntent |
|---|---|
| mapping | N (base) |
| masked_mapping | N (G%) |
| prompting | N (G%) |
| masked_prompting | N (G%) |

rouge_l_paper: mean over runs (gain over mapping in %, paired by replicate, seed, bootstrap 95% CI).
WANT
cmp -s "$out/gain" "$out/gain.want"
ok $? "gain table layout (templates x relations, mapping as base, gains in %)" ||
  diff "$out/gain.want" "$out/gain" | sed 's/^/# /'
done_testing
