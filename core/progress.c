/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum progress_mode progress_default_mode = PROGRESS_AUTO;

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *format_bytes(uint64_t v, char *buf, int size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, (size_t)size, "%" PRIu64 " B", v);
	else
		snprintf(buf, (size_t)size, "%.1f %s", d, units[u]);
	return buf;
}

void progress_begin(struct progress *p, const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->mode = progress_default_mode;
	if (p->mode == PROGRESS_AUTO && !isatty(STDERR_FILENO))
		p->mode = PROGRESS_NONE;
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->total = total;
	p->start = p->last = now_seconds();
}

static void show(struct progress *p, double t, bool final)
{
	double el = t - p->start, rate = el > 0 ? (double)p->done / el : 0;
	char a[32], b[32], r[32];

	if (p->mode == PROGRESS_JSON) {
		fprintf(stderr,
			"{\"progress\":\"%s\",\"done\":%" PRIu64 ",\"total\":%" PRIu64 ",\"elapsed\":%.3f,\"final\":%s}\n",
			p->label, p->done, p->total, el, final ? "true" : "false");
		return;
	}
	if (final) {
		if (p->shown)
			fputs("\r\033[K", stderr);
		return;
	}
	format_bytes(p->done, a, sizeof(a));
	format_bytes(p->total, b, sizeof(b));
	format_bytes((uint64_t)rate, r, sizeof(r));
	if (p->total && rate > 0 && p->done <= p->total) {
		unsigned eta = (unsigned)((double)(p->total - p->done) / rate);
		fprintf(stderr, "\r\033[K%s %3u%% %s / %s  %s/s  ETA %u:%02u:%02u", p->label,
			(unsigned)(p->done * 100 / p->total), a, b, r, eta / 3600, eta / 60 % 60, eta % 60);
	} else {
		fprintf(stderr, "\r\033[K%s %s  %s/s", p->label, a, r);
	}
	p->shown = true;
}

void progress_update(struct progress *p, uint64_t done)
{
	double t;

	p->done = done;
	if (p->mode == PROGRESS_NONE)
		return;
	t = now_seconds();
	if (t - p->last < (p->mode == PROGRESS_JSON ? 1.0 : 0.1))
		return;
	p->last = t;
	show(p, t, false);
}

void progress_add(struct progress *p, uint64_t delta)
{
	progress_update(p, p->done + delta);
}

void progress_end(struct progress *p)
{
	if (p->mode == PROGRESS_NONE)
		return;
	show(p, now_seconds(), true);
	fflush(stderr);
}
