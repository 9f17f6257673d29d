#!/bin/sh
# mpi_train.sh — data-parallel training (m:train{data_parallel = true}) on 2 MPI
# ranks gives the loss curve of single-process training with the same global
# batch and seed within 1e-5 relative (batches of 8 with a short last batch, and
# batches of 4 with accumulation 2 where one rank gets an empty slice), every rank
# ends with the same parameters, and ranks fed different examples all fail. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/mpi_lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-mpitrain.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
T="$SRC/tests/mpi_train_job.lua"
plan 6

"$MTO" run "$T" single "$tmp/single" 2>"$tmp/err1"
rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/single" ]
ok $? "single-process reference curves (exit $rc)" || diag_file "$tmp/err1"
[ "$(cat "$tmp/single.flag" 2>/dev/null)" = same ]
ok $? "data_parallel outside mpirun is plain training, MPI not started"

run_mpi 2 "$MTO" run "$T" dp "$tmp/dp" >"$tmp/out2" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^size 2$' "$tmp/dp.0" 2>/dev/null && grep -q '^size 2$' "$tmp/dp.1" 2>/dev/null
ok $? "mpirun -np 2: both ranks trained data-parallel (exit $rc)" || diag_file "$tmp/out2"
"$MTO" run "$T" compare "$tmp/single" "$tmp/dp.0" >"$tmp/cmp" 2>&1
relay "$tmp/cmp" "loss curve == single process: "
cmp -s "$tmp/dp.0" "$tmp/dp.1"
ok $? "both ranks report identical losses and final parameters"

run_mpi 2 "$MTO" run "$T" mismatch >"$tmp/out3" 2>&1
n=$(grep -c 'failed .*ranks disagree on the examples' "$tmp/out3")
[ "$n" = 2 ]
ok $? "ranks given different examples both fail naming what differs" || diag_file "$tmp/out3"
done_testing
