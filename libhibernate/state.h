/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the machine's own record of its last hibernation ([hibernate] state = a small
 * block device or a root-only file).  Written before anything is frozen with the id the coming
 * image will carry, read and cleared by resume before it restores anything: an image is restored only if it is the one recorded,
 * and only once, whatever the store that holds it does (a server that keeps a deleted
 * object, a copied disk).
 *
 * Layout (512 bytes at offset 0, little endian): "HIBSTATE", u32 version 1, u32 0, the image
 * id (16 bytes, image-format.h), u64 creation time, the image's place (NUL-terminated,
 * 256 bytes, for messages), zeros, u64 XXH3 of the 504 bytes before it.  All zero: cleared.
 */
#ifndef LIBHIBERNATE_STATE_H
#define LIBHIBERNATE_STATE_H

#include <stdint.h>

#include "image-format.h"

#define HIB_STATE_BYTES		512
#define HIB_STATE_PLACE_MAX	256

struct hib_state_record {
	uint8_t image_id[HIB_IMAGE_ID_BYTES];
	uint64_t created;
	char place[HIB_STATE_PLACE_MAX];
};

/* Record @rec on @path (synchronously).  0 or -errno. */
int hib_state_write(const char *path, const struct hib_state_record *rec);
/* The record on @path: 0; -ENODATA when cleared or never written; -EBADMSG when damaged. */
int hib_state_read(const char *path, struct hib_state_record *ret);
/* Clear the record (synchronously), before a restore.  0 or -errno. */
int hib_state_clear(const char *path);

#endif /* LIBHIBERNATE_STATE_H */
