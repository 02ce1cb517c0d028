/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vsscmp A B USED: compare two volume images (or shadow copy views) on the
 * 16 KiB blocks listed in USED ("FIRST_BLOCK COUNT" lines, as mkvss writes
 * state-K.used). Prints "N blocks compared, M differ" and the first few
 * differing blocks. Exit 0: none differ; 1: some do; 2: usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "core/macro.h"

#define BLK 16384u
#define RUN_MAX 64u /* blocks per read */
#define SHOW_MAX 10

struct img {
	const char *path;
	int fd;
	uint64_t size;
};

static int img_open(struct img *m, const char *path)
{
	int r;

	m->path = path;
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0) {
		fprintf(stderr, "vsscmp: cannot open '%s': %s\n", path, strerror(errno));
		return -errno;
	}
	r = fd_get_size(m->fd, &m->size);
	if (r < 0) {
		fprintf(stderr, "vsscmp: cannot get the size of '%s': %s\n", path, strerror(-r));
		return r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_free_ uint8_t *a = NULL, *b = NULL;
	struct img ia = { 0 }, ib = { 0 };
	uint64_t compared = 0, differ = 0, shown[SHOW_MAX];
	unsigned long line = 0;
	char text[256];
	FILE *used;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: vsscmp A B USED\n"
		       "\n"
		       "Compare images A and B on the 16 KiB blocks listed in USED (lines\n"
		       "\"FIRST_BLOCK COUNT\", as in mkvss's state-K.used). Prints \"N blocks\n"
		       "compared, M differ\" and the first differing blocks. Exit status: 0 when\n"
		       "none differ, 1 when some do, 2 on errors.\n");
		return 0;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: vsscmp A B USED\n");
		return 2;
	}
	a = malloc((size_t)RUN_MAX * BLK);
	b = malloc((size_t)RUN_MAX * BLK);
	if (!a || !b) {
		fprintf(stderr, "vsscmp: out of memory\n");
		return 2;
	}
	if (img_open(&ia, argv[1]) < 0 || img_open(&ib, argv[2]) < 0)
		return 2;
	used = fopen(argv[3], "re");
	if (!used) {
		fprintf(stderr, "vsscmp: cannot open '%s': %s\n", argv[3], strerror(errno));
		return 2;
	}
	while (fgets(text, sizeof(text), used)) {
		unsigned long long first, count;
		char extra;

		line++;
		if (text[0] == '\n' || text[0] == '#')
			continue;
		if (sscanf(text, "%llu %llu %c", &first, &count, &extra) != 2 || first > UINT64_MAX / BLK ||
		    count > UINT64_MAX / BLK - first) {
			fprintf(stderr, "vsscmp: %s:%lu: expected \"FIRST_BLOCK COUNT\"\n", argv[3], line);
			fclose(used);
			return 2;
		}
		if ((first + count) * BLK > ia.size || (first + count) * BLK > ib.size) {
			fprintf(stderr, "vsscmp: %s:%lu: blocks %llu..%llu lie beyond the end of '%s'\n", argv[3], line,
				first, first + count - 1, (first + count) * BLK > ia.size ? ia.path : ib.path);
			fclose(used);
			return 2;
		}
		while (count > 0) {
			size_t n = (size_t)MIN(count, (unsigned long long)RUN_MAX);
			int r = pread_full(ia.fd, a, n * BLK, first * BLK);
			const char *bad = ia.path;

			if (r >= 0) {
				r = pread_full(ib.fd, b, n * BLK, first * BLK);
				bad = ib.path;
			}
			if (r < 0) {
				fprintf(stderr, "vsscmp: cannot read '%s' at block %llu: %s\n", bad, first, strerror(-r));
				fclose(used);
				return 2;
			}
			for (size_t i = 0; i < n; i++) {
				compared++;
				if (memcmp(a + i * BLK, b + i * BLK, BLK) == 0)
					continue;
				if (differ < SHOW_MAX)
					shown[differ] = first + i;
				differ++;
			}
			first += n;
			count -= n;
		}
	}
	fclose(used);
	printf("%" PRIu64 " blocks compared, %" PRIu64 " differ\n", compared, differ);
	if (differ) {
		printf("first differing blocks:");
		for (uint64_t i = 0; i < MIN(differ, (uint64_t)SHOW_MAX); i++)
			printf(" %" PRIu64, shown[i]);
		printf("\n");
	}
	return differ ? 1 : 0;
}
