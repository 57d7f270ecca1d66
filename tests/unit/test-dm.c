// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/dm.c: the snapshot sequencing against a fake device-mapper (struct
 * hib_dm_backend), with a failure injected at every call in turn: whatever fails, the
 * tear-down leaves only the origins, on their own tables, resumed and thawed, and never
 * removes a helper the origin still uses.  Also the image header's origin table, R2, the
 * configuration parser and the mount selection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm-journal.h"
#include "dm.h"
#include "image.h"
#include "fake-dm.h"

static char cow_path[64];

static struct hib_dm_table linear(uint64_t len, unsigned int disk)
{
	struct hib_dm_table t;

	memset(&t, 0, sizeof(t));
	t.n = 1;
	t.t[0].length = len;
	strcpy(t.t[0].type, "linear");
	snprintf(t.t[0].params, sizeof(t.t[0].params), "8:%u 2048", disk);
	return t;
}

/* Two origins, a COW file, prepared. */
static void world(struct hib_dm_set *set, unsigned int fail_at)
{
	struct hib_dm_table a = linear(1 << 20, 16), b = linear(1 << 19, 32);
	int fd;

	memset(&F, 0, sizeof(F));
	F.content = 0x5a;
	fake_add(&F, "vg-a", "LVM-aaaa", &a);
	fake_add(&F, "vg-b", "", &b);
	snprintf(cow_path, sizeof(cow_path), "/tmp/test-dm-cow.XXXXXX");
	fd = mkstemp(cow_path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 128 << 20), 0);
	close(fd);

	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_add(set, "vg-a", "/"), 0);
	assert_int_equal(hib_dm_add(set, "vg-b", "/tmp"), 0);
	assert_int_equal(hib_dm_add(set, "vg-b", "/tmp"), -EEXIST);
	assert_int_equal(hib_dm_prepare(set, cow_path, 8, 48, 128 * 2048, 0), 0);
	/* Failure points count from here. */
	F.calls = 0;
	F.fail_at = fail_at;
}

static void world_done(struct hib_dm_set *set)
{
	hib_dm_set_done(set);
	unlink(cow_path);
}

/* Only the origins, on their own tables, resumed, nothing loaded, nothing frozen. */
static void assert_clean(void)
{
	struct hib_dm_table a = linear(1 << 20, 16), b = linear(1 << 19, 32);
	unsigned int i, n = 0;

	for (i = 0; i < FAKE_DEVS; i++) {
		struct fake_dev *d = &F.d[i];

		if (!d->exists)
			continue;
		n++;
		if (strcmp(d->name, "vg-a") && strcmp(d->name, "vg-b"))
			fail_msg("left over: %s (failure injected at call %u, %s)", d->name,
				 F.fail_at, F.failed_op);
		assert_false(d->suspended);
		assert_memory_equal(&d->live, strcmp(d->name, "vg-a") ? &b : &a, sizeof(a));
	}
	assert_int_equal(n, 2);
	for (i = 0; i < 64; i++)
		assert_int_equal(F.frozen[i], 0);
}

/* Safe, not necessarily clean: X is resumed and every device a table uses exists. */
static void assert_safe(void)
{
	unsigned int i;

	for (i = 0; i < FAKE_DEVS; i++) {
		struct fake_dev *d = &F.d[i];
		unsigned int maj, min1, min2;

		if (!d->exists || strncmp(d->live.t[0].type, "snapshot", 8))
			continue;
		assert_int_equal(sscanf(d->live.t[0].params, "%u:%u %u:%u", &maj, &min1, &maj,
					&min2), 4);
		assert_true(fake_in_use(&F, min1));
	}
}

static unsigned int count_calls(void (*run)(struct hib_dm_set *))
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	unsigned int n;

	world(set, 0);
	run(set);
	n = F.calls;
	world_done(set);
	free(set);
	return n;
}

/* ---- protect, and abort before 5b ------------------------------------------------------------ */

