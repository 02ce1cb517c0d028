/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vss-seed IMAGE OUT: write a fuzz-vss input (tests/fuzz/sparse.h) that
 * describes the VSS metadata of a real NTFS volume image: its size, the boot
 * sector, the last sector and the NTFS backup boot sector, the VSS header
 * sector at 0x1e00, and every 16 KiB block at a 512-aligned offset that
 * starts with the VSS GUID (catalog, store headers, block and range lists,
 * bitmaps). Trailing zeros of each piece are dropped (absent bytes read as
 * zeros). Store data blocks are not included: the seed exercises the parser,
 * not the contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "core/macro.h"

#define CHUNK (8u << 20)
#define BLK 0x4000u

static const uint8_t vss_guid[16] = { 0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e,
				      0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52 };

static FILE *out;
static unsigned n_records;

/* One record of the piece [off, off+len) of the image, trailing zeros dropped. */
static int put_record(int fd, uint64_t size, uint64_t off, size_t len)
{
	uint8_t buf[BLK], hdr[10];
	int r;

	if (off >= size)
		return 0;
	len = (size_t)MIN((uint64_t)len, size - off);
	r = pread_full(fd, buf, len, off);
	if (r < 0)
		return r;
	while (len > 0 && buf[len - 1] == 0)
		len--;
	if (len == 0)
		return 0;
	put_le64(hdr, off);
	put_le16(hdr + 8, (uint16_t)len);
	if (fwrite(hdr, 1, sizeof(hdr), out) != sizeof(hdr) || fwrite(buf, 1, len, out) != len)
		return -EIO;
	n_records++;
	return 0;
}

static int is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

int main(int argc, char **argv)
{
	_cleanup_close_ int fd = -1;
	uint8_t boot[512], hdr[8];
	uint8_t *chunk;
	uint64_t size, backup = 0;
	unsigned blocks = 0;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: vss-seed IMAGE OUT\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (r = fd_get_size(fd, &size)) < 0) {
		fprintf(stderr, "vss-seed: cannot open '%s': %s\n", argv[1], strerror(fd < 0 ? errno : -r));
		return 1;
	}
	out = fopen(argv[2], "wb");
	chunk = malloc(CHUNK);
	if (!out || !chunk) {
		fprintf(stderr, "vss-seed: cannot create '%s': %s\n", argv[2], strerror(errno));
		return 1;
	}
	put_le64(hdr, size);
	fwrite(hdr, 1, sizeof(hdr), out);

	if (size >= 512 && pread_full(fd, boot, sizeof(boot), 0) >= 0 && memcmp(boot + 3, "NTFS    ", 8) == 0) {
		uint64_t bps = le16(boot + 11), total = le64(boot + 40);
		if (bps >= 256 && bps <= 4096 && total < UINT64_MAX / bps)
			backup = total * bps;
	}
	r = put_record(fd, size, 0, 512);
	if (r >= 0 && size >= 512)
		r = put_record(fd, size, size - 512, 512);
	if (r >= 0 && backup && backup != size - 512)
		r = put_record(fd, size, backup, 512);
	if (r >= 0)
		r = put_record(fd, size, 0x1e00, 512);

	/* Scan for VSS blocks: skip holes with SEEK_DATA, and all-zero chunks. */
	for (uint64_t pos = 0; r >= 0 && pos < size;) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		size_t len;

		if (data < 0)
			break; /* ENXIO: only a hole remains */
		pos = (uint64_t)data & ~511ULL;
		len = (size_t)MIN((uint64_t)CHUNK, size - pos);
		r = pread_full(fd, chunk, len, pos);
		if (r < 0)
			break;
		if (!is_zero(chunk, len))
			for (size_t i = 0; i + 16 <= len; i += 512) {
				if (chunk[i] != vss_guid[0] || memcmp(chunk + i, vss_guid, 16) != 0)
					continue;
				if (pos + i == 0x1e00)
					continue; /* the header sector, already written */
				r = put_record(fd, size, pos + i, BLK);
				if (r < 0)
					break;
				blocks++;
			}
		pos += len;
	}
	if (r < 0) {
		fprintf(stderr, "vss-seed: cannot read '%s': %s\n", argv[1], strerror(-r));
		return 1;
	}
	if (fclose(out) != 0) {
		fprintf(stderr, "vss-seed: cannot write '%s': %s\n", argv[2], strerror(errno));
		return 1;
	}
	free(chunk);
	printf("%s: %u records, %u VSS blocks\n", argv[2], n_records, blocks);
	return 0;
}
