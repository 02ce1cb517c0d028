/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The selector grammar of select.h: every verb that names a set, volume, disk or shadow copy in a repository. */
#include "select.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "filetime.h"
#include "log.h"

void sel_done(struct sel *s)
{
	if (!s)
		return;
	volset_free(s->vs);
	s->vs = NULL;
}

struct vss_volume *sel_vss(const struct sel *s)
{
	struct volset_volume *v = s->kind == SEL_SHADOW ? volset_by_tag(s->vs, s->vol) : NULL;

	return v ? v->vss : NULL;
}

/* A time after '@': a day alone means its end, a minute its last second, and so on ("at or before"). */
static int parse_when(const char *t, uint64_t *ret)
{
	char full[64];
	size_t len = strlen(t);

	if (len > 0 && (t[len - 1] == 'Z' || t[len - 1] == 'z'))
		len--;
	if (len == 10)
		snprintf(full, sizeof(full), "%.10sT23:59:59.9999999Z", t);
	else if (len == 16)
		snprintf(full, sizeof(full), "%.16s:59.9999999Z", t);
	else if (len == 19)
		snprintf(full, sizeof(full), "%.19s.9999999Z", t);
	else if (len > 20 && len < 40)
		snprintf(full, sizeof(full), "%.*sZ", (int)len, t);
	else
		return -EINVAL;
	if (full[10] == ' ' || full[10] == 't')
		full[10] = 'T';
	return filetime_parse(full, ret);
}

static void set_desc(const struct repo_manifest *m, struct buf *b)
{
	char g[GUID_STRING_MAX], t[FILETIME_STRING_MAX];

	buf_printf(b, "set {%s} (%s, %s)", guid_format(&m->set_id, g), m->instance ? m->instance : "?",
		   filetime_format(m->created, t, sizeof(t)));
}

static const char *bstr(const struct buf *b)
{
	return b->data ? (const char *)b->data : "";
}

static bool is_hexish(const char *t)
{
	size_t n = 0;

	for (; *t; t++) {
		if (*t == '{' || *t == '}' || *t == '-')
			continue;
		if (!isxdigit((unsigned char)*t))
			return false;
		n++;
	}
	return n >= GUID_PREFIX_MIN;
}

/* The set named by text (ID, prefix, INSTANCE, INSTANCE@latest, INSTANCE@DATE). */
static int resolve_set(const struct repo_manifest *sets, size_t n, const char *text, size_t *ret)
{
	const char *at = strchr(text, '@');
	struct buf cand = BUF_INIT;
	size_t found = SIZE_MAX, count = 0, inst_len = at ? (size_t)(at - text) : strlen(text);
	bool any_inst = false;
	uint64_t when = UINT64_MAX;
	int r;

	if (n == 0)
		return sr_fail(-ENOENT, "the repository has no sets (capture one first)");
	if (at && strcasecmp(at + 1, "latest") != 0 && parse_when(at + 1, &when) < 0)
		return sr_fail(-ENOENT, "'%s': '%s' is neither 'latest' nor a time (YYYY-MM-DD[THH:MM[:SS]], UTC)", text,
			       at + 1);
	/* the instance's newest set at or before when */
	for (size_t i = 0; i < n; i++) {
		const char *in = sets[i].instance;
		if (!in || strlen(in) != inst_len || strncasecmp(in, text, inst_len) != 0)
			continue;
		any_inst = true;
		if (sets[i].created <= when)
			found = i; /* sets are oldest first */
	}
	if (at) {
		if (found != SIZE_MAX) {
			*ret = found;
			return 0;
		}
		if (any_inst)
			return sr_fail(-ENOENT, "instance '%.*s' has no set at or before %s (see 'shadowrev sets')",
				       (int)inst_len, text, at + 1);
		return sr_fail(-ENOENT, "no instance '%.*s' in the repository (see 'shadowrev sets')", (int)inst_len, text);
	}
	if (found != SIZE_MAX) {
		count = 1;
		set_desc(&sets[found], &cand);
		buf_printf(&cand, " as the latest set of instance '%s'", text);
	}
	if (is_hexish(text))
		for (size_t i = 0; i < n; i++)
			if (i != found && guid_match(text, &sets[i].set_id, 1, sizeof(sets[i])) == 0) {
				if (count++)
					buf_printf(&cand, ", ");
				set_desc(&sets[i], &cand);
				found = i;
			}
	if (count == 1) {
		buf_free(&cand);
		*ret = found;
		return 0;
	}
	if (count > 1)
		r = sr_fail(-ENOTUNIQ, "'%s' is ambiguous: it names %s", text, bstr(&cand));
	else
		r = sr_fail(-ENOENT, "no set or instance '%s' in the repository (see 'shadowrev sets')", text);
	buf_free(&cand);
	return r;
}

