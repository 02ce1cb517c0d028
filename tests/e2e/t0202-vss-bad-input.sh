#!/usr/bin/env bash
# Damaged copies of the real image: a clear error naming the volume and the
# structure, exit 1, no crash, for list and export alike.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd python3 python3
img=$(vsstest_raw)

# patch FILE OFFSET HEXBYTES: overwrite bytes in place
patch() {
	python3 - "$1" "$2" "$3" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2], 0))
    f.write(bytes.fromhex(sys.argv[3]))
PY
}
le64() { python3 -c "import sys,struct; print(struct.pack('<Q', int(sys.argv[1], 0)).hex())" "$1"; }

# case NAME EXPECTED-WORDS: run list and export on $T/$NAME.img
check() {
	local name=$1 want=$2
	for cmd in "list shadows" "export 4e3c03c2 --to $T/out.img"; do
		# shellcheck disable=SC2086
		expect_exit 1 $SR ${cmd%% *} ${cmd#* } "$T/$name.img"
		grep -q "$name.img" "$T/stderr" || fail "$name: the volume is not named: $(cat "$T/stderr")"
		grep -qi -- "$want" "$T/stderr" || fail "$name: expected '$want' in: $(cat "$T/stderr")"
		[ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "$name: more than one line: $(cat "$T/stderr")"
		[ ! -e "$T/out.img" ] || fail "$name: export left a file behind"
	done
}

fresh() { cp --sparse=always "$img" "$T/$1.img"; }

fresh truncated-catalog
truncate -s $((0x6e30000 + 8192)) "$T/truncated-catalog.img"
check truncated-catalog "catalog block at offset 0x6e30000 lies outside"

fresh truncated-store
truncate -s $((0x31560000 + 8192)) "$T/truncated-store.img"
check truncated-store "volume size"

fresh catalog-loop
patch "$T/catalog-loop.img" $((0x6e3c000 + 40)) "$(le64 0x6e30000)"
check catalog-loop "catalog chain loops"

fresh catalog-out-of-range
patch "$T/catalog-out-of-range.img" $((0x1e00 + 48)) "$(le64 0xfffffff0000)"
check catalog-out-of-range "catalog block at offset 0xfffffff0000 lies outside"

fresh descriptor-out-of-range
patch "$T/descriptor-out-of-range.img" $((0x31564000 + 128)) "$(le64 0x100000000000)"
check descriptor-out-of-range "block descriptor for offset 0x100000000000 lies outside"

fresh descriptor-data-out-of-range
patch "$T/descriptor-data-out-of-range.img" $((0x31564000 + 128 + 16)) "$(le64 0x7ffffffff000)"
check descriptor-data-out-of-range "has data outside the volume"

fresh blocklist-loop
patch "$T/blocklist-loop.img" $((0x31564000 + 40)) "$(le64 0x31564000)"
check blocklist-loop "block descriptor list chain loops"

fresh store-header-unsigned
patch "$T/store-header-unsigned.img" $((0x31560000)) 00000000000000000000000000000000
check store-header-unsigned "store header block at offset 0x31560000 has no VSS signature"

fresh no-backup-boot
patch "$T/no-backup-boot.img" $((1073741824 - 512)) "$(printf '00%.0s' $(seq 512))"
check no-backup-boot "backup boot sector missing"

fresh unknown-version
patch "$T/unknown-version.img" $((0x1e00 + 16)) 07000000
check unknown-version "unknown version 7"

# not a volume at all
head -c 1048576 /dev/urandom >"$T/random.img"
check random "holds no NTFS volume"
: >"$T/empty.img"
check empty "holds no NTFS volume"
exit 0
