#!/bin/sh
# run-bench.sh — C engine vs the PyTorch peer, same shapes, same threads, one
# run. Usage: bench/run-bench.sh [THREADS] [STEPS]   (from the build directory;
# needs Debian's python3-torch for the peer).
threads=${1:-2}
steps=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${MTO_SRCDIR:-$(cd "$here/.." && pwd)}
bin=${BENCH_TRAIN:-./bench/bench_train}
py=${PYTHON3:-/usr/bin/python3}
[ -x "$bin" ] || { echo "run-bench: build first: make bench/bench_train" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), threads=$threads"
for shape in tiny t5-small; do
    c=$("$bin" "$shape" --threads "$threads" --steps "$steps") || exit 1
    t=$(cd "$srcdir/bench" && "$py" torch_train.py "$shape" --threads "$threads" --steps "$steps") || exit 1
    echo "$c"
    echo "$t"
    ct=$(echo "$c" | sed 's/.*tokens_per_s=\([0-9.]*\).*/\1/')
    tt=$(echo "$t" | sed 's/.*tokens_per_s=\([0-9.]*\).*/\1/')
    awk -v c="$ct" -v t="$tt" -v s="$shape" 'BEGIN { printf "ratio %s mto/torch = %.2fx\n", s, c / t }'
done
