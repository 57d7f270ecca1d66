// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sinks: where an image is written to and read back from, behind one small interface (like
 * CRIU's page_xfer).  Block devices and regular files share the fd-based ops; the memory sink
 * serves the tests.  A network sink will add its own ops.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "http.h"
#include "image-format.h"
#include "sink.h"
#include "log.h"
#include "macro.h"
#include "util.h"

/* ---- file and block device ---------------------------------------------------------------- */

static int pwrite_all(struct hib_sink *s, int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC)
				hib_err("%s: no space left at offset %" PRIu64, s->name, off);
			return negative_errno();
		}
		if (n == 0)
			return -ENOSPC;	/* end of a block device */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* ---- gathered, O_DIRECT writes (hib_sink_direct()) ---- */

/* The logical block size: offsets and lengths of O_DIRECT I/O are multiples of it. */
static size_t direct_block_size(struct hib_sink *s)
{
	int lbs = 0;

	if (s->kind == HIB_SINK_BLOCK && ioctl(s->fd, BLKSSZGET, &lbs) == 0 && lbs >= 512 &&
	    lbs <= 65536 && !(lbs & (lbs - 1)))
		return (size_t)lbs;
	return 4096;
}

/* A description of its own: O_DIRECT does not reach the reads and ioctls on s->fd. */
static int open_direct(struct hib_sink *s, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd);
	return open(path, flags | O_DIRECT | O_CLOEXEC);
}

struct direct_buf {
	int dfd;		/* opened O_DIRECT, or s->fd where that failed */
	uint8_t *buf;		/* cap bytes, then one block of scratch; aligned */
	size_t cap;		/* a multiple of bs */
	size_t bs;		/* the target's logical block size */
	uint64_t start;		/* target offset of buf[0], a multiple of bs */
	size_t len;		/* bytes of buf to write at start */
	bool open;		/* a run of writes is being gathered */
};

/* The block at @off (a multiple of bs) into @dst: what lies past the end of a file is 0. */
static int direct_read_block(struct direct_buf *d, uint64_t off, uint8_t *dst)
{
	ssize_t got = hib_pread_full(d->dfd, dst, d->bs, (off_t)off);

	if (got < 0)
		return (int)got;
	memset(dst + got, 0, d->bs - (size_t)got);
	return 0;
}

/*
 * Write out what is gathered: the whole blocks, and a partial last block completed with
 * what the target holds behind it.  The partial block stays in the buffer, so that the run
 * can go on.
 */
static int direct_flush(struct hib_sink *s, struct direct_buf *d)
{
	size_t tail = d->len % d->bs, full = d->len - tail;
	int r;

	if (!d->open || d->len == 0)
		return 0;
	if (tail) {
		uint8_t *scratch = d->buf + d->cap;

		r = direct_read_block(d, d->start + full, scratch);
		if (r < 0)
			return r;
		memcpy(d->buf + d->len, scratch + tail, d->bs - tail);
	}
	r = pwrite_all(s, d->dfd, d->buf, full + (tail ? d->bs : 0), d->start);
	if (r < 0)
		return r;
	if (tail && full)
		memmove(d->buf, d->buf + full, tail);
	d->start += full;
	d->len = tail;
	return 0;
}

/* Flush and forget the run: the next write reads its first block again. */
static int direct_close_run(struct hib_sink *s, struct direct_buf *d)
{
	int r = direct_flush(s, d);

	d->open = false;
	d->len = 0;
	return r;
}

static int direct_write(struct hib_sink *s, struct direct_buf *d, const uint8_t *p, size_t len,
			uint64_t off)
{
	int r;

	while (len > 0) {
		size_t n;

		if (!d->open || off != d->start + d->len) {
			size_t head;

			r = direct_close_run(s, d);
			if (r < 0)
				return r;
			d->start = off - off % d->bs;
			head = (size_t)(off - d->start);
			if (head) {
				r = direct_read_block(d, d->start, d->buf);
				if (r < 0)
					return r;
			}
			d->len = head;
			d->open = true;
		}
		n = MIN(len, d->cap - d->len);
		hib_copy(d->buf + d->len, p, n);
		d->len += n;
		p += n;
		len -= n;
		off += n;
		if (d->len == d->cap) {
			r = pwrite_all(s, d->dfd, d->buf, d->cap, d->start);
			if (r < 0)
				return r;
			d->start += d->cap;
			d->len = 0;
		}
	}
	return 0;
}

