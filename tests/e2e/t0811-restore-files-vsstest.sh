#!/usr/bin/env bash
# restore files from the two VSS shadow copies of the real Windows volume
# vsstest: from the image (--image) and from the repository (the shadow copies
# inside a captured volume), to a folder and to a tar archive. Oracle: the
# shadow copy's raw view written by `shadowrev export` (itself checked against
# libvshadow in t0201), read with ntfs-3g's ntfsls, ntfscat and ntfsinfo.
. "$(dirname "$0")/lib.sh"
E=$(dirname "$0")
need_cmd ntfsls ntfs-3g
need_cmd bsdtar libarchive-tools
need_cmd python3 python3
img=$(vsstest_raw)



$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance vsstest C:="$img" --quiet || fail "capture"
for id in 4e3c03c2-7bc6-4288-ad96-c1eac1a55f71 18f1ac6e-959d-436f-bdcc-e797a729e290; do
	s=${id%%-*}
	$SR export "$id" "$img" --to "$T/$s.img" || fail "export $id"
	python3 "$E/ntfs-oracle.py" "$T/$s.img" / >"$T/want-$s" || fail "oracle"
	[ -s "$T/want-$s" ] || fail "the oracle lists nothing for $id"
	# from the image
	expect_exit 0 $SR restore files "$id" / --image "$img" --to "$T/d-$s"
	python3 "$E/restored-tree.py" "$T/d-$s" >"$T/got-$s"
	python3 "$E/tree-cmp.py" "$T/want-$s" "$T/got-$s" 0 dirs || fail "$id from the image: $(python3 "$E/tree-cmp.py" "$T/want-$s" "$T/got-$s" 0 dirs)"
	# from the repository: the shadow copy inside the captured C:
	$SR restore files "$s" / --repo "$T/r" --archive "$T/$s.tar" || fail "restore $id from the repository"
	mkdir "$T/x-$s" && bsdtar -xpf "$T/$s.tar" -C "$T/x-$s" || fail "bsdtar"
	python3 "$E/restored-tree.py" "$T/x-$s" >"$T/gotx-$s"
	python3 "$E/tree-cmp.py" "$T/want-$s" "$T/gotx-$s" 0 || fail "$id from the repository: $(python3 "$E/tree-cmp.py" "$T/want-$s" "$T/gotx-$s" 0)"
done
# the two shadow copies differ (the newer one has more files), and the live volume is a third state
[ "$(cut -d' ' -f5- "$T/want-4e3c03c2")" != "$(cut -d' ' -f5- "$T/want-18f1ac6e")" ] || fail "both shadow copies gave the same files"
python3 "$E/ntfs-oracle.py" "$img" / >"$T/want-live"
expect_exit 0 $SR restore files live / --image "$img" --archive "$T/live.zip" --format zip
mkdir "$T/x-live" && bsdtar -xf "$T/live.zip" -C "$T/x-live" || fail "bsdtar zip"
python3 "$E/restored-tree.py" "$T/x-live" >"$T/got-live"
python3 "$E/tree-cmp.py" "$T/want-live" "$T/got-live" 2 "" nolinks || fail "live: $(python3 "$E/tree-cmp.py" "$T/want-live" "$T/got-live" 2 "" nolinks)"
# an unknown shadow copy: exit 1, named
expect_exit 2 $SR restore files 0badc0de / --image "$img" --to "$T/none" # unknown: a usage error
assert_contains "$T/stderr" "0badc0de"
exit 0
