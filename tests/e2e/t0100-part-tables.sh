#!/usr/bin/env bash
# Partition tables (core/part.c through tests/tools/lsparts) against sfdisk's
# own reading of the disks it wrote (sfdisk --json, parsed with python3):
# GPT with gaps in the numbering, UTF-8 names and a partition past 2 TiB, GPT
# with 4096-byte sectors (through a loop device), MBR with an extended
# partition and logical partitions; then damaged tables: a GPT whose primary
# header is wiped or damaged, or whose entry array is damaged, is read from its
# backup; one whose both headers are damaged,
# an EBR chain that loops, overlapping partitions and a partition past the
# end are refused with a clear message and exit 1.
. "$(dirname "$0")/lib.sh"

need_cmd sfdisk fdisk
need_cmd python3 python3
LS=$BUILD/tests/tools/lsparts
[ -x "$LS" ] || fail "$LS is not built (make tests)"

# What sfdisk says, in lsparts' format (extended partitions are containers, not listed).
oracle() {
	sfdisk --json "$1" | python3 -c '
import json, re, sys
d = json.load(sys.stdin)["partitiontable"]
ss = d.get("sectorsize", 512)
if d["label"] == "gpt":
    print("gpt", ss, d["id"].lower())
else:
    print("mbr", ss, "0x%08x" % int(d["id"], 16))
rows = []
for p in d.get("partitions", []):
    n = int(re.search(r"(\d+)$", p["node"]).group(1))
    if d["label"] == "dos":
        t = int(p["type"], 16)
        if t in (0x05, 0x0f, 0x85):
            continue
        rows.append((n, "%d %d %d %x%s" % (n, p["start"], p["size"], t, " *" if p.get("bootable") else "")))
    else:
        line = "%d %d %d %s %s" % (n, p["start"], p["size"], p["type"].lower(), p["uuid"].lower())
        if p.get("name"):
            line += " " + p["name"]
        rows.append((n, line))
for n, line in sorted(rows):
    print(line)
' || fail "sfdisk --json $1"
}

# compare IMAGE WANT-FILE WHAT
compare() {
	"$LS" -s "$1" >"$T/got" 2>"$T/stderr" || fail "$3: lsparts failed: $(cat "$T/stderr")"
	diff -u "$2" "$T/got" >"$T/diff" || fail "$3: lsparts differs from sfdisk: $(cat "$T/diff")"
}


# flip IMAGE OFFSET: invert one byte in place
flip() {
	python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0xff]))
' "$1" "$2" || fail "flip $1 $2"
}

# --- GPT: numbers with gaps, names, attributes -----------------------------
gpt=$T/gpt.img
truncate -s 2G "$gpt"
sfdisk -q "$gpt" <<EOF >/dev/null || fail "sfdisk gpt"
label: gpt
label-id: 3A2B1C0D-4E5F-4A6B-8C7D-9E0F1A2B3C4D
${gpt}1 : start=2048, size=204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9, name="EFI system partition"
${gpt}2 : size=32768, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE, name="Microsoft reserved partition"
${gpt}4 : start=1000000, size=1048576, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Données ☃"
${gpt}7 : start=3000000, type=DE94BBA4-06D1-4D40-A16A-BFD50179D6AC, attrs="RequiredPartition GUID:63"
EOF
oracle "$gpt" >"$T/gpt.want"
[ "$(wc -l <"$T/gpt.want")" -eq 5 ] || fail "sfdisk did not make 4 GPT partitions: $(cat "$T/gpt.want")"
compare "$gpt" "$T/gpt.want" "GPT"

# --- GPT on a 3 TiB disk: sector numbers past 2^32 ---------------------------
big=$T/big.img
truncate -s 3T "$big" 2>/dev/null || skip "cannot make a 3 TiB sparse file in $T"
sfdisk -q "$big" <<EOF >/dev/null || fail "sfdisk big gpt"
label: gpt
start=2048, size=2048, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
start=4294969344, size=1000000, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="past 2 TiB"
type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
EOF
oracle "$big" >"$T/big.want"
compare "$big" "$T/big.want" "GPT on 3 TiB"

# --- MBR: primaries, an extended partition (LBA type 0x0f) with logicals -----
mbr=$T/mbr.img
truncate -s 1G "$mbr"
sfdisk -q "$mbr" <<EOF >/dev/null || fail "sfdisk mbr"
label: dos
label-id: 0x5eed0001
${mbr}1 : start=2048, size=204800, type=7, bootable
${mbr}2 : size=409600, type=83
${mbr}3 : size=1048576, type=f
${mbr}4 : type=27
${mbr}5 : size=204800, type=7
${mbr}6 : size=102400, type=82
${mbr}7 : type=7
EOF
oracle "$mbr" >"$T/mbr.want"
[ "$(wc -l <"$T/mbr.want")" -eq 7 ] || fail "sfdisk did not make 6 MBR partitions: $(cat "$T/mbr.want")"
compare "$mbr" "$T/mbr.want" "MBR with logical partitions"

