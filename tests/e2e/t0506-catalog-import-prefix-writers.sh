#!/usr/bin/env bash
# catalog import names a new set by the prefix a user reads in its documents
# (the diskshadow .cab and every listing in ../shared, by their first 8 hex
# digits), and the writers of diskshadow's verbose listing are imported with
# their components. Oracle: the set IDs picked out of the files with grep, the
# writer blocks counted and read with grep and awk, not by shadowrev.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd gcab gcab
need_cmd python3 python3
src="$SHARED/data/metadata/diskshadow-cab-nosql"
L="$SHARED/data/listings"
mkdir -p "$T/repo" "$T/m"
export SHADOWREV_REPO="$T/repo"
cp "$src"/* "$T/m/"
(cd "$T/m" && gcab -c -n "$T/meta.cab" *) || fail "gcab failed"

# the cab, by the prefix of the set its BCD names
cab_set=$(grep -o 'snapshotSetId="[^"]*"' "$src/BCDocument.xml" | cut -d'"' -f2)
$SR catalog import "${cab_set:0:8}" "$T/meta.cab" --json >"$T/import.json" || fail "import of the cab by prefix"
grep -q "\"set_id\": \"$cab_set\"" "$T/import.json" || fail "cab: imported into another set"
# each listing, by the prefix of the set it names
for f in "$L"/*.txt; do
	id=$(grep -o 'set ID:\? {[0-9a-f-]*}\|copy set: {[0-9a-f-]*}' "$f" | head -1 | grep -o '[0-9a-f-]\{36\}')
	[ -n "$id" ] || fail "fixture: no set ID in $f"
	$SR catalog import "${id:0:8}" "$f" --json >"$T/import.json" || fail "import of $(basename "$f") by prefix"
	grep -q "\"set_id\": \"$id\"" "$T/import.json" || fail "$(basename "$f"): imported into another set"
	$SR list sets --json | grep -q "\"set_id\":\"$id\"" || fail "$(basename "$f"): set not in the catalog"
done
# two sets of the documents under one prefix, or one there and one in the catalog: refused as ambiguous
for k in 1 2; do
	sed "s/3f14ee17-9231-4b76-ae74-59cd1ab7da64/7a7a000$k-9231-4b76-ae74-59cd1ab7da64/g; s/613f6c43-7139/613f6c43-000$k/g" \
		"$L/diskshadow-create-nowriters.txt" >"$T/twin$k.txt"
done
cat "$T/twin1.txt" "$T/twin2.txt" >"$T/two.txt"
$SR list sets --json >"$T/before.json"
expect_exit 1 $SR catalog import 7a7a "$T/two.txt"
grep -q "more than one" "$T/stderr" || fail "ambiguous prefix: message"
$SR list sets --json | cmp -s - "$T/before.json" || fail "a refused import changed the catalog"
$SR catalog import 7a7a0001 "$T/twin1.txt" >/dev/null || fail "import of a twin by its prefix"
expect_exit 1 $SR catalog import 7a7a "$T/twin2.txt"
grep -q "more than one set, {7a7a0001-9231-4b76-ae74-59cd1ab7da64} in the catalog" "$T/stderr" ||
	fail "ambiguous prefix (catalog and documents): message"

# the verbose listing's writers: names and components read off its writer blocks
v="$L/diskshadow-create-writers-verbose.txt"
vset=d39ea1b2-2225-4f82-b2f6-fdf0c2dbff8e
grep -q "shadow copy set ID {$vset}" "$v" || fail "fixture: set of the verbose listing"
n_blocks=$(grep -c '^\* Including writer "' "$v")
assert_eq "$n_blocks" 10 "writer blocks in the verbose listing"
sed -n 's/^\* Including writer "\(.*\)":$/\1/p' "$v" | sort >"$T/names.txt"
awk '/^\* Including writer "/ { w = $0; sub(/^\* Including writer "/, "", w); sub(/":$/, "", w); next }
     /^\*/ { w = "" }
     w != "" && /^[ \t]+\+ Adding component: / { c = $0; sub(/^[ \t]+\+ Adding component: \\/, "", c); print w "\t" c }' \
	"$v" | sort >"$T/components.txt"
[ "$(wc -l <"$T/components.txt")" -ge "$n_blocks" ] || fail "fixture: components"
$SR list writers --set "${vset:0:8}" --json >"$T/writers.json" || fail "list writers"
python3 - "$T" <<'PY' || fail "the verbose listing's writers are not what its text names"
import json, sys
T = sys.argv[1]
ws = json.load(open(T + "/writers.json"))["writers"]
names = open(T + "/names.txt").read().split("\n")[:-1]
assert sorted(w["name"] for w in ws) == names, [w["name"] for w in ws]
for w in ws:
    assert w["participating"] and w["consistency"] == "application-consistent", w
    assert w["writer_id"] is None and w["instance_id"] is None, w
got = sorted(w["name"] + "\t" + "\\".join(x for x in (c["logical_path"], c["name"]) if x)
             for w in ws for c in w["components"] if c["selected"])
want = sorted(open(T + "/components.txt").read().split("\n")[:-1])
assert got == want, (got, want)
print("ok: %d writers, %d components" % (len(ws), len(got)))
PY
# imported again: the same writers, not twice
$SR catalog import "${vset:0:8}" "$v" >/dev/null || fail "re-import"
$SR list writers --set "$vset" --json >"$T/again.json" || fail "list writers again"
cmp -s "$T/writers.json" "$T/again.json" || fail "a second import changed the writers"
$SR list writers --set "$vset" >"$T/writers.txt" || fail "list writers (text)"
grep -q "Number of writers listed: $n_blocks" "$T/writers.txt" || fail "text: writer count"
exit 0
