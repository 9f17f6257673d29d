#!/bin/sh
# make-safetensors-corpus.sh — (re)generate the small seed corpus in
# tests/fuzz/corpus/safetensors/: a few valid files and a few classic bad ones.
# usage: tests/fuzz/make-safetensors-corpus.sh [DIR]
set -eu
dir=${1:-$(cd "$(dirname "$0")" && pwd)/corpus/safetensors}
mkdir -p "$dir"

# 8-byte little-endian integer.
le64() {
    n=$1 i=0
    while [ $i -lt 8 ]; do
        printf "\\$(printf %03o $(( (n >> (8 * i)) & 255 )))"
        i=$((i + 1))
    done
}

# st NAME JSON DATA_BYTES [DECLARED_LEN]: header padded to 8 with spaces,
# data bytes 0x00, 0x01, ... (mod 256, as octal escapes).
st() {
    json=$2
    while [ $(( ${#json} % 8 )) -ne 0 ]; do json="$json "; done
    {
        le64 "${4:-${#json}}"
        printf '%s' "$json"
        i=0
        while [ $i -lt "$3" ]; do
            printf "\\$(printf %03o $(( (i * 7 + 60) & 255 )))"
            i=$((i + 1))
        done
    } > "$dir/$1"
}

e() { printf '"%s":{"dtype":"%s","shape":%s,"data_offsets":%s}' "$1" "$2" "$3" "$4"; }

st valid-f32 "{$(e w F32 '[2,2]' '[0,16]')}" 16
st valid-mixed "{\"__metadata__\":{\"format\":\"pt\",\"cfg\":\"{\\\"d\\\":4}\"},$(e a F32 '[2]' '[0,8]'),$(e b F16 '[3]' '[8,14]'),$(e c BF16 '[1]' '[14,16]'),$(e d I64 '[1]' '[16,24]'),$(e e U8 '[3]' '[24,27]')}" 27
st valid-all-dtypes "{$(e f64 F64 '[1]' '[0,8]'),$(e i32 I32 '[1]' '[8,12]'),$(e i16 I16 '[1]' '[12,14]'),$(e i8 I8 '[1]' '[14,15]'),$(e b BOOL '[1]' '[15,16]'),$(e u16 U16 '[1]' '[16,18]'),$(e u32 U32 '[1]' '[18,22]'),$(e u64 U64 '[1]' '[22,30]'),$(e f8 F8_E4M3 '[1]' '[30,31]'),$(e f8b F8_E5M2 '[1]' '[31,32]')}" 32
st valid-scalar-empty "{$(e s F32 '[]' '[0,4]'),$(e z F32 '[0,3]' '[4,4]')}" 4
st valid-out-of-order "{$(e z F16 '[2]' '[4,8]'),$(e y F16 '[2]' '[0,4]')}" 8
st valid-empty "{}" 0
st bad-overlap "{$(e a F32 '[2]' '[0,8]'),$(e b F32 '[2]' '[4,12]')}" 12
st bad-gap "{$(e a F32 '[1]' '[0,4]'),$(e b F32 '[1]' '[8,12]')}" 12
st bad-size "{$(e x.weight F32 '[4,4]' '[0,80]')}" 80
st bad-dtype "{$(e a Q4 '[1]' '[0,1]')}" 1
st bad-overflow "{$(e a F64 '[4294967296,4294967296]' '[0,8]')}" 8
st bad-duplicate "{$(e a U8 '[1]' '[0,1]'),$(e a U8 '[1]' '[1,2]')}" 2
st bad-meta "{\"__metadata__\":{\"lr\":0.1}}" 0
st bad-hlen "{}" 0 4096
printf 'short' > "$dir/bad-short"
