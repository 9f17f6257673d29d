#!/bin/sh
# sweep_lock.sh — one writer per results directory (lua/mto/lock.lua). A run is held
# inside its first point (the method waits for a "go" file: deterministic, no
# timing) while a second run on the same directory starts: the second must stop at
# once naming the holder's pid and host, and the first must then finish with
# results equal to an undisturbed run's. Cases: two serial runs, two runs with
# local workers, two array tasks given the same shard (MTO_SHARD), a serial run
# (a merge) while a shard runs; two different shards still run side by side and
# merge. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
need_atomic
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-lock.XXXXXX") || exit 1
bgpid=
cleanup() { [ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
unset MTO_SHARD MTO_WORKERS
# workers train with one thread each: so does everything here, for equal rows
export OPENBLAS_NUM_THREADS=1

cat > "$tmp/run.lua" <<'LUA'
-- run.lua TOKENIZER RESULTS WORKERS [GATE]: the tiny sweep; with GATE, the first point
-- writes GATE/started and waits (at most 60 s) for GATE/go.
local mto = require "mto"
local tiny = dofile(os.getenv("MTO_SRCDIR") .. "/tests/sweep_tiny.lua")
local tok, results, workers, gate = arg[1], arg[2], tonumber(arg[3]), arg[4]
if tok == "tokenizer" then print(tiny.tokenizer(results)) return end
if gate then
  local f = assert(io.open(gate .. "/pid", "w")); f:write(mto._getpid(), "\n"); f:close()
  local sweep = require "mto.sweep"
  local train = sweep.methods.finetune
  sweep.methods.finetune = function(ctx)
    if not io.open(gate .. "/started") then
      local s = io.open(gate .. "/started", "w"); s:close()
    end
    local t0 = os.time()
    while not io.open(gate .. "/go") do
      if os.time() - t0 > 60 then error("gate: no go after 60 s") end
      os.execute("sleep 0.05")
    end
    return train(ctx)
  end
end
local s = tiny.sweep(tok):run{results = results, quiet = true, workers = workers}
print(string.format("ran=%d skipped=%d merged=%s", s.ran, s.skipped, tostring(s.merged)))
LUA

wait_for() { # FILE: at most 60 s
    i=0
    while [ ! -e "$1" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
    [ -e "$1" ]
}
# start the held run: GATE RESULTS WORKERS [ENV...]
start_held() {
    gate=$1 res=$2 w=$3
    shift 3
    mkdir -p "$gate"
    ( env "$@" "$MTO" run "$tmp/run.lua" "$tok" "$res" "$w" "$gate" > "$gate/out" 2>&1; echo $? > "$gate/rc" ) &
    bgpid=$!
    wait_for "$gate/started"
}
finish_held() { # GATE
    touch "$1/go"
    wait_for "$1/rc"
    wait "$bgpid" 2>/dev/null
    bgpid=
    [ "$(cat "$1/rc" 2>/dev/null)" = 0 ]
}
# the rows of a results.csv without the time columns, sorted
rows() {
    "$MTO" run /dev/stdin "$1" <<'LUA'
local r = require("mto.results").load(arg[1])
local TIMES = {wall = true, train_wall = true, finished = true}
local out = {}
for _, row in ipairs(r) do
  local ks = {}
  for k, v in pairs(row) do if not TIMES[k] then ks[#ks + 1] = k .. "=" .. v end end
  table.sort(ks)
  out[#out + 1] = table.concat(ks, ";")
end
table.sort(out)
print(#r .. " rows")
print(table.concat(out, "\n"))
LUA
}
host=$("$MTO" run /dev/stdin <<'LUA'
print(require("mto")._hostname())
LUA
)

tok=$("$MTO" run "$tmp/run.lua" tokenizer "$tmp/tok") || { ok 1 "tokenizer trained"; done_testing; }
"$MTO" run "$tmp/run.lua" "$tok" "$tmp/ref" 1 > /dev/null 2>&1
ok $? "reference run"
rows "$tmp/ref" > "$tmp/ref.rows"
ok $([ "$(head -1 "$tmp/ref.rows")" = "8 rows" ]; echo $?) "the reference has 8 rows"

# a second run on a held directory: refused at once, naming pid and host
refused() { # LABEL OUTFILE RC HOLDERPID
    [ "$3" != 0 ] && grep -q "pid $4 on host $host" "$2"
    ok $? "$1: refused, naming the holder (pid $4 on $host)"
    [ "$3" != 0 ] || cat "$2" | sed 's/^/# /'
}

for w in 1 2; do
    label="serial"; [ $w = 2 ] && label="workers = 2"
    start_held "$tmp/g$w" "$tmp/r$w" $w
    t0=$(date +%s)
    "$MTO" run "$tmp/run.lua" "$tok" "$tmp/r$w" $w > "$tmp/second$w" 2>&1
    rc=$?
    refused "$label" "$tmp/second$w" $rc "$(cat "$tmp/g$w/pid")"
    ok $([ $(( $(date +%s) - t0 )) -lt 10 ]; echo $?) "$label: the second run stopped at once"
    finish_held "$tmp/g$w"
    ok $? "$label: the held run finishes"
    rows "$tmp/r$w" > "$tmp/r$w.rows"
    cmp -s "$tmp/ref.rows" "$tmp/r$w.rows"
    ok $? "$label: results equal a single run's"
    [ ! -e "$tmp/r$w/parts" ] || [ -z "$(ls "$tmp/r$w/parts" | grep -v owner)" ]
    ok $? "$label: no part files left"
done

# array tasks: shard 0/2 held; a second 0/2 is refused; a serial run (a merge) is
# refused; shard 1/2 runs meanwhile; when 0/2 ends it merges everything
start_held "$tmp/ga" "$tmp/ra" 1 MTO_SHARD=0/2
hp=$(cat "$tmp/ga/pid")
MTO_SHARD=0/2 "$MTO" run "$tmp/run.lua" "$tok" "$tmp/ra" 1 > "$tmp/dup" 2>&1
rc=$?
refused "array: the same shard twice" "$tmp/dup" $rc "$hp"
grep -q "array-0-of-2 is already running" "$tmp/dup"
ok $? "array: the message names the shard"
"$MTO" run "$tmp/run.lua" "$tok" "$tmp/ra" 1 > "$tmp/merge" 2>&1
rc=$?
refused "array: a serial run (merge) while a shard runs" "$tmp/merge" $rc "$hp"
MTO_SHARD=1/2 "$MTO" run "$tmp/run.lua" "$tok" "$tmp/ra" 1 > "$tmp/other" 2>&1
ok $? "array: another shard runs side by side"
grep -q "ran=4 skipped=0 merged=false" "$tmp/other"
ok $? "array: shard 1/2 ran its 4 points, not merged ($(cat "$tmp/other"))"
finish_held "$tmp/ga"
ok $? "array: the held shard finishes"
grep -q "merged=true" "$tmp/ga/out"
ok $? "array: the last shard merged ($(cat "$tmp/ga/out"))"
rows "$tmp/ra" > "$tmp/ra.rows"
cmp -s "$tmp/ref.rows" "$tmp/ra.rows"
ok $? "array: results equal a single run's"
"$MTO" run "$tmp/run.lua" "$tok" "$tmp/ra" 1 > "$tmp/again" 2>&1
grep -q "ran=0 skipped=8" "$tmp/again"
ok $? "array: a rerun finds every point ($(cat "$tmp/again"))"

# MTO_NO_LOCK=1 (a file system without fcntl locks): no lock, and a warning saying so
mkdir "$tmp/nl"
MTO_NO_LOCK=1 "$MTO" run /dev/stdin "$tmp/nl" > "$tmp/nl.out" 2>&1 <<'LUA'
local lock = require "mto.lock"
local a = lock.dir(arg[1])
a:release()
print("unlocked run")
LUA
grep -q "unlocked run" "$tmp/nl.out" && grep -q "MTO_NO_LOCK=1: results directories are not locked" "$tmp/nl.out" &&
    [ ! -e "$tmp/nl/.lock" ]
ok $? "MTO_NO_LOCK=1 runs without a lock and warns"

done_testing
