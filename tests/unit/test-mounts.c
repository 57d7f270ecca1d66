// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/mounts.c: the mountinfo parser (hib_scan_mounts() is in test-dm.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mounts.h"

static void test_parse(void **state)
{
	char line[] = "36 35 98:0 /mnt\\0401 /mnt/with\\040blank rw,noatime master:1 shared:2 - "
		      "fuse.bindfs /src\\011tab rw,user_id=0\n";
	struct hib_mountinfo_line ml;

	(void)state;
	assert_int_equal(hib_mountinfo_parse(line, &ml), 0);
	assert_int_equal(ml.major, 98);
	assert_int_equal(ml.minor, 0);
	assert_string_equal(ml.root, "/mnt 1");
	assert_string_equal(ml.mountpoint, "/mnt/with blank");
	assert_string_equal(ml.opts, "rw,noatime");
	assert_string_equal(ml.fstype, "fuse.bindfs");
	assert_string_equal(ml.source, "/src\ttab");
	assert_string_equal(ml.super_opts, "rw,user_id=0");
}

static void test_refused(void **state)
{
	char no_sep[] = "36 35 98:0 / /mnt rw master:1 ext4 /dev/sda1 rw\n";
	char short_line[] = "36 35 98:0 / /mnt\n";
	char bad_dev[] = "36 35 x:y / /mnt rw - ext4 /dev/sda1 rw\n";
	char no_super[] = "36 35 8:1 / /mnt rw - ext4 /dev/sda1\n";
	struct hib_mountinfo_line ml;

	(void)state;
	assert_int_equal(hib_mountinfo_parse(no_sep, &ml), -EINVAL);
	assert_int_equal(hib_mountinfo_parse(short_line, &ml), -EINVAL);
	assert_int_equal(hib_mountinfo_parse(bad_dev, &ml), -EINVAL);
	assert_int_equal(hib_mountinfo_parse(no_super, &ml), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
