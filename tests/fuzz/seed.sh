#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fuzz seeds (the sparse encoding of tests/fuzz/sparse.h). Not run by make.
#
#   tests/fuzz/seed.sh [VOLUME...] [--pair VOLUME STORAGE]...
#       Local seeds into build/fuzz/seeds/ (never committed: they hold real
#       data): one from $SHARED/data/vss/vsstest.qcow2 when it is there, one
#       for each raw NTFS VOLUME given (e.g. volumes a fixture tool made), and
#       one per --pair with STORAGE as the second volume (shadow storage).
#   tests/fuzz/seed.sh --corpus
#       Regenerate the hand-built, committed seeds in tests/fuzz/corpus/vss/
#       and tests/fuzz/corpus/part/ (named hand-*; needs python3 and sfdisk).
#
# Then fuzz, e.g. (halt_on_error: the fuzz build lets UBSan reports continue,
# which libFuzzer would not save as crashes):
#   make fuzz && mkdir -p build/fuzz/work-vss &&
#   UBSAN_OPTIONS=halt_on_error=1 build/fuzz/fuzz-vss -max_total_time=600 \
#       build/fuzz/work-vss tests/fuzz/corpus/vss build/fuzz/seeds
# and keep what is new and small (never inputs derived from the real image):
#   build/fuzz/fuzz-vss -merge=1 NEW tests/fuzz/corpus/vss build/fuzz/work-vss
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$repo/$BUILD ;; esac
SHARED=${SHADOWREV_SHARED:-$repo/../shared}
seeds=$repo/build/fuzz/seeds
VSS_SHA256=5cba558cfac0916cae697d2231dc1e17874aa262f2890f5236fb9c90b9610d0a

die() { echo "seed.sh: $*" >&2; exit 1; }

vss_seed_tool() {
	local tool=$BUILD/tests/tools/vss-seed
	[ -x "$tool" ] || make -C "$repo" -s "BUILD=${BUILD#"$repo"/}" "${tool#"$repo"/}" >&2 ||
		die "cannot build $tool"
	echo "$tool"
}

