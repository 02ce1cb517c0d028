/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_FILETIME_H
#define SR_FILETIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Windows FILETIME: 100 ns intervals since 1601-01-01 UTC. */
#define FILETIME_UNIX_EPOCH 116444736000000000ULL

/* FILETIME to Unix time (seconds and nanoseconds, floor division; times before 1970 are negative). */
struct timespec filetime_to_timespec(uint64_t ft);
/* Unix time to FILETIME; -ERANGE if it does not fit. */
int filetime_from_timespec(struct timespec ts, uint64_t *ret);

#define FILETIME_STRING_MAX 40
/* "2013-12-03T06:35:09.7363787Z" (UTC, full 100 ns precision). Returns buf. */
char *filetime_format(uint64_t ft, char *buf, size_t size);
/* Parse the format above (fraction optional, 1..7 digits). -EINVAL if malformed. */
int filetime_parse(const char *s, uint64_t *ret);

#endif
