// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The libdevmapper backend of the device-mapper sequencing (struct hib_dm_backend in dm.h):
 * the one place that calls libdevmapper, and the one place that turns its 1/0 returns into
 * -errno.  No udev: the library makes /dev/mapper nodes itself.  Also FIFREEZE / FITHAW and
 * the reads of a block device's first bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <libdevmapper.h>

#include "dm-internal.h"
#include "dm.h"
#include "log.h"
#include "macro.h"

static int libdm_errno;

/* libdevmapper's log levels are syslog's, with flag bits above 7. */
#define LIBDM_LOG_ERR	3
#define LIBDM_LOG_WARN	4

static void libdm_log(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
	char msg[512];
	va_list ap;

	level &= 7;
	if (level > LIBDM_LOG_WARN)
		return;		/* debug chatter */
	if (level <= LIBDM_LOG_ERR && dm_errno > 0)
		libdm_errno = dm_errno;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	hib_log(level <= LIBDM_LOG_ERR ? HIB_LOG_ERR : HIB_LOG_WARNING, "libdevmapper: %s", msg);
}

static void libdm_setup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	dm_log_with_errno_init(libdm_log);
	/* No udev in an initramfs or a frozen system: the library makes the nodes itself. */
	dm_udev_set_sync_support(0);
}

static struct dm_task *task_new(int type, const char *name, const char *uuid)
{
	struct dm_task *dmt;

	libdm_setup();
	libdm_errno = 0;
	dmt = dm_task_create(type);
	if (!dmt)
		return NULL;
	if ((name && !dm_task_set_name(dmt, name)) || (uuid && !dm_task_set_uuid(dmt, uuid))) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

/* libdm's 0 into -errno. */
static int task_errno(struct dm_task *dmt)
{
	int e = dmt ? dm_task_get_errno(dmt) : 0;

	if (e <= 0)
		e = libdm_errno;
	if (e <= 0)
		e = dmt ? EIO : ENOMEM;
	return -e;
}

static int task_run(struct dm_task *dmt)
{
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt))
		r = task_errno(dmt);
	return r;
}

static int task_add_table(struct dm_task *dmt, const struct hib_dm_table *t)
{
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (!dm_task_add_target(dmt, t->t[i].start, t->t[i].length, t->t[i].type,
					t->t[i].params))
			return -ENOMEM;
	return 0;
}

