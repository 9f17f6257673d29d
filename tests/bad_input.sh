#!/bin/sh
# bad_input.sh — the bad-input matrix (issue 9): every kind of hostile or
# malformed input goes through the real `mto` command and must give a
# non-zero exit (or, for plugins, a refusal), a message naming the file:line /
# tensor / plugin, and no crash (exit status >= 128 means a signal).
. "${MTO_SRCDIR:-.}/tests/tap.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# row NAME WANT_EXIT PATTERN -- COMMAND...: WANT_EXIT is "fail" (1..127) or 0
row() {
    name=$1 want=$2 pattern=$3; shift 4
    "$@" >"$tmp/out" 2>&1; rc=$?
    if [ $rc -ge 128 ]; then why="crashed (status $rc)"
    elif [ "$want" = fail ] && [ $rc -eq 0 ]; then why="succeeded"
    elif [ "$want" = 0 ] && [ $rc -ne 0 ]; then why="exit $rc"
    elif ! grep -q -e "$pattern" "$tmp/out"; then why="message lacks /$pattern/"
    else ok 0 "$name"; return; fi
    ok 1 "$name: $why"; diag_file "$tmp/out" 5
}

# --- hostile safetensors (written with Lua's string.pack) -------------------
cat >"$tmp/mkst.lua" <<'LUA'
-- mkst.lua OUT HEADER_JSON DATA_BYTES [DECLARED_LEN]: a safetensors file by hand
local out, header, nbytes, declared = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
local f = assert(io.open(out, "wb"))
f:write(string.pack("<I8", declared or #header), header, string.rep("\0", nbytes))
f:close()
LUA
st() { "$MTO" run "$tmp/mkst.lua" "$@"; }
st "$tmp/ok.safetensors" '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}' 16
row "a valid checkpoint reads" 0 "parameters  11488" -- "$MTO" info "$MTO_SRCDIR/tests/ref/t5-v11"
head -c 40 "$tmp/ok.safetensors" >"$tmp/trunc.safetensors"
row "truncated safetensors" fail "trunc.safetensors" -- "$MTO" info "$tmp/trunc.safetensors"
st "$tmp/hlen.safetensors" '{}' 0 999999
row "header length beyond the file" fail "hlen.safetensors.*header length" -- "$MTO" info "$tmp/hlen.safetensors"
st "$tmp/past.safetensors" '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}' 8
row "offsets past the end" fail "past.safetensors.*'w'" -- "$MTO" info "$tmp/past.safetensors"
st "$tmp/overlap.safetensors" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' 12
row "overlapping tensors" fail "overlap.safetensors.*overlap" -- "$MTO" info "$tmp/overlap.safetensors"
st "$tmp/huge.safetensors" '{"h":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}}' 16
row "huge shape (overflow)" fail "huge.safetensors.*'h'" -- "$MTO" info "$tmp/huge.safetensors"
st "$tmp/dsize.safetensors" '{"d":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}}' 16
row "wrong dtype size" fail "dsize.safetensors.*'d'" -- "$MTO" info "$tmp/dsize.safetensors"
st "$tmp/dtype.safetensors" '{"d":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}' 16
row "unknown dtype" fail "dtype.safetensors.*'d'" -- "$MTO" info "$tmp/dtype.safetensors"
st "$tmp/json.safetensors" '{"a": [' 0
row "header is not JSON" fail "json.safetensors" -- "$MTO" info "$tmp/json.safetensors"
row "not a T5 checkpoint" fail "ok.safetensors.*config" -- "$MTO" info "$tmp/ok.safetensors"
row "missing checkpoint" fail "nowhere.safetensors" -- "$MTO" info "$tmp/nowhere.safetensors"

# --- hostile or damaged pytorch_model.bin (tests/ref/make_torch_fixtures.py) and sharded indexes ---
T="$MTO_SRCDIR/tests/ref/torch"
row "a valid pytorch_model.bin reads" 0 "parameters  8416" -- "$MTO" info "$T/t5-v10"
row "pickle asking for os.system" fail "os_system.bin.*global 'os.system' is not allowed" -- "$MTO" info "$T/bad/os_system.bin"
row "REDUCE of a global that is not callable" fail "reduce_storage.bin.*REDUCE may call only" -- "$MTO" info "$T/bad/reduce_storage.bin"
row "truncated zip archive" fail "truncated.bin.*not a readable torch.save zip" -- "$MTO" info "$T/bad/truncated.bin"
row "storage entry shorter than its storage" fail "short_storage.bin: tensor 'w'.*has 40 bytes" -- "$MTO" info "$T/bad/short_storage.bin"
row "tensor past the end of its storage" fail "past_storage.bin: tensor 'w' needs elements" -- "$MTO" info "$T/bad/past_storage.bin"
row "storage entry missing" fail "no_storage.bin: tensor 'w'.*missing" -- "$MTO" info "$T/bad/no_storage.bin"
row "non-contiguous strides (transposed view)" fail "noncontig.bin: tensor 'w.t' is not contiguous" -- "$MTO" info "$T/bad/noncontig.bin"
row "damaged storage (CRC mismatch)" fail "crc.bin: tensor 'w'.*CRC" -- "$MTO" convert "$T/bad/crc.bin" "$tmp/crc.safetensors"
row "legacy (pre-1.6) torch.save format" fail "legacy.bin: legacy torch.save format" -- "$MTO" info "$T/bad/legacy.bin"
row "nested dict instead of a state dict" fail "nested.bin: entry 'model' is a dict" -- "$MTO" info "$T/bad/nested.bin"
mkdir -p "$tmp/idx"
cp "$T/t5-v10-sharded/"* "$tmp/idx/"
printf '{"weight_map": {"shared.weight": "../../etc/passwd"}}' >"$tmp/idx/pytorch_model.bin.index.json"
row "index naming a shard outside its directory" fail "index.json: tensor 'shared.weight' maps to '../../etc/passwd'" -- "$MTO" info "$tmp/idx"
printf '{"weight_map": {"lm_head.weight": "pytorch_model-00001-of-00002.bin"}}' >"$tmp/idx/pytorch_model.bin.index.json"
row "index naming a tensor its shard lacks" fail "tensor 'lm_head.weight' is not in its shard" -- "$MTO" info "$tmp/idx"
printf '{"weight_map": {"a": "gone.bin"}}' >"$tmp/idx/pytorch_model.bin.index.json"
row "index naming a missing shard" fail "gone.bin" -- "$MTO" info "$tmp/idx"

# --- malformed TSV / CSV rows, missing or damaged WordNet, corrupt tokenizer ---
cat >"$tmp/read.lua" <<'LUA'
local mto = require "mto"
local reader, path, opts = arg[1], arg[2], {}
for i = 3, #arg do local k, v = arg[i]:match("^([^=]+)=(.*)$"); opts[k] = v end
local recs = mto.read(reader, path, opts)
print(#recs .. " records")
LUA
printf 'head\trel\ttail\nPersonX eats\txIntent\tto be full\nbroken row without tabs\n' >"$tmp/bad.tsv"
row "malformed TSV row" fail "bad.tsv:3" -- "$MTO" run "$tmp/read.lua" atomic "$tmp/bad.tsv"
printf 'a,b\n1,"unterminated\n' >"$tmp/bad.csv"
row "malformed CSV (open quote)" fail "bad.csv:2" -- "$MTO" run "$tmp/read.lua" csv "$tmp/bad.csv" delimiter=,
row "missing data file" fail "nothere.tsv" -- "$MTO" run "$tmp/read.lua" atomic "$tmp/nothere.tsv"
row "missing WordNet directory" fail "$tmp/nowordnet" -- "$MTO" run "$tmp/read.lua" wordnet "$tmp/nowordnet"
mkdir -p "$tmp/wn"
for f in data.noun data.verb data.adj data.adv; do printf '00001740 03 n 01 thing 0 000 | damaged\n' >"$tmp/wn/$f"; done
row "damaged WordNet directory" fail "wn/data" -- "$MTO" run "$tmp/read.lua" wordnet "$tmp/wn"
printf 'this is not a sentencepiece model' >"$tmp/bad.model"
cat >"$tmp/tok.lua" <<'LUA'
local mto = require "mto"
mto.tokenizer(arg[1])
LUA
row "corrupt tokenizer model" fail "bad.model" -- "$MTO" run "$tmp/tok.lua" "$tmp/bad.model"

# --- scripts, plugins, templates -------------------------------------------------
printf 'local mto = require "mto"\nlocal t = {}\nt.x.y = 1\n' >"$tmp/err.lua"
row "Lua script with a runtime error" fail "err.lua:3:" -- "$MTO" run "$tmp/err.lua"
printf 'local x = \n' >"$tmp/syn.lua"
row "Lua script with a syntax error" fail "syn.lua:" -- "$MTO" run "$tmp/syn.lua"
row "plugin with the wrong ABI is refused, others load" 0 "bad_abi.so.*ABI version" -- \
    env MTO_PLUGIN_PATH="$MTO_BUILDDIR/tests/plugins/.libs/bad_abi.so" "$MTO" plugins
env MTO_PLUGIN_PATH="$MTO_BUILDDIR/tests/plugins/.libs/bad_abi.so" "$MTO" plugins >"$tmp/pl" 2>/dev/null
grep -q "span_corruption" "$tmp/pl"; ok $? "other plugins still listed"
cat >"$tmp/tmpl.lua" <<'LUA'
local mto = require "mto"
local t = mto.template(arg[1], {masked = 1})
print(t:render{head = "PersonX eats", relation = "xIntent", tail = "to be full"})
LUA
row "template without a mask slot asked for a masked objective" fail "mapping" -- "$MTO" run "$tmp/tmpl.lua" mapping
row "masked template with a mask slot is fine" 0 "extra_id_0" -- "$MTO" run "$tmp/tmpl.lua" masked_mapping
cat >"$tmp/field.lua" <<'LUA'
local mto = require "mto"
mto.template("prompting"):render{head = "PersonX eats", relation = "xIntent"}
LUA
row "template asked for a field the record lacks" fail "tail" -- "$MTO" run "$tmp/field.lua"
cat >"$tmp/rel.lua" <<'LUA'
local mto = require "mto"
mto.template("prompting"):render{head = "PersonX eats", relation = "NoSuchRelation", tail = "x"}
LUA
row "unknown relation with no phrase" fail "NoSuchRelation" -- "$MTO" run "$tmp/rel.lua"

# --- issue 21: a checkpoint that does not match its config; readers' bad bytes ---
mkdir -p "$tmp/ck1"
cp "$MTO_SRCDIR/tests/ref/t5-v11/model.safetensors" "$tmp/ck1/"
sed -e 's/"num_layers": 2/"num_layers": 1/' -e 's/"num_decoder_layers": 2/"num_decoder_layers": 1/' \
    "$MTO_SRCDIR/tests/ref/t5-v11/config.json" >"$tmp/ck1/config.json"
row "2-layer checkpoint whose config says 1: mto info names the tensor" fail \
    "ck1/model.safetensors: tensor .*block\.1\..* is not part of the model its config describes (1+1 layers" -- \
    "$MTO" info "$tmp/ck1"
cat >"$tmp/load.lua" <<'LUA'
local mto = require "mto"
local good, m = pcall(mto.load, arg[1])
if good then print("loaded") os.exit(0) end
print(m) os.exit(1)
LUA
row "mto.load refuses it with a message" fail "does not match its config" -- "$MTO" run "$tmp/load.lua" "$tmp/ck1"
mkdir -p "$tmp/ck0"
cp "$MTO_SRCDIR/tests/ref/t5-v11/model.safetensors" "$MTO_SRCDIR/tests/ref/t5-v11/config.json" "$tmp/ck0/"
: >"$tmp/ck0/spiece.model"
row "a 0-byte spiece.model: mto.load raises a message" fail "ck0/spiece.model: cannot load" -- \
    "$MTO" run "$tmp/load.lua" "$tmp/ck0"
printf 'local mto = require "mto"\nmto.new({d_model = 16, d_ff = 32, d_kv = 4, num_heads = 4, num_layers = 1, vocab_size = 64, dropout_rate = 0/0})\n' >"$tmp/nan.lua"
row "dropout_rate = NaN is named, not 'bad JSON'" fail "dropout_rate = .*nan is not a finite number" -- "$MTO" run "$tmp/nan.lua"
printf 'PersonX eats\txIntent\tto be full\nPersonX \000drinks\txIntent\tx\n' >"$tmp/nul.tsv"
row "a NUL byte is named as such" fail "nul.tsv:2: NUL byte" -- "$MTO" run "$tmp/read.lua" atomic "$tmp/nul.tsv"
row "/dev/zero as input is refused, not read to the memory limit" fail "/dev/zero: cannot open: not a regular file" -- \
    "$MTO" run "$tmp/read.lua" text /dev/zero
mkdir -p "$tmp/adir"
row "a directory as input" fail "adir: cannot open: is a directory" -- "$MTO" run "$tmp/read.lua" atomic "$tmp/adir"
row "a line over max_line_bytes" fail "nul.tsv:1: line longer than 10 bytes" -- \
    "$MTO" run "$tmp/read.lua" atomic "$tmp/nul.tsv" max_line_bytes=10
done_testing
