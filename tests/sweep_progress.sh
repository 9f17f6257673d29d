#!/bin/sh
# sweep_progress.sh — what a sweep prints when stderr is not a terminal, and
# full-data points that resume inside the point.
#  - progress: a 4-point sweep writes exactly one line per finished point (plus
#    "progress:" heartbeats, at most one per 30 s), serially and with 2 workers;
#    heartbeats come when due; verbose = true brings back per-step lines.
#  - a full-data point (checkpoint every 5 steps under RESULTS/checkpoints/) killed
#    through the test-only shim tests/kill_shim.c just after its 2nd training state
#    was renamed into place resumes at step 10 on the rerun, ends with exactly the
#    row and predictions of an uninterrupted run, and its checkpoint directory is
#    removed once the row is written; the same after a SIGTERM (the state of the step in
#    progress is saved). TAP; needs the shared ATOMIC sample.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
need_atomic
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-progress.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
unset MTO_VERBOSE MTO_WORKERS

cat > "$tmp/run.lua" <<'LUA'
local mto = require "mto"
local tiny = dofile(os.getenv("MTO_SRCDIR") .. "/tests/sweep_tiny.lua")
local mode, dir, tok, arg4 = arg[1], arg[2], arg[3], arg[4]
if mode == "tokenizer" then print(tiny.tokenizer(dir)) return end
if mode == "few" then -- 4 few-shot points; arg4: workers; MTO_TEST_VERBOSE: verbose
  local spec = tiny.spec(tok, {epochs = tonumber(os.getenv("MTO_TEST_EPOCHS") or "") or 2})
  spec.seeds = {1}
  if os.getenv("MTO_TEST_VERBOSE") == "1" then spec.verbose = true end
  local s = mto.sweep(spec):run{results = dir, workers = tonumber(arg4),
                                heartbeat = tonumber(os.getenv("MTO_TEST_HEARTBEAT") or "")}
  print(s.ran)
  return
end
if mode == "full" then -- 1 full-data point, training state every 5 steps
  local spec = tiny.spec(tok)
  spec.templates, spec.shots, spec.seeds = {"mapping"}, {"full"}, {1}
  spec.full = {max_steps = tonumber(os.getenv("MTO_TEST_STEPS") or "") or 30, eval_every = 10, patience = 5,
               checkpoint_every = 5}
  local s = mto.sweep(spec):run{results = dir}
  print(s.ran)
  return
end
-- compare DIR_A DIR_B: 0 when rows (but wall times) and predictions are equal
local R = require "mto.results"
local A, B = R.load(dir), R.load(tok)
local bad = #A == 1 and #B == 1 and 0 or 1
local skip = {wall = true, train_wall = true, finished = true}
for k, v in pairs(A[1] or {}) do
  if not skip[k] and B[1][k] ~= v then bad = bad + 1 print("# " .. k .. ": " .. v .. " vs " .. tostring(B[1][k])) end
end
local fa, fb = io.open(dir .. "/" .. (A[1] or {}).predictions), io.open(tok .. "/" .. (B[1] or {}).predictions)
if not (fa and fb and fa:read("a") == fb:read("a")) then bad = bad + 1 end
print(bad)
LUA

# lines of a log that are not heartbeats; heartbeats allowed: one per 30 s of the run
count() { grep -vc '^progress: ' "$1"; }
beats_ok() { [ "$(grep -c '^progress: ' "$1")" -le $(( $2 / 30 + 1 )) ]; }

tok=$("$MTO" run "$tmp/run.lua" tokenizer "$tmp/tok")
ok $? "tokenizer trained"

for w in 1 2; do
    t0=$(date +%s)
    "$MTO" run "$tmp/run.lua" few "$tmp/few$w" "$tok" $w > "$tmp/few$w.out" 2> "$tmp/few$w.err"
    ok $? "4-point sweep, $w worker(s), stderr to a file"
    secs=$(( $(date +%s) - t0 ))
    c=$(count "$tmp/few$w.err")
    [ "$c" = 4 ] && [ "$(grep -c 'rouge_l .*steps' "$tmp/few$w.err")" = 4 ] && beats_ok "$tmp/few$w.err" $secs
    ok $? "$w worker(s): exactly one line per point ($c lines besides heartbeats, $secs s)"
    [ $c = 4 ] || sed 's/^/# /' "$tmp/few$w.err"
done
for w in 1 2; do
    # points must outlast a few 0.25 s polls of the parent, even on a fast idle machine
    # (40 epochs took 0.2 s a point there, too short for any heartbeat between finished lines)
    MTO_TEST_HEARTBEAT=0.02 MTO_TEST_EPOCHS=200 "$MTO" run "$tmp/run.lua" few "$tmp/hb$w" "$tok" $w > /dev/null 2> "$tmp/hb$w.err"
    c=$(count "$tmp/hb$w.err"); b=$(grep -c '^progress: .*phase [0-9]/4 .*ETA' "$tmp/hb$w.err")
    [ "$c" = 4 ] && [ "$b" -ge 1 ]
    ok $? "$w worker(s), heartbeat = 0.02 s: heartbeats with the phase ETA ($b), still one line per point ($c)"
