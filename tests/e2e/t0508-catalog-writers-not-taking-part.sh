#!/usr/bin/env bash
# consistency names what it covers: the diskshadow .cab of a server whose SQL
# Server writer has metadata but did not take part in the set. `list writers`
# and `list sets` (text and JSON) name every writer that did not take part,
# SqlServerWriter among them, as crash-consistent only, and the set's reason
# says so. Oracle: the writer names and IDs read off the cab's members (WM*.xml,
# BCDocument.xml, Manifest.xml) with grep and iconv, not from shadowrev.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd gcab gcab
need_cmd python3 python3
need_cmd iconv libc-bin
src="$SHARED/data/metadata/diskshadow-cab-nosql"
mkdir -p "$T/repo" "$T/m"
export SHADOWREV_REPO="$T/repo"
cp "$src"/* "$T/m/"
(cd "$T/m" && gcab -c -n "$T/meta.cab" *) || fail "gcab failed"

# the facts: each WM's writer ID, name and instance name; the writers the BCD selects; the manifest's names
set_id=$(grep -o 'snapshotSetId="[^"]*"' "$src/BCDocument.xml" | cut -d'"' -f2)
for f in "$src"/WM*.xml; do
	id=$(head -c 4096 "$f" | grep -o 'writerId="[^"]*"' | head -1 | cut -d'"' -f2 | tr A-F a-f)
	name=$(head -c 4096 "$f" | grep -o 'friendlyName="[^"]*"' | head -1 | cut -d'"' -f2)
	inst=$(head -c 4096 "$f" | grep -o 'instanceName="[^"]*"' | head -1 | cut -d'"' -f2)
	printf '%s\t%s\t%s\n' "$id" "$name" "$inst"
done | sort >"$T/wm.txt"
grep -o '<WRITER_COMPONENTS[^>]*>' "$src/BCDocument.xml" | grep -o 'writerId="[^"]*"' | cut -d'"' -f2 |
	tr A-F a-f | sort -u >"$T/bcd.txt"
iconv -f UTF-16LE -t UTF-8 "$src/Manifest.xml" | grep -o "<Writer Name = '[^']*'" | cut -d"'" -f2 | sed 's/%s/ /g' |
	sort >"$T/manifest-names.txt"
cut -f2 "$T/wm.txt" | sort | cmp -s - "$T/manifest-names.txt" || fail "fixture: manifest and WM names differ"
grep -q '	SqlServerWriter	' "$T/wm.txt" || fail "fixture: no SqlServerWriter metadata"
sql_id=$(grep '	SqlServerWriter	' "$T/wm.txt" | cut -f1)
! grep -qx "$sql_id" "$T/bcd.txt" || fail "fixture: SqlServerWriter is in the BCD"

$SR catalog import "${set_id:0:8}" "$T/meta.cab" >/dev/null || fail "import"
$SR list writers --json >"$T/writers.json" || fail "list writers --json"
$SR list sets --json >"$T/sets.json" || fail "list sets --json"
$SR list writers >"$T/writers.txt" || fail "list writers"
$SR list sets >"$T/sets.txt" || fail "list sets"

python3 - "$T" <<'PY' || fail "writers taking part and not, against the cab's members"
import json, sys
T = sys.argv[1]
wm = [l.rstrip("\n").split("\t") for l in open(T + "/wm.txt")]
bcd = set(open(T + "/bcd.txt").read().split())
label = lambda name, inst: name + (" (%s)" % inst if inst else "")
took = sorted(label(n, i) for w, n, i in wm if w in bcd)
not_took = sorted(label(n, i) for w, n, i in wm if w not in bcd)
assert any(x.startswith("SqlServerWriter (") for x in not_took), not_took
ws = {w["name"]: w for w in json.load(open(T + "/writers.json"))["writers"]}
for w, n, i in wm:
    x = ws[n]
    if w in bcd:
        assert x["participating"] and x["consistency"] == "application-consistent", x
    else:
        assert not x["participating"] and x["consistency"] == "crash-consistent", x
        assert label(n, i) + " is crash-consistent only" in x["consistency_reason"], x
s = json.load(open(T + "/sets.json"))["sets"]
assert len(s) == 1, s
s = s[0]
assert s["consistency"] == "application-consistent", s
assert s["writers_taking_part"] == took, (s["writers_taking_part"], took)
assert s["writers_not_taking_part"] == not_took, (s["writers_not_taking_part"], not_took)
assert ("%d writer(s) did not take part, their data is crash-consistent only: %s" % (len(not_took), ", ".join(not_took))) in s["consistency_reason"], s
print("ok: %d taking part, %d not: %s" % (len(took), len(not_took), "; ".join(not_took)))
PY
# the text forms say the same
grep -q '^	- Writers not taking part (their data is crash-consistent only): .*SqlServerWriter (Microsoft SQL Server' "$T/sets.txt" ||
	fail "text: list sets does not name SqlServerWriter"
grep -A12 '^\* Writer name: "SqlServerWriter"' "$T/writers.txt" | grep -q '^	- Participating: no (its data is crash-consistent only)' ||
	fail "text: list writers does not say SqlServerWriter did not take part"
exit 0
