/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_VSS_H
#define SR_VSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guid.h"
#include "src.h"

/*
 * The VSS engine: the shadow copies Windows keeps inside an NTFS volume,
 * read from the raw volume (docs: ../shared/docs/vss-format.md).
 *
 * A struct vss_volume is opened on a source (the NTFS volume). Its stores are
 * ordered by creation time, index 0 the oldest. A store whose data lives on
 * another volume (type-2 entry without type-3 entry here) has
 * has_data == false until vss_volume_attach_storage() finds it on that volume.
 *
 * All functions return 0 or a negative errno; on failure a detail naming the
 * volume and structure is recorded with sr_fail(). -EBADMSG: corrupt
 * metadata; -EPROTONOSUPPORT: an unknown format version; -EMEDIUMTYPE: not an
 * NTFS volume; -ENOMEDIUM: a store's storage volume is missing.
 *
 * Reads (vss_view_pread) are thread-safe once the volume is open and its
 * storage attached; open and attach are not.
 */

#define VSS_BLOCK_SIZE 0x4000u

struct vss_volume;

enum vss_attr {
	VSS_ATTR_PERSISTENT = 0x1,
	VSS_ATTR_NO_AUTORECOVERY = 0x2,
	VSS_ATTR_CLIENT_ACCESSIBLE = 0x4,
	VSS_ATTR_NO_AUTO_RELEASE = 0x8,
	VSS_ATTR_NO_WRITERS = 0x10,
	VSS_ATTR_TRANSPORTABLE = 0x20,
	VSS_ATTR_NOT_SURFACED = 0x40,
	VSS_ATTR_NOT_TRANSACTED = 0x80,
	VSS_ATTR_HARDWARE_ASSISTED = 0x10000,
	VSS_ATTR_DIFFERENTIAL = 0x20000,
	VSS_ATTR_PLEX = 0x40000,
	VSS_ATTR_IMPORTED = 0x80000,
	VSS_ATTR_EXPOSED_LOCALLY = 0x100000,
	VSS_ATTR_EXPOSED_REMOTELY = 0x200000,
	VSS_ATTR_AUTORECOVER = 0x400000,
	VSS_ATTR_ROLLBACK_RECOVERY = 0x800000,
	VSS_ATTR_DELAYED_POSTSNAPSHOT = 0x1000000,
	VSS_ATTR_TXF_RECOVERY = 0x2000000,
	VSS_ATTR_FILE_SHARE = 0x4000000,
};

struct vss_store_info {
	struct sr_guid store_id; /* the catalog's store GUID (names the store file) */
	struct sr_guid copy_id;  /* shadow copy ID */
	struct sr_guid set_id;   /* shadow copy set ID */
	uint64_t creation_time;  /* FILETIME, UTC */
	uint64_t volume_size;    /* from the type-2 entry */
	uint64_t catalog_flags;  /* type-2 +40 */
	uint64_t sequence;       /* type-2 +32 */
	uint32_t context;        /* VSS_CTX_* */
	uint32_t provider;       /* store info +52 */
	uint32_t attributes;     /* VSS_VOLSNAP_ATTR_* */
	char operating_machine[256]; /* UTF-8 */
	char service_machine[256];
	bool has_data;       /* store header and block list found (here or on the storage volume) */
	bool storage_remote; /* its data is on another volume */
	/* where the store's metadata is (volume offsets on the storage volume) */
	uint64_t header_offset, block_list_offset, range_list_offset, bitmap_offset, previous_bitmap_offset;
	uint64_t file_reference; /* NTFS file reference of the store file */
	/* descriptor statistics */
	uint32_t n_descriptors, n_mapped_blocks, n_overlays, n_forwarders, n_not_used;
};

/* Open the VSS state of the NTFS volume in vol (a reference is taken). A volume without VSS has 0 stores. */
int vss_volume_open(struct src *vol, struct vss_volume **ret);
void vss_volume_free(struct vss_volume *v);

const char *vss_volume_name(const struct vss_volume *v);
struct src *vss_volume_src(const struct vss_volume *v);
/* Header fields: whether a VSS header is present, its volume GUIDs (see vss-format.md §3.1). */
bool vss_volume_has_header(const struct vss_volume *v);
const struct sr_guid *vss_volume_id(const struct vss_volume *v);
const struct sr_guid *vss_volume_storage_id(const struct vss_volume *v);
uint64_t vss_volume_catalog_offset(const struct vss_volume *v);

unsigned vss_volume_store_count(const struct vss_volume *v);
/* Borrowed; valid until vss_volume_free(). */
const struct vss_store_info *vss_volume_store(const struct vss_volume *v, unsigned idx);
/* Index of the store with that shadow copy ID, or -ENOENT. */
int vss_volume_find_copy(const struct vss_volume *v, const struct sr_guid *copy_id);
/* Number of type-3 entries of stores that belong to other volumes (this volume is their storage). */
unsigned vss_volume_foreign_count(const struct vss_volume *v);
/* Name of the storage volume of store idx (its own name when local). */
const char *vss_store_storage_name(const struct vss_volume *v, unsigned idx);