static void run_protect(struct hib_dm_set *set)
{
	assert_int_equal(hib_dm_protect(set), 0);
}

static void test_protect_ok(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	struct fake_dev *a;
	struct hib_image_origin o[HIB_IMAGE_ORIGINS_MAX];
	uint32_t n;

	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	a = fake_find(&F, "vg-a", NULL);
	assert_string_equal(a->live.t[0].type, "snapshot");
	assert_non_null(fake_find(&F, "vg-a-real", NULL));
	assert_non_null(fake_find(&F, "vg-a-cow", NULL));
	assert_non_null(fake_find(&F, "vg-b-real", NULL));
	/* X-real has X's own table; X points at X-real and X-cow, chunk 8, persistent. */
	assert_string_equal(fake_find(&F, "vg-a-real", NULL)->live.t[0].params, "8:16 2048");
	assert_non_null(strstr(a->live.t[0].params, " P 8"));
	assert_false(a->suspended);
	/* Frozen until 5b. */
	assert_int_equal(F.frozen[set->o[0].fd], 1);
	hib_dm_identities(set, o, &n);
	assert_int_equal(n, 2);
	assert_string_equal(o[0].name, "vg-a");
	assert_string_equal(o[0].uuid, "LVM-aaaa");
	assert_int_equal(o[0].sectors, 1 << 20);
	/* COW slices proportional, inside the device, not overlapping. */
	assert_true(set->o[0].cow_sectors > set->o[1].cow_sectors);
	assert_int_equal(set->o[0].cow_offset, HIB_DM_JOURNAL_SECTORS);
	assert_int_equal(set->o[1].cow_offset, set->o[0].cow_offset + set->o[0].cow_sectors);
	assert_true(set->o[1].cow_offset + set->o[1].cow_sectors <= 128 * 2048);

	assert_int_equal(hib_dm_abort(set), 0);
	assert_clean();
	world_done(set);
	free(set);
}

static void test_protect_every_failure(void **state)
{
	unsigned int n = count_calls(run_protect), k;

	assert_true(n > 10);
	for (k = 1; k <= n; k++) {
		struct hib_dm_set *set = malloc(sizeof(*set));

		world(set, k);
		assert_int_not_equal(hib_dm_protect(set), 0);
		assert_true(F.failed);
		/* hib_dm_protect() undid everything itself. */
		assert_clean();
		/* And a later abort is harmless. */
		assert_int_equal(hib_dm_abort(set), 0);
		assert_clean();
		world_done(set);
		free(set);
	}
}

static void run_abort_before(struct hib_dm_set *set)
{
	unsigned int base;

	F.fail_at = 0;
	assert_int_equal(hib_dm_protect(set), 0);
	base = F.calls;
	(void)base;
	assert_int_equal(hib_dm_abort(set), 0);
}

static void test_abort_before_every_failure(void **state)
{
	unsigned int total = count_calls(run_abort_before), n_protect = count_calls(run_protect);
	unsigned int k;

	for (k = n_protect + 1; k <= total; k++) {
		struct hib_dm_set *set = malloc(sizeof(*set));

		world(set, k);
		assert_int_equal(hib_dm_protect(set), 0);
		hib_dm_abort(set);
		assert_true(F.failed);
		assert_safe();
		/* Running the tear-down again finishes it. */
		hib_dm_abort(set);
		assert_clean();
		world_done(set);
		free(set);
	}
}

/* ---- after 5b: merge ------------------------------------------------------------------------ */

static void run_merge(struct hib_dm_set *set)
{
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_thaw(set), 0);
	assert_int_equal(hib_dm_abort(set), 0);
}

static void test_merge_ok(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_thaw(set), 0);
	assert_int_equal(F.frozen[set->o[0].fd], 0);
	assert_int_equal(hib_dm_check_valid(set), 0);
	assert_int_equal(hib_dm_abort(set), 0);
	assert_int_equal(set->lost, 0);
	assert_clean();
	world_done(set);
	free(set);
}

