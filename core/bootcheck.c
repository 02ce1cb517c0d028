/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bootcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HAVE_STDINT_H 1
#define HAVE_SYS_STAT_H 1
#define le16 ntfs_le16
#define le32 ntfs_le32
#define le64 ntfs_le64
#include <ntfs-3g/types.h>
#include <ntfs-3g/volume.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/attrib.h>
#undef le16
#undef le32
#undef le64

#include "buf.h"
#include "log.h"
#include "macro.h"
#include "ntfsio.h"
#include "vss.h"

int winvol_roles(struct src *vol, struct winvol_roles *ret)
{
	static const char *const winload[] = { "/Windows/System32/winload.exe", "/Windows/System32/winload.efi" };
	struct ntfsio *n = NULL;
	struct winvol_roles x = { 0 };
	int r;

	r = ntfsio_open(vol, &n);
	if (r < 0)
		return r;
	x.ntfs = true;
	/* as Windows finds them: any spelling, any namespace (ntfsio_path_exists() says why) */
	r = ntfsio_path_exists(n, "/Windows/System32", &x.system);
	if (r >= 0)
		r = ntfsio_path_exists(n, "/bootmgr", &x.bootmgr);
	if (r >= 0)
		r = ntfsio_path_exists(n, "/Boot/BCD", &x.bcd);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(winload) && !x.winload; i++)
		r = ntfsio_path_exists(n, winload[i], &x.winload);
	ntfsio_close(n);
	if (r < 0)
		return r;
	*ret = x;
	return 0;
}

int winvol_file_runs(struct src *vol, uint64_t file_ref, struct vss_range **ret, size_t *ret_n)
{
	struct ntfsio *nio = NULL;
	ntfs_inode *ni = NULL;
	ntfs_attr *na = NULL;
	VEC(struct vss_range) out = { 0 };
	uint16_t seq = (uint16_t)(file_ref >> 48);
	uint64_t cs;
	int r;

	r = ntfsio_open(vol, &nio);
	if (r < 0)
		return r;
	cs = ntfsio_cluster_size(nio);
	ni = ntfs_inode_open(ntfsio_volume(nio), (MFT_REF)(file_ref & 0xffffffffffffULL));
	if (!ni || !(ni->mrec->flags & MFT_RECORD_IN_USE) || (seq && le16_to_cpu(ni->mrec->sequence_number) != seq))
		goto out; /* no such file (any more): no runs */
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na || !NAttrNonResident(na))
		goto out;
	if (ntfs_attr_map_whole_runlist(na) < 0) {
		r = sr_fail(-EBADMSG, "%s: cannot map the runs of file %llu", vol->name,
			    (unsigned long long)(file_ref & 0xffffffffffffULL));
		goto out;
	}
	for (const runlist_element *rl = na->rl; rl && rl->length && r >= 0; rl++)
		if (rl->lcn >= 0)
			r = vec_push(&out, ((struct vss_range){ (uint64_t)rl->lcn * cs, (uint64_t)rl->length * cs }));
out:
	if (na)
		ntfs_attr_close(na);
	if (ni)
		ntfs_inode_close(ni);
	ntfsio_close(nio);
	if (r < 0) {
		free(out.v);
		return r;
	}
	sr_errclear();
	*ret = out.v;
	*ret_n = out.n;
	return 0;
}

int winvol_file_covers(struct src *vol, uint64_t file_ref, const struct vss_range *ranges, size_t n, bool *ret)
{
	struct vss_range *runs = NULL;
	size_t nr = 0;
	bool ok;
	int r;

	r = winvol_file_runs(vol, file_ref, &runs, &nr);
	if (r == -EBADMSG) { /* runs that cannot be mapped are nothing the store can count on */
		sr_errclear();
		*ret = false;
		return 0;
	}
	if (r < 0)
		return r;
	ok = nr > 0; /* a file that is gone, or resident, covers nothing */
	for (size_t i = 0; i < n && ok; i++)
		/* every byte of the range in a run of this file (runs are whole clusters) */
		for (uint64_t at = ranges[i].off; at < ranges[i].off + ranges[i].len && ok;) {
			ok = false;
			for (size_t k = 0; k < nr; k++)
				if (runs[k].off <= at && at < runs[k].off + runs[k].len) {
					at = runs[k].off + runs[k].len; /* skip to the end of this run */
					ok = true;
					break;
				}
		}
	free(runs);
	*ret = ok;
	return 0;
}

