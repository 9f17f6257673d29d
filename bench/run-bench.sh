#!/bin/sh
# run-bench.sh — the C engine against the PyTorch peer, same shapes, same
# threads, in one run. Training steps (bench_train / torch_train.py): mto fp32
# on OpenBLAS, mto fp32 on oneDNN (MTO_MATMUL=dnnl), mto bf16 (oneDNN), PyTorch
# fp32 and PyTorch bf16 autocast. Greedy decoding with a key/value cache
# (bench_decode / torch_decode.py --cache) at batch 1 and at the study's batch
# (32, sweep eval batch_size): mto fp32, mto dnnl fp32, mto bf16, PyTorch fp32.
# Each round runs every configuration once, interleaved; medians over ROUNDS.
# The header names the CPU, the flags that matter, OpenBLAS's core, oneDNN's
# ISA, the machine's load, and the matmul ceilings measured in this run. For
# mto fp32 on OpenBLAS it also gives the forward+backward GFLOP/s against the
# sgemm ceiling (sustained and burst, bench_train's efficiency line; median
# over the rounds) and, once per thread count, where the time goes
# (bench_train --products: the products alone, the rest, the slowest shapes).
# Usage: bench/run-bench.sh [THREADS] [STEPS] [ROUNDS]   (from the build dir;
# THREADS may be a list, "1 2"; needs Debian's python3-torch for the peer).
# SHAPES="tiny t5-small" default; DECODE_BATCHES="1 32" default.
threads_list=${1:-1 2}
steps=${2:-10}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${MTO_SRCDIR:-$(cd "$here/.." && pwd)}
bin=${BENCH_TRAIN:-./bench/bench_train}
dbin=${BENCH_DECODE:-./bench/bench_decode}
py=${PYTHON3:-/usr/bin/python3}
shapes=${SHAPES:-tiny t5-small}
dbatches=${DECODE_BATCHES:-1 32}
[ -x "$bin" ] && [ -x "$dbin" ] || { echo "run-bench: build first: make bench/bench_train bench/bench_decode" >&2; exit 1; }
ncpu=$(nproc) # before OMP_NUM_THREADS, which nproc honours
# torch runs its elementwise ops on OpenMP and its matrix products on the same
# OpenBLAS: with libgomp's default spin-waiting, idle OpenMP workers steal the
# cores from OpenBLAS's threads and torch runs 2-3x slower at threads=2. PASSIVE
# gives the peer its best configuration (it changes nothing at threads=1); mto's
# oneDNN runs under the same setting.
export OMP_WAIT_POLICY=PASSIVE
unset MTO_MATMUL
load() { uptime | sed 's/.*load average: *//'; }
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_bf16|amx_tile)$' | tr '\n' ' ')
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $ncpu cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# flags: ${flags:-none of avx2 avx512f avx512_bf16 amx}"
info=$("$bin" --info)
echo "# $info"
echo "# torch $("$py" -c 'import torch; print(torch.__version__, "mkldnn bf16" if torch.backends.mkldnn.is_available() else "no mkldnn")' 2>/dev/null)"
echo "# steps=$steps rounds=$rounds, load average at start: $(load)"
case "$flags" in *avx512f*)
    case "$info" in *"core Haswell"*|*"core Zen"*)
        echo "# note: OpenBLAS runs its AVX2 kernels on this AVX-512 CPU; OPENBLAS_CORETYPE=SkylakeX runs its" \
             "AVX-512 ones (faster here, other fp32 bits)" ;;
    esac ;;
