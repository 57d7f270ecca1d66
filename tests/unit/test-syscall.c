// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/syscall.c: arguments passed to the kernel and -errno conversion. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "hibernate.h"
#include "mock-syscall.h"

static long ret_value;

static long handler_fixed(long nr, long *a)
{
	return ret_value;
}

static int setup(void **state)
{
	ret_value = 0;
	mock_reset(handler_fixed);
	return 0;
}

static void test_freeze_processes_passes_args_and_size(void **state)
{
	struct freeze_processes_args args = {
		.flags = FREEZE_PROCESSES_ONE,
		.target = 42,
		.timeout_ms = 1500,
	};

	ret_value = 7;
	assert_int_equal(hib_freeze_processes(&args), 7);
	assert_int_equal(mock_n_calls, 1);
	assert_int_equal(mock_calls[0].nr, 1000);
	assert_ptr_equal((void *)mock_calls[0].a[0], &args);
	assert_int_equal(mock_calls[0].a[1], sizeof(args));
	assert_int_equal(mock_calls[0].a[1], FREEZE_PROCESSES_ARGS_SIZE_VER1);
	assert_true(mock_calls[0].has_args);
	assert_int_equal(mock_calls[0].args.flags, FREEZE_PROCESSES_ONE);
	assert_int_equal(mock_calls[0].args.target, 42);
	assert_int_equal(mock_calls[0].args.timeout_ms, 1500);
}

static void test_freeze_processes_negative_errno(void **state)
{
	struct freeze_processes_args args = {};
	const int errs[] = { EPERM, ENOSYS, EINVAL, EBUSY, ESRCH, EFAULT };
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ret_value = -errs[i];
		assert_int_equal(hib_freeze_processes(&args), -errs[i]);
	}
}

static void test_freeze_processes_null(void **state)
{
	assert_int_equal(hib_freeze_processes(NULL), -EINVAL);
	assert_int_equal(mock_n_calls, 0);
}

static void test_kill(void **state)
{
	assert_int_equal(hib_kill(123, SIGFREEZE), 0);
	assert_int_equal(mock_calls[0].nr, __NR_kill);
	assert_int_equal(mock_calls[0].a[0], 123);
	assert_int_equal(mock_calls[0].a[1], 200);

	ret_value = -EPERM;
	assert_int_equal(hib_kill(123, SIGUNFREEZE), -EPERM);
	assert_int_equal(mock_calls[1].a[1], 201);
}

static void test_pidfd_open(void **state)
{
	ret_value = 9;
	assert_int_equal(hib_pidfd_open(55, 0), 9);
	assert_int_equal(mock_calls[0].nr, 434);
	assert_int_equal(mock_calls[0].a[0], 55);
	assert_int_equal(mock_calls[0].a[1], 0);

	ret_value = -ESRCH;
	assert_int_equal(hib_pidfd_open(56, 0), -ESRCH);

	/* invalid pid: refused before the kernel is asked */
	assert_int_equal(hib_pidfd_open(0, 0), -EINVAL);
	assert_int_equal(hib_pidfd_open(-3, 0), -EINVAL);
	assert_int_equal(mock_n_calls, 2);
}

static void test_pidfd_send_signal(void **state)
{
	assert_int_equal(hib_signal_freeze_pidfd(4), 0);
	assert_int_equal(mock_calls[0].nr, 424);
	assert_int_equal(mock_calls[0].a[0], 4);
	assert_int_equal(mock_calls[0].a[1], SIGFREEZE);
	assert_int_equal(mock_calls[0].a[2], 0);	/* no siginfo */
	assert_int_equal(mock_calls[0].a[3], 0);

	ret_value = -EINVAL;
	assert_int_equal(hib_signal_thaw_pidfd(5), -EINVAL);
	assert_int_equal(mock_calls[1].a[0], 5);
	assert_int_equal(mock_calls[1].a[1], SIGUNFREEZE);

	assert_int_equal(hib_pidfd_send_signal(-1, SIGFREEZE, 0), -EBADF);
	assert_int_equal(mock_n_calls, 2);
}

static void test_probe(void **state)
{
	ret_value = -ENOSYS;
	assert_false(hib_probe());
	assert_int_equal(mock_calls[0].nr, 1000);
	assert_int_equal(mock_calls[0].a[0], 0);	/* NULL args */
	assert_int_equal(mock_calls[0].a[1], 0);	/* size 0: nothing can be frozen */

	ret_value = -EINVAL;
	assert_true(hib_probe());
	ret_value = -EPERM;
	assert_true(hib_probe());
	ret_value = -EFAULT;
	assert_true(hib_probe());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_freeze_processes_passes_args_and_size, setup),
		cmocka_unit_test_setup(test_freeze_processes_negative_errno, setup),
		cmocka_unit_test_setup(test_freeze_processes_null, setup),
		cmocka_unit_test_setup(test_kill, setup),
		cmocka_unit_test_setup(test_pidfd_open, setup),
		cmocka_unit_test_setup(test_pidfd_send_signal, setup),
		cmocka_unit_test_setup(test_probe, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
