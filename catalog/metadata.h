/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CATALOG_METADATA_H
#define SR_CATALOG_METADATA_H

/*
 * Parsers of the metadata Windows writes about snapshot sets (formats:
 * ../shared/docs/metadata-formats.md): the Backup Components Document (BCD),
 * writer metadata (WM), a diskshadow `set metadata` .cab (Manifest.xml, BCD,
 * WMn.xml, Dis*.tmp), a VMware `*vss_manifests*.zip`, and the text that
 * diskshadow (`create`, `list shadows`) and vssadmin (`list shadows`,
 * `list shadowstorage`) print.
 *
 * Every parser reads untrusted bytes (const void *buf, size_t len) and adds
 * what it finds to a struct md; nothing here touches the catalog database.
 * On failure a parser returns a negative errno with a detail (sr_fail) and
 * the struct md may hold part of the document: callers discard it
 * (md_free) rather than import it.
 *
 *   -EBADMSG      malformed: bad XML, a cut listing, a wrong encoding, a
 *                 refused construct (DTD, entity declarations), too deep;
 *   -EFBIG        over a size limit (document, archive member, archive total,
 *                 member count): an archive bomb, or not metadata at all;
 *   -EMEDIUMTYPE  well-formed, but not a document this module knows.
 *
 * Not thread-safe: libxml2 is initialized on first use. GUIDs are kept as
 * struct sr_guid; text is UTF-8, owned by the struct md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/guid.h"

/* Limits against hostile input; md_limits_set() lowers them for fuzzing. */
struct md_limits {
	size_t doc_max;       /* one document (XML or listing), encoded bytes */
	size_t member_max;    /* one archive member, uncompressed */
	size_t archive_total; /* all archive members together, uncompressed */
	unsigned members_max; /* archive members */
	unsigned xml_depth;   /* element nesting */
};
extern struct md_limits md_limits;
#define MD_DOC_MAX (32u << 20)
#define MD_MEMBER_MAX (32u << 20)
#define MD_ARCHIVE_TOTAL (128u << 20)
#define MD_MEMBERS_MAX 1024u
#define MD_XML_DEPTH 64u
void md_limits_reset(void);

enum md_level {
	MD_LEVEL_UNKNOWN = 0,
	MD_LEVEL_CRASH = 1,
	MD_LEVEL_FS = 2,
	MD_LEVEL_APP = 3,
};
/* "crash-consistent", "file-system-consistent", "application-consistent", "unknown". */
const char *md_level_name(enum md_level l);
/* The inverse of md_level_name(); MD_LEVEL_UNKNOWN for anything else. */
enum md_level md_level_from_name(const char *s);

enum md_doc_kind {
	MD_DOC_UNKNOWN = 0,
	MD_DOC_BCD,        /* BACKUP_COMPONENTS */
	MD_DOC_WM,         /* WRITER_METADATA */
	MD_DOC_MANIFEST,   /* diskshadow cab Manifest.xml */
	MD_DOC_LISTING,    /* diskshadow / vssadmin text */
	MD_DOC_CAB,        /* diskshadow `set metadata` cab */
	MD_DOC_ZIP,        /* VMware vss-manifest zip */
};
const char *md_doc_kind_name(enum md_doc_kind k);

struct md_set {
	struct sr_guid id;
	char *machine;      /* cab ShadowCopySet@MachineName */
	char *created_text; /* listing creation time, verbatim (local, localized) */
	char *backup_type;  /* BCD backupType */
	int bootable;       /* BCD bootableSystemStateBackup: -1 unknown, 0, 1 */
	int shadow_count;   /* shadows in the set at creation ("Contained N", "Original count"), -1 unknown */
	int64_t context;    /* VSS_CTX_*, -1 unknown */
};

