#!/bin/sh
# mpi_basic.sh — mto.mpi under `mpirun -np 2`: ranks, allreduce, bcast, barrier;
# a plain `mto run` never starts MPI; a script error on one rank ends the whole
# job with a failure instead of leaving the other rank waiting; MTO_SHARD and
# mpirun together are refused. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/mpi_lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-mpibasic.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
plan 7

cat >"$tmp/basic.lua" <<'LUA'
local mpi = require("mto").mpi
local launched = mpi.launched()
local active0 = mpi.active()
local rank, size = mpi.rank(), mpi.size()
local s = mpi.allreduce({rank + 1, 10}, "sum")
local mx = mpi.allreduce({rank}, "max")
local b = mpi.bcast(rank == 0 and "from rank 0" or "not this")
mpi.barrier()
print(string.format("launched=%s active_before=%s active=%s rank=%d size=%d sum=%g,%g max=%g bcast=%s",
  tostring(launched), tostring(active0), tostring(mpi.active()), rank, size, s[1], s[2], mx[1], b))
LUA
"$MTO" run "$tmp/basic.lua" >"$tmp/o1" 2>&1
grep -q '^launched=false active_before=false active=false rank=0 size=1 sum=1,10 max=0 bcast=from rank 0$' "$tmp/o1"
ok $? "plain mto run: not launched, MPI never started, one process" || diag_file "$tmp/o1"

run_mpi 2 "$MTO" run "$tmp/basic.lua" >"$tmp/o2" 2>&1
rc=$?
c=$(grep -c '^launched=true active_before=false active=true rank=[01] size=2 sum=3,20 max=1 bcast=from rank 0$' "$tmp/o2")
[ $rc = 0 ] && [ "$c" = 2 ]
ok $? "mpirun -np 2: ranks 0 and 1, allreduce sum/max, bcast from rank 0 (exit $rc)" || diag_file "$tmp/o2"
grep -q 'rank=0 ' "$tmp/o2" && grep -q 'rank=1 ' "$tmp/o2"
ok $? "both ranks reported"

# rank 1 fails while rank 0 waits at a barrier: the job must end, and fail
cat >"$tmp/fail.lua" <<'LUA'
local mpi = require("mto").mpi
if mpi.rank() == 1 then error("deliberate failure on rank 1") end
mpi.barrier()
print("rank 0 passed the barrier")
LUA
start=$(date +%s)
run_mpi 2 "$MTO" run "$tmp/fail.lua" >"$tmp/o3" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'deliberate failure on rank 1' "$tmp/o3" && ! grep -q 'passed the barrier' "$tmp/o3"
ok $? "an error on one rank aborts the job: exit $rc after ${took}s, message shown" || diag_file "$tmp/o3"

cat >"$tmp/shard.lua" <<'LUA'
local ok, err = pcall(require("mto.cluster").world)
print(ok and "accepted" or err)
LUA
MTO_SHARD=0/2 run_mpi 2 "$MTO" run "$tmp/shard.lua" >"$tmp/o4" 2>&1
[ "$(grep -c 'MTO_SHARD=0/2 is set while running as 2 MPI ranks' "$tmp/o4")" = 2 ]
ok $? "MTO_SHARD under mpirun is refused on every rank" || diag_file "$tmp/o4"
MTO_SHARD=2/2 "$MTO" run "$tmp/shard.lua" >"$tmp/o5" 2>&1
grep -q "MTO_SHARD must be I/N with 0 <= I < N, got '2/2'" "$tmp/o5"
ok $? "a malformed MTO_SHARD is named" || diag_file "$tmp/o5"

# a script ending in os.exit() never closes its Lua state: MPI is finalised at exit
cat >"$tmp/exit.lua" <<'LUA'
local mpi = require("mto").mpi
mpi.barrier()
print("rank " .. mpi.rank() .. " exits")
os.exit(0)
LUA
run_mpi 2 "$MTO" run "$tmp/exit.lua" >"$tmp/o6" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(grep -c 'exits$' "$tmp/o6")" = 2 ] && ! grep -qi 'finalize' "$tmp/o6"
ok $? "os.exit() under mpirun: both ranks end cleanly (MPI finalised at exit; exit $rc)" || diag_file "$tmp/o6"
done_testing
