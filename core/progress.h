/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_PROGRESS_H
#define SR_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Progress of long work on stderr.
 *  - PROGRESS_AUTO: one self-rewriting line (percent, bytes, rate, ETA) when
 *    stderr is a terminal, nothing otherwise;
 *  - PROGRESS_NONE: nothing (--quiet);
 *  - PROGRESS_JSON: one JSON object per line (--progress=json), for scripts.
 * Updates are throttled (10 per second on a terminal, 1 per second as JSON).
 * One reporter per thread of work; not thread-safe.
 */
enum progress_mode { PROGRESS_AUTO, PROGRESS_NONE, PROGRESS_JSON };

extern enum progress_mode progress_default_mode;

struct progress {
	enum progress_mode mode;
	char label[64];
	uint64_t total, done;
	double start, last;
	bool shown;
};

void progress_begin(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_add(struct progress *p, uint64_t delta);
/* Clears the terminal line (or writes a final JSON line). */
void progress_end(struct progress *p);

/* "1.5 GiB" into buf. Returns buf. */
char *format_bytes(uint64_t v, char *buf, int size);
double now_seconds(void);

#endif