done
MTO_TEST_VERBOSE=1 "$MTO" run "$tmp/run.lua" few "$tmp/fewv" "$tok" 1 > /dev/null 2> "$tmp/fewv.err"
c=$(grep -c ' step [0-9]*/[0-9]* loss ' "$tmp/fewv.err")
[ "$c" -ge 8 ]
ok $? "verbose = true: per-step lines come back ($c)"
MTO_VERBOSE=1 "$MTO" run "$tmp/run.lua" few "$tmp/fewv2" "$tok" 2 > /dev/null 2> "$tmp/fewv2.err"
c=$(grep -c ' step [0-9]*/[0-9]* loss ' "$tmp/fewv2.err")
[ "$c" -ge 8 ]
ok $? "MTO_VERBOSE=1 (mto run --verbose) with 2 workers: per-step lines ($c)"
"$MTO" run --verbose "$tmp/run.lua" few "$tmp/fewv3" "$tok" 1 > /dev/null 2> "$tmp/fewv3.err"
c=$(grep -c ' step [0-9]*/[0-9]* loss ' "$tmp/fewv3.err")
[ "$c" -ge 8 ]
ok $? "mto run --verbose: per-step lines ($c)"

# ---- a full-data point resumed inside the point ----------------------------------
"$MTO" run "$tmp/run.lua" full "$tmp/ref" "$tok" > /dev/null 2> "$tmp/ref.err"
ok $? "full-data point, uninterrupted"
[ ! -e "$tmp/ref/checkpoints" ]
ok $? "its checkpoint directory is gone once the row is written"
shim="${MTO_BUILDDIR:-.}/tests/.libs/kill_shim.so"
if [ ! -f "$shim" ]; then
    skip "$shim not built"
else
    LD_PRELOAD="$shim${LD_PRELOAD:+ $LD_PRELOAD}" MTO_TEST_KILL_AT=rename-after:train-state.safetensors:2 \
        "$MTO" run "$tmp/run.lua" full "$tmp/k" "$tok" > /dev/null 2>&1
    [ $? = 137 ] && ls "$tmp"/k/checkpoints/*/train-state.safetensors > /dev/null 2>&1
    ok $? "killed just after the 2nd training state was saved: the state is there"
    "$MTO" run "$tmp/run.lua" full "$tmp/k" "$tok" > /dev/null 2> "$tmp/k.err"
    ok $? "rerun finishes"
    grep -q '(resumed at step 10)' "$tmp/k.err"
    ok $? "the rerun resumed the point at step 10 ($(tail -n 1 "$tmp/k.err"))"
    [ "$("$MTO" run "$tmp/run.lua" compare "$tmp/k" "$tmp/ref")" = 0 ]
    ok $? "row and predictions equal the uninterrupted run's"
    [ ! -e "$tmp/k/checkpoints" ]
    ok $? "checkpoint directory removed after the row was written"
    # other full = {...} options are another sweep (the directory records its spec, issue 21):
    # the rerun is refused before it touches the saved training state
    LD_PRELOAD="$shim${LD_PRELOAD:+ $LD_PRELOAD}" MTO_TEST_KILL_AT=rename-after:train-state.safetensors:1 \
        MTO_TEST_STEPS=40 "$MTO" run "$tmp/run.lua" full "$tmp/o" "$tok" > /dev/null 2>&1
    [ $? = 137 ]
    ok $? "killed after a training state with max_steps = 40"
    ! "$MTO" run "$tmp/run.lua" full "$tmp/o" "$tok" > /dev/null 2> "$tmp/o.err" &&
        grep -q 'holds results of a different sweep: full .*max_steps"=40.*max_steps"=30' "$tmp/o.err" &&
        [ -n "$(ls "$tmp/o/checkpoints" 2>/dev/null)" ]
    ok $? "rerun with max_steps = 30: refused as a different sweep, the saved training state untouched"
fi
# SIGTERM (a Slurm time limit) while a full-data point trains: the state of the step in
# progress is saved, the rerun resumes there and the row equals an uninterrupted run's
MTO_TEST_STEPS=600 "$MTO" run "$tmp/run.lua" full "$tmp/ref600" "$tok" > /dev/null 2>&1
ok $? "full-data point, 600 steps, uninterrupted"
MTO_TEST_STEPS=600 "$MTO" run "$tmp/run.lua" full "$tmp/t" "$tok" > /dev/null 2> "$tmp/t.err" &
pid=$!
i=0
while ! ls "$tmp"/t/checkpoints/*/train-state.safetensors > /dev/null 2>&1 && [ $i -lt 600 ]; do
    sleep 0.05; i=$((i + 1))
done
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
[ $rc != 0 ] && grep -q 'training state is kept' "$tmp/t.err" && ls "$tmp"/t/checkpoints/*/train-state.safetensors > /dev/null 2>&1
ok $? "SIGTERM while training: the point stops, its training state is kept (exit $rc)"
MTO_TEST_STEPS=600 "$MTO" run "$tmp/run.lua" full "$tmp/t" "$tok" > /dev/null 2> "$tmp/t2.err" &&
    grep -q '(resumed at step [1-9]' "$tmp/t2.err" &&
    [ "$("$MTO" run "$tmp/run.lua" compare "$tmp/t" "$tmp/ref600")" = 0 ] && [ ! -e "$tmp/t/checkpoints" ]
ok $? "the rerun resumes the point and its row equals the uninterrupted run's ($(tail -n 1 "$tmp/t2.err" | sed 's/.*loss/loss/'))"
done_testing