static void test_merge_every_failure(void **state)
{
	unsigned int total = count_calls(run_merge), k;

	for (k = 1; k <= total; k++) {
		struct hib_dm_set *set = malloc(sizeof(*set));
		int r;

		world(set, k);
		r = hib_dm_protect(set);
		if (r == 0) {
			r = hib_dm_thaw(set);
			hib_dm_abort(set);
			assert_safe();
			/* The caller retries / the next abort completes it. */
			hib_dm_abort(set);
		}
		assert_true(F.failed);
		assert_clean();
		world_done(set);
		free(set);
	}
}

static void test_overflow(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_thaw(set), 0);
	F.overflow = true;
	assert_int_equal(hib_dm_check_valid(set), -ENOSPC);
	assert_int_equal(hib_dm_abort(set), 0);
	assert_true(set->lost & HIB_DM_LOST_OVERFLOW);
	F.overflow = false;
	assert_clean();
	world_done(set);
	free(set);
}

/* ---- R5 -------------------------------------------------------------------------------------- */

static void run_resumed(struct hib_dm_set *set)
{
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_resumed(set), 0);
}

static void test_resumed_every_failure(void **state)
{
	unsigned int total = count_calls(run_resumed), n_protect = count_calls(run_protect);
	unsigned int k;

	for (k = n_protect; k <= total; k++) {
		struct hib_dm_set *set = malloc(sizeof(*set));

		world(set, k == n_protect ? 0 : k);
		assert_int_equal(hib_dm_protect(set), 0);
		hib_dm_resumed(set);
		assert_safe();
		hib_dm_resumed(set);
		assert_clean();
		world_done(set);
		free(set);
	}
}

/* ---- prepare refusals -------------------------------------------------------------------------- */

static void test_prepare_refusals(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	struct hib_dm_table t = linear(1 << 20, 16);

	world(set, 0);
	/* COW too small for two origins. */
	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_add(set, "vg-a", "/"), 0);
	assert_int_equal(hib_dm_add(set, "vg-b", "/tmp"), 0);
	assert_int_equal(hib_dm_prepare(set, cow_path, 8, 48, 20 * 2048, 0), -ENOSPC);
	hib_dm_set_done(set);
	/* Unknown device. */
	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_add(set, "nope", "/"), 0);
	assert_int_equal(hib_dm_prepare(set, "/dev/null", 8, 48, 128 * 2048, 0), -ENOENT);
	hib_dm_set_done(set);
	/* Leftover helper from an interrupted run. */
	fake_add(&F, "vg-a-real", "", &t);
	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_add(set, "vg-a", "/"), 0);
	assert_int_equal(hib_dm_prepare(set, "/dev/null", 8, 48, 128 * 2048, 0), -EEXIST);
	hib_dm_set_done(set);
	/* Bad chunk size. */
	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_prepare(set, "/dev/null", 8, 48, 128 * 2048, 12), -EINVAL);
	world_done(set);
	free(set);
}

/* ---- R2 and the header ------------------------------------------------------------------------- */

static void test_verify_origin(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	struct hib_image_origin o[HIB_IMAGE_ORIGINS_MAX];
	char why[256];
	uint32_t n;

	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	hib_dm_identities(set, o, &n);
	assert_int_equal(hib_dm_resumed(set), 0);
	assert_int_equal(hib_dm_verify_origin(&fake_be, &o[0], why, sizeof(why)), 0);
	assert_int_equal(hib_dm_verify_origin(&fake_be, &o[1], why, sizeof(why)), 0);
	F.content = 0x5b;	/* the superblock region changed */
	assert_int_equal(hib_dm_verify_origin(&fake_be, &o[0], why, sizeof(why)), -ESTALE);
	assert_non_null(strstr(why, "vg-a"));
	assert_non_null(strstr(why, "modified"));
	F.content = 0x5a;
	F.dev_sectors = 12345;	/* resized */
	assert_int_equal(hib_dm_verify_origin(&fake_be, &o[1], why, sizeof(why)), -ESTALE);
	assert_non_null(strstr(why, "size"));
	F.dev_sectors = 0;
	strcpy(o[1].name, "gone");
	assert_int_equal(hib_dm_verify_origin(&fake_be, &o[1], why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "gone"));
	world_done(set);
	free(set);
}

