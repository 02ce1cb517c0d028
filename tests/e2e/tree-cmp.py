#!/usr/bin/env python3
# For the restore tests (t08xx): compare two descriptions: paths, sizes, digests, mtimes within SLACK seconds, hard links:
#   tree-cmp.py WANT GOT SLACK [CHECK-DIR-MTIMES [NO-LINKS]]
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
