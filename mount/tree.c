/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual tree of a shadowrev mount: folders, volume images, links, lazily opened volumes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/filetime.h"
#include "core/log.h"
#include "core/macro.h"
#include "mount-internal.h"

int mnt_tree_new(struct mnt_tree **ret)
{
	struct mnt_tree *t = calloc(1, sizeof(*t));
	struct timespec now;

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->n_buckets = 1024;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (filetime_from_timespec(now, &t->mount_time) < 0)
		t->mount_time = 0;
	t->uid = getuid();
	t->gid = getgid();
	t->next_vol_id = 1;
	t->next_ino = 2;
	t->root = mnt_dir_new(t, NULL, "", t->mount_time);
	if (!t->root) {
		free(t->buckets);
		free(t);
		return -ENOMEM;
	}
	t->root->ino = 1;
	*ret = t;
	return 0;
}

static void node_free(struct mnt_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->link);
	free(n->stream);
	free(n);
}

void mnt_tree_free(struct mnt_tree *t)
{
	struct mnt_vol *v, *next;

	if (!t)
		return;
	for (size_t i = 0; i < t->n_buckets; i++)
		for (struct mnt_node *n = t->buckets[i], *nx; n; n = nx) {
			nx = n->hnext;
			if (!n->is_static)
				node_free(n);
		}
	free(t->buckets);
	node_free(t->root);
	/* NTFS trees and sources before what they read from (volsets, VSS state) */
	for (v = t->vols; v; v = next) {
		next = v->next;
		ntfsfs_close(v->fs);
		src_unref(v->src);
		pthread_mutex_destroy(&v->lock);
		free(v->label);
		free(v->open_data);
		free(v);
	}
	if (t->owner_free)
		t->owner_free(t->owner);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct mnt_node *node_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, enum mnt_kind kind)
{
	struct mnt_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->is_static = true;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->ino = t->next_ino++;
	n->time = parent ? parent->time : t->mount_time;
	n->parent = parent;
	if (parent) {
		if (parent->n_kids == parent->cap_kids) {
			size_t cap = parent->cap_kids ? parent->cap_kids * 2 : 8;
			struct mnt_node **k = realloc(parent->kids, cap * sizeof(*k));
			if (!k) {
				free(n->name);
				free(n);
				return NULL;
			}
			parent->kids = k;
			parent->cap_kids = cap;
		}
		parent->kids[parent->n_kids++] = n;
	}
	return n;
}

struct mnt_node *mnt_dir_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, uint64_t time)
{
	struct mnt_node *n = node_new(t, parent, name, MNT_DIR);

	if (n && time)
		n->time = time;
	return n;
}

struct mnt_node *mnt_img_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, struct mnt_vol *v)
{
	struct mnt_node *n = node_new(t, parent, name, MNT_IMG);

	if (n) {
		n->vol = v;
		if (v->created)
			n->time = v->created;
	}
	return n;
}

struct mnt_node *mnt_link_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, const char *target)
{
	struct mnt_node *n = node_new(t, parent, name, MNT_LINK);

	if (n) {
		n->link = strdup(target);
		if (!n->link)
			return NULL; /* stays in the tree, freed with it */
	}
	return n;
}

struct mnt_node *mnt_files_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, struct mnt_vol *v)
{
	struct mnt_node *n = node_new(t, parent, name, MNT_NTFS);

	if (n) {
		n->vol = v;
		n->mref = NTFSFS_ROOT;
		n->ino = ((uint64_t)v->id << 40) | NTFSFS_ROOT;
		v->files = n;
	}
	return n;
}

