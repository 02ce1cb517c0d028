#!/usr/bin/env bash
# mount of an NTFS volume whose index holds names the kernel cannot take: a
# POSIX-namespace name with '/', entries named "." and "..", and names that
# already look escaped (README, Mount: '/' -> %2F, the dots of "."/".." ->
# %2E, '%' before two hex digits -> %25). Every entry of each folder is
# listed (on the old code the listing failed with EIO at the first '/'), and
# each is reached through its escaped name. Oracle: ntfsls -i (names and
# inodes, mapped through the rule by a separate implementation here), ntfscat
# -i (contents), ntfsfix -n (the fixture is a sound volume).
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd mkntfs ntfs-3g
need_cmd ntfsls ntfs-3g
need_cmd ntfscat ntfs-3g
need_cmd ntfsfix ntfs-3g
need_cmd python3 python3
raw=$BUILD/tests/tools/ntfs-rawname
[ -x "$raw" ] || fail "not built: $raw"

img=$T/odd.img
mkdir "$T/mnt"
truncate -s 16M "$img"
mkntfs -q -F -f -L odd "$img" >/dev/null 2>&1 || fail "mkntfs"
# root: a file before and after the odd ones in index order
$raw "$img" / '0first' 'first' || fail "fixture 0first"
$raw "$img" / 'a/b' 'slash content' || fail "fixture a/b"
$raw "$img" / 'a%2Fb' 'looks escaped' || fail "fixture a%2Fb"
$raw "$img" / '/lead and trail/' 'both ends' || fail "fixture /lead and trail/"
$raw "$img" / '100%' 'percent' || fail "fixture 100%"
$raw "$img" / '%zz%4' 'no hex' || fail "fixture %zz%4"
$raw "$img" / '..' 'dot dot' || fail "fixture .."
$raw "$img" / 'zz' 'last' || fail "fixture zz"
$raw -d "$img" / 'sub' || fail "fixture sub"
$raw "$img" /sub '.' 'one dot' || fail "fixture sub/."
$raw "$img" /sub '..' 'two dots' || fail "fixture sub/.."
$raw "$img" /sub '%2E%2E' 'literal %2E%2E' || fail "fixture sub/%2E%2E"
$raw "$img" /sub '%2E' 'literal %2E' || fail "fixture sub/%2E"
$raw "$img" /sub 'x/y/z' 'deeper slash' || fail "fixture sub/x/y/z"
$raw "$img" /sub 'y' 'plain' || fail "fixture sub/y"
ntfsfix -n "$img" >"$T/fix" 2>&1 || fail "ntfsfix -n: $(cat "$T/fix")"

$SR mount "$img" "$T/mnt" || fail "mount"
files=$T/mnt/odd.img/files

# the oracle's listing, escaped by the documented rule, against the mount's; then every entry's
# contents through its escaped name against ntfscat of its inode, and its inode against ntfsls's
# (ntfsls shows libntfs-3g's own "." of a folder, whose inode is the folder's: left out; a real "." is another file)
sub_ino=$(ntfsls -f -i "$img" | awk '$2 == "sub" { print $1 }')
[ -n "$sub_ino" ] || fail "no inode of sub from ntfsls"
for dir in / /sub; do
	ntfsls -f -i -p "$dir" "$img" >"$T/ls" 2>"$T/ls.err" || fail "ntfsls $dir: $(cat "$T/ls.err")"
	self=5
	[ "$dir" = /sub ] && self=$sub_ino
	python3 - "$T/ls" "$files$dir" "$img" "$dir" "$self" <<'PY' || fail "folder $dir differs from ntfsls"
import os, re, subprocess, sys
ls, mnt, img, d, self_ino = sys.argv[1:]

def esc(n):
    if n in (".", ".."):
        return "%2E" * len(n)
    out = []
    for i, c in enumerate(n):
        if c == "/":
            out.append("%2F")
        elif c == "%" and re.fullmatch(r"[0-9A-Fa-f]{2}", n[i + 1:i + 3]):
            out.append("%25")
        else:
            out.append(c)
    return "".join(out)

want = {}
for line in open(ls, encoding="utf-8").read().splitlines():
    m = re.fullmatch(r"\s*(\d+) (.*)", line)
    assert m, "unexpected ntfsls line %r" % line
    if m.group(2) in (".", "..") and int(m.group(1)) in (int(self_ino), 5):
        continue
    want[esc(m.group(2))] = (int(m.group(1)), m.group(2))
got = os.listdir(mnt)
print("%s: ntfsls %d entries, mount %d" % (d, len(want), len(got)), file=sys.stderr)
if sorted(got) != sorted(want):
    sys.exit("mount lists %r, ntfsls (escaped) %r" % (sorted(got), sorted(want)))
if len(want) < 5:
    sys.exit("too few entries: %r" % sorted(want))
for name, (ino, rawname) in want.items():
    p = os.path.join(mnt, name)
    st = os.lstat(p)
    if st.st_ino & ((1 << 40) - 1) != ino:
        sys.exit("%r: inode %d, ntfsls says %d" % (name, st.st_ino & ((1 << 40) - 1), ino))
    if os.path.isdir(p):
        continue
    cat = subprocess.run(["ntfscat", "-f", "-i", str(ino), img], capture_output=True, check=True).stdout
    data = open(p, "rb").read()
    if data != cat or not data:
        sys.exit("%r (%r): contents %r, ntfscat %r" % (name, rawname, data, cat))
    print("  %-22r -> %-26r %r" % (rawname, name, data), file=sys.stderr)
PY
done

# one name per entry: spellings that unescape to a real name but are not what the listing shows
# (and "." is no alias of its folder: libntfs-3g's listing of a folder names itself ".", no index entry does here)
for bad in 'a%2fb' 'a%252fb' '%2E%2e' '%2E.' 'sub/%2e' '%30first' 'sub/%79' '%2E'; do
	[ -e "$files/$bad" ] && fail "'$bad' is found, but it is not a listed name"
done
# and the listed ones are reached by path too
assert_eq "$(cat "$files/a%2Fb")" "slash content" "a%2Fb"
assert_eq "$(cat "$files/a%252Fb")" "looks escaped" "a%252Fb"
assert_eq "$(cat "$files/sub/%252E")" "literal %2E" "sub/%252E"
assert_eq "$(cat "$files/%2E%2E")" "dot dot" "%2E%2E"
assert_eq "$(cat "$files/sub/%252E%252E")" "literal %2E%2E" "sub/%252E%252E"
assert_eq "$(cat "$files/sub/%2E")" "one dot" "sub/%2E"
assert_eq "$(cat "$files/sub/%2E%2E")" "two dots" "sub/%2E%2E"
$SR unmount "$T/mnt" || fail "unmount"
exit 0
