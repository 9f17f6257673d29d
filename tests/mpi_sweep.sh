#!/bin/sh
# mpi_sweep.sh — a sweep sharded over MPI ranks: `mpirun -np 2 mto run` gives the
# serial run's results (same rows, metrics, losses and predictions, in the same
# order, one row per point, per-rank parts merged away); resume across sizes: an
# array shard (MTO_SHARD=1/2) then -np 3 then a serial rerun, and -np 2 on half
# the sweep then a serial run of all of it, each equal to the serial run; and
# run{data_parallel = true}: both ranks train every point together, one row each,
# losses within 1e-5 of the serial twin. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/mpi_lib.sh"
need_atomic
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-mpisweep.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
T="$SRC/tests/mpi_sweep_job.lua"
# the test lines of `compare`, numbered here
compare() {
    "$MTO" run "$T" compare "$@" >"$tmp/cmp" 2>&1
    relay "$tmp/cmp" "${2##*/}: "
}
# sum of "ran" over the ranks' lines, and the lines' count
ran() { awk '/^rank /{s += $6; c++} END {print s + 0, c + 0}' "$1"; }

tok=$("$MTO" run "$T" tokenizer "$tmp/tok" 2>"$tmp/err") || { ok 1 "tokenizer"; diag_file "$tmp/err"; done_testing; }
plan 28

"$MTO" run "$T" sweep "$tmp/ser" "$tok" >"$tmp/o" 2>&1
ok $? "serial reference sweep (8 points)"

run_mpi 2 "$MTO" run "$T" sweep "$tmp/par" "$tok" >"$tmp/o" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(ran "$tmp/o")" = "8 2" ] && grep -q 'rank 0 of 2 ran 4' "$tmp/o" && grep -q 'rank 1 of 2 ran 4' "$tmp/o"
ok $? "mpirun -np 2: each rank ran 4 of the 8 points (exit $rc: $(ran "$tmp/o"))"
[ $rc -eq 0 ] || diag_file "$tmp/o"
compare "$tmp/ser" "$tmp/par" ordered

# resume across sizes 1: one array shard, then 3 ranks, then a serial rerun
MTO_SHARD=1/2 "$MTO" run "$T" sweep "$tmp/res" "$tok" >"$tmp/o" 2>&1
grep -q 'rank 1 of 2 ran 4 skipped 0 merged false' "$tmp/o" && [ -f "$tmp/res/parts/array-1-of-2.csv" ] && [ ! -s "$tmp/res/results.csv" ]
ok $? "MTO_SHARD=1/2 alone: 4 points into its own part, not merged (the sweep is unfinished)"
run_mpi 3 "$MTO" run "$T" sweep "$tmp/res" "$tok" >"$tmp/o" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(ran "$tmp/o")" = "4 3" ] && [ "$(grep -c 'skipped 4 merged true rows 8' "$tmp/o")" = 3 ]
ok $? "then mpirun -np 3: the 4 other points, the shard's 4 skipped (exit $rc: $(ran "$tmp/o"))"
[ $rc -eq 0 ] || diag_file "$tmp/o"
"$MTO" run "$T" sweep "$tmp/res" "$tok" >"$tmp/o" 2>&1
grep -q 'rank 0 of 1 ran 0 skipped 8' "$tmp/o"
ok $? "then a serial rerun has nothing left to run"
compare "$tmp/ser" "$tmp/res"

# resume across sizes 2: -np 2 on half of the sweep, then serially all of it
run_mpi 2 "$MTO" run "$T" sweep "$tmp/res2" "$tok" 1 >"$tmp/o" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(ran "$tmp/o")" = "4 2" ]
ok $? "mpirun -np 2 on seed 1 only: 4 points (exit $rc: $(ran "$tmp/o"))"
"$MTO" run "$T" sweep "$tmp/res2" "$tok" >"$tmp/o" 2>&1
grep -q 'rank 0 of 1 ran 4 skipped 4' "$tmp/o"
ok $? "then serially the whole sweep: 4 run, 4 skipped"
compare "$tmp/ser" "$tmp/res2"

# run{data_parallel = true}: both ranks train each point together, rank 0 writes
"$MTO" run "$T" dp "$tmp/nd" "$tok" >"$tmp/o" 2>&1
ok $? "serial twin of the data-parallel sweep (2 points, no dropout)"
run_mpi 2 "$MTO" run "$T" dp "$tmp/dp" "$tok" dp >"$tmp/o" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c 'ran 2 skipped 0 merged true rows 2 dp 2$' "$tmp/o")" = 2 ]
ok $? "mpirun -np 2 run{data_parallel = true}: both ranks trained both points data-parallel (exit $rc)"
[ $rc -eq 0 ] || diag_file "$tmp/o"
"$MTO" run "$T" close "$tmp/nd" "$tmp/dp" >"$tmp/cmp" 2>&1
relay "$tmp/cmp" "dp: "
done_testing
