// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/sink.c: file and memory sinks, preflight, /proc/meminfo. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image.h"
#include "macro.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/hibtest-sink-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_file_round_trip(void **state)
{
	char path[128];
	struct hib_sink *s = NULL;
	uint8_t buf[100], back[100];
	uint64_t size;
	size_t i;

	snprintf(path, sizeof(path), "%s/image", dir);
	/* Reading needs an existing file; writing creates it. */
	assert_int_equal(hib_sink_open(path, HIB_SINK_READ, &s), -ENOENT);
	assert_null(s);
	assert_int_equal(hib_sink_open(path, HIB_SINK_WRITE, &s), 0);
	assert_int_equal(s->kind, HIB_SINK_FILE);
	assert_true(s->writable);
	assert_string_equal(s->name, path);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(hib_sink_write(s, buf, sizeof(buf), 5000), 0);
	assert_int_equal(hib_sink_sync(s), 0);
	/* Writable size: the file plus free space, at least what was written. */
	assert_int_equal(hib_sink_size(s, &size), 0);
	assert_true(size >= 5100);
	hib_sink_close(s);

	assert_int_equal(hib_sink_open(path, HIB_SINK_READ, &s), 0);
	assert_false(s->writable);
	assert_int_equal(hib_sink_size(s, &size), 0);
	assert_int_equal(size, 5100);
	assert_int_equal(hib_sink_read(s, back, sizeof(back), 5000), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	/* A short read is -ENODATA. */
	assert_int_equal(hib_sink_read(s, back, sizeof(back), 5050), -ENODATA);
	/* A read sink is refused by preflight. */
	assert_int_equal(hib_sink_preflight(s, 1, NULL), -EROFS);
	hib_sink_close(s);
	hib_sink_close(NULL);
}

/*
 * hib_sink_direct(): gathered O_DIRECT writes of any length at any offset, runs and jumps,
 * reads and syncs in between, leave exactly what plain writes would (the bytes around them
 * untouched).
 */
static void test_direct(void **state)
{
	enum { SIZE = 1 << 20, SPACE = SIZE + (256 << 10) };
	uint8_t *shadow = calloc(1, SPACE), *back = malloc(SPACE), *data = malloc(SPACE);
	uint64_t x = 0x9E3779B97F4A7C15ull, off = 0, end = SIZE;
	struct hib_sink *s = NULL;
	char path[128];
	size_t i;
	int fd, k;

	(void)state;
	assert_non_null(shadow);
	assert_non_null(back);
	assert_non_null(data);
	for (i = 0; i < SPACE; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		data[i] = (uint8_t)x;
		if (i < SIZE)
			shadow[i] = (uint8_t)(x >> 8);
	}
	snprintf(path, sizeof(path), "%s/direct", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, shadow, SIZE), SIZE);
	close(fd);

	assert_int_equal(hib_sink_open(path, HIB_SINK_WRITE, &s), 0);
	assert_int_equal(hib_sink_direct(s, 1000), -EINVAL);
	assert_int_equal(hib_sink_direct(s, 64 << 10), 0);
	assert_int_equal(hib_sink_direct(s, 64 << 10), -EINVAL);	/* once */
	assert_true(s->write_buffer_bytes >= 64 << 10);
	for (k = 0; k < 3000; k++) {
		size_t len, at;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		switch (x % 16) {
		case 0:		/* a jump, aligned or not */
			off = (x >> 8) % SIZE;
			if (x & 0x10000)
				off &= ~(uint64_t)4095;
			break;
		case 1:		/* a read in between */
			at = (size_t)((x >> 8) % (SIZE - 5000));
			len = (size_t)((x >> 32) % 5000) + 1;
			assert_int_equal(hib_sink_read(s, back, len, at), 0);
			assert_memory_equal(back, shadow + at, len);
			continue;
		case 2:
			assert_int_equal(hib_sink_sync(s), 0);
			continue;
		}
		len = x & 0x100000 ? 48 : (size_t)((x >> 24) % 100000) + 1;
		if (off + len > SPACE)
			off = 0;
		at = (size_t)((x >> 40) % (SPACE - len));
		assert_int_equal(hib_sink_write(s, data + at, len, off), 0);
		memcpy(shadow + off, data + at, len);
		off += len;
		if (off > end)
			end = off;
	}
	hib_sink_close(s);	/* writes out what is gathered */

	assert_int_equal(hib_sink_open(path, HIB_SINK_READ, &s), 0);
	assert_int_equal(hib_sink_read(s, back, end, 0), 0);
	assert_memory_equal(back, shadow, end);
	hib_sink_close(s);
	free(shadow);
	free(back);
	free(data);
}