# the older CHS extended type 0x05, one logical partition
mbr2=$T/mbr2.img
truncate -s 100M "$mbr2"
sfdisk -q "$mbr2" <<EOF >/dev/null || fail "sfdisk mbr2"
label: dos
${mbr2}1 : start=2048, size=4096, type=83
${mbr2}2 : type=5
${mbr2}5 : size=8192, type=7
EOF
oracle "$mbr2" >"$T/mbr2.want"
compare "$mbr2" "$T/mbr2.want" "MBR with extended type 5"

# --- no partition table -----------------------------------------------------
truncate -s 10M "$T/blank.img"
"$LS" -s "$T/blank.img" >"$T/got" || fail "lsparts on a blank disk failed"
assert_eq "$(cat "$T/got")" "none" "blank disk"

# --- GPT with 4096-byte sectors, written by sfdisk through a loop device -----
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
	truncate -s 1G "$T/gpt4k.img"
	if dev=$(losetup -f --show -b 4096 "$T/gpt4k.img" 2>/dev/null); then
		printf 'label: gpt\nstart=256, size=25600, name="four k"\nsize=51200\n' | sfdisk -q "$dev" >/dev/null 2>&1 ||
			fail "sfdisk on $dev"
		oracle "$dev" >"$T/gpt4k.want"
		losetup -d "$dev"
		grep -q '^gpt 4096 ' "$T/gpt4k.want" || fail "the loop device does not have 4096-byte sectors"
		compare "$T/gpt4k.img" "$T/gpt4k.want" "GPT with 4096-byte sectors"
	else
		echo "note: losetup -b 4096 failed; 4096-byte sectors not checked"
	fi
else
	echo "note: not root or no losetup; 4096-byte sectors not checked"
fi

# --- damaged GPT: the backup is used -----------------------------------------
cp --sparse=always "$gpt" "$T/g1.img"
flip "$T/g1.img" $((512 + 24)) # primary header: its own LBA, so its CRC fails
compare "$T/g1.img" "$T/gpt.want" "GPT with a damaged primary header"

cp --sparse=always "$gpt" "$T/g2.img"
flip "$T/g2.img" $((1024 + 56)) # primary entry array: the first name
compare "$T/g2.img" "$T/gpt.want" "GPT with a damaged primary entry array"

cp --sparse=always "$gpt" "$T/g3.img"
flip "$T/g3.img" $((2 * 1024 * 1024 * 1024 - 512 + 24)) # backup header only: the primary is used
compare "$T/g3.img" "$T/gpt.want" "GPT with a damaged backup header"

# primary header wiped (no signature at all): the backup should still be used, as sfdisk does
cp --sparse=always "$gpt" "$T/g4.img"
dd if=/dev/zero of="$T/g4.img" bs=512 seek=1 count=1 conv=notrunc status=none
if ! "$LS" -s "$T/g4.img" >"$T/got" 2>"$T/stderr" || ! cmp -s "$T/got" "$T/gpt.want"; then
	fail "a GPT whose primary header is wiped is not read from its backup: $(cat "$T/stderr")"
fi

# both headers damaged: an error naming the problem
flip "$T/g1.img" $((2 * 1024 * 1024 * 1024 - 512 + 24))
expect_exit 1 "$LS" "$T/g1.img"
assert_contains "$T/stderr" "GPT primary and backup headers are both damaged" "both GPT headers damaged"
[ ! -s "$T/stdout" ] || fail "partitions listed from a GPT with both headers damaged: $(cat "$T/stdout")"

# --- damaged MBR ---------------------------------------------------------------
# the second EBR's link made to point back at the first EBR
read -r ext_start < <(awk '$4 == "f" { print $2 }' <(sfdisk -d "$mbr" | sed -n 's/.*start= *\([0-9]*\), size= *\([0-9]*\), type=\([0-9a-f]*\).*/x \1 \2 \3/p'))
[ -n "${ext_start:-}" ] || fail "cannot find the extended partition of $mbr"
cp --sparse=always "$mbr" "$T/m1.img"
first_link=$(python3 -c '
import struct, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]) * 512 + 462 + 8)
    print(struct.unpack("<I", f.read(4))[0])
' "$T/m1.img" "$ext_start")
python3 -c '
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek((int(sys.argv[2]) + int(sys.argv[3])) * 512 + 462 + 8)
    f.write(struct.pack("<I", 0))
' "$T/m1.img" "$ext_start" "$first_link"
expect_exit 1 "$LS" "$T/m1.img"
assert_contains "$T/stderr" "extended partition chain loops" "EBR loop"

# two primary partitions that overlap: the second starts inside the first
cp --sparse=always "$mbr" "$T/m2.img"
python3 -c '
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(446 + 16 + 8)
    f.write(struct.pack("<I", 4096))
' "$T/m2.img"
expect_exit 1 "$LS" "$T/m2.img"
assert_contains "$T/stderr" "overlap" "overlapping partitions"

# a partition past the end of the disk
cp --sparse=always "$mbr2" "$T/m3.img"
truncate -s 3M "$T/m3.img"
expect_exit 1 "$LS" "$T/m3.img"
assert_contains "$T/stderr" "lies outside the disk" "partition past the end"
exit 0
