#!/bin/sh
# sweep_kill.sh — crash safety. A sweep killed with SIGKILL and rerun ends with
# exactly the rows of an uninterrupted run: none lost, none duplicated, the
# same metrics and the same predictions. Two kinds of kills:
#  - timed: twice while training (after 2 and 5 rows exist);
#  - exact, through the test-only LD_PRELOAD shim tests/kill_shim.c
#    (MTO_TEST_KILL_AT): halfway through appending a results row (a torn
#    line), with a predictions file written but not yet renamed, and just
#    after that rename but before the row is appended.
# Checkpoints: the sweep keeps its early-stopping best parameters in memory and
# writes no checkpoint, so m:save(dir) is killed on its own: halfway through
# writing the temp file, before and after its rename, and before config.json's
# rename. The directory must always load, with exactly the old or the new
# weights, and no temp file is ever taken for the checkpoint. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
need_atomic
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-kill.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/run.lua" <<'LUA'
local mto = require "mto"
local tiny = dofile(os.getenv("MTO_SRCDIR") .. "/tests/sweep_tiny.lua")
local mode, a, b = arg[1], arg[2], arg[3]
if mode == "tokenizer" then print(tiny.tokenizer(a)) return end
if mode == "ckpt" then
  -- ckpt DIR v1|v2|check: v1 saves a fresh model; v2 loads it, trains 3 steps and
  -- saves over it; check loads it. Each prints the loss of one fixed batch (%.17g),
  -- which tells the two weight sets apart.
  local src, tgt = {{5, 9, 12, 7, 1}, {8, 3, 1}}, {{4, 6, 1}, {7, 1}}
  local m
  if b == "v1" then
    local spec = tiny.spec("")
    m = mto.new(spec.models.tiny.config, 1)
  else
    m = assert(mto.load(a))
  end
  if b == "v2" then
    local ex = {}
    for i = 1, 2 do ex[i] = {src = src[i], tgt = tgt[i]} end
    m:train(ex, {lr = 1e-2, max_steps = 3, batch_size = 2})
  end
  print(string.format("%.17g", m:loss(src, tgt)))
  if b ~= "check" then m:save(a) end
  return
end
if mode == "sweep" then
  local s = tiny.sweep(b, {epochs = 100}):run{results = a, quiet = true}
  print(s.ran .. " " .. s.skipped)
  return