struct md_shadow {
	struct sr_guid id, set_id;
	bool has_set;
	char *volume_path;  /* \\?\Volume{...}\ */
	char *volume_name;  /* C:\, C:, or a mount path, as printed */
	char *device;       /* \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN */
	char *originating_machine, *service_machine;
	char *provider;     /* GUID text or display name */
	char *created_text; /* verbatim */
	uint64_t created_ft; /* FILETIME when known (BCD timestamp), else 0 */
	char *type;         /* vssadmin Type */
	char *exposure;     /* diskshadow exposure line, verbatim */
	char *alias;
	char *attr_text;    /* verbatim attribute words */
	uint32_t attributes; /* VSS_VOLSNAP_ATTR_* of the words recognized */
	bool has_attributes; /* every attribute word was recognized */
	int64_t context;    /* -1 unknown */
};

struct md_component {
	char *logical_path; /* "" when none */
	char *name;
	char *caption;
	char *type;
	bool selected; /* named in the BCD */
};

struct md_writer {
	struct sr_guid writer_id, instance_id;
	struct sr_guid set_id;
	bool has_set;
	char *name, *instance_name, *usage, *data_source, *restore_method;
	int reboot_required; /* -1 unknown */
	bool in_bcd;         /* a WRITER_COMPONENTS element names it */
	bool has_wm;         /* its writer metadata document was seen */
	bool named_only;     /* named by a listing without its IDs: writer_id and instance_id are null */
	VEC(struct md_component) comps;
};

struct md_storage {
	char *for_path, *for_name;         /* volume whose shadows are stored */
	char *storage_path, *storage_name; /* volume that stores them */
	char *used, *allocated, *maximum;  /* verbatim sizes */
};

/* Document-level evidence about a set's consistency. */
struct md_evidence {
	struct sr_guid set_id;
	bool has_set;
	enum md_level level;
	bool strong; /* decides the set level over weaker evidence (NO_WRITERS) */
	char *text;
};

struct md {
	VEC(struct md_set) sets;
	VEC(struct md_shadow) shadows;
	VEC(struct md_writer) writers;
	VEC(struct md_storage) storage;
	VEC(struct md_evidence) evidence;
	/* the documents seen (archive members included), for messages and counts */
	unsigned n_docs[MD_DOC_ZIP + 1];
};

void md_init(struct md *m);
void md_free(struct md *m);

/*
 * Parse one document of any kind above, told apart by content (and, inside an
 * archive, by member name). name is for messages only.
 */
int md_parse_document(struct md *m, const char *name, const void *buf, size_t len);

/* The parsers behind md_parse_document(). */
int md_parse_xml(struct md *m, const void *buf, size_t len);     /* BCD, WM or cab Manifest.xml */
int md_parse_listing(struct md *m, const void *buf, size_t len); /* diskshadow / vssadmin text */
int md_parse_archive(struct md *m, const void *buf, size_t len); /* .cab or .zip */

/*
 * After all documents of one import: merge writers seen in the BCD and in WM
 * documents of the same set (writer ID + instance ID); give set-less writers
 * and evidence the set default_set (when not NULL).
 */
int md_finish(struct md *m, const struct sr_guid *default_set);

/*
 * Decode a text document to UTF-8: BOM (UTF-8, UTF-16LE/BE), UTF-16LE without
 * BOM (sniffed from "<\0" or a NUL in every odd byte), else strict UTF-8.
 * Trailing NULs are dropped; other C0 controls than TAB, LF, CR are refused
 * (-EBADMSG, with a detail naming the encoding problem and its offset).
 * *ret is NUL-terminated, malloc'ed.
 */
int md_decode_text(const void *buf, size_t len, char **ret, size_t *ret_len);

/* Attribute words (diskshadow's "No_Writers", vssadmin's "No writers") to a flag; 0 if unknown. */
bool md_attr_word(const char *word, size_t len, uint32_t *ret);
/* vssadmin Type word to a VSS context; -1 if unknown. */
int64_t md_type_context(const char *type);

/* Level implied by a VSS context (without TRANSPORTABLE/DIFFERENTIAL/PLEX bits), MD_LEVEL_UNKNOWN if none. */
enum md_level md_context_level(uint32_t ctx);

#endif
