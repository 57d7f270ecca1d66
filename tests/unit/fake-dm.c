// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A fake libdevmapper (struct hib_dm_backend) for the unit tests: devices, tables, suspend,
 * FIFREEZE counts, snapshot status, with a failure injectable at any call (fake-dm.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake-dm.h"

static int maybe_fail(struct fake *f, const char *op)
{
	f->calls++;
	if (f->fail_at && f->calls == f->fail_at && !f->failed) {
		f->failed = true;
		snprintf(f->failed_op, sizeof(f->failed_op), "%s", op);
		return -EIO;
	}
	return 0;
}

struct fake_dev *fake_find(struct fake *f, const char *name, const char *uuid)
{
	unsigned int i;

	for (i = 0; i < FAKE_DEVS; i++) {
		if (!f->d[i].exists)
			continue;
		if (name && strcmp(f->d[i].name, name) == 0)
			return &f->d[i];
		if (!name && uuid && strcmp(f->d[i].uuid, uuid) == 0)
			return &f->d[i];
	}
	return NULL;
}

struct fake_dev *fake_add(struct fake *f, const char *name, const char *uuid,
			 const struct hib_dm_table *t)
{
	unsigned int i;

	for (i = 0; i < FAKE_DEVS; i++) {
		if (!f->d[i].exists) {
			memset(&f->d[i], 0, sizeof(f->d[i]));
			f->d[i].exists = true;
			snprintf(f->d[i].name, sizeof(f->d[i].name), "%s", name);
			snprintf(f->d[i].uuid, sizeof(f->d[i].uuid), "%s", uuid ? uuid : "");
			f->d[i].minor = f->next_minor++;
			f->d[i].live = *t;
			return &f->d[i];
		}
	}
	return NULL;
}

/* Does any device's table use @minor? */
bool fake_in_use(struct fake *f, uint32_t minor)
{
	char tok[32];
	unsigned int i, j;

	snprintf(tok, sizeof(tok), "%u:%u", FAKE_MAJOR, minor);
	for (i = 0; i < FAKE_DEVS; i++) {
		if (!f->d[i].exists)
			continue;
		for (j = 0; j < f->d[i].live.n; j++) {
			const char *p = f->d[i].live.t[j].params;
			size_t n = strlen(tok);

			while ((p = strstr(p, tok))) {
				if (p[n] == ' ' || p[n] == 0)
					return true;
				p += n;
			}
		}
	}
	return false;
}

static int f_info(void *ud, const char *name, const char *uuid, struct hib_dm_info *ret)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "info");

	if (r)
		return r;
	memset(ret, 0, sizeof(*ret));
	d = fake_find(f, name, uuid);
	if (d) {
		ret->exists = true;
		ret->major = FAKE_MAJOR;
		ret->minor = d->minor;
		snprintf(ret->name, sizeof(ret->name), "%s", d->name);
		snprintf(ret->uuid, sizeof(ret->uuid), "%s", d->uuid);
	}
	return 0;
}

static int f_table(void *ud, const char *name, struct hib_dm_table *ret)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "table");

	if (r)
		return r;
	d = fake_find(f, name, NULL);
	if (!d)
		return -ENXIO;
	*ret = d->live;
	return 0;
}

static int f_create(void *ud, const char *name, const char *uuid, const struct hib_dm_table *t,
		    struct hib_dm_info *ret)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "create");

	if (r)
		return r;
	if (fake_find(f, name, NULL))
		return -EBUSY;
	d = fake_add(f, name, uuid, t);
	assert_non_null(d);
	memset(ret, 0, sizeof(*ret));
	ret->exists = true;
	ret->major = FAKE_MAJOR;
	ret->minor = d->minor;
	return 0;
}

static int f_reload(void *ud, const char *name, const struct hib_dm_table *t)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "reload");

	if (r)
		return r;
	d = fake_find(f, name, NULL);
	if (!d)
		return -ENXIO;
	d->inactive = *t;
	d->has_inactive = true;
	return 0;
}

static int f_suspend(void *ud, const char *name, bool lockfs)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "suspend");
	unsigned int i;

	if (r)
		return r;
	d = fake_find(f, name, NULL);
	if (!d)
		return -ENXIO;
	/* A frozen filesystem must never be suspended with lockfs (it would deadlock). */
	if (lockfs)
		for (i = 0; i < 64; i++)
			assert_int_equal(f->frozen[i], 0);
	d->suspended = true;
	return 0;
}

