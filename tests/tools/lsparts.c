/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lsparts [-s] IMAGE: the partitions core/part.c finds (part_table_read), one
 * per line, for tests/e2e/t0100-part-tables.sh to compare with sfdisk:
 *
 *   MBR: NUMBER START-SECTOR SIZE-IN-SECTORS TYPE [*]
 *   GPT: NUMBER START-SECTOR SIZE-IN-SECTORS TYPE-GUID PARTITION-GUID [NAME]
 *
 * in the table's sector size. The MBR type byte is in hex ("7", "83"), "*"
 * marks the active partition; GUIDs are in lowercase. -s first prints the scheme
 * ("mbr", "gpt" or "none"), the sector size and the disk identifier.
 * Exit 1 with a message when the table is corrupt.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/part.h"
#include "core/src.h"

int main(int argc, char **argv)
{
	struct src *disk = NULL;
	struct part_table t;
	int show_scheme = 0, r;
	const char *path;
	char id[GUID_STRING_MAX], id2[GUID_STRING_MAX];

	sr_progname = "lsparts";
	if (argc == 3 && strcmp(argv[1], "-s") == 0)
		show_scheme = 1;
	else if (argc != 2) {
		fprintf(stderr, "usage: lsparts [-s] IMAGE\n");
		return 2;
	}
	path = argv[argc - 1];
	r = src_open_file(path, false, &disk);
	if (r < 0)
		return sr_error(r, "cannot open '%s'", path);
	r = part_table_read(disk, &t);
	if (r < 0) {
		src_unref(disk);
		return sr_error(r, "cannot read the partition table of '%s'", path);
	}
	if (show_scheme) {
		if (t.scheme == PART_GPT)
			printf("gpt %u %s\n", t.sector_size, guid_format(&t.disk_guid, id));
		else if (t.scheme == PART_MBR)
			printf("mbr %u 0x%08x\n", t.sector_size, t.disk_signature);
		else
			printf("none\n");
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct part *p = &t.parts[i];
		printf("%u %llu %llu", p->number, (unsigned long long)(p->offset / t.sector_size),
		       (unsigned long long)(p->size / t.sector_size));
		if (t.scheme == PART_GPT)
			printf(" %s %s%s%s\n", guid_format(&p->type, id), guid_format(&p->uuid, id2), p->name[0] ? " " : "",
			       p->name);
		else
			printf(" %x%s\n", p->mbr_type, p->bootable ? " *" : "");
	}
	part_table_free(&t);
	src_unref(disk);
	return 0;
}
