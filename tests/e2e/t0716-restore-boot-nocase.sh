#!/usr/bin/env bash
# Names given by users and the boot files are looked up as Windows does,
# through the volume's $UpCase, in every namespace. `restore files` from an
# image: Données\Résumé.txt as \DONNÉES\RÉSUMÉ.TXT, fullwidth and Armenian
# letters in other case, a folder by its DOS name; 'ß' is not "SS"; two POSIX
# names that differ only in case are refused unless spelled exactly
# (ntfscat is the oracle for the bytes). `boot check` finds the roles of a
# volume with WINDOWS\SYSTEM32\WINLOAD.EXE, BOOTMGR and BOOT\bcd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nocase-fixture.sh"
need_cmd ntfscat ntfs-3g

img=$T/v.img
nc_volume "$img"
nc_mount "$img"
(
	set -e
	cd "$T/m"
	mkdir -p Données ｆｕｌｌ "Program Files" Docs DOCS WINDOWS/SYSTEM32 BOOT
	echo résumé >Données/Résumé.txt
	echo armenian >ｆｕｌｌ/ա.txt
	echo program >"Program Files/x.txt"
	echo strasse >straße.txt
	echo lower >Docs/a.txt
	echo upper >DOCS/a.txt
	echo winload >WINDOWS/SYSTEM32/WINLOAD.EXE
	echo bootmgr >BOOTMGR
	echo bcd >BOOT/bcd
) || { nc_umount "$img"; fail "making the fixture"; }
nc_dos "Program Files" PROGRA~1
nc_umount "$img"
assert_eq "$(nc_names "$img" "/Program Files" | sort | paste -sd/)" "DOS:PROGRA~1/Win32:Program Files" "names of Program Files"
assert_eq "$(nc_names "$img" /Données/Résumé.txt)" "POSIX:Résumé.txt" "names of Résumé.txt"
assert_eq "$(nc_names "$img" /Docs)$(nc_names "$img" /DOCS)" "POSIX:DocsPOSIX:DOCS" "names of Docs, DOCS"

# restore PATH DEST-NAME ORACLE-PATH: restored under the volume's own name, with the oracle's bytes
restore() {
	rm -rf "$T/d"
	expect_exit 0 $SR restore files live "$1" --image "$img" --to "$T/d"
	[ "$(sha256sum <"$T/d/$2")" = "$(ntfscat -f "$img" "$3" | sha256sum)" ] || fail "'$1' did not restore $3: $(ls -R "$T/d")"
}
restore /DONNÉES/RÉSUMÉ.TXT Résumé.txt /Données/Résumé.txt
restore '\données\résumé.TXT' Résumé.txt /Données/Résumé.txt
restore /ＦＵＬＬ/Ա.TXT ա.txt /ｆｕｌｌ/ա.txt
restore /progra~1/X.TXT x.txt "/Program Files/x.txt"
restore /STRAßE.TXT straße.txt /straße.txt
restore /DOCS/A.TXT a.txt /DOCS/a.txt
restore /Docs/A.TXT a.txt /Docs/a.txt
rm -rf "$T/d"
expect_exit 3 $SR restore files live /STRASSE.TXT --image "$img" --to "$T/d"
grep -q "not found" "$T/stderr" || fail "STRASSE.TXT: $(cat "$T/stderr")"
expect_exit 3 $SR restore files live /docs/a.txt --image "$img" --to "$T/d"
grep -q "several names match 'docs'" "$T/stderr" || fail "docs: $(cat "$T/stderr")"

$SR boot check "$img" --json >"$T/boot.json"
python3 - "$T/boot.json" <<'PY' || fail "boot check: $(cat "$T/boot.json")"
import json, sys
p = json.load(open(sys.argv[1]))["partitions"][0]
assert p["system"] and p["winload"] and p["bootmgr"] and p["bcd"], p
PY
exit 0
