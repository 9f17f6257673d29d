#!/bin/sh
# train_resume.sh — training that resumes inside a point (m:train{checkpoint = DIR,
# checkpoint_every = N}). A run SIGKILLed in the middle and rerun ends with
# parameters bit-identical (the files m:save writes compare equal byte for byte) and
# the same result (steps, epochs, losses, best step, early stop) as an uninterrupted
# run, with dropout on, gradient accumulation, validation-based early stopping and
# both optimizers, and for prompt tuning (p:train, the soft prompt only). Kill points:
# from the progress function at an exact step (a shell whose parent is mto sends
# SIGKILL; or SIGTERM, after which mto saves the state at that step and stops), and through the test-only shim
# tests/kill_shim.c just before the rename of the 2nd saved state (the 1st must
# then be the one resumed from). Also: another run's state and a damaged one are
# refused, and so are bad checkpoint_every values. Needs no data. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-resume.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

cat > "$tmp/run.lua" <<'LUA'
local mto = require "mto"
-- run.lua CASE OUT [CKPT [KILL_AT_STEP]]: train case CASE, save the model to OUT and
-- print the result; with CKPT train with checkpoint = CKPT, checkpoint_every = 4.
local case, out, ckpt, kill, sig = arg[1], arg[2], arg[3], tonumber(arg[4] or ""), arg[5] or "KILL"
local cfg = {d_model = 32, d_ff = 64, d_kv = 8, num_heads = 4, num_layers = 2, num_decoder_layers = 2,
             vocab_size = 40, feed_forward_proj = "gated-gelu", tie_word_embeddings = false,
             relative_attention_num_buckets = 8, dropout_rate = 0.1}
local m = mto.new(cfg, 3)
local ex, valid = {}, {}
for i = 1, 11 do ex[i] = {src = {i + 2, i + 9, (i * 7) % 30 + 2, 1}, tgt = {(i * 5) % 30 + 2, i + 20}} end
for i = 1, 3 do valid[i] = {src = {i + 4, i + 11, 1}, tgt = {(i * 5) % 30 + 3}} end
local o = {lr = 3e-3, epochs = 14, batch_size = 3, grad_accum = 2, seed = 7, valid = valid,
           eval_every = 3, patience = 4}
if case == "adafactor" then
  o.optimizer, o.schedule, o.warmup, o.lr, o.patience = "adafactor", "linear", 4, 1e-2, 0
end
if ckpt then o.checkpoint, o.checkpoint_every = ckpt, 4 end
o.progress = function(step)
  if kill and step == kill then os.execute("kill -" .. sig .. " $PPID") end -- the shell's parent is this process
end
local r
if case == "prompt" then -- prompt tuning: only the soft prompt trains (its view is checkpointed)
  local p = m:prompt{k = 3, init = "uniform", seed = 2}
  o.valid, o.patience, o.eval_every = nil, nil, nil
  r = p:train(ex, o)
  local f = assert(io.open(out, "w"))
  for _, row in ipairs(p:embedding()) do
    for _, x in ipairs(row) do f:write(string.format("%a\n", x)) end
  end
  f:close()
else
  r = m:train(ex, o)
  if r.cancelled then -- SIGTERM: stopped after the step, its state saved
    io.stderr:write(string.format("cancelled at step %d, checkpoints=%d\n", r.steps, r.checkpoints))
    os.exit(3)
  end
  m:save(out)
end
print(string.format("steps=%d epochs=%d examples=%d first=%a final=%a best=%a best_step=%d early=%s",
                    r.steps, r.epochs, r.examples, r.first_loss, r.final_loss, r.best_valid_loss or -1,
                    r.best_step, tostring(r.stopped_early)))
io.stderr:write(string.format("resumed_from=%d checkpoints=%d\n", r.resumed_from, r.checkpoints))
LUA


for case in adamw adafactor prompt; do
    d="$tmp/$case"
    mkdir -p "$d"
    "$MTO" run "$tmp/run.lua" $case "$d/ref" > "$d/ref.txt" 2> "$d/ref.err"
    ok $? "$case: uninterrupted run ($(cat "$d/ref.txt"))"
    # killed at step 11 (states saved at 4 and 8): the rerun resumes from step 8
    "$MTO" run "$tmp/run.lua" $case "$d/a" "$d/ck" 11 > /dev/null 2>&1
    [ $? = 137 ] && [ -f "$d/ck/train-state.safetensors" ] && [ ! -e "$d/a" ]
    ok $? "$case: SIGKILL at step 11 leaves a training state and no model"
    "$MTO" run "$tmp/run.lua" $case "$d/a" "$d/ck" > "$d/a.txt" 2> "$d/a.err"
    ok $? "$case: rerun finishes"
    grep -q '^resumed_from=8 ' "$d/a.err"
    ok $? "$case: rerun resumed from step 8 ($(cat "$d/a.err"))"
    cmp -s "$d/ref.txt" "$d/a.txt"
    ok $? "$case: same result as the uninterrupted run"
    cmp -s "$d/ref" "$d/a"
    ok $? "$case: parameters bit-identical to the uninterrupted run"