/*
 * hib_sink_read_direct(): reads through the O_DIRECT window give what the file holds, at any
 * offset and length (larger than the window: through the page cache), up to a partial last
 * block; past the end -ENODATA; a write in between is read back, not the window's old copy.
 */
static void test_read_direct(void **state)
{
	enum { SIZE = (1 << 20) + 777, WIN = 64 << 10 };
	uint8_t *shadow = malloc(SIZE), *back = malloc(SIZE);
	uint64_t x = 0x2545F4914F6CDD1Dull, off;
	struct hib_sink *s = NULL, *m = NULL;
	char path[128];
	size_t i;
	int fd, k, r;

	(void)state;
	assert_non_null(shadow);
	assert_non_null(back);
	for (i = 0; i < SIZE; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		shadow[i] = (uint8_t)x;
	}
	snprintf(path, sizeof(path), "%s/read-direct", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, shadow, SIZE), SIZE);
	close(fd);

	assert_int_equal(hib_sink_open_memory(4096, &m), 0);
	assert_int_equal(hib_sink_read_direct(m, 0), -EINVAL);	/* not a file or device */
	hib_sink_close(m);
	assert_int_equal(hib_sink_read_direct(NULL, 0), -EINVAL);

	assert_int_equal(hib_sink_open(path, HIB_SINK_UPDATE, &s), 0);
	assert_int_equal(hib_sink_read_direct(s, 1000), -EINVAL);
	r = hib_sink_read_direct(s, WIN);
	if (r == -EINVAL) {
		hib_sink_close(s);
		free(shadow);
		free(back);
		skip();		/* no O_DIRECT on this filesystem (tmpfs before Linux 6.6) */
	}
	assert_int_equal(r, 0);
	assert_non_null(s->rwin);
	assert_int_equal(hib_sink_read_direct(s, WIN), -EINVAL);	/* once */

	/* Front to back in record-and-payload steps, as resume reads an image. */
	for (off = 0; off < SIZE; ) {
		size_t len = MIN((size_t)(off % 7 ? 64 : 5000 + off % 3000), SIZE - (size_t)off);

		assert_int_equal(hib_sink_read(s, back, len, off), 0);
		assert_memory_equal(back, shadow + off, len);
		off += len;
	}
	for (k = 0; k < 2000; k++) {
		size_t len, at;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = (size_t)((x >> 8) % (x & 1 ? 100 : 2 * WIN)) + 1;
		at = (size_t)((x >> 32) % (SIZE - len + 1));
		if (x % 50 == 0) {
			/* A write in between: read back what it wrote. */
			len = MIN(len, (size_t)300);
			memset(shadow + at, (int)(x >> 56), len);
			assert_int_equal(hib_sink_write(s, shadow + at, len, at), 0);
		}
		assert_int_equal(hib_sink_read(s, back, len, at), 0);
		assert_memory_equal(back, shadow + at, len);
	}
	/* The partial last block, and past the end. */
	assert_int_equal(hib_sink_read(s, back, 777, SIZE - 777), 0);
	assert_memory_equal(back, shadow + SIZE - 777, 777);
	assert_int_equal(hib_sink_read(s, back, 778, SIZE - 777), -ENODATA);
	assert_int_equal(hib_sink_read(s, back, 1, SIZE), -ENODATA);

	/* hib_sink_read_in(): the aligned blocks into the caller's buffer, no copy. */
	{
		enum { SLACK = HIB_SINK_READ_IN_SLACK };
		uint8_t *abuf = NULL, *data = NULL;

		assert_int_equal(posix_memalign((void **)&abuf, 4096, 2 * WIN + SLACK), 0);
		for (k = 0; k < 500; k++) {
			size_t len, at;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			len = (size_t)((x >> 8) % (2 * WIN)) + 1;
			at = (size_t)((x >> 32) % (SIZE - len + 1));
			data = NULL;
			assert_int_equal(hib_sink_read_in(s, abuf, len + SLACK, len, at, &data), 0);
			assert_true(data >= abuf && data + len <= abuf + len + SLACK);
			assert_memory_equal(data, shadow + at, len);
		}
		/* In place: the payload where the aligned read put it. */
		assert_int_equal(hib_sink_read_in(s, abuf, 1000 + SLACK, 1000, 3 * 4096 + 100,
						  &data), 0);
		assert_ptr_equal(data, abuf + 100);
		assert_memory_equal(data, shadow + 3 * 4096 + 100, 1000);
		/* Blocks that do not fit, or a buffer not aligned: read into the buffer as given. */
		assert_int_equal(hib_sink_read_in(s, abuf, 1000, 1000, 3 * 4096 + 100, &data), 0);
		assert_ptr_equal(data, abuf);
		assert_memory_equal(data, shadow + 3 * 4096 + 100, 1000);
		assert_int_equal(hib_sink_read_in(s, abuf + 1, 1000 + SLACK - 1, 1000, 100, &data),
				 0);
		assert_ptr_equal(data, abuf + 1);
		assert_memory_equal(data, shadow + 100, 1000);
		/* The partial last block, past the end, bad arguments. */
		assert_int_equal(hib_sink_read_in(s, abuf, 777 + SLACK, 777, SIZE - 777, &data), 0);
		assert_memory_equal(data, shadow + SIZE - 777, 777);
		data = NULL;
		assert_int_equal(hib_sink_read_in(s, abuf, 778 + SLACK, 778, SIZE - 777, &data),
				 -ENODATA);
		assert_null(data);
		assert_int_equal(hib_sink_read_in(s, abuf, 10, 11, 0, &data), -EINVAL);
		assert_int_equal(hib_sink_read_in(s, abuf, 10, 10, 0, NULL), -EINVAL);
		assert_int_equal(hib_sink_read_in(NULL, abuf, 10, 10, 0, &data), -EINVAL);
		free(abuf);
	}
	hib_sink_close(s);

	/* What the writes left is in the file. */
	assert_int_equal(hib_sink_open(path, HIB_SINK_READ, &s), 0);
	assert_int_equal(hib_sink_read(s, back, SIZE, 0), 0);
	assert_memory_equal(back, shadow, SIZE);
	hib_sink_close(s);
	free(shadow);
	free(back);
}

