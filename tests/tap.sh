# tests/tap.sh — the TAP helpers every shell test shares (one copy instead of one
# per file). Source it first; the harness names the source tree in MTO_SRCDIR, so it
# is found from a VPATH build too:
#   . "${MTO_SRCDIR:-.}/tests/tap.sh"
# It sets MTO (the built CLI) and SRC (the source tree, exported as MTO_SRCDIR for
# the Lua scripts the tests run). End the file with done_testing.
MTO="${MTO_BUILDDIR:-.}/mto"
SRC="${MTO_SRCDIR:-.}"
export MTO_SRCDIR="$SRC"
tap_n=0 tap_failed=0 tap_planned=

# plan N: announce N tests up front; done_testing then fails unless exactly N ran.
plan() { tap_planned=$1; echo "1..$1"; }

# ok STATUS NAME: one test, passing when STATUS is 0 (as in: CMD; ok $? "NAME"). Returns STATUS.
ok() {
    tap_n=$((tap_n + 1))
    if [ "$1" = 0 ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
    return "$1"
}

# diag TEXT...: a "# " comment line. diag_file FILE [N]: FILE's lines (the first N) as comments.
diag() { echo "# $*"; }
diag_file() { if [ -n "${2:-}" ]; then head -n "$2" "$1"; else cat "$1"; fi | sed 's/^/# /'; }

# check NAME COMMAND...: one test, passing when COMMAND succeeds; its output is shown
# (5 lines) only when it fails.
check() {
    _tap_name=$1; shift
    _tap_out=$("$@" 2>&1)
    ok $? "$_tap_name" && return 0
    [ -z "$_tap_out" ] || printf '%s\n' "$_tap_out" | head -n 5 | sed 's/^/# /'
    return 1
}

# has NAME PATTERN FILE: one test, FILE has a line matching the regular expression
# PATTERN; FILE's first 8 lines are shown when it does not.
has() {
    grep -q -e "$2" "$3"
    ok $? "$1" || { diag "no /$2/ in $3"; diag_file "$3" 8; return 1; }
}

# skip REASON: one skipped test (counted, its reason shown).
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $1"; }

# skip_all REASON: the whole file is skipped; exits 0.
skip_all() { echo "1..0 # SKIP $1"; exit 0; }

# need_atomic: skip the file unless the shared ATOMIC sample is there; sets data to its directory.
need_atomic() {
    data="${MTO_SHARED_DATA:-/nonexistent}/atomic2020-sample"
    [ -f "$data/train.tsv" ] || skip_all "no shared ATOMIC sample (MTO_SHARED_DATA unset or missing)"
}

# relay FILE [PREFIX]: the test lines a helper script wrote to FILE ("ok 3 - name",
# "not ok - name", "ok 4 # SKIP why"; no plan, e.g. tests/tap.lua's T.ok without
# T.done) become tests of this file, renumbered, PREFIX before each name; its other
# lines become comments. A FILE without any test line is one failing test.
relay() {
    _tap_seen=0
    while IFS= read -r _tap_line; do
        _tap_name=$(printf '%s\n' "$_tap_line" | sed -e 's/^not ok//' -e 's/^ok//' -e 's/^ *[0-9]*//' -e 's/^ *- //')
        case $_tap_line in
            "ok "*"# SKIP"*) skip "${_tap_line#*# SKIP }" ;;
            "not ok "*|"not ok") ok 1 "${2:-}$_tap_name" ;;
            "ok "*|"ok") ok 0 "${2:-}$_tap_name" ;;
            "#"*) echo "$_tap_line"; continue ;;
            *) echo "# $_tap_line"; continue ;;
        esac
        _tap_seen=1
    done < "$1"
    [ "$_tap_seen" = 1 ] || ok 1 "${2:-}test results in $1"
}

# tap_count: how many tests have run so far.
tap_count() { echo "$tap_n"; }

# done_testing: the plan "1..N" when none was announced; exits 1 if a test failed
# or the count differs from an announced plan, 0 otherwise.
done_testing() {
    if [ -z "$tap_planned" ]; then
        echo "1..$tap_n"
    elif [ "$tap_n" != "$tap_planned" ]; then
        diag "planned $tap_planned tests but ran $tap_n"
        tap_failed=$((tap_failed + 1))
    fi
    [ "$tap_failed" = 0 ] && exit 0
    exit 1
}
