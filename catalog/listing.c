/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The text diskshadow and vssadmin print (metadata-formats.md §6).
 *
 * Windows localizes every label and prints dates in the local format, so
 * nothing here matches an English label or parses a date: a line is known
 * by its shape (a record line "* <label> = {GUID}", a "- <label>: value"
 * line, a line ending in a braced GUID, a \\?\Volume{GUID}\ path, its
 * indentation) and a value by its position in its block. Values are kept
 * verbatim. A block that ends before its last mandatory value, a GUID cut
 * short, or a set with fewer shadow copies than its header announces means
 * the listing was cut: -EBADMSG, nothing is kept.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/macro.h"
#include "metadata-internal.h"

struct line {
	const char *p; /* trimmed of indentation and trailing blanks */
	size_t len;
	unsigned indent;
	unsigned no;
};

/* A value of a block: the text after the label, or the whole line when it has no separator. */
struct val {
	const char *p;
	size_t len;
	unsigned no;
};

enum block_kind { BLOCK_NONE, BLOCK_DISKSHADOW, BLOCK_VSSADMIN, BLOCK_STORAGE, BLOCK_WRITER };

#define MAX_VALS 32

struct parser {
	struct md *m;
	/* the open block */
	enum block_kind kind;
	struct sr_guid id;
	unsigned indent, no;
	char alias[64];
	struct val vals[MAX_VALS];
	unsigned n_vals;
	/* the open vssadmin set */
	bool in_set;
	struct sr_guid set_id;
	unsigned set_indent, set_no;
	bool set_counted, set_expect_count;
	int set_count, set_seen;
	struct val set_time;
	/* diskshadow records since the last footer */
	unsigned ds_records;
	bool after_ds_record;
	/* the open writer block: its name (the first quoted text of its "*" line) */
	char writer_name[256];
	/* a record, a set, a writer, a banner or a prompt was seen: the text is a listing */
	bool recognized;
};

static bool is_hex(int c)
{
	return isxdigit((unsigned char)c) != 0;
}

/* p[0..len) at p is "{GUID}"? (38 bytes) */
static bool braced_guid_at(const char *p, size_t len, struct sr_guid *ret)
{
	char tmp[39];

	if (len < 38 || p[0] != '{' || p[37] != '}')
		return false;
	memcpy(tmp, p, 38);
	tmp[38] = 0;
	return guid_parse(tmp, ret) >= 0;
}

/* A '{' followed by 8 hex digits and '-' that does not make a whole GUID: a cut or damaged line. */
static int check_guids(const struct line *l)
{
	for (size_t i = 0; i + 9 < l->len; i++) {
		struct sr_guid g;
		size_t k;

		if (l->p[i] != '{')
			continue;
		for (k = 1; k <= 8 && is_hex(l->p[i + k]); k++)
			;
		if (k != 9 || l->p[i + 9] != '-')
			continue;
		if (!braced_guid_at(l->p + i, l->len - i, &g))
			return sr_fail(-EBADMSG, "line %u: a GUID is cut short or malformed (a listing cut in the middle?)",
				       l->no);
	}
	return 0;
}

