#!/usr/bin/env python3
# For the restore tests (t08xx): the same description of a restored folder (inode numbers stand for link structure):
#   restored-tree.py DIR
import hashlib, os, sys
top = sys.argv[1]
for d, dirs, files in os.walk(top):
    for n in sorted(dirs):
        p = os.path.join(d, n); st = os.lstat(p)
        print("D", st.st_ino, int(st.st_mtime), os.path.relpath(p, top))
    for n in files:
        p = os.path.join(d, n); st = os.lstat(p)
        print("F", st.st_ino, int(st.st_mtime), st.st_size, hashlib.sha256(open(p, "rb").read()).hexdigest(), os.path.relpath(p, top))
