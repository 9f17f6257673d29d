#!/bin/sh
# plugin_safety.sh — plugins cannot hijack (core/registry.c): a plugin on
# MTO_PLUGIN_PATH named like a built-in is refused with a warning from every
# command (`mto run` too, one line per process) unless MTO_PLUGIN_OVERRIDE names
# it; a collision refuses that descriptor, not the file's others nor the
# built-in's file; only regular files are opened (a FIFO named *.so does not hang
# anything); world-writable plugin directories and files, and files owned by
# another user, are refused. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
SHADOW="${MTO_BUILDDIR:-.}/tests/plugins/.libs/shadow.so"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-plug.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
unset MTO_PLUGIN_PATH MTO_PLUGIN_OVERRIDE
if command -v timeout >/dev/null 2>&1; then T="timeout 20"; else T=; fi
holds() { grep -q -- "$2" "$1"; }   # holds FILE PATTERN

$T "$MTO" plugins > "$tmp/base" 2> "$tmp/base.err"
nbase=$(wc -l < "$tmp/base")

# a built-in's name from MTO_PLUGIN_PATH: refused, named, the rest loads
mkdir "$tmp/p" && chmod 755 "$tmp/p" && cp "$SHADOW" "$tmp/p/shadow.so" && chmod 644 "$tmp/p/shadow.so"
MTO_PLUGIN_PATH="$tmp/p" $T "$MTO" plugins > "$tmp/o" 2> "$tmp/e"
ok $? "mto plugins exits 0"
holds "$tmp/e" "shadow.so: refused: objective 'mapping' is a built-in" && holds "$tmp/e" "MTO_PLUGIN_OVERRIDE=mapping"
ok $? "the shadowing descriptor is refused with a warning naming the override: $(head -1 "$tmp/e")"
grep '^mapping  *objective' "$tmp/o" | grep -q -v shadow.so
ok $? "the built-in mapping objective stays"
holds "$tmp/o" "^test_shadow_fresh .*shadow.so"
ok $? "the file's other descriptor still registers"
[ $(wc -l < "$tmp/o") -eq $((nbase + 1)) ]
ok $? "every built-in is still listed ($nbase + 1 lines)"

# mto run warns too, one line
printf 'local mto = require "mto"\nprint(mto.objective("mapping") ~= nil)\n' > "$tmp/s.lua"
MTO_PLUGIN_PATH="$tmp/p" $T "$MTO" run "$tmp/s.lua" > "$tmp/o" 2> "$tmp/e"
[ $? = 0 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && holds "$tmp/e" "^mto: warning: plugin .*shadow.so: refused"
ok $? "mto run prints one warning line: $(cat "$tmp/e")"
"$MTO" run "$tmp/s.lua" > /dev/null 2> "$tmp/e0"
[ ! -s "$tmp/e0" ]
ok $? "no warning without refusals"

# an explicit override
MTO_PLUGIN_OVERRIDE=mapping MTO_PLUGIN_PATH="$tmp/p" $T "$MTO" plugins > "$tmp/o" 2> "$tmp/e"
grep '^mapping  *objective' "$tmp/o" | grep -q shadow.so && [ ! -s "$tmp/e" ]
ok $? "MTO_PLUGIN_OVERRIDE=mapping replaces the built-in, no warning"
grep '^mapping  *template' "$tmp/o" | grep -q -v shadow.so
ok $? "only what the plugin registers is replaced: the mapping template stays built-in"

# a FIFO named *.so: refused without being opened
mkdir "$tmp/f" && chmod 755 "$tmp/f"
if mkfifo "$tmp/f/y.so" 2>/dev/null; then
    MTO_PLUGIN_PATH="$tmp/f" $T "$MTO" plugins > "$tmp/o" 2> "$tmp/e"
    [ $? = 0 ] && holds "$tmp/e" "y.so: refused: .*not a regular file"
    ok $? "a FIFO named y.so does not hang mto plugins: $(cat "$tmp/e")"
    MTO_PLUGIN_PATH="$tmp/f" $T "$MTO" run "$tmp/s.lua" > /dev/null 2> "$tmp/e"
    [ $? = 0 ]
    ok $? "nor mto run"
else
    skip "mkfifo unavailable"
    skip "mkfifo unavailable"
fi

# world-writable directory, world-writable file
mkdir "$tmp/w" && cp "$SHADOW" "$tmp/w/ww.so" && chmod 644 "$tmp/w/ww.so" && chmod 777 "$tmp/w"
MTO_PLUGIN_PATH="$tmp/w" $T "$MTO" plugins > "$tmp/o" 2> "$tmp/e"
holds "$tmp/e" "$tmp/w: refused: .*world-writable" && ! holds "$tmp/o" test_shadow_fresh
ok $? "a world-writable plugin directory is refused: $(cat "$tmp/e")"
chmod 755 "$tmp/w" && chmod 666 "$tmp/w/ww.so"
MTO_PLUGIN_PATH="$tmp/w/ww.so" $T "$MTO" plugins > "$tmp/o" 2> "$tmp/e"
holds "$tmp/e" "ww.so: refused: .*ww.so is world-writable" && ! holds "$tmp/o" test_shadow_fresh
ok $? "a world-writable plugin file is refused: $(cat "$tmp/e")"

# owned by another (non-root) user: only root can set that up
if [ "$(id -u)" = 0 ] && chown 65534 "$tmp/w/ww.so" 2>/dev/null; then
    chmod 644 "$tmp/w/ww.so"
    MTO_PLUGIN_PATH="$tmp/w/ww.so" $T "$MTO" plugins > "$tmp/o" 2> "$tmp/e"
    holds "$tmp/e" "owned by another user (uid 65534)" && ! holds "$tmp/o" test_shadow_fresh
    ok $? "a plugin owned by another user is refused: $(cat "$tmp/e")"
else
    skip "needs root to give a file to another user"
fi

done_testing
