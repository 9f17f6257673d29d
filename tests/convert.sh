#!/bin/sh
# convert.sh — `mto convert`, `mto info` on .bin / sharded checkpoints and
# m:save{max_shard_size}: a converted or resharded model gives exactly the
# scores of the model it came from (scores printed with 17 digits).
. "${MTO_SRCDIR:-.}/tests/tap.sh"
T="$MTO_SRCDIR/tests/ref/torch"
R="$MTO_SRCDIR/tests/ref"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/score.lua" <<'LUA'
local mto = require "mto"
local m = mto.load(arg[1])
local s = m:score({{5, 9, 12, 33, 1}, {7, 8, 2, 1}}, {{4, 6, 1}, {11, 3, 60, 1}})
print(string.format("%.17g %.17g", s[1], s[2]))
if arg[2] then m:save(arg[2], {max_shard_size = arg[3]}) end
LUA
same() { # same NAME A B: equal scores
    a=$("$MTO" run "$tmp/score.lua" "$2" 2>&1); b=$("$MTO" run "$tmp/score.lua" "$3" 2>&1)
    if [ -n "$a" ] && [ "$a" = "$b" ] && ! echo "$a" | grep -q mto; then ok 0 "$1 ($a)"
    else ok 1 "$1"; diag "$a"; diag "$b"; fi
}

check "convert pytorch_model.bin to a directory" "$MTO" convert "$T/t5-v11" "$tmp/v11"
check "the directory has model.safetensors and config.json" test -f "$tmp/v11/model.safetensors" -a -f "$tmp/v11/config.json"
same "converted v1.1 scores as the .bin" "$T/t5-v11" "$tmp/v11"
same "and as the reference safetensors" "$R/t5-v11" "$tmp/v11"
"$MTO" convert "$T/t5-v10" "$tmp/v10" >"$tmp/conv10" 2>&1
has "v1.0: the tied embed_tokens views of shared.weight are dropped" "dropped 2 views of shared.weight" "$tmp/conv10"
"$MTO" info "$tmp/v10" >"$tmp/info" 2>&1
has "v1.0 converted: 48 of the 50 tensors" "tensors     48 " "$tmp/info"
same "converted v1.0 scores as the .bin (tied weights re-tied)" "$T/t5-v10" "$tmp/v10"
check "convert BF16 .bin to one .safetensors" "$MTO" convert "$T/t5-v11-bf16/pytorch_model.bin" "$tmp/bf16.safetensors"
"$MTO" info "$tmp/bf16.safetensors" >"$tmp/info" 2>&1
has "dtype kept (BF16)" "tensors .*, 52 BF16" "$tmp/info"
has "config in __metadata__" "metadata    config" "$tmp/info"
has "single file loads as T5 by itself" "parameters  11488" "$tmp/info"
same "BF16 converted scores as the reference BF16 file" "$R/t5-v11-bf16.safetensors" "$tmp/bf16.safetensors"
check "convert a sharded .bin into sharded safetensors" "$MTO" convert "$T/t5-v10-sharded" "$tmp/v10s" --max-shard-size 20KB
"$MTO" info "$tmp/v10s" >"$tmp/info" 2>&1
has "mto info names the index" "model.safetensors.index.json (safetensors, sharded)" "$tmp/info"
has "mto info lists the shards" "shard .*model-00003-of-00003.safetensors" "$tmp/info"
"$MTO" info "$T/t5-v10-sharded" >"$tmp/info" 2>&1
has "mto info on a .bin index" "shard .*pytorch_model-00002-of-00002.bin (25 tensors" "$tmp/info"
same "sharded safetensors score as the sharded .bin" "$T/t5-v10-sharded" "$tmp/v10s"
same "and as the unsharded reference" "$R/t5-v10" "$tmp/v10s"
mkdir "$tmp/resh"
check "m:save(dir, {max_shard_size = \"16KB\"})" "$MTO" run "$tmp/score.lua" "$R/t5-v11" "$tmp/resh" 16KB
check "four shards and an index" test -f "$tmp/resh/model-00004-of-00004.safetensors" -a -f "$tmp/resh/model.safetensors.index.json"
same "resharded model scores as the unsharded one" "$R/t5-v11" "$tmp/resh"
"$MTO" convert "$T/t5-v11" >/dev/null 2>&1; rc=$?
[ $rc = 2 ]
ok $? "convert without OUT: usage, exit 2 (exit $rc)"
"$MTO" convert "$T/t5-v11" "$tmp/x" --max-shard-size 3parsecs >"$tmp/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "max_shard_size '3parsecs'" "$tmp/out"
ok $? "bad size refused (exit $rc)"
"$MTO" convert "$T/bad/os_system.bin" "$tmp/evil.safetensors" >"$tmp/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "os.system" "$tmp/out" && [ ! -e "$tmp/evil.safetensors" ]
ok $? "hostile .bin: nothing written (exit $rc)"
done_testing
