// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl/cmd-freeze.c: the freeze and thaw commands against a fake kernel (syscall(2)
 * wrapped) and a fake /proc holding the command's ancestors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "commands.h"
#include "fakeproc.h"
#include "mock-syscall.h"

#define FD_BASE 100000	/* fake pidfds: FD_BASE + pid; nothing real lives there */

static char root[64];
static char *out_buf, *err_buf;
static size_t out_len, err_len;
static FILE *out_f, *err_f;
static struct hibctl_ctx ctx;

/* fake kernel behaviour */
static long freeze_all_ret;		/* result of freeze all */
static long one_ret;			/* result of freeze/thaw one */
static pid_t one_fail_target = -1;	/* this pidfd's freeze fails with one_fail_err */
static long one_fail_err;
static pid_t missing_pid = -1;		/* pidfd_open gives -ESRCH */

static long kernel(long nr, long *a)
{
	struct freeze_processes_args *args;

	switch (nr) {
	case __NR_pidfd_open:
		return a[0] == missing_pid ? -ESRCH : FD_BASE + a[0];
	case __NR_freeze_processes:
		args = (void *)a[0];
		if (!(args->flags & FREEZE_PROCESSES_ONE)) {
			if (freeze_all_ret == -EBUSY) {
				struct freeze_refusal *e = (void *)(uintptr_t)args->refused;

				unsigned int i, total = 70;	/* more than the room */

				assert_true(args->refused_max >= 2);
				for (i = 2; i < total && i < args->refused_max; i++) {
					e[i] = (struct freeze_refusal){ .pid = (int)(600 + i),
									.tgid = 600,
									.state = 'S' };
					strcpy(e[i].comm, "other");
				}
				e[0] = (struct freeze_refusal){ .pid = 501, .tgid = 500,
								.state = 'D' };
				strcpy(e[0].comm, "fuse-daemon");
				strcpy(e[0].wchan, "fuse_dev_do_read");
				e[1] = (struct freeze_refusal){ .pid = 502, .tgid = 502,
								.state = 'D' };
				strcpy(e[1].comm, "nfs\x01io");	/* sanitized to nfs?io */
				args->refused_count = total;
			}
			return args->flags & FREEZE_PROCESSES_THAW ? 40 : freeze_all_ret;
		}
		if (args->target == FD_BASE + one_fail_target &&
		    !(args->flags & FREEZE_PROCESSES_THAW))
			return one_fail_err;
		return one_ret;
	default:
		return -ENOSYS;
	}
}

static int setup(void **state)
{
	strcpy(root, "/tmp/hibtest-cmd-XXXXXX");
	if (fakeproc_create(root) < 0)
		return -1;
	/* 1 <- 50 <- 60 <- 70 (hibernatectl) */
	fakeproc_task(root, 1, 0, 0, "init", 'S', 0, 0);
	fakeproc_task(root, 50, 0, 1, "sshd", 'S', 0, 0);
	fakeproc_task(root, 60, 0, 50, "bash", 'S', 0, 0);
	fakeproc_task(root, 70, 0, 60, "hibernatectl", 'R', 0, 0);

	out_f = open_memstream(&out_buf, &out_len);
	err_f = open_memstream(&err_buf, &err_len);
	ctx = (struct hibctl_ctx){ .proc_root = root, .self = 70, .out = out_f, .err = err_f };

	freeze_all_ret = 123;
	one_ret = 2;
	one_fail_target = -1;
	one_fail_err = 0;
	missing_pid = -1;
	mock_reset(kernel);
	return 0;
}

static int teardown(void **state)
{
	fclose(out_f);
	fclose(err_f);
	free(out_buf);
	free(err_buf);
	fakeproc_destroy(root);
	return 0;
}

static void flush(void)
{
	fflush(out_f);
	fflush(err_f);
}

static void assert_call_freeze(size_t i, uint64_t flags, int target)
{
	assert_true(i < mock_n_calls);
	assert_int_equal(mock_calls[i].nr, __NR_freeze_processes);
	assert_int_equal(mock_calls[i].args.flags, flags);
	assert_int_equal(mock_calls[i].args.target, target);
}

static void assert_call_pidfd_open(size_t i, pid_t pid)
{
	assert_true(i < mock_n_calls);
	assert_int_equal(mock_calls[i].nr, __NR_pidfd_open);
	assert_int_equal(mock_calls[i].a[0], pid);
}