static void test_open_refusals(void **state)
{
	char path[128];
	struct hib_sink *s = NULL;

	snprintf(path, sizeof(path), "%s/missing-dir/image", dir);
	assert_int_equal(hib_sink_open(path, HIB_SINK_WRITE, &s), -ENOENT);
	assert_int_equal(hib_sink_open(dir, HIB_SINK_WRITE, &s), -EINVAL);	/* directory */
	assert_int_equal(hib_sink_open("/dev/null", HIB_SINK_READ, &s), -EINVAL);	/* chr */
	assert_int_equal(hib_sink_open("", HIB_SINK_READ, &s), -EINVAL);
	assert_int_equal(hib_sink_open(path, 7, &s), -EINVAL);
	/* A missing device is not created as a file on devtmpfs. */
	assert_int_equal(hib_sink_open("/dev/hibtest-no-such-device", HIB_SINK_WRITE, &s),
			 -ENOENT);
	assert_int_equal(access("/dev/hibtest-no-such-device", F_OK), -1);
	assert_null(s);
}

static void test_preflight(void **state)
{
	struct hib_sink *s;
	uint64_t have = 0, need;

	need = hib_image_worst_case(1 << 20, HIB_IMAGE_CHUNK_MIN);
	assert_int_equal(hib_sink_open_memory(need - 1, &s), 0);
	assert_int_equal(hib_sink_preflight(s, need, &have), -ENOSPC);
	assert_int_equal(have, need - 1);
	assert_int_equal(hib_sink_preflight(s, need - 1, NULL), 0);
	/* Writes beyond the capacity fail with ENOSPC, as a full disk would. */
	assert_int_equal(hib_sink_write(s, "x", 1, need - 1), -ENOSPC);
	assert_int_equal(hib_sink_write(s, "x", 1, need - 2), 0);
	s->writable = false;
	assert_int_equal(hib_sink_preflight(s, 1, NULL), -EROFS);
	hib_sink_close(s);
	assert_int_equal(hib_sink_preflight(NULL, 1, NULL), -EINVAL);
	assert_int_equal(hib_sink_open_memory(0, &s), -EINVAL);
}