end
-- compare DIR_A DIR_B: test lines, no plan (the shell relays them)
local R = require "mto.results"
local fs = require "mto.fs"
local ok = dofile(os.getenv("MTO_SRCDIR") .. "/tests/tap.lua").ok
local function raw(dir) return R.parse(assert(fs.read_file(dir .. "/results.csv"))) end
local ra, ca = raw(a)
local rb = raw(b)
ok(ca, "killed+resumed results.csv ends with a whole line")
ok(#ra == 9 and #rb == 9, "8 rows in both files (" .. (#ra - 1) .. ", " .. (#rb - 1) .. ")")
local keys, dup = {}, false
for i = 2, #ra do dup = dup or keys[ra[i][1]]; keys[ra[i][1]] = true end
ok(not dup, "no key appears twice")
local A, B = R.load(a), R.load(b)
local by = {}
for _, r in ipairs(B) do by[r.key] = r end
local same, preds = true, true
local skip = {wall = true, train_wall = true, finished = true}
for _, r in ipairs(A) do
  local o = by[r.key]
  if not o then same = false; print("# missing " .. r.key) else
    for k, v in pairs(r) do
      if not skip[k] and o[k] ~= v then same = false; print("# " .. k .. ": " .. v .. " vs " .. tostring(o[k])) end
    end
    local fa, fb = io.open(a .. "/" .. r.predictions), io.open(b .. "/" .. o.predictions)
    preds = preds and fa and fb and fa:read("a") == fb:read("a")
    if fa then fa:close() end
    if fb then fb:close() end
  end
end
ok(same, "every row equals the uninterrupted run's (metrics, steps, losses)")
ok(preds, "every predictions TSV equals the uninterrupted run's")
LUA

rows() { if [ -f "$1/results.csv" ]; then echo $(($(wc -l < "$1/results.csv") - 1)); else echo 0; fi; }

tok=$("$MTO" run "$tmp/run.lua" tokenizer "$tmp/tok")
ok $? "tokenizer trained"
t0=$(date +%s)
out=$("$MTO" run "$tmp/run.lua" sweep "$tmp/ref" "$tok")
ok $? "uninterrupted run ($out ran/skipped, $(( $(date +%s) - t0 )) s)"

# Start the sweep, SIGKILL it once `target` rows exist (so it dies inside a later point).
kill_at() {
    "$MTO" run "$tmp/run.lua" sweep "$tmp/k" "$tok" > /dev/null 2>&1 &
    pid=$!
    i=0
    while [ "$(rows "$tmp/k")" -lt "$1" ] && [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do
        sleep 0.05; i=$((i + 1))
    done
    kill -9 $pid 2>/dev/null
    alive=$?
    wait $pid 2>/dev/null
    return $alive
}
kill_at 2
ok $? "first SIGKILL landed while the sweep was running"
r1=$(rows "$tmp/k")
[ "$r1" -ge 2 ] && [ "$r1" -lt 8 ]
ok $? "after the first kill: $r1 of 8 rows"
kill_at 5
ok $? "second SIGKILL (resumed run) landed while the sweep was running"
r2=$(rows "$tmp/k")
[ "$r2" -gt "$r1" ] && [ "$r2" -lt 8 ]
ok $? "after the second kill: $r2 of 8 rows"
out=$("$MTO" run "$tmp/run.lua" sweep "$tmp/k" "$tok")
[ "$out" = "$((8 - r2)) $r2" ]
ok $? "final rerun trained only the $((8 - r2)) missing points (ran/skipped: $out)"
out=$("$MTO" run "$tmp/run.lua" sweep "$tmp/k" "$tok")
[ "$out" = "0 8" ]
ok $? "another rerun trains nothing ($out)"
n2=$(ls "$tmp/k/predictions" | grep -c '\.tsv$')
[ "$n2" = 8 ]
ok $? "8 predictions files ($n2)"
"$MTO" run "$tmp/run.lua" compare "$tmp/k" "$tmp/ref" > "$tmp/cmp"
ok $? "comparison ran"
relay "$tmp/cmp"

# ---- exact kill points (test-only LD_PRELOAD shim) ---------------------------
shim="$MTO_BUILDDIR/tests/.libs/kill_shim.so"
# an ASan build's binary wants libasan first in the library list; the shim is preloaded before it
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
killed_at() { # WHAT:PATTERN[:N] DIR TOKENIZER -> 0 if the run died of SIGKILL
    LD_PRELOAD="$shim${LD_PRELOAD:+ $LD_PRELOAD}" MTO_TEST_KILL_AT="$1" \
        "$MTO" run "$tmp/run.lua" sweep "$2" "$3" > /dev/null 2>&1
    [ $? = 137 ]
}
last_byte_nl() { [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; }
if [ ! -f "$shim" ]; then
    skip "$shim not built"
else
    x="$tmp/x"
    killed_at write-torn:results.csv:2 "$x" "$tok"
    ok $? "killed halfway through appending the 2nd results row"
    rx=$(rows "$x")
    ! last_byte_nl "$x/results.csv" && [ "$rx" = 1 ]
    ok $? "results.csv holds 1 whole row and a torn one (no final newline; $rx whole row)"
    killed_at rename-before:/predictions/ "$x" "$tok"
    ok $? "killed with a predictions file written but not renamed"
    rx=$(rows "$x")
    last_byte_nl "$x/results.csv" && [ "$rx" = 1 ]
    ok $? "the rerun cut the torn row before going on ($rx whole row)"
    ls "$x/predictions" | grep -q '\.tmp\.'
    ok $? "the unrenamed predictions temp file is left as a .tmp. name"
    killed_at rename-after:/predictions/ "$x" "$tok"
    ok $? "killed after a predictions rename, before its row was appended"
    rx=$(rows "$x")
    [ "$rx" = 1 ]
    ok $? "no row for the point whose predictions were renamed ($rx whole row)"
    out=$("$MTO" run "$tmp/run.lua" sweep "$x" "$tok")
    [ "$out" = "7 1" ]
    ok $? "final rerun ran the 7 points without a row (ran/skipped: $out)"
    n3=$(ls "$x/predictions" | grep -c '\.tsv$')
    [ "$n3" = 8 ]
    ok $? "8 predictions files named .tsv ($n3; temp files never take a .tsv name)"
    "$MTO" run "$tmp/run.lua" compare "$x" "$tmp/ref" > "$tmp/cmp2"
    ok $? "comparison ran"
    relay "$tmp/cmp2"

    # ---- checkpoints ---------------------------------------------------------
    c="$tmp/ckpt"
    mkdir -p "$c"
    v1=$("$MTO" run "$tmp/run.lua" ckpt "$c" v1)
    ok $? "a fresh model saved to $c (loss $v1)"
    v2=$("$MTO" run "$tmp/run.lua" ckpt "$c" v2)
    ok $? "trained 3 steps and saved over it (loss $v2)"
    [ "$v1" != "$v2" ]
    ok $? "the two weight sets give different losses"
    # back to v1 for each kill: save v1's weights again from a fresh model
    for point in write-torn:model.safetensors.tmp rename-before:/model.safetensors \
                 rename-after:/model.safetensors rename-before:/config.json; do
        rm -rf "$c" && mkdir -p "$c"
        "$MTO" run "$tmp/run.lua" ckpt "$c" v1 > /dev/null
        LD_PRELOAD="$shim${LD_PRELOAD:+ $LD_PRELOAD}" MTO_TEST_KILL_AT="$point" \
            "$MTO" run "$tmp/run.lua" ckpt "$c" v2 > /dev/null 2>&1
        rc=$?
        got=$("$MTO" run "$tmp/run.lua" ckpt "$c" check 2>&1)
        lrc=$?
        case $point in
        rename-after:*|rename-before:/config.json) want=$v2 ;;
        *) want=$v1 ;;
        esac
        stray=$(ls "$c" | grep -v '^model\.safetensors$\|^config\.json$\|^spiece\.model$' | grep -vc '\.tmp')
        [ $rc = 137 ] && [ $lrc = 0 ] && [ "$got" = "$want" ] && [ "$stray" = 0 ]
        ok $? "save killed at $point: the checkpoint loads with the $( [ "$want" = "$v1" ] && echo old || echo new) weights; leftovers are .tmp files only (rc $rc, $(ls "$c" | tr '\n' ' '))"
    done
fi
done_testing
