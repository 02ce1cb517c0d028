#!/usr/bin/env bash
# tests/check-creat.sh, the grep-level check that every file is created safely:
# it passes on this tree, and fails, naming file:line, on a scratch copy with a
# deliberate violation of each kind (open O_CREAT|O_TRUNC over several lines,
# O_CREAT with only one of O_EXCL and O_NOFOLLOW, creat, fopen "w",
# sqlite3_open_v2 CREATE); O_EXCL|O_NOFOLLOW, a comment and
# an allow-list entry with a reason are accepted; an entry without a reason is
# refused, a stale one only reported.
. "$(dirname "$0")/lib.sh"
need_cmd perl perl

C=$ROOT/tests/check-creat.sh
"$C" "$ROOT" >"$T/out" 2>&1 || fail "the tree itself fails the check: $(cat "$T/out")"

mkdir "$T/src"
(cd "$ROOT" && cp -r core capture catalog mount revert recover main.c "$T/src/") || fail "copy"
mkdir "$T/src/tests"
cp "$ROOT/tests/check-creat.allow" "$T/src/tests/"
"$C" "$T/src" >"$T/out" 2>&1 || fail "the copy fails before any change: $(cat "$T/out")"

violate() { # NAME C-TEXT: a copy of the tree with C-TEXT appended to core/buf.c must fail, naming it
	rm -rf "$T/v" && cp -r "$T/src" "$T/v"
	printf '%s\n' "$2" >>"$T/v/core/buf.c"
	n=$(wc -l <"$T/v/core/buf.c")
	if "$C" "$T/v" >"$T/out" 2>&1; then fail "$1: not caught"; fi
	grep -q '^core/buf\.c:[0-9]*: ' "$T/out" || fail "$1: no file:line in $(cat "$T/out")"
	line=$(sed -n 's/^core\/buf\.c:\([0-9]*\): .*/\1/p' "$T/out" | head -1)
	[ "$line" -le "$n" ] && [ "$line" -gt $((n - 6)) ] || fail "$1: line $line is not where it was put ($n)"
}
accept() { # NAME C-TEXT: ... must pass
	rm -rf "$T/v" && cp -r "$T/src" "$T/v"
	printf '%s\n' "$2" >>"$T/v/core/buf.c"
	"$C" "$T/v" >"$T/out" 2>&1 || fail "$1: refused: $(cat "$T/out")"
}
violate "open O_TRUNC" 'static int bad1(const char *p) { return open(p,
	O_WRONLY | O_CREAT |
	O_TRUNC, 0644); }'
violate "openat" 'static int bad2(int d) { return openat(d, "x", O_RDWR|O_CREAT, 0600); }'
violate "creat" 'static int bad3(void) { return creat("x", 0600); }'
violate "fopen w" 'static void *bad4(void) { return fopen("/tmp/x", "we"); }'
violate "fopen a" 'static void *bad5(void) { return fopen("/tmp/x", "a"); }'
violate "sqlite" 'static int bad6(void) { return sqlite3_open_v2("x", 0, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0); }'
violate "O_NOFOLLOW alone" 'static int bad8(const char *p) { return open(p, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600); }'
violate "O_EXCL alone" 'static int bad9(const char *p) { return open(p, O_RDWR | O_CREAT | O_EXCL, 0600); }'
accept "O_EXCL|O_NOFOLLOW" 'static int ok1(const char *p) { return open(p, O_WRONLY | O_CREAT
	| O_EXCL | O_NOFOLLOW, 0600); }'
accept "fopen r" 'static void *ok3(void) { return fopen("/proc/self/status", "re"); }'
accept "comment" '/* open(p, O_CREAT | O_TRUNC) is what we never do */'
# the allow list: an entry with a reason excuses exactly that call; one without is refused
rm -rf "$T/v" && cp -r "$T/src" "$T/v"
printf '%s\n' 'static int bad7(const char *p) { return open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644); }' >>"$T/v/core/buf.c"
echo 'core/buf.c ; open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644) ; a test of the allow list' >>"$T/v/tests/check-creat.allow"
"$C" "$T/v" >"$T/out" 2>&1 || fail "an allowed call is refused: $(cat "$T/out")"
echo 'core/buf.c ; open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644) ;' >>"$T/v/tests/check-creat.allow"
if "$C" "$T/v" >"$T/out" 2>&1; then fail "an entry without a reason is accepted"; fi
rm -rf "$T/v" && cp -r "$T/src" "$T/v"
echo 'core/buf.c ; open(nothing) ; stale' >>"$T/v/tests/check-creat.allow"
"$C" "$T/v" >"$T/out" 2>&1 || fail "a stale entry fails the check: $(cat "$T/out")"
assert_contains "$T/out" "stale"
exit 0
