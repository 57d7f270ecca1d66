// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/log.c: messages reach the installed callback only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "hibernate.h"
#include "log.h"

static int last_level;
static char last_msg[256];
static int n_msgs;

static void capture(int level, const char *fmt, va_list ap)
{
	last_level = level;
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	n_msgs++;
	errno = EIO;	/* the library must not let this leak to its caller */
}

static void test_callback_gets_formatted_message(void **state)
{
	n_msgs = 0;
	hib_set_log_fn(capture);
	errno = ENOENT;
	hib_warn("process %d: %s", 42, "gone");
	assert_int_equal(errno, ENOENT);
	assert_int_equal(n_msgs, 1);
	assert_int_equal(last_level, HIB_LOG_WARNING);
	assert_string_equal(last_msg, "process 42: gone");

	hib_debug("x=%u", 7u);
	assert_int_equal(last_level, HIB_LOG_DEBUG);
	assert_string_equal(last_msg, "x=7");
	hib_set_log_fn(NULL);
}

static void test_no_callback_is_silent(void **state)
{
	n_msgs = 0;
	hib_set_log_fn(NULL);
	hib_err("nobody listens %d", 1);
	assert_int_equal(n_msgs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_callback_gets_formatted_message),
		cmocka_unit_test(test_no_callback_is_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