static void test_header_origins(void **state)
{
	struct hib_image_info id, *got;
	struct hib_image_origin o[2];
	struct hib_image_writer *w;
	struct hib_image_reader *rd;
	struct hib_sink *s;
	struct hib_chunk c;
	char raw[4096], comp[8192];
	size_t len;
	uint8_t *data;

	memset(&id, 0, sizeof(id));
	id.page_size = 4096;
	id.chunk_size = 4096;
	id.codec = HIB_CODEC_LZ4;
	memset(o, 0, sizeof(o));
	strcpy(o[0].name, "vg-root");
	strcpy(o[0].uuid, "LVM-xyz");
	o[0].sectors = 1234;
	memset(o[0].sb_hash, 0xab, 16);
	strcpy(o[1].name, "vg-home");
	assert_int_equal(hib_sink_open_memory(1 << 20, &s), 0);
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	assert_int_equal(hib_image_writer_set_origins(w, o, HIB_IMAGE_ORIGINS_MAX + 1), -E2BIG);
	assert_int_equal(hib_image_writer_set_origins(w, o, 2), 0);
	assert_int_equal(hib_image_writer_begin(w, 1, 1), 0);
	memset(raw, 1, sizeof(raw));
	assert_int_equal(hib_chunk_compress(raw, sizeof(raw), comp, sizeof(comp), &c), 0);
	c.seq = 0;
	assert_int_equal(hib_image_writer_put(w, &c, comp), 0);
	assert_int_equal(hib_image_writer_finish(w), 0);
	s->writable = false;
	assert_int_equal(hib_image_reader_open(s, &rd, NULL, NULL), 0);
	got = (struct hib_image_info *)hib_image_reader_info(rd);
	assert_int_equal(got->n_origins, 2);
	assert_string_equal(got->origins[0].name, "vg-root");
	assert_string_equal(got->origins[0].uuid, "LVM-xyz");
	assert_int_equal(got->origins[0].sectors, 1234);
	assert_memory_equal(got->origins[0].sb_hash, o[0].sb_hash, 16);
	assert_string_equal(got->origins[1].name, "vg-home");
	hib_image_reader_free(rd);

	/* A flipped bit in the origin table is caught by its checksum. */
	data = hib_sink_memory_data(s, &len);
	data[1024 + 8 + 3] ^= 1;
	assert_int_equal(hib_image_reader_open(s, &rd, NULL, NULL), -EBADMSG);
	hib_image_writer_free(w);
	hib_sink_close(s);
}

/* ---- configuration and selection --------------------------------------------------------------- */

static void test_conf(void **state)
{
	const char *good = "# comment\n[protect]\ndevices = /dev/mapper/vg-root, vg-home\n"
			   "mountpoints = /srv\ncow = /dev/vdb\nchunk-sectors = 16\n"
			   "allow-unprotected = yes\n";
	struct hib_conf c;
	char why[256];

	assert_int_equal(hib_conf_parse(good, strlen(good), "t.conf", &c, why, sizeof(why)), 0);
	assert_int_equal(c.n_devices, 2);
	assert_string_equal(c.devices[0], "vg-root");
	assert_string_equal(c.devices[1], "vg-home");
	assert_int_equal(c.n_mountpoints, 1);
	assert_string_equal(c.cow, "/dev/vdb");
	assert_int_equal(c.chunk, 16);
	assert_true(c.allow_unprotected);

#define BAD(text, msg) do { \
		assert_int_equal(hib_conf_parse(text, strlen(text), "t.conf", &c, why, \
						sizeof(why)), -EINVAL); \
		assert_non_null(strstr(why, msg)); \
	} while (0)
	BAD("cow = /dev/vdb\n", "t.conf:1: 'cow' outside a section");
	BAD("[other]\n", "t.conf:1: unknown section");
	BAD("[protect]\n\nfoo = 1\n", "t.conf:3: unknown key 'foo'");
	BAD("[protect]\nallow-unprotected = maybe\n", "yes or no");
	BAD("[protect]\nchunk-sectors = 12\n", "power of two");
	BAD("[protect]\nmountpoints = relative\n", "absolute");
	BAD("[protect]\ncow = vdb\n", "one block device");
	BAD("[protect]\njunk\n", "KEY = VALUE");
	assert_int_equal(hib_conf_load("/nonexistent/hibernate.conf", &c, why, sizeof(why)), 0);
	assert_int_equal(c.n_devices, 0);
	assert_false(c.allow_unprotected);
}

