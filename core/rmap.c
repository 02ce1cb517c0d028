/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Range maps, and what of an NTFS volume is in use (for capture and revert alike). */
#include "rmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "ntfsio.h"
#include "vss.h"

/* range maps */

int rmap_add(struct rmap *m, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct range *p = realloc(m->v, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->v = p;
		m->cap = nc;
	}
	m->v[m->n++] = (struct range){ off, len };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

int rmap_finish(struct rmap *m)
{
	size_t o = 0;

	if (m->n == 0)
		return 0;
	qsort(m->v, m->n, sizeof(*m->v), cmp_range);
	for (size_t i = 1; i < m->n; i++) {
		struct range *last = &m->v[o];
		if (m->v[i].off <= last->off + last->len) {
			uint64_t end = MAX(last->off + last->len, m->v[i].off + m->v[i].len);
			last->len = end - last->off;
		} else
			m->v[++o] = m->v[i];
	}
	m->n = o + 1;
	return 0;
}

void rmap_free(struct rmap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

size_t rmap_find(const struct rmap *m, uint64_t off)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->v[mid].off + m->v[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool rmap_intersects(const struct rmap *m, uint64_t off, uint64_t len)
{
	size_t i = rmap_find(m, off);
	return i < m->n && m->v[i].off < off + len;
}

uint64_t rmap_bytes(const struct rmap *m)
{
	uint64_t t = 0;
	for (size_t i = 0; i < m->n; i++)
		t += m->v[i].len;
	return t;
}

int rmap_parse_ranges(const void *buf, size_t len, struct rmap *ret)
{
	struct rmap m = { 0 };
	const char *p = buf, *end = p + len;
	int r = 0;

	while (p < end && r >= 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[256], *e1, *e2;
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		unsigned long long a, b;

		if (l >= sizeof(line)) {
			r = -EINVAL;
			break;
		}
		memcpy(line, p, l);
		line[l] = 0;
		p += l + 1;
		line[strcspn(line, "#\r")] = 0;
		if (strspn(line, " \t") == strlen(line))
			continue;
		errno = 0;
		a = strtoull(line, &e1, 0);
		b = strtoull(e1, &e2, 0);
		if (errno || e1 == line || e2 == e1 || strspn(e2, " \t") != strlen(e2) || a + b < a)
			r = -EINVAL;
		else
			r = rmap_add(&m, a, b);
	}
	if (r >= 0)
		r = rmap_finish(&m);
	if (r < 0) {
		rmap_free(&m);
		return r;
	}
	*ret = m;
	return 0;
}

/* NTFS allocation */

int rmap_ntfs_used(struct src *vol, struct rmap *ret, uint64_t *ret_cluster_size)
{
	struct rmap m = { 0 };
	struct ntfsio *n = NULL;
	uint8_t *bm = NULL;
	size_t bl = 0;
	uint64_t cs, nc, run = 0, end;
	int r;

	r = ntfsio_open(vol, &n);
	if (r < 0)
		return r;
	cs = ntfsio_cluster_size(n);
	nc = ntfsio_cluster_count(n);
	r = ntfsio_bitmap_read(n, &bm, &bl);
	ntfsio_close(n);
	if (r < 0)
		return r;
	for (uint64_t c = 0; c <= nc && r >= 0; c++) {
		bool used = c < nc && (bm[c / 8] >> (c % 8) & 1);
		if (used) {
			if (!run++)
				end = c; /* start of the run */
		} else if (run) {
			r = rmap_add(&m, end * cs, run * cs);
			run = 0;
		}
	}
	free(bm);
	/* always: $Boot (boot sector, VSS header at 0x1e00) and what lies past the last cluster */
	if (r >= 0)
		r = rmap_add(&m, 0, MIN((uint64_t)16384, vol->size));
	end = MIN(nc * cs, vol->size - MIN(vol->size, (uint64_t)512));
	if (r >= 0)
		r = rmap_add(&m, end, vol->size - end);
	if (r >= 0)
		r = rmap_finish(&m);
	/* clusters past the end of the source (a cut image) cannot be read */
	while (r >= 0 && m.n && m.v[m.n - 1].off >= vol->size)
		m.n--;
	if (r >= 0 && m.n && m.v[m.n - 1].off + m.v[m.n - 1].len > vol->size)
		m.v[m.n - 1].len = vol->size - m.v[m.n - 1].off;
	if (r < 0) {
		rmap_free(&m);
		return r;
	}
	*ret = m;
	*ret_cluster_size = cs;
	return 0;
}

/*
 * A shadow copy's view reads the blocks that did not change since it was taken
 * from the live volume, including clusters that are free now but were in use
 * then (a file deleted after the snapshot). So that the captured volume keeps
 * every view whole, add what each view's own $Bitmap marks in use.
 */
int rmap_add_vss_views(struct src *vol, struct rmap *m, unsigned *ret_views)
{
	struct vss_volume *v = NULL;
	int r;

	r = vss_volume_open(vol, &v);
	if (r < 0)
		return r;
	r = rmap_add_vss_views_of(v, m, ret_views);
	vss_volume_free(v);
	return r;
}

int rmap_add_vss_views_of(struct vss_volume *v, struct rmap *m, unsigned *ret_views)
{
	struct src *vol = vss_volume_src(v);
	unsigned n, added = 0;
	int r = 0;

	n = vss_volume_store_count(v);
	for (unsigned k = 0; k < n && r >= 0; k++) {
		struct src *view = NULL;
		struct rmap vm = { 0 };
		uint64_t cs;
		if (vss_view_check(v, k) < 0) {
			sr_errclear();
			continue; /* its data is on a volume not given: nothing to read it with */
		}
		r = vss_view_src_new(v, k, &view);
		if (r < 0)
			break;
		if (rmap_ntfs_used(view, &vm, &cs) >= 0) {
			for (size_t i = 0; i < vm.n && r >= 0; i++)
				r = rmap_add(m, vm.v[i].off, MIN(vm.v[i].len, vol->size - MIN(vol->size, vm.v[i].off)));
			added++;
		} else {
			/* a view libntfs-3g cannot open: keep all of its blocks */
			r = rmap_add(m, 0, vol->size);
		}
		rmap_free(&vm);
		src_unref(view);
	}
	if (r >= 0)
		r = rmap_finish(m);
	if (r >= 0 && ret_views)
		*ret_views = added;
	return r;
}

