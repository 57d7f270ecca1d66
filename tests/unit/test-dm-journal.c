// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/dm-journal.c: the merge journal's format.  Round trip, cleared block, and
 * every way a block can be refused (checksum, version, count, state, chunk, strings,
 * slices, truncation, any flipped bit).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dm-journal.h"

static struct hib_dm_journal sample(void)
{
	struct hib_dm_journal j;

	memset(&j, 0, sizeof(j));
	j.state = HIB_DM_J_PROTECTED;
	j.chunk = 8;
	j.n = 2;
	strcpy(j.o[0].name, "vg-root");
	strcpy(j.o[0].uuid, "LVM-abc");
	j.o[0].sectors = 1 << 21;
	j.o[0].cow_offset = HIB_DM_JOURNAL_SECTORS;
	j.o[0].cow_sectors = 4096;
	memset(j.o[0].sb_hash, 0xab, 16);
	strcpy(j.o[1].name, "hibdata");
	j.o[1].sectors = 4096;
	j.o[1].cow_offset = HIB_DM_JOURNAL_SECTORS + 4096;
	j.o[1].cow_sectors = 2048;
	return j;
}

static void test_round_trip(void **state)
{
	static uint8_t buf[HIB_DM_JOURNAL_BYTES];
	struct hib_dm_journal j = sample(), back;

	hib_dm_journal_encode(&j, buf);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), 0);
	assert_memory_equal(&j, &back, sizeof(j));
	assert_string_equal(hib_dm_journal_state_name(back.state), "protected");
	assert_string_equal(hib_dm_journal_state_name(HIB_DM_J_MERGING), "merging");
	assert_string_equal(hib_dm_journal_state_name(HIB_DM_J_HIBERNATED), "hibernated");
	assert_string_equal(hib_dm_journal_state_name(77), "?");
	/* Cleared: all zeroes, "no journal". */
	hib_dm_journal_encode(NULL, buf);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), -ENODATA);
	assert_int_equal(hib_dm_journal_decode(buf, 0, &back), -ENODATA);
	assert_int_equal(hib_dm_journal_decode(NULL, 10, &back), -EINVAL);
}

/* Re-sign a modified block so that the field checks, not the checksum, refuse it. */
static void resign(uint8_t *buf, uint32_t n)
{
	size_t len = 24 + (size_t)n * (2 * HIB_DM_JOURNAL_STR_MAX + 40);
	uint64_t c = htole64(XXH64(buf, len, 0));

	memcpy(buf + len, &c, 8);
}

static void test_refusals(void **state)
{
	static uint8_t buf[HIB_DM_JOURNAL_BYTES];
	struct hib_dm_journal j, back;
	uint32_t v;
	size_t rec0 = 24, i;

	struct {
		const char *what;
		size_t off;
		uint32_t value;
	} fields[] = {
		{ "version", 8, 2 },
		{ "state 0", 12, 0 },
		{ "state 4", 12, 4 },
		{ "chunk 4", 16, 4 },
		{ "chunk 12", 16, 12 },
		{ "n 0", 20, 0 },
		{ "n 9", 20, 9 },
	};

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		j = sample();
		hib_dm_journal_encode(&j, buf);
		v = htole32(fields[i].value);
		memcpy(buf + fields[i].off, &v, 4);
		resign(buf, j.n);
		if (hib_dm_journal_decode(buf, sizeof(buf), &back) != -EBADMSG)
			fail_msg("%s accepted", fields[i].what);
	}

	/* Name without its NUL, empty name, zero sizes, a slice inside the journal. */
	j = sample();
	hib_dm_journal_encode(&j, buf);
	memset(buf + rec0, 'x', HIB_DM_JOURNAL_STR_MAX);
	resign(buf, j.n);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), -EBADMSG);

	j = sample();
	j.o[1].name[0] = 0;
	hib_dm_journal_encode(&j, buf);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), -EBADMSG);

	j = sample();
	j.o[0].cow_sectors = 0;
	hib_dm_journal_encode(&j, buf);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), -EBADMSG);

	j = sample();
	j.o[0].sectors = 0;
	hib_dm_journal_encode(&j, buf);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), -EBADMSG);

	j = sample();
	j.o[1].cow_offset = 0;
	hib_dm_journal_encode(&j, buf);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), -EBADMSG);

	j = sample();
	j.o[1].cow_offset = UINT64_MAX - 10;
	hib_dm_journal_encode(&j, buf);
	assert_int_equal(hib_dm_journal_decode(buf, sizeof(buf), &back), -EBADMSG);

	/* Truncated reads. */
	j = sample();
	hib_dm_journal_encode(&j, buf);
	assert_int_equal(hib_dm_journal_decode(buf, 20, &back), -EBADMSG);
	assert_int_equal(hib_dm_journal_decode(buf, 24 + 300, &back), -EBADMSG);
}

/* Any single flipped bit of the used part is refused (or reads as "no journal"). */
static void test_bit_flips(void **state)
{
	static uint8_t buf[HIB_DM_JOURNAL_BYTES];
	struct hib_dm_journal j = sample(), back;
	size_t used = 24 + 2 * (2 * HIB_DM_JOURNAL_STR_MAX + 40) + 8, bit;

	for (bit = 0; bit < used * 8; bit++) {
		int r;

		hib_dm_journal_encode(&j, buf);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = hib_dm_journal_decode(buf, sizeof(buf), &back);
		if (r != -EBADMSG && r != -ENODATA)
			fail_msg("bit %zu flipped: %d", bit, r);
	}
}

static void test_read_write(void **state)
{
	static uint8_t buf[HIB_DM_JOURNAL_BYTES];
	char path[] = "/tmp/test-dm-journal.XXXXXX";
	struct hib_dm_journal j = sample(), back;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	/* An empty device: no journal. */
	assert_int_equal(hib_dm_journal_read(fd, buf, &back), -ENODATA);
	assert_int_equal(hib_dm_journal_write(fd, buf, &j), 0);
	assert_int_equal(hib_dm_journal_read(fd, buf, &back), 0);
	assert_memory_equal(&j, &back, sizeof(j));
	assert_int_equal(hib_dm_journal_write(fd, buf, NULL), 0);
	assert_int_equal(hib_dm_journal_read(fd, buf, &back), -ENODATA);
	assert_int_equal(hib_dm_journal_write(-1, buf, &j), -EINVAL);
	close(fd);
	/* Read-only: the write fails with the errno. */
	fd = open(path, O_RDONLY);
	assert_int_equal(hib_dm_journal_write(fd, buf, &j), -EBADF);
	close(fd);
	/* Disk full. */
	fd = open("/dev/full", O_RDWR);
	if (fd >= 0) {
		assert_int_equal(hib_dm_journal_write(fd, buf, &j), -ENOSPC);
		close(fd);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_read_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
