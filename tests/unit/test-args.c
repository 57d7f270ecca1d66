// SPDX-License-Identifier: GPL-2.0-only
/* hibernatectl/args.c: the command-line parser. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

#define PARSE(a, ...)								\
	({									\
		char *_argv[] = { "hibernatectl", __VA_ARGS__, NULL };		\
		hibctl_parse_args((int)(sizeof(_argv) / sizeof(_argv[0])) - 1, _argv, (a)); \
	})

static void test_freeze_all_defaults(void **state)
{
	struct hibctl_args a;

	assert_int_equal(PARSE(&a, "freeze"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_FREEZE);
	assert_int_equal(a.timeout_ms, 0);
	assert_true(a.keep_ancestors);
	assert_int_equal(a.n_pids, 0);
	assert_int_equal(a.n_keep, 0);
	hibctl_args_done(&a);
}

static void test_freeze_options(void **state)
{
	struct hibctl_args a;

	assert_int_equal(PARSE(&a, "freeze", "--timeout", "2500", "--keep", "12", "-k", "13",
			       "--keep=14", "--no-keep-ancestors"), 0);
	assert_int_equal(a.timeout_ms, 2500);
	assert_false(a.keep_ancestors);
	assert_int_equal(a.n_keep, 3);
	assert_int_equal(a.keep[0], 12);
	assert_int_equal(a.keep[1], 13);
	assert_int_equal(a.keep[2], 14);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "freeze", "--timeout=7", "-t", "8"), 0);
	assert_int_equal(a.timeout_ms, 8);	/* the last one wins */
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "freeze", "-t9"), 0);
	assert_int_equal(a.timeout_ms, 9);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "freeze", "-t", "4294967295"), 0);
	assert_int_equal(a.timeout_ms, UINT_MAX);
	hibctl_args_done(&a);
}

static void test_freeze_pids(void **state)
{
	struct hibctl_args a;

	assert_int_equal(PARSE(&a, "freeze", "100", "-t", "5", "200", "--", "300"), 0);
	assert_int_equal(a.n_pids, 3);
	assert_int_equal(a.pids[0], 100);
	assert_int_equal(a.pids[1], 200);
	assert_int_equal(a.pids[2], 300);
	assert_int_equal(a.timeout_ms, 5);
	hibctl_args_done(&a);
}

static void test_thaw(void **state)
{
	struct hibctl_args a;

	assert_int_equal(PARSE(&a, "thaw", "--all"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_THAW);
	assert_true(a.all);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "thaw", "-a"), 0);
	assert_true(a.all);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "thaw", "5", "6"), 0);
	assert_false(a.all);
	assert_int_equal(a.n_pids, 2);
	assert_int_equal(a.pids[1], 6);
	hibctl_args_done(&a);
}

static void test_status_help_version(void **state)
{
	struct hibctl_args a;

	assert_int_equal(PARSE(&a, "status"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_STATUS);
	assert_false(a.json);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "status", "--json"), 0);
	assert_true(a.json);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "--help"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_HELP);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "-h"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_HELP);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "freeze", "--help", "--bogus"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_HELP);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "help", "freeze"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_HELP);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "--version"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_VERSION);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "-V"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_VERSION);
	hibctl_args_done(&a);
}

struct bad_case {
	const char *argv[6];
	const char *msg;	/* a substring of the error */
};

