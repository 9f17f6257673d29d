#!/bin/sh
# run-bench.sh — C engine vs the PyTorch peer, same shapes, same threads, in
# one run: train steps (bench_train / torch_train.py) and greedy decoding with
# a key/value cache (bench_decode / torch_decode.py --cache). Each pair runs
# ROUNDS times, the two programs alternating; medians are reported.
# Usage: bench/run-bench.sh [THREADS] [STEPS] [ROUNDS]   (from the build dir;
# needs Debian's python3-torch for the peer). SHAPES="tiny t5-small" default.
threads=${1:-2}
steps=${2:-10}
rounds=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${MTO_SRCDIR:-$(cd "$here/.." && pwd)}
bin=${BENCH_TRAIN:-./bench/bench_train}
dbin=${BENCH_DECODE:-./bench/bench_decode}
py=${PYTHON3:-/usr/bin/python3}
shapes=${SHAPES:-tiny t5-small}
[ -x "$bin" ] && [ -x "$dbin" ] || { echo "run-bench: build first: make bench/bench_train bench/bench_decode" >&2; exit 1; }
ncpu=$(nproc) # before OMP_NUM_THREADS, which nproc honours
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
# torch runs its elementwise ops on OpenMP and its matrix products on the same
# OpenBLAS: with libgomp's default spin-waiting, idle OpenMP workers steal the
# cores from OpenBLAS's threads and torch runs 2-3x slower at threads=2. PASSIVE
# gives the peer its best configuration (it changes nothing at threads=1).
export OMP_WAIT_POLICY=PASSIVE
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $ncpu cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), threads=$threads, rounds=$rounds, load average:$(uptime | sed 's/.*load average://')"
field() { echo "$1" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for shape in $shapes; do
    ct=; tt=; cd_=; td=
    r=0
    while [ $r -lt "$rounds" ]; do
        c=$("$bin" "$shape" --threads "$threads" --steps "$steps") || exit 1
        t=$(cd "$srcdir/bench" && "$py" torch_train.py "$shape" --threads "$threads" --steps "$steps") || exit 1
        echo "$c"; echo "$t"
        ct="$ct $(field "$c" tokens_per_s)"; tt="$tt $(field "$t" tokens_per_s)"
        c=$("$dbin" "$shape" --threads "$threads") || exit 1
        t=$(cd "$srcdir/bench" && "$py" torch_decode.py "$shape" --cache --threads "$threads") || exit 1
        echo "$c"; echo "$t"
        cd_="$cd_ $(field "$c" tokens_per_s)"; td="$td $(field "$t" tokens_per_s)"
        r=$((r + 1))
    done
    mc=$(echo "$ct" | median); mt=$(echo "$tt" | median); dc=$(echo "$cd_" | median); dt=$(echo "$td" | median)
    awk -v c="$mc" -v t="$mt" -v s="$shape" -v n="$rounds" -v th="$threads" \
        'BEGIN { printf "ratio train %s threads=%s mto/torch = %.2fx (median of %d: %.1f vs %.1f tokens/s)\n", s, th, c / t, n, c, t }'
    awk -v c="$dc" -v t="$dt" -v s="$shape" -v n="$rounds" -v th="$threads" \
        'BEGIN { printf "ratio decode %s threads=%s mto/torch = %.2fx (median of %d: %.1f vs %.1f tokens/s)\n", s, th, c / t, n, c, t }'
done