/* Split "SETPART[:VOL][:vssN]": vol into vol (empty if none), the store number into *ret_vss (0: none). */
static int split(const char *text, char *setpart, size_t size, char *vol, size_t vsize, unsigned *ret_vss)
{
	size_t len = strlen(text), prefix;
	unsigned n = 0;

	*ret_vss = 0;
	vol[0] = 0;
	if (volset_parse_vss(text, &n, &prefix) == 0) {
		*ret_vss = n;
		len = prefix;
	}
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(setpart, text, len);
	setpart[len] = 0;
	/* a volume part, from the right: ":C:", ":C", ":diskN", ":diskN:pM" */
	{
		char *p = setpart;
		size_t l = strlen(p);
		if (l >= 2 && p[l - 1] == ':')
			p[--l] = 0; /* "SET:C:" */
		for (char *c = strrchr(p, ':'); c; c = NULL) {
			char *tail = c + 1;
			if (strlen(tail) == 1 && isalpha((unsigned char)tail[0])) {
				snprintf(vol, vsize, "%c:", toupper((unsigned char)tail[0]));
				*c = 0;
				break;
			}
			if (strncasecmp(tail, "disk", 4) == 0 && tail[4] && strspn(tail + 4, "0123456789") == strlen(tail + 4)) {
				snprintf(vol, vsize, "%.32s", tail);
				*c = 0;
				break;
			}
			if (tolower((unsigned char)tail[0]) == 'p' && tail[1] && strspn(tail + 1, "0123456789") == strlen(tail + 1)) {
				char *d = c;
				while (d > p && d[-1] != ':')
					d--;
				if (d > p && strncasecmp(d, "disk", 4) == 0) {
					snprintf(vol, vsize, "%.40s", d);
					d[-1] = 0;
				}
				break;
			}
		}
		if (!vol[0] && l >= 2 && text[len - 1] == ':' && len == l + 1)
			p[l] = ':'; /* not a volume after all: put the colon back */
	}
	return 0;
}

