# mpi_lib.sh — sourced by the MPI tests (tests/mpi_*.sh): a clear TAP skip when
# mto was configured without MPI, and `run_mpi N CMD...` that starts N ranks on
# this machine whoever runs it (root, containers, ASan builds).
. "${MTO_SRCDIR:-.}/tests/tap.sh"

[ -n "${MPIRUN:-}" ] ||
    skip_all "mto was configured without MPI (./configure --with-mpi; Debian: apt-get install libopenmpi-dev openmpi-bin)"

# Open MPI refuses root without these; 2 ranks may exceed the cores we were given;
# single-copy shared memory needs ptrace rights containers often lack.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# An ASan build: Open MPI's own allocations are not ours to fix (tests/mpi_lsan.supp).
# Its libraries have no frame pointers, so only the slow unwinder sees the frames the
# suppressions name; the ranks get it (the serial runs keep the fast one).
export LSAN_OPTIONS="suppressions=$SRC/tests/mpi_lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# A hung rank must fail the test, not the CI job.
if command -v timeout >/dev/null 2>&1; then TIMEOUT="timeout 300"; else TIMEOUT=; fi
run_mpi() {
    _np=$1; shift
    ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" $TIMEOUT "$MPIRUN" -np "$_np" "$@"
}