static void direct_free(struct hib_sink *s)
{
	struct direct_buf *d = s->direct;

	if (!d)
		return;
	(void)direct_close_run(s, d);
	if (d->dfd >= 0 && d->dfd != s->fd)
		close(d->dfd);
	free(d->buf);
	free(d);
	s->direct = NULL;
}

/*
 * The aligned buffer of an O_DIRECT writer or reader on @s: @bytes (0: @dflt), a multiple of the
 * device's block size and at least @min_blocks of them, with @extra_blocks more behind it.
 */
static int direct_buffer(struct hib_sink *s, size_t bytes, size_t dflt, size_t min_blocks,
			 size_t extra_blocks, uint8_t **ret_buf, size_t *ret_cap, size_t *ret_bs)
{
	size_t cap = bytes ? bytes : dflt, bs = direct_block_size(s);
	void *buf;

	if (cap % bs || cap < min_blocks * bs)
		return -EINVAL;
	if (posix_memalign(&buf, bs > 4096 ? bs : 4096, cap + extra_blocks * bs) != 0)
		return -ENOMEM;
	*ret_buf = buf;
	*ret_cap = cap;
	*ret_bs = bs;
	return 0;
}

int hib_sink_direct(struct hib_sink *s, size_t bytes)
{
	struct direct_buf *d;
	int r;

	if (!s || s->fd < 0 || (s->kind != HIB_SINK_BLOCK && s->kind != HIB_SINK_FILE) ||
	    !s->writable || s->direct || bytes % 4096)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	/* A block of slack behind the buffer for the gathering (direct_write()). */
	r = direct_buffer(s, bytes, HIB_SINK_DIRECT_BYTES, 1, 1, &d->buf, &d->cap, &d->bs);
	if (r < 0) {
		free(d);
		return r;
	}
	d->dfd = open_direct(s, O_RDWR);
	if (d->dfd < 0)
		d->dfd = s->fd;	/* gathered all the same, through the page cache */
	s->direct = d;
	s->write_buffer_bytes += d->cap + d->bs;
	return 0;
}

/* ---- O_DIRECT reads through a window (hib_sink_read_direct()) ---- */

struct read_window {
	int dfd;		/* opened O_DIRECT */
	uint8_t *buf;		/* cap bytes, aligned */
	size_t cap;		/* a multiple of bs */
	size_t bs;
	uint64_t start;		/* target offset of buf[0], a multiple of bs */
	size_t len;		/* bytes of buf read from there */
};

static void read_window_free(struct hib_sink *s)
{
	struct read_window *w = s->rwin;

	if (!w)
		return;
	if (w->dfd >= 0)
		close(w->dfd);
	free(w->buf);
	free(w);
	s->rwin = NULL;
}

/*
 * pread(2) of @len bytes at the aligned @start into the aligned @buf through the window's
 * O_DIRECT descriptor: the count (short at the end), or -errno.  -EINVAL when the device
 * refuses the alignment after all: the window is gone, every read is buffered from now on.
 */
static ssize_t window_pread(struct hib_sink *s, uint8_t *buf, size_t len, uint64_t start)
{
	ssize_t n = hib_pread_full(((struct read_window *)s->rwin)->dfd, buf, len, (off_t)start);

	if (n == -EINVAL)
		read_window_free(s);
	return n;
}

/*
 * @len bytes at @off from the window, refilled from the aligned block @off falls in.  1 when
 * the window cannot serve (too large a read, or O_DIRECT refused): the caller reads through
 * s->fd.  0, or -errno (-ENODATA past the end).
 */
