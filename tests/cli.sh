#!/bin/sh
# cli.sh — the mto command line: help, version, usage errors (exit 2), Lua
# errors reported as script:LINE (exit 1), arguments, and the stock lua5.4
# interpreter loading the same module with require "mto".
. "${MTO_SRCDIR:-.}/tests/tap.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

"$MTO" --help >"$tmp/help" 2>&1; rc=$?
check "--help exits 0" test $rc -eq 0
check "--help lists run" grep -q "run \[--verbose\] SCRIPT.lua" "$tmp/help"
check "--help lists plugins" grep -q "plugins" "$tmp/help"
"$MTO" --version >"$tmp/ver" 2>&1
check "--version prints the version" grep -q "^mto [0-9]" "$tmp/ver"
check "--version names the matmul backend and OpenBLAS core" grep -q "^matmul: openblas (OpenBLAS core " "$tmp/ver"

"$MTO" frobnicate >/dev/null 2>"$tmp/err"; rc=$?
check "unknown command exits 2" test $rc -eq 2
check "unknown command prints usage" grep -q "usage: mto" "$tmp/err"
"$MTO" --frob >/dev/null 2>"$tmp/err"; rc=$?
check "bad flag exits 2" test $rc -eq 2
check "bad flag is named" grep -q "unknown option '--frob'" "$tmp/err"
"$MTO" >/dev/null 2>&1; rc=$?
check "no command exits 2" test $rc -eq 2
"$MTO" run >/dev/null 2>&1; rc=$?
check "run without script exits 2" test $rc -eq 2

"$MTO" plugins >"$tmp/plugins" 2>&1; rc=$?
check "plugins exits 0" test $rc -eq 0
check "plugins prints a header" grep -q "NAME *KIND *VERSION *FILE" "$tmp/plugins"

cat >"$tmp/bad.lua" <<'LUA'
local mto = require "mto"
local x = 1
error("deliberate failure")
LUA
"$MTO" run "$tmp/bad.lua" >/dev/null 2>"$tmp/err"; rc=$?
check "Lua error exits non-zero" test $rc -ne 0
check "Lua error names script:LINE" grep -q "bad.lua:3: deliberate failure" "$tmp/err"
printf 'x = = 1\n' >"$tmp/syntax.lua"
"$MTO" run "$tmp/syntax.lua" >/dev/null 2>"$tmp/err"; rc=$?
check "syntax error exits non-zero" test $rc -ne 0
check "syntax error names script:LINE" grep -q "syntax.lua:1:" "$tmp/err"
"$MTO" run "$tmp/missing.lua" >/dev/null 2>"$tmp/err"; rc=$?
check "missing script exits non-zero" test $rc -ne 0
check "missing script is named" grep -q "missing.lua" "$tmp/err"

cat >"$tmp/args.lua" <<'LUA'
local a, b = ...
assert(a == "one" and b == "two", "varargs")
assert(arg[1] == "one" and arg[2] == "two" and arg[0]:match("args.lua$"), "arg table")
print("args ok")
LUA
"$MTO" run "$tmp/args.lua" one two >"$tmp/out" 2>&1
check "script gets its arguments" grep -q "args ok" "$tmp/out"

if [ -n "$LUA" ] && [ -x "$LUA" ]; then
    # a sanitizer build's module needs the ASan runtime loaded first in a stock interpreter
    preload=
    asan=$(ldd "$MTO_BUILDDIR/lua/.libs/mto.so" 2>/dev/null | awk '/libasan/ {print $3}')
    [ -n "$asan" ] && preload=$asan
    LD_PRELOAD="$preload" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "$LUA" -e 'local m = require "mto"; assert(type(m.version) == "string"); assert(type(m.plugins()) == "table"); print("lua ok " .. m.version)' >"$tmp/out" 2>&1
    check "stock lua5.4 can require \"mto\" (LUA_CPATH)" grep -q "lua ok" "$tmp/out"
else
    skip "lua5.4 interpreter not found at configure time"
fi
done_testing