struct mnt_vol *mnt_vol_new(struct mnt_tree *t, const char *label, struct src *src, uint64_t size)
{
	struct mnt_vol *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->label = strdup(label);
	if (!v->label) {
		free(v);
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	v->src = src_ref(src);
	v->size = src ? src->size : size;
	v->id = t->next_vol_id++;
	v->next = t->vols;
	t->vols = v;
	return v;
}

struct mnt_node *mnt_child_find(struct mnt_node *dir, const char *name)
{
	for (size_t i = 0; i < dir->n_kids; i++)
		if (strcmp(dir->kids[i]->name, name) == 0)
			return dir->kids[i];
	return NULL;
}

void mnt_unique_name(struct mnt_node *dir, const char *base, char *buf, size_t size)
{
	snprintf(buf, size, "%s", base);
	for (unsigned i = 2; mnt_child_find(dir, buf); i++)
		snprintf(buf, size, "%s-%u", base, i);
}

void mnt_sanitize_name(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 1 < size; in++)
		out[o++] = (*in == '/' || (unsigned char)*in < 0x20) ? '_' : *in;
	out[o] = 0;
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0 || o == 0)
		snprintf(out, size, "_");
}

/*
 * NTFS names the kernel cannot take (README, Mount): a name holding '/' (the
 * POSIX namespace allows it, and other tools write it), or a name that is "."
 * or "..", would make the kernel fail the whole listing with EIO. Such
 * characters are shown as %XX (two upper-case hex digits of the byte): '/' as
 * %2F, the dots of a name "." or ".." as %2E. So that no real name can look
 * like an escaped one, a '%' that two hex digits follow is itself shown as
 * %25; any other '%' stays as it is. The mapping is one to one: unescaping
 * takes every %XX back, and a name whose unescaping does not escape back to
 * exactly itself (%2f, %41, "%2E.") is not a name of the listing.
 */
static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static int hex_val(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int mnt_name_escape(const char *in, char *out, size_t size)
{
	bool dots = strcmp(in, ".") == 0 || strcmp(in, "..") == 0;
	size_t o = 0;

	if (!in[0])
		return -EINVAL;
	for (const char *p = in; *p; p++) {
		bool esc = dots || *p == '/' || (*p == '%' && is_hex(p[1]) && is_hex(p[2]));
		if (o + (esc ? 3 : 1) >= size)
			return -ENAMETOOLONG;
		if (esc) {
			snprintf(out + o, 4, "%%%02X", (unsigned char)*p);
			o += 3;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = 0;
	return 0;
}

int mnt_name_unescape(const char *in, char *out, size_t size)
{
	char check[MNT_NAME_MAX * 3 + 1];
	size_t o = 0;

	for (const char *p = in; *p; p++) {
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		if (*p == '%' && is_hex(p[1]) && is_hex(p[2])) {
			out[o++] = (char)(hex_val(p[1]) << 4 | hex_val(p[2]));
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = 0;
	if (memchr(out, 0, o) || mnt_name_escape(out, check, sizeof(check)) < 0 || strcmp(check, in) != 0)
		return -ENOENT;
	return 0;
}

int mnt_dir_populate(struct mnt_tree *t, struct mnt_node *dir)
{
	if (dir->kind != MNT_DIR || !dir->populate || dir->populated)
		return dir->populate_err;
	dir->populated = true;
	dir->populate_err = dir->populate(t, dir);
	return dir->populate_err;
}

int mnt_vol_src(struct mnt_vol *v, struct src **ret)
{
	if (!v->src && v->src_err == 0) {
		int r = v->open_src ? v->open_src(v, &v->src) : -ENXIO;
		if (r < 0) {
			v->src_err = r;
			sr_warn("cannot open %s: %s", v->label, sr_errmsg(r));
		}
	}
	if (!v->src)
		return v->src_err;
	*ret = v->src;
	return 0;
}

int mnt_vol_fs(struct mnt_vol *v, struct ntfsfs **ret)
{
	struct src *s;
	int r;

	if (!v->fs && v->fs_err == 0) {
		r = mnt_vol_src(v, &s);
		if (r >= 0)
			r = ntfsfs_open(s, &v->fs);
		if (r < 0) {
			v->fs_err = r;
			sr_warn("cannot open the NTFS tree of %s: %s", v->label, sr_errmsg(r));
		} else if (v->drive) {
			ntfsfs_set_drive_letter(v->fs, v->drive);
		}
	}
	if (!v->fs)
		return v->fs_err;
	*ret = v->fs;
	return 0;
}
