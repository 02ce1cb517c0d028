#!/usr/bin/env python3
# For the restore tests (t08xx): every file under a volume path of an NTFS image, from ntfs-3g's tools alone (ntfsls, ntfsinfo, ntfscat):
#   ntfs-oracle.py IMAGE VOLUME-PATH
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