int boot_report_add(struct boot_report *rep, enum boot_severity s, const char *what, const char *fmt, ...)
{
	struct boot_finding f = { .severity = s };
	va_list ap;

	snprintf(f.what, sizeof(f.what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(f.text, sizeof(f.text), fmt, ap);
	va_end(ap);
	if (s > rep->worst)
		rep->worst = s;
	return vec_push(rep, f);
}

void boot_report_free(struct boot_report *rep)
{
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}

int boot_check_ntfs(struct src *vol, int64_t expected_hidden, struct boot_report *rep)
{
	uint8_t b[512], bk[512];
	uint64_t total, bps, spc, mft, mftmirr, hidden;
	int r;

	r = src_pread(vol, b, sizeof(b), 0);
	if (r < 0)
		return boot_report_add(rep, BOOT_FATAL, "boot-sector", "the boot sector cannot be read: %s",
				       strerror(-r));
	if (memcmp(b + 3, "NTFS    ", 8) != 0)
		return boot_report_add(rep, BOOT_FATAL, "boot-sector", "the first sector is not an NTFS boot sector");
	if (b[510] != 0x55 || b[511] != 0xaa)
		boot_report_add(rep, BOOT_FATAL, "boot-signature", "the boot sector lacks its 55 AA signature");
	bps = le16(b + 11);
	spc = b[13];
	if (spc > 0x80)
		spc = 1ull << (256 - spc); /* large clusters are stored as a negative power of two */
	total = le64(b + 40);
	mft = le64(b + 48);
	mftmirr = le64(b + 56);
	hidden = le32(b + 28);
	if (bps < 256 || bps > 4096 || (bps & (bps - 1)))
		return boot_report_add(rep, BOOT_FATAL, "sector-size", "the boot sector's sector size %llu is not valid",
				       (unsigned long long)bps);
	if (!spc || (spc & (spc - 1)))
		return boot_report_add(rep, BOOT_FATAL, "cluster-size", "the boot sector's cluster size is not valid");
	if ((total + 1) * bps > vol->size)
		boot_report_add(rep, BOOT_FATAL, "total-sectors",
				"the boot sector says the volume has %llu sectors, but it has only %llu: Windows will not mount it",
				(unsigned long long)(total + 1), (unsigned long long)(vol->size / bps));
	if (mft * spc >= total || mftmirr * spc >= total)
		boot_report_add(rep, BOOT_FATAL, "mft-location", "the $MFT or $MFTMirr location lies outside the volume");
	if (expected_hidden >= 0 && hidden != (uint64_t)expected_hidden)
		boot_report_add(rep, BOOT_FATAL, "hidden-sectors",
				"the boot sector says the volume starts at sector %llu, but its partition starts at sector %lld: the boot loader will not find it (boot fix rewrites it)",
				(unsigned long long)hidden, (long long)expected_hidden);
	if ((total + 1) * bps <= vol->size) {
		r = src_pread(vol, bk, sizeof(bk), total * bps);
		if (r < 0 || memcmp(bk + 3, "NTFS    ", 8) != 0)
			boot_report_add(rep, BOOT_WARN, "backup-boot-sector",
					"the backup boot sector (last sector, %llu) is missing: chkdsk cannot repair the boot sector from it, and libvshadow refuses such volumes",
					(unsigned long long)total);
		else if (memcmp(bk, b, sizeof(b)) != 0)
			boot_report_add(rep, BOOT_WARN, "backup-boot-sector",
					"the backup boot sector differs from the boot sector");
	}
	return 0;
}
