// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/freeze.c: flags, targets and refusal buffers handed to freeze_processes(2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hibernate.h"
#include "mock-syscall.h"

static long ret_value;
static unsigned int busy_total;	/* tasks the fake kernel says refused */

static long handler(long nr, long *a)
{
	struct freeze_processes_args *args = (void *)a[0];

	assert_int_equal(nr, __NR_freeze_processes);
	if (ret_value == -EBUSY) {
		struct freeze_refusal *e = (void *)(uintptr_t)args->refused;
		unsigned int i;

		for (i = 0; i < busy_total && i < args->refused_max; i++) {
			e[i].pid = (int)(100 + i);
			e[i].tgid = 100;
			e[i].state = 'D';
			strcpy(e[i].comm, "stuck");
			strcpy(e[i].wchan, "fuse_wait");
		}
		args->refused_count = busy_total;
	}
	return ret_value;
}

static int setup(void **state)
{
	ret_value = 0;
	busy_total = 0;
	mock_reset(handler);
	return 0;
}

static void test_freeze_all(void **state)
{
	ret_value = 321;
	assert_int_equal(hib_freeze_all(2000, NULL), 321);
	assert_int_equal(mock_calls[0].args.flags, 0);
	assert_int_equal(mock_calls[0].args.target, 0);
	assert_int_equal(mock_calls[0].args.timeout_ms, 2000);
	assert_int_equal(mock_calls[0].args.refused, 0);
	assert_int_equal(mock_calls[0].args.refused_max, 0);
}

static void test_freeze_all_persist(void **state)
{
	ret_value = 12;
	assert_int_equal(hib_freeze_all_persist(0, NULL), 12);
	assert_int_equal(mock_calls[0].args.flags, FREEZE_PROCESSES_PERSIST);
	assert_int_equal(mock_calls[0].args.target, 0);
	assert_int_equal(mock_calls[0].args.keep_count, 0);
}

static void test_freeze_all_keep(void **state)
{
	static pid_t keep[FREEZE_PROCESSES_KEEP_MAX + 1] = { 77, 78 };

	ret_value = 300;
	assert_int_equal(hib_freeze_all_keep(1000, keep, 2, NULL), 300);
	assert_int_equal(mock_calls[0].args.flags, 0);
	assert_int_equal(mock_calls[0].args.keep, (uint64_t)(uintptr_t)keep);
	assert_int_equal(mock_calls[0].args.keep_count, 2);
	assert_int_equal(mock_calls[0].args.__reserved, 0);
	assert_int_equal(mock_calls[0].a[1], FREEZE_PROCESSES_ARGS_SIZE_VER1);
	/* Nothing to keep: the fields stay zero (what a VER0 kernel accepts). */
	assert_int_equal(hib_freeze_all_keep(1000, NULL, 0, NULL), 300);
	assert_int_equal(mock_calls[1].args.keep, 0);
	assert_int_equal(mock_calls[1].args.keep_count, 0);
	/* Refused before the kernel sees them. */
	assert_int_equal(hib_freeze_all_keep(0, NULL, 1, NULL), -EINVAL);
	assert_int_equal(hib_freeze_all_keep(0, keep, FREEZE_PROCESSES_KEEP_MAX + 1, NULL),
			 -EINVAL);
	assert_int_equal(mock_n_calls, 2);
	/* An older kernel's E2BIG comes back as is (the caller falls back). */
	ret_value = -E2BIG;
	assert_int_equal(hib_freeze_all_keep(0, keep, 1, NULL), -E2BIG);
}

static void test_thaw_all(void **state)
{
	ret_value = 12;
	assert_int_equal(hib_thaw_all(), 12);
	assert_int_equal(mock_calls[0].args.flags, FREEZE_PROCESSES_THAW);
	assert_int_equal(mock_calls[0].args.target, 0);
}

