#!/bin/sh
# match_cli.sh — the `mto match` command line (TAP): a tiny random model saved with a
# SentencePiece tokenizer, an ATOMIC-layout file with two relations, the markdown
# tables on stdout and the CSV file; usage errors exit 2, failures exit 1.
# Runs lua/mto/match_cli.lua through `mto run`, and `mto match` too once the CLI has it.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
CLI="$MTO_SRCDIR/lua/mto/match_cli.lua"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# data: head<TAB>relation<TAB>tail (the original ATOMIC-2020 layout)
i=1
while [ $i -le 24 ]; do
  printf 'PersonX visits city %d\txIntent\tto see friend %d\n' $i $((i % 7)) >>"$tmp/task.tsv"
  printf 'stone %d\tAtLocation\tthe river bank %d\n' $i $((i % 5)) >>"$tmp/task.tsv"
  i=$((i + 1))
done
cut -f1,3 "$tmp/task.tsv" | tr '\t' '\n' >"$tmp/corpus.txt"
cat >"$tmp/make.lua" <<LUA
local mto = require "mto"
local spm = mto.train_tokenizer{input = "$tmp/corpus.txt", model_prefix = "$tmp/sp", vocab_size = 140,
                                model_type = "unigram", seed = 1, num_threads = 1}
local tok = mto.tokenizer(spm)
local m = mto.new({d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 1, num_decoder_layers = 1,
                   vocab_size = tok.vocab_size, feed_forward_proj = "gated-gelu", tie_word_embeddings = false,
                   relative_attention_num_buckets = 8}, 1)
m.tokenizer = tok
mto._mkdir("$tmp/model")
m:save("$tmp/model")
LUA
"$MTO" run "$tmp/make.lua" >"$tmp/make.out" 2>&1
ok $? "tiny model directory with spiece.model"
diag_file "$tmp/make.out"

run_match() { # $1 = how: "run" (the script through mto run) or "match" (the subcommand)
  how_=$1
  shift
  if [ "$how_" = run ]; then "$MTO" run "$CLI" "$@"; else "$MTO" match "$@"; fi
}

for how in run match; do
  run_match $how --model "$tmp/model" --task "ev=atomic:$tmp/task.tsv" --templates mapping,masked_mapping,prompting,masked_prompting \
    --n 12 --seed 2 --candidates 3 --csv "$tmp/m.csv" >"$tmp/out.md" 2>"$tmp/err"
  rc=$?
  ok $rc "[$how] exit 0 on a good run"
  [ $rc -eq 0 ] || diag_file "$tmp/err"
  grep -q '^| ev/xIntent | masked_prompting | 12 |' "$tmp/out.md" && grep -q '^| ev/AtLocation | prompting | 12 |' "$tmp/out.md"
  ok $? "[$how] markdown: one row per task x template, split by relation"
  grep -Eq '^\| ev/xIntent \| xIntent \| -?[0-9.]+ \| (filling|mapping) \| [a-z_]+ \| scoring \|' "$tmp/out.md"
  ok $? "[$how] recommendation row says the scoring matcher decided"
  [ "$(wc -l <"$tmp/m.csv")" -eq 9 ] && head -1 "$tmp/m.csv" | grep -q '^task,relation,template,masked,n,tail_tokens,mean_ll,ppl,mean_rank'
  ok $? "[$how] CSV: header + 8 rows"
  # every tail was found as a token run inside its target (SentencePiece: tail alone == tail in context)
  awk -F, 'NR > 1 && $13 != 0 { bad = 1 } END { exit bad }' "$tmp/m.csv"
  ok $? "[$how] tail tokens found exactly in every target (inexact = 0)"
  run_match $how --model "$tmp/model" --task "ev=atomic:$tmp/task.tsv" --matcher rules,scoring --n 4 >"$tmp/out2.md" 2>&1
  grep -q '| ev/AtLocation | AtLocation | .* | filling | masked_[a-z]* | rules | rules: AtLocation -> filling' "$tmp/out2.md"
  ok $? "[$how] --matcher rules,scoring: the rules matcher decided"
  run_match $how --task "atomic:$tmp/task.tsv" >/dev/null 2>"$tmp/err"
  [ $? -eq 2 ] && grep -q 'model and --task are required' "$tmp/err"
  ok $? "[$how] missing --model: exit 2 with usage"
  run_match $how --model "$tmp/model" --task "atomic:$tmp/task.tsv" --n x >/dev/null 2>"$tmp/err"
  [ $? -eq 2 ] && grep -q -- '--n needs an integer' "$tmp/err"
  ok $? "[$how] bad --n: exit 2"
  run_match $how --model "$tmp/nothing" --task "atomic:$tmp/task.tsv" >/dev/null 2>"$tmp/err"
  [ $? -eq 1 ] && grep -q 'nothing' "$tmp/err"
  ok $? "[$how] missing model directory: exit 1 naming it"
done
done_testing