/* Trimmed line ends with "{GUID}"? */
static bool ends_with_guid(const struct line *l, struct sr_guid *ret)
{
	return l->len >= 38 && braced_guid_at(l->p + l->len - 38, 38, ret);
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *len)
{
	while (*len && is_blank((*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len && is_blank((*p)[*len - 1]))
		(*len)--;
}

/* The value of a "label: value" / "label = value" line; the whole text when there is no separator. */
static struct val line_value(const char *p, size_t len, unsigned no)
{
	struct val v = { p, len, no };

	for (size_t i = 0; i + 1 < len; i++) {
		if ((p[i] == ':' || p[i] == '=') && is_blank(p[i + 1])) {
			v.p = p + i + 1;
			v.len = len - i - 1;
			break;
		}
	}
	trim(&v.p, &v.len);
	return v;
}

static int val_dup(const struct val *v, char **ret)
{
	return md_strndup(v->p, v->len, ret);
}

static bool val_is_int(const struct val *v, int *ret)
{
	long x = 0;

	if (!v->len || v->len > 9)
		return false;
	for (size_t i = 0; i < v->len; i++) {
		if (!isdigit((unsigned char)v->p[i]))
			return false;
		x = x * 10 + (v->p[i] - '0');
	}
	*ret = (int)x;
	return true;
}

/*
 * A volume as listings print it: "\\?\Volume{GUID}\ [C:\]" (diskshadow),
 * "(C:)\\?\Volume{GUID}\" (vssadmin), or another UNC path. Returns 1 with the
 * GUID path and the name, 0 if v holds no \\?\Volume path.
 */
static int parse_volume(const struct val *v, char **ret_path, char **ret_name)
{
	static const char pfx[] = "\\\\?\\Volume{";
	const char *p = memmem(v->p, v->len, pfx, sizeof(pfx) - 1);
	char path[64], g[GUID_STRING_MAX];
	struct sr_guid guid;
	size_t off;
	int r;

	if (!p)
		return 0;
	off = (size_t)(p - v->p) + sizeof(pfx) - 2; /* at '{' */
	if (!braced_guid_at(v->p + off, v->len - off, &guid))
		return sr_fail(-EBADMSG, "line %u: a volume GUID path is cut short or malformed", v->no);
	snprintf(path, sizeof(path), "\\\\?\\Volume{%s}\\", guid_format(&guid, g));
	r = md_strdup(path, ret_path);
	if (r < 0)
		return r;
	/* the name: "(C:)" before the path, or "[C:\]" after it */
	if (v->len && v->p[0] == '(') {
		const char *close = p;
		while (close > v->p && close[-1] != ')')
			close--;
		if (close > v->p + 1)
			return md_strndup(v->p + 1, (size_t)(close - v->p - 2), ret_name) < 0 ? -ENOMEM : 1;
	} else {
		const char *after = v->p + off + 38, *end = v->p + v->len;
		const char *open = memchr(after, '[', (size_t)(end - after));
		if (open && end[-1] == ']' && end - open > 2)
			return md_strndup(open + 1, (size_t)(end - open - 2), ret_name) < 0 ? -ENOMEM : 1;
	}
	return 1;
}

static int attr_words(struct md_shadow *s, const struct val *v, char sep)
{
	const char *p = v->p, *end = v->p + v->len;
	bool all = true;
	uint32_t bits = 0;
	int r;

	r = val_dup(v, &s->attr_text);
	if (r < 0)
		return r;
	while (p < end) {
		const char *q = p;
		uint32_t b;
		size_t n;

		if (sep == ' ')
			while (q < end && !is_blank(*q))
				q++;
		else
			while (q < end && *q != sep)
				q++;
		n = (size_t)(q - p);
		{
			const char *w = p;
			trim(&w, &n);
			if (n) {
				if (md_attr_word(w, n, &b))
					bits |= b;
				else
					all = false;
			}
		}
		p = q < end ? q + 1 : q;
	}
	s->attributes = bits;
	s->has_attributes = all;
	return 0;
}

static int finish_diskshadow(struct parser *ps)
{
	struct md_shadow *s;
	struct md_set *set;
	struct sr_guid set_id, prov;
	char ids[GUID_STRING_MAX];
	unsigned iv = 0, ip = 0;
	int count = -1, r;

	guid_format(&ps->id, ids);
	if (ps->n_vals == 0 || !ps->vals[0].len || ps->vals[0].p[0] != '{' ||
	    !braced_guid_at(ps->vals[0].p, ps->vals[0].len, &set_id))
		return sr_fail(-EBADMSG, "line %u: shadow copy {%s}: no shadow copy set line follows (a listing cut "
					 "in the middle?)", ps->no, ids);
	for (unsigned i = 1; i < ps->n_vals; i++) {
		if (ps->vals[i].len >= 2 && ps->vals[i].p[0] == '\\' && ps->vals[i].p[1] == '\\') {
			iv = i;
			break;
		}
		if (count < 0)
			val_is_int(&ps->vals[i], &count);
	}
	if (!iv)
		return sr_fail(-EBADMSG, "line %u: shadow copy {%s}: no original volume line (a listing cut in the "
					 "middle?)", ps->no, ids);
	for (unsigned i = iv + 5; i < ps->n_vals; i++)
		if (ps->vals[i].len == 38 && braced_guid_at(ps->vals[i].p, 38, &prov)) {
			ip = i;
			break;
		}
	if (!ip)
		return sr_fail(-EBADMSG, "line %u: shadow copy {%s}: its record ends before the provider ID (a "
					 "listing cut in the middle?)", ps->no, ids);
	r = md_set_get(ps->m, &set_id, &set);
	if (r < 0)
		return r;
	if (count >= 0)
		set->shadow_count = count;
	r = md_shadow_get(ps->m, &ps->id, &s);
	if (r < 0)
		return r;
	s->set_id = set_id;
	s->has_set = true;
	r = parse_volume(&ps->vals[iv], &s->volume_path, &s->volume_name);
	if (r < 0)
		return r;
	if (r == 0 && (r = val_dup(&ps->vals[iv], &s->volume_name)) < 0)
		return r;
	if ((r = val_dup(&ps->vals[iv + 1], &s->created_text)) < 0 || (r = val_dup(&ps->vals[iv + 2], &s->device)) < 0 ||
	    (r = val_dup(&ps->vals[iv + 3], &s->originating_machine)) < 0 ||
	    (r = val_dup(&ps->vals[iv + 4], &s->service_machine)) < 0 || (r = val_dup(&ps->vals[ip], &s->provider)) < 0)
		return r;
	if (ip > iv + 5) {
		struct val e = ps->vals[iv + 5];
		e.len = (size_t)(ps->vals[ip - 1].p + ps->vals[ip - 1].len - e.p);
		/* several exposure lines: keep them from the first to the last, verbatim */
		if ((r = val_dup(&e, &s->exposure)) < 0)
			return r;
	}
	if (ip + 1 < ps->n_vals && (r = attr_words(s, &ps->vals[ip + 1], ' ')) < 0)
		return r;
	if (ps->alias[0] && (r = md_strdup(ps->alias, &s->alias)) < 0)
		return r;
	ps->ds_records++;
	ps->after_ds_record = true;
	ps->recognized = true;
	return 0;
}

static int finish_vssadmin(struct parser *ps)
{
	struct md_shadow *s;
	char ids[GUID_STRING_MAX];
	unsigned iv = ps->n_vals;
	int r;

	guid_format(&ps->id, ids);
	for (unsigned i = 0; i < ps->n_vals; i++)
		if (memmem(ps->vals[i].p, ps->vals[i].len, "\\\\?\\Volume{", 11) ||
		    (ps->vals[i].len && ps->vals[i].p[0] == '(')) {
			iv = i;
			break;
		}
	if (iv == ps->n_vals)
		return sr_fail(-EBADMSG, "line %u: shadow copy {%s}: no original volume line (a listing cut in the "
					 "middle?)", ps->no, ids);
	if (iv + 4 >= ps->n_vals)
		return sr_fail(-EBADMSG, "line %u: shadow copy {%s}: its block ends before the provider (a listing "
					 "cut in the middle?)", ps->no, ids);
	r = md_shadow_get(ps->m, &ps->id, &s);
	if (r < 0)
		return r;
	s->set_id = ps->set_id;
	s->has_set = true;
	r = parse_volume(&ps->vals[iv], &s->volume_path, &s->volume_name);
	if (r < 0)
		return r;
	if (r == 0 && (r = val_dup(&ps->vals[iv], &s->volume_name)) < 0)
		return r;
	if ((r = val_dup(&ps->vals[iv + 1], &s->device)) < 0 ||
	    (r = val_dup(&ps->vals[iv + 2], &s->originating_machine)) < 0 ||
	    (r = val_dup(&ps->vals[iv + 3], &s->service_machine)) < 0)
		return r;
	{
		struct val pv = ps->vals[iv + 4];
		if (pv.len >= 2 && pv.p[0] == '\'' && pv.p[pv.len - 1] == '\'') {
			pv.p++;
			pv.len -= 2;
		}
		if ((r = val_dup(&pv, &s->provider)) < 0)
			return r;
	}
	if (iv + 5 < ps->n_vals) {
		if ((r = val_dup(&ps->vals[iv + 5], &s->type)) < 0)
			return r;
		s->context = md_type_context(s->type);
	}
	ps->recognized = true;
	if (iv + 6 < ps->n_vals && (r = attr_words(s, &ps->vals[iv + 6], ',')) < 0)
		return r;
	if (ps->set_time.p && (r = val_dup(&ps->set_time, &s->created_text)) < 0)
		return r;
	ps->set_seen++;
	return 0;
}

static int finish_storage(struct parser *ps)
{
	struct md_storage st = { 0 };
	int r, found = 0;

	if (ps->n_vals < 5)
		return sr_fail(-EBADMSG, "line %u: a shadow storage association ends after %u of its 5 lines (a "
					 "listing cut in the middle?)", ps->no, ps->n_vals);
	r = parse_volume(&ps->vals[0], &st.for_path, &st.for_name);
	if (r > 0) {
		found++;
		r = parse_volume(&ps->vals[1], &st.storage_path, &st.storage_name);
		found += r > 0;
	}
	if (r >= 0 && found < 2)
		r = sr_fail(-EBADMSG, "line %u: a shadow storage association without two volume GUID paths", ps->no);
	if (r >= 0 && ((r = val_dup(&ps->vals[2], &st.used)) < 0 || (r = val_dup(&ps->vals[3], &st.allocated)) < 0 ||
		       (r = val_dup(&ps->vals[4], &st.maximum)) < 0))
		r = -ENOMEM;
	if (r >= 0)
		r = vec_push(&ps->m->storage, st);
	if (r >= 0)
		ps->recognized = true;
	if (r < 0) {
		free(st.for_path);
		free(st.for_name);
		free(st.storage_path);
		free(st.storage_name);
		free(st.used);
		free(st.allocated);
		free(st.maximum);
		return r;
	}
	return 0;
}

/*
 * A component line of a writer block: "+ Adding component: \\ASR\\ASR"
 * (diskshadow's verbose `create`) or "+ Component "System Writer:\\System
 * Files"" (its `list writers`): the quoted text if any, without the writer's
 * name before ':'; the path's last part is the name, the rest its logical path.
 */
static int writer_component(struct parser *ps, const struct val *v, struct md_writer *w, bool selected)
{
	const char *p = v->p, *end = v->p + v->len, *q1 = memchr(p, '"', v->len), *q2, *slash;
	size_t nlen = strlen(ps->writer_name);
	char *lp = NULL, *name = NULL;
	int r;

	if (q1 && (q2 = memchr(q1 + 1, '"', (size_t)(end - q1 - 1)))) {
		p = q1 + 1;
		end = q2;
		if ((size_t)(end - p) > nlen && memcmp(p, ps->writer_name, nlen) == 0 && p[nlen] == ':')
			p += nlen + 1;
	}
	while (p < end && *p == '\\')
		p++;
	if (p == end)
		return 0;
	for (slash = end; slash > p && slash[-1] != '\\'; slash--)
		;
	r = md_strndup(p, slash > p ? (size_t)(slash - 1 - p) : 0, &lp);
	if (r >= 0)
		r = md_strndup(slash, (size_t)(end - slash), &name);
	if (r >= 0)
		r = md_component_add(w, lp, name, NULL, NULL, selected);
	free(lp);
	free(name);
	return r;
}

/*
 * A writer block: "* Including writer "NAME":" with "+ Adding component:"
 * lines under it (verbose `create`: the writer takes part, these components
 * are selected), "* Excluding writer "NAME", ..." alone (it does not: not
 * kept), or a block whose "-" lines carry the writer and instance IDs (`list
 * writers`: the writer's description, which says nothing about taking part).
 */
static int finish_writer(struct parser *ps)
{
	struct sr_guid ids[2] = { { { 0 } }, { { 0 } } };
	unsigned n_ids = 0, n_comps = 0;
	struct md_writer *w;
	int r;

	for (unsigned i = 0; i < ps->n_vals; i++)
		if (ps->vals[i].p[0] == '+')
			n_comps++;
		else if (n_ids < 2 && ps->vals[i].len >= 38 &&
			 braced_guid_at(ps->vals[i].p + ps->vals[i].len - 38, 38, &ids[n_ids]))
			n_ids++;
	ps->recognized = true;
	/*
	 * A name alone ("* Excluding writer ...", or `list writers status`)
	 * says nothing this catalog can keep: the writer's metadata, if any,
	 * tells that it did not take part.
	 */
	if (!n_ids && !n_comps)
		return 0;
	if (n_ids)
		r = md_writer_get(ps->m, &ids[0], &ids[1], NULL, &w);
	else
		r = md_writer_get_named(ps->m, ps->writer_name, &w);
	if (r < 0)
		return r;
	if (!w->name && (r = md_strdup(ps->writer_name, &w->name)) < 0)
		return r;
	if (n_ids)
		w->has_wm = true;
	for (unsigned i = 0; i < ps->n_vals; i++) {
		struct val v = ps->vals[i];
		if (v.len < 2 || v.p[0] != '+')
			continue;
		v = line_value(v.p + 1, v.len - 1, v.no);
		r = writer_component(ps, &v, w, n_ids == 0);
		if (r < 0)
			return r;
		if (!n_ids)
			w->in_bcd = true;
	}
	return 0;
}

static int finish_block(struct parser *ps)
{
	enum block_kind k = ps->kind;

	ps->kind = BLOCK_NONE;
	switch (k) {
	case BLOCK_DISKSHADOW:
		return finish_diskshadow(ps);
	case BLOCK_VSSADMIN:
		return finish_vssadmin(ps);
	case BLOCK_STORAGE:
		return finish_storage(ps);
	case BLOCK_WRITER:
		return finish_writer(ps);
	default:
		return 0;
	}
}

static int finish_set(struct parser *ps)
{
	struct md_set *set;
	char ids[GUID_STRING_MAX];
	int r;

	if (!ps->in_set)
		return 0;
	ps->in_set = false;
	/* a header with nothing under it (diskshadow's "Querying ... set ID {...}") is no set of its own */
	if (!ps->set_counted && ps->set_seen == 0)
		return 0;
	if (ps->set_counted && ps->set_seen < ps->set_count)
		return sr_fail(-EBADMSG, "line %u: set {%s} announces %d shadow copies, %d are listed (a listing cut "
					 "in the middle?)", ps->set_no, guid_format(&ps->set_id, ids), ps->set_count,
			       ps->set_seen);
	r = md_set_get(ps->m, &ps->set_id, &set);
	if (r < 0)
		return r;
	ps->recognized = true;
	if (ps->set_counted)
		set->shadow_count = ps->set_count;
	if (ps->set_time.p && (r = val_dup(&ps->set_time, &set->created_text)) < 0)
		return r;
	return 0;
}

static int add_val(struct parser *ps, struct val v)
{
	if (ps->n_vals >= MAX_VALS)
		return sr_fail(-EBADMSG, "line %u: a block of more than %u lines", v.no, MAX_VALS);
	ps->vals[ps->n_vals++] = v;
	return 0;
}

static void open_block(struct parser *ps, enum block_kind k, const struct sr_guid *id, const struct line *l)
{
	ps->kind = k;
	if (id)
		ps->id = *id;
	ps->indent = l->indent;
	ps->no = l->no;
	ps->n_vals = 0;
	ps->alias[0] = 0;
}

static int do_line(struct parser *ps, const struct line *l)
{
	struct sr_guid g;
	int r;

	r = check_guids(l);
	if (r < 0)
		return r;
	if (l->len == 0) {
		/* a blank line ends a block (diskshadow and vssadmin end theirs with one) */
		return finish_block(ps);
	}
	if (l->len >= 2 && l->p[0] == '-' && l->p[1] == '>') { /* diskshadow's prompt and script echo */
		ps->recognized = true;
		return finish_block(ps);
	}
	/* the tools' banners: "vssadmin 1.1 - ...", "Microsoft DiskShadow version 1.0" (names, not translated) */
	if ((l->len > 9 && strncasecmp(l->p, "vssadmin ", 9) == 0) || memmem(l->p, l->len, "DiskShadow", 10))
		ps->recognized = true;

	/* a writer block: "* <words> "NAME"<words>", no GUID on the line */
	if (l->p[0] == '*' && l->len > 2 && is_blank(l->p[1]) && memchr(l->p, '"', l->len)) {
		const char *q1 = memchr(l->p, '"', l->len);
		const char *q2 = memchr(q1 + 1, '"', (size_t)(l->p + l->len - q1 - 1));
		const char *b = memchr(l->p, '{', l->len);

		if (q2 && q2 > q1 + 1 && (size_t)(q2 - q1 - 1) < sizeof(ps->writer_name) &&
		    !(b && braced_guid_at(b, (size_t)(l->p + l->len - b), &g))) {
			r = finish_block(ps);
			if (r >= 0)
				r = finish_set(ps);
			if (r < 0)
				return r;
			open_block(ps, BLOCK_WRITER, NULL, l);
			memcpy(ps->writer_name, q1 + 1, (size_t)(q2 - q1 - 1));
			ps->writer_name[q2 - q1 - 1] = 0;
			ps->after_ds_record = false;
			return 0;
		}
	}
	if (ps->kind == BLOCK_WRITER) {
		if ((l->p[0] == '+' || l->p[0] == '-') && l->len >= 2 && is_blank(l->p[1]))
			return add_val(ps, (struct val){ l->p, l->len, l->no });
		r = finish_block(ps);
		if (r < 0)
			return r;
	}

	/* a diskshadow (or vshadow) record: "* <label> = {GUID}  [%alias%]" */
	if (l->p[0] == '*' && memchr(l->p, '{', l->len)) {
		const char *b = memchr(l->p, '{', l->len);
		size_t off = (size_t)(b - l->p);
		if (!braced_guid_at(b, l->len - off, &g))
			return sr_fail(-EBADMSG, "line %u: a shadow copy record line with a malformed GUID", l->no);
		r = finish_block(ps);
		if (r < 0)
			return r;
		r = finish_set(ps);
		if (r < 0)
			return r;
		open_block(ps, BLOCK_DISKSHADOW, &g, l);
		{
			const char *a = memchr(b + 38, '%', l->len - off - 38);
			const char *z = a ? memchr(a + 1, '%', (size_t)(l->p + l->len - a - 1)) : NULL;
			if (a && z && (size_t)(z - a - 1) < sizeof(ps->alias)) {
				memcpy(ps->alias, a + 1, (size_t)(z - a - 1));
				ps->alias[z - a - 1] = 0;
			}
		}
		ps->after_ds_record = false;
		return 0;
	}
	if (ps->kind == BLOCK_DISKSHADOW) {
		if (l->p[0] == '-' && l->len >= 2 && is_blank(l->p[1])) {
			struct val v = line_value(l->p + 2, l->len - 2, l->no);
			/* "- Shadow copy set: {GUID}   %VSS_SHADOW_SET%": the GUID is the value */
			if (ps->n_vals == 0 && v.len > 38 && v.p[0] == '{')
				v.len = 38;
			if (v.len > 38 && v.p[0] == '{' && v.p[37] == '}' && is_blank(v.p[38]))
				v.len = 38;
			return add_val(ps, v);
		}
		r = finish_block(ps);
		if (r < 0)
			return r;
	}
	/* diskshadow's footer, "Number of shadow copies listed: N", right after its records */
	if (ps->after_ds_record && ps->kind == BLOCK_NONE) {
		struct val v = line_value(l->p, l->len, l->no);
		int n;
		ps->after_ds_record = false;
		if (v.p != l->p && val_is_int(&v, &n)) {
			if ((unsigned)n != ps->ds_records)
				return sr_fail(-EBADMSG, "line %u: the listing says %d shadow copies, %u are listed (a "
							 "listing cut in the middle?)", l->no, n, ps->ds_records);
			ps->ds_records = 0;
			return 0;
		}
	}

	/* inside a vssadmin shadow block or storage association: more indented value lines */
	if ((ps->kind == BLOCK_VSSADMIN || ps->kind == BLOCK_STORAGE) && l->indent > ps->indent &&
	    !(ps->kind == BLOCK_STORAGE && ends_with_guid(l, &g) && !memmem(l->p, l->len, "\\\\?\\", 4)))
		return add_val(ps, line_value(l->p, l->len, l->no));
	if (ps->kind == BLOCK_STORAGE && l->indent == ps->indent && l->indent > 0)
		return add_val(ps, line_value(l->p, l->len, l->no));
	r = finish_block(ps);
	if (r < 0)
		return r;

	/* vssadmin: a line ending in a GUID opens a set, or (more indented, in a set) a shadow copy */
	if (ends_with_guid(l, &g) && !memmem(l->p, l->len, "\\\\", 2) && l->p[0] != '*' && l->p[0] != '-' &&
	    l->p[0] != '%') {
		if (ps->in_set && l->indent > ps->set_indent) {
			open_block(ps, BLOCK_VSSADMIN, &g, l);
			return 0;
		}
		r = finish_set(ps);
		if (r < 0)
			return r;
		ps->in_set = true;
		ps->set_id = g;
		ps->set_indent = l->indent;
		ps->set_no = l->no;
		ps->set_counted = false;
		ps->set_expect_count = true;
		ps->set_count = 0;
		ps->set_seen = 0;
		ps->set_time = (struct val){ 0 };
		return 0;
	}
	/* vssadmin: "Contained N shadow copies at creation time: <time>" under the set header */
	if (ps->in_set && ps->set_expect_count) {
		ps->set_expect_count = false;
		if (l->indent > ps->set_indent) {
			for (size_t i = 0; i < l->len; i++)
				if (isdigit((unsigned char)l->p[i])) {
					struct val n = { l->p + i, 0, l->no };
					while (n.len < l->len - i && isdigit((unsigned char)n.p[n.len]))
						n.len++;
					if (!val_is_int(&n, &ps->set_count))
						break;
					ps->set_counted = true;
					ps->set_time = line_value(l->p, l->len, l->no);
					if (ps->set_time.p == l->p)
						ps->set_time = (struct val){ 0 };
					return 0;
				}
		}
	}
	/* vssadmin list shadowstorage: an indented line with a volume GUID path after an unindented header */
	if (l->indent > 0 && memmem(l->p, l->len, "\\\\?\\Volume{", 11)) {
		r = finish_set(ps);
		if (r < 0)
			return r;
		open_block(ps, BLOCK_STORAGE, NULL, l);
		return add_val(ps, line_value(l->p, l->len, l->no));
	}
	if (l->indent <= (ps->in_set ? ps->set_indent : 0))
		return finish_set(ps);
	return 0;
}

int md_parse_listing_text(struct md *m, const char *text, size_t len)
{
	struct parser ps = { .m = m };
	const char *p = text, *end = text + len;
	unsigned no = 0;
	int r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		struct line l = { .no = ++no };
		unsigned col = 0;

		if (e > p && e[-1] == '\r')
			e--;
		while (p < e && is_blank(*p)) {
			col = *p == '\t' ? (col / 8 + 1) * 8 : col + 1;
			p++;
		}
		l.p = p;
		l.len = (size_t)(e - p);
		trim(&l.p, &l.len);
		l.indent = col;
		r = do_line(&ps, &l);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	r = finish_block(&ps);
	if (r >= 0)
		r = finish_set(&ps);
	if (r < 0)
		return r;
	if (!ps.recognized)
		return sr_fail(-EMEDIUMTYPE, "text without a diskshadow or vssadmin record, writer, banner or prompt: "
					     "not a listing");
	m->n_docs[MD_DOC_LISTING]++;
	return 0;
}