static int read_window_get(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	struct read_window *w = s->rwin;
	uint64_t start;
	ssize_t n;

	if (len > w->cap - w->bs)
		return 1;
	if (off < w->start || off - w->start > w->len || len > w->len - (off - w->start)) {
		start = off - off % w->bs;
		w->len = 0;
		n = window_pread(s, w->buf, w->cap, start);
		if (n == -EINVAL)
			return 1;
		if (n < 0)
			return (int)n;
		w->start = start;
		w->len = (size_t)n;
		if (off - start > w->len || len > w->len - (off - start))
			return -ENODATA;
	}
	memcpy(buf, w->buf + (off - w->start), len);
	return 0;
}

int hib_sink_read_direct(struct hib_sink *s, size_t bytes)
{
	struct read_window *w;
	int r;

	if (!s || s->fd < 0 || (s->kind != HIB_SINK_BLOCK && s->kind != HIB_SINK_FILE) ||
	    s->rwin || bytes % 4096)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* Two blocks at least: a read may straddle a block boundary. */
	r = direct_buffer(s, bytes, HIB_SINK_READ_DIRECT_BYTES, 2, 0, &w->buf, &w->cap, &w->bs);
	if (r < 0) {
		free(w);
		return r;
	}
	w->dfd = open_direct(s, O_RDONLY);
	if (w->dfd < 0) {
		r = negative_errno();
		free(w->buf);
		free(w);
		return r;
	}
	s->rwin = w;
	return 0;
}

static int fd_read(struct hib_sink *s, void *buf, size_t len, uint64_t off);

/* hib_sink_read_in() of a file or block sink: its window's O_DIRECT descriptor, or fd_read(). */
static int fd_read_in(struct hib_sink *s, uint8_t *buf, size_t cap, size_t len, uint64_t off,
		      uint8_t **ret_data)
{
	struct read_window *w = s->rwin;
	uint64_t start, end;
	ssize_t n;
	int r;

	if (w && (uintptr_t)buf % 4096 == 0 && off <= UINT64_MAX - len - w->bs) {
		start = off - off % w->bs;
		end = off + len + (w->bs - (off + len) % w->bs) % w->bs;
		if (end - start <= cap) {
			if (s->direct) {
				r = direct_flush(s, s->direct);
				if (r < 0)
					return r;
			}
			n = window_pread(s, buf, (size_t)(end - start), start);
			if (n >= 0 && (uint64_t)n < off - start + len)
				return -ENODATA;
			if (n >= 0) {
				*ret_data = buf + (off - start);
				return 0;
			}
			if (n != -EINVAL)
				return (int)n;
		}
	}
	r = fd_read(s, buf, len, off);
	if (r < 0)
		return r;
	*ret_data = buf;
	return 0;
}

static int fd_write(struct hib_sink *s, const void *buf, size_t len, uint64_t off)
{
	/* What the window holds may be what this changes. */
	if (s->rwin)
		((struct read_window *)s->rwin)->len = 0;
	if (s->direct)
		return direct_write(s, s->direct, buf, len, off);
	return pwrite_all(s, s->fd, buf, len, off);
}