/* The volume of set m named vol ("C:", "diskN:pM" or a volume's name); disk into *ret_disk when it names one. */
static int find_volume(const struct repo_manifest *m, const char *vol, size_t *ret_vol, size_t *ret_disk, bool *ret_is_disk)
{
	char g[GUID_STRING_MAX];
	unsigned dn, pn;
	char tail;

	*ret_is_disk = false;
	if (sscanf(vol, "%*1[dD]%*1[iI]%*1[sS]%*1[kK]%u%c", &dn, &tail) == 1) {
		for (size_t d = 0; d < m->n_disks; d++)
			if (m->disks[d].no == dn) {
				*ret_disk = d;
				*ret_is_disk = true;
				return 0;
			}
		return sr_fail(-ENOENT, "set {%s} has no disk%u", guid_format(&m->set_id, g), dn);
	}
	if (sscanf(vol, "%*1[dD]%*1[iI]%*1[sS]%*1[kK]%u:%*1[pP]%u%c", &dn, &pn, &tail) == 2) {
		for (size_t d = 0; d < m->n_disks; d++) {
			if (m->disks[d].no != dn)
				continue;
			for (size_t v = 0; v < m->n_vols; v++)
				if (m->vols[v].disk == (int)d && m->vols[v].partition == pn) {
					*ret_vol = v;
					return 0;
				}
			return sr_fail(-ENOENT, "disk%u of set {%s} has no captured partition %u", dn,
				       guid_format(&m->set_id, g), pn);
		}
		return sr_fail(-ENOENT, "set {%s} has no disk%u", guid_format(&m->set_id, g), dn);
	}
	for (size_t v = 0; v < m->n_vols; v++)
		if ((m->vols[v].drive[0] && strcasecmp(m->vols[v].drive, vol) == 0) || strcmp(m->vols[v].name, vol) == 0) {
			*ret_vol = v;
			return 0;
		}
	{
		struct buf have = BUF_INIT;
		int r;
		for (size_t v = 0; v < m->n_vols; v++)
			buf_printf(&have, "%s%s", v ? ", " : "", m->vols[v].drive[0] ? m->vols[v].drive : m->vols[v].name);
		r = sr_fail(-ENOENT, "set {%s} has no volume %s (it has %s)", guid_format(&m->set_id, g), vol,
			    have.data ? (const char *)have.data : "none");
		buf_free(&have);
		return r;
	}
}

/* The only volume among those of set m (of disk d when d != SIZE_MAX): else ambiguous, listing them. */
static int only_volume(const struct repo_manifest *m, size_t d, const char *text, size_t *ret)
{
	struct buf cand = BUF_INIT;
	char g[GUID_STRING_MAX];
	size_t found = SIZE_MAX, count = 0;
	int r;

	guid_format(&m->set_id, g);
	for (size_t v = 0; v < m->n_vols; v++) {
		if (d != SIZE_MAX && m->vols[v].disk != (int)d)
			continue;
		if (d != SIZE_MAX && strcmp(m->vols[v].fs, "ntfs") != 0)
			continue;
		if (m->vols[v].drive[0])
			buf_printf(&cand, "%s%s:%s", count ? ", " : "", g, m->vols[v].drive);
		else
			buf_printf(&cand, "%s%s:%s", count ? ", " : "", g, m->vols[v].name);
		found = v;
		count++;
	}
	if (count == 1) {
		buf_free(&cand);
		*ret = found;
		return 0;
	}
	if (count == 0)
		r = sr_fail(-ENOENT, "'%s' holds no captured volume", text);
	else
		r = sr_fail(-ENOTUNIQ, "'%s' holds %zu volumes: name one of %s", text, count, bstr(&cand));
	buf_free(&cand);
	return r;
}

static void vol_label(const struct repo_manifest *m, size_t v, char *out, size_t size)
{
	char g[GUID_STRING_MAX];

	/* as the selector names it: "{set}:C:" or "{set}:disk0:p2:" (a shadow copy's "vssN" follows) */
	snprintf(out, size, "{%s}:%s%s", guid_format(&m->set_id, g), m->vols[v].drive[0] ? m->vols[v].drive : m->vols[v].name,
		 m->vols[v].drive[0] ? "" : ":");
}