static void test_scan_and_select(void **state)
{
	char dir[] = "/tmp/test-dm-sys.XXXXXX", p[512], mi[600];
	struct hib_mount m[8];
	struct hib_conf c;
	struct hib_dm_set *set = malloc(sizeof(*set));
	unsigned int n, unprot[8], nu;
	char why[256];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "mkdir -p %s/dev/block/253:0/dm %s/dev/block/8:1 "
		 "%s/dev/block/253:1/dm && echo vg-root > %s/dev/block/253:0/dm/name && "
		 "echo vg-ro > %s/dev/block/253:1/dm/name", dir, dir, dir, dir, dir);
	assert_int_equal(system(p), 0);
	snprintf(mi, sizeof(mi), "%s/mountinfo", dir);
	f = fopen(mi, "w");
	assert_non_null(f);
	fputs("1 0 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw\n"
	      "2 1 0:5 / /proc rw - proc proc rw\n"
	      "3 1 8:1 / /boot rw - ext4 /dev/sda1 rw\n"
	      "4 1 253:1 / /ro ro - ext4 /dev/mapper/vg-ro ro\n"
	      "5 1 253:0 /x /bind\\040mount rw - ext4 /dev/mapper/vg-root rw\n"
	      "6 1 0:40 / /tmp rw - tmpfs tmpfs rw\n", f);
	fclose(f);
	assert_int_equal(hib_scan_mounts(mi, dir, m, 8, &n), 0);
	assert_int_equal(n, 2);	/* root (once, not the bind mount) and /boot */
	assert_string_equal(m[0].mountpoint, "/");
	assert_true(m[0].dm);
	assert_string_equal(m[0].dm_name, "vg-root");
	assert_string_equal(m[1].mountpoint, "/boot");
	assert_false(m[1].dm);

	memset(&c, 0, sizeof(c));
	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_select(set, &c, m, n, unprot, &nu, why, sizeof(why)), 0);
	assert_int_equal(set->n, 1);
	assert_string_equal(set->o[0].name, "vg-root");
	assert_int_equal(nu, 1);
	assert_int_equal(unprot[0], 1);
	hib_dm_set_done(set);

	/* A configured mountpoint that is not on dm cannot be protected. */
	c.n_mountpoints = 1;
	strcpy(c.mountpoints[0], "/boot");
	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_select(set, &c, m, n, unprot, &nu, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "/boot"));
	hib_dm_set_done(set);
	free(set);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

/* ---- the merge journal and recovery at activation -------------------------------------------- */

static uint32_t journal_state(void)
{
	static char buf[HIB_DM_JOURNAL_BYTES];
	struct hib_dm_journal j;
	int fd = open(cow_path, O_RDONLY), r;

	assert_true(fd >= 0);
	r = hib_dm_journal_read(fd, buf, &j);
	close(fd);
	if (r == -ENODATA)
		return HIB_DM_J_NONE;
	assert_int_equal(r, 0);
	return j.state;
}

