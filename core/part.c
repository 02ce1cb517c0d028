/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "part.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crc32.h"
#include "log.h"
#include "macro.h"
#include "unicode.h"

#define GUIDB(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                                                    \
	{ { (a) & 0xff, (a) >> 8 & 0xff, (a) >> 16 & 0xff, (a) >> 24 & 0xff, (b) & 0xff, (b) >> 8 & 0xff,   \
	    (c) & 0xff, (c) >> 8 & 0xff, d0, d1, d2, d3, d4, d5, d6, d7 } }

const struct sr_guid part_type_basic_data =
	GUIDB(0xebd0a0a2, 0xb9e5, 0x4433, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7);
const struct sr_guid part_type_efi_system =
	GUIDB(0xc12a7328, 0xf81f, 0x11d2, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b);
const struct sr_guid part_type_msr =
	GUIDB(0xe3c9e316, 0x0b5c, 0x4db8, 0x81, 0x7d, 0xf9, 0x2d, 0xf0, 0x02, 0x15, 0xae);
const struct sr_guid part_type_recovery =
	GUIDB(0xde94bba4, 0x06d1, 0x4d40, 0xa1, 0x6a, 0xbf, 0xd5, 0x01, 0x79, 0xd6, 0xac);

#define MAX_LOGICAL 128

struct part_vec {
	struct part *v;
	size_t n, cap;
};
#define MAX_GPT_ENTRIES 1024

void part_table_free(struct part_table *t)
{
	if (!t)
		return;
	free(t->parts);
	t->parts = NULL;
	t->n = 0;
}

bool src_is_ntfs(struct src *s)
{
	uint8_t b[512];

	return src_pread(s, b, sizeof(b), 0) >= 0 && memcmp(b + 3, "NTFS    ", 8) == 0 && b[510] == 0x55 &&
	       b[511] == 0xaa;
}

static int add_part(struct src *disk, struct part_vec *v, struct part p)
{
	uint64_t end;

	if (p.size == 0)
		return 0;
	if (!add_ok(p.offset, p.size, &end) || end > disk->size)
		return sr_fail(-EBADMSG, "%s: partition %u lies outside the disk", disk->name, p.number);
	for (size_t i = 0; i < v->n; i++) {
		const struct part *q = &v->v[i];
		if (p.offset < q->offset + q->size && q->offset < end)
			return sr_fail(-EBADMSG, "%s: partitions %u and %u overlap", disk->name, q->number, p.number);
	}
	return vec_push(v, p);
}

static int read_gpt_at(struct src *disk, unsigned ss, uint64_t lba, struct part_table *t, struct part_vec *v)
{
	uint8_t hdr[512];
	_cleanup_free_ uint8_t *ents = NULL;
	uint32_t hsize, n, esize, crc;
	uint64_t elba, bytes;
	int r;

	if (lba > disk->size / ss - 1)
		return -ENOENT;
	r = src_pread(disk, hdr, sizeof(hdr), lba * ss);
	if (r < 0)
		return r;
	if (memcmp(hdr, "EFI PART", 8) != 0)
		return -ENOENT;
	hsize = le32(hdr + 12);
	if (hsize < 92 || hsize > sizeof(hdr))
		return sr_fail(-EBADMSG, "%s: GPT header size %u out of range", disk->name, hsize);
	crc = le32(hdr + 16);
	put_le32(hdr + 16, 0);
	if (crc32_le(0, hdr, hsize) != crc)
		return sr_fail(-EBADMSG, "%s: GPT header at LBA %llu has a bad CRC", disk->name, (unsigned long long)lba);
	elba = le64(hdr + 72);
	n = le32(hdr + 80);
	esize = le32(hdr + 84);
	if (esize < 128 || esize > 4096 || esize % 8 || n > MAX_GPT_ENTRIES)
		return sr_fail(-EBADMSG, "%s: GPT entry array (%u entries of %u bytes) out of range", disk->name, n, esize);
	bytes = (uint64_t)n * esize;
	if (elba > disk->size / ss || elba * ss + bytes > disk->size)
		return sr_fail(-EBADMSG, "%s: GPT entry array lies outside the disk", disk->name);
	ents = malloc(bytes ? bytes : 1);
	if (!ents)
		return -ENOMEM;
	r = src_pread(disk, ents, bytes, elba * ss);
	if (r < 0)
		return r;
	if (crc32_le(0, ents, bytes) != le32(hdr + 88))
		return sr_fail(-EBADMSG, "%s: GPT entry array has a bad CRC", disk->name);
	memcpy(&t->disk_guid, hdr + 56, 16);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = ents + (size_t)i * esize;
		struct part p = { 0 };
		uint64_t first = le64(e + 32), last = le64(e + 40);

		memcpy(&p.type, e, 16);
		if (guid_is_null(&p.type))
			continue;
		if (last < first || last >= disk->size / ss)
			return sr_fail(-EBADMSG, "%s: GPT partition %u lies outside the disk", disk->name, i + 1);
		memcpy(&p.uuid, e + 16, 16);
		p.number = i + 1;
		p.offset = first * ss;
		p.size = (last - first + 1) * ss;
		p.attributes = le64(e + 48);
		utf16le_to_utf8(e + 56, 36, p.name, sizeof(p.name));
		r = add_part(disk, v, p);
		if (r < 0)
			return r;
	}
	t->scheme = PART_GPT;
	t->sector_size = ss;
	return 0;
}