static void test_file_preflight_too_small(void **state)
{
	char path[128];
	struct hib_sink *s;
	uint64_t have = 0;

	snprintf(path, sizeof(path), "%s/image2", dir);
	assert_int_equal(hib_sink_open(path, HIB_SINK_WRITE, &s), 0);
	/* No filesystem here holds an exabyte. */
	assert_int_equal(hib_sink_preflight(s, 1ULL << 60, &have), -ENOSPC);
	assert_true(have > 0 && have < 1ULL << 60);
	assert_int_equal(hib_sink_preflight(s, 4096, NULL), 0);
	hib_sink_close(s);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* hib_sink_open_safe(): what a target must be before an image is written there. */
static void test_safe_target(void **state)
{
	char path[128], link[128], cmd[300], why[512];
	struct hib_sink *s = NULL;
	int fd;

	(void)state;
	/* New: created 0600; removed again when no image was completed in it. */
	snprintf(path, sizeof(path), "%s/new.img", dir);
	assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)), 0);
	hib_sink_close(s);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)), 0);
	s->committed = true;	/* what hib_image_writer_finish() says */
	hib_sink_close(s);
	assert_int_equal(access(path, F_OK), 0);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}

	/* Existing and empty, 0600: taken, and kept (it was not created here). */
	assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)), 0);
	hib_sink_close(s);
	assert_int_equal(access(path, F_OK), 0);

	/* Readable by others: refused, untouched. */
	assert_int_equal(chmod(path, 0644), 0);
	why[0] = 0;
	assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "group and others cannot access (mode 0644)"));
	assert_int_equal(chmod(path, 0600), 0);

	/* Through a symbolic link: refused (a planted link could point at anything). */
	snprintf(link, sizeof(link), "%s/link.img", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(hib_sink_open_safe(link, HIB_SINK_WRITE, &s, why, sizeof(why)), -ELOOP);
	assert_non_null(strstr(why, "is a symbolic link"));
	assert_int_equal(hib_sink_open_safe(link, HIB_SINK_UPDATE, &s, why, sizeof(why)), -ELOOP);

	/* A filesystem in it: refused by its type, nothing written. */
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s 2048 >/dev/null 2>&1", path);
	if (system(cmd) == 0) {
		assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)),
				 -EEXIST);
		assert_non_null(strstr(why, "holds a filesystem (ext4): refusing to write an "
				       "image over data"));
	}
	/* Swap is free to take, as for the kernel's own hibernation. */
	snprintf(cmd, sizeof(cmd), "mkswap %s >/dev/null 2>&1", path);
	if (system(cmd) == 0) {
		assert_int_equal(chmod(path, 0600), 0);
		assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)), 0);
		hib_sink_close(s);
	}
	/* Our own image (its magic first): taken, and not truncated by a mere open (check). */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, HIB_IMAGE_MAGIC, 8), 8);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)), 0);
	hib_sink_close(s);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, 1 << 20);
	}
	/* The writer truncates it when it begins: nothing of an old image past the new one. */
	{
		struct hib_image_info id = { .page_size = 4096, .chunk_size = 65536,
					     .codec = HIB_CODEC_LZ4 };
		struct hib_image_writer *w = NULL;
		struct stat st;

		assert_int_equal(hib_sink_open_safe(path, HIB_SINK_WRITE, &s, why, sizeof(why)),
				 0);
		assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
		assert_int_equal(hib_image_writer_begin(w, 1, 1), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, HIB_IMAGE_DATA_OFFSET);
		hib_image_writer_free(w);
		hib_sink_close(s);
	}
	/* The unchecked open stays for reading and the tests. */
	assert_int_equal(hib_sink_open(link, HIB_SINK_READ, &s), 0);
	hib_sink_close(s);
}

static void test_meminfo(void **state)
{
	char path[128];
	uint64_t b = 0;

	snprintf(path, sizeof(path), "%s/meminfo", dir);
	write_file(path, "MemFree:  100 kB\nMemTotal:       2028092 kB\n");
	assert_int_equal(hib_meminfo_total(path, &b), 0);
	assert_int_equal(b, 2028092ULL * 1024);

	write_file(path, "MemFree:  100 kB\n");
	b = 5;
	assert_int_equal(hib_meminfo_total(path, &b), -EBADMSG);
	assert_int_equal(b, 5);
	write_file(path, "MemTotal: lots\n");
	assert_int_equal(hib_meminfo_total(path, &b), -EBADMSG);
	write_file(path, "MemTotal: 12 MB\n");
	assert_int_equal(hib_meminfo_total(path, &b), -EBADMSG);
	write_file(path, "MemTotal: 99999999999999999999 kB\n");
	assert_int_equal(hib_meminfo_total(path, &b), -EBADMSG);
	assert_int_equal(hib_meminfo_total("/nonexistent/meminfo", &b), -ENOENT);
	/* The real one. */
	assert_int_equal(hib_meminfo_total(NULL, &b), 0);
	assert_true(b > 0);

	/* Any field, by its whole name: MemAvailable is not taken for MemAvail, 0 is a value. */
	write_file(path, "MemTotal: 1000 kB\nMemAvailableX: 7 kB\nMemAvailable: 0 kB\n");
	assert_int_equal(hib_meminfo_field(path, "MemAvailable", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(hib_meminfo_field(path, "MemAvail", &b), -EBADMSG);
	assert_int_equal(hib_meminfo_field(path, "", &b), -EINVAL);
	assert_int_equal(hib_meminfo_field(path, NULL, &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_read_direct),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_file_preflight_too_small),
		cmocka_unit_test(test_safe_target),
		cmocka_unit_test(test_meminfo),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