static void test_usage_errors(void **state)
{
	static const struct bad_case bad[] = {
		{ { NULL }, "no command" },
		{ { "frobnicate" }, "unknown command 'frobnicate'" },
		{ { "--timeout", "5", "freeze" }, "options follow the command" },
		{ { "freeze", "--timeout" }, "needs a value" },
		{ { "freeze", "--timeout", "abc" }, "invalid timeout 'abc'" },
		{ { "freeze", "--timeout", "-1" }, "invalid timeout" },
		{ { "freeze", "--timeout", "4294967296" }, "invalid timeout" },
		{ { "freeze", "--keep", "0" }, "invalid --keep process id '0'" },
		{ { "freeze", "--keep", "12x" }, "invalid --keep process id" },
		{ { "freeze", "--no-keep-ancestors=1" }, "takes no value" },
		{ { "freeze", "--all" }, "unknown option '--all' for freeze" },
		{ { "freeze", "abc" }, "invalid process id 'abc'" },
		{ { "freeze", "-5" }, "unknown option '-5'" },
		{ { "freeze", "2147483648" }, "invalid process id" },
		{ { "freeze", "5", "--keep", "6" }, "only apply when freezing every task" },
		{ { "freeze", "5", "--no-keep-ancestors" }, "only apply" },
		{ { "thaw" }, "thaw needs process ids or --all" },
		{ { "thaw", "--all", "5" }, "not both" },
		{ { "thaw", "--json" }, "unknown option '--json' for thaw" },
		{ { "status", "5" }, "status takes no arguments" },
		{ { "status", "--all" }, "unknown option" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[8] = { "hibernatectl" };
		struct hibctl_args a;
		int argc = 1;

		while (bad[i].argv[argc - 1]) {
			argv[argc] = (char *)bad[i].argv[argc - 1];
			argc++;
		}
		print_message("case %zu: expecting '%s'\n", i, bad[i].msg);
		assert_int_equal(hibctl_parse_args(argc, argv, &a), -EINVAL);
		assert_non_null(strstr(a.error, bad[i].msg));
		hibctl_args_done(&a);
	}
}

static void test_parse_pid_and_timeout(void **state)
{
	pid_t p = 77;
	unsigned int t = 77;

	assert_int_equal(hibctl_parse_pid("1", &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(hibctl_parse_pid("2147483647", &p), 0);
	assert_int_equal(p, INT_MAX);
	assert_int_equal(hibctl_parse_pid("", &p), -EINVAL);
	assert_int_equal(hibctl_parse_pid("+5", &p), -EINVAL);
	assert_int_equal(hibctl_parse_pid(" 5", &p), -EINVAL);
	assert_int_equal(hibctl_parse_pid("5 ", &p), -EINVAL);
	assert_int_equal(hibctl_parse_pid("99999999999", &p), -EINVAL);
	assert_int_equal(p, INT_MAX);	/* untouched on failure */

	assert_int_equal(hibctl_parse_timeout("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(hibctl_parse_timeout("0x10", &t), -EINVAL);
	assert_int_equal(hibctl_parse_timeout(NULL, &t), -EINVAL);
}

static void test_usage_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	hibctl_usage(f);
	fclose(f);
	assert_non_null(strstr(buf, "--no-keep-ancestors"));
	assert_non_null(strstr(buf, "thaw --all"));
	assert_non_null(strstr(buf, "status [--json]"));
	/* every exit code is documented */
	assert_non_null(strstr(buf, "  3  the kernel lacks freeze_processes(2) (ENOSYS)"));
	assert_non_null(strstr(buf, "  4  permission denied"));
	assert_non_null(strstr(buf, "  5  some tasks did not freeze"));
	free(buf);
}

static void test_policy_options(void **state)
{
	struct hibctl_args a;

	assert_int_equal(PARSE(&a, "policy", "check"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_POLICY_CHECK);
	assert_int_equal(a.n_files, 0);
	assert_null(a.policy_dir);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "policy", "check", "a.policy", "b.policy"), 0);
	assert_int_equal(a.n_files, 2);
	assert_string_equal(a.files[0], "a.policy");
	assert_string_equal(a.files[1], "b.policy");
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "policy", "check", "--policy-dir", "/d"), 0);
	assert_string_equal(a.policy_dir, "/d");
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "policy"), -EINVAL);
	assert_non_null(strstr(a.error, "check"));
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "policy", "lint"), -EINVAL);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "policy", "check", "--policy-dir", "/d", "x"), -EINVAL);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "policy", "check", "a", "--policy-dir=/d", "b"), -EINVAL);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "policy", "check", "--policy-dir="), -EINVAL);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "hibernate", "--output", "/dev/x", "--policy-dir", "/p",
			       "--sync-timeout", "2500"), 0);
	assert_string_equal(a.policy_dir, "/p");
	assert_int_equal(a.sync_timeout_ms, 2500);
	assert_int_equal(a.test, HIBCTL_TEST_NONE);
	hibctl_args_done(&a);
	/* Without --output: the target under [hibernate] (what a daemon client names). */
	assert_int_equal(PARSE(&a, "hibernate"), 0);
	assert_null(a.path);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "resume", "--migrate"), 0);
	assert_null(a.path);
	assert_true(a.migrate);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "hibernate", "--test=freeze"), 0);	/* no --output needed */
	assert_int_equal(a.test, HIBCTL_TEST_FREEZE);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "hibernate", "--test=dm"), 0);
	assert_int_equal(a.test, HIBCTL_TEST_DM);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "hibernate", "--test=snapshot", "-o", "/dev/x"), 0);
	assert_int_equal(a.test, HIBCTL_TEST_SNAPSHOT);
	assert_string_equal(a.path, "/dev/x");
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "hibernate", "--test=write"), -EINVAL);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "hibernate", "--test="), -EINVAL);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "hibernate", "-o", "x", "--sync-timeout", "0"), -EINVAL);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "hibernate", "-o", "x", "--sync-timeout", "1s"), -EINVAL);
	hibctl_args_done(&a);
	assert_int_equal(PARSE(&a, "freeze", "--policy-dir", "/p"), -EINVAL);
	hibctl_args_done(&a);
}

/* COMMAND --help: that command's help, its options from the option table only. */
static void test_command_help(void **state)
{
	struct hibctl_args a;
	char *buf = NULL;
	size_t len;
	FILE *f;

	(void)state;
	assert_int_equal(PARSE(&a, "hibernate", "--help"), 0);
	assert_int_equal(a.command, HIBCTL_CMD_HELP);
	assert_int_equal(a.help_command, HIBCTL_CMD_HIBERNATE);
	f = open_memstream(&buf, &len);
	hibctl_usage_command(f, a.help_command);
	fclose(f);
	assert_non_null(strstr(buf, "Usage: hibernatectl hibernate"));
	assert_non_null(strstr(buf, "--no-poweroff"));
	assert_non_null(strstr(buf, "-o, --output DEV|FILE|URL"));
	assert_null(strstr(buf, "--keep"));	/* freeze's */
	assert_null(strstr(buf, "--migrate"));	/* resume's */
	free(buf);
	hibctl_args_done(&a);

	assert_int_equal(PARSE(&a, "--help"), 0);
	assert_int_equal(a.help_command, HIBCTL_CMD_NONE);
	hibctl_args_done(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_help),
		cmocka_unit_test(test_freeze_all_defaults),
		cmocka_unit_test(test_freeze_options),
		cmocka_unit_test(test_freeze_pids),
		cmocka_unit_test(test_thaw),
		cmocka_unit_test(test_status_help_version),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_parse_pid_and_timeout),
		cmocka_unit_test(test_usage_text),
		cmocka_unit_test(test_policy_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
