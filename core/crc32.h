/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CRC32_H
#define SR_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE 802.3, reflected, as GPT and zlib use it). Pass 0 to start; chainable. */
uint32_t crc32_le(uint32_t crc, const void *buf, size_t len);
/*
 * CRC-32C (Castagnoli, reflected, as iSCSI and ext4 use it). Pass 0 to start;
 * chainable. The SSE4.2 instruction where the CPU has it (about 10x the table
 * version): the repository's chunk envelopes use it.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