done

# SIGTERM (Slurm's time limit, a requeue) at step 11: mto stops after that step and saves
# its state there, so the rerun resumes at step 11 exactly
d="$tmp/term"
"$MTO" run "$tmp/run.lua" adamw "$d/a" "$d/ck" 11 TERM > /dev/null 2> "$d.err"
[ $? = 3 ] && grep -q 'cancelled at step 11' "$d.err"
ok $? "SIGTERM at step 11: training stops after the step, state saved ($(cat "$d.err"))"
"$MTO" run "$tmp/run.lua" adamw "$d/a" "$d/ck" > "$d/a.txt" 2> "$d/a.err"
grep -q '^resumed_from=11 ' "$d/a.err" && cmp -s "$tmp/adamw/ref.txt" "$d/a.txt" && cmp -s "$tmp/adamw/ref" "$d/a"
ok $? "the rerun resumes at step 11 and ends bit-identical ($(cat "$d/a.err"))"

# Killed (shim) just before the 2nd state's rename: the 1st (step 4) is resumed.
shim="${MTO_BUILDDIR:-.}/tests/.libs/kill_shim.so"
if [ ! -f "$shim" ]; then
    skip "$shim not built"
else
    d="$tmp/shim"
    LD_PRELOAD="$shim${LD_PRELOAD:+ $LD_PRELOAD}" MTO_TEST_KILL_AT=rename-before:train-state.safetensors:2 \
        "$MTO" run "$tmp/run.lua" adamw "$d/a" "$d/ck" > /dev/null 2>&1
    [ $? = 137 ]
    ok $? "killed before the rename of the 2nd training state"
    "$MTO" run "$tmp/run.lua" adamw "$d/a" "$d/ck" > "$d/a.txt" 2> "$d/a.err"
    grep -q '^resumed_from=4 ' "$d/a.err" && cmp -s "$tmp/adamw/ref.txt" "$d/a.txt" &&
        cmp -s "$tmp/adamw/ref" "$d/a"
    ok $? "the rerun resumes from step 4 and ends bit-identical ($(cat "$d/a.err"))"
fi

# a state written by another run (other optimizer) is refused with a clear error
"$MTO" run "$tmp/run.lua" adafactor "$tmp/x" "$tmp/adamw/ck" > /dev/null 2> "$tmp/x.err"
[ $? != 0 ] && grep -q 'different training run' "$tmp/x.err"
ok $? "another run's training state is refused ($(head -c 160 "$tmp/x.err"))"

# a damaged state is an error naming the file, not a crash and not a silent restart
mkdir -p "$tmp/bad"
printf 'garbage' > "$tmp/bad/train-state.safetensors"
"$MTO" run "$tmp/run.lua" adamw "$tmp/y" "$tmp/bad" > /dev/null 2> "$tmp/y.err"
[ $? != 0 ] && grep -q 'bad/train-state.safetensors' "$tmp/y.err" && [ ! -e "$tmp/y" ]
ok $? "a damaged training state is refused, naming the file ($(head -c 160 "$tmp/y.err"))"

cat > "$tmp/opts.lua" <<'LUA'
local mto = require "mto"
local m = mto.new({d_model = 16, d_ff = 32, d_kv = 4, num_heads = 4, num_layers = 1, vocab_size = 40}, 1)
local ex = {{src = {5, 6, 1}, tgt = {7}}}
local bad = 0
for _, v in ipairs({0, -3, 1.5, "10x", "m", "", "-5s", {}}) do
  local good, msg = pcall(m.train, m, ex, {checkpoint = os.getenv("CK"), checkpoint_every = v})
  if good or not tostring(msg):find("checkpoint_every", 1, true) then bad = bad + 1 print("# accepted " .. tostring(v)) end
end
local good, msg = pcall(m.train, m, ex, {checkpoint_every = 3})
if good or not tostring(msg):find("needs checkpoint", 1, true) then bad = bad + 1 end
for _, v in ipairs({"2s", "10m", "1h", 5, "5"}) do
  local r = m:train(ex, {checkpoint = os.getenv("CK") .. "/" .. tostring(v), checkpoint_every = v, max_steps = 6})
  if r.steps ~= 6 then bad = bad + 1 end
end
print(bad)
LUA
[ "$(CK="$tmp/o" "$MTO" run "$tmp/opts.lua" 2>&1)" = 0 ]
ok $? "checkpoint_every: steps (5, \"5\") and times (\"2s\", \"10m\", \"1h\") accepted, bad values refused"
[ -f "$tmp/o/5/train-state.safetensors" ] && [ ! -f "$tmp/o/10m/train-state.safetensors" ]
ok $? "checkpoint_every = 5 saved a state at step 5; \"10m\" none in a 6-step run"
done_testing
