#!/bin/sh
# out_of_tree.sh — the plugin author's path, end to end: install mto into a
# temporary root, compile plugins/examples/*.c with nothing but
# `pkg-config --cflags mto-plugin`, and have the installed mto load and run it.
. "${MTO_SRCDIR:-.}/tests/tap.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

make -C "$MTO_BUILDDIR" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1
ok $? "make install DESTDIR=<tmp> succeeds"

pc=$(find "$tmp/root" -name mto-plugin.pc | head -n 1)
[ -n "$pc" ]; ok $? "mto-plugin.pc is installed"
[ -n "$(find "$tmp/root" -name mto.pc)" ]; ok $? "mto.pc is installed"
[ -n "$(find "$tmp/root" -path '*/include/mto/plugin.h')" ]; ok $? "mto/plugin.h installed under include/mto"
mto_bin=$(find "$tmp/root" -path '*/bin/mto' | head -n 1)
[ -x "$mto_bin" ]; ok $? "mto binary installed"
libdir=$(dirname "$(find "$tmp/root" -name 'libmto.so' | head -n 1)")

# pkg-config prefixes -I paths with the sysroot, so the staged install is found
PKG_CONFIG_PATH=$(dirname "$pc"); export PKG_CONFIG_PATH
PKG_CONFIG_SYSROOT_DIR="$tmp/root"; export PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags mto-plugin); ok $? "pkg-config --cflags mto-plugin"

built=0
for src in "$MTO_SRCDIR"/plugins/examples/*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    # only the installed header: no -I into the source tree
    ${CC:-cc} -Wall -Wextra -Werror -shared -fPIC $cflags "$src" -o "$tmp/$name.so" 2>"$tmp/cc.log"
    ok $? "example plugin $name compiles against the installed header only"
    built=$((built + 1))
done
[ $built -gt 0 ]; ok $? "there is at least one example plugin"

LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; export LD_LIBRARY_PATH
MTO_PLUGIN_PATH="$tmp"; export MTO_PLUGIN_PATH
"$mto_bin" plugins >"$tmp/plugins.out" 2>"$tmp/plugins.err"
ok $? "installed mto lists plugins"
for so in "$tmp"/*.so; do
    [ -f "$so" ] || continue
    grep -q "$so" "$tmp/plugins.out"; ok $? "installed mto loaded $(basename "$so")"
done
! grep -q "refused" "$tmp/plugins.err"; ok $? "no plugin refused"

# run it: each example script next to its plugin (examples/NAME.lua) drives it
for lua in "$MTO_SRCDIR"/plugins/examples/*.lua; do
    [ -f "$lua" ] || continue
    "$mto_bin" run "$lua" >"$tmp/run.out" 2>&1
    ok $? "installed mto runs $(basename "$lua") with the out-of-tree plugin"
    sed 's/^/# /' "$tmp/run.out"
done
done_testing
