/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `shadowrev boot check|fix TARGET`: offline boot-volume reconstruction.
 * Will this disk (or volume) boot, and if not, why, in plain words; and fix
 * what depends on where a volume sits: the NTFS boot sector's hidden sectors
 * (the partition's start), a missing or stale backup boot sector, the MBR's
 * active flag.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bootcheck.h"
#include "core/cli.h"
#include "core/fat.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/part.h"
#include "core/target.h"
#include "recover.h"

enum pkind { P_OTHER, P_ESP, P_MSR, P_NTFS, P_FAT };

struct pinfo {
	struct part p; /* number 0: the whole target is one volume */
	enum pkind kind;
	struct winvol_roles roles;
	struct boot_report rep;
	bool esp_bootmgfw, esp_bcd, esp_fallback;
	const char *fat_type;
	/* fixes */
	bool fix_hidden, fix_backup;
	uint32_t hidden_want;
};

struct disk {
	const char *path;
	struct src *src;
	struct part_table t;
	struct pinfo *parts;
	size_t n;
	struct boot_report verdict;
	bool fix_active;
	unsigned active_want; /* partition number to mark active (MBR) */
};

static const char *kind_name(const struct pinfo *p)
{
	switch (p->kind) {
	case P_ESP: return "EFI system partition";
	case P_MSR: return "Microsoft reserved partition";
	case P_NTFS: return p->roles.system ? "NTFS, Windows system volume" : (p->roles.bootmgr ? "NTFS, boot (System Reserved)" : "NTFS");
	case P_FAT: return "FAT";
	default: return "other";
	}
}

static int inspect_part(struct disk *d, struct pinfo *pi)
{
	_cleanup_src_ struct src *s = NULL;
	char name[4200];
	int r;

	if (pi->p.number == 0) {
		s = src_ref(d->src);
	} else {
		snprintf(name, sizeof(name), "%s:p%u", d->path, pi->p.number);
		r = src_slice_new(d->src, pi->p.offset, pi->p.size, name, &s);
		if (r < 0)
			return r;
	}
	if (d->t.scheme == PART_GPT && guid_equal(&pi->p.type, &part_type_msr)) {
		pi->kind = P_MSR;
		return 0;
	}
	if (src_is_ntfs(s)) {
		int64_t hidden = pi->p.number ? (int64_t)(pi->p.offset / 512) : -1;
		uint8_t b[512];
		pi->kind = P_NTFS;
		r = boot_check_ntfs(s, hidden, &pi->rep);
		if (r < 0)
			return r;
		if (winvol_roles(s, &pi->roles) < 0) {
			sr_errclear();
			boot_report_add(&pi->rep, BOOT_FATAL, "ntfs", "the NTFS file system cannot be opened");
		}
		for (size_t i = 0; i < pi->rep.n; i++) {
			if (strcmp(pi->rep.v[i].what, "hidden-sectors") == 0 && pi->p.offset / 512 <= UINT32_MAX) {
				pi->fix_hidden = true;
				pi->hidden_want = (uint32_t)(pi->p.offset / 512);
			}
			if (strcmp(pi->rep.v[i].what, "backup-boot-sector") == 0)
				pi->fix_backup = true;
		}
		(void)b;
		return 0;
	}
	{
		struct fat_fs *f = NULL;
		if (fat_open(s, &f) == 0) {
			struct fat_stat st;
			bool esp = (d->t.scheme == PART_GPT && guid_equal(&pi->p.type, &part_type_efi_system)) ||
				   (d->t.scheme == PART_MBR && pi->p.mbr_type == 0xef);
			pi->kind = esp ? P_ESP : P_FAT;
			pi->fat_type = fat_type(f);
			pi->esp_bootmgfw = fat_lookup(f, "/EFI/Microsoft/Boot/bootmgfw.efi", &st) == 0 && !st.dir;
			pi->esp_bcd = fat_lookup(f, "/EFI/Microsoft/Boot/BCD", &st) == 0 && !st.dir;
			pi->esp_fallback = fat_lookup(f, "/EFI/Boot/bootx64.efi", &st) == 0 && !st.dir;
			fat_close(f);
		} else {
			sr_errclear();
			if ((d->t.scheme == PART_GPT && guid_equal(&pi->p.type, &part_type_efi_system)) ||
			    (d->t.scheme == PART_MBR && pi->p.mbr_type == 0xef)) {
				pi->kind = P_ESP;
				boot_report_add(&pi->rep, BOOT_FATAL, "esp-fs",
						"the EFI system partition holds no FAT file system");
			}
		}
	}
	return 0;
}

/* The verdict for the whole disk: will the firmware find a boot manager, a BCD and Windows? */
static void judge(struct disk *d)
{
	struct boot_report *v = &d->verdict;
	struct pinfo *sys = NULL, *esp = NULL, *active = NULL;

	for (size_t i = 0; i < d->n; i++) {
		struct pinfo *pi = &d->parts[i];
		if (pi->kind == P_NTFS && pi->roles.system && !sys)
			sys = pi;
		if (pi->kind == P_ESP && !esp)
			esp = pi;
		if (d->t.scheme == PART_MBR && pi->p.bootable)
			active = pi;
		for (size_t k = 0; k < pi->rep.n; k++)
			if (pi->rep.v[k].severity > v->worst)
				v->worst = pi->rep.v[k].severity;
	}
	if (!sys)
		boot_report_add(v, BOOT_FATAL, "no-system", "no volume holds \\Windows\\System32: there is no Windows to start");
	else if (!sys->roles.winload)
		boot_report_add(v, BOOT_FATAL, "winload", "the system volume has no \\Windows\\System32\\winload.exe or winload.efi");
	if (d->t.scheme == PART_NONE) {
		boot_report_add(v, BOOT_WARN, "volume-only",
				"this is a volume image: its disk's partition table and boot partition are not here, so only the volume itself was checked");
		return;
	}
	if (d->t.scheme == PART_GPT) {
		if (!esp)
			boot_report_add(v, BOOT_FATAL, "no-esp", "a GPT disk boots with UEFI, and it has no EFI system partition");
		else if (!esp->esp_bootmgfw && !esp->esp_fallback)
			boot_report_add(v, BOOT_FATAL, "bootmgfw",
					"the EFI system partition has neither \\EFI\\Microsoft\\Boot\\bootmgfw.efi nor \\EFI\\Boot\\bootx64.efi: the firmware finds no boot manager");
		else if (!esp->esp_bcd)
			boot_report_add(v, BOOT_FATAL, "bcd",
					"the EFI system partition has no \\EFI\\Microsoft\\Boot\\BCD: the boot manager has no boot configuration");
		return;
	}
	/* MBR: BIOS boots the active partition's boot sector, which loads bootmgr and \Boot\BCD */
	{
		uint8_t mbr[512];
		static const uint8_t zero[440];
		if (src_pread(d->src, mbr, sizeof(mbr), 0) >= 0 && memcmp(mbr, zero, sizeof(zero)) == 0)
			boot_report_add(v, BOOT_FATAL, "mbr-code", "the MBR has no boot code: BIOS has nothing to run");
	}
	if (!active) {
		struct pinfo *cand = NULL;
		for (size_t i = 0; i < d->n; i++)
			if (d->parts[i].kind == P_NTFS && d->parts[i].roles.bootmgr && d->parts[i].roles.bcd) {
				cand = &d->parts[i];
				break;
			}
		if (cand) {
			d->fix_active = true;
			d->active_want = cand->p.number;
			boot_report_add(v, BOOT_FATAL, "active",
					"no partition is marked active: BIOS finds nothing to boot (partition %u holds bootmgr and \\Boot\\BCD; boot fix marks it active)",
					cand->p.number);
		} else {
			boot_report_add(v, BOOT_FATAL, "active", "no partition is marked active, and none holds bootmgr and \\Boot\\BCD");
		}
	} else if (active->kind != P_NTFS || !active->roles.bootmgr) {
		boot_report_add(v, BOOT_FATAL, "bootmgr", "the active partition %u has no \\bootmgr", active->p.number);
	} else if (!active->roles.bcd) {
		boot_report_add(v, BOOT_FATAL, "bcd", "the active partition %u has no \\Boot\\BCD", active->p.number);
	}
}

static int disk_open(const char *path, struct disk *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->path = path;
	r = src_open_file(path, false, &d->src);
	if (r < 0)
		return sr_fail(r, "cannot open '%s': %s", path, sr_errmsg(r));
	if (!src_is_ntfs(d->src)) {
		r = part_table_read(d->src, &d->t);
		if (r < 0)
			return r;
	}
	d->n = d->t.scheme == PART_NONE ? 1 : d->t.n;
	d->parts = calloc(d->n ? d->n : 1, sizeof(*d->parts));
	if (!d->parts)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		if (d->t.scheme != PART_NONE)
			d->parts[i].p = d->t.parts[i];
		else
			d->parts[i].p.size = d->src->size;
		r = inspect_part(d, &d->parts[i]);
		if (r < 0)
			return r;
	}
	if (d->t.scheme == PART_NONE && d->parts[0].kind != P_NTFS)
		return sr_fail(-EMEDIUMTYPE, "'%s' is neither a disk with a partition table nor an NTFS volume", path);
	judge(d);
	return 0;
}

