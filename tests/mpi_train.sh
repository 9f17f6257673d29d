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
echo "1..6"

"$MTO" run "$T" single "$tmp/single" 2>"$tmp/err1"
rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/single" ] && echo "ok 1 - single-process reference curves" ||
    { echo "not ok 1 - single-process reference curves (exit $rc)"; sed 's/^/# /' "$tmp/err1"; }
[ "$(cat "$tmp/single.flag" 2>/dev/null)" = same ] && echo "ok 2 - data_parallel outside mpirun is plain training, MPI not started" ||
    echo "not ok 2 - data_parallel outside mpirun is plain training, MPI not started"

run_mpi 2 "$MTO" run "$T" dp "$tmp/dp" >"$tmp/out2" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '^size 2$' "$tmp/dp.0" 2>/dev/null && grep -q '^size 2$' "$tmp/dp.1" 2>/dev/null; then
    echo "ok 3 - mpirun -np 2: both ranks trained data-parallel"
else
    echo "not ok 3 - mpirun -np 2: both ranks trained data-parallel (exit $rc)"; sed 's/^/# /' "$tmp/out2"
fi
"$MTO" run "$T" compare "$tmp/single" "$tmp/dp.0" >"$tmp/cmp" 2>&1
line=$(grep -E '^(not )?ok - ' "$tmp/cmp")
case "$line" in
    "ok - "*) echo "ok 4 - loss curve == single process: ${line#ok - }" ;;
    *) echo "not ok 4 - loss curve == single process"; sed 's/^/# /' "$tmp/cmp" ;;
esac
cmp -s "$tmp/dp.0" "$tmp/dp.1" && echo "ok 5 - both ranks report identical losses and final parameters" ||
    echo "not ok 5 - both ranks report identical losses and final parameters"

run_mpi 2 "$MTO" run "$T" mismatch >"$tmp/out3" 2>&1
n=$(grep -c 'failed .*ranks disagree on the examples' "$tmp/out3")
[ "$n" = 2 ] && echo "ok 6 - ranks given different examples both fail naming what differs" ||
    { echo "not ok 6 - ranks given different examples both fail naming what differs"; sed 's/^/# /' "$tmp/out3"; }