corpus() {
	command -v python3 >/dev/null || die "python3 is needed (Debian package python3)"
	command -v sfdisk >/dev/null || die "sfdisk is needed (Debian package fdisk)"
	tmp=""
	tmp=$(mktemp -d)
	trap 'rm -rf "${tmp:-}"' EXIT
	mkdir -p "$here/corpus/vss" "$here/corpus/part"
	rm -f "$here"/corpus/vss/hand-* "$here"/corpus/part/hand-*

	# Partition tables made by sfdisk, on sparse files; the python part
	# below damages copies of them and encodes every non-zero sector.
	truncate -s 1G "$tmp/gpt.img"
	sfdisk -q "$tmp/gpt.img" <<-'EOF'
		label: gpt
		label-id: 9A6C1C1E-1E2D-4A57-9C39-6E8F3D0B7C11
		start=2048, size=204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"
		size=32768, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE, name="Microsoft reserved partition"
		size=1048576, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
		type=DE94BBA4-06D1-4D40-A16A-BFD50179D6AC, attrs="RequiredPartition GUID:63"
	EOF
	truncate -s 64G "$tmp/gpt-64g.img"
	sfdisk -q "$tmp/gpt-64g.img" <<-'EOF'
		label: gpt
		start=2048, size=1024000, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
		type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
	EOF
	truncate -s 1G "$tmp/mbr.img"
	sfdisk -q "$tmp/mbr.img" <<-'EOF'
		label: dos
		label-id: 0x5eed0001
		start=2048, size=204800, type=7, bootable
		size=409600, type=7
		size=1048576, type=5
		size=204800, type=7
		size=102400, type=83
		type=7
	EOF
	python3 - "$tmp" "$here/corpus" <<-'PYEOF'
	import os, struct, sys, uuid, zlib

	tmp, corpus = sys.argv[1], sys.argv[2]
	SEP = struct.pack('<Q', 0xffffffffffffffff)

	def encode(size, recs):
	    """The sparse encoding: u64 size, then (u64 offset, u16 length, bytes)."""
	    out = bytearray(struct.pack('<Q', size))
	    for off, data in recs:
	        data = bytes(data).rstrip(b'\0')
	        for i in range(0, len(data), 0xff00):
	            piece = data[i:i + 0xff00]
	            out += struct.pack('<QH', off + i, len(piece)) + piece
	    return bytes(out)

	def encode_file(path):
	    """Every non-zero 512-byte sector of a sparse file, coalesced."""
	    size = os.path.getsize(path)
	    recs = []
	    with open(path, 'rb') as f:
	        fd = f.fileno()
	        pos = 0
	        while pos < size:
	            try:
	                data = os.lseek(fd, pos, os.SEEK_DATA)
	            except OSError:
	                break
	            hole = os.lseek(fd, data, os.SEEK_HOLE)
	            f.seek(data)
	            buf = f.read(hole - data)
	            run = None
	            for s in range(0, len(buf), 512):
	                sec = buf[s:s + 512]
	                if sec.strip(b'\0'):
	                    if run is None:
	                        run = [data + s, bytearray()]
	                    run[1] += sec
	                elif run is not None:
	                    recs.append(run)
	                    run = None
	            if run is not None:
	                recs.append(run)
	            pos = hole
	    return encode(size, recs)

	def write(kind, name, data):
	    with open(os.path.join(corpus, kind, 'hand-' + name), 'wb') as f:
	        f.write(data)

	def patch(src, dst, edits):
	    with open(src, 'rb') as f, open(dst, 'wb') as g:
	        size = os.fstat(f.fileno()).st_size
	        g.truncate(size)
	        pos = 0
	        while pos < size:  # copy sparsely: data extents only
	            try:
	                data = os.lseek(f.fileno(), pos, os.SEEK_DATA)
	            except OSError:
	                break
	            hole = os.lseek(f.fileno(), data, os.SEEK_HOLE)
	            f.seek(data)
	            g.seek(data)
	            g.write(f.read(hole - data))
	            pos = hole
	        for off, b in edits:
	            g.seek(off)
	            g.write(b)
	    return dst

	def read_at(path, off, n):
	    with open(path, 'rb') as f:
	        f.seek(off)
	        return f.read(n)

	# ---- partition tables -------------------------------------------------
	gpt = os.path.join(tmp, 'gpt.img')
	gsize = os.path.getsize(gpt)
	write('part', 'gpt-sfdisk', encode_file(gpt))
	write('part', 'gpt-64g-sfdisk', encode_file(os.path.join(tmp, 'gpt-64g.img')))
	write('part', 'mbr-logical-sfdisk', encode_file(os.path.join(tmp, 'mbr.img')))
	# primary header CRC wrong: the backup in the last sector must be used
	hdr = read_at(gpt, 512, 512)
	write('part', 'gpt-primary-bad-crc',
	      encode_file(patch(gpt, os.path.join(tmp, 'g1'), [(512 + 16, bytes([hdr[16] ^ 0xff]))])))
	# primary entry array damaged (its CRC no longer matches)
	write('part', 'gpt-entries-bad-crc', encode_file(patch(gpt, os.path.join(tmp, 'g2'), [(1024 + 40, b'\x77')])))
	# both headers damaged: an error
	write('part', 'gpt-both-bad-crc',
	      encode_file(patch(gpt, os.path.join(tmp, 'g3'), [(512 + 16, bytes([hdr[16] ^ 0xff])),
	                                                       (gsize - 512 + 16, b'\0\0\0\0')])))
	# primary header gone (no signature): protective MBR without a GPT
	write('part', 'gpt-primary-zeroed', encode_file(patch(gpt, os.path.join(tmp, 'g4'), [(512, bytes(512))])))
	# the MBR's extended partition: its EBR chain made to loop back, and to run off the disk
	mbr = os.path.join(tmp, 'mbr.img')
	ext = struct.unpack_from('<I', read_at(mbr, 446 + 32 + 8, 4))[0]
	first_ebr = read_at(mbr, ext * 512, 512)
	nxt = struct.unpack_from('<I', first_ebr, 462 + 8)[0]
	write('part', 'mbr-ebr-loop',
	      encode_file(patch(mbr, os.path.join(tmp, 'm1'), [((ext + nxt) * 512 + 462 + 8, struct.pack('<I', 0))])))
	write('part', 'mbr-ebr-outside',
	      encode_file(patch(mbr, os.path.join(tmp, 'm2'), [(ext * 512 + 462 + 8, struct.pack('<I', 0x7fffffff))])))
	write('part', 'mbr-overlap',
	      encode_file(patch(mbr, os.path.join(tmp, 'm3'), [(446 + 16 + 8, struct.pack('<I', 2100))])))

	# A GPT with 4096-byte sectors, built by hand (sfdisk here cannot).
	def gpt_disk(ss, nsect, parts, backup_ok=True, primary_ok=True):
	    ents = bytearray(128 * 128)
	    for i, (first, last, ptype, name) in enumerate(parts):
	        struct.pack_into('<16s16sQQQ', ents, 128 * i, uuid.UUID(ptype).bytes_le,
	                         uuid.UUID(int=0x1234 + i).bytes_le, first, last, 0)
	        ents[128 * i + 56:128 * i + 56 + 72] = name.encode('utf-16le')[:72].ljust(72, b'\0')
	    ecrc = zlib.crc32(ents)
	    nent = len(ents) // ss + (len(ents) % ss != 0)

	    def header(lba, alt, elba):
	        h = bytearray(92)
	        struct.pack_into('<8sIIIIQQQQ16sQIII', h, 0, b'EFI PART', 0x10000, 92, 0, 0, lba, alt,
	                         2 + nent, nsect - 2 - nent, uuid.UUID(int=0xd15c).bytes_le, elba, 128, 128, ecrc)
	        struct.pack_into('<I', h, 16, zlib.crc32(h))
	        return bytes(h)
	    mbr = bytearray(512)
	    struct.pack_into('<B3sB3sII', mbr, 446, 0, b'\0\x02\0', 0xee, b'\xff\xff\xff', 1,
	                     min(nsect - 1, 0xffffffff))
	    mbr[510:512] = b'\x55\xaa'
	    recs = [(0, mbr)]
	    if primary_ok:
	        recs += [(ss, header(1, nsect - 1, 2)), (2 * ss, ents)]
	    if backup_ok:
	        recs += [((nsect - 1 - nent) * ss, ents), ((nsect - 1) * ss, header(nsect - 1, 1, nsect - 1 - nent))]
	    return encode(nsect * ss, recs)

	basic = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7'
	write('part', 'gpt-4k', gpt_disk(4096, 65536, [(256, 8191, basic, 'data'), (8192, 65000, basic, 'more')]))
	write('part', 'gpt-4k-backup-only',
	      gpt_disk(4096, 65536, [(256, 8191, basic, 'backup')], primary_ok=False))
	write('part', 'gpt-outside', gpt_disk(512, 100000, [(2048, 200000, basic, 'too big')]))
	# a raw NTFS boot sector (not a partition table), and an MBR whose only entry is empty
	ntfs = bytearray(512)
	ntfs[3:11] = b'NTFS    '
	ntfs[510:512] = b'\x55\xaa'
	write('part', 'ntfs-volume', encode(1 << 30, [(0, ntfs)]))

	# ---- VSS volumes ------------------------------------------------------
	VSS = bytes.fromhex('6b87083876c1484eb7ae04046e6cc752')
	BLK = 0x4000
	MB = 1 << 20

	def g(n):
	    return uuid.UUID(int=(0x600f0b69_5bdf_11e3_9d6c_005056c00000 + n)).bytes_le

	def ntfs_boot(size):
	    b = bytearray(512)
	    b[0:3] = b'\xeb\x52\x90'
	    b[3:11] = b'NTFS    '
	    struct.pack_into('<HB', b, 11, 512, 8)
	    struct.pack_into('<Q', b, 40, size // 512 - 1)
	    b[510:512] = b'\x55\xaa'
	    return b

	def rec(rtype, off, nxt=0, rel=0, version=1):
	    b = bytearray(BLK)
	    b[0:16] = VSS
	    struct.pack_into('<IIQQQ', b, 16, version, rtype, rel, off, nxt)
	    return b

	class Vol:
	    def __init__(self, size, catalog=MB, volid=1, storid=1, version=1, header=True):
	        self.size = size
	        self.recs = [(0, ntfs_boot(size)), ((size // 512 - 1) * 512, ntfs_boot(size))]
	        if header:
	            h = bytearray(512)
	            h[0:16] = VSS
	            struct.pack_into('<IIQQQQQ16s16s', h, 16, version, 1, 0x1e00, 0x1e00, 0, catalog, 0,
	                             g(0x100 + volid), g(0x100 + storid))
	            self.recs.append((0x1e00, h))

	    def put(self, off, data):
	        self.recs.append((off, data))

	    def catalog(self, off, entries, nxt=0, rel=0):
	        b = rec(2, off, nxt, rel)
	        for i, e in enumerate(entries):
	            b[128 + 128 * i:256 + 128 * i] = e
	        self.put(off, b)

	    def store(self, base, n, descs, prev=False, info_len=None, machine='infinity', list_next=0,
	              range_next=0, bitmap_next=0, free=()):
	        """A store's metadata at base: header, block list, range list, bitmap(s)."""
	        h = rec(4, base)
	        m = machine.encode('utf-16le')
	        info = (uuid.UUID('ae9a9337-0048-4ed6-9874-71500654b7b3').bytes_le + g(0x200 + n) + g(0x300 + n) +
	                struct.pack('<IIII', 9, 1, 0x420009, 0) + struct.pack('<H', len(m)) + m +
	                struct.pack('<H', len(m)) + m)
	        struct.pack_into('<Q', h, 48, len(info) if info_len is None else info_len)
	        h[128:128 + len(info)] = info
	        self.put(base, h)
	        lst = rec(3, base + BLK, list_next, 0x4000)
	        for i, d in enumerate(descs):
	            struct.pack_into('<QQQII', lst, 128 + 32 * i, *d)
	        self.put(base + BLK, lst)
	        rl = rec(5, base + 2 * BLK, range_next, 0x8000)
	        struct.pack_into('<QQQ', rl, 128, base + 3 * BLK, 0xc000, 16 * BLK)
	        self.put(base + 2 * BLK, rl)
	        for j in range(2 if prev else 1):
	            bm = rec(6, base + (3 + j) * BLK, bitmap_next if j == 0 else 0, 0xc000 + j * BLK)
	            for blk in free:
	                if blk // 8 < BLK - 128:
	                    bm[128 + blk // 8] |= 1 << (blk % 8)
	            self.put(base + (3 + j) * BLK, bm)
	        return dict(header=base, list=base + BLK, range=base + 2 * BLK, bitmap=base + 3 * BLK,
	                    prev=base + 4 * BLK if prev else 0)

	    def data(self, off, tag):
	        self.put(off, (tag.encode() * 8)[:64] + bytes(448) + tag.encode())

	    def encode(self):
	        return encode(self.size, self.recs)

	def t2(volsize, n, seq, time, flags=0x40):
	    e = bytearray(128)
	    struct.pack_into('<QQ16sQQQ', e, 0, 2, volsize, g(n), seq, flags, time)
	    return e

	def t3(n, s, fref=37 | 1 << 48):
	    e = bytearray(128)
	    struct.pack_into('<QQ16sQQQQQQ', e, 0, 3, s['list'], g(n), s['header'], s['range'], s['bitmap'], fref, 0,
	                     s['prev'])
	    return e

	T0 = 130305261097363787
	FWD, OVL, UNUSED = 1, 2, 4

	def one_store(size=64 * MB, **kw):
	    v = Vol(size)
	    base, dat = 0x200000, 0x280000
	    descs = [
	        (0x40000, 0x10000, dat, 0x88, 0),                   # full copy
	        (0x44000, 0x14000, dat + BLK, OVL, 0x0000000f),     # overlay only, sectors 0-3
	        (0x44000, 1, dat + BLK, OVL, 0x00f00000),           # its extension, sectors 20-23
	        (0x48000, 0x4c000, 0, FWD, 0),                      # forwarder ...
	        (0x4c000, 0x50000, 0, FWD, 0),                      # ... continued (a chained move)
	        (0x54000, 0x18000, dat + 2 * BLK, 0, 0),            # full copy ...
	        (0x54000, 0x1c000, dat + 3 * BLK, OVL, 0x80000001),  # ... with an overlay on top
	        (0x58000, 0, 0, UNUSED, 0),                         # not used
	        (0x5c000, 0x5c000, 0, FWD, 0),                      # a no-op forwarder
	        ((size - 1) // BLK * BLK, 0x20000, dat + 4 * BLK, 0, 0),  # the last (maybe partial) block
	    ]
	    s = v.store(base, 1, descs, free=range(100, 4000), **kw)
	    for i in range(5):
	        v.data(dat + i * BLK, 'store1-%d ' % i)
	    v.data(0x40000, 'live-0x40000 ')
	    v.data(0x50000, 'live-0x50000 ')
	    v.catalog(MB, [t2(size, 1, 1, T0), t3(1, s)])
	    return v, s

	v, s = one_store()
	write('vss', 'one-store', v.encode())
	# the same with a volume size that is not a multiple of 16 KiB
	v, s = one_store(size=64 * MB + 4096)
	write('vss', 'one-store-odd-size', v.encode())

	# two stores; catalog entries scattered over two catalog blocks, type 3 before type 2
	v = Vol(64 * MB)
	s1 = v.store(0x200000, 1, [(0x40000, 0x10000, 0x280000, 0, 0), (0x44000, 0x48000, 0, FWD, 0),
	                           (0x60000, 0x14000, 0x284000, OVL, 0xffff0000)], free=range(64, 70))
	s2 = v.store(0x300000, 2, [(0x40000, 0x10000, 0x380000, 0, 0), (0x48000, 0x4c000, 0, FWD, 0),
	                           (0x60000, 0x14000, 0x384000, 0, 0), (0x64000, 0x18000, 0x388000, OVL, 0x3)],
	             prev=True, free=range(64, 80))
	for off, tag in [(0x280000, 'a'), (0x284000, 'b'), (0x380000, 'c'), (0x384000, 'd'), (0x388000, 'e'),
	                 (0x4c000, 'live')]:
	    v.data(off, tag)
	v.catalog(MB, [t3(2, s2), bytes(128), t2(64 * MB, 1, 1, T0)], nxt=MB + 2 * BLK)
	v.catalog(MB + 2 * BLK, [t3(1, s1), t2(64 * MB, 2, 2, T0 + 10**9)], rel=BLK)
	write('vss', 'two-stores', v.encode())

	# three stores, two of them created at the same time; overlay-only entries in the middle store
	v = Vol(64 * MB)
	s1 = v.store(0x200000, 1, [(0x40000, 0x10000, 0x280000, 0, 0), (0x50000, 0x14000, 0x284000, OVL, 0xff)])
	s2 = v.store(0x300000, 2, [(0x44000, 0x10000, 0x380000, OVL, 0xf0f0), (0x48000, 0x40000, 0, FWD, 0),
	                           (0x50000, 0x14000, 0x384000, OVL, 0xff00)])
	s3 = v.store(0x400000, 3, [(0x44000, 0x10000, 0x480000, 0, 0), (0x40000, 0x48000, 0, FWD, 0),
	                           (0x50000, 0x14000, 0x484000, 0, 0)], prev=True)
	for off in (0x280000, 0x284000, 0x380000, 0x384000, 0x480000, 0x484000, 0x40000, 0x44000, 0x48000, 0x50000):
	    v.data(off, 'x%x ' % off)
	v.catalog(MB, [t2(64 * MB, 3, 3, T0 + 7), t3(3, s3), t2(64 * MB, 2, 2, T0), t3(2, s2), t2(64 * MB, 1, 2, T0),
	               t3(1, s1)])
	write('vss', 'three-stores-same-time', v.encode())

	# loops: the catalog chain, a block list, a range list, a bitmap, a store header used twice
	v, s = one_store()
	v.catalog(MB, [t2(64 * MB, 1, 1, T0), t3(1, s)], nxt=MB)
	write('vss', 'loop-catalog', v.encode())
	v, s = one_store(list_next=0x200000 + BLK)
	write('vss', 'loop-block-list', v.encode())
	v, s = one_store(range_next=0x200000 + 2 * BLK)
	write('vss', 'loop-range-list', v.encode())
	v, s = one_store(bitmap_next=0x200000)
	write('vss', 'loop-bitmap-to-header', v.encode())
	v = Vol(64 * MB)
	s = v.store(0x200000, 1, [(0x40000, 0x10000, 0x280000, 0, 0)])
	v.catalog(MB, [t2(64 * MB, 1, 1, T0), t3(1, s), t2(64 * MB, 2, 2, T0 + 1), t3(2, s)])
	write('vss', 'loop-shared-store', v.encode())

	# out of range: catalog beyond the end, descriptors and data beyond the volume, a bad volume size
	v, s = one_store()
	v.recs[2] = (0x1e00, bytes(v.recs[2][1][:48]) + struct.pack('<Q', 64 * MB) + bytes(v.recs[2][1][56:]))
	write('vss', 'range-catalog-past-end', v.encode())
	v = Vol(64 * MB)
	s = v.store(0x200000, 1, [(64 * MB, 0x10000, 0x280000, 0, 0)])
	v.catalog(MB, [t2(64 * MB, 1, 1, T0), t3(1, s)])
	write('vss', 'range-desc-orig', v.encode())
	v = Vol(64 * MB)
	s = v.store(0x200000, 1, [(0x40000, 0x10000, 64 * MB - 512, 0, 0)])
	v.catalog(MB, [t2(64 * MB, 1, 1, T0), t3(1, s)])
	write('vss', 'range-desc-data', v.encode())
	v = Vol(64 * MB)
	s = v.store(0x200000, 1, [(0x40000, 64 * MB, 0, FWD, 0), (0x44000, 0x10000, 0xffffffffffffc000, 0, 0)])
	v.catalog(MB, [t2(64 * MB, 1, 1, T0), t3(1, s)])
	write('vss', 'range-forwarder', v.encode())
	v, s = one_store()
	v.catalog(MB, [t2(128 * MB, 1, 1, T0), t3(1, s)])
	write('vss', 'range-volume-size', v.encode())
	v, s = one_store()
	v.catalog(MB, [t2(32 * MB, 1, 1, T0), t3(1, s)])
	write('vss', 'smaller-volume-size', v.encode())
	v = Vol(64 * MB, catalog=MB + 256)
	write('vss', 'unaligned-catalog', v.encode())
	v, s = one_store(info_len=20000)
	write('vss', 'bad-info-size', v.encode())
	v, s = one_store(machine='x' * 4000)
	write('vss', 'long-machine', v.encode())
	v = Vol(64 * MB, version=3)
	v.catalog(MB, [])
	write('vss', 'header-version-3', v.encode())
	v, s = one_store()
	v.recs[2] = (0x1e00, bytes(v.recs[2][1][:16]) + struct.pack('<I', 2) + bytes(v.recs[2][1][20:]))
	write('vss', 'header-version-2', v.encode())
	v = Vol(64 * MB)
	v.catalog(MB, [t2(64 * MB, 1, 1, T0), t2(64 * MB, 1, 2, T0)])
	write('vss', 'store-listed-twice', v.encode())
	v = Vol(64 * MB)
	v.catalog(MB, [struct.pack('<Q', 9) + bytes(120)])
	write('vss', 'unknown-entry-type', v.encode())
	v = Vol(64 * MB)
	v.catalog(MB, [t2(64 * MB, 1, 1, T0)])
	write('vss', 'missing-storage', v.encode())
	# every snapshot deleted, the catalog left empty; a new snapshot without any copied block yet
	v = Vol(64 * MB)
	v.catalog(MB, [])
	write('vss', 'empty-catalog', v.encode())
	v = Vol(64 * MB)
	s = v.store(0x200000, 1, [])
	v.catalog(MB, [t2(64 * MB, 1, 1, T0), t3(1, s)])
	write('vss', 'store-without-blocks', v.encode())
	write('vss', 'no-vss', Vol(64 * MB, header=False).encode())
	write('vss', 'not-ntfs', encode(64 * MB, [(0x1e00, VSS)]))
	v, s = one_store()
	v.recs[1] = (v.recs[1][0], bytes(512))
	write('vss', 'no-backup-boot', v.encode())

	# a large volume: catalog and store near the end of 64 GiB, a bitmap chain
	big = 64 << 30
	v = Vol(big, catalog=big - 64 * MB)
	s = v.store(big - 32 * MB, 1, [(0x40000, 0x10000, big - 16 * MB, 0, 0), (big - BLK, 0x14000, big - 16 * MB + BLK, OVL, 1)],
	            bitmap_next=big - 8 * MB, free=range(0, 130000, 3))
	v.put(big - 8 * MB, rec(6, big - 8 * MB, 0, 0x10000))
	v.catalog(big - 64 * MB, [t2(big, 1, 1, T0), t3(1, s)])
	write('vss', 'large-64g', v.encode())

	# shadow storage on another volume: A's catalog has the type-2 entry, B has the type-3 entry and the store
	a = Vol(64 * MB, volid=1, storid=2)
	a.catalog(MB, [t2(64 * MB, 1, 1, T0), t2(64 * MB, 3, 2, T0 + 5)])
	a.data(0x40000, 'A-live ')
	b = Vol(128 * MB, volid=2, storid=2)
	sa = b.store(0x200000, 1, [(0x40000, 0x10000, 0x280000, 0, 0), (0x44000, 0x40000, 0, FWD, 0),
	                           (0x48000, 0x14000, 0x284000, OVL, 0xf)])
	sa3 = b.store(0x400000, 3, [(0x40000, 0x10000, 0x480000, 0, 0)])
	sb = b.store(0x300000, 2, [(0x40000, 0x10000, 0x380000, 0, 0)])
	b.data(0x280000, 'A-store ')
	b.data(0x284000, 'A-overlay ')
	b.data(0x380000, 'B-store ')
	b.catalog(MB, [t3(1, sa), t2(128 * MB, 2, 1, T0), t3(2, sb), t3(3, sa3)])
	write('vss', 'remote-storage', a.encode() + SEP + b.encode())
	# the storage volume given first, and a storage volume whose foreign store is broken
	write('vss', 'remote-storage-reversed', b.encode() + SEP + a.encode())
	b2 = Vol(128 * MB, volid=2, storid=2)
	sa = b2.store(0x200000, 1, [(0x40000, 0x10000, 0x280000, 0, 0)], list_next=0x200000 + BLK)
	b2.catalog(MB, [t3(1, sa)])
	write('vss', 'remote-storage-loop', a.encode() + SEP + b2.encode())
	PYEOF
	echo "corpus: $(ls "$here/corpus/vss" | wc -l) vss and $(ls "$here/corpus/part" | wc -l) part inputs," \
		"$(du -sh "$here/corpus" | cut -f1) in all"
}

local_seeds() {
	local tool n=0
	tool=$(vss_seed_tool)
	mkdir -p "$seeds"
	tmp=$(mktemp -d)
	trap 'rm -rf "${tmp:-}"' EXIT
	local qcow=$SHARED/data/vss/vsstest.qcow2
	if [ -f "$qcow" ]; then
		local raw=$BUILD/cache/vsstest.raw
		if ! [ -f "$raw" ]; then
			command -v qemu-img >/dev/null || die "qemu-img is needed for $qcow (Debian package qemu-utils)"
			mkdir -p "$BUILD/cache"
			qemu-img convert -O raw "$qcow" "$raw.tmp"
			[ "$(sha256sum <"$raw.tmp" | cut -d' ' -f1)" = "$VSS_SHA256" ] || die "$qcow: unexpected content"
			mv "$raw.tmp" "$raw"
		fi
		"$tool" "$raw" "$seeds/vsstest"
		n=$((n + 1))
	else
		echo "seed.sh: $qcow not found: no seed from the real image" >&2
	fi
	while [ $# -gt 0 ]; do
		if [ "$1" = --pair ]; then
			[ $# -ge 3 ] || die "--pair needs VOLUME and STORAGE"
			"$tool" "$2" "$tmp/a"
			"$tool" "$3" "$tmp/b"
			{ cat "$tmp/a"; printf '\377\377\377\377\377\377\377\377'; cat "$tmp/b"; } \
				>"$seeds/pair-$(basename "$2")-$(basename "$3")"
			shift 3
		else
			"$tool" "$1" "$seeds/vol-$(basename "$1")"
			shift
		fi
		n=$((n + 1))
	done
	echo "seed.sh: $n seed(s) in $seeds"
}

if [ "${1:-}" = --corpus ]; then
	corpus
else
	local_seeds "$@"
fi