static int fd_read(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	if (s->direct) {
		int r = direct_flush(s, s->direct);

		if (r < 0)
			return r;
	}
	if (s->rwin) {
		int r = read_window_get(s, buf, len, off);

		if (r <= 0)
			return r;
	}

	while (len > 0) {
		ssize_t n = pread(s->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int fd_sync(struct hib_sink *s)
{
	if (s->direct) {
		int r = direct_close_run(s, s->direct);

		if (r < 0)
			return r;
	}
	if (fsync(s->fd) < 0)
		return negative_errno();
	return 0;
}

static int block_size(struct hib_sink *s, uint64_t *ret_size)
{
	uint64_t size;

	if (ioctl(s->fd, BLKGETSIZE64, &size) < 0)
		return negative_errno();
	*ret_size = size;
	return 0;
}

static int file_size(struct hib_sink *s, uint64_t *ret_size)
{
	struct statvfs sv;
	struct stat st;
	uint64_t size;

	if (fstat(s->fd, &st) < 0)
		return negative_errno();
	size = (uint64_t)st.st_size;
	if (s->growable) {
		if (fstatvfs(s->fd, &sv) < 0)
			return negative_errno();
		/* The file is rewritten in place: its blocks plus the free ones. */
		size += (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	}
	*ret_size = size;
	return 0;
}

static void fd_close(struct hib_sink *s)
{
	direct_free(s);
	read_window_free(s);
	if (s->fd >= 0)
		close(s->fd);
	/* A file we created that holds no image: nothing is left behind. */
	if (s->priv && !s->committed)
		unlink(s->priv);
	free(s->priv);
	free(s);
}

static const struct hib_sink_ops block_ops = {
	.write = fd_write,
	.read = fd_read,
	.read_in = fd_read_in,
	.sync = fd_sync,
	.size = block_size,
	.close = fd_close,
};

static const struct hib_sink_ops file_ops = {
	.write = fd_write,
	.read = fd_read,
	.read_in = fd_read_in,
	.sync = fd_sync,
	.size = file_size,
	.close = fd_close,
};

/*
 * Does @fd hold data that is not ours (a filesystem, a partition table, LUKS, LVM)?  0 if it
 * is empty, holds our image or swap; -EEXIST with @why; -errno.
 */
static int check_foreign(int fd, const char *path, char *why, size_t why_size)
{
	char magic[sizeof(HIB_IMAGE_MAGIC) - 1];
	const char *type = NULL, *what = "a filesystem";
	blkid_probe pr;
	ssize_t n;
	int r;

	n = pread(fd, magic, sizeof(magic), 0);
	if (n < 0)
		return negative_errno();
	if (n == sizeof(magic) && memcmp(magic, HIB_IMAGE_MAGIC, sizeof(magic)) == 0)
		return 0;	/* an image of ours: written over */
	pr = blkid_new_probe();
	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		blkid_free_probe(pr);
		return -EIO;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0 &&
		    blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0)
			what = "a partition table";
		if (type && !strcmp(type, "swap")) {
			blkid_free_probe(pr);
			return 0;	/* swap: free to take, as the kernel's own hibernation does */
		}
	}
	r = r == 0 ? hib_why(why, why_size, -EEXIST, "%s holds %s (%s): refusing to write an "
			     "image over data (if it is really free, wipefs -a it first)", path,
			     what, type ? type : "?") :
	    r == -2 ? hib_why(why, why_size, -EEXIST, "%s holds several signatures: refusing "
			      "to write an image over data (wipefs -a it first)", path) :
	    r < 0 ? -EIO : 0;
	blkid_free_probe(pr);
	return r;
}

static int sink_open(const char *path, int mode, bool safe, struct hib_sink **ret_sink,
		     char *why, size_t why_size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *created = NULL;
	struct hib_sink *s;
	struct statvfs sv;
	struct stat st;
	bool block;
	int r;

	if (!path || !*path || !ret_sink ||
	    (mode != HIB_SINK_READ && mode != HIB_SINK_WRITE && mode != HIB_SINK_UPDATE))
		return -EINVAL;
	/* URLs go through hib_sink_open_conf(), with the configuration's HTTP settings. */
	if (hib_http_is_url(path))
		return -EINVAL;
	safe = safe && mode != HIB_SINK_READ;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT || mode != HIB_SINK_WRITE)
			return negative_errno();
		/* A mistyped device (/dev/vdz) must not become a file on devtmpfs. */
		if (strncmp(path, "/dev/", 5) == 0)
			return -ENOENT;
		/* A new file; ENOENT if its directory is missing too. */
		st.st_mode = S_IFREG;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		hib_err("%s: neither a block device nor a regular file", path);
		return -EINVAL;
	}
	block = S_ISBLK(st.st_mode);

	if (mode == HIB_SINK_READ) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	} else if (block) {
		/* O_EXCL: not while mounted or held by another device. */
		fd = open(path, O_RDWR | O_CLOEXEC | (safe ? O_EXCL : 0));
		if (fd < 0 && errno == EBUSY)
			return hib_why(why, why_size, -EBUSY, "%s is in use (mounted, or held by "
				       "another device): refusing to write an image there", path);
	} else if (!safe) {
		fd = open(path, O_RDWR | (mode == HIB_SINK_WRITE ? O_CREAT : 0) | O_CLOEXEC, 0600);
	} else {
		/* Never through a symbolic link (a planted one could point anywhere). */
		if (mode == HIB_SINK_WRITE) {
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd >= 0) {
				created = strdup(path);
				if (!created) {
					unlink(path);
					return -ENOMEM;
				}
			}
		}
		if (fd < 0 && (mode == HIB_SINK_UPDATE || errno == EEXIST))
			fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ELOOP)
			return hib_why(why, why_size, -ELOOP, "%s is a symbolic link: refusing to "
				       "follow it to the image target (name the file itself)", path);
	}
	if (fd < 0)
		return negative_errno();

	if (mode != HIB_SINK_READ) {
		if (block) {
			int ro = 0;

			if (ioctl(fd, BLKROGET, &ro) < 0)
				return negative_errno();
			if (ro)
				return -EROFS;
		} else {
			if (fstatvfs(fd, &sv) < 0)
				return negative_errno();
			if (sv.f_flag & ST_RDONLY)
				r = -EROFS;
			else if (mode == HIB_SINK_WRITE && safe && fstat(fd, &st) < 0)
				r = negative_errno();
			else if (mode == HIB_SINK_WRITE && safe && (!S_ISREG(st.st_mode) ||
					  (st.st_uid != 0 && st.st_uid != geteuid()) ||
					  (st.st_mode & (S_IRWXG | S_IRWXO))))
				r = hib_why(why, why_size, -EPERM, "%s must be a regular file owned "
					    "by root that group and others cannot access (mode %04o): "
					    "an image is all of memory (chmod 600 it, or remove it)",
					    path, (unsigned int)(st.st_mode & 07777));
			else
				r = 0;
			if (r < 0) {
				if (created)
					unlink(created);
				return r;
			}
		}
		if (mode == HIB_SINK_WRITE && safe && !created) {
			r = check_foreign(fd, path, why, why_size);
			if (r < 0)
				return r;
		}
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		if (created)
			unlink(created);
		return -ENOMEM;
	}
	s->ops = block ? &block_ops : &file_ops;
	s->kind = block ? HIB_SINK_BLOCK : HIB_SINK_FILE;
	s->writable = mode != HIB_SINK_READ;
	s->growable = mode == HIB_SINK_WRITE && !block;
	snprintf(s->name, sizeof(s->name), "%s", path);
	s->fd = TAKE_FD(fd);
	s->priv = TAKE_PTR(created);
	/* A block device is written in whole blocks, O_DIRECT (hib_sink_direct()). */
	if (block && mode != HIB_SINK_READ) {
		r = hib_sink_direct(s, 0);
		if (r < 0) {
			fd_close(s);
			return r;
		}
	}
	*ret_sink = s;
	return 0;
}