/* A power cut: the kernel's dm tables are gone, the activation recreates the origins. */
static void power_cut(struct hib_dm_set *set)
{
	struct hib_dm_table a = linear(1 << 20, 16), b = linear(1 << 19, 32);
	unsigned int i;

	hib_dm_set_done(set);
	for (i = 0; i < FAKE_DEVS; i++) {
		struct fake_dev *d = &F.d[i];

		if (!d->exists)
			continue;
		if (strcmp(d->name, "vg-a") && strcmp(d->name, "vg-b")) {
			d->exists = false;
			continue;
		}
		d->live = strcmp(d->name, "vg-a") ? b : a;
		d->has_inactive = false;
		d->suspended = false;
	}
	memset(F.frozen, 0, sizeof(F.frozen));
	F.calls = 0;
	F.fail_at = 0;
	F.failed = false;
}

/* The usual start of a recovery test: protected, thawed (window writes), then a power cut. */
static void protect_thaw_cut(struct hib_dm_set *set)
{
	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_thaw(set), 0);
	power_cut(set);
}

static void test_journal_states(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	world(set, 0);
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(journal_state(), HIB_DM_J_PROTECTED);
	assert_int_equal(hib_dm_thaw(set), 0);
	assert_int_equal(hib_dm_abort(set), 0);
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	assert_clean();
	world_done(set);

	/* The full hibernation: HIBERNATED once the image is complete, cleared by R5. */
	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_thaw(set), 0);
	assert_int_equal(hib_dm_mark_hibernated(set), 0);
	assert_int_equal(journal_state(), HIB_DM_J_HIBERNATED);
	assert_int_equal(hib_dm_resumed(set), 0);
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	assert_clean();
	world_done(set);

	/* Abort before 5b: nothing to merge, cleared too. */
	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_abort(set), 0);
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	world_done(set);
	free(set);
}

static void test_prepare_refuses_pending(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	protect_thaw_cut(set);
	hib_dm_set_init(set, &fake_be);
	assert_int_equal(hib_dm_add(set, "vg-a", "/"), 0);
	/* The writes in the COW store must not be zeroed by the next hibernation. */
	assert_int_equal(hib_dm_prepare(set, cow_path, 8, 48, 128 * 2048, 0), -EEXIST);
	assert_int_equal(journal_state(), HIB_DM_J_PROTECTED);
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 2);
	assert_int_equal(hib_dm_prepare(set, cow_path, 8, 48, 128 * 2048, 0), 0);
	world_done(set);
	free(set);
}

static void test_recover_protected(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	protect_thaw_cut(set);
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 2);
	assert_clean();
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	/* Twice is nothing. */
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 0);
	assert_clean();
	world_done(set);
	free(set);
}

static void test_recover_changed_origin(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	protect_thaw_cut(set);
	/* The origin was mounted and written before this activation: its writes are dropped,
	 * nothing is created or loaded. */
	F.content = 0x11;
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 0);
	assert_clean();
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	world_done(set);
	free(set);
}

/* A power cut in the middle of a merge: MERGING, origin half merged (its hash moved on). */
static void test_recover_merging(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	static char buf[HIB_DM_JOURNAL_BYTES];
	struct hib_dm_journal j;
	int fd;

	protect_thaw_cut(set);
	fd = open(cow_path, O_RDWR);
	assert_int_equal(hib_dm_journal_read(fd, buf, &j), 0);
	j.state = HIB_DM_J_MERGING;
	assert_int_equal(hib_dm_journal_write(fd, buf, &j), 0);
	close(fd);
	F.content = 0x11;
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 2);
	assert_clean();
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	world_done(set);
	free(set);
}

static void test_recover_hibernated(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_thaw(set), 0);
	assert_int_equal(hib_dm_mark_hibernated(set), 0);
	power_cut(set);
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 0);
	/* Nothing was created: the window writes are not merged. */
	assert_int_equal(F.calls, 0);
	assert_clean();
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	world_done(set);
	free(set);
}