static int f_resume(void *ud, const char *name)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "resume");

	if (r)
		return r;
	d = fake_find(f, name, NULL);
	if (!d)
		return -ENXIO;
	if (d->has_inactive) {
		d->live = d->inactive;
		d->has_inactive = false;
		d->merge_polls = 0;
	}
	d->suspended = false;
	return 0;
}

static int f_remove(void *ud, const char *name)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "remove");

	if (r)
		return r;
	d = fake_find(f, name, NULL);
	if (!d)
		return -ENXIO;
	if (fake_in_use(f, d->minor))
		return -EBUSY;
	d->exists = false;
	return 0;
}

static int f_status(void *ud, const char *name, char *buf, size_t size)
{
	struct fake *f = ud;
	struct fake_dev *d;
	int r = maybe_fail(f, "status");

	if (r)
		return r;
	d = fake_find(f, name, NULL);
	if (!d)
		return -ENXIO;
	if (f->overflow && strncmp(d->live.t[0].type, "snapshot", 8) == 0)
		snprintf(buf, size, "Invalid");
	else if (strcmp(d->live.t[0].type, "snapshot-merge") == 0)
		snprintf(buf, size, "%u/65536 16", d->merge_polls++ < 2 ? 1000u : 16u);
	else if (strcmp(d->live.t[0].type, "snapshot") == 0)
		snprintf(buf, size, "1000/65536 16");
	else
		buf[0] = 0;
	return 0;
}

static int f_freeze(void *ud, int fd)
{
	struct fake *f = ud;
	int r = maybe_fail(f, "fs_freeze");

	if (r)
		return r;
	assert_true(fd >= 0 && fd < 64);
	if (f->frozen[fd])
		return -EBUSY;
	f->frozen[fd] = 1;
	return 0;
}

static int f_thaw(void *ud, int fd)
{
	struct fake *f = ud;
	int r = maybe_fail(f, "fs_thaw");

	if (r)
		return r;
	assert_true(fd >= 0 && fd < 64);
	if (!f->frozen[fd])
		return -EINVAL;
	f->frozen[fd] = 0;
	return 0;
}

static int f_read_dev(void *ud, uint32_t major, uint32_t minor, void *buf, size_t len,
		      uint64_t *ret_sectors)
{
	struct fake *f = ud;
	unsigned int i;
	int r = maybe_fail(f, "read_dev");

	if (r)
		return r;
	for (i = 0; i < FAKE_DEVS; i++)
		if (f->d[i].exists && f->d[i].minor == minor)
			break;
	if (i == FAKE_DEVS)
		return -ENXIO;
	memset(buf, f->content, len);
	*ret_sectors = f->dev_sectors ? f->dev_sectors : f->d[i].live.t[0].length;
	return (int)len;
}

static void f_sleep(void *ud, unsigned int ms)
{
	(void)ud;
	(void)ms;
}

struct fake F;

static int f_cow_probe(void *ud, const char *path, uint32_t *ret_major, uint32_t *ret_minor,
		       uint64_t *ret_sectors)
{
	struct fake *f = ud;
	int r = maybe_fail(f, "cow_probe");

	if (r < 0)
		return r;
	if (access(path, W_OK) < 0)
		return -errno;
	*ret_major = 8;
	*ret_minor = 48;
	*ret_sectors = 128 * 2048;
	return 0;
}

const struct hib_dm_backend fake_be = {
	.info = f_info, .table = f_table, .create = f_create, .reload = f_reload,
	.suspend = f_suspend, .resume = f_resume, .remove = f_remove, .status = f_status,
	.fs_freeze = f_freeze, .fs_thaw = f_thaw, .read_dev = f_read_dev, .sleep_ms = f_sleep,
	.ud = &F,
};

/* The same, with a COW "device" that is a regular file (hib_cow_probe() wants a block
 * device). */
const struct hib_dm_backend fake_be_cow = {
	.info = f_info, .table = f_table, .create = f_create, .reload = f_reload,
	.suspend = f_suspend, .resume = f_resume, .remove = f_remove, .status = f_status,
	.fs_freeze = f_freeze, .fs_thaw = f_thaw, .read_dev = f_read_dev, .sleep_ms = f_sleep,
	.cow_probe = f_cow_probe, .ud = &F,
};

