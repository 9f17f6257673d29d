#!/bin/sh
# sweep_kill.sh — a sweep killed with SIGKILL (twice, at different points) and
# rerun ends with exactly the rows of an uninterrupted run: none lost, none
# duplicated, the same metrics and the same predictions. TAP.
set -u
MTO="${MTO_BUILDDIR:-.}/mto"
SRC="${MTO_SRCDIR:-.}"
data="${MTO_SHARED_DATA:-/nonexistent}/atomic2020-sample"
if [ ! -f "$data/train.tsv" ]; then
    echo "1..0 # SKIP no shared ATOMIC sample (MTO_SHARED_DATA unset or missing)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-kill.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export MTO_SRCDIR="$SRC"

cat > "$tmp/run.lua" <<'LUA'
local mto = require "mto"
local tiny = dofile(os.getenv("MTO_SRCDIR") .. "/tests/sweep_tiny.lua")
local mode, a, b = arg[1], arg[2], arg[3]
if mode == "tokenizer" then print(tiny.tokenizer(a)) return end
if mode == "sweep" then
  local s = tiny.sweep(b, {epochs = 100}):run{results = a, quiet = true}
  print(s.ran .. " " .. s.skipped)
  return
end
-- compare DIR_A DIR_B: TAP lines without numbers (the shell adds the plan)
local R = require "mto.results"
local n = 0
local function ok(c, name) n = n + 1; print((c and "ok" or "not ok") .. " - " .. name) end
local function raw(dir)
  local f = assert(io.open(dir .. "/results.csv", "rb")); local t = f:read("a"); f:close()
  local recs, complete = R.parse(t)
  return recs, complete
end
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

n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
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
cat "$tmp/cmp"
n=$((n + $(grep -c '^\(not \)\{0,1\}ok' "$tmp/cmp")))
echo "1..$n"