int hib_sink_open(const char *path, int mode, struct hib_sink **ret_sink)
{
	return sink_open(path, mode, false, ret_sink, NULL, 0);
}

int hib_sink_open_safe(const char *path, int mode, struct hib_sink **ret_sink, char *why,
		       size_t why_size)
{
	return sink_open(path, mode, true, ret_sink, why, why_size);
}

/* ---- memory --------------------------------------------------------------------------------- */

struct mem_sink {
	uint8_t *data;
	size_t len;
	size_t cap;		/* allocated */
	size_t max;		/* capacity limit */
};

static int mem_write(struct hib_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct mem_sink *m = s->priv;

	if (off > m->max || len > m->max - off)
		return -ENOSPC;
	if (off + len > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		uint8_t *d;

		while (cap < off + len)
			cap = cap > m->max / 2 ? m->max : cap * 2;
		d = realloc(m->data, cap);
		if (!d)
			return -ENOMEM;
		memset(d + m->cap, 0, cap - m->cap);
		m->data = d;
		m->cap = cap;
	}
	memcpy(m->data + off, buf, len);
	if (off + len > m->len)
		m->len = (size_t)(off + len);
	return 0;
}

static int mem_read(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	struct mem_sink *m = s->priv;

	if (off > m->len || len > m->len - off)
		return -ENODATA;
	memcpy(buf, m->data + off, len);
	return 0;
}

