# Fixtures for t0713-t0716 (sourced after lib.sh): generated NTFS volumes
# (tests/tools/mkvss, one shadow copy) that get \Windows\System32 in other
# spellings and namespaces through an ntfs-3g FUSE mount afterwards, so the
# shadow copy predates it. ntfs-3g creates names in the POSIX namespace;
# setfattr system.ntfs_dos_name gives one a DOS name, which turns it into
# "Win32 & DOS" (the DOS name is the long name in capitals) or into a Win32
# name plus a separate DOS name.
need_root
need_fuse
need_cmd ntfs-3g ntfs-3g
need_cmd ntfsinfo ntfs-3g
need_cmd ntfsls ntfs-3g
need_cmd setfattr attr
need_cmd vshadowinfo libvshadow-utils
need_cmd python3 python3

# nc_volume IMG: a fresh copy of the generated volume (64 MiB, one shadow copy, id in $sid)
nc_volume() {
	if [ ! -f "$T/g/volume.img" ]; then
		"$BUILD/tests/tools/mkvss" --out "$T/g" --size 64M --stores 1 --seed 7 --no-states --quiet || fail "mkvss"
	fi
	sid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][0]["shadow_id"])' "$T/g/manifest.json")
	cp --sparse=always "$T/g/volume.img" "$1"
}
# nc_mount IMG / nc_umount IMG: the ntfs-3g mount at $T/m, and waiting until its daemon has let go of IMG
nc_mount() { mkdir -p "$T/m"; ntfs-3g "$1" "$T/m" || fail "ntfs-3g $1"; }
nc_umount() {
	fusermount3 -u "$T/m" || umount "$T/m"
	for _ in $(seq 100); do pgrep -f "ntfs-3g $1 " >/dev/null || return 0; sleep 0.1; done
	fail "ntfs-3g did not let go of $1"
}
# nc_dos PATH NAME: give the file at PATH (in the mount) the DOS name NAME
nc_dos() { setfattr -h -n system.ntfs_dos_name -v "$2" "$T/m/$1" || fail "DOS name $2 for $1"; }
# nc_names IMG PATH: the names of the file at PATH (an exact, case-sensitive path), one per line as
# "NAMESPACE:NAME" from ntfsinfo's $FILE_NAME attributes, e.g. "POSIX:windows", "Win32 & DOS:WINDOWS"
nc_names() {
	ntfsinfo -F "$2" "$1" 2>/dev/null |
		awk '/Namespace:/ { sub(/.*Namespace:[ \t]*/, ""); ns = $0 }
		     /Filename:/ { sub(/.*Filename:[ \t]*/, ""); gsub(/^'\''|'\''$/, ""); print ns ":" $0 }'
}
# nc_inode IMG PATH: the MFT record number of PATH, as ntfsinfo reads it
nc_inode() { ntfsinfo -F "$2" "$1" 2>/dev/null | awk '/^Dumping Inode/ { print $3; exit }'; }
# nc_stores IMG: the number of shadow copies libvshadow finds
nc_stores() { vshadowinfo "$1" 2>/dev/null | sed -n 's/.*Number of stores:[[:space:]]*//p'; }
# nc_revert_image IMG: revert IMG in place to its shadow copy: refused without --offline (exit 1, not a byte
# changed); with --offline reverted (no shadow copy left, no Windows folder in any spelling), and the boot
# check that follows an offline revert of a system volume runs (exit 3: the shadow copy has no winload)
nc_revert_image() {
	local sum
	assert_eq "$(nc_stores "$1")" 1 "shadow copies of $1 after the set-up"
	sum=$(sha256sum <"$1")
	expect_exit 1 $SR revert "$sid" "$1" --yes
	grep -q "is a system volume" "$T/stderr" || fail "$1: no system-volume refusal: $(cat "$T/stderr")"
	[ "$(sha256sum <"$1")" = "$sum" ] || fail "the refused system volume $1 was changed"
	expect_exit 3 $SR revert "$sid" "$1" --yes --offline
	grep -q "boot check: error: .*winload" "$T/stderr" || fail "$1: no boot check after --offline: $(cat "$T/stderr")"
	assert_eq "$(nc_stores "$1")" 0 "shadow copies of $1 after the offline revert"
	ntfsls -f "$1" 2>/dev/null | grep -qix windows && fail "$1: the Windows folder survived the revert"
	return 0
}