#define THAW_ONE_FD (FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_THAW | FREEZE_PROCESSES_PIDFD)

static void test_freeze_all_keeps_ancestors(void **state)
{
	pid_t keep[] = { 99, 50 };	/* 50 is an ancestor too: kept once */
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .timeout_ms = 700,
				 .keep_ancestors = true, .keep = keep, .n_keep = 2 };

	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_OK);
	flush();

	/* pidfds first, then the freeze, then the thaws */
	assert_int_equal(mock_n_calls, 9);
	assert_call_pidfd_open(0, 60);
	assert_call_pidfd_open(1, 50);
	assert_call_pidfd_open(2, 1);
	assert_call_pidfd_open(3, 99);
	assert_call_freeze(4, FREEZE_PROCESSES_PERSIST, 0);	/* the command exits frozen */
	assert_int_equal(mock_calls[4].args.timeout_ms, 700);
	assert_int_not_equal(mock_calls[4].args.refused, 0);
	assert_call_freeze(5, THAW_ONE_FD, FD_BASE + 60);
	assert_call_freeze(6, THAW_ONE_FD, FD_BASE + 50);
	assert_call_freeze(7, THAW_ONE_FD, FD_BASE + 1);
	assert_call_freeze(8, THAW_ONE_FD, FD_BASE + 99);

	assert_non_null(strstr(out_buf, "froze 123 tasks in "));
	assert_non_null(strstr(out_buf, "thawed 8 tasks of 4 kept processes in "));
	assert_int_equal(err_len, 0);
}

static void test_freeze_all_no_keep(void **state)
{
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .keep_ancestors = false };

	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_OK);
	flush();
	assert_int_equal(mock_n_calls, 1);
	assert_call_freeze(0, FREEZE_PROCESSES_PERSIST, 0);
	assert_non_null(strstr(out_buf, "froze 123 tasks"));
	assert_null(strstr(out_buf, "kept"));
}

static void test_freeze_all_busy(void **state)
{
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .timeout_ms = 100,
				 .keep_ancestors = true };

	freeze_all_ret = -EBUSY;
	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_BUSY);
	flush();
	/* 3 pidfd_open, 1 freeze, no thaw: the kernel rolled back */
	assert_int_equal(mock_n_calls, 4);
	assert_non_null(strstr(err_buf, "70 task(s) did not freeze within 100 ms; everything "
				      "this call froze was thawed again"));
	assert_non_null(strstr(err_buf, "(64 of 70 shown)"));
	assert_non_null(strstr(err_buf, "     PID     TGID STATE COMM             WCHAN\n"));
	assert_non_null(strstr(err_buf, "     501      500 D     fuse-daemon      "
				      "fuse_dev_do_read\n"));
	assert_non_null(strstr(err_buf, "     502      502 D     nfs?io           -\n"));
	assert_non_null(strstr(err_buf, "     663      600 S     other            -\n"));
	assert_null(strstr(err_buf, "     664 "));
	assert_int_equal(out_len, 0);
}

static void test_freeze_all_errors(void **state)
{
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .keep_ancestors = false };

	freeze_all_ret = -ENOSYS;
	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_NOSYS);
	freeze_all_ret = -EPERM;
	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_PERM);
	freeze_all_ret = -EINVAL;
	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_ERROR);
	flush();
	assert_non_null(strstr(err_buf, "freeze: this kernel lacks freeze_processes(2)"));
	assert_non_null(strstr(err_buf, "freeze: permission denied"));
	assert_int_equal(out_len, 0);
}

static void test_freeze_all_missing_keep(void **state)
{
	pid_t keep[] = { 4242 };
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .keep_ancestors = true,
				 .keep = keep, .n_keep = 1 };

	missing_pid = 4242;
	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_ERROR);
	flush();
	for (size_t i = 0; i < mock_n_calls; i++)
		assert_int_not_equal(mock_calls[i].nr, __NR_freeze_processes);
	assert_non_null(strstr(err_buf, "process 4242 (--keep): no such process; nothing was "
				      "frozen"));
}