static int mem_sync(struct hib_sink *s)
{
	return 0;
}

static int mem_size(struct hib_sink *s, uint64_t *ret_size)
{
	struct mem_sink *m = s->priv;

	*ret_size = s->writable ? m->max : m->len;
	return 0;
}

static void mem_close(struct hib_sink *s)
{
	struct mem_sink *m = s->priv;

	free(m->data);
	free(m);
	free(s);
}

static const struct hib_sink_ops mem_ops = {
	.write = mem_write,
	.read = mem_read,
	.sync = mem_sync,
	.size = mem_size,
	.close = mem_close,
};

int hib_sink_open_memory(size_t capacity, struct hib_sink **ret_sink)
{
	struct hib_sink *s;
	struct mem_sink *m;

	if (!ret_sink || capacity == 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	m = calloc(1, sizeof(*m));
	if (!s || !m) {
		free(s);
		free(m);
		return -ENOMEM;
	}
	m->max = capacity;
	s->ops = &mem_ops;
	s->kind = HIB_SINK_MEMORY;
	s->writable = true;
	s->fd = -1;
	s->priv = m;
	snprintf(s->name, sizeof(s->name), "memory");
	*ret_sink = s;
	return 0;
}

uint8_t *hib_sink_memory_data(struct hib_sink *s, size_t *ret_len)
{
	struct mem_sink *m;

	if (!s || s->kind != HIB_SINK_MEMORY)
		return NULL;
	m = s->priv;
	if (ret_len)
		*ret_len = m->len;
	return m->data;
}

void hib_sink_close(struct hib_sink *s)
{
	if (s)
		s->ops->close(s);
}

/* ---- preflight ---------------------------------------------------------------------------- */

int hib_sink_preflight(struct hib_sink *s, uint64_t need, uint64_t *ret_have)
{
	uint64_t have;
	int r;

	if (!s)
		return -EINVAL;
	if (!s->writable)
		return -EROFS;
	r = hib_sink_size(s, &have);
	if (r < 0)
		return r;
	if (ret_have)
		*ret_have = have;
	if (have < need) {
		hib_err("%s: holds %" PRIu64 " bytes, the worst case image needs %" PRIu64,
			s->name, have, need);
		return -ENOSPC;
	}
	return 0;
}

int hib_meminfo_field(const char *meminfo_path, const char *name, uint64_t *ret_bytes)
{
	_cleanup_fclose_ FILE *f = NULL;
	size_t n = name ? strlen(name) : 0;
	char line[256];

	if (!ret_bytes || n == 0)
		return -EINVAL;
	f = fopen(meminfo_path ? meminfo_path : "/proc/meminfo", "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kib;
		char unit[8];

		if (strncmp(line, name, n) != 0 || line[n] != ':')
			continue;
		if (sscanf(line + n + 1, "%llu %7s", &kib, unit) != 2 || strcmp(unit, "kB") != 0 ||
		    (kib == 0 && strcmp(name, "MemTotal") == 0) || kib > UINT64_MAX / 1024)
			return -EBADMSG;
		*ret_bytes = (uint64_t)kib * 1024;
		return 0;
	}
	return -EBADMSG;
}

int hib_meminfo_total(const char *meminfo_path, uint64_t *ret_bytes)
{
	return hib_meminfo_field(meminfo_path, "MemTotal", ret_bytes);
}
