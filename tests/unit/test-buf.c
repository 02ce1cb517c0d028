/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/buf: buf_* and vec_push. Oracles: snprintf into a plain array for the
 * formatted text, and a fixed array for the vector's elements.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "tap.h"

static uint64_t rng_state = 0x13198a2e03707344ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static int via_vprintf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
static int via_vprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

static void test_basic(void)
{
	struct buf b = BUF_INIT;
	char *s;

	ok(b.data == NULL && b.len == 0, "BUF_INIT is empty");
	s = buf_steal(&b);
	ok(s && s[0] == 0, "buf_steal of an empty buffer gives \"\" (not NULL)");
	free(s);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "and leaves it empty");

	is_int(buf_append(&b, "abc", 3), 0, "append");
	is_int(buf_putc(&b, 'd'), 0, "putc");
	is_int(buf_append(&b, NULL, 0), 0, "append nothing");
	is_int(b.len, 4, "len 4");
	is_str((char *)b.data, "abcd", "NUL-terminated content");
	is_int(buf_append(&b, "e\0f", 3), 0, "append with an embedded NUL");
	is_int(b.len, 7, "len counts it");
	is_mem(b.data, "abcde\0f\0", 8, "bytes and the final NUL");
	buf_reset(&b);
	ok(b.len == 0 && b.data && b.data[0] == 0, "reset empties, keeps the memory");
	is_int(buf_printf(&b, "%d-%s", 42, "x"), 0, "printf");
	is_str((char *)b.data, "42-x", "printf content");
	is_int(via_vprintf(&b, "[%5.2f|%-3s|%%]", 3.14159, "a"), 0, "vprintf appends");
	is_str((char *)b.data, "42-x[ 3.14|a  |%]", "vprintf content");
	is_int(buf_printf(&b, "%s", ""), 0, "printf of nothing");
	is_int(b.len, strlen("42-x[ 3.14|a  |%]"), "len unchanged");
	s = buf_steal(&b);
	is_str(s, "42-x[ 3.14|a  |%]", "steal returns the content");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "steal empties the buffer");
	free(s);

	is_int(buf_append(&b, "z", 1), 0, "append after steal");
	{
		size_t cap = b.cap, len = b.len;
		uint8_t *data = b.data;
		is_int(buf_reserve(&b, SIZE_MAX), -ENOMEM, "reserve SIZE_MAX: -ENOMEM");
		is_int(buf_reserve(&b, SIZE_MAX - 1), -ENOMEM, "reserve SIZE_MAX - 1: -ENOMEM");
		is_int(buf_append(&b, "q", SIZE_MAX / 2), -ENOMEM, "append of SIZE_MAX / 2: -ENOMEM");
		ok(b.cap == cap && b.len == len && b.data == data, "buffer unchanged");
		is_str((char *)b.data, "z", "content unchanged");
	}
	is_int(buf_reserve(&b, 1000), 0, "reserve 1000");
	ok(b.cap >= b.len + 1000 + 1, "room for 1000 more and the NUL");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "free empties");
	buf_free(&b);
	ok(1, "free twice is fine");
}

static void test_random_vs_snprintf(void)
{
	static char want[1 << 20];
	struct buf b = BUF_INIT;
	size_t wlen = 0;
	int bad = 0;

	for (int i = 0; i < 5000 && wlen < sizeof(want) - 5000; i++) {
		unsigned kind = (unsigned)(rnd() % 4);
		char piece[4096];
		size_t n = (size_t)(rnd() % 300);
		int r = 0;

		switch (kind) {
		case 0:
			for (size_t j = 0; j < n; j++)
				piece[j] = (char)(rnd() % 255 + 1);
			r = buf_append(&b, piece, n);
			memcpy(want + wlen, piece, n);
			wlen += n;
			break;
		case 1:
			r = buf_putc(&b, (char)(i % 94 + 33));
			want[wlen++] = (char)(i % 94 + 33);
			break;
		case 2: {
			unsigned long long v = rnd();
			int w = (int)(rnd() % 40);
			r = buf_printf(&b, "%*llx:%s:%d;", w, v, i % 2 ? "odd" : "even", -i);
			wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, "%*llx:%s:%d;", w, v,
						 i % 2 ? "odd" : "even", -i);
			break;
		}
		default: {
			/* a long formatted string, past any small initial capacity */
			memset(piece, 'L', n + 1000);
			piece[n + 1000] = 0;
			r = via_vprintf(&b, "<%s>", piece);
			wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, "<%s>", piece);
			break;
		}
		}
		if (r < 0 && bad++ < 3)
			diag("operation %d failed: %d", i, r);
		if ((b.len != wlen || memcmp(b.data, want, wlen) != 0 || b.data[b.len] != 0) && bad++ < 3)
			diag("after operation %d (kind %u): len %zu, want %zu", i, kind, b.len, wlen);
	}
	is_int(bad, 0, "5000 random appends, putc and printf equal the snprintf oracle, always NUL-terminated");
	buf_free(&b);
}

