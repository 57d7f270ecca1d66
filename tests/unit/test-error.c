// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/error.c: user-facing messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hibernate.h"

static void test_specific_messages(void **state)
{
	assert_non_null(strstr(hib_freeze_strerror(-EPERM), "CAP_SYS_ADMIN"));
	assert_non_null(strstr(hib_freeze_strerror(-EPERM), "initial user namespace"));
	assert_non_null(strstr(hib_freeze_strerror(-ENOSYS), "lacks freeze_processes(2)"));
	assert_non_null(strstr(hib_freeze_strerror(-ENOSYS), "kernel-patches/"));
	assert_non_null(strstr(hib_freeze_strerror(-EBUSY), "thawed again"));
	assert_string_equal(hib_freeze_strerror(-ESRCH), "no such process");
	assert_string_equal(hib_freeze_strerror(-ENOENT), "No such file or directory");
}

/* No freeze meaning on another domain's error: a bad image's EBADMSG is a bad message. */
static void test_plain_messages(void **state)
{
	assert_string_equal(hib_strerror(-EBADMSG), "Bad message");
	assert_string_equal(hib_strerror(-EPERM), "Operation not permitted");
	assert_string_equal(hib_strerror(-EBUSY), "Device or resource busy");
	assert_string_equal(hib_strerror(-EINVAL), "Invalid argument");
}

static void test_sign_does_not_matter(void **state)
{
	assert_string_equal(hib_strerror(EPERM), hib_strerror(-EPERM));
	assert_string_equal(hib_strerror(ENOSYS), hib_strerror(-ENOSYS));
	assert_string_equal(hib_strerror(ENOENT), hib_strerror(-ENOENT));
}

static void test_fallback(void **state)
{
	assert_string_equal(hib_strerror(-ENOENT), "No such file or directory");
	assert_string_equal(hib_strerror(-ENOMEM), "Cannot allocate memory");
	assert_string_equal(hib_strerror(0), "success");
	assert_string_equal(hib_strerror(-100000), "unknown error");
	assert_string_equal(hib_strerror(INT32_MIN + 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specific_messages),
		cmocka_unit_test(test_plain_messages),
		cmocka_unit_test(test_sign_does_not_matter),
		cmocka_unit_test(test_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
