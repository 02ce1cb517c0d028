/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mkvss: make NTFS volume images that hold N VSS shadow copies of their own
 * earlier states, in the on-disk format Windows writes (../shared/docs/
 * vss-format.md, sections 3, 4, 7 and 12), together with the expected view of
 * every shadow copy. A fixture generator for tests and benchmarks.
 *
 * How the shadow copies are made (the design of the fixture):
 *   - mkntfs makes the volume; libntfs-3g fills it with files and directories,
 *     creates \System Volume Information\, the catalog file and one store file
 *     per snapshot, all as real NTFS files whose clusters are allocated but
 *     whose $DATA initialized size is 0 (as Windows leaves them). The VSS
 *     header (0x1e00), the catalog and the store metadata and data are then
 *     written by raw volume offset into those clusters.
 *   - Every VSS block lies at a 16 KiB-aligned volume offset: while a catalog
 *     or store file is allocated, the free clusters we do not want it to get
 *     are marked in use in $Bitmap for the duration of the allocation (free
 *     clusters of partly used 16 KiB blocks, blocks straddling a zone border,
 *     blocks some shadow copy still needs); libntfs-3g's allocator then can
 *     only hand out whole, aligned, unneeded blocks.
 *   - Copy-on-write is computed by comparing states, not by catching writes:
 *     needed[b] is set for the blocks in use at snapshot K, and their content
 *     then is kept in a private work image. At the end of interval K (just
 *     before snapshot K+1, or at the end) every needed block whose content
 *     differs from that gets it copied into store K (or a forwarder to an
 *     identical block of view K+1), and is no longer needed. This is what
 *     volsnap does: store K holds the old content of protected blocks first
 *     overwritten while K was the newest snapshot, and a block freed after K
 *     but needed by an older snapshot stays protected (the previous bitmap).
 *   - Store files are only ever allocated from blocks no snapshot needs, and
 *     neither they nor the catalog are ever protected or copied.
 *   - Overlays (writes to a snapshot itself) go to file-data blocks only, so
 *     that every view stays a consistent NTFS volume; forwarders come last in
 *     a store's list and never chain within a store (vss-format.md §4.1).
 * Outputs: volume.img (+ storage.img), state-K.img (the blocks in use at K
 * as they were, overlays applied; holes elsewhere), state-K.used (those
 * blocks: where a view must equal state-K.img), manifest.json. A fake wall
 * clock for libntfs-3g makes them byte for byte reproducible for a seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* core/macro.h's le16()/le32()/le64() readers collide with libntfs-3g's le16/le32/le64 types. */
#define le16 core_le16
#define le32 core_le32
#define le64 core_le64
#include "core/buf.h"
#include "core/filetime.h"
#include "core/guid.h"
#include "core/hashmap.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#undef le16
#undef le32
#undef le64

/* libntfs-3g's headers expect the HAVE_* macros of its own configure run. */
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_STDIO_H 1
#define HAVE_STDDEF_H 1
#define HAVE_STDARG_H 1
#define HAVE_TIME_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_ERRNO_H 1
#define HAVE_ENDIAN_H 1
#define HAVE_BYTESWAP_H 1
#define HAVE_CLOCK_GETTIME 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/bitmap.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
#pragma GCC diagnostic pop

#define BLK 16384u
#define CLUSTER 4096u
#define SECTOR 512u
#define HDR_OFFSET 0x1e00u
#define REC 128u
#define DESCS_PER_BLOCK ((BLK - REC) / 32)     /* 508 */
#define RANGES_PER_BLOCK ((BLK - REC) / 24)    /* 677 */
#define BITMAP_BYTES_PER_BLOCK (BLK - REC)     /* 16256 bytes = 130048 blocks */
#define CAT_BLOCKS 4u
#define CAT_SLOTS_PER_BLOCK ((BLK - REC) / 128) /* 127 */
#define CAT_SLOTS (CAT_BLOCKS * CAT_SLOTS_PER_BLOCK)
#define MAX_STORES (CAT_SLOTS / 2)
#define CHUNK_BLOCKS 64u /* 1 MiB of 16 KiB blocks per read */

enum { REC_VOLUME = 1, REC_CATALOG = 2, REC_BLOCK_LIST = 3, REC_STORE_HEADER = 4, REC_RANGE_LIST = 5, REC_BITMAP = 6 };
enum { D_FORWARDER = 0x1, D_OVERLAY = 0x2, D_NOT_USED = 0x4 };
enum order { ORDER_PAIRED, ORDER_REVERSED, ORDER_SCATTERED };

/* {3808876b-c176-4e48-b7ae-04046e6cc752} as on disk */
static const uint8_t vss_guid[16] = { 0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e,
				      0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52 };
/* the "unknown" GUID of the store information, ae9a9337-0048-4ed6-9874-71500654b7b3, seen on every store */
static const uint8_t store_info_guid[16] = { 0x37, 0x93, 0x9a, 0xae, 0x48, 0x00, 0xd6, 0x4e,
					     0x98, 0x74, 0x71, 0x50, 0x06, 0x54, 0xb7, 0xb3 };
#define VSS_NAME "{3808876b-c176-4e48-b7ae-04046e6cc752}"
#define SVI_NAME "System Volume Information"
/* 2024-01-01T00:00:00Z as a FILETIME */
#define FT_2024 (FILETIME_UNIX_EPOCH + 1704067200ULL * 10000000ULL)
#define FT_HOUR (3600ULL * 10000000ULL)

/* ---------------------------------------------------------------------- */
/* small helpers */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return res;
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

/* uniform in [lo, hi] */
static uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rng_below(r, hi - lo + 1);
}

static void rng_fill(struct rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len >= 8) {
		uint64_t v = rng_next(r);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = rng_next(r);
		memcpy(p, &v, len);
	}
}

/* A random (version 4) GUID from the seeded generator. */
static void rng_guid(struct rng *r, struct sr_guid *g)
{
	rng_fill(r, g->b, 16);
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40);
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
}

