#!/bin/sh
# save_temps.sh — a save killed by a signal leaves its full-size PATH.tmp-XXXXXX
# behind; the next m:save of PATH removes every such file nobody holds, and keeps
# one a running save (another process, holding its fcntl lock) is writing. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-save.XXXXXX") || exit 1
bg=
trap '[ -n "$bg" ] && kill $bg 2>/dev/null; rm -rf "$tmp"' EXIT
cat > "$tmp/save.lua" <<'LUA'
local mto = require "mto"
mto.new({d_model = 16, d_ff = 32, d_kv = 4, num_heads = 4, num_layers = 1, vocab_size = 64}, 1):save(arg[1])
LUA
cat > "$tmp/hold.lua" <<'LUA'
-- hold.lua FILE READY GO: lock FILE as a writing save does, until GO exists
local mto = require "mto"
local h = assert(mto._lockfile(arg[1]))
assert(h:try("w", 0, 0))
io.open(arg[2], "w"):close()
local t0 = os.time()
while not io.open(arg[3]) and os.time() - t0 < 60 do os.execute("sleep 0.05") end
LUA
ck="$tmp/ck.safetensors"
"$MTO" run "$tmp/save.lua" "$ck"
ok $? "a first save"
head -c 100000 /dev/zero > "$ck.tmp-aB3xYz"     # what a killed save leaves
head -c 100000 /dev/zero > "$ck.tmp-Qw9rTu"     # a save in progress elsewhere
head -c 10 /dev/zero > "$tmp/other.safetensors.tmp-abcdef"   # another file's: not ours to touch
"$MTO" run "$tmp/hold.lua" "$ck.tmp-Qw9rTu" "$tmp/ready" "$tmp/go" &
bg=$!
i=0; while [ ! -e "$tmp/ready" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
"$MTO" run "$tmp/save.lua" "$ck"
ok $? "the next save succeeds"
[ ! -e "$ck.tmp-aB3xYz" ]
ok $? "it removed the stale temp file"
[ -e "$ck.tmp-Qw9rTu" ]
ok $? "it kept the temp file another process holds"
[ -e "$tmp/other.safetensors.tmp-abcdef" ]
ok $? "it left another file's temp alone"
touch "$tmp/go"; wait $bg; bg=
[ "$(ls "$tmp" | grep -c 'ck.safetensors.tmp-')" = 1 ]
ok $? "no temp file of its own left"
done_testing