/* hibernatectl killed after 5b: X still on the snapshot with its helpers, no power cut. */
static void test_recover_left_on_snapshot(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));

	world(set, 0);
	assert_int_equal(hib_dm_protect(set), 0);
	assert_int_equal(hib_dm_thaw(set), 0);
	hib_dm_set_done(set);
	assert_string_equal(fake_find(&F, "vg-a", NULL)->live.t[0].type, "snapshot");
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 2);
	assert_clean();
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	unlink(cow_path);
	free(set);
}

static void test_recover_missing_origin(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	struct hib_dm_table b = linear(1 << 19, 32);

	protect_thaw_cut(set);
	fake_find(&F, "vg-b", NULL)->exists = false;
	/* vg-a is merged; vg-b stays in the journal for the next run. */
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), -ENOENT);
	assert_int_equal(journal_state(), HIB_DM_J_MERGING);
	assert_null(fake_find(&F, "vg-a-cow", NULL));
	fake_add(&F, "vg-b", "", &b);
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 1);
	assert_clean();
	assert_int_equal(journal_state(), HIB_DM_J_NONE);
	world_done(set);
	free(set);
}

/* A failure (or a second power cut) at every call of the recovery: a second run finishes. */
static void test_recover_every_failure(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	unsigned int n, k;
	int r;

	protect_thaw_cut(set);
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), 2);
	n = F.calls;
	world_done(set);
	assert_true(n > 10);
	for (k = 1; k <= n; k++) {
		world(set, 0);
		assert_int_equal(hib_dm_protect(set), 0);
		assert_int_equal(hib_dm_thaw(set), 0);
		power_cut(set);
		F.fail_at = k;
		r = hib_dm_recover(&fake_be, cow_path);
		assert_true(F.failed);
		assert_safe();
		if (r < 0)
			assert_int_not_equal(journal_state(), HIB_DM_J_NONE);
		F.fail_at = 0;
		/* Whatever is left (helpers, X on snapshot-merge, journal): the next run ends it. */
		r = hib_dm_recover(&fake_be, cow_path);
		if (r < 0)
			fail_msg("second run after a failure at call %u (%s): %d", k, F.failed_op, r);
		assert_clean();
		assert_int_equal(journal_state(), HIB_DM_J_NONE);
		world_done(set);
	}
	free(set);
}

static void test_recover_bad_journal(void **state)
{
	struct hib_dm_set *set = malloc(sizeof(*set));
	static char buf[HIB_DM_JOURNAL_BYTES];
	int fd;

	protect_thaw_cut(set);
	fd = open(cow_path, O_RDWR);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	buf[40] ^= 1;
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	close(fd);
	/* Nothing touched: no device created, no table loaded. */
	assert_int_equal(hib_dm_recover(&fake_be, cow_path), -EBADMSG);
	assert_int_equal(F.calls, 0);
	assert_int_equal(hib_dm_recover(&fake_be, "/nonexistent/cow"), -ENOENT);
	world_done(set);
	free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protect_ok),
		cmocka_unit_test(test_protect_every_failure),
		cmocka_unit_test(test_abort_before_every_failure),
		cmocka_unit_test(test_merge_ok),
		cmocka_unit_test(test_merge_every_failure),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_resumed_every_failure),
		cmocka_unit_test(test_prepare_refusals),
		cmocka_unit_test(test_verify_origin),
		cmocka_unit_test(test_header_origins),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_scan_and_select),
		cmocka_unit_test(test_journal_states),
		cmocka_unit_test(test_prepare_refuses_pending),
		cmocka_unit_test(test_recover_protected),
		cmocka_unit_test(test_recover_changed_origin),
		cmocka_unit_test(test_recover_merging),
		cmocka_unit_test(test_recover_hibernated),
		cmocka_unit_test(test_recover_left_on_snapshot),
		cmocka_unit_test(test_recover_missing_origin),
		cmocka_unit_test(test_recover_every_failure),
		cmocka_unit_test(test_recover_bad_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
