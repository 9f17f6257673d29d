#!/bin/sh
# sweep_interrupt.sh — SIGINT ends a sweep with "sweep interrupted: K of N points
# done; rerun to resume" (and the signal's exit status), serial and with local
# workers; the rerun finishes the rest. The sweep is held inside a point by a
# method that waits for a file (deterministic), then gets SIGINT. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
need_atomic
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-int.XXXXXX") || exit 1
bg=
trap '[ -n "$bg" ] && kill $bg 2>/dev/null; rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1
unset MTO_SHARD MTO_WORKERS
cat > "$tmp/run.lua" <<'LUA'
-- run.lua TOK RESULTS WORKERS [GATE]: the tiny sweep; with GATE each process's 3rd
-- (serial) or 2nd (worker) point writes GATE/held-PID and waits (<= 60 s)
local mto = require "mto"
local tiny = dofile(os.getenv("MTO_SRCDIR") .. "/tests/sweep_tiny.lua")
local tok, results, workers, gate = arg[1], arg[2], tonumber(arg[3]), arg[4]
if tok == "tokenizer" then print(tiny.tokenizer(results)) return end
if gate then
  local sweep = require "mto.sweep"
  local train, calls = sweep.methods.finetune, 0
  sweep.methods.finetune = function(ctx)
    calls = calls + 1
    if calls == (workers > 1 and 2 or 3) then
      io.open(gate .. "/held-" .. mto._getpid(), "w"):close()
      -- a busy wait: os.execute (system) would ignore SIGINT while its child runs
      local t0 = os.time()
      while os.time() - t0 < 60 do end
    end
    return train(ctx)
  end
end
local s = tiny.sweep(tok):run{results = results, quiet = true, workers = workers}
print(string.format("ran=%d skipped=%d", s.ran, s.skipped))
LUA
tok=$("$MTO" run "$tmp/run.lua" tokenizer "$tmp/tok") || { ok 1 "tokenizer trained"; done_testing; }
for w in 1 2; do
    label="serial"; [ $w = 2 ] && label="workers = 2"
    g="$tmp/g$w"; mkdir "$g"
    "$MTO" run "$tmp/run.lua" "$tok" "$tmp/r$w" $w "$g" > "$g/out" 2> "$g/err" &
    bg=$!
    i=0; while [ "$(ls "$g" | grep -c held-)" -lt $w ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
    kill -INT $bg
    wait $bg; rc=$?; bg=
    [ $rc -ge 128 ] && grep -q "mto: sweep interrupted: 2 of 8 points done; rerun to resume" "$g/err"
    ok $? "$label: SIGINT says how far it got (status $rc: $(tr '\n' ' ' < "$g/err"))"
    "$MTO" run "$tmp/run.lua" "$tok" "$tmp/r$w" $w > "$g/again" 2>&1
    grep -q "ran=6 skipped=2" "$g/again"
    ok $? "$label: the rerun resumes ($(tr '\n' ' ' < "$g/again"))"
done
done_testing
