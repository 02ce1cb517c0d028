#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Enforce the module graph (STYLE.md, "Layout") from the #include lines:
#
#   core/               nothing from the other modules, no FUSE header
#   capture/, catalog/  core/ only
#   mount/              core/, capture/, catalog/
#   recover/            core/, capture/, catalog/, mount/
#   revert/             core/, catalog/
#
# and private headers (*-internal.h) never cross modules. An include names a
# module by its first path component ("core/io.h"); one without a directory
# is the including file's own module. Prints each violation as file:line and
# exits 1 if there is any.
#
#   tests/check-layers.sh [ROOT]     (ROOT: the source tree, default this repo)
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

modules="core capture catalog mount revert recover"
allowed() { # module -> modules it may include besides itself
	case $1 in
	core) echo "" ;;
	capture | catalog) echo "core" ;;
	mount) echo "core capture catalog" ;;
	recover) echo "core capture catalog mount" ;;
	revert) echo "core catalog" ;;
	esac
}

files=()
for m in $modules; do
	[ -d "$m" ] || continue
	while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$m" -name '*.[ch]' -print0 | sort -z)
done
[ ${#files[@]} -gt 0 ] || { echo "check-layers: no sources under $root" >&2; exit 1; }

bad=0
for f in "${files[@]}"; do
	mod=${f%%/*}
	ok=" $mod $(allowed "$mod") "
	# file:line:text of each #include, then the include's target
	while IFS=: read -r line text; do
		[[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\"\<])([^\"\>]+)[\"\>] ]] || continue
		kind=${BASH_REMATCH[1]} target=${BASH_REMATCH[2]}
		if [ "$kind" = "<" ]; then
			if [ "$mod" = core ] && [[ $target =~ (^|/)fuse[^/]*\.h$|^fuse3?/ ]]; then
				echo "$f:$line: core/ must not include a FUSE header: <$target>"
				bad=1
			fi
			continue
		fi
		while [[ $target == ../* ]]; do target=${target#../}; done
		if [[ $target == */* ]]; then
			tmod=${target%%/*}
		else
			tmod=$mod
		fi
		case " $modules " in *" $tmod "*) ;; *) continue ;; esac
		if [[ $ok != *" $tmod "* ]]; then
			echo "$f:$line: $mod/ must not include $tmod/: \"$target\""
			bad=1
		elif [ "$tmod" != "$mod" ] && [[ $target == *-internal.h ]]; then
			echo "$f:$line: private header of $tmod/ used from $mod/: \"$target\""
			bad=1
		fi
		if [ "$mod" = core ] && [[ $target =~ (^|/)fuse[^/]*\.h$ ]]; then
			echo "$f:$line: core/ must not include a FUSE header: \"$target\""
			bad=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f" || true)
done
if [ $bad -ne 0 ]; then
	echo "check-layers: the module graph is violated (see STYLE.md, Layout)"
	exit 1
fi
echo "check-layers: ${#files[@]} files follow the module graph"