static uint64_t hash_block(const uint8_t *p)
{
	uint64_t h = 0x243f6a8885a308d3ULL;

	for (size_t i = 0; i < BLK; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		h = (h ^ v) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h ? h : 1;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint8_t *bs_new(uint64_t bits)
{
	return calloc(1, (size_t)((bits + 7) / 8) + 1);
}

static inline bool bs_get(const uint8_t *bs, uint64_t i)
{
	return (bs[i / 8] >> (i % 8)) & 1;
}

static inline void bs_set(uint8_t *bs, uint64_t i)
{
	bs[i / 8] |= (uint8_t)(1u << (i % 8));
}

static inline void bs_clear(uint8_t *bs, uint64_t i)
{
	bs[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "1G", "256M", "512K", "4096": binary units. */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	case 't': case 'T': mul = 1ULL << 40; end++; break;
	default: break;
	}
	if (mul > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	*ret = v * mul;
	return 0;
}

static int parse_u32(const char *s, uint32_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/*
 * A fake wall clock: libntfs-3g stamps the files it writes with clock_gettime()
 * or time(); these definitions take the place of libc's for it, so that the
 * images come out byte for byte the same for a seed. The clock stands near
 * the interval being generated (see fake_clock_set()) and ticks 1 ms a call.
 */
static uint64_t fake_unix_ns = 1704067200ULL * 1000000000ULL; /* 2024-01-01T00:00:00Z */

static void fake_clock_set(uint64_t filetime)
{
	fake_unix_ns = (filetime - FILETIME_UNIX_EPOCH) * 100;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE)
		return (int)syscall(SYS_clock_gettime, id, ts);
	fake_unix_ns += 1000000;
	ts->tv_sec = (time_t)(fake_unix_ns / 1000000000ULL);
	ts->tv_nsec = (long)(fake_unix_ns % 1000000000ULL);
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

/* ---------------------------------------------------------------------- */
/* state */

struct opts {
	const char *out;
	uint64_t size, storage_size;
	unsigned stores, storage_stores, files, change_pct, fill_pct;
	uint64_t seed;
	bool overlays, overlays_kept, forwarders, not_used, remote, no_states, trim;
	enum order order;
	uint32_t context, attributes;
	const char *machine;
};

/* A 16 KiB piece of a catalog or store file: its offset in the file and on the volume. */
struct piece {
	uint64_t file_off, vol_off;
};

struct run {
	uint64_t vcn, lcn, len; /* clusters */
};

/* growable arrays for vec_push() */
struct piece_vec {
	struct piece *v;
	size_t n, cap;
};

struct run_vec {
	struct run *v;
	size_t n, cap;
};

struct vol {
	const char *name; /* file name inside the output directory */
	char *path;
	int fd;
	uint64_t size, nblocks, nclusters;
	ntfs_volume *nv;
	uint8_t *lcnbmp;      /* $Bitmap as of the last unmount */
	uint8_t *excl;        /* blocks of the catalog and the store files */
	struct sr_guid id;    /* VSS volume id (header +64) */
	uint64_t svi_mref;
	struct piece cat[CAT_BLOCKS];
	/* as a shadowed volume: its stores, where they live, what they still need */
	struct store *st;
	unsigned nst;
	struct vol *sv;         /* where its store files live: itself, or storage.img */
	const char *state_name; /* "state" or "storage-state": STATE-K.img, STATE-K.used */
	uint8_t *needed;        /* blocks whose content at their last snapshot no store holds yet */
	uint64_t reuse_lcn;     /* --trim-stores: where the last trimmed store file's freed tail starts (0: none) */
	uint8_t *freed;         /* --trim-stores: blocks freed by trimming store files */
	int work_fd;            /* (unlinked) image of that protected content, at the blocks' own offsets */
};

struct desc {
	uint64_t orig, rel, store_off;
	uint32_t flags, bitmap;
	int copy; /* full copy: index into the plan's copies, else -1 */
	int ov;   /* overlay: index into the plan's overlays, else -1 */
	bool ext; /* overlay extension (relative offset 1) */
};

struct overlay {
	uint64_t block;
	uint32_t bitmap, ext_bitmap; /* ext_bitmap != 0: an extension descriptor (relative offset 1) follows */
	bool before_copy;
	uint8_t *data; /* the 16 KiB written to the store: overlay sectors at their in-block offsets */
};

struct cand {
	uint64_t block, mref, file_off;
};

struct store {
	struct vol *vol; /* the shadowed volume */
	unsigned k;      /* 1-based */
	struct sr_guid id, copy_id, set_id;
	uint64_t ctime;
	uint64_t mref, file_ref; /* the store file, on the storage volume */
	struct piece_vec pieces;
	struct run_vec runs; /* the store file's runlist */
	unsigned t2_slot, t3_slot;
	uint8_t *in_use, *bitmap, *prev, *copied; /* over the shadowed volume's blocks */
	uint64_t n_in_use;
	struct cand cand_copy, cand_only; /* overlay candidates (block 0 = none) */
	uint64_t hdr_off, list_off, range_off, bm_off, prev_off;
	unsigned n_desc, n_copies, n_overlays, n_overlay_blocks, n_fwd, n_not_used;
	uint64_t n_cow;
	size_t n_used;          /* pieces its metadata and data use (the first ones of the file) */
	uint64_t range_blocks;  /* 16 KiB blocks its range list describes (the file as it was written) */
	bool trimmed;
};

struct nfile {
	uint64_t mref, parent;
	char name[32];
	uint64_t size;
	int pattern;  /* >= 0: content is this 4 KiB pattern repeated */
	bool alive, dir;
	unsigned frozen; /* not changed during this interval */
};

struct gen {
	struct opts o;
	struct rng rng;
	struct vol x, y; /* y: storage.img, with --remote-storage */
	VEC(struct nfile) files;
	VEC(struct nfile) yfiles; /* storage.img's own files (--storage-stores) */
	unsigned seq, n_patterns, interval;
	uint64_t base_bytes; /* file data after populating: changes keep near it */
	uint64_t log_page;
	uint8_t *buf; /* 1 MiB scratch */
};

/* ---------------------------------------------------------------------- */
/* libntfs-3g glue */

static int n3g_err(int fallback)
{
	return errno > 0 ? -errno : fallback;
}

/*
 * --trim-stores: the allocator starts where a store file was trimmed, so
 * that new files and later store files reuse the freed tail (as on Windows,
 * where newer shadow copies then copy those blocks like any other).
 */
static void reuse_hint(struct vol *v)
{
	LCN c = (LCN)(v->reuse_lcn & ~3ULL);

	if (!v->reuse_lcn || !v->nv)
		return;
	if (c >= v->nv->mft_zone_end)
		v->nv->data1_zone_pos = c;
	else if (c < v->nv->mft_zone_start)
		v->nv->data2_zone_pos = c;
}

static int vol_mount(struct vol *v)
{
	v->nv = ntfs_mount(v->path, 0);
	if (!v->nv)
		return sr_fail(n3g_err(-EIO), "cannot mount '%s' with libntfs-3g: %s", v->path, strerror(errno));
	/* free_clusters is only counted on request; the change plans use it */
	if (ntfs_volume_get_free_space(v->nv) < 0) {
		int r = sr_fail(n3g_err(-EIO), "cannot count the free space of '%s'", v->path);
		ntfs_umount(v->nv, TRUE);
		v->nv = NULL;
		return r;
	}
	reuse_hint(v);
	return 0;
}

static int read_lcnbmp(struct vol *v)
{
	s64 n = (s64)((v->nclusters + 7) / 8);

	if (ntfs_attr_pread(v->nv->lcnbmp_na, 0, n, v->lcnbmp) != n)
		return sr_fail(n3g_err(-EIO), "cannot read $Bitmap of '%s'", v->path);
	return 0;
}

/* Unmount, keeping a copy of $Bitmap as it is now (everything is closed, nothing changes it any more). */
static int vol_umount(struct vol *v)
{
	int r = read_lcnbmp(v);

	if (ntfs_umount(v->nv, FALSE) < 0 && r >= 0)
		r = sr_fail(n3g_err(-EIO), "cannot unmount '%s'", v->path);
	v->nv = NULL;
	return r;
}

static ntfs_inode *iopen(struct vol *v, uint64_t mref)
{
	return ntfs_inode_open(v->nv, (MFT_REF)mref);
}

static int n3g_name(const char *name, ntfschar **ret)
{
	int n;

	*ret = NULL;
	n = ntfs_mbstoucs(name, ret);
	if (n <= 0)
		return -EINVAL;
	return n;
}

/* Create a file or directory name in directory dir; returns the open inode. */
static int ncreate(struct vol *v, uint64_t dir, const char *name, bool is_dir, ntfs_inode **ret_ni, ntfs_inode **ret_dir)
{
	ntfschar *u;
	int n = n3g_name(name, &u);
	ntfs_inode *dni, *ni;

	if (n < 0)
		return n;
	dni = iopen(v, dir);
	if (!dni) {
		free(u);
		return sr_fail(n3g_err(-EIO), "cannot open directory inode %" PRIu64, dir);
	}
	ni = ntfs_create(dni, const_cpu_to_le32(0), u, (u8)n, is_dir ? S_IFDIR : S_IFREG);
	free(u);
	if (!ni) {
		int r = n3g_err(-EIO);
		ntfs_inode_close(dni);
		return sr_fail(r, "cannot create '%s': %s", name, strerror(-r));
	}
	*ret_ni = ni;
	*ret_dir = dni;
	return 0;
}

static int nclose_in_dir(ntfs_inode *ni, ntfs_inode *dni)
{
	int r = 0;

	if (ni && ntfs_inode_close_in_dir(ni, dni) < 0)
		r = n3g_err(-EIO);
	if (ntfs_inode_close(dni) < 0 && r >= 0)
		r = n3g_err(-EIO);
	return r;
}

/* ---------------------------------------------------------------------- */
/* file contents */

/* The 4 KiB of pattern p. */
static void pattern_block(const struct gen *g, int p, uint8_t *out)
{
	struct rng r;

	rng_seed(&r, g->o.seed * 0x9e3779b97f4a7c15ULL + (uint64_t)p * 7919 + 1);
	rng_fill(&r, out, CLUSTER);
}

/* Fill buf with the content of file offset [off, off+len): pattern p repeated, or random (p < 0). */
static void make_content(struct gen *g, int p, uint64_t off, uint8_t *buf, size_t len)
{
	uint8_t pat[CLUSTER];

	if (p < 0) {
		rng_fill(&g->rng, buf, len);
		return;
	}
	pattern_block(g, p, pat);
	for (size_t i = 0; i < len;) {
		size_t at = (size_t)((off + i) % CLUSTER), n = MIN(len - i, (size_t)CLUSTER - at);
		memcpy(buf + i, pat + at, n);
		i += n;
	}
}

static int fwrite_data(struct gen *g, ntfs_inode *ni, int p, uint64_t off, uint64_t len)
{
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	int r = 0;

	if (!na)
		return sr_fail(n3g_err(-EIO), "cannot open $DATA of inode %llu", (unsigned long long)ni->mft_no);
	while (len > 0) {
		size_t n = (size_t)MIN(len, (uint64_t)(1u << 20));
		make_content(g, p, off, g->buf, n);
		if (ntfs_attr_pwrite(na, (s64)off, (s64)n, g->buf) != (s64)n) {
			r = sr_fail(n3g_err(-EIO), "cannot write inode %llu at %" PRIu64 ": %s",
				    (unsigned long long)ni->mft_no, off, strerror(errno));
			break;
		}
		off += n;
		len -= n;
	}
	ntfs_attr_close(na);
	return r;
}

static struct nfile *file_new(struct gen *g)
{
	struct nfile f = { 0 };

	if (vec_push(&g->files, f) < 0)
		return NULL;
	return &g->files.v[g->files.n - 1];
}

/* A random directory (the root or one we made). */
static uint64_t pick_dir(struct gen *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->files.n; i++)
		if (g->files.v[i].alive && g->files.v[i].dir)
			n++;
	if (n == 0 || rng_below(&g->rng, 4) == 0)
		return FILE_root;
	n = rng_below(&g->rng, n);
	for (size_t i = 0; i < g->files.n; i++)
		if (g->files.v[i].alive && g->files.v[i].dir && n-- == 0)
			return g->files.v[i].mref;
	return FILE_root;
}

static int make_file(struct gen *g, uint64_t dir, uint64_t size, int pattern, struct nfile **ret)
{
	ntfs_inode *ni, *dni;
	struct nfile *f;
	char name[32];
	int r;

	snprintf(name, sizeof(name), "f%05u.%s", g->seq++, pattern >= 0 ? "pat" : "dat");
	r = ncreate(&g->x, dir, name, false, &ni, &dni);
	if (r < 0)
		return r;
	r = size ? fwrite_data(g, ni, pattern, 0, size) : 0;
	if (r < 0) {
		/* keep what was written: the file exists */
		size = 0;
	}
	f = file_new(g);
	if (!f) {
		nclose_in_dir(ni, dni);
		return -ENOMEM;
	}
	f->mref = ni->mft_no;
	f->parent = dir;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
	f->pattern = pattern;
	f->alive = true;
	{
		int r2 = nclose_in_dir(ni, dni);
		if (r >= 0)
			r = r2;
	}
	if (ret)
		*ret = f;
	return r;
}

static int make_dir(struct gen *g, uint64_t parent)
{
	ntfs_inode *ni, *dni;
	struct nfile *f;
	char name[32];
	int r;

	snprintf(name, sizeof(name), "d%04u", g->seq++);
	r = ncreate(&g->x, parent, name, true, &ni, &dni);
	if (r < 0)
		return r;
	f = file_new(g);
	if (!f) {
		nclose_in_dir(ni, dni);
		return -ENOMEM;
	}
	f->mref = ni->mft_no;
	f->parent = parent;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->alive = true;
	f->dir = true;
	f->pattern = -1;
	return nclose_in_dir(ni, dni);
}

/* File sizes: many small (some resident), a fair number of medium, a few of several MiB. */
static uint64_t pick_size(struct gen *g, uint64_t cap)
{
	uint64_t r = rng_below(&g->rng, 100), s;

	if (r < 30)
		s = rng_range(&g->rng, 1, 3000);
	else if (r < 65)
		s = rng_range(&g->rng, 4096, 256 << 10);
	else if (r < 92)
		s = rng_range(&g->rng, 256 << 10, 2 << 20);
	else
		s = rng_range(&g->rng, 2 << 20, 6 << 20);
	return MIN(s, cap);
}

static uint64_t free_bytes(const struct vol *v)
{
	return v->nv->free_clusters > 0 ? (uint64_t)v->nv->free_clusters * CLUSTER : 0;
}

static struct nfile *pick_file(struct gen *g, bool need_data)
{
	size_t n = 0;

	for (size_t i = 0; i < g->files.n; i++) {
		const struct nfile *f = &g->files.v[i];
		if (f->alive && !f->dir && f->frozen != g->interval && (!need_data || f->size > 0))
			n++;
	}
	if (!n)
		return NULL;
	n = rng_below(&g->rng, n);
	for (size_t i = 0; i < g->files.n; i++) {
		struct nfile *f = &g->files.v[i];
		if (f->alive && !f->dir && f->frozen != g->interval && (!need_data || f->size > 0) &&
		    n-- == 0)
			return f;
	}
	return NULL;
}

static int file_write(struct gen *g, struct nfile *f, uint64_t off, uint64_t len, int pattern)
{
	ntfs_inode *ni = iopen(&g->x, f->mref);
	int r;

	if (!ni)
		return sr_fail(n3g_err(-EIO), "cannot open inode %" PRIu64, f->mref);
	r = fwrite_data(g, ni, pattern, off, len);
	if (ntfs_inode_close(ni) < 0 && r >= 0)
		r = n3g_err(-EIO);
	if (r >= 0) {
		if (pattern != f->pattern)
			f->pattern = -1;
		f->size = MAX(f->size, off + len);
	}
	return r;
}

static int file_truncate(struct gen *g, struct nfile *f, uint64_t size)
{
	ntfs_inode *ni = iopen(&g->x, f->mref);
	ntfs_attr *na;
	int r = 0;

	if (!ni)
		return n3g_err(-EIO);
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na || ntfs_attr_truncate(na, (s64)size) < 0)
		r = sr_fail(n3g_err(-EIO), "cannot truncate inode %" PRIu64, f->mref);
	if (na)
		ntfs_attr_close(na);
	if (ntfs_inode_close(ni) < 0 && r >= 0)
		r = n3g_err(-EIO);
	if (r >= 0)
		f->size = size;
	return r;
}

static int file_delete(struct gen *g, struct nfile *f)
{
	ntfs_inode *ni = iopen(&g->x, f->mref), *dni;
	ntfschar *u;
	int n, r = 0;

	if (!ni)
		return n3g_err(-EIO);
	dni = iopen(&g->x, f->parent);
	n = n3g_name(f->name, &u);
	if (!dni || n < 0) {
		ntfs_inode_close(ni);
		if (dni)
			ntfs_inode_close(dni);
		free(u);
		return -EIO;
	}
	/* ntfs_delete() closes ni */
	if (ntfs_delete(g->x.nv, NULL, ni, dni, u, (u8)n) < 0)
		r = sr_fail(n3g_err(-EIO), "cannot delete '%s': %s", f->name, strerror(errno));
	free(u);
	if (ntfs_inode_close(dni) < 0 && r >= 0)
		r = n3g_err(-EIO);
	if (r >= 0)
		f->alive = false;
	return r;
}

/* Rename as ntfs-3g's FUSE driver does: link under the new name, then delete the old one. */
static int file_rename(struct gen *g, struct nfile *f, uint64_t newdir)
{
	ntfs_inode *ni, *dni;
	ntfschar *u;
	char name[32];
	int n, r = 0;

	snprintf(name, sizeof(name), "r%05u.%s", g->seq++, f->pattern >= 0 ? "pat" : "dat");
	n = n3g_name(name, &u);
	if (n < 0)
		return n;
	ni = iopen(&g->x, f->mref);
	dni = iopen(&g->x, newdir);
	if (!ni || !dni) {
		if (ni)
			ntfs_inode_close(ni);
		if (dni)
			ntfs_inode_close(dni);
		free(u);
		return -EIO;
	}
	if (ntfs_link(ni, dni, u, (u8)n) < 0)
		r = sr_fail(n3g_err(-EIO), "cannot link '%s': %s", name, strerror(errno));
	free(u);
	{
		int r2 = nclose_in_dir(ni, dni);
		if (r >= 0)
			r = r2;
	}
	if (r < 0)
		return r;
	{
		struct nfile old = *f;
		r = file_delete(g, &old);
		if (r < 0)
			return r;
	}
	f->parent = newdir;
	snprintf(f->name, sizeof(f->name), "%s", name);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* aligned allocation of the catalog and store files */

static bool cl_used(const uint8_t *bm, uint64_t c)
{
	return bs_get(bm, c);
}

/*
 * Allocate (non-sparse, initialized size unchanged) the $DATA of ni up to size
 * bytes, from whole, 16 KiB-aligned free blocks that no shadow copy needs.
 * The free clusters we do not want are marked in use while libntfs-3g
 * allocates, then freed again.
 */
static int alloc_aligned(struct vol *v, ntfs_inode *ni, uint64_t size, struct piece_vec *pieces,
			 struct run_vec *runs)
{
	struct run_vec blocked = { 0 };
	ntfs_volume *nv = v->nv;
	ntfs_attr *na = NULL;
	uint64_t nb = v->nclusters / 4, run_start = 0, run_len = 0;
	int r;

	r = read_lcnbmp(v);
	if (r < 0)
		return r;
	for (uint64_t b = 0; b * 4 < v->nclusters; b++) {
		uint64_t c0 = b * 4;
		bool allow = b < nb;

		for (unsigned i = 0; i < 4 && allow; i++)
			if (cl_used(v->lcnbmp, c0 + i))
				allow = false;
		if (allow && v->needed && bs_get(v->needed, b))
			allow = false;
		/* the allocator splits its search at the zone borders: keep blocks astride them out */
		if (allow && ((uint64_t)nv->mft_zone_start / 4 == b || (uint64_t)nv->mft_zone_end / 4 == b))
			allow = false;
		if (allow)
			continue;
		for (uint64_t c = c0; c < c0 + 4 && c < v->nclusters; c++) {
			if (cl_used(v->lcnbmp, c))
				continue;
			if (run_len && run_start + run_len == c) {
				run_len++;
				continue;
			}
			if (run_len && (r = vec_push(&blocked, ((struct run){ 0, run_start, run_len }))) < 0)
				goto out;
			run_start = c;
			run_len = 1;
		}
	}
	if (run_len && (r = vec_push(&blocked, ((struct run){ 0, run_start, run_len }))) < 0)
		goto out;
	for (size_t i = 0; i < blocked.n; i++)
		if (ntfs_bitmap_set_run(nv->lcnbmp_na, (s64)blocked.v[i].lcn, (s64)blocked.v[i].len) < 0) {
			blocked.n = i;
			r = sr_fail(n3g_err(-EIO), "cannot update $Bitmap of '%s'", v->path);
			goto unblock;
		}
	/* the allocator resumes from these positions: keep them on block boundaries */
	nv->data1_zone_pos = (nv->data1_zone_pos + 3) & ~(LCN)3;
	nv->data2_zone_pos = (nv->data2_zone_pos + 3) & ~(LCN)3;
	if ((uint64_t)nv->data1_zone_pos >= v->nclusters)
		nv->data1_zone_pos = (nv->mft_zone_end + 3) & ~(LCN)3;
	if ((uint64_t)nv->data2_zone_pos >= (uint64_t)nv->mft_zone_start)
		nv->data2_zone_pos = 0;

	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) {
		r = sr_fail(n3g_err(-EIO), "cannot open $DATA of inode %llu", (unsigned long long)ni->mft_no);
		goto unblock;
	}
	if (ntfs_attr_truncate_solid(na, (s64)size) < 0) {
		r = sr_fail(n3g_err(-ENOSPC), "cannot allocate %" PRIu64 " bytes for inode %llu on '%s': %s", size,
			    (unsigned long long)ni->mft_no, v->path, strerror(errno));
		goto unblock;
	}
unblock:
	for (size_t i = 0; i < blocked.n; i++)
		if (ntfs_bitmap_clear_run(nv->lcnbmp_na, (s64)blocked.v[i].lcn, (s64)blocked.v[i].len) < 0 && r >= 0)
			r = sr_fail(n3g_err(-EIO), "cannot update $Bitmap of '%s'", v->path);
	nv->full_zones = 0;
	if (r < 0)
		goto out;

	if (ntfs_attr_map_whole_runlist(na) < 0) {
		r = sr_fail(n3g_err(-EIO), "cannot map the runlist of inode %llu", (unsigned long long)ni->mft_no);
		goto out;
	}
	pieces->n = 0;
	runs->n = 0;
	for (runlist_element *rl = na->rl; rl && rl->length; rl++) {
		if (rl->lcn < 0)
			continue;
		r = vec_push(runs, ((struct run){ (uint64_t)rl->vcn, (uint64_t)rl->lcn, (uint64_t)rl->length }));
		if (r < 0)
			goto out;
		/* whole aligned blocks inside the run (all of it when the allocation is aligned) */
		for (uint64_t c = ((uint64_t)rl->lcn + 3) & ~3ULL; c + 4 <= (uint64_t)(rl->lcn + rl->length); c += 4) {
			struct piece p = { ((uint64_t)rl->vcn + c - (uint64_t)rl->lcn) * CLUSTER, c * CLUSTER };
			if ((p.file_off + BLK) > size)
				break;
			r = vec_push(pieces, p);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
out:
	if (na)
		ntfs_attr_close(na);
	free(blocked.v);
	return r;
}

static void excl_mark(struct vol *v, const struct piece *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bs_set(v->excl, p[i].vol_off / BLK);
}

/* ---------------------------------------------------------------------- */
/* volumes */

/* mkntfs on an image file: its warnings about geometry are noise, shown only when it fails. */
static int run_mkntfs(const char *path, const char *label)
{
	char out[4096];
	ssize_t n = 0;
	int pfd[2], status;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		execlp("mkntfs", "mkntfs", "-F", "-q", "-Q", "-T", "-s", "512", "-c", "4096", "-L", label, path,
		       (char *)NULL);
		fprintf(stderr, "cannot run mkntfs: %s\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (ssize_t m; n < (ssize_t)sizeof(out) - 1 && (m = read(pfd[0], out + n, sizeof(out) - 1 - (size_t)n)) > 0;)
		n += m;
	out[n] = 0;
	{
		char sink[4096];
		while (read(pfd[0], sink, sizeof(sink)) > 0)
			;
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fputs(out, stderr);
		return sr_fail(-EIO, "mkntfs failed on '%s' (exit status %d)", path,
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	return 0;
}

static int vol_create(struct gen *g, struct vol *v, const char *name, uint64_t size, const char *label)
{
	int r;

	v->name = name;
	if (asprintf(&v->path, "%s/%s", g->o.out, name) < 0)
		return -ENOMEM;
	v->fd = open(v->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (v->fd < 0)
		return sr_fail(-errno, "cannot create '%s': %s", v->path, strerror(errno));
	if (ftruncate(v->fd, (off_t)size) < 0)
		return sr_fail(-errno, "cannot size '%s': %s", v->path, strerror(errno));
	r = run_mkntfs(v->path, label);
	if (r < 0)
		return r;
	v->size = size;
	v->nblocks = size / BLK;
	v->lcnbmp = bs_new(size / CLUSTER + 8);
	v->excl = bs_new(v->nblocks);
	if (!v->lcnbmp || !v->excl)
		return -ENOMEM;
	r = vol_mount(v);
	if (r < 0)
		return r;
	v->nclusters = (uint64_t)v->nv->nr_clusters;
	rng_guid(&g->rng, &v->id);
	return 0;
}

static void rec_header(uint8_t *b, uint32_t type, uint64_t rel, uint64_t own, uint64_t next)
{
	memset(b, 0, REC);
	memcpy(b, vss_guid, 16);
	put_le32(b + 16, 1);
	put_le32(b + 20, type);
	put_le64(b + 24, rel);
	put_le64(b + 32, own);
	put_le64(b + 40, next);
}

/*
 * Make \System Volume Information\ and the catalog file (mounted), then
 * (unmounted) write the VSS header at 0x1e00 and an empty catalog.
 */
static int vss_setup(struct vol *v, const struct sr_guid *storage_id)
{
	struct piece_vec pieces = { 0 };
	struct run_vec runs = { 0 };
	ntfs_inode *ni, *dni;
	uint8_t hdr[SECTOR];
	int r;

	r = ncreate(v, FILE_root, SVI_NAME, true, &ni, &dni);
	if (r < 0)
		return r;
	v->svi_mref = ni->mft_no;
	r = nclose_in_dir(ni, dni);
	if (r < 0)
		return r;
	r = ncreate(v, v->svi_mref, VSS_NAME, false, &ni, &dni);
	if (r < 0)
		return r;
	r = alloc_aligned(v, ni, CAT_BLOCKS * BLK, &pieces, &runs);
	{
		int r2 = nclose_in_dir(ni, dni);
		if (r >= 0)
			r = r2;
	}
	if (r >= 0 && pieces.n < CAT_BLOCKS)
		r = sr_fail(-ENOSPC, "the catalog file of '%s' got no aligned blocks", v->path);
	if (r >= 0) {
		memcpy(v->cat, pieces.v, sizeof(v->cat));
		excl_mark(v, v->cat, CAT_BLOCKS);
	}
	free(pieces.v);
	free(runs.v);
	if (r < 0)
		return r;
	r = vol_umount(v);
	if (r < 0)
		return r;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, vss_guid, 16);
	put_le32(hdr + 16, 1);
	put_le32(hdr + 20, REC_VOLUME);
	put_le64(hdr + 24, HDR_OFFSET);
	put_le64(hdr + 32, HDR_OFFSET);
	put_le64(hdr + 48, v->cat[0].vol_off);
	memcpy(hdr + 64, v->id.b, 16);
	memcpy(hdr + 80, storage_id->b, 16);
	r = pwrite_full(v->fd, hdr, sizeof(hdr), HDR_OFFSET);
	if (r < 0)
		return sr_fail(r, "cannot write the VSS header of '%s'", v->path);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* catalog */

static void put_slot(uint8_t *cat, unsigned slot, const uint8_t *entry)
{
	memcpy(cat + (size_t)(slot / CAT_SLOTS_PER_BLOCK) * BLK + REC + (size_t)(slot % CAT_SLOTS_PER_BLOCK) * 128, entry,
	       128);
}

static void put_t2(uint8_t *cat, const struct store *s)
{
	uint8_t e[128] = { 0 };

	put_le64(e, 2);
	put_le64(e + 8, s->vol->size);
	memcpy(e + 16, s->id.b, 16);
	put_le64(e + 32, s->k);
	put_le64(e + 40, 0x40);
	put_le64(e + 48, s->ctime);
	put_slot(cat, s->t2_slot, e);
}

static void put_t3(uint8_t *cat, const struct store *s)
{
	uint8_t e[128] = { 0 };

	put_le64(e, 3);
	put_le64(e + 8, s->list_off);
	memcpy(e + 16, s->id.b, 16);
	put_le64(e + 32, s->hdr_off);
	put_le64(e + 40, s->range_off);
	put_le64(e + 48, s->bm_off);
	put_le64(e + 56, s->file_ref);
	put_le64(e + 72, s->prev_off);
	put_le64(e + 80, s->prev_off ? 1 : 0);
	put_slot(cat, s->t3_slot, e);
}

/* Write v's catalog: the type-2 entries of v's own stores, the type-3 entries of the stores kept on v. */
static int write_catalog(struct gen *g, struct vol *v)
{
	struct vol *vs[2] = { &g->x, &g->y };
	_cleanup_free_ uint8_t *cat = calloc(CAT_BLOCKS, BLK);
	int r;

	if (!cat)
		return -ENOMEM;
	for (unsigned i = 0; i < CAT_BLOCKS; i++)
		rec_header(cat + (size_t)i * BLK, REC_CATALOG, (uint64_t)i * BLK, v->cat[i].vol_off,
			   i + 1 < CAT_BLOCKS ? v->cat[i + 1].vol_off : 0);
	for (unsigned i = 0; i < 2; i++)
		for (unsigned k = 0; k < vs[i]->nst; k++) {
			if (vs[i] == v)
				put_t2(cat, &vs[i]->st[k]);
			if (vs[i]->sv == v)
				put_t3(cat, &vs[i]->st[k]);
		}
	for (unsigned i = 0; i < CAT_BLOCKS; i++) {
		r = pwrite_full(v->fd, cat + (size_t)i * BLK, BLK, v->cat[i].vol_off);
		if (r < 0)
			return sr_fail(r, "cannot write the catalog of '%s'", v->path);
	}
	return 0;
}

/*
 * Catalog slots. paired: T2 s1, T3 s1, T2 s2, ...; reversed: that sequence
 * backwards (each T3 before its T2); scattered: random slots over the 4
 * blocks with gaps, a T3 never next to its T2. With the storage elsewhere,
 * the volume's catalog holds only its type-2 entries (s1, s2, ...) and the
 * storage volume's catalog the type-3 entries, after the pairs of the storage
 * volume's own stores (--storage-stores) when it has some.
 */
static int assign_slots(struct gen *g)
{
	unsigned n = g->x.nst, m = g->o.remote ? g->y.nst : 0, per = g->o.remote ? 1 : 2;
	_cleanup_free_ uint8_t *used2 = calloc(1, CAT_SLOTS), *used3 = calloc(1, CAT_SLOTS);

	if (!used2 || !used3)
		return -ENOMEM;
	/* the storage volume's own stores: paired in its catalog, first */
	for (unsigned k = 0; k < m; k++) {
		struct store *s = &g->y.st[k];
		switch (g->o.order) {
		case ORDER_PAIRED:
			s->t2_slot = 2 * k;
			s->t3_slot = 2 * k + 1;
			break;
		case ORDER_REVERSED:
			s->t3_slot = (m - 1 - k) * 2;
			s->t2_slot = (m - 1 - k) * 2 + 1;
			break;
		case ORDER_SCATTERED: {
			unsigned a, b;
			do
				a = (unsigned)rng_below(&g->rng, CAT_SLOTS);
			while (used3[a]);
			used3[a] = 1;
			do
				b = (unsigned)rng_below(&g->rng, CAT_SLOTS);
			while (used3[b] || b + 1 == a || a + 1 == b);
			used3[b] = 1;
			s->t2_slot = a;
			s->t3_slot = b;
			break;
		}
		}
	}
	for (unsigned k = 0; k < n; k++) {
		struct store *s = &g->x.st[k];
		switch (g->o.order) {
		case ORDER_PAIRED:
			s->t2_slot = k * per;
			s->t3_slot = k * per + per - 1 + 2 * m;
			break;
		case ORDER_REVERSED:
			s->t3_slot = (n - 1 - k) * per + 2 * m;
			s->t2_slot = (n - 1 - k) * per + per - 1;
			break;
		case ORDER_SCATTERED: {
			/* two catalogs when remote, one shared slot space otherwise */
			uint8_t *u3 = g->o.remote ? used3 : used2;
			unsigned a, b;
			do
				a = (unsigned)rng_below(&g->rng, CAT_SLOTS);
			while (used2[a]);
			used2[a] = 1;
			do
				b = (unsigned)rng_below(&g->rng, CAT_SLOTS);
			while (u3[b] || (!g->o.remote && (b + 1 == a || a + 1 == b)));
			u3[b] = 1;
			s->t2_slot = a;
			s->t3_slot = b;
			break;
		}
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* population and changes */

static int populate(struct gen *g)
{
	unsigned ndirs = 1 + g->o.files / 8;
	uint64_t cap = g->x.size / 4;
	int r;

	for (unsigned i = 0; i < ndirs; i++) {
		r = make_dir(g, pick_dir(g));
		if (r < 0)
			return r;
	}
	/* pattern groups: an anchor and two copies each, for forwarders */
	if (g->o.forwarders) {
		for (unsigned p = 0; p < 3; p++) {
			for (unsigned i = 0; i < 3; i++) {
				uint64_t sz = rng_range(&g->rng, 256, 1024) << 10;
				if (sz * 4 > free_bytes(&g->x))
					break;
				r = make_file(g, pick_dir(g), sz, (int)p, NULL);
				if (r < 0)
					return r;
			}
		}
		g->n_patterns = 3;
	}
	for (unsigned i = 0; i < g->o.files; i++) {
		uint64_t sz = pick_size(g, cap);
		int pat = rng_below(&g->rng, 5) == 0 ? (int)(100 + rng_below(&g->rng, 8)) : -1;
		if (sz + (8u << 20) > free_bytes(&g->x) / 2)
			break;
		r = make_file(g, pick_dir(g), sz, pat, NULL);
		if (r < 0)
			return r;
	}
	if (g->o.fill_pct) {
		uint64_t target = g->x.size / 100 * g->o.fill_pct;
		while (g->x.size - free_bytes(&g->x) < target) {
			uint64_t sz = rng_range(&g->rng, 1, 16) << 20;
			sz = MIN(sz, target - (g->x.size - free_bytes(&g->x)) + CLUSTER);
			if (sz + (16u << 20) > free_bytes(&g->x))
				break;
			r = make_file(g, pick_dir(g), sz, rng_below(&g->rng, 8) == 0 ? (int)(100 + rng_below(&g->rng, 8)) : -1,
				      NULL);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* "Journal" traffic: log-record-like pages in $LogFile (never at a power-of-two page, where restart pages are looked for). */
static int log_churn(struct gen *g, unsigned pages)
{
	ntfs_inode *ni = iopen(&g->x, FILE_LogFile);
	ntfs_attr *na;
	uint64_t npages;
	int r = 0;

	if (!ni)
		return n3g_err(-EIO);
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) {
		ntfs_inode_close(ni);
		return n3g_err(-EIO);
	}
	npages = (uint64_t)na->data_size / CLUSTER;
	for (unsigned i = 0; i < pages && npages > 8; i++) {
		uint64_t p;
		do {
			p = 4 + g->log_page++ % (npages - 4);
		} while (!(p & (p - 1)));
		rng_fill(&g->rng, g->buf, CLUSTER);
		memcpy(g->buf, "RCRD", 4);
		if (ntfs_attr_pwrite(na, (s64)(p * CLUSTER), CLUSTER, g->buf) != CLUSTER) {
			r = sr_fail(n3g_err(-EIO), "cannot write $LogFile");
			break;
		}
	}
	ntfs_attr_close(na);
	if (ntfs_inode_close(ni) < 0 && r >= 0)
		r = n3g_err(-EIO);
	return r;
}

/*
 * For forwarders: overwrite part of a file that is a pure copy of a pattern
 * while another copy (the anchor) stays as it is in this interval; the old
 * blocks of the one then equal blocks of the other in the next view.
 */
static int forwarder_op(struct gen *g, uint64_t *spent)
{
	for (unsigned tries = 0; tries < 8; tries++) {
		int p = g->n_patterns ? (int)rng_below(&g->rng, g->n_patterns) : 0;
		struct nfile *a = NULL, *vict = NULL;
		size_t na = 0;
		int r;

		for (size_t i = 0; i < g->files.n; i++) {
			struct nfile *f = &g->files.v[i];
			if (!f->alive || f->dir || f->pattern != p || f->size < (64u << 10))
				continue;
			na++;
			if (!a || rng_below(&g->rng, na) == 0)
				a = f;
		}
		if (a) {
			size_t nv = 0;
			for (size_t i = 0; i < g->files.n; i++) {
				struct nfile *f = &g->files.v[i];
				if (f == a || !f->alive || f->dir || f->pattern != p || f->size < (64u << 10) ||
				    f->frozen == g->interval)
					continue;
				nv++;
				if (rng_below(&g->rng, nv) == 0)
					vict = f;
			}
		}
		if (!a || !vict) {
			/* no pair left for this pattern: make one for the next interval */
			if (free_bytes(&g->x) < (8u << 20))
				return 0;
			for (int i = 0; i < 2; i++) {
				r = make_file(g, pick_dir(g), rng_range(&g->rng, 256, 768) << 10, p, NULL);
				if (r < 0)
					return r;
			}
			continue;
		}
		a->frozen = g->interval;
		{
			uint64_t want = rng_range(&g->rng, 4, 16) * BLK; /* MIN() evaluates twice */
			uint64_t len = MIN(vict->size, want);
			uint64_t off = rng_below(&g->rng, vict->size - len + 1) & ~(uint64_t)(CLUSTER - 1);
			r = file_write(g, vict, off, len, -1);
			if (r < 0)
				return r;
			*spent += len;
		}
		/* replenish */
		if (free_bytes(&g->x) > (16u << 20)) {
			r = make_file(g, pick_dir(g), rng_range(&g->rng, 256, 768) << 10, p, NULL);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return 0;
}

static uint64_t data_bytes(const struct gen *g)
{
	uint64_t n = 0;

	for (size_t i = 0; i < g->files.n; i++)
		if (g->files.v[i].alive && !g->files.v[i].dir)
			n += g->files.v[i].size;
	return n;
}

/*
 * One random change. Only overwrites of existing data count against the
 * change budget (*spent): they are what copy-on-write preserves. Creating,
 * appending, deleting, truncating and renaming happen alongside, balanced so
 * that the file data stays near its size after populating.
 */
static int random_op(struct gen *g, uint64_t *spent)
{
	uint64_t fr = free_bytes(&g->x), roll = rng_below(&g->rng, 100), data = data_bytes(g);
	bool grown = fr < g->x.size / 8 || data > g->base_bytes + g->base_bytes / 32;
	bool shrunk = data + g->base_bytes / 32 < g->base_bytes;
	struct nfile *f;
	int r = 0;

	if (roll >= 55 && roll < 73 && grown)
		roll = 73 + rng_below(&g->rng, 15); /* delete or truncate instead */
	else if (roll >= 73 && roll < 88 && shrunk)
		roll = 63 + rng_below(&g->rng, 10); /* create instead */
	if (roll < 55) { /* overwrite */
		uint64_t want, len, off;
		int pat;
		f = pick_file(g, true);
		if (!f)
			return 0;
		want = rng_range(&g->rng, 1, 256) << 12; /* not inside MIN(): it evaluates twice */
		len = MIN(f->size, want);
		off = rng_below(&g->rng, f->size - len + 1);
		pat = rng_below(&g->rng, 6) == 0 ? (int)(100 + rng_below(&g->rng, 8)) : -1;
		r = file_write(g, f, off, len, pat);
		*spent += len;
	} else if (roll < 63) { /* append */
		uint64_t len;
		f = pick_file(g, false);
		if (!f || fr < (8u << 20))
			return 0;
		len = rng_range(&g->rng, 1, 128) << 12;
		r = file_write(g, f, f->size, len, f->pattern);
	} else if (roll < 73) { /* create */
		uint64_t sz = pick_size(g, MIN(fr / 4, (uint64_t)(4u << 20)));
		if (fr < (8u << 20))
			return 0;
		r = make_file(g, pick_dir(g), sz, -1, NULL);
	} else if (roll < 83) { /* delete */
		f = pick_file(g, false);
		if (!f)
			return 0;
		r = file_delete(g, f);
	} else if (roll < 88) { /* truncate */
		f = pick_file(g, true);
		if (!f)
			return 0;
		r = file_truncate(g, f, rng_below(&g->rng, f->size));
	} else if (roll < 94) { /* rename */
		f = pick_file(g, false);
		if (!f)
			return 0;
		r = file_rename(g, f, pick_dir(g));
	} else if (roll < 97) { /* mkdir */
		r = make_dir(g, pick_dir(g));
	} else {
		r = log_churn(g, (unsigned)rng_range(&g->rng, 4, 16));
	}
	return r;
}

/*
 * A block fully inside the data of one regular file (for an overlay that
 * keeps the views' file systems consistent), with the file and offset.
 */
static bool find_file_block(struct gen *g, struct nfile *f, struct cand *ret)
{
	ntfs_inode *ni = iopen(&g->x, f->mref);
	ntfs_attr *na;
	VEC(struct cand) c = { 0 };
	bool found = false;

	if (!ni)
		return false;
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (na && NAttrNonResident(na) && ntfs_attr_map_whole_runlist(na) == 0) {
		for (runlist_element *rl = na->rl; rl && rl->length; rl++) {
			if (rl->lcn < 0)
				continue;
			for (uint64_t cl = ((uint64_t)rl->lcn + 3) & ~3ULL; cl + 4 <= (uint64_t)(rl->lcn + rl->length);
			     cl += 4) {
				uint64_t foff = ((uint64_t)rl->vcn + cl - (uint64_t)rl->lcn) * CLUSTER;
				if (foff + BLK > (uint64_t)na->initialized_size)
					break;
				if (vec_push(&c, ((struct cand){ cl / 4, f->mref, foff })) < 0)
					break;
			}
		}
	}
	if (na)
		ntfs_attr_close(na);
	ntfs_inode_close(ni);
	if (c.n) {
		*ret = c.v[rng_below(&g->rng, c.n)];
		found = true;
	}
	free(c.v);
	return found;
}

/* Choose the overlay blocks of store s: one whose file gets rewritten now (copy + overlay), one left alone (overlay only). */
static void pick_overlay_cands(struct gen *g, struct store *s)
{
	struct nfile *fa = NULL;

	memset(&s->cand_copy, 0, sizeof(s->cand_copy));
	memset(&s->cand_only, 0, sizeof(s->cand_only));
	/* --overlays-kept: only blocks the previous store copied, so older shadow copies never read them through */
	bool kept = g->o.overlays_kept && s->k >= 2;

	for (unsigned tries = 0; tries < (kept ? 2000u : 40u) && (!s->cand_copy.block || !s->cand_only.block); tries++) {
		struct nfile *f = pick_file(g, true);
		struct cand c;
		/* the rewritten block must get a full copy: in a pattern file it could become a forwarder */
		if (!f || f->size < (64u << 10) || f == fa || (!s->cand_copy.block && f->pattern >= 0))
			continue;
		if (!find_file_block(g, f, &c) || !bs_get(s->in_use, c.block))
			continue;
		if (kept && !bs_get((s - 1)->copied, c.block))
			continue;
		if (!s->cand_copy.block) {
			s->cand_copy = c;
			fa = f;
		} else if (c.block != s->cand_copy.block) {
			s->cand_only = c;
			f->frozen = g->interval;
		}
	}
}

static int ywrite(struct gen *g, struct nfile *f, uint64_t off, uint64_t len);

/*
 * --trim-stores: rewrite up to 4 blocks of v's files (files[0..n), those of
 * the volume as it was at its last snapshot) that lie in the freed tail of a
 * trimmed store file. The store being filled copies them: a revert to it
 * writes into what the older store's range list still describes, which is
 * what the old rule of revert refused (issue #15).
 */
static int rewrite_freed(struct gen *g, struct vol *v, struct nfile *files, size_t n)
{
	unsigned done = 0;
	int r = 0;

	for (size_t i = 0; i < n && done < 4 && r >= 0 && v->freed; i++) {
		struct nfile *f = &files[i];
		VEC(uint64_t) offs = { 0 };
		ntfs_inode *ni;
		ntfs_attr *na;
		if (!f->alive || f->dir || !f->size || !(ni = iopen(v, f->mref)))
			continue;
		na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		if (na && NAttrNonResident(na) && ntfs_attr_map_whole_runlist(na) == 0)
			for (runlist_element *rl = na->rl; rl && rl->length && offs.n < 4 - done; rl++)
				for (LCN c = rl->lcn < 0 ? rl->lcn + rl->length : (rl->lcn + 3) & ~(LCN)3;
				     c + 4 <= rl->lcn + rl->length && offs.n < 4 - done; c += 4) {
					uint64_t foff = (uint64_t)(rl->vcn + c - rl->lcn) * CLUSTER;
					if (bs_get(v->freed, (uint64_t)c / 4) && foff + BLK <= (uint64_t)na->initialized_size &&
					    vec_push(&offs, foff) < 0)
						break;
				}
		if (na)
			ntfs_attr_close(na);
		ntfs_inode_close(ni);
		for (size_t j = 0; j < offs.n && r >= 0; j++, done++)
			r = v == &g->x ? file_write(g, f, offs.v[j], BLK, -1) : ywrite(g, f, offs.v[j], BLK);
		free(offs.v);
	}
	return r;
}

static int do_changes(struct gen *g, struct store *s)
{
	uint64_t budget = MAX((uint64_t)(64u << 10), s->n_in_use * BLK / 100 * g->o.change_pct), spent = 0;
	int r;

	r = log_churn(g, 16);
	if (r < 0)
		return r;
	/* --trim-stores: blocks of files that sit in a trimmed tail are rewritten (this store copies them) */
	if (g->o.trim) {
		r = rewrite_freed(g, &g->x, g->files.v, g->files.n);
		if (r < 0)
			return r;
	}
	if (g->o.overlays) {
		pick_overlay_cands(g, s);
		if (s->cand_copy.block) {
			for (size_t i = 0; i < g->files.n; i++)
				if (g->files.v[i].mref == s->cand_copy.mref && g->files.v[i].alive) {
					r = file_write(g, &g->files.v[i], s->cand_copy.file_off, BLK, -1);
					if (r < 0)
						return r;
					break;
				}
		}
	}
	if (g->o.forwarders) {
		r = forwarder_op(g, &spent);
		if (r < 0)
			return r;
	}
	for (unsigned ops = 0; spent < budget && ops < 100000; ops++) {
		r = random_op(g, &spent);
		if (r == -ENOSPC) {
			struct nfile *f = pick_file(g, false);
			sr_errclear();
			if (f && file_delete(g, f) >= 0)
				continue;
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The storage volume's own files (--storage-stores): a few files of random
 * data in the root directory, some of them rewritten, one grown and one
 * created in every interval, so that its own shadow copies have something to
 * protect besides its metadata.
 */
static int ycreate(struct gen *g, uint64_t size)
{
	ntfs_inode *ni, *dni;
	struct nfile f = { 0 };
	int r;

	snprintf(f.name, sizeof(f.name), "y%05u.dat", g->seq++);
	r = ncreate(&g->y, FILE_root, f.name, false, &ni, &dni);
	if (r < 0)
		return r;
	r = fwrite_data(g, ni, -1, 0, size);
	{
		int r2 = nclose_in_dir(ni, dni);
		if (r >= 0)
			r = r2;
	}
	if (r < 0)
		return r;
	f.mref = ni->mft_no;
	f.parent = FILE_root;
	f.size = size;
	f.pattern = -1;
	f.alive = true;
	return vec_push(&g->yfiles, f);
}

static int ywrite(struct gen *g, struct nfile *f, uint64_t off, uint64_t len)
{
	ntfs_inode *ni = iopen(&g->y, f->mref);
	int r;

	if (!ni)
		return sr_fail(n3g_err(-EIO), "cannot open inode %" PRIu64 " of '%s'", f->mref, g->y.path);
	r = fwrite_data(g, ni, -1, off, len);
	if (ntfs_inode_close(ni) < 0 && r >= 0)
		r = n3g_err(-EIO);
	if (r >= 0)
		f->size = MAX(f->size, off + len);
	return r;
}

static int ypopulate(struct gen *g)
{
	for (unsigned i = 0; i < 8; i++) {
		int r = ycreate(g, rng_range(&g->rng, 16, 256) << 12);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ychanges(struct gen *g)
{
	size_t n = g->yfiles.n;
	int r = 0;

	if (g->o.trim)
		r = rewrite_freed(g, &g->y, g->yfiles.v, n);
	for (unsigned i = 0; i < 4 && r >= 0; i++) {
		struct nfile *f = &g->yfiles.v[rng_below(&g->rng, n)];
		uint64_t len = MIN(f->size, rng_range(&g->rng, 1, 32) << 12);
		r = ywrite(g, f, rng_below(&g->rng, f->size - len + 1), len);
	}
	if (r >= 0) {
		struct nfile *f = &g->yfiles.v[rng_below(&g->rng, n)];
		r = ywrite(g, f, f->size, rng_range(&g->rng, 1, 16) << 12);
	}
	if (r >= 0)
		r = ycreate(g, rng_range(&g->rng, 1, 64) << 12);
	return r;
}

/* ---------------------------------------------------------------------- */
/* store files and snapshots */

static unsigned bitmap_blocks(const struct vol *v)
{
	return (unsigned)((v->nblocks / 8 + BITMAP_BYTES_PER_BLOCK) / BITMAP_BYTES_PER_BLOCK);
}

/* Blocks the store needs for metadata alone (header, list, range list, bitmaps). */
static unsigned meta_blocks(const struct store *s)
{
	return 3 + bitmap_blocks(s->vol) * (s->k >= 2 ? 2 : 1);
}

/* Create store k's file, preallocated for its metadata and an estimate of its copy-on-write data. */
static int store_create(struct store *s, uint64_t est_blocks)
{
	struct vol *v = s->vol->sv;
	ntfs_inode *ni, *dni;
	char name[2 * GUID_STRING_MAX + 8], id[GUID_STRING_MAX];
	uint64_t blocks = meta_blocks(s) + est_blocks;
	int r;

	snprintf(name, sizeof(name), "%s" VSS_NAME, guid_format_braced(&s->id, id));
	r = ncreate(v, v->svi_mref, name, false, &ni, &dni);
	if (r < 0)
		return r;
	s->mref = ni->mft_no;
	s->file_ref = ni->mft_no | (uint64_t)le16_to_cpu(ni->mrec->sequence_number) << 48;
	r = alloc_aligned(v, ni, blocks * BLK, &s->pieces, &s->runs);
	{
		int r2 = nclose_in_dir(ni, dni);
		if (r >= 0)
			r = r2;
	}
	if (r < 0)
		return r;
	excl_mark(v, s->pieces.v, s->pieces.n);
	return 0;
}

/* Grow store s's file to hold at least want pieces (mounts its volume). */
static int store_extend(struct store *s, size_t want)
{
	struct vol *v = s->vol->sv;
	ntfs_inode *ni;
	size_t have = s->pieces.n;
	int r;

	r = vol_mount(v);
	if (r < 0)
		return r;
	ni = iopen(v, s->mref);
	if (!ni) {
		r = sr_fail(n3g_err(-EIO), "cannot open store file inode %" PRIu64, s->mref);
	} else {
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		uint64_t cur = na ? (uint64_t)na->data_size : 0;
		if (na)
			ntfs_attr_close(na);
		/* pieces are whole blocks of the file; grow the file by what is missing, plus some slack */
		r = alloc_aligned(v, ni, cur + (uint64_t)(want - have + 4 + want / 16) * BLK, &s->pieces, &s->runs);
		if (ntfs_inode_close(ni) < 0 && r >= 0)
			r = n3g_err(-EIO);
	}
	{
		int r2 = vol_umount(v);
		if (r >= 0)
			r = r2;
	}
	if (r < 0)
		return r;
	excl_mark(v, s->pieces.v, s->pieces.n);
	sr_debug("store %u: file grown from %zu to %zu blocks", s->k, have, s->pieces.n);
	return 0;
}

/*
 * Windows trims the file of a store that is no longer the newest to what it
 * uses (vss-format.md 1.7: vsstest's store 1 keeps 7.8 MB of 320 MiB); its
 * range list still describes the file as it was. Shrink store s's file on
 * its (mounted) storage volume to its used pieces and free the rest.
 */
static int store_trim(struct store *s)
{
	struct vol *v = s->vol->sv;
	ntfs_inode *ni;
	ntfs_attr *na;
	uint64_t size, first = UINT64_MAX;
	int r = 0;

	if (s->trimmed || !s->n_used || s->n_used >= s->pieces.n)
		return 0;
	size = s->pieces.v[s->n_used - 1].file_off + BLK;
	ni = iopen(v, s->mref);
	if (!ni)
		return sr_fail(n3g_err(-EIO), "cannot open store file inode %" PRIu64, s->mref);
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na || ntfs_attr_truncate(na, (s64)size) < 0)
		r = sr_fail(n3g_err(-EIO), "cannot trim store %u's file to %" PRIu64 " bytes", s->k, size);
	if (na)
		ntfs_attr_close(na);
	if (ntfs_inode_close(ni) < 0 && r >= 0)
		r = n3g_err(-EIO);
	if (r < 0)
		return r;
	if (!v->freed && !(v->freed = bs_new(v->nblocks)))
		return -ENOMEM;
	for (size_t i = s->n_used; i < s->pieces.n; i++) {
		bs_clear(v->excl, s->pieces.v[i].vol_off / BLK);
		bs_set(v->freed, s->pieces.v[i].vol_off / BLK);
		first = MIN(first, s->pieces.v[i].vol_off);
	}
	sr_debug("store %u: file trimmed from %zu to %zu blocks", s->k, s->pieces.n, s->n_used);
	s->pieces.n = s->n_used;
	s->trimmed = true;
	v->reuse_lcn = first / CLUSTER;
	reuse_hint(v);
	return 0;
}

/* --trim-stores, at the start of interval k (0-based): the stores that stopped being the newest at snapshot k. */
static int trim_stores(struct gen *g, unsigned k)
{
	struct store *ss[2] = { NULL, NULL };
	int r = 0;

	/* with a storage volume of shadow copies of its own, ystep() trims (its own files reuse first) */
	if (!g->o.trim || k == 0 || g->y.nst)
		return 0;
	ss[0] = &g->x.st[k - 1];
	if (k < g->y.nst)
		ss[1] = &g->y.st[k - 1];
	for (unsigned i = 0; i < 2 && r >= 0; i++) {
		struct vol *v;
		if (!ss[i])
			continue;
		v = ss[i]->vol->sv;
		r = vol_mount(v);
		if (r < 0)
			return r;
		r = store_trim(ss[i]);
		int r2 = vol_umount(v);
		if (r >= 0)
			r = r2;
	}
	return r;
}

/* Where the expected view of store s goes: STATE-K.EXT, STATE being "state" or "storage-state". */
static char *state_path(const struct gen *g, const struct store *s, const char *ext)
{
	char *p;

	if (asprintf(&p, "%s/%s-%u.%s", g->o.out, s->vol->state_name, s->k, ext) < 0)
		return NULL;
	return p;
}

/* Copy [start, end) of src to fd at the same offset, skipping src's holes. */
static int copy_range(int src, int fd, uint64_t start, uint64_t end)
{
	off_t off = (off_t)start;

	while ((uint64_t)off < end) {
		off_t data = lseek(src, off, SEEK_DATA), hole;
		if (data < 0) {
			if (errno == ENXIO)
				break;
			return -errno;
		}
		if ((uint64_t)data >= end)
			break;
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > end)
			hole = (off_t)end;
		for (off_t in = data, out = data; in < hole;) {
			ssize_t n = copy_file_range(src, &in, fd, &out, (size_t)(hole - in), 0);
			if (n <= 0) {
				/* no in-kernel copy here: fall back to read and write */
				uint8_t buf[1 << 16];
				size_t m = (size_t)MIN((off_t)sizeof(buf), hole - in);
				int r;
				if (n < 0 && errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
					return -errno;
				r = pread_full(src, buf, m, (uint64_t)in);
				if (r >= 0)
					r = pwrite_full(fd, buf, m, (uint64_t)out);
				if (r < 0)
					return r;
				in += (off_t)m;
				out += (off_t)m;
			}
		}
		off = hole;
	}
	return 0;
}

/*
 * Copy the blocks set in blocks from src to fd, at the same offsets; where
 * src has a hole, fd gets one too (fd may hold older data there).
 */
static int copy_blocks(int src, int fd, const uint8_t *blocks, uint64_t nblocks)
{
	for (uint64_t i = 0; i < nblocks;) {
		uint64_t j;
		int r;
		if (!bs_get(blocks, i)) {
			i++;
			continue;
		}
		for (j = i; j < nblocks && bs_get(blocks, j); j++)
			;
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(i * BLK), (off_t)((j - i) * BLK)) < 0)
			return -errno;
		r = copy_range(src, fd, i * BLK, j * BLK);
		if (r < 0)
			return r;
		i = j;
	}
	return 0;
}

/*
 * The blocks in use on x as of its last unmount (into out, if given; returns
 * how many): any cluster set in $Bitmap, minus the catalog and store files.
 * The last block (backup boot sector, outside $Bitmap) always counts, as on
 * Windows.
 */
static uint64_t compute_in_use(const struct vol *v, uint8_t *out)
{
	uint64_t n = 0;

	if (out)
		memset(out, 0, (size_t)((v->nblocks + 7) / 8));
	for (uint64_t b = 0; b < v->nblocks; b++) {
		bool used = false;
		for (uint64_t c = b * 4; c < b * 4 + 4 && !used; c++)
			used = c >= v->nclusters || bs_get(v->lcnbmp, c);
		if (used && !bs_get(v->excl, b)) {
			if (out)
				bs_set(out, b);
			n++;
		}
	}
	return n;
}

static int write_used(const struct gen *g, const struct store *s)
{
	_cleanup_free_ char *p = state_path(g, s, "used");
	struct buf b = BUF_INIT;
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (uint64_t i = 0; i < s->vol->nblocks && r >= 0;) {
		uint64_t j;
		if (!bs_get(s->in_use, i)) {
			i++;
			continue;
		}
		for (j = i; j < s->vol->nblocks && bs_get(s->in_use, j); j++)
			;
		r = buf_printf(&b, "%" PRIu64 " %" PRIu64 "\n", i, j - i);
		i = j;
	}
	if (r >= 0)
		r = atomic_replace(p, b.data ? b.data : (uint8_t *)"", b.len, 0644);
	buf_free(&b);
	return r;
}

/*
 * Snapshot k: what is in use, the bitmaps, what must now be protected, and
 * the expected view (a sparse copy of the blocks in use).
 */
static int snapshot(struct gen *g, struct store *s)
{
	struct vol *v = s->vol;
	uint64_t nb = v->nblocks;
	_cleanup_free_ uint8_t *fresh = bs_new(nb);
	int r;

	s->in_use = bs_new(nb);
	s->bitmap = bs_new(nb);
	s->copied = bs_new(nb);
	if (!fresh || !s->in_use || !s->bitmap || !s->copied)
		return -ENOMEM;
	s->n_in_use = compute_in_use(v, s->in_use);
	for (uint64_t b = 0; b < nb; b++) {
		if (!bs_get(s->in_use, b)) {
			bs_set(s->bitmap, b);
		} else if (!bs_get(v->needed, b)) {
			bs_set(v->needed, b);
			bs_set(fresh, b);
		}
	}
	/*
	 * The protected content: blocks needed before are unchanged since (or
	 * they would have been copied), so only the newly protected ones are read.
	 */
	r = copy_blocks(v->fd, v->work_fd, fresh, nb);
	if (r < 0)
		return sr_fail(r, "cannot copy to the work image: %s", strerror(-r));
	if (s->k >= 2) {
		/* previous bitmap: store k-1's bitmap and the blocks copied into k-1 (vss-format.md §1.5) */
		const struct store *q = s - 1;
		s->prev = bs_new(nb);
		if (!s->prev)
			return -ENOMEM;
		for (uint64_t b = 0; b < nb; b++)
			if (bs_get(q->bitmap, b) || bs_get(q->copied, b))
				bs_set(s->prev, b);
	}
	if (!g->o.no_states) {
		_cleanup_free_ char *p = state_path(g, s, "img");
		_cleanup_close_ int fd = -1;
		if (!p)
			return -ENOMEM;
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return sr_fail(-errno, "cannot create '%s': %s", p, strerror(errno));
		if (ftruncate(fd, (off_t)v->size) < 0)
			return sr_fail(-errno, "cannot size '%s': %s", p, strerror(errno));
		r = copy_blocks(v->fd, fd, s->in_use, nb);
		if (r < 0)
			return sr_fail(r, "cannot copy to '%s': %s", p, strerror(-r));
	}
	sr_debug("snapshot %u: %" PRIu64 " blocks in use", s->k, s->n_in_use);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* finishing a store: copy-on-write, forwarders, overlays, metadata */

struct cow {
	VEC(uint64_t) blocks; /* changed needed blocks, ascending */
	VEC(uint64_t) hash;   /* hash of the old content (0: never forward) */
	VEC(uint64_t) target; /* forwarder target block, or UINT64_MAX */
};

static void cow_free(struct cow *c)
{
	free(c->blocks.v);
	free(c->hash.v);
	free(c->target.v);
	memset(c, 0, sizeof(*c));
}

/* The needed blocks of x whose content now differs from their protected content (the work image). */
static int find_changed(struct gen *g, struct vol *v, struct cow *c)
{
	_cleanup_free_ uint8_t *a = malloc((size_t)CHUNK_BLOCKS * BLK), *b = malloc((size_t)CHUNK_BLOCKS * BLK);
	uint64_t nb = v->nblocks;
	int r;

	if (!a || !b)
		return -ENOMEM;
	for (uint64_t i = 0; i < nb;) {
		uint64_t j;
		if (!bs_get(v->needed, i)) {
			i++;
			continue;
		}
		for (j = i; j < nb && j - i < CHUNK_BLOCKS && bs_get(v->needed, j); j++)
			;
		r = pread_full(v->fd, a, (size_t)(j - i) * BLK, i * BLK);
		if (r >= 0)
			r = pread_full(v->work_fd, b, (size_t)(j - i) * BLK, i * BLK);
		if (r < 0)
			return sr_fail(r, "cannot read blocks %" PRIu64 "..%" PRIu64, i, j);
		for (uint64_t x = i; x < j; x++) {
			const uint8_t *cur = a + (x - i) * BLK, *old = b + (x - i) * BLK;
			if (memcmp(cur, old, BLK) == 0)
				continue;
			if ((r = vec_push(&c->blocks, x)) < 0 ||
			    (r = vec_push(&c->hash, g->o.forwarders && !is_zero(old, BLK) ? hash_block(old) : 0)) < 0 ||
			    (r = vec_push(&c->target, UINT64_MAX)) < 0)
				return r;
		}
		i = j;
	}
	return 0;
}

/*
 * Forwarders: a changed block X whose old content equals block Y of the next
 * view (the volume now, at the blocks in use now) is described as "X is at Y".
 * Each Y serves one X, X != Y, and no block is both a source and a target of
 * forwarders in one store (the chained-move rule of vss-format.md §4.1 would
 * otherwise rewrite them); forwarders go last in the list.
 */
static int find_forwarders(struct vol *v, struct cow *c)
{
	_cleanup_free_ uint8_t *in_use = bs_new(v->nblocks), *targets = bs_new(v->nblocks),
			       *a = malloc((size_t)CHUNK_BLOCKS * BLK), *old = malloc(BLK);
	_cleanup_free_ uint32_t *next = NULL;
	struct u64map first;
	uint64_t nb = v->nblocks, n_src = 0;
	int r = 0;

	if (!in_use || !targets || !a || !old)
		return -ENOMEM;
	u64map_init(&first);
	next = malloc(sizeof(uint32_t) * (c->blocks.n + 1));
	if (!next)
		return -ENOMEM;
	/* hash -> chain of sources (pushed in reverse, so walk them backwards) */
	for (size_t i = c->blocks.n; i-- > 0;) {
		uint32_t head;
		if (!c->hash.v[i])
			continue;
		next[i] = u64map_get(&first, c->hash.v[i], &head) ? head : UINT32_MAX;
		r = u64map_put(&first, c->hash.v[i], (uint32_t)i);
		if (r < 0)
			goto out;
		n_src++;
	}
	if (!n_src)
		goto out;
	compute_in_use(v, in_use);
	for (uint64_t i = 0; i < nb;) {
		uint64_t j;
		if (!bs_get(in_use, i)) {
			i++;
			continue;
		}
		for (j = i; j < nb && j - i < CHUNK_BLOCKS && bs_get(in_use, j); j++)
			;
		r = pread_full(v->fd, a, (size_t)(j - i) * BLK, i * BLK);
		if (r < 0)
			goto out;
		for (uint64_t y = i; y < j; y++) {
			const uint8_t *cur = a + (y - i) * BLK;
			uint32_t idx;
			if (!u64map_get(&first, hash_block(cur), &idx))
				continue;
			for (; idx != UINT32_MAX; idx = next[idx]) {
				uint64_t x = c->blocks.v[idx];
				if (c->target.v[idx] != UINT64_MAX || x == y)
					continue;
				r = pread_full(v->work_fd, old, BLK, x * BLK);
				if (r < 0)
					goto out;
				if (memcmp(old, cur, BLK) != 0)
					continue;
				c->target.v[idx] = y;
				bs_set(targets, y);
				break;
			}
		}
		i = j;
	}
	/* a target that is itself a source keeps a full copy */
	for (size_t i = 0; i < c->blocks.n; i++)
		if (c->target.v[i] != UINT64_MAX && bs_get(targets, c->blocks.v[i]))
			c->target.v[i] = UINT64_MAX;
out:
	u64map_free(&first);
	return r;
}

struct plan {
	VEC(struct desc) d;
	VEC(uint64_t) copy_src; /* full copies: the block whose state-k content goes to data piece i */
	struct overlay ov[2];
	unsigned n_ov;
	unsigned n_data; /* data pieces: copies, then overlay data */
};

static void plan_free(struct plan *p)
{
	free(p->d.v);
	free(p->copy_src.v);
	for (unsigned i = 0; i < p->n_ov; i++)
		free(p->ov[i].data);
	memset(p, 0, sizeof(*p));
}

static uint32_t rand_sectors(struct gen *g)
{
	uint32_t m;

	do
		m = (uint32_t)rng_next(&g->rng) & (uint32_t)rng_next(&g->rng);
	while (!m);
	return m;
}

static int push_overlay(struct plan *p, const struct overlay *o)
{
	int ov = (int)(o - p->ov);
	int r = vec_push(&p->d, ((struct desc){ o->block * BLK, 0, 0, D_OVERLAY, o->bitmap, -1, ov, false }));
	if (r >= 0 && o->ext_bitmap)
		/* the extension: relative offset 1; its sectors are read from the first overlay's data block */
		r = vec_push(&p->d, ((struct desc){ o->block * BLK, 1, 0, D_OVERLAY, o->ext_bitmap, -1, ov, true }));
	return r;
}

/* The descriptor list of store s (data pieces not yet placed). */
static int plan_store(struct gen *g, struct store *s, const struct cow *c, struct plan *p)
{
	VEC(struct desc) fwd = { 0 };
	int r = 0;

	/* overlays: the rewritten block (copy + overlay) and the untouched one (overlay only, with an extension) */
	if (g->o.overlays && s->vol == &g->x) {
		const struct cand *cs[2] = { &s->cand_copy, &s->cand_only };
		for (unsigned i = 0; i < 2; i++) {
			struct overlay *o = &p->ov[p->n_ov];
			if (!cs[i]->block)
				continue;
			o->block = cs[i]->block;
			o->bitmap = rand_sectors(g);
			o->ext_bitmap = (i == 1 || s->k % 2 == 0) ? rand_sectors(g) : 0;
			o->before_copy = s->k % 2 == 1;
			o->data = malloc(BLK);
			if (!o->data)
				return -ENOMEM;
			rng_fill(&g->rng, o->data, BLK);
			p->n_ov++;
		}
	}
	for (size_t i = 0; i < c->blocks.n; i++) {
		uint64_t b = c->blocks.v[i];
		struct overlay *o = NULL;
		if (c->target.v[i] != UINT64_MAX) {
			r = vec_push(&fwd, ((struct desc){ b * BLK, c->target.v[i] * BLK, 0, D_FORWARDER, 0, -1, -1, false }));
			if (r < 0)
				goto out;
			continue;
		}
		for (unsigned j = 0; j < p->n_ov; j++)
			if (p->ov[j].block == b)
				o = &p->ov[j];
		if (o && o->before_copy && (r = push_overlay(p, o)) < 0)
			goto out;
		r = vec_push(&p->d, ((struct desc){ b * BLK, 0, 0, 0, 0, (int)p->copy_src.n, -1, false }));
		if (r >= 0)
			r = vec_push(&p->copy_src, b);
		if (r < 0)
			goto out;
		if (o && !o->before_copy && (r = push_overlay(p, o)) < 0)
			goto out;
	}
	/* overlays on blocks without a full copy here */
	for (unsigned j = 0; j < p->n_ov; j++) {
		bool done = false;
		for (size_t i = 0; i < c->blocks.n && !done; i++)
			done = c->blocks.v[i] == p->ov[j].block && c->target.v[i] == UINT64_MAX;
		if (!done && (r = push_overlay(p, &p->ov[j])) < 0)
			goto out;
	}
	for (size_t i = 0; i < fwd.n; i++)
		if ((r = vec_push(&p->d, fwd.v[i])) < 0)
			goto out;
	/* not-used descriptors with garbage in them, anywhere in the list */
	if (g->o.not_used) {
		size_t n = 2 + p->d.n / 16;
		for (size_t i = 0; i < n; i++) {
			/* one call per statement: the order of initializer evaluation is unspecified */
			struct desc x = { 0, 0, 0, 0, 0, -1, -1, false };
			size_t at;
			x.orig = rng_next(&g->rng);
			x.rel = rng_next(&g->rng);
			x.store_off = rng_next(&g->rng);
			/* never the forwarder bit: libvshadow rejects a forwarder with a store offset even when unused */
			x.flags = D_NOT_USED | ((uint32_t)rng_next(&g->rng) & ~0x5u);
			x.bitmap = (uint32_t)rng_next(&g->rng);
			at = rng_below(&g->rng, p->d.n + 1);
			r = vec_push(&p->d, x);
			if (r < 0)
				goto out;
			memmove(&p->d.v[at + 1], &p->d.v[at], (p->d.n - 1 - at) * sizeof(x));
			p->d.v[at] = x;
		}
	}
	p->n_data = (unsigned)p->copy_src.n + p->n_ov;
out:
	free(fwd.v);
	return r;
}

static unsigned range_entries(const struct store *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->runs.n; i++)
		if ((s->runs.v[i].vcn + s->runs.v[i].len) * CLUSTER > 0xc000)
			n++;
	return n;
}

static unsigned div_up(size_t a, size_t b)
{
	return (unsigned)((a + b - 1) / b);
}

static size_t pieces_needed(const struct store *s, const struct plan *p)
{
	unsigned nlist = MAX(1u, div_up(p->d.n, DESCS_PER_BLOCK)), nrange = MAX(1u, div_up(range_entries(s), RANGES_PER_BLOCK));

	return meta_blocks(s) + (nlist - 1) + (nrange - 1) + p->n_data;
}

/* Write a bitmap over the blocks of shadowed volume w to pieces pc of a store file on v. */
static int write_bitmap(const struct vol *w, struct vol *v, const uint8_t *bm, const struct piece *pc, unsigned n)
{
	_cleanup_free_ uint8_t *b = malloc(BLK);
	size_t bytes = (size_t)((w->nblocks + 7) / 8);
	int r;

	if (!b)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		size_t off = (size_t)i * BITMAP_BYTES_PER_BLOCK;
		memset(b, 0, BLK);
		rec_header(b, REC_BITMAP, pc[i].file_off, pc[i].vol_off, i + 1 < n ? pc[i + 1].vol_off : 0);
		/* bits past the volume's last block stay 0 */
		if (off < bytes)
			memcpy(b + REC, bm + off, MIN(bytes - off, (size_t)BITMAP_BYTES_PER_BLOCK));
		r = pwrite_full(v->fd, b, BLK, pc[i].vol_off);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Write store s: data blocks, overlay data, then its metadata. */
static int write_store(struct gen *g, struct store *s, struct plan *p)
{
	struct vol *v = s->vol->sv;
	_cleanup_free_ uint8_t *b = malloc(BLK);
	_cleanup_free_ struct piece *data = NULL, *lists = NULL, *ranges = NULL;
	unsigned nbm = bitmap_blocks(s->vol), nlist = MAX(1u, div_up(p->d.n, DESCS_PER_BLOCK));
	unsigned nre = range_entries(s), nrange = MAX(1u, div_up(nre, RANGES_PER_BLOCK));
	size_t cur = meta_blocks(s);
	const struct piece *pc = s->pieces.v;
	size_t info_len, ml = strlen(g->o.machine);
	int r;

	if (!b)
		return -ENOMEM;
	data = calloc(p->n_data + 1, sizeof(*data));
	lists = calloc(nlist, sizeof(*lists));
	ranges = calloc(nrange, sizeof(*ranges));
	if (!data || !lists || !ranges)
		return -ENOMEM;
	lists[0] = pc[1];
	ranges[0] = pc[2];
	for (unsigned i = 1; i < nlist; i++)
		lists[i] = pc[cur++];
	for (unsigned i = 1; i < nrange; i++)
		ranges[i] = pc[cur++];
	for (unsigned i = 0; i < p->n_data; i++)
		data[i] = pc[cur++];

	/* the old content of each copied block */
	for (size_t i = 0; i < p->copy_src.n; i++) {
		r = pread_full(s->vol->work_fd, b, BLK, p->copy_src.v[i] * BLK);
		if (r >= 0)
			r = pwrite_full(v->fd, b, BLK, data[i].vol_off);
		if (r < 0)
			return sr_fail(r, "cannot write store %u data", s->k);
		bs_set(s->copied, p->copy_src.v[i]);
	}
	for (unsigned i = 0; i < p->n_ov; i++) {
		r = pwrite_full(v->fd, p->ov[i].data, BLK, data[p->copy_src.n + i].vol_off);
		if (r < 0)
			return r;
	}
	/* place the descriptors */
	s->n_copies = s->n_overlays = s->n_fwd = s->n_not_used = 0;
	for (size_t i = 0; i < p->d.n; i++) {
		struct desc *d = &p->d.v[i];
		if (d->flags & D_NOT_USED) {
			s->n_not_used++;
		} else if (d->flags & D_FORWARDER) {
			s->n_fwd++;
			bs_set(s->copied, d->orig / BLK);
		} else if (d->flags & D_OVERLAY) {
			const struct piece *q = &data[p->copy_src.n + (size_t)d->ov];
			d->store_off = q->vol_off;
			d->rel = d->ext ? 1 : q->file_off;
			s->n_overlays++;
		} else {
			d->rel = data[d->copy].file_off;
			d->store_off = data[d->copy].vol_off;
			s->n_copies++;
		}
	}
	s->n_desc = (unsigned)p->d.n;
	s->n_overlay_blocks = p->n_ov;
	s->n_cow = p->copy_src.n + s->n_fwd;

	/* block descriptor list */
	for (unsigned i = 0; i < nlist; i++) {
		memset(b, 0, BLK);
		rec_header(b, REC_BLOCK_LIST, lists[i].file_off, lists[i].vol_off, i + 1 < nlist ? lists[i + 1].vol_off : 0);
		for (size_t j = 0; j < DESCS_PER_BLOCK && (size_t)i * DESCS_PER_BLOCK + j < p->d.n; j++) {
			const struct desc *d = &p->d.v[(size_t)i * DESCS_PER_BLOCK + j];
			uint8_t *e = b + REC + j * 32;
			put_le64(e, d->orig);
			put_le64(e + 8, d->rel);
			put_le64(e + 16, d->store_off);
			put_le32(e + 24, d->flags);
			put_le32(e + 28, d->bitmap);
		}
		r = pwrite_full(v->fd, b, BLK, lists[i].vol_off);
		if (r < 0)
			return r;
	}
	/* range list: the file's extents from relative offset 0xc000 on */
	s->range_blocks = 3;
	for (size_t i = 0; i < s->runs.n; i++) {
		uint64_t fo = s->runs.v[i].vcn * CLUSTER, end = fo + s->runs.v[i].len * CLUSTER;
		if (end > 0xc000)
			s->range_blocks += (end - MAX(fo, (uint64_t)0xc000)) / BLK;
	}
	{
		unsigned e = 0;
		for (unsigned i = 0; i < nrange; i++) {
			memset(b, 0, BLK);
			rec_header(b, REC_RANGE_LIST, ranges[i].file_off, ranges[i].vol_off,
				   i + 1 < nrange ? ranges[i + 1].vol_off : 0);
			for (unsigned j = 0; j < RANGES_PER_BLOCK && e < s->runs.n;) {
				const struct run *ru = &s->runs.v[e++];
				uint64_t fo = ru->vcn * CLUSTER, vo = ru->lcn * CLUSTER, len = ru->len * CLUSTER;
				if (fo + len <= 0xc000)
					continue;
				if (fo < 0xc000) {
					vo += 0xc000 - fo;
					len -= 0xc000 - fo;
					fo = 0xc000;
				}
				put_le64(b + REC + j * 24, vo);
				put_le64(b + REC + j * 24 + 8, fo);
				put_le64(b + REC + j * 24 + 16, len);
				j++;
			}
			r = pwrite_full(v->fd, b, BLK, ranges[i].vol_off);
			if (r < 0)
				return r;
		}
		(void)nre;
	}
	/* bitmaps */
	r = write_bitmap(s->vol, v, s->bitmap, pc + 3, nbm);
	if (r >= 0 && s->prev)
		r = write_bitmap(s->vol, v, s->prev, pc + 3 + nbm, nbm);
	if (r < 0)
		return r;
	/* store header and store information */
	memset(b, 0, BLK);
	info_len = 64 + 2 + ml * 2 + 2 + ml * 2;
	rec_header(b, REC_STORE_HEADER, pc[0].file_off, pc[0].vol_off, 0);
	put_le64(b + 48, info_len);
	{
		uint8_t *in = b + REC;
		size_t pos = 64;
		memcpy(in, store_info_guid, 16);
		memcpy(in + 16, s->copy_id.b, 16);
		memcpy(in + 32, s->set_id.b, 16);
		put_le32(in + 48, g->o.context);
		put_le32(in + 52, 1);
		put_le32(in + 56, g->o.attributes);
		for (int k = 0; k < 2; k++) {
			put_le16(in + pos, (uint16_t)(ml * 2));
			pos += 2;
			for (size_t i = 0; i < ml; i++, pos += 2)
				put_le16(in + pos, (uint8_t)g->o.machine[i]);
		}
	}
	r = pwrite_full(v->fd, b, BLK, pc[0].vol_off);
	if (r < 0)
		return r;
	s->hdr_off = pc[0].vol_off;
	s->list_off = lists[0].vol_off;
	s->range_off = ranges[0].vol_off;
	s->bm_off = pc[3].vol_off;
	s->prev_off = s->prev ? pc[3 + nbm].vol_off : 0;
	return 0;
}

/* Overlays are writes to the snapshot itself: they show in view k only. */
static int apply_overlays(int state_fd, const struct plan *p)
{
	for (unsigned i = 0; i < p->n_ov; i++) {
		const struct overlay *o = &p->ov[i];
		uint32_t m = o->bitmap | o->ext_bitmap;
		for (unsigned sec = 0; sec < 32; sec++) {
			if (!(m >> sec & 1))
				continue;
			int r = pwrite_full(state_fd, o->data + sec * SECTOR, SECTOR, o->block * BLK + sec * SECTOR);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* End of interval k: everything needed that changed goes to store k. */
static int finish_store(struct gen *g, struct store *s)
{
	struct cow c = { 0 };
	struct plan pl = { 0 };
	int r;

	for (unsigned round = 0;; round++) {
		size_t need;
		cow_free(&c);
		plan_free(&pl);
		r = find_changed(g, s->vol, &c);
		if (r >= 0 && g->o.forwarders && s->vol == &g->x)
			r = find_forwarders(s->vol, &c);
		if (r >= 0)
			r = plan_store(g, s, &c, &pl);
		if (r < 0)
			goto out;
		need = pieces_needed(s, &pl);
		s->n_used = need;
		if (need <= s->pieces.n)
			break;
		if (round > 8) {
			r = sr_fail(-ENOSPC, "store %u: cannot grow its file enough", s->k);
			goto out;
		}
		/* growing the file changes the volume (MFT, $Bitmap): look again */
		r = store_extend(s, need);
		if (r < 0)
			goto out;
	}
	r = write_store(g, s, &pl);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < c.blocks.n; i++)
		bs_clear(s->vol->needed, c.blocks.v[i]);
	if (!g->o.no_states) {
		_cleanup_free_ char *p = state_path(g, s, "img");
		_cleanup_close_ int fd = -1;
		if (!p) {
			r = -ENOMEM;
			goto out;
		}
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			r = sr_fail(-errno, "cannot open '%s': %s", p, strerror(errno));
			goto out;
		}
		r = apply_overlays(fd, &pl);
		if (r < 0)
			goto out;
	}
	r = write_used(g, s);
	sr_debug("store %u: %u descriptors, %u copies, %u overlays, %u forwarders, %u not used", s->k, s->n_desc,
		 s->n_copies, s->n_overlays, s->n_fwd, s->n_not_used);
out:
	cow_free(&c);
	plan_free(&pl);
	return r;
}

/* ---------------------------------------------------------------------- */
/* manifest */

/* The stores of shadowed volume v, for the manifest. */
static void write_stores_json(const struct gen *g, struct json *j, const struct vol *v)
{
	char tmp[64], id[GUID_STRING_MAX], t[FILETIME_STRING_MAX];

	json_arr_begin(j);
	for (unsigned k = 0; k < v->nst; k++) {
		const struct store *s = &v->st[k];
		json_obj_begin(j);
		json_ku64(j, "index", s->k);
		json_kstr(j, "store_id", guid_format(&s->id, id));
		json_kstr(j, "shadow_id", guid_format(&s->copy_id, id));
		json_kstr(j, "set_id", guid_format(&s->set_id, id));
		json_ku64(j, "creation_filetime", s->ctime);
		json_kstr(j, "creation_time", filetime_format(s->ctime, t, sizeof(t)));
		snprintf(tmp, sizeof(tmp), "0x%x", g->o.context);
		json_kstr(j, "context", tmp);
		json_ku64(j, "context_value", g->o.context);
		snprintf(tmp, sizeof(tmp), "0x%08x", g->o.attributes);
		json_kstr(j, "attributes", tmp);
		json_ku64(j, "attributes_value", g->o.attributes);
		json_ku64(j, "volume_size", v->size);
		json_ku64(j, "descriptors", s->n_desc);
		json_ku64(j, "copies", s->n_copies);
		json_ku64(j, "overlays", s->n_overlays);
		json_ku64(j, "overlay_blocks", s->n_overlay_blocks);
		json_ku64(j, "forwarders", s->n_fwd);
		json_ku64(j, "not_used", s->n_not_used);
		json_ku64(j, "cow_blocks", s->n_cow);
		json_ku64(j, "blocks_in_use", s->n_in_use);
		json_ku64(j, "store_file_blocks", s->pieces.n);
		json_ku64(j, "range_list_blocks", s->range_blocks);
		json_kbool(j, "trimmed", s->trimmed);
		json_ku64(j, "store_header_offset", s->hdr_off);
		json_ku64(j, "catalog_t2_slot", s->t2_slot);
		json_ku64(j, "catalog_t3_slot", s->t3_slot);
		json_kstr(j, "volume", v->name);
		json_kstr(j, "storage", v->sv->name);
		snprintf(tmp, sizeof(tmp), "%s-%u.img", v->state_name, s->k);
		json_kstr(j, "state", tmp);
		snprintf(tmp, sizeof(tmp), "%s-%u.used", v->state_name, s->k);
		json_kstr(j, "used", tmp);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static int write_manifest(struct gen *g)
{
	_cleanup_free_ char *p = NULL;
	char id[GUID_STRING_MAX];
	static const char *orders[] = { "paired", "reversed", "scattered" };
	struct json j;
	FILE *f;
	int r;

	if (asprintf(&p, "%s/manifest.json", g->o.out) < 0)
		return -ENOMEM;
	f = fopen(p, "we");
	if (!f)
		return sr_fail(-errno, "cannot create '%s': %s", p, strerror(errno));
	json_init(&j, f, true);
	json_obj_begin(&j);
	json_ku64(&j, "seed", g->o.seed);
	json_ku64(&j, "block_size", BLK);
	json_kstr(&j, "volume", g->x.name);
	json_kstr(&j, "storage", g->x.sv->name);
	json_ku64(&j, "volume_size", g->x.size);
	json_kstr(&j, "volume_id", guid_format(&g->x.id, id));
	json_kstr(&j, "storage_volume_id", guid_format(&g->x.sv->id, id));
	json_kbool(&j, "remote_storage", g->o.remote);
	json_kstr(&j, "catalog_order", orders[g->o.order]);
	json_kbool(&j, "libvshadow_readable", g->o.order == ORDER_PAIRED && !g->o.remote);
	json_ku64(&j, "catalog_offset", g->x.cat[0].vol_off);
	json_kbool(&j, "overlays", g->o.overlays);
	json_kbool(&j, "forwarders", g->o.forwarders);
	json_kbool(&j, "not_used", g->o.not_used);
	json_kbool(&j, "trim_stores", g->o.trim);
	json_ku64(&j, "change_pct", g->o.change_pct);
	json_ku64(&j, "files", g->o.files);
	json_key(&j, "stores");
	write_stores_json(g, &j, &g->x);
	if (g->o.remote) {
		json_key(&j, "storage_stores");
		write_stores_json(g, &j, &g->y);
	}
	json_obj_end(&j);
	json_end(&j);
	r = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && r >= 0)
		r = -errno;
	return r;
}

/* ---------------------------------------------------------------------- */

/* Make v a shadowed volume with n stores kept on sv. */
static int shadowed_init(struct gen *g, struct vol *v, unsigned n, struct vol *sv, const char *state_name)
{
	v->nst = n;
	v->sv = sv;
	v->state_name = state_name;
	v->st = calloc(n, sizeof(*v->st));
	v->needed = bs_new(v->nblocks);
	if (!v->st || !v->needed)
		return -ENOMEM;
	for (unsigned k = 0; k < n; k++) {
		v->st[k].vol = v;
		v->st[k].k = k + 1;
	}
	/* a sparse scratch image next to the outputs, gone when we exit */
	v->work_fd = open(g->o.out, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (v->work_fd < 0)
		return sr_fail(-errno, "cannot create a work file in '%s': %s", g->o.out, strerror(errno));
	if (ftruncate(v->work_fd, (off_t)v->size) < 0)
		return -errno;
	return 0;
}

/* Store files and the first snapshot: the store-1 files of x (and y), then snapshot 1 of each. */
static int first_snapshot(struct gen *g)
{
	struct vol *x = &g->x, *y = &g->y;
	int r = vol_mount(x->sv);

	if (r >= 0) {
		r = store_create(&x->st[0], MAX(8, compute_in_use(x, NULL) * g->o.change_pct / 100 + 16));
		if (r >= 0 && y->nst)
			r = store_create(&y->st[0], compute_in_use(y, NULL) / 16 + 16);
		int r2 = vol_umount(x->sv);
		if (r >= 0)
			r = r2;
	}
	if (r >= 0)
		r = snapshot(g, &x->st[0]);
	if (r >= 0 && y->nst)
		r = snapshot(g, &y->st[0]);
	return r;
}

/*
 * Interval k (0-based) on storage.img when it has shadow copies of its own:
 * its own files change, and the file of its next store is made (its
 * snapshots are taken at the same moments as the volume's).
 */
static int ystep(struct gen *g, unsigned k)
{
	struct vol *y = &g->y;
	int r = vol_mount(y);

	if (r < 0)
		return r;
	/* --trim-stores: the stores that stopped being the newest at snapshot k, whose files are on y */
	if (g->o.trim && k > 0) {
		r = store_trim(&g->x.st[k - 1]);
		if (r >= 0 && k < y->nst)
			r = store_trim(&y->st[k - 1]);
	}
	if (r >= 0)
		r = ychanges(g);
	if (r >= 0 && k + 1 < y->nst)
		r = store_create(&y->st[k + 1], y->st[k].n_in_use / 16 + 16);
	{
		int r2 = vol_umount(y);
		if (r >= 0)
			r = r2;
	}
	return r;
}

static int generate(struct gen *g)
{
	double t0 = now_sec();
	struct vol *x = &g->x, *y = &g->y;
	unsigned n = g->o.stores, m = g->o.storage_stores;
	uint64_t est;
	int r;

	g->buf = malloc(1u << 20);
	if (!g->buf)
		return -ENOMEM;
	r = mkdir_p(g->o.out, 0755);
	if (r < 0)
		return sr_fail(r, "cannot create '%s': %s", g->o.out, strerror(-r));

	r = vol_create(g, x, "volume.img", g->o.size, "mkvss");
	if (r >= 0)
		r = shadowed_init(g, x, n, x, "state");
	if (r < 0)
		return r;
	if (g->o.remote) {
		r = vol_create(g, y, "storage.img", g->o.storage_size, "mkvss-storage");
		if (r >= 0 && m)
			r = shadowed_init(g, y, m, y, "storage-state");
		if (r < 0)
			return r;
		x->sv = y;
	}
	for (unsigned k = 0; k < n; k++) {
		struct store *s = &x->st[k];
		rng_guid(&g->rng, &s->id);
		rng_guid(&g->rng, &s->copy_id);
		rng_guid(&g->rng, &s->set_id);
		s->ctime = FT_2024 + (uint64_t)(k + 1) * FT_HOUR + rng_below(&g->rng, FT_HOUR / 2);
	}
	/* storage.img's snapshot k is taken with the volume's: one snapshot set of two volumes */
	for (unsigned k = 0; k < m; k++) {
		struct store *s = &y->st[k];
		rng_guid(&g->rng, &s->id);
		rng_guid(&g->rng, &s->copy_id);
		s->set_id = x->st[k].set_id;
		s->ctime = x->st[k].ctime;
	}
	r = assign_slots(g);
	if (r < 0)
		return r;

	r = populate(g);
	if (r >= 0 && m)
		r = ypopulate(g);
	if (r < 0)
		return r;
	g->base_bytes = data_bytes(g);
	sr_info("populated %s in %.1fs: %" PRIu64 " MiB used", x->path, now_sec() - t0,
		(x->size - free_bytes(x)) >> 20);
	if (g->o.remote) {
		r = vss_setup(y, &y->id);
		if (r < 0)
			return r;
		r = vss_setup(x, &y->id);
	} else {
		r = vss_setup(x, &x->id);
	}
	if (r < 0)
		return r;

	r = first_snapshot(g);
	if (r < 0)
		return r;

	for (unsigned k = 0; k < n; k++) {
		struct store *s = &x->st[k];
		double t1 = now_sec();

		/* interval k (1-based): changes while store k is the newest, stamped after its creation time */
		g->interval = s->k;
		fake_clock_set(s->ctime + FT_HOUR / 2 + FT_HOUR / 8);
		r = trim_stores(g, k);
		if (r < 0)
			return r;
		r = vol_mount(x);
		if (r < 0)
			return r;
		r = do_changes(g, s);
		if (r >= 0 && k + 1 < n) {
			/* a guess: finish_store() grows the file when the copies need more */
			est = s->n_in_use * g->o.change_pct / 100 + 16;
			if (g->o.remote) {
				r = vol_mount(y);
				if (r >= 0) {
					r = store_create(&x->st[k + 1], est);
					int r2 = vol_umount(y);
					if (r >= 0)
						r = r2;
				}
			} else {
				r = store_create(&x->st[k + 1], est);
			}
		}
		{
			int r2 = vol_umount(x);
			if (r >= 0)
				r = r2;
		}
		if (r >= 0 && m)
			r = ystep(g, k);
		if (r < 0)
			return r;
		r = finish_store(g, s);
		/* storage.img's store k ends here too, unless it is its last (that one ends with everything else) */
		if (r >= 0 && k + 1 < m)
			r = finish_store(g, &y->st[k]);
		if (r < 0)
			return r;

		if (k + 1 < n) {
			r = snapshot(g, &x->st[k + 1]);
			if (r >= 0 && k + 1 < m)
				r = snapshot(g, &y->st[k + 1]);
			if (r < 0)
				return r;
		}
		sr_info("store %u: %" PRIu64 " blocks in use, %u copies, %u overlays, %u forwarders (%.1fs)", s->k,
			s->n_in_use, s->n_copies, s->n_overlays, s->n_fwd, now_sec() - t1);
	}
	if (m) {
		struct store *s = &y->st[m - 1];
		r = finish_store(g, s);
		if (r < 0)
			return r;
		sr_info("storage store %u: %" PRIu64 " blocks in use, %u copies", s->k, s->n_in_use, s->n_copies);
	}

	r = write_catalog(g, x);
	if (r >= 0 && g->o.remote)
		r = write_catalog(g, y);
	if (r < 0)
		return r;
	if (fsync(x->fd) < 0 || (g->o.remote && fsync(y->fd) < 0))
		return -errno;
	r = write_manifest(g);
	if (r < 0)
		return r;
	sr_info("done in %.1fs", now_sec() - t0);
	return 0;
}

static void gen_free(struct gen *g)
{
	struct vol *vs[2] = { &g->x, &g->y };

	for (unsigned i = 0; i < 2; i++) {
		struct vol *v = vs[i];
		if (v->nv)
			ntfs_umount(v->nv, TRUE);
		if (v->fd > 0)
			close(v->fd);
		free(v->path);
		free(v->lcnbmp);
		free(v->excl);
		free(v->freed);
		if (v->st)
			for (unsigned k = 0; k < v->nst; k++) {
				struct store *s = &v->st[k];
				free(s->pieces.v);
				free(s->runs.v);
				free(s->in_use);
				free(s->bitmap);
				free(s->prev);
				free(s->copied);
			}
		free(v->st);
		free(v->needed);
		if (v->work_fd >= 0)
			close(v->work_fd);
	}
	free(g->files.v);
	free(g->yfiles.v);
	free(g->buf);
}

static void help(void)
{
	printf("usage: mkvss --out DIR [OPTIONS]\n"
	       "\n"
	       "Make an NTFS volume image holding N VSS shadow copies of its own earlier states,\n"
	       "in the format Windows writes, and the expected view of each shadow copy.\n"
	       "\n"
	       "  --out DIR              output directory (created)\n"
	       "  --size SIZE            volume size (default 256M; K, M, G suffixes)\n"
	       "  --stores N             number of shadow copies (default 2, at most %u)\n"
	       "  --seed S               PRNG seed: GUIDs, times and data (default 1)\n"
	       "  --change-pct P         data changed between snapshots, %% of the data in use (default 5)\n"
	       "  --files N              files to create at first (default 64)\n"
	       "  --fill P               then add big files until P%% of the volume is used\n"
	       "  --overlays             overlay descriptors (writes to the snapshots themselves)\n"
	       "  --overlays-kept        with --overlays: only on blocks the previous store copied,\n"
	       "                         so that a revert keeps the older shadow copies\n"
	       "  --forwarders           forwarder descriptors (old data that moved elsewhere)\n"
	       "  --not-used             descriptors flagged not used, with garbage fields\n"
	       "  --trim-stores          trim each store file to what it uses once a newer snapshot\n"
	       "                         is taken, as Windows does (its range list keeps the old\n"
	       "                         size); new files and later store files reuse the freed tail\n"
	       "  --catalog-order ORDER  paired (default), reversed or scattered. libvshadow\n"
	       "                         20190323 (vshadowinfo/vshadowmount) pairs type-3 entries\n"
	       "                         with type-2 entries by position: it reads only 'paired'\n"
	       "  --remote-storage       keep the stores on a second volume, storage.img (libvshadow\n"
	       "                         cannot read that)\n"
	       "  --storage-size SIZE    size of storage.img (default: half the volume, at least 64M)\n"
	       "  --storage-stores M     with --remote-storage: storage.img gets M (at most N)\n"
	       "                         shadow copies of its own, taken with the volume's first M\n"
	       "                         (same set IDs); its catalog then mixes its own entries\n"
	       "                         with the volume's type-3 entries\n"
	       "  --context CTX          VSS context (default 0x9, persistent)\n"
	       "  --attributes ATTR      VSS_VOLSNAP_ATTR_* flags (default 0x420009)\n"
	       "  --machine NAME         originating and service machine (default mkvss-host)\n"
	       "  --no-states            do not keep state-K.img (for benchmark fixtures)\n"
	       "  --verbose, --quiet\n"
	       "\n"
	       "Outputs in DIR: volume.img (sparse; its live state after the last changes),\n"
	       "storage.img (with --remote-storage), state-K.img (view K as expected, sparse:\n"
	       "holes where a block was not in use), state-K.used (\"FIRST COUNT\"\n"
	       "lines of the 16 KiB blocks in use at snapshot K, catalog and store files left\n"
	       "out: where a view must equal state-K.img), storage-state-K.img and\n"
	       "storage-state-K.used (the same for storage.img's own shadow copies),\n"
	       "manifest.json (\"stores\"; \"storage_stores\" with --remote-storage).\n"
	       "\n"
	       "Exit status: 0 done, 1 failed, 2 usage error.\n",
	       MAX_STORES);
}

int main(int argc, char **argv)
{
	enum { O_OUT = 0x100, O_SIZE, O_STORES, O_SEED, O_CHANGE, O_FILES, O_FILL, O_OVERLAYS, O_FORWARDERS,
	       O_NOT_USED, O_TRIM, O_OVERLAYS_KEPT, O_ORDER, O_REMOTE, O_STORAGE_SIZE, O_STORAGE_STORES, O_CONTEXT, O_ATTRIBUTES, O_MACHINE, O_NO_STATES, O_VERBOSE,
	       O_QUIET, O_HELP };
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, O_OUT },
		{ "size", required_argument, NULL, O_SIZE },
		{ "stores", required_argument, NULL, O_STORES },
		{ "seed", required_argument, NULL, O_SEED },
		{ "change-pct", required_argument, NULL, O_CHANGE },
		{ "files", required_argument, NULL, O_FILES },
		{ "fill", required_argument, NULL, O_FILL },
		{ "overlays", no_argument, NULL, O_OVERLAYS },
		{ "forwarders", no_argument, NULL, O_FORWARDERS },
		{ "not-used", no_argument, NULL, O_NOT_USED },
		{ "trim-stores", no_argument, NULL, O_TRIM },
		{ "overlays-kept", no_argument, NULL, O_OVERLAYS_KEPT },
		{ "catalog-order", required_argument, NULL, O_ORDER },
		{ "remote-storage", no_argument, NULL, O_REMOTE },
		{ "storage-size", required_argument, NULL, O_STORAGE_SIZE },
		{ "storage-stores", required_argument, NULL, O_STORAGE_STORES },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "attributes", required_argument, NULL, O_ATTRIBUTES },
		{ "machine", required_argument, NULL, O_MACHINE },
		{ "no-states", no_argument, NULL, O_NO_STATES },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct gen g = { 0 };
	uint32_t u;
	int c, r, idx = 0;

	sr_progname = "mkvss";
	g.x.fd = g.y.fd = g.x.work_fd = g.y.work_fd = -1;
	g.o.size = 256ULL << 20;
	g.o.stores = 2;
	g.o.seed = 1;
	g.o.change_pct = 5;
	g.o.files = 64;
	g.o.context = 0x9;
	g.o.attributes = 0x420009;
	g.o.machine = "mkvss-host";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vq", longopts, &idx)) != -1) {
		switch (c) {
		case O_OUT: g.o.out = optarg; break;
		case O_SIZE:
		case O_STORAGE_SIZE: {
			uint64_t v;
			if (parse_size(optarg, &v) < 0 || v < (16u << 20))
				goto bad;
			v &= ~((1ULL << 20) - 1); /* whole MiB: whole 16 KiB blocks and clusters */
			if (c == O_SIZE)
				g.o.size = v;
			else
				g.o.storage_size = v;
			break;
		}
		case O_STORES:
			if (parse_u32(optarg, &u) < 0 || u < 1 || u > MAX_STORES)
				goto bad;
			g.o.stores = u;
			break;
		case O_STORAGE_STORES:
			if (parse_u32(optarg, &u) < 0 || u > MAX_STORES)
				goto bad;
			g.o.storage_stores = u;
			break;
		case O_SEED: {
			char *end;
			errno = 0;
			g.o.seed = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg)
				goto bad;
			break;
		}
		case O_CHANGE:
			if (parse_u32(optarg, &u) < 0 || u > 100)
				goto bad;
			g.o.change_pct = u;
			break;
		case O_FILES:
			if (parse_u32(optarg, &u) < 0 || u > 1000000)
				goto bad;
			g.o.files = u;
			break;
		case O_FILL:
			if (parse_u32(optarg, &u) < 0 || u > 90)
				goto bad;
			g.o.fill_pct = u;
			break;
		case O_OVERLAYS: g.o.overlays = true; break;
		case O_FORWARDERS: g.o.forwarders = true; break;
		case O_NOT_USED: g.o.not_used = true; break;
		case O_TRIM: g.o.trim = true; break;
		case O_OVERLAYS_KEPT: g.o.overlays = g.o.overlays_kept = true; break;
		case O_ORDER:
			if (!strcmp(optarg, "paired"))
				g.o.order = ORDER_PAIRED;
			else if (!strcmp(optarg, "reversed"))
				g.o.order = ORDER_REVERSED;
			else if (!strcmp(optarg, "scattered"))
				g.o.order = ORDER_SCATTERED;
			else
				goto bad;
			break;
		case O_REMOTE: g.o.remote = true; break;
		case O_NO_STATES: g.o.no_states = true; break;
		case O_CONTEXT:
			if (parse_u32(optarg, &g.o.context) < 0)
				goto bad;
			break;
		case O_ATTRIBUTES:
			if (parse_u32(optarg, &g.o.attributes) < 0)
				goto bad;
			break;
		case O_MACHINE:
			if (strlen(optarg) == 0 || strlen(optarg) > 200)
				goto bad;
			g.o.machine = optarg;
			break;
		case 'v':
		case O_VERBOSE: sr_verbosity = 2; break;
		case 'q':
		case O_QUIET: sr_verbosity = 0; break;
		case O_HELP: help(); return EXIT_SUCCESS;
		default:
			fprintf(stderr, "mkvss: unknown option or missing value '%s'\ntry 'mkvss --help'\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc || !g.o.out) {
		fprintf(stderr, "mkvss: %s\ntry 'mkvss --help'\n", optind < argc ? "unexpected argument" : "--out is required");
		return 2;
	}
	if (g.o.storage_stores &&
	    (!g.o.remote || g.o.storage_stores > g.o.stores || g.o.stores + 2 * g.o.storage_stores > CAT_SLOTS)) {
		fprintf(stderr, "mkvss: --storage-stores needs --remote-storage and at most --stores shadow copies\ntry 'mkvss --help'\n");
		return 2;
	}
	if (!g.o.storage_size)
		g.o.storage_size = MAX(64ULL << 20, (g.o.size / 2) & ~((1ULL << 20) - 1));
	rng_seed(&g.rng, g.o.seed);
	ntfs_log_set_handler(ntfs_log_handler_stderr);

	r = generate(&g);
	gen_free(&g);
	if (r == -ENOSPC) {
		sr_error(r, "cannot make the shadow copies in '%s'", g.o.out);
		fprintf(stderr, "hint: the volume is full; give a bigger --size (or --storage-size), or fewer --stores, --files or --change-pct\n");
		return 1;
	}
	if (r < 0)
		return sr_error(r, "cannot make the shadow copies in '%s'", g.o.out);
	return EXIT_SUCCESS;
bad:
	fprintf(stderr, "mkvss: bad value '%s' for --%s\ntry 'mkvss --help'\n", optarg, longopts[idx].name);
	return 2;
}