static int pick_store(const struct repo *r, const struct repo_manifest *sets, size_t si, size_t v, unsigned n,
		      const char *text, struct sel *s)
{
	const struct repo_manifest *m = &sets[si];
	struct volset_volume *vv;
	char g[GUID_STRING_MAX], lab[120];
	int e;

	vol_label(m, v, lab, sizeof(lab));
	if (strcmp(m->vols[v].fs, "ntfs") != 0)
		return sr_fail(-ENOENT, "'%s': volume %s is not NTFS and holds no shadow copies", text, lab);
	e = volset_open_repo(r, m, v, &s->vs);
	if (e < 0)
		return e;
	vv = volset_by_tag(s->vs, v);
	if (!vv || vss_volume_store_count(vv->vss) < n) {
		e = sr_fail(-ENOENT, "volume %s holds %u shadow copies, no vss%u (see 'shadowrev list shadows')", lab,
			    vv ? vss_volume_store_count(vv->vss) : 0, n);
		sel_done(s);
		return e;
	}
	s->kind = SEL_SHADOW;
	s->set = si;
	s->vol = v;
	s->store = n - 1;
	snprintf(s->label, sizeof(s->label), "{%s} (%svss%u)",
		 guid_format(&vss_volume_store(vv->vss, n - 1)->copy_id, g), lab, n);
	return 0;
}

static bool is_captured(const struct repo_manifest *sets, size_t n, const struct sr_guid *id)
{
	for (size_t si = 0; si < n; si++)
		for (size_t v = 0; v < sets[si].n_vols; v++)
			if (guid_equal(&sets[si].vols[v].shadow_id, id))
				return true;
	return false;
}

/* A bare ID: captured volumes' shadow IDs, sets, and VSS shadow copies inside captured volumes. */
static int resolve_id(const struct repo *r, const struct repo_manifest *sets, size_t n, const char *text,
		      unsigned want, struct sel *ret)
{
	struct buf cand = BUF_INIT;
	struct sel best = { 0 };
	size_t count = 0;
	bool exact_vol = false;
	char g[GUID_STRING_MAX];
	int e = 0;

	/* captured volumes: their shadow ID */
	for (size_t si = 0; si < n; si++)
		for (size_t v = 0; v < sets[si].n_vols; v++) {
			char flat[GUID_STRING_MAX];
			if (guid_match(text, &sets[si].vols[v].shadow_id, 1, sizeof(struct sr_guid)) != 0)
				continue;
			guid_format(&sets[si].vols[v].shadow_id, flat);
			buf_printf(&cand, "%scaptured volume {%s} (%s of set {%s})", count ? ", " : "", flat,
				   sets[si].vols[v].drive[0] ? sets[si].vols[v].drive : sets[si].vols[v].name,
				   guid_format(&sets[si].set_id, g));
			count++;
			best.kind = SEL_VOLUME;
			best.set = si;
			best.vol = v;
			snprintf(best.label, sizeof(best.label), "{%s}", flat);
			/* a whole ID: the VSS shadow copy of the same ID inside it is what was captured */
			exact_vol |= guid_match(text, &sets[si].vols[v].shadow_id, 1, sizeof(struct sr_guid)) == 0 &&
				     strlen(text) >= 32;
		}
	/* sets (by ID; an instance name is not hex) */
	if (want & (SEL_SET | SEL_VOLUME))
		for (size_t si = 0; si < n; si++) {
			if (guid_match(text, &sets[si].set_id, 1, sizeof(struct sr_guid)) != 0)
				continue;
			buf_printf(&cand, "%s", count ? ", " : "");
			set_desc(&sets[si], &cand);
			count++;
			best.kind = SEL_SET;
			best.set = si;
		}
	/* VSS shadow copies inside captured volumes: each set's volumes opened together (shadow storage) */
	if ((want & SEL_SHADOW) && !exact_vol)
		for (size_t si = 0; si < n && e >= 0; si++) {
			struct volset *vs = NULL;
			bool keep = false;
			e = volset_open_repo(r, &sets[si], SIZE_MAX, &vs);
			if (e < 0) {
				if (e == -ENOMEM)
					break;
				sr_errclear(); /* a set whose volumes cannot be read holds nothing to find */
				e = 0;
				continue;
			}
			for (size_t i = 0; i < vs->n; i++)
				for (unsigned k = 0; k < vss_volume_store_count(vs->vols[i].vss); k++) {
					const struct vss_store_info *st = vss_volume_store(vs->vols[i].vss, k);
					char lab[120];
					if (!st->has_data || guid_match(text, &st->copy_id, 1, sizeof(st->copy_id)) != 0 ||
					    is_captured(sets, n, &st->copy_id))
						continue; /* the same ID as a captured volume (capture shadow=ID): that one */
					vol_label(&sets[si], vs->vols[i].tag, lab, sizeof(lab));
					buf_printf(&cand, "%sshadow copy {%s} (%svss%u)", count ? ", " : "",
						   guid_format(&st->copy_id, g), lab, k + 1);
					count++;
					if (keep)
						continue;
					sel_done(&best);
					best.kind = SEL_SHADOW;
					best.set = si;
					best.vol = vs->vols[i].tag;
					best.store = k;
					best.vs = vs;
					snprintf(best.label, sizeof(best.label), "{%s} (%svss%u)", g, lab, k + 1);
					keep = true;
				}
			if (!keep)
				volset_free(vs);
		}
	if (e < 0) {
		sel_done(&best);
		buf_free(&cand);
		return e;
	}
	if (count == 1) {
		buf_free(&cand);
		*ret = best;
		return 0;
	}
	sel_done(&best);
	if (count > 1)
		e = sr_fail(-ENOTUNIQ, "'%s' is ambiguous: it names %s; give more digits", text, bstr(&cand));
	else
		e = sr_fail(-ENOENT, "no set, instance, captured volume or shadow copy '%s' in the repository (see "
				     "'shadowrev sets' and 'shadowrev list shadows')", text);
	buf_free(&cand);
	return e;
}