/*
 * Look on volume y for the data of v's stores that have none (shadow storage
 * on another volume). Returns the number of stores attached (0 if y holds
 * none of them). y must stay open while v is used.
 */
int vss_volume_attach_storage(struct vss_volume *v, struct vss_volume *y);

enum {
	/* Do not zero-fill unprotected blocks of the newest store (libvshadow does; revert must not). */
	VSS_READ_NO_ZERO_FILL = 1 << 0,
};

/* Read len bytes at off of the view of store k. -ENOMEDIUM if a store k..n-1 has no data. */
int vss_view_pread(struct vss_volume *v, unsigned k, void *buf, size_t len, uint64_t off, unsigned flags);
/* A source that reads the view of store k (size: the store's volume size); holds a reference on v's source. */
int vss_view_src_new(struct vss_volume *v, unsigned k, struct src **ret);
/* Can the view of store k be read (every store k..n-1 has its data)? -ENOMEDIUM with a detail if not. */
int vss_view_check(const struct vss_volume *v, unsigned k);

/*
 * Revert support (vss-format.md section 6).
 */
struct vss_range {
	uint64_t off, len;
};
struct vss_entry_ref {
	struct src *src; /* the volume whose catalog holds the entry (borrowed) */
	uint64_t off;    /* volume offset of the 128-byte catalog entry */
	unsigned store;  /* index of the store it belongs to */
	int type;        /* 2 or 3 */
};

/*
 * The 16 KiB blocks (volume offsets, ascending) a revert to store k must
 * rewrite with view k: every block with a descriptor in stores k..n-1, except
 * overlay-only entries of the stores after k. Caller frees *ret.
 */
int vss_revert_block_set(const struct vss_volume *v, unsigned k, uint64_t **ret, size_t *ret_n);
/* A structure a revert must not overwrite (vss-format.md 6.1 step 4). */
struct vss_protected {
	uint64_t off, len; /* on v's own source */
	int store;         /* the store that reads it, or -1 for the VSS header and the catalog */
	const char *what;  /* "catalog", "block descriptor list", "store data block", ... (static) */
};
/*
 * What a revert of v that keeps stores lo..hi-1 must not change: the VSS
 * header sector, the catalog blocks, and of every kept store stored on v its
 * header, block descriptor lists, range lists, bitmaps and every data block
 * its descriptors point at. Not the range-list extents: Windows trims the
 * file of a store that is no longer the newest, and what it freed is user
 * data (or newer stores) like any other block. Sorted by offset, may overlap.
 * Caller frees *ret.
 */
int vss_revert_protected(const struct vss_volume *v, unsigned lo, unsigned hi, struct vss_protected **ret,
			 size_t *ret_n);
/*
 * The catalog entries (type 2 and type 3, on this volume or on the storage
 * volume) of stores k..n-1: a revert marks them unused (type 1, the rest zero).
 */
int vss_drop_entries(const struct vss_volume *v, unsigned k, struct vss_entry_ref **ret, size_t *ret_n);
/*
 * A revert to store k makes the volume view k, with store k's overlay sectors
 * (the writes made to shadow copy k itself, e.g. auto-recovery). An older
 * store j that reads such a sector from the volume once stores k..n-1 are
 * gone (directly, or through forwarders of stores j..k-1) would read
 * something else than before where it differs. *ret_victim: the highest such
 * older store's index, in use there at its snapshot (every store up to it
 * must then be dropped too, since older ones read through it), or -1;
 * *ret_block (may be NULL): a block of its view that would change. Not
 * thread-safe with reads of v (it follows the chain as if k..n-1 were gone).
 */
int vss_revert_overlay_victim(struct vss_volume *v, unsigned k, int *ret_victim, uint64_t *ret_block);
/* The source that holds store idx's metadata and data (borrowed; NULL without data). */
struct src *vss_store_storage(const struct vss_volume *v, unsigned idx);
/*
 * The byte ranges on its storage volume that store idx really uses: its
 * metadata blocks and the data block of every descriptor (the range list may
 * overstate the store file, which Windows shrinks). Sorted. Caller frees.
 */
int vss_store_data_ranges(const struct vss_volume *v, unsigned idx, struct vss_range **ret, size_t *ret_n);
/* Offset of the VSS volume header sector (0x1e00) and its size. */
#define VSS_HEADER_OFFSET 0x1e00u
#define VSS_HEADER_SIZE 512u

/* Attribute names in diskshadow's words ("No_Auto_Release Persistent Differential"), space separated. */
void vss_attr_names(uint32_t attr, char *buf, size_t size);
/* Context name in diskshadow's words ("persistent", "clientaccessible", ...), or NULL if unknown. */
const char *vss_context_name(uint32_t ctx);

/* Parse VSS metadata from a buffer laid out as a volume (fuzzing). */
int vss_parse_buffer(const void *buf, size_t len, struct vss_volume **ret);

#endif
