/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_BUF_H
#define SR_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* A growable byte buffer. The data is always NUL-terminated (not counted in len). */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for at least extra more bytes. -ENOMEM on failure (the buffer is unchanged). */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hand the data to the caller (NUL-terminated, never NULL on success); the buffer is emptied. */
char *buf_steal(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Are all n bytes at p zero? (Compared a 4 KiB page at a time.) */
bool mem_is_zero(const void *p, size_t n);

/*
 * Scratch space of the calling thread, reused from call to call (a fresh
 * large malloc per request is an mmap, page faults and cleared pages every
 * time): at least size bytes, valid until the thread's next call with the
 * same tb, freed when the thread exits. NULL if out of memory. Each user has
 * its own static struct thread_buf (THREAD_BUF_INIT), so that layers do not
 * clobber each other's.
 */
struct thread_buf {
	bool ready;   /* key made (atomic) */
	unsigned key; /* a pthread_key_t (buf.h stays free of pthread.h) */
};
#define THREAD_BUF_INIT { false, 0 }
void *thread_buf_get(struct thread_buf *tb, size_t size);

/* A growable array of fixed-size elements. */
#define VEC(type)                 \
	struct {                  \
		type *v;          \
		size_t n, cap;    \
	}
int vec_grow_(void **v, size_t *cap, size_t need, size_t elsize);
/* Append one element; -ENOMEM on failure. */
#define vec_push(vec, elem)                                                                      \
	({                                                                                       \
		int _r = vec_grow_((void **)&(vec)->v, &(vec)->cap, (vec)->n + 1, sizeof(*(vec)->v)); \
		if (_r >= 0)                                                                     \
			(vec)->v[(vec)->n++] = (elem);                                           \
		_r;                                                                              \
	})

#endif
