// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/state.c: the record of the last image.  Round trip and clear on a file; a file
 * through a symbolic link refused; a block device through one (udev's /dev/mapper/VG-LV names
 * are links) accepted: a loop device over a scratch file, when run as root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "state.h"

static char dir[] = "/tmp/test-state.XXXXXX";
static char file[64], link_path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/state", dir);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(link_path);
	unlink(file);
	rmdir(dir);
	return 0;
}

static struct hib_state_record sample(void)
{
	struct hib_state_record r;

	memset(&r, 0, sizeof(r));
	memset(r.image_id, 0x5a, sizeof(r.image_id));
	r.created = 1765000000;
	strcpy(r.place, "/dev/mapper/vg-image");
	return r;
}

static void test_file_round_trip(void **state)
{
	struct hib_state_record w = sample(), r;

	(void)state;
	assert_int_equal(hib_state_read(file, &r), -ENODATA);
	assert_int_equal(hib_state_write(file, &w), 0);
	assert_int_equal(hib_state_read(file, &r), 0);
	assert_memory_equal(&r, &w, sizeof(r));
	assert_int_equal(hib_state_clear(file), 0);
	assert_int_equal(hib_state_read(file, &r), -ENODATA);
}

static void test_file_through_symlink_refused(void **state)
{
	struct hib_state_record w = sample(), r;

	(void)state;
	assert_int_equal(symlink(file, link_path), 0);
	assert_int_equal(hib_state_write(link_path, &w), -ELOOP);
	assert_int_equal(hib_state_read(link_path, &r), -ELOOP);
	assert_int_equal(hib_state_clear(link_path), -ELOOP);
	unlink(link_path);
}

/* A block device through a symbolic link: a loop device over the file (root only). */
static void test_block_device_through_symlink(void **state)
{
	struct hib_state_record w = sample(), r;
	char loop[32];
	int ctl, n, lfd, ffd;

	(void)state;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		skip();
		return;
	}
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0) {
		skip();	/* no free loop device, or not allowed to make one */
		return;
	}
	snprintf(loop, sizeof(loop), "/dev/loop%d", n);
	lfd = open(loop, O_RDWR | O_CLOEXEC);
	if (lfd < 0) {
		skip();	/* no device node for it (a container's /dev) */
		return;
	}
	ffd = open(file, O_RDWR | O_CLOEXEC);
	assert_true(ffd >= 0);
	if (ioctl(lfd, LOOP_SET_FD, ffd) < 0) {
		close(ffd);
		close(lfd);
		skip();	/* taken meanwhile, or loop devices not allowed here */
		return;
	}
	close(ffd);
	/* Detached when the last descriptor closes: also when an assertion below ends the test. */
	{
		struct loop_info64 info;

		memset(&info, 0, sizeof(info));
		info.lo_flags = LO_FLAGS_AUTOCLEAR;
		assert_int_equal(ioctl(lfd, LOOP_SET_STATUS64, &info), 0);
	}
	assert_int_equal(symlink(loop, link_path), 0);
	assert_int_equal(hib_state_write(link_path, &w), 0);
	assert_int_equal(hib_state_read(link_path, &r), 0);
	assert_memory_equal(&r, &w, sizeof(r));
	assert_int_equal(hib_state_clear(link_path), 0);
	assert_int_equal(hib_state_read(link_path, &r), -ENODATA);
	unlink(link_path);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_file_through_symlink_refused),
		cmocka_unit_test(test_block_device_through_symlink),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
