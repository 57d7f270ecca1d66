/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: sinks (like CRIU's page_xfer), where an image lives: a file, a block device,
 * memory, or (http.h) a URL.  The implementations are in sink.c and http.c.
 * Same conventions as hibernate.h: 0 / non-negative or -errno, ret_* written only on
 * success, free functions accept NULL, no printing.
 */
#ifndef LIBHIBERNATE_SINK_H
#define LIBHIBERNATE_SINK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hib_sink;

struct hib_sink_ops {
	/* Write / read exactly @len bytes at @off.  0 or -errno (a short read is -ENODATA). */
	int (*write)(struct hib_sink *s, const void *buf, size_t len, uint64_t off);
	int (*read)(struct hib_sink *s, void *buf, size_t len, uint64_t off);
	/*
	 * Optional: read @len bytes at @off into @buf (@cap bytes) where the sink can put them
	 * without a copy, *ret_data pointing at them (hib_sink_read_in()).  0 or -errno.
	 */
	int (*read_in)(struct hib_sink *s, uint8_t *buf, size_t cap, size_t len, uint64_t off,
		       uint8_t **ret_data);
	/* Make everything written so far durable.  0 or -errno. */
	int (*sync)(struct hib_sink *s);
	/*
	 * Bytes available: for reading, the current size; for writing, the most the sink can
	 * take (device size, or file size + free space on its filesystem).
	 */
	int (*size)(struct hib_sink *s, uint64_t *ret_size);
	/* Release everything (the sink itself too). */
	void (*close)(struct hib_sink *s);
};

enum hib_sink_kind {
	HIB_SINK_FILE = 1,
	HIB_SINK_BLOCK = 2,
	HIB_SINK_MEMORY = 3,
	HIB_SINK_OTHER = 4,	/* e.g. a test's own ops, later the network */
};

struct hib_sink {
	const struct hib_sink_ops *ops;
	enum hib_sink_kind kind;
	bool writable;
	bool growable;		/* a file the writer may extend: size counts free space */
	char name[256];		/* path or description, for messages */
	int fd;			/* file and block sinks, else -1 */
	size_t write_buffer_bytes;	/* memory it touches first while writing (S3 parts) */
	bool committed;		/* holds a complete image (set by the writer, cleared by
				 * hib_image_invalidate()): a file this sink created without
				 * one is removed when it closes */
	void *priv;		/* implementation data */
	void *direct;		/* a block device's O_DIRECT write buffer (sink.c) */
	void *rwin;		/* its O_DIRECT read window (sink.c) */
};

enum {
	HIB_SINK_READ = 0,
	HIB_SINK_WRITE = 1,
	HIB_SINK_UPDATE = 2,	/* an existing image, read and then invalidated */
};

/*
 * Open @path as a sink: a block device (size from BLKGETSIZE64) or a regular file.  For
 * HIB_SINK_WRITE a regular file is created (0600) if its directory exists (never under /dev/:
 * a missing name there is a missing device, -ENOENT); -EROFS if the file
 * or device is read-only (BLKROGET, or a filesystem mounted read-only), -ENOENT if it is
 * missing (for reading) or its directory is, -EINVAL for anything else (directory, pipe, a
 * URL: those go through hib_sink_open_conf()).
 * HIB_SINK_UPDATE opens an existing file or device for reading and writing (resume reads
 * the image, then invalidates it), with the same read-only checks as HIB_SINK_WRITE.
 */
int hib_sink_open(const char *path, int mode, struct hib_sink **ret_sink);

/*
 * hib_sink_open() for a target that will be written (HIB_SINK_WRITE, and HIB_SINK_UPDATE
 * for a resume's invalidation), with what makes it safe, each refusal worded in @why:
 *   - a block device is opened O_EXCL: -EBUSY when it is mounted or held;
 *   - a file is not reached through a symbolic link (-ELOOP; a link to a block device, as
 *     in /dev/disk/by-*, is followed);
 *   and for HIB_SINK_WRITE:
 *   - a block device or an existing file carrying a filesystem, a partition table, LUKS or
 *     LVM (libblkid) is refused, -EEXIST; this project's image or a swap signature is not;
 *   - an existing file is owned by root and gives group and others no permission (-EPERM),
 *     (the writer truncates it when it begins); a new one is created 0600 and removed
 *     again if no image was completed in it.
 */
int hib_sink_open_safe(const char *path, int mode, struct hib_sink **ret_sink, char *why,
		       size_t why_size);
/*
 * Write @s (a file or block sink) through a buffer of @bytes (a multiple of 4096; 0: the
 * default, HIB_SINK_DIRECT_BYTES) and a second descriptor opened O_DIRECT: writes at
 * consecutive offsets are gathered and go out in whole aligned blocks, bypassing the page
 * cache (for a block device: no read-modify-write of the page a record boundary falls in,
 * no writeback threads on the CPUs the compressors need).  A partial last block is
 * completed with what the target holds there.  Reads, sync and close write the buffer out
 * first.  hib_sink_open() does this for a block device it opens for writing; the tests call
 * it for files.  Without O_DIRECT (EINVAL from open) the writes are gathered all the same.
 * Allocates the buffer (counted in write_buffer_bytes).  0 or -errno.
 */
#define HIB_SINK_DIRECT_BYTES	(256u << 10)
int hib_sink_direct(struct hib_sink *s, size_t bytes);

/*
 * Read @s (a file or block sink) through a window of @bytes (a multiple of 4096, at least two
 * blocks; 0: HIB_SINK_READ_DIRECT_BYTES) and a second descriptor opened O_DIRECT: a read
 * outside the window refills it from the aligned block the read begins in; reads larger than
 * the window, and every read once the device refuses the alignment, go through the page cache
 * as before.  Resume reads the image once, front to back: no page cache fills the memory the
 * kernel then allocates for the image, and nothing is copied twice.  Writes empty the window.
 * Allocates the window.  0, or -errno (-EINVAL from open: no O_DIRECT here, e.g. tmpfs).
 */
#define HIB_SINK_READ_DIRECT_BYTES	(2u << 20)
int hib_sink_read_direct(struct hib_sink *s, size_t bytes);

/*
 * A growable in-memory sink of at most @capacity bytes (tests, and staging).  Its size is
 * @capacity while s->writable is set; clear s->writable to read it back (size = data length).
 */
int hib_sink_open_memory(size_t capacity, struct hib_sink **ret_sink);
/* The contents of a memory sink (NULL for other kinds) and its length. */
uint8_t *hib_sink_memory_data(struct hib_sink *s, size_t *ret_len);
void hib_sink_close(struct hib_sink *s);

static inline int hib_sink_write(struct hib_sink *s, const void *buf, size_t len, uint64_t off)
{
	return s->ops->write(s, buf, len, off);
}

static inline int hib_sink_read(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	return s->ops->read(s, buf, len, off);
}

/*
 * Read @len bytes at @off into @buf (@cap bytes) without a copy where the sink can: a file or
 * block sink with a read window (hib_sink_read_direct()) reads the aligned blocks around them
 * into @buf (aligned to 4096, with room for a block's slack on either side:
 * HIB_SINK_READ_IN_SLACK) through its O_DIRECT descriptor, and *ret_data points at the byte of
 * @off in it.  Otherwise (no window, another kind of sink, or it does not fit) through
 * hib_sink_read() into @buf itself.  0, or -errno (-ENODATA past the end).
 */
#define HIB_SINK_READ_IN_SLACK	(2 * 4096)
static inline int hib_sink_read_in(struct hib_sink *s, uint8_t *buf, size_t cap, size_t len,
				   uint64_t off, uint8_t **ret_data)
{
	int r;

	if (!s || !buf || !ret_data || len > cap)
		return -EINVAL;
	if (s->ops->read_in)
		return s->ops->read_in(s, buf, cap, len, off, ret_data);
	r = hib_sink_read(s, buf, len, off);
	if (r < 0)
		return r;
	*ret_data = buf;
	return 0;
}

static inline int hib_sink_sync(struct hib_sink *s)
{
	return s->ops->sync(s);
}

static inline int hib_sink_size(struct hib_sink *s, uint64_t *ret_size)
{
	return s->ops->size(s, ret_size);
}

/*
 * Can @s take @need bytes?  0, -EROFS if it is not writable, -ENOSPC if it is too small
 * (*ret_have, if set, gets what it has), or the size op's error.
 */
int hib_sink_preflight(struct hib_sink *s, uint64_t need, uint64_t *ret_have);

/*
 * The field @name ("MemTotal", "MemAvailable", ...) of @meminfo_path (NULL: /proc/meminfo), in
 * bytes.  -EBADMSG if absent or not "N kB".  MemTotal may not be 0.
 */
int hib_meminfo_field(const char *meminfo_path, const char *name, uint64_t *ret_bytes);

/* MemTotal from @meminfo_path (NULL: /proc/meminfo), in bytes.  -EBADMSG if absent. */
int hib_meminfo_total(const char *meminfo_path, uint64_t *ret_bytes);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_SINK_H */
