#!/usr/bin/env bash
# list shadows on the real Windows image: the same stores, IDs, times and
# attributes as libvshadow's vshadowinfo.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd vshadowinfo libvshadow-utils
need_cmd python3 python3
img=$(vsstest_raw)

vshadowinfo "$img" >"$T/vi.txt" || fail "vshadowinfo failed"
$SR list shadows --json "$img" >"$T/sr.json" || fail "list shadows --json failed"
$SR list shadows "$img" >"$T/sr.txt" || fail "list shadows failed"

python3 - "$T/vi.txt" "$T/sr.json" <<'PY' || fail "list shadows disagrees with vshadowinfo"
import json, re, sys, datetime
vi = open(sys.argv[1]).read()
sr = json.load(open(sys.argv[2]))
stores = []
for block in re.split(r'\n(?=Store: \d+)', vi)[1:]:
    f = dict(re.findall(r'^\t(\S[^:\t]*?)\s*:\s*(.*)$', block, re.M))
    stores.append(f)
vols = sr["volumes"]
assert len(vols) == 1, vols
sh = vols[0]["shadows"]
assert len(sh) == len(stores) == 2, (len(sh), len(stores))
for i, (a, b) in enumerate(zip(stores, sh)):
    assert a["Identifier"] == b["store_id"], (a, b)
    assert a["Shadow copy set ID"] == b["set_id"], (a, b)
    assert a["Shadow copy ID"] == b["shadow_id"], (a, b)
    assert int(a["Attribute flags"], 16) == b["attributes"], (a, b)
    assert int(re.search(r'\((\d+) bytes\)', a["Volume size"]).group(1)) == b["volume_size"]
    # "Dec 03, 2013 06:35:09.736378700 UTC": vshadowinfo prints 100 ns ticks with two zeros
    m = re.match(r'(\w+ \d+, \d+ \d+:\d+:\d+)\.(\d{9}) UTC', a["Creation time"])
    t = datetime.datetime.strptime(m.group(1), "%b %d, %Y %H:%M:%S")
    want = t.strftime("%Y-%m-%dT%H:%M:%S") + "." + m.group(2)[:7] + "Z"
    assert want == b["creation_time"], (want, b["creation_time"])
    epoch = datetime.datetime(1601, 1, 1)
    ft = int((t - epoch).total_seconds()) * 10**7 + int(m.group(2)[:7])
    assert ft == b["creation_filetime"], (ft, b["creation_filetime"])
    assert b["storage"]["where"] == "local"
print("ok: %d stores match" % len(sh))
PY

# the text form reads like diskshadow's list shadows
grep -q "Shadow copy ID = {4e3c03c2-7bc6-4288-ad96-c1eac1a55f71}" "$T/sr.txt" || fail "text: shadow copy 1"
grep -q "Shadow copy set: {8438a0ee-0f06-443b-ac0c-2905647ca5d6}" "$T/sr.txt" || fail "text: set 2"
grep -q "Attributes: 0x00420009 No_Auto_Release Persistent Differential Auto_Recovered" "$T/sr.txt" ||
	fail "text: attributes in diskshadow's words"
grep -q "Number of shadow copies listed: 2" "$T/sr.txt" || fail "text: count"
exit 0