static void disk_close(struct disk *d)
{
	for (size_t i = 0; i < d->n; i++)
		boot_report_free(&d->parts[i].rep);
	free(d->parts);
	boot_report_free(&d->verdict);
	part_table_free(&d->t);
	src_unref(d->src);
}

static const char *sev(enum boot_severity s)
{
	return s == BOOT_FATAL ? "error" : s == BOOT_WARN ? "warning" : "ok";
}

static void print_report(const struct disk *d, bool json)
{
	if (json) {
		struct json j;
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_kstr(&j, "target", d->path);
		json_kstr(&j, "scheme", d->t.scheme == PART_GPT ? "gpt" : d->t.scheme == PART_MBR ? "mbr" : "none");
		json_kbool(&j, "bootable", d->verdict.worst != BOOT_FATAL);
		json_key(&j, "partitions");
		json_arr_begin(&j);
		for (size_t i = 0; i < d->n; i++) {
			const struct pinfo *pi = &d->parts[i];
			json_obj_begin(&j);
			json_ku64(&j, "number", pi->p.number);
			json_ku64(&j, "offset", pi->p.offset);
			json_ku64(&j, "size", pi->p.size);
			json_kstr(&j, "kind", kind_name(pi));
			if (pi->kind == P_NTFS) {
				json_kbool(&j, "system", pi->roles.system);
				json_kbool(&j, "bootmgr", pi->roles.bootmgr);
				json_kbool(&j, "bcd", pi->roles.bcd);
				json_kbool(&j, "winload", pi->roles.winload);
			}
			if (pi->kind == P_ESP || pi->kind == P_FAT) {
				json_kstr(&j, "fat", pi->fat_type);
				json_kbool(&j, "bootmgfw", pi->esp_bootmgfw);
				json_kbool(&j, "bcd", pi->esp_bcd);
			}
			json_key(&j, "findings");
			json_arr_begin(&j);
			for (size_t k = 0; k < pi->rep.n; k++) {
				json_obj_begin(&j);
				json_kstr(&j, "severity", sev(pi->rep.v[k].severity));
				json_kstr(&j, "what", pi->rep.v[k].what);
				json_kstr(&j, "text", pi->rep.v[k].text);
				json_obj_end(&j);
			}
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "findings");
		json_arr_begin(&j);
		for (size_t k = 0; k < d->verdict.n; k++) {
			json_obj_begin(&j);
			json_kstr(&j, "severity", sev(d->verdict.v[k].severity));
			json_kstr(&j, "what", d->verdict.v[k].what);
			json_kstr(&j, "text", d->verdict.v[k].text);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
		return;
	}
	printf("%s: %s\n", d->path,
	       d->t.scheme == PART_GPT ? "GPT disk (UEFI boot)" : d->t.scheme == PART_MBR ? "MBR disk (BIOS boot)" : "volume image");
	for (size_t i = 0; i < d->n; i++) {
		const struct pinfo *pi = &d->parts[i];
		if (pi->p.number)
			printf("  partition %u at sector %llu: %s%s", pi->p.number, (unsigned long long)(pi->p.offset / 512),
			       kind_name(pi), pi->p.bootable ? ", active" : "");
		else
			printf("  %s", kind_name(pi));
		if (pi->kind == P_ESP || pi->kind == P_FAT)
			printf(" (%s; bootmgfw.efi %s, BCD %s)", pi->fat_type ? pi->fat_type : "?",
			       pi->esp_bootmgfw ? "present" : "missing", pi->esp_bcd ? "present" : "missing");
		if (pi->kind == P_NTFS && (pi->roles.bootmgr || pi->roles.bcd))
			printf(" (bootmgr %s, BCD %s)", pi->roles.bootmgr ? "present" : "missing",
			       pi->roles.bcd ? "present" : "missing");
		printf("\n");
		for (size_t k = 0; k < pi->rep.n; k++)
			printf("    %s: %s\n", sev(pi->rep.v[k].severity), pi->rep.v[k].text);
	}
	for (size_t k = 0; k < d->verdict.n; k++)
		printf("  %s: %s\n", sev(d->verdict.v[k].severity), d->verdict.v[k].text);
	printf("%s\n", d->verdict.worst == BOOT_FATAL ? "Verdict: it will not boot as it is."
						       : "Verdict: nothing found that would stop it from booting.");
}

/* The writes a fix makes: (offset, 512 bytes). */
struct fixw {
	uint64_t off;
	uint8_t data[512];
	char what[128];
};

static int plan_fix(struct disk *d, struct fixw *w, size_t max, size_t *ret_n)
{
	size_t n = 0;
	int r;

	for (size_t i = 0; i < d->n; i++) {
		struct pinfo *pi = &d->parts[i];
		uint8_t b[512];
		uint64_t total;

		if (pi->kind != P_NTFS || (!pi->fix_hidden && !pi->fix_backup))
			continue;
		r = src_pread(d->src, b, sizeof(b), pi->p.offset);
		if (r < 0)
			return r;
		total = le64(b + 40);
		if (pi->fix_hidden)
			put_le32(b + 28, pi->hidden_want);
		if ((total + 1) * le16(b + 11) > pi->p.size)
			return sr_fail(-EBADMSG, "%s: partition %u is smaller than its NTFS boot sector says: not fixable here",
				       d->path, pi->p.number);
		if (n + 2 > max)
			return -E2BIG;
		/* the backup first, then the primary: a crash in between leaves a valid pair */
		w[n].off = pi->p.offset + total * le16(b + 11);
		memcpy(w[n].data, b, sizeof(b));
		snprintf(w[n].what, sizeof(w[n].what), "partition %u: backup boot sector%s", pi->p.number,
			 pi->fix_hidden ? " (hidden sectors)" : "");
		n++;
		if (pi->fix_hidden) {
			w[n].off = pi->p.offset;
			memcpy(w[n].data, b, sizeof(b));
			snprintf(w[n].what, sizeof(w[n].what), "partition %u: boot sector hidden sectors %u", pi->p.number,
				 pi->hidden_want);
			n++;
		}
	}
	if (d->fix_active && d->t.scheme == PART_MBR && d->active_want >= 1 && d->active_want <= 4 && n < max) {
		r = src_pread(d->src, w[n].data, 512, 0);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < 4; i++)
			w[n].data[446 + 16 * i] = (uint8_t)(i + 1 == d->active_want ? 0x80 : 0);
		w[n].off = 0;
		snprintf(w[n].what, sizeof(w[n].what), "MBR: mark partition %u active", d->active_want);
		n++;
	}
	*ret_n = n;
	return 0;
}