struct item {
	uint64_t a;
	char s[13];
};

static void test_vec(void)
{
	VEC(struct item) v = { 0 };
	VEC(uint8_t) bytes = { 0 };
	static struct item want[100000];
	int bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		struct item it = { .a = rnd() };
		snprintf(it.s, sizeof(it.s), "#%zu", i);
		want[i] = it;
		if (vec_push(&v, it) < 0 && bad++ < 3)
			diag("vec_push %zu failed", i);
	}
	is_int(v.n, ARRAY_SIZE(want), "100000 elements pushed");
	ok(v.cap >= v.n, "cap >= n");
	for (size_t i = 0; i < v.n; i++)
		if ((v.v[i].a != want[i].a || strcmp(v.v[i].s, want[i].s) != 0) && bad++ < 3)
			diag("element %zu differs", i);
	is_int(bad, 0, "every element as pushed, in order");
	free(v.v);

	for (int i = 0; i < 3; i++)
		vec_push(&bytes, (uint8_t)(i + 1));
	ok(bytes.n == 3 && bytes.v[0] == 1 && bytes.v[2] == 3, "a vector of bytes");
	free(bytes.v);

	{
		void *p = NULL;
		size_t cap = 0;
		is_int(vec_grow_(&p, &cap, SIZE_MAX / 2, 16), -ENOMEM, "vec_grow_ beyond SIZE_MAX bytes: -ENOMEM");
		ok(p == NULL && cap == 0, "vector unchanged");
		is_int(vec_grow_(&p, &cap, SIZE_MAX, 1), -ENOMEM, "vec_grow_ of SIZE_MAX elements: -ENOMEM");
		is_int(vec_grow_(&p, &cap, 0, 8), 0, "vec_grow_ to 0: nothing to do");
		ok(p == NULL, "no allocation");
		is_int(vec_grow_(&p, &cap, 9, 8), 0, "vec_grow_ to 9");
		ok(cap >= 9 && p, "cap >= 9");
		free(p);
	}
}

static struct thread_buf tb_a = THREAD_BUF_INIT, tb_b = THREAD_BUF_INIT;

static void *other_thread(void *u)
{
	uint8_t *p = thread_buf_get(&tb_a, 4096);

	if (p)
		memset(p, 0x77, 4096);
	*(uint8_t **)u = p;
	return NULL;
}

static void test_thread_buf(void)
{
	uint8_t *a = thread_buf_get(&tb_a, 1000), *b = thread_buf_get(&tb_b, 1000), *a2, *big, *o = NULL;
	pthread_t t;

	ok(a && b && a != b, "two users get two buffers");
	memset(a, 0x11, 1000);
	memset(b, 0x22, 1000);
	a2 = thread_buf_get(&tb_a, 500);
	ok(a2 == a && a2[0] == 0x11 && a2[999] == 0x11, "the same buffer again for a smaller size, bytes kept");
	ok(b[0] == 0x22 && b[999] == 0x22, "the other user's bytes untouched");
	big = thread_buf_get(&tb_a, 3u << 20);
	ok(big != NULL, "grown to 3 MiB");
	memset(big, 0x33, 3u << 20); /* ASan: the whole size is there */
	ok(pthread_create(&t, NULL, other_thread, &o) == 0 && pthread_join(t, NULL) == 0, "another thread");
	ok(o != NULL && o != big, "another thread gets its own buffer");
	ok(big[0] == 0x33 && big[(3u << 20) - 1] == 0x33, "this thread's bytes untouched by it");
}

int main(void)
{
	test_basic();
	test_thread_buf();
	test_random_vs_snprintf();
	test_vec();
	return tap_done();
}
