#!/usr/bin/env python3
# range-hits.py IMAGE [STORAGE]: for each shadow copy k (oldest first), how many 16 KiB
# blocks a revert to k rewrites (the originals of the descriptors of stores
# k..n, vss-format.md 6.1) lie inside a range-list extent of some store; one
# "k hits" line each. Parsed from the raw volume on its own (no shadowrev
# code; STORAGE: the volume that holds IMAGE's stores, if another): it shows whether a generated volume has the trimmed, reused store
# files of issue #15, where the old rule ("no block inside any range-list
# extent") refused the revert.
import struct
import sys

BLK = 0x4000


def rd(f, off, n=BLK):
    f.seek(off)
    return f.read(n)


def chain(f, off):
    seen = set()
    while off and off not in seen:
        seen.add(off)
        b = rd(f, off)
        yield b
        off = struct.unpack_from("<Q", b, 40)[0]


def main():
    t2, t3 = {}, {}
    for n, path in enumerate(sys.argv[1:3]):
        f = open(path, "rb")
        hdr = rd(f, 0x1E00, 512)
        cat = struct.unpack_from("<Q", hdr, 48)[0]
        for b in chain(f, cat):
            for i in range(128, BLK - 127, 128):
                typ = struct.unpack_from("<Q", b, i)[0]
                gid = b[i + 16:i + 32]
                if typ == 2 and n == 0:
                    t2[gid] = struct.unpack_from("<Q", b, i + 48)[0]
                elif typ == 3:
                    lst = struct.unpack_from("<Q", b, i + 8)[0]
                    rng = struct.unpack_from("<Q", b, i + 40)[0]
                    t3.setdefault(gid, (f, lst, rng))
    stores = sorted(t2, key=lambda g: t2[g])
    descs, extents = [], []
    for g in stores:
        f, lst, rng = t3[g]
        d = []
        for b in chain(f, lst):
            for i in range(128, BLK - 31, 32):
                orig, rel, soff, flags = struct.unpack_from("<QQQI", b, i)
                if orig or rel or soff or flags:
                    d.append((orig, flags))
        descs.append(d)
    # the extents on IMAGE itself: its own stores' and other volumes' stores kept there
    for f, lst, rng in t3.values():
        if f.name != sys.argv[1]:
            continue
        for b in chain(f, rng):
            for i in range(128, BLK - 23, 24):
                vo, _, size = struct.unpack_from("<QQQ", b, i)
                if size:
                    extents.append((vo, vo + size))
    for k in range(len(stores)):
        u = set()
        for j in range(k, len(stores)):
            for orig, flags in descs[j]:
                if flags & 4 or (j > k and flags & 2):
                    continue
                u.add(orig // BLK * BLK)
        hits = sum(1 for o in u if any(a < o + BLK and o < e for a, e in extents))
        print(k + 1, hits)


main()
