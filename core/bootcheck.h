/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_BOOTCHECK_H
#define SR_BOOTCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src.h"

/*
 * What a Windows volume is for, and whether its boot structures will let the
 * instance boot (used by revert --offline and by `boot check`).
 */
struct winvol_roles {
	bool ntfs;
	bool system;   /* \Windows\System32 exists: the volume Windows runs from */
	bool bootmgr;  /* \bootmgr (BIOS boot: System Reserved or the system volume) */
	bool bcd;      /* \Boot\BCD */
	bool winload;  /* \Windows\System32\winload.exe or winload.efi */
};

/*
 * Find the roles of the NTFS volume in vol (libntfs-3g, read-only). Names
 * are looked up as Windows does, ignoring case through the volume's $UpCase
 * in every namespace, any spelling counting (ntfsio_path_exists()).
 * -EMEDIUMTYPE if not NTFS; an error if a folder on the way cannot be read
 * (not "absent": callers that decide on safety then refuse).
 */
int winvol_roles(struct src *vol, struct winvol_roles *ret);

enum boot_severity { BOOT_OK, BOOT_WARN, BOOT_FATAL };

struct boot_finding {
	enum boot_severity severity;
	char what[64];   /* a short key, e.g. "hidden-sectors" */
	char text[256];  /* in plain words */
};

struct boot_report {
	struct boot_finding *v;
	size_t n, cap;
	enum boot_severity worst;
};

/*
 * Check the NTFS boot sector of vol: signature, geometry fields, total
 * sectors against the volume size, hidden sectors against the partition's
 * start sector (expected_hidden < 0: unknown, not checked), and the backup
 * boot sector in the last sector. Findings are appended to rep.
 */
int boot_check_ntfs(struct src *vol, int64_t expected_hidden, struct boot_report *rep);
void boot_report_free(struct boot_report *rep);
int boot_report_add(struct boot_report *rep, enum boot_severity s, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Does the file with that NTFS file reference exist (same sequence number) in
 * the NTFS volume in vol, with every byte of ranges[0..n) (volume offsets)
 * allocated to its unnamed data stream? For a store file whose volume is
 * reverted: the store survives only if everything it uses stays its own.
 */
struct vss_range;
int winvol_file_covers(struct src *vol, uint64_t file_ref, const struct vss_range *ranges, size_t n, bool *ret);
/* The volume ranges of that file's unnamed data stream now (none when it does not exist). Caller frees *ret. */
int winvol_file_runs(struct src *vol, uint64_t file_ref, struct vss_range **ret, size_t *ret_n);

#endif
