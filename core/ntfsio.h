/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_NTFSIO_H
#define SR_NTFSIO_H

#include <stddef.h>
#include <stdint.h>

#include "src.h"

/*
 * libntfs-3g on a struct src: a custom ntfs_device (device operations that
 * pread from the source, read-only), so an NTFS volume can be opened from any
 * source (image, partition slice, captured volume, shadow-copy view) without
 * a loop device.
 *
 * libntfs-3g is not thread-safe per volume: one thread at a time may use a
 * struct ntfsio and the ntfs_volume it returns. Different volumes may be used
 * from different threads. libntfs-3g's own messages are silenced unless
 * sr_verbosity >= 2; errors come back as -errno with a detail (sr_fail).
 */

struct ntfsio;
struct _ntfs_volume; /* ntfs_volume from <ntfs-3g/volume.h> */

/* Mount the NTFS volume in s read-only (a reference on s is taken). -EMEDIUMTYPE if it is not NTFS. */
int ntfsio_open(struct src *s, struct ntfsio **ret);
void ntfsio_close(struct ntfsio *n);
/* Borrowed; valid until ntfsio_close(). */
struct _ntfs_volume *ntfsio_volume(struct ntfsio *n);

uint32_t ntfsio_cluster_size(const struct ntfsio *n);
uint64_t ntfsio_cluster_count(const struct ntfsio *n);

/* The $Bitmap, one bit per cluster (bit i of byte i/8 = cluster i in use), malloc'ed, *ret_len bytes. */
int ntfsio_bitmap_read(struct ntfsio *n, uint8_t **ret, size_t *ret_len);

#endif
