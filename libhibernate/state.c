// SPDX-License-Identifier: LGPL-2.1-or-later
/* The record of the last hibernation on the machine itself (state.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "image-internal.h"
#include "macro.h"
#include "state.h"
#include "util.h"

#define S_MAGIC		"HIBSTATE"
#define S_VERSION	8
#define S_ID		16
#define S_CREATED	(S_ID + HIB_IMAGE_ID_BYTES)
#define S_PLACE		(S_CREATED + 8)
#define S_CSUM		(HIB_STATE_BYTES - 8)

/*
 * Open the state device or file.  A block device may be named through a symbolic link: every
 * stable name udev gives one is a link (/dev/mapper/VG-LV and /dev/VG/LV to ../dm-N,
 * /dev/disk/by-partlabel/...), and the initramfs and the system see the same names.  A file
 * never is: a planted link could point anywhere.  The device opened must be the block device
 * the name led to a moment before, not a file swapped in since.  An fd or -errno.
 */
static int state_open(const char *path, int flags)
{
	struct stat st, fst;
	int fd;

	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		fd = open(path, flags | O_CLOEXEC);
		if (fd < 0)
			return negative_errno();
		if (fstat(fd, &fst) < 0 || !S_ISBLK(fst.st_mode) || fst.st_rdev != st.st_rdev) {
			close(fd);
			return -ELOOP;
		}
		return fd;
	}
	fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? negative_errno() : fd;
}

static int put_block(const char *path, const uint8_t *b)
{
	_cleanup_close_ int fd = state_open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return fd;
	do {
		n = pwrite(fd, b, HIB_STATE_BYTES, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if (n != HIB_STATE_BYTES)
		return -EIO;
	return fsync(fd) < 0 ? negative_errno() : 0;
}

int hib_state_write(const char *path, const struct hib_state_record *rec)
{
	uint8_t b[HIB_STATE_BYTES] = {};

	if (!path || !rec)
		return -EINVAL;
	memcpy(b, S_MAGIC, 8);
	put32(b + S_VERSION, 1);
	memcpy(b + S_ID, rec->image_id, HIB_IMAGE_ID_BYTES);
	put64(b + S_CREATED, rec->created);
	put_str(b + S_PLACE, rec->place, HIB_STATE_PLACE_MAX);
	put64(b + S_CSUM, (uint64_t)XXH3_64bits(b, S_CSUM));
	return put_block(path, b);
}

int hib_state_clear(const char *path)
{
	static const uint8_t zero[HIB_STATE_BYTES];

	if (!path)
		return -EINVAL;
	return put_block(path, zero);
}

int hib_state_read(const char *path, struct hib_state_record *ret)
{
	_cleanup_close_ int fd = -1;
	uint8_t b[HIB_STATE_BYTES];
	ssize_t n;

	if (!path || !ret)
		return -EINVAL;
	fd = state_open(path, O_RDONLY);
	if (fd < 0)
		return fd;
	n = hib_read_full(fd, b, sizeof(b));
	if (n < 0)
		return (int)n;
	if (n < (ssize_t)sizeof(b) || all_zero(b, sizeof(b)))
		return -ENODATA;
	if (memcmp(b, S_MAGIC, 8) != 0 || get32(b + S_VERSION) != 1 ||
	    get64(b + S_CSUM) != (uint64_t)XXH3_64bits(b, S_CSUM) ||
	    !memchr(b + S_PLACE, 0, HIB_STATE_PLACE_MAX))
		return -EBADMSG;
	memcpy(ret->image_id, b + S_ID, HIB_IMAGE_ID_BYTES);
	ret->created = get64(b + S_CREATED);
	memcpy(ret->place, b + S_PLACE, HIB_STATE_PLACE_MAX);
	return 0;
}