static int be_info(void *ud, const char *name, const char *uuid, struct hib_dm_info *ret)
{
	struct dm_task *dmt = task_new(DM_DEVICE_INFO, name, uuid);
	struct dm_info info;
	const char *s;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = task_run(dmt);
	if (r == -ENXIO || r == -ENODEV) {
		dm_task_destroy(dmt);
		return 0;
	}
	if (r == 0 && !dm_task_get_info(dmt, &info))
		r = task_errno(dmt);
	if (r == 0 && info.exists) {
		ret->exists = true;
		ret->major = info.major;
		ret->minor = info.minor;
		ret->open_count = info.open_count;
		s = dm_task_get_name(dmt);
		copy_str(ret->name, sizeof(ret->name), s ? s : "");
		s = dm_task_get_uuid(dmt);
		copy_str(ret->uuid, sizeof(ret->uuid), s ? s : "");
	}
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

static int be_table(void *ud, const char *name, struct hib_dm_table *ret)
{
	struct dm_task *dmt = task_new(DM_DEVICE_TABLE, name, NULL);
	uint64_t start, length;
	char *type, *params;
	void *next = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = task_run(dmt);
	if (r == 0) {
		do {
			next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
			if (!type)
				break;
			if (ret->n >= HIB_DM_TARGETS_MAX ||
			    strlen(params) >= HIB_DM_PARAMS_MAX ||
			    strlen(type) >= HIB_DM_TYPE_MAX) {
				r = -E2BIG;
				break;
			}
			ret->t[ret->n].start = start;
			ret->t[ret->n].length = length;
			copy_str(ret->t[ret->n].type, HIB_DM_TYPE_MAX, type);
			copy_str(ret->t[ret->n].params, HIB_DM_PARAMS_MAX, params);
			ret->n++;
		} while (next);
	}
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

/* a CREATE or RELOAD task carrying table @t, run */
static int task_run_table(int type, const char *name, const char *uuid,
			  const struct hib_dm_table *t)
{
	struct dm_task *dmt = task_new(type, name, uuid);
	int r;

	if (!dmt)
		return -ENOMEM;
	r = task_add_table(dmt, t);
	if (r == 0)
		r = task_run(dmt);
	dm_task_destroy(dmt);
	return r;
}

static int be_create(void *ud, const char *name, const char *uuid, const struct hib_dm_table *t,
		     struct hib_dm_info *ret)
{
	int r = task_run_table(DM_DEVICE_CREATE, name, uuid, t);

	dm_task_update_nodes();
	if (r < 0)
		return r;
	r = be_info(ud, name, NULL, ret);
	if (r == 0 && !ret->exists)
		r = -ENXIO;
	return r;
}

static int be_reload(void *ud, const char *name, const struct hib_dm_table *t)
{
	return task_run_table(DM_DEVICE_RELOAD, name, NULL, t);
}

static int be_suspend(void *ud, const char *name, bool lockfs)
{
	struct dm_task *dmt = task_new(DM_DEVICE_SUSPEND, name, NULL);
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!lockfs && (!dm_task_no_flush(dmt) || !dm_task_skip_lockfs(dmt))) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	r = task_run(dmt);
	dm_task_destroy(dmt);
	return r;
}

static int be_resume(void *ud, const char *name)
{
	struct dm_task *dmt = task_new(DM_DEVICE_RESUME, name, NULL);
	int r = task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	dm_task_update_nodes();
	return r;
}

static int be_remove(void *ud, const char *name)
{
	struct dm_task *dmt = task_new(DM_DEVICE_REMOVE, name, NULL);
	int r;

	if (!dmt)
		return -ENOMEM;
	dm_task_retry_remove(dmt);
	r = task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return r;
}

static int be_status(void *ud, const char *name, char *buf, size_t size)
{
	struct dm_task *dmt = task_new(DM_DEVICE_STATUS, name, NULL);
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	int r;

	r = task_run(dmt);
	if (r == 0) {
		dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
		if (!type || !params)
			r = -ENODATA;
		else
			copy_str(buf, size, params);
	}
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

static int be_fs_freeze(void *ud, int fd)
{
	return ioctl(fd, FIFREEZE, 0) < 0 ? negative_errno() : 0;
}

static int be_fs_thaw(void *ud, int fd)
{
	return ioctl(fd, FITHAW, 0) < 0 ? negative_errno() : 0;
}

/* Open block device major:minor without udev: /dev/<DEVNAME from sysfs>. */
static int open_devt(uint32_t major, uint32_t minor, int flags)
{
	char path[PATH_MAX], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major, minor);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	path[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, sizeof(path), "/dev/%s", line + 8);
			break;
		}
	}
	if (!path[0])
		return -ENODEV;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || major(st.st_rdev) != major ||
	    minor(st.st_rdev) != minor) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

static int be_read_dev(void *ud, uint32_t major, uint32_t minor, void *buf, size_t len,
		       uint64_t *ret_sectors)
{
	_cleanup_close_ int fd = -1;
	uint64_t bytes;
	size_t got = 0;

	fd = open_devt(major, minor, O_RDONLY | O_DIRECT);
	if (fd == -EINVAL)
		fd = open_devt(major, minor, O_RDONLY);
	if (fd < 0)
		return fd;
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		return negative_errno();
	if (len > bytes)
		len = (size_t)bytes;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret_sectors = bytes / 512;
	return (int)got;
}

static void be_sleep_ms(void *ud, unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const struct hib_dm_backend libdm_backend = {
	.info = be_info,
	.table = be_table,
	.create = be_create,
	.reload = be_reload,
	.suspend = be_suspend,
	.resume = be_resume,
	.remove = be_remove,
	.status = be_status,
	.fs_freeze = be_fs_freeze,
	.fs_thaw = be_fs_thaw,
	.read_dev = be_read_dev,
	.sleep_ms = be_sleep_ms,
	.ud = NULL,
};

const struct hib_dm_backend *hib_dm_backend_libdm(void)
{
	return &libdm_backend;
}