static int read_gpt(struct src *disk, struct part_table *t, struct part_vec *v)
{
	static const unsigned sizes[] = { 512, 4096 };
	int r = -ENOENT;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned ss = sizes[i];
		int r2;

		r = read_gpt_at(disk, ss, 1, t, v);
		if (r != -ENOENT && r != -EBADMSG)
			return r;
		/* the primary is missing or damaged: the backup header is in the last sector */
		v->n = 0;
		sr_errclear();
		r2 = read_gpt_at(disk, ss, disk->size / ss - 1, t, v);
		if (r2 >= 0)
			return r2;
		v->n = 0;
		if (r == -EBADMSG || r2 == -EBADMSG)
			return sr_fail(-EBADMSG, "%s: GPT primary and backup headers are both damaged", disk->name);
		sr_errclear();
	}
	return r;
}

static int read_mbr(struct src *disk, const uint8_t *mbr, struct part_table *t, struct part_vec *v)
{
	uint64_t ext_base = 0;
	unsigned next_logical = 5;
	int r;

	t->scheme = PART_MBR;
	t->sector_size = 512;
	t->disk_signature = le32(mbr + 440);
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = mbr + 446 + 16 * i;
		uint8_t type = e[4];
		struct part p = { 0 };

		if (type == 0)
			continue;
		if (e[0] != 0 && e[0] != 0x80)
			return sr_fail(-EBADMSG, "%s: MBR entry %u has a bad boot flag", disk->name, i + 1);
		if (type == 0x05 || type == 0x0f || type == 0x85) {
			if (ext_base)
				return sr_fail(-EBADMSG, "%s: MBR has two extended partitions", disk->name);
			ext_base = le32(e + 8);
			if (!ext_base)
				return sr_fail(-EBADMSG, "%s: extended partition at sector 0", disk->name);
			continue;
		}
		p.number = i + 1;
		p.mbr_type = type;
		p.bootable = e[0] == 0x80;
		p.offset = (uint64_t)le32(e + 8) * 512;
		p.size = (uint64_t)le32(e + 12) * 512;
		r = add_part(disk, v, p);
		if (r < 0)
			return r;
	}
	/* logical partitions: a chain of EBRs, each relative to the extended partition */
	for (uint64_t ebr = ext_base, n = 0; ebr; n++) {
		uint8_t b[512];
		const uint8_t *e0 = b + 446, *e1 = b + 462;
		struct part p = { 0 };

		if (n >= MAX_LOGICAL)
			return sr_fail(-EBADMSG, "%s: extended partition chain is too long or loops", disk->name);
		if (ebr > disk->size / 512 - 1)
			return sr_fail(-EBADMSG, "%s: extended boot record lies outside the disk", disk->name);
		r = src_pread(disk, b, sizeof(b), ebr * 512);
		if (r < 0)
			return r;
		if (b[510] != 0x55 || b[511] != 0xaa)
			return sr_fail(-EBADMSG, "%s: extended boot record at sector %llu has no signature", disk->name,
				       (unsigned long long)ebr);
		if (e0[4]) {
			p.number = next_logical++;
			p.mbr_type = e0[4];
			p.offset = (ebr + le32(e0 + 8)) * 512;
			p.size = (uint64_t)le32(e0 + 12) * 512;
			r = add_part(disk, v, p);
			if (r < 0)
				return r;
		}
		if (!e1[4])
			break;
		{
			uint64_t nxt = ext_base + le32(e1 + 8);
			if (nxt <= ebr)
				return sr_fail(-EBADMSG, "%s: extended partition chain loops", disk->name);
			ebr = nxt;
		}
	}
	return 0;
}

int part_table_read(struct src *disk, struct part_table *ret)
{
	struct part_table t = { 0 };
	struct part_vec v = { 0 };
	uint8_t mbr[512];
	bool protective = false;
	int r;

	if (disk->size < 512) {
		*ret = t;
		return 0;
	}
	r = src_pread(disk, mbr, sizeof(mbr), 0);
	if (r < 0)
		return r;
	if (mbr[510] != 0x55 || mbr[511] != 0xaa || memcmp(mbr + 3, "NTFS    ", 8) == 0) {
		*ret = t;
		return 0;
	}
	for (unsigned i = 0; i < 4; i++)
		if (mbr[446 + 16 * i + 4] == 0xee)
			protective = true;
	if (protective) {
		r = read_gpt(disk, &t, &v);
		if (r == -ENOENT)
			r = sr_fail(-EBADMSG, "%s: protective MBR without a GPT", disk->name);
	} else {
		r = read_mbr(disk, mbr, &t, &v);
	}
	if (r < 0) {
		free(v.v);
		return r;
	}
	t.parts = v.v;
	t.n = v.n;
	*ret = t;
	return 0;
}

int part_table_parse_buffer(const void *buf, size_t len, struct part_table *ret)
{
	_cleanup_src_ struct src *s = NULL;
	int r = src_mem_new(buf, len, "buffer", &s);

	if (r < 0)
		return r;
	return part_table_read(s, ret);
}
