#!/usr/bin/env bash
# restore files from the two VSS shadow copies of the real Windows volume
# vsstest: from the image (--image) and from the repository (the shadow copies
# inside a captured volume), to a folder and to a tar archive. Oracle: the
# shadow copy's raw view written by `shadowrev export` (itself checked against
# libvshadow in t0201), read with ntfs-3g's ntfsls, ntfscat and ntfsinfo.
. "$(dirname "$0")/lib.sh"
need_cmd ntfsls ntfs-3g
need_cmd bsdtar libarchive-tools
need_cmd python3 python3
img=$(vsstest_raw)

# the oracle: every file under a volume path, from ntfs-3g's tools alone
cat >"$T/oracle.py" <<'PY'
import hashlib, subprocess, sys, time, calendar, re
img, root = sys.argv[1], sys.argv[2]
def ls(p):
    out = subprocess.run(["ntfsls", "-f", "-F", "-i", "-p", p, img], capture_output=True, check=True).stdout.decode()
    for line in out.splitlines():
        m = re.match(r"\s*(\d+) (.*)$", line)
        if m and m.group(2) not in ("./", "../", ".", ".."): yield int(m.group(1)), m.group(2)
def mtime(p):
    out = subprocess.run(["ntfsinfo", "-f", "-F", p, img], capture_output=True).stdout.decode()
    m = re.search(r"File Altered Time:\s*(.*) UTC", out)
    return calendar.timegm(time.strptime(m.group(1).strip(), "%a %b %d %H:%M:%S %Y")) if m else -1
def walk(p, rel):
    for ino, name in ls(p):
        if name.endswith("/"):
            name = name[:-1]
            print("D", ino, mtime(p.rstrip("/") + "/" + name), rel + name)
            walk(p.rstrip("/") + "/" + name, rel + name + "/")
        else:
            data = subprocess.run(["ntfscat", "-f", img, p.rstrip("/") + "/" + name], capture_output=True, check=True).stdout
            print("F", ino, mtime(p.rstrip("/") + "/" + name), len(data), hashlib.sha256(data).hexdigest(), rel + name)
base = root.rstrip("/").split("/")[-1]
if base: print("D", 0, mtime(root), base)
walk(root, (base + "/") if base else "")
PY
# the same description of a restored folder (inode numbers mapped to first path, to compare link structure)
cat >"$T/tree.py" <<'PY'
import hashlib, os, sys
top = sys.argv[1]
for d, dirs, files in os.walk(top):
    for n in sorted(dirs):
        p = os.path.join(d, n); st = os.lstat(p)
        print("D", st.st_ino, int(st.st_mtime), os.path.relpath(p, top))
    for n in files:
        p = os.path.join(d, n); st = os.lstat(p)
        print("F", st.st_ino, int(st.st_mtime), st.st_size, hashlib.sha256(open(p, "rb").read()).hexdigest(), os.path.relpath(p, top))
PY
# compare: paths, sizes, digests, mtimes (zip: 2 s), and which names share an inode
cat >"$T/cmp.py" <<'PY'
import sys
def load(f):
    ents = {}
    for line in open(f):
        parts = line.rstrip("\n").split(" ", 5 if line[0] == "F" else 3)
        ents[parts[-1]] = parts[:-1]
    return ents
a, b, slack = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
check_dirs_mtime = len(sys.argv) > 4
bad = []
if set(a) != set(b):
    bad.append("names differ: only in volume %s, only restored %s" % (sorted(set(a) - set(b))[:5], sorted(set(b) - set(a))[:5]))
for k in set(a) & set(b):
    x, y = a[k], b[k]
    if x[0] != y[0]: bad.append("type of " + k)
    elif x[0] == "F" and (x[3:] != y[3:]): bad.append("contents of " + k)
    elif x[0] == "F" and abs(int(x[2]) - int(y[2])) > slack: bad.append("mtime of %s: %s vs %s" % (k, x[2], y[2]))
    elif x[0] == "D" and check_dirs_mtime and abs(int(x[2]) - int(y[2])) > slack: bad.append("dir mtime of " + k)
def groups(e):
    g = {}
    for k, v in e.items():
        if v[0] == "F": g.setdefault(v[1], []).append(k)
    return sorted(sorted(x) for x in g.values() if len(x) > 1)
if len(sys.argv) <= 5 and groups(a) != groups(b): bad.append("hard links differ: %s vs %s" % (groups(a), groups(b)))
if bad: print("\n".join(bad)); sys.exit(1)
PY


$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance vsstest C:="$img" --quiet || fail "capture"
for id in 4e3c03c2-7bc6-4288-ad96-c1eac1a55f71 18f1ac6e-959d-436f-bdcc-e797a729e290; do
	s=${id%%-*}
	$SR export "$id" "$img" --to "$T/$s.img" || fail "export $id"
	python3 "$T/oracle.py" "$T/$s.img" / >"$T/want-$s" || fail "oracle"
	[ -s "$T/want-$s" ] || fail "the oracle lists nothing for $id"
	# from the image
	expect_exit 0 $SR restore files "$id" / --image "$img" --to "$T/d-$s"
	python3 "$T/tree.py" "$T/d-$s" >"$T/got-$s"
	python3 "$T/cmp.py" "$T/want-$s" "$T/got-$s" 0 dirs || fail "$id from the image: $(python3 "$T/cmp.py" "$T/want-$s" "$T/got-$s" 0 dirs)"
	# from the repository: the shadow copy inside the captured C:
	$SR restore files "$s" / --repo "$T/r" --archive "$T/$s.tar" || fail "restore $id from the repository"
	mkdir "$T/x-$s" && bsdtar -xpf "$T/$s.tar" -C "$T/x-$s" || fail "bsdtar"
	python3 "$T/tree.py" "$T/x-$s" >"$T/gotx-$s"
	python3 "$T/cmp.py" "$T/want-$s" "$T/gotx-$s" 0 || fail "$id from the repository: $(python3 "$T/cmp.py" "$T/want-$s" "$T/gotx-$s" 0)"
done
# the two shadow copies differ (the newer one has more files), and the live volume is a third state
[ "$(cut -d' ' -f5- "$T/want-4e3c03c2")" != "$(cut -d' ' -f5- "$T/want-18f1ac6e")" ] || fail "both shadow copies gave the same files"
python3 "$T/oracle.py" "$img" / >"$T/want-live"
expect_exit 0 $SR restore files live / --image "$img" --archive "$T/live.zip" --format zip
mkdir "$T/x-live" && bsdtar -xf "$T/live.zip" -C "$T/x-live" || fail "bsdtar zip"
python3 "$T/tree.py" "$T/x-live" >"$T/got-live"
python3 "$T/cmp.py" "$T/want-live" "$T/got-live" 2 "" nolinks || fail "live: $(python3 "$T/cmp.py" "$T/want-live" "$T/got-live" 2 "" nolinks)"
# an unknown shadow copy: exit 1, named
expect_exit 1 $SR restore files 0badc0de / --image "$img" --to "$T/none"
assert_contains "$T/stderr" "0badc0de"
exit 0
