#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every file shadowrev creates is created safely (STYLE.md, "O_EXCL|O_NOFOLLOW
# for created files"; core/io.h io_new_open()): in the sources of the modules
# and main.c, every call that can create a file by name must say how a name
# planted by someone else is refused:
#
#   open/openat/open64 with O_CREAT      needs O_EXCL and O_NOFOLLOW (a name
#                                        someone planted, a file or a link,
#                                        is refused, never opened)
#   creat()                              never (it is O_CREAT|O_TRUNC)
#   fopen/freopen with "w", "a" or "x"   never (fopen cannot say O_NOFOLLOW;
#                                        open the fd safely and fdopen it)
#   sqlite3_open_v2 with SQLITE_OPEN_CREATE  needs SQLITE_OPEN_NOFOLLOW
#
# A call is its text from the name to the next ';' (calls span lines). The
# exceptions are in tests/check-creat.allow, one per line:
#   FILE ; TEXT ; REASON
# (the call in FILE whose text, spaces squeezed, contains TEXT; a call's text
# never holds a ';'; a reason is required). An entry
# that no longer matches a violation is reported as stale but does not fail
# the check (the code it excused was made safe). Prints each violation as
# file:line and exits 1 if there is any.
#
#   tests/check-creat.sh [ROOT]     (ROOT: the source tree, default this repo)
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
allow=tests/check-creat.allow

files=()
for m in core capture catalog mount revert recover; do
	[ -d "$m" ] || continue
	while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$m" -name '*.c' -print0 | sort -z)
done
[ -f main.c ] && files+=(main.c)
[ ${#files[@]} -gt 0 ] || { echo "check-creat: no sources under $root" >&2; exit 1; }

perl -e '
	use strict; use warnings;
	my ($allowfile, @files) = @ARGV;
	my @allow;
	if (open(my $a, "<", $allowfile)) {
		while (<$a>) {
			chomp;
			next if /^\s*(#|$)/;
			my ($f, $t, $why) = map { s/^\s+|\s+$//gr } split /;/, $_, 3;
			if (!defined $why || $why eq "" || !defined $t || $t eq "") {
				print "$allowfile:$.: an entry is FILE ; TEXT ; REASON\n";
				exit 1;
			}
			push @allow, { file => $f, text => $t, why => $why, used => 0 };
		}
	}
	my $bad = 0;
	for my $f (@files) {
		open(my $h, "<", $f) or die "$f: $!";
		local $/; my $src = <$h>;
		# comments and strings other than fopen modes do not count: drop comments
		$src =~ s{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse;
		$src =~ s{//[^\n]*}{}g;
		while ($src =~ /\b(open|openat|open64|creat|fopen|freopen|sqlite3_open_v2)\s*\(/g) {
			my ($fn, $start) = ($1, $-[0]);
			my $end = index($src, ";", $start);
			$end = length($src) if $end < 0;
			my $call = substr($src, $start, $end - $start);
			my $line = 1 + (substr($src, 0, $start) =~ tr/\n//);
			my $why;
			if ($fn eq "creat") {
				$why = "creat() truncates and follows symlinks";
			} elsif ($fn eq "fopen" || $fn eq "freopen") {
				$why = "fopen() that creates a file (cannot refuse a symlink)"
					if $call =~ /\(\s*[^,]*,\s*"[^"]*[wax][^"]*"/;
			} elsif ($fn eq "sqlite3_open_v2") {
				$why = "SQLITE_OPEN_CREATE without SQLITE_OPEN_NOFOLLOW"
					if $call =~ /SQLITE_OPEN_CREATE/ && $call !~ /SQLITE_OPEN_NOFOLLOW/;
			} elsif ($call =~ /\bO_CREAT\b/ && ($call !~ /\bO_EXCL\b/ || $call !~ /\bO_NOFOLLOW\b/)) {
				$why = "O_CREAT without O_EXCL|O_NOFOLLOW";
			}
			next unless $why;
			my $flat = $call =~ s/\s+/ /gr;
			my ($ok) = grep { $_->{file} eq $f && index($flat, $_->{text}) >= 0 } @allow;
			if ($ok) { $ok->{used}++; next; }
			print "$f:$line: $why: $flat\n";
			$bad = 1;
		}
	}
	for (@allow) {
		print "check-creat: stale allow-list entry (nothing to excuse): $_->{file} ; $_->{text}\n"
			unless $_->{used};
	}
	if ($bad) {
		print "check-creat: files created unsafely (use io_new_open() of core/io.h, or O_EXCL|O_NOFOLLOW)\n";
		exit 1;
	}
	printf "check-creat: %d files create files safely (%d allowed exceptions)\n", scalar(@files),
		scalar(grep { $_->{used} } @allow);
' "$allow" "${files[@]}"