static void test_freeze_all_thaw_kept_fails(void **state)
{
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .keep_ancestors = true };

	one_ret = -EINVAL;
	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_ERROR);
	flush();
	/* 3 pidfd_open, freeze, failed thaw of 60, then thaw all */
	assert_int_equal(mock_n_calls, 6);
	assert_call_freeze(4, THAW_ONE_FD, FD_BASE + 60);
	assert_call_freeze(5, FREEZE_PROCESSES_THAW, 0);
	assert_non_null(strstr(err_buf, "cannot thaw kept process 60"));
	assert_non_null(strstr(err_buf, "thawing every task again"));
}

static void test_freeze_pids_rolls_back(void **state)
{
	pid_t pids[] = { 200, 300, 400 };
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .pids = pids, .n_pids = 3,
				 .keep_ancestors = true };

	one_fail_target = 400;
	one_fail_err = -EPERM;
	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_PERM);
	flush();
	assert_int_equal(mock_n_calls, 8);
	assert_call_freeze(3, FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_PIDFD, FD_BASE + 200);
	assert_call_freeze(4, FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_PIDFD, FD_BASE + 300);
	assert_call_freeze(5, FREEZE_PROCESSES_ONE | FREEZE_PROCESSES_PIDFD, FD_BASE + 400);
	assert_call_freeze(6, THAW_ONE_FD, FD_BASE + 200);
	assert_call_freeze(7, THAW_ONE_FD, FD_BASE + 300);
	assert_non_null(strstr(err_buf, "freeze process 400: permission denied"));
	assert_non_null(strstr(err_buf, "the 2 process(es) frozen before it were thawed again"));
	assert_int_equal(out_len, 0);
}

static void test_freeze_pids_ok(void **state)
{
	pid_t pids[] = { 200, 300 };
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .pids = pids, .n_pids = 2,
				 .timeout_ms = 9 };

	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_OK);
	flush();
	assert_int_equal(mock_calls[2].args.timeout_ms, 9);
	assert_non_null(strstr(out_buf, "froze 4 tasks of 2 processes in "));
}

static void test_freeze_self_refused(void **state)
{
	pid_t pids[] = { 200, 70 };
	struct hibctl_args a = { .command = HIBCTL_CMD_FREEZE, .pids = pids, .n_pids = 2 };

	assert_int_equal(hibctl_cmd_freeze(&ctx, &a), HIB_EXIT_USAGE);
	assert_int_equal(mock_n_calls, 0);
}

static void test_thaw(void **state)
{
	pid_t pids[] = { 200, 4242, 300 };
	struct hibctl_args all = { .command = HIBCTL_CMD_THAW, .all = true };
	struct hibctl_args some = { .command = HIBCTL_CMD_THAW, .pids = pids, .n_pids = 3 };

	assert_int_equal(hibctl_cmd_thaw(&ctx, &all), HIB_EXIT_OK);
	assert_call_freeze(0, FREEZE_PROCESSES_THAW, 0);

	missing_pid = 4242;
	assert_int_equal(hibctl_cmd_thaw(&ctx, &some), HIB_EXIT_ERROR);
	flush();
	assert_call_freeze(2, THAW_ONE_FD, FD_BASE + 200);
	assert_call_freeze(5, THAW_ONE_FD, FD_BASE + 300);
	assert_non_null(strstr(out_buf, "thawed 40 tasks in "));
	assert_non_null(strstr(out_buf, "thawed 4 tasks of 2 processes in "));
	assert_non_null(strstr(err_buf, "thaw process 4242: no such process"));
}

static void test_exit_codes(void **state)
{
	assert_int_equal(hibctl_exit_code(0), 0);
	assert_int_equal(hibctl_exit_code(-ENOSYS), 3);
	assert_int_equal(hibctl_exit_code(-EPERM), 4);
	assert_int_equal(hibctl_exit_code(EPERM), 4);
	assert_int_equal(hibctl_exit_code(-EBUSY), 5);
	assert_int_equal(hibctl_exit_code(-ESRCH), 1);
	assert_int_equal(hibctl_exit_code(-ENOMEM), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_freeze_all_keeps_ancestors),
		T(test_freeze_all_no_keep),
		T(test_freeze_all_busy),
		T(test_freeze_all_errors),
		T(test_freeze_all_missing_keep),
		T(test_freeze_all_thaw_kept_fails),
		T(test_freeze_pids_rolls_back),
		T(test_freeze_pids_ok),
		T(test_freeze_self_refused),
		T(test_thaw),
		cmocka_unit_test(test_exit_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