static const char *kind_name(enum sel_kind k)
{
	return k == SEL_SET ? "a snapshot set" : k == SEL_DISK ? "a disk" : k == SEL_VOLUME ? "a captured volume"
										      : "a shadow copy";
}

static int want_check(const struct sel *s, unsigned want, const char *text)
{
	struct buf b = BUF_INIT;
	int r;

	if (s->kind & want)
		return 0;
	for (unsigned k = SEL_SET; k <= SEL_SHADOW; k <<= 1)
		if (want & k)
			buf_printf(&b, "%s%s", b.len ? " or " : "", kind_name((enum sel_kind)k));
	r = sr_fail(-ENOENT, "'%s' is %s; this needs %s", text, kind_name(s->kind), bstr(&b));
	buf_free(&b);
	return r;
}

int sel_resolve(const struct repo *r, const struct repo_manifest *sets, size_t n, const char *text, unsigned want,
		struct sel *ret)
{
	char setpart[256], vol[64], g[GUID_STRING_MAX];
	struct sel s = { 0 };
	unsigned vss = 0;
	size_t si = 0, v = SIZE_MAX, d = SIZE_MAX;
	bool is_disk = false;
	int e;

	if (!text[0])
		return sr_fail(-ENOENT, "an empty name names nothing");
	if (split(text, setpart, sizeof(setpart), vol, sizeof(vol), &vss) < 0)
		return sr_fail(-ENOENT, "'%.40s...' is too long for a name", text);
	if (!setpart[0])
		return sr_fail(-ENOENT, "'%s' needs a set and a volume in a repository: SET:C:vss%u (vss%u alone is for "
					"images)", text, vss ? vss : 1, vss ? vss : 1);
	if (!vol[0] && !vss && !strchr(setpart, '@') && !strchr(setpart, ':')) {
		bool inst = false;
		for (size_t i = 0; i < n && !inst; i++)
			inst = sets[i].instance && strcasecmp(sets[i].instance, setpart) == 0;
		if (!inst || is_hexish(setpart)) {
			e = resolve_id(r, sets, n, text, want, &s);
			if (e < 0 && !(e == -ENOENT && inst))
				return e;
			if (e >= 0)
				goto found;
			sr_errclear();
		}
	}
	e = resolve_set(sets, n, setpart, &si);
	if (e < 0)
		return e;
	s.set = si;
	s.kind = SEL_SET;
	snprintf(s.label, sizeof(s.label), "{%s}", guid_format(&sets[si].set_id, g));
	if (vol[0]) {
		e = find_volume(&sets[si], vol, &v, &d, &is_disk);
		if (e < 0)
			return e;
		if (is_disk) {
			s.kind = SEL_DISK;
			s.disk = d;
			snprintf(s.label, sizeof(s.label), "{%s}:disk%u", g, sets[si].disks[d].no);
		} else {
			s.kind = SEL_VOLUME;
			s.vol = v;
			vol_label(&sets[si], v, s.label, sizeof(s.label));
		}
	}
found:
	/* a set or disk where a volume is wanted: its only volume */
	if (s.kind == SEL_SET && (vss || (!(want & SEL_SET) && (want & SEL_VOLUME)))) {
		e = only_volume(&sets[s.set], SIZE_MAX, text, &v);
		if (e < 0)
			goto fail;
		s.kind = SEL_VOLUME;
		s.vol = v;
		vol_label(&sets[s.set], v, s.label, sizeof(s.label));
	}
	if (s.kind == SEL_DISK && (vss || (!(want & SEL_DISK) && (want & SEL_VOLUME)))) {
		e = only_volume(&sets[s.set], s.disk, text, &v);
		if (e < 0)
			goto fail;
		s.kind = SEL_VOLUME;
		s.vol = v;
		vol_label(&sets[s.set], v, s.label, sizeof(s.label));
	}
	if (vss) {
		if (s.kind != SEL_VOLUME) {
			e = sr_fail(-ENOENT, "'%s': vss%u needs a volume (SET:C:vss%u)", text, vss, vss);
			goto fail;
		}
		e = pick_store(r, sets, s.set, s.vol, vss, text, &s);
		if (e < 0)
			goto fail;
	}
	/* a shadow copy found by ID needs its set's volumes (done); a volume where only shadows are wanted: no */
	e = want_check(&s, want, text);
	if (e < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	sel_done(&s);
	return e;
}

/* A shadow copy's view that owns the volset it reads (the view alone borrows its VSS state). */
struct owned_view {
	struct src *view;
	struct volset *vs;
};

static int ov_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct owned_view *o = s->priv;