static void test_one(void **state)
{
	ret_value = 3;
	assert_int_equal(hib_freeze_pid(77, 5, NULL), 3);
	assert_int_equal(mock_calls[0].args.flags, FREEZE_PROCESSES_ONE);
	assert_int_equal(mock_calls[0].args.target, 77);
	assert_int_equal(mock_calls[0].args.timeout_ms, 5);

	assert_int_equal(hib_freeze_pidfd(8, 0, NULL), 3);
	assert_int_equal(mock_calls[1].args.flags, FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_PIDFD);
	assert_int_equal(mock_calls[1].args.target, 8);

	assert_int_equal(hib_thaw_pid(77), 3);
	assert_int_equal(mock_calls[2].args.flags, FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_THAW);
	assert_int_equal(mock_calls[2].args.target, 77);

	assert_int_equal(hib_thaw_pidfd(8), 3);
	assert_int_equal(mock_calls[3].args.flags,
			 FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_THAW | FREEZE_PROCESSES_PIDFD);
	assert_int_equal(mock_calls[3].args.target, 8);

	/* bad targets never reach the kernel */
	assert_int_equal(hib_freeze_pid(0, 0, NULL), -EINVAL);
	assert_int_equal(hib_thaw_pid(-1), -EINVAL);
	assert_int_equal(hib_freeze_pidfd(-1, 0, NULL), -EBADF);
	assert_int_equal(hib_thaw_pidfd(-1), -EBADF);
	assert_int_equal(mock_n_calls, 4);
}

static void test_busy_fills_refusals(void **state)
{
	struct hib_refusals r = {};

	assert_int_equal(hib_refusals_alloc(&r, 4), 0);
	r.count = 99;	/* stale: must be reset */
	ret_value = -EBUSY;
	busy_total = 2;
	assert_int_equal(hib_freeze_all(0, &r), -EBUSY);
	assert_int_equal(mock_calls[0].args.refused, (uint64_t)(uintptr_t)r.entries);
	assert_int_equal(mock_calls[0].args.refused_max, 4);
	assert_int_equal(r.count, 2);
	assert_int_equal(hib_refusals_shown(&r), 2);
	assert_int_equal(r.entries[1].pid, 101);
	assert_string_equal(r.entries[1].comm, "stuck");

	/* more refusals than room: count is the total, shown is bounded */
	busy_total = 10;
	assert_int_equal(hib_freeze_pid(5, 0, &r), -EBUSY);
	assert_int_equal(r.count, 10);
	assert_int_equal(hib_refusals_shown(&r), 4);

	/* a later success resets the count */
	ret_value = 1;
	assert_int_equal(hib_freeze_pid(5, 0, &r), 1);
	assert_int_equal(r.count, 0);

	hib_refusals_free(&r);
	assert_null(r.entries);
	assert_int_equal(r.max, 0);
}

static void test_refusals_alloc_bounds(void **state)
{
	struct hib_refusals r = {};

	assert_int_equal(hib_refusals_alloc(&r, 0), -EINVAL);
	assert_int_equal(hib_refusals_alloc(&r, 1u << 30), -EINVAL);
	assert_int_equal(hib_refusals_alloc(NULL, 4), -EINVAL);
	assert_null(r.entries);
	assert_int_equal(hib_refusals_shown(&r), 0);
	assert_int_equal(hib_refusals_shown(NULL), 0);
	hib_refusals_free(NULL);
	hib_refusals_free(&r);
}

static void test_errors_pass_through(void **state)
{
	ret_value = -EPERM;
	assert_int_equal(hib_freeze_all(0, NULL), -EPERM);
	ret_value = -ENOSYS;
	assert_int_equal(hib_thaw_all(), -ENOSYS);
	ret_value = -ESRCH;
	assert_int_equal(hib_thaw_pid(9), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_freeze_all, setup),
		cmocka_unit_test_setup(test_freeze_all_persist, setup),
		cmocka_unit_test_setup(test_freeze_all_keep, setup),
		cmocka_unit_test_setup(test_thaw_all, setup),
		cmocka_unit_test_setup(test_one, setup),
		cmocka_unit_test_setup(test_busy_fills_refusals, setup),
		cmocka_unit_test_setup(test_refusals_alloc_bounds, setup),
		cmocka_unit_test_setup(test_errors_pass_through, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
