#!/bin/sh
# readers_failure.sh — readers never mistake failure for end of file. For every
# reader (atomic, csv, text, mcqa, wordnet): a NUL byte, a line longer than
# max_line_bytes, a FIFO (refused at once, never waited on), a directory, a real
# read error (EIO from /proc/self/mem) and running out of memory under
# `ulimit -v` each fail with a message naming the file (and line), never a short
# list of records with status 0. "-" reads standard input. TAP.
set -u
. "${MTO_SRCDIR:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mto-rd.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1
if command -v timeout >/dev/null 2>&1; then T="timeout 30" T10="timeout 10"; else T= T10=; fi

cat > "$tmp/read.lua" <<'LUA'
-- read.lua READER PATH [max_line_bytes]: prints the record count, or raises
local mto = require "mto"
local opts = {}
if arg[3] then opts.max_line_bytes = tonumber(arg[3]) end
if arg[1] == "csv" then opts.header = 0 end
if arg[1] == "mcqa" then opts.format = "csv" end
local recs = mto.read(arg[1], arg[2], opts)
print(#recs .. " records")
LUA
# expect_fail LABEL PATTERN READER PATH [MAX]: non-zero exit, message matching PATTERN
expect_fail() {
    label=$1 pat=$2
    shift 2
    $T "$MTO" run "$tmp/read.lua" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -q -- "$pat" "$tmp/err"
    ok $? "$label: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
}

# a first line every line-based reader accepts
first() {
    case $1 in
        atomic) printf 'PersonX eats\txIntent\tto be fed\n' ;;
        csv) printf 'a,b,c\n' ;;
        text) printf 'a passage\n' ;;
        mcqa) printf 'question,A,B,answerKey\nwhat?,yes,no,A\n' ;;
    esac
}
line2() { case $1 in mcqa) echo 3 ;; *) echo 2 ;; esac; }

mkfifo "$tmp/fifo" 2>/dev/null || touch "$tmp/nofifo"
mkdir "$tmp/dir"
big=
for r in atomic csv text mcqa; do
    l=$(line2 $r)
    { first $r; printf 'x\000y\n'; first $r | tail -n 1; } > "$tmp/$r.nul"
    expect_fail "$r: a NUL byte" "$r.nul:$l: NUL byte at column 2" $r "$tmp/$r.nul"
    { first $r; head -c 3000 /dev/zero | tr '\000' a; printf '\n'; } > "$tmp/$r.long"
    expect_fail "$r: a line over max_line_bytes" "$r.long:$l: line longer than 1000 bytes" $r "$tmp/$r.long" 1000
    if [ -p "$tmp/fifo" ]; then
        expect_fail "$r: a FIFO is refused, not waited on" "fifo: cannot open: not a regular file" $r "$tmp/fifo"
    else
        skip "mkfifo unavailable"
    fi
    expect_fail "$r: a directory" "dir: cannot open: is a directory" $r "$tmp/dir"
    if [ -r /proc/self/mem ]; then
        expect_fail "$r: a read error (EIO)" "/proc/self/mem:1: read error: Input/output error" $r /proc/self/mem
    else
        skip "no /proc/self/mem"
    fi
    # out of memory: a 40 MB line under a 100 MB address-space limit
    if [ -z "$big" ]; then
        big="$tmp/big"
        { head -c 40000000 /dev/zero | tr '\000' a; printf '\n'; } > "$big"
    fi
    if (ulimit -v 100000 && "$MTO" run "$tmp/read.lua" text "$tmp/$r.long" > /dev/null 2>&1); then
        (ulimit -v 100000; exec $T "$MTO" run "$tmp/read.lua" $r "$big" 1000000000) > "$tmp/out" 2> "$tmp/err"
        rc=$?
        [ $rc != 0 ] && grep -q "big:1: out of memory reading a line" "$tmp/err"
        ok $? "$r: out of memory is an error, not end of file: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
    else
        skip "cannot run mto under ulimit -v (a sanitizer build?)"
    fi
    # standard input
    first $r | $T "$MTO" run "$tmp/read.lua" $r - > "$tmp/out" 2> "$tmp/err"
    [ $? = 0 ] && grep -q '^1 records' "$tmp/out"
    ok $? "$r: - reads standard input ($(cat "$tmp/out" "$tmp/err" | tr '\n' ' '))"
done

# wordnet: a database directory; the four data files
wn="$tmp/wn"
mkdir "$wn"
for p in noun verb adj adv; do : > "$wn/data.$p"; done
printf '  1 license line\nabc\000def\n' > "$wn/data.noun"
expect_fail "wordnet: a NUL byte" "data.noun:2: NUL byte at column 4" wordnet "$wn"
rm "$wn/data.noun"
if [ -p "$tmp/fifo" ]; then
    ln -s "$tmp/fifo" "$wn/data.noun"
    expect_fail "wordnet: a FIFO is refused, not waited on" "data.noun: cannot open: not a regular file" wordnet "$wn"
    rm "$wn/data.noun"
else
    skip "mkfifo unavailable"
fi
mkdir "$wn/data.noun"
expect_fail "wordnet: a directory" "data.noun: cannot open: is a directory" wordnet "$wn"
rmdir "$wn/data.noun"
if [ -r /proc/self/mem ]; then
    ln -s /proc/self/mem "$wn/data.noun"
    expect_fail "wordnet: a read error (EIO)" "data.noun: read error: Input/output error" wordnet "$wn"
    rm "$wn/data.noun"
else
    skip "no /proc/self/mem"
fi
ln -s "$big" "$wn/data.noun"
if (ulimit -v 100000 && "$MTO" run "$tmp/read.lua" text "$tmp/text.long" > /dev/null 2>&1); then
    (ulimit -v 100000; exec $T "$MTO" run "$tmp/read.lua" wordnet "$wn") > "$tmp/out" 2> "$tmp/err"
    rc=$?
    [ $rc != 0 ] && grep -q "data.noun: out of memory" "$tmp/err"
    ok $? "wordnet: out of memory is an error: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
else
    skip "cannot run mto under ulimit -v (a sanitizer build?)"
fi

# the tokenizer: a FIFO or a directory as spiece.model
cat > "$tmp/tok.lua" <<'LUA'
local mto = require "mto"
mto.tokenizer(arg[1])
LUA
if [ -p "$tmp/fifo" ]; then
    $T10 "$MTO" run "$tmp/tok.lua" "$tmp/fifo" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -q "fifo.*not a regular file" "$tmp/err"
    ok $? "mto.tokenizer(FIFO) is refused, not waited on: $(cat "$tmp/err")"
else
    skip "mkfifo unavailable"
fi

done_testing