	return src_pread(o->view, buf, len, off);
}

static int ov_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret)
{
	struct owned_view *o = s->priv;

	return src_map(o->view, off, len, ret);
}

static void ov_destroy(struct src *s)
{
	struct owned_view *o = s->priv;

	src_unref(o->view);
	volset_free(o->vs);
	free(o);
}

static const struct src_ops ov_ops = { .pread = ov_pread, .destroy = ov_destroy };

int sel_open(const struct repo *r, const struct repo_manifest *sets, struct sel *s, struct src **ret)
{
	switch (s->kind) {
	case SEL_DISK:
		return repo_disk_src_new(r, &sets[s->set], s->disk, ret);
	case SEL_VOLUME:
		return repo_volume_src_new(r, &sets[s->set], s->vol, ret);
	case SEL_SHADOW: {
		struct vss_volume *vss = sel_vss(s);
		struct owned_view *o;
		struct src *out;
		int e;
		if (!vss)
			return -ENOENT;
		e = vss_view_check(vss, s->store);
		if (e < 0)
			return e;
		o = calloc(1, sizeof(*o));
		if (!o)
			return -ENOMEM;
		e = vss_view_src_new(vss, s->store, &o->view);
		if (e >= 0)
			e = src_new(&ov_ops, o->view->size, o->view->name, o, &out);
		if (e < 0) {
			src_unref(o->view);
			free(o);
			return e;
		}
		out->map = ov_map;
		o->vs = s->vs; /* the view now owns the volumes it reads */
		s->vs = NULL;
		*ret = out;
		return 0;
	}
	default:
		return sr_fail(-EINVAL, "a snapshot set has no single volume to read");
	}
}
