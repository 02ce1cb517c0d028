#!/usr/bin/env bash
# A manifest whose volume (or disk) size disagrees with its index: export
# refuses the volume with a clear message (and, under make asan, without a use
# after free), verify names the set, the volume or disk and both sizes, and
# exits 1 (text and --json). The manifest is rewritten by hand, as
# docs/FORMAT.md §4 and §6 describe it (unencrypted: an envelope with a
# CRC-32C, no other check), by python here, not by shadowrev.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
need_cmd zstd zstd
need_cmd sfdisk fdisk

# edit_manifest FILE FIELD-PREFIX OLD NEW: in the record starting with FIELD-PREFIX, size=OLD becomes size=NEW
cat >"$T/edit.py" <<'PY'
import struct, subprocess, sys
path, rec, old, new = sys.argv[1:5]
def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1))
    return crc ^ 0xffffffff
env = open(path, "rb").read()
assert env[:4] == b"SRCK" and env[4] == 2, "not a version 2 envelope"
flags = env[5]; plen, crc = struct.unpack_from("<II", env, 8)
assert crc32c(env[16:], crc32c(env[:12])) == crc, "CRC-32C of the envelope does not check"
assert not flags & 2, "encrypted"
plain = subprocess.run(["zstd", "-dc"], input=env[16:], capture_output=True, check=True).stdout if flags & 1 else env[16:]
assert len(plain) == plen
lines = plain.decode().split("\n"); hit = 0
for i, l in enumerate(lines):
    if l.startswith(rec) and (" size=%s " % old) in l:
        lines[i] = l.replace(" size=%s " % old, " size=%s " % new); hit += 1
assert hit == 1, "record not found"
plain = "\n".join(lines).encode()
head = b"SRCK" + bytes([2, 0, 0, 0]) + struct.pack("<I", len(plain))
open(path, "wb").write(head + struct.pack("<I", crc32c(plain, crc32c(head))) + plain)
PY

# a GPT disk with one partition of random data: a volume (disk0:p1) and the disk's layout
truncate -s 24M "$T/d.img"
printf 'label: gpt\nstart=2048, size=20480, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' | sfdisk -q "$T/d.img" >/dev/null ||
	fail "sfdisk"
head -c $((10 * 1048576)) /dev/urandom | dd of="$T/d.img" bs=1M seek=1 conv=notrunc status=none || fail "dd"
$SR init --repo "$T/r" --quiet || fail "init"
set_id=00000000-0000-0000-0000-000000000309
$SR capture --repo "$T/r" --instance i --set-id $set_id disk0="$T/d.img",C:=p1 --json >"$T/c.json" || fail "capture"
id=$(sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p' "$T/c.json" | head -1)
$SR verify --repo "$T/r" --quiet || fail "verify before the edit"
man=$T/r/sets/$set_id.manifest
cp "$man" "$T/good.manifest"

# the volume: 10 MiB in its index, 4 KiB less in the manifest
python3 "$T/edit.py" "$man" "volume " 10485760 10481664 || fail "editing the manifest"
expect_exit 1 $SR export "$id" --repo "$T/r" --to "$T/e.img"
assert_contains "$T/stderr" "the index covers 10485760 bytes, the manifest says 10481664" "export's message"
grep -q Sanitizer "$T/stderr" && fail "export: $(cat "$T/stderr")"
[ ! -e "$T/e.img" ] || fail "export left $T/e.img behind"
expect_exit 1 $SR verify --repo "$T/r"
assert_contains "$T/stdout" "BAD set {$set_id} volume disk0:p1 {$id}: the index covers 10485760 bytes, the manifest says 10481664" \
	"verify names the set and volume"
grep -q Sanitizer "$T/stderr" && fail "verify: $(cat "$T/stderr")"
expect_exit 1 $SR verify --repo "$T/r" $set_id --json
python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['ok'] is False and any('$set_id' in b['where'] and 'manifest says 10481664' in b['error'] for b in j['bad']), j" \
	"$T/stdout" || fail "verify --json does not name the volume: $(cat "$T/stdout")"

# the disk layout: 24 MiB in its index, 1 MiB more in the manifest
cp "$T/good.manifest" "$man"
python3 "$T/edit.py" "$man" "disk 0 " 25165824 26214400 || fail "editing the manifest"
expect_exit 1 $SR verify --repo "$T/r"
assert_contains "$T/stdout" "BAD set {$set_id} disk0 layout: the index covers 25165824 bytes, the manifest says 26214400" \
	"verify names the set and disk"
grep -q Sanitizer "$T/stderr" && fail "verify: $(cat "$T/stderr")"

cp "$T/good.manifest" "$man"
$SR verify --repo "$T/r" --quiet || fail "verify after putting the manifest back"
exit 0
