/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vec_grow_(void **v, size_t *cap, size_t need, size_t elsize)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elsize)
		return -ENOMEM;
	p = realloc(*v, ncap * elsize);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	return vec_grow_((void **)&b->data, &b->cap, b->len + extra + 1, 1);
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	int r = buf_reserve(b, len);

	if (r < 0)
		return r;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return 0;
}

int buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, r;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *buf_steal(struct buf *b)
{
	char *p;

	if (!b->data && buf_reserve(b, 0) < 0)
		return NULL;
	b->data[b->len] = 0;
	p = (char *)b->data;
	*b = (struct buf)BUF_INIT;
	return p;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf)BUF_INIT;
}

bool mem_is_zero(const void *buf, size_t n)
{
	static const uint8_t z[4096];
	const uint8_t *p = buf;

	for (; n >= sizeof(z); p += sizeof(z), n -= sizeof(z))
		if (memcmp(p, z, sizeof(z)) != 0)
			return false;
	return memcmp(p, z, n) == 0;
}

struct thread_buf_data {
	size_t size;
	uint8_t data[];
};

_Static_assert(sizeof(pthread_key_t) == sizeof(unsigned), "pthread_key_t is not an unsigned");

void *thread_buf_get(struct thread_buf *tb, size_t size)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct thread_buf_data *b;

	if (!__atomic_load_n(&tb->ready, __ATOMIC_ACQUIRE)) {
		pthread_key_t k;
		pthread_mutex_lock(&lock);
		if (!tb->ready) {
			if (pthread_key_create(&k, free) != 0) {
				pthread_mutex_unlock(&lock);
				return NULL;
			}
			tb->key = (unsigned)k;
			__atomic_store_n(&tb->ready, true, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&lock);
	}
	b = pthread_getspecific((pthread_key_t)tb->key);
	if (b && b->size >= size)
		return b->data;
	free(b);
	(void)pthread_setspecific((pthread_key_t)tb->key, NULL);
	b = malloc(sizeof(*b) + size);
	if (!b || pthread_setspecific((pthread_key_t)tb->key, b) != 0) {
		free(b);
		return NULL;
	}
	b->size = size;
	return b->data;
}