int cmd_boot(int argc, char **argv)
{
	enum { OPT_YES = OPT_FIRST_VERB_OPTION, OPT_DRY };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "yes", no_argument, NULL, OPT_YES },
					      { "dry-run", no_argument, NULL, OPT_DRY },
					      { 0 } };
	struct cli_common c = { 0 };
	bool yes = false, dry = false, fix;
	struct disk d;
	struct fixw w[64];
	size_t nw = 0;
	int o, ex, r, fd = -1;

	while ((o = cli_getopt(argc, argv, "y", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("boot", o, argc, argv);
		if (cli_common_option(&c, "boot", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_YES || o == 'y')
			yes = true;
		else if (o == OPT_DRY)
			dry = true;
	}
	if (optind >= argc)
		return cli_usage("boot", "check or fix?");
	if (strcmp(argv[optind], "check") != 0 && strcmp(argv[optind], "fix") != 0)
		return cli_usage("boot", "'%s' is neither check nor fix", argv[optind]);
	fix = strcmp(argv[optind], "fix") == 0;
	if (optind + 2 != argc)
		return cli_usage("boot", "give one TARGET (a disk or volume image, or a block device)");
	r = disk_open(argv[optind + 1], &d);
	if (r < 0) {
		disk_close(&d);
		return sr_error(r, "cannot check '%s'", argv[optind + 1]);
	}
	if (!fix) {
		print_report(&d, c.json);
		r = d.verdict.worst == BOOT_FATAL ? EXIT_PARTIAL : EXIT_OK;
		disk_close(&d);
		return r;
	}
	r = plan_fix(&d, w, ARRAY_SIZE(w), &nw);
	if (r < 0) {
		disk_close(&d);
		return sr_error(r, "cannot fix '%s'", d.path);
	}
	if (!c.json)
		for (size_t i = 0; i < nw; i++)
			printf("%s %s\n", dry ? "would write" : "writing", w[i].what);
	if (nw == 0 && !c.json)
		printf("nothing that boot fix can repair%s\n", d.verdict.worst == BOOT_FATAL ? " (see boot check)" : "");
	if (dry || nw == 0) {
		disk_close(&d);
		return EXIT_OK;
	}
	if (!yes) {
		disk_close(&d);
		return sr_error(0, "not writing to '%s' without --yes", argv[optind + 1]);
	}
	r = target_open(d.path, &fd);
	for (size_t i = 0; i < nw && r >= 0; i++)
		r = pwrite_full(fd, w[i].data, 512, w[i].off);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		disk_close(&d);
		return sr_error(r, "cannot fix '%s'", argv[optind + 1]);
	}
	/* check again, from the bytes now on the target */
	{
		const char *path = d.path;
		disk_close(&d);
		r = disk_open(path, &d);
		if (r < 0) {
			disk_close(&d);
			return sr_error(r, "cannot check '%s' after the fix", path);
		}
		print_report(&d, c.json);
		r = d.verdict.worst == BOOT_FATAL ? EXIT_PARTIAL : EXIT_OK;
		disk_close(&d);
	}
	return r;
}