esac
field() { echo "$1" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p"; }
wall() { echo "$1" | grep -v '^#' | sed -n "s/.* tokens_per_s=\([0-9.]*\).*/\1/p"; }
cpu() { echo "$1" | sed -n "s/.* cpu_tokens_per_s=\([0-9.]*\).*/\1/p"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'; }
for threads in $threads_list; do
    export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
    echo "# threads=$threads: $("$bin" tiny --threads "$threads" --ceilings-only)"
    for shape in $shapes; do
        a=; b=; c=; d=; e=; ca=; cb=; cc=; cd_=; ce=; loads=; es=; eb=
        r=0
        while [ $r -lt "$rounds" ]; do
            loads="$loads $(load | cut -d, -f1)"
            o=$("$bin" "$shape" --threads "$threads" --steps "$steps") || exit 1; echo "$o"
            a="$a $(wall "$o")"; ca="$ca $(cpu "$o")"
            es="$es $(echo "$o" | sed -n 's/.*= \([0-9.]*\)% of the sustained.*/\1/p')"
            eb="$eb $(echo "$o" | sed -n 's/.*(\([0-9.]*\)% of the burst.*/\1/p')"
            o=$(MTO_MATMUL=dnnl "$bin" "$shape" --threads "$threads" --steps "$steps") || exit 1; echo "$o"
            b="$b $(wall "$o")"; cb="$cb $(cpu "$o")"
            o=$("$bin" "$shape" --threads "$threads" --steps "$steps" --precision bf16) || exit 1; echo "$o"
            c="$c $(wall "$o")"; cc="$cc $(cpu "$o")"
            o=$(cd "$srcdir/bench" && "$py" torch_train.py "$shape" --threads "$threads" --steps "$steps") || exit 1; echo "$o"
            d="$d $(wall "$o")"; cd_="$cd_ $(cpu "$o")"
            o=$(cd "$srcdir/bench" && "$py" torch_train.py "$shape" --threads "$threads" --steps "$steps" --bf16) || exit 1; echo "$o"
            e="$e $(wall "$o")"; ce="$ce $(cpu "$o")"
            r=$((r + 1))
        done
        ma=$(echo "$a" | median); mb=$(echo "$b" | median); mc=$(echo "$c" | median)
        md=$(echo "$d" | median); me=$(echo "$e" | median)
        echo "train $shape threads=$threads tokens/s (median of $rounds; 1-min load per round:$loads):" \
             "mto-fp32-openblas $ma, mto-fp32-dnnl $mb, mto-bf16 $mc, torch-fp32 $md, torch-bf16-autocast $me"
        echo "efficiency train $shape threads=$threads mto-fp32-openblas forward+backward vs the sgemm ceiling" \
             "(median of $rounds): $(echo "$es" | median)% of the sustained ceiling (rounds:$es)," \
             "$(echo "$eb" | median)% of the burst ceiling (rounds:$eb)"
        echo "ratio train $shape threads=$threads vs torch-fp32: openblas $(ratio "$ma" "$md"), dnnl $(ratio "$mb" "$md")," \
             "bf16 $(ratio "$mc" "$md"); vs torch-bf16: bf16 $(ratio "$mc" "$me"), dnnl-fp32 $(ratio "$mb" "$me")"
        if [ "$threads" = 1 ]; then # tokens per second of process CPU time: less moved by a loaded machine
            ma=$(echo "$ca" | median); mb=$(echo "$cb" | median); mc=$(echo "$cc" | median)
            md=$(echo "$cd_" | median); me=$(echo "$ce" | median)
            echo "train-cpu $shape threads=1 tokens per CPU-second (median of $rounds): mto-fp32-openblas $ma," \
                 "mto-fp32-dnnl $mb, mto-bf16 $mc, torch-fp32 $md, torch-bf16-autocast $me"
            echo "ratio train-cpu $shape threads=1 vs torch-fp32: openblas $(ratio "$ma" "$md"), dnnl $(ratio "$mb" "$md")," \
                 "bf16 $(ratio "$mc" "$md"); vs torch-bf16: bf16 $(ratio "$mc" "$me"), dnnl-fp32 $(ratio "$mb" "$me")"
        fi
        "$bin" "$shape" --threads "$threads" --steps "$steps" --products | grep -E 'products alone|product [NT]' | head -n 6
        for bs in $dbatches; do
            a=; b=; c=; d=; ca=; cb=; cc=; cd_=
            r=0
            while [ $r -lt "$rounds" ]; do
                o=$("$dbin" "$shape" --threads "$threads" --batch "$bs") || exit 1; echo "$o"
                a="$a $(field "$o" tokens_per_s)"; ca="$ca $(cpu "$o")"
                o=$(MTO_MATMUL=dnnl "$dbin" "$shape" --threads "$threads" --batch "$bs") || exit 1; echo "$o"
                b="$b $(field "$o" tokens_per_s)"; cb="$cb $(cpu "$o")"
                o=$("$dbin" "$shape" --threads "$threads" --batch "$bs" --precision bf16) || exit 1; echo "$o"
                c="$c $(field "$o" tokens_per_s)"; cc="$cc $(cpu "$o")"
                o=$(cd "$srcdir/bench" && "$py" torch_decode.py "$shape" --cache --threads "$threads" --batch "$bs") || exit 1; echo "$o"
                d="$d $(field "$o" tokens_per_s)"; cd_="$cd_ $(cpu "$o")"
                r=$((r + 1))
            done
            ma=$(echo "$a" | median); mb=$(echo "$b" | median); mc=$(echo "$c" | median); md=$(echo "$d" | median)
            echo "decode $shape threads=$threads batch=$bs tokens/s (median of $rounds): mto-fp32-openblas $ma," \
                 "mto-fp32-dnnl $mb, mto-bf16 $mc, torch-fp32 $md; ratios vs torch: $(ratio "$ma" "$md")," \
                 "$(ratio "$mb" "$md"), $(ratio "$mc" "$md")"
            if [ "$threads" = 1 ]; then
                ma=$(echo "$ca" | median); mb=$(echo "$cb" | median); mc=$(echo "$cc" | median); md=$(echo "$cd_" | median)
                echo "decode-cpu $shape threads=1 batch=$bs tokens per CPU-second (median of $rounds):" \
                     "mto-fp32-openblas $ma, mto-fp32-dnnl $mb, mto-bf16 $mc, torch-fp32 $md; ratios vs torch:" \
                     "$(ratio "$ma" "$md"), $(ratio "$mb" "$md"), $(ratio "$mc" "$md")"
            fi
        done
    done
done
echo "# load average at end: $(load)"
