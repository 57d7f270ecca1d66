// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl/cmd-policy.c and cmd-dm.c's --json: `policy check --json` (every error with
 * file, line and column) and `check --json` (a JSON object whatever the verdict).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "args.h"
#include "commands.h"

/* Run hibernatectl's @argv (parsed) with memory streams; stdout's JSON into *ret. */
static int run_json(int argc, char **argv, struct json_object **ret, char **ret_err)
{
	char *out_buf = NULL, *err_buf = NULL;
	struct hibctl_ctx ctx = { .no_mlock = true };
	struct hibctl_args args;
	size_t out_len, err_len;
	int code;

	ctx.out = open_memstream(&out_buf, &out_len);
	ctx.err = open_memstream(&err_buf, &err_len);
	assert_int_equal(hibctl_parse_args(argc, argv, &args), 0);
	code = args.command == HIBCTL_CMD_CHECK ? hibctl_cmd_check(&ctx, &args) :
	       hibctl_cmd_policy_check(&ctx, &args);
	hibctl_args_done(&args);
	fclose(ctx.out);
	fclose(ctx.err);
	*ret = json_tokener_parse(out_buf);
	if (!*ret)
		fail_msg("not JSON: '%s' (stderr '%s')", out_buf, err_buf);
	free(out_buf);
	*ret_err = err_buf;
	return code;
}

static void test_policy_check_json(void **state)
{
	char good[] = "/tmp/test-cmd-policy-good-XXXXXX", bad[] = "/tmp/test-cmd-policy-bad-XXXXXX";
	char *argv[] = { "hibernatectl", "policy", "check", "--json", good, bad, NULL };
	struct json_object *o, *errors, *e;
	char *err;
	int fd;

	(void)state;
	fd = mkstemp(good);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[match]\ncomm = x\n[thaw]\nthaw = yes\n", 35), 35);
	close(fd);
	fd = mkstemp(bad);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[match]\ncomm = x\n[thaw]\nthaw = perhaps\n", 39), 39);
	close(fd);
	assert_int_equal(run_json(6, argv, &o, &err), HIB_EXIT_ERROR);
	assert_string_equal(err, "");	/* everything is in the JSON */
	assert_int_equal(json_object_get_int(json_object_object_get(o, "valid")), 1);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "refused")), 1);
	errors = json_object_object_get(o, "errors");
	assert_int_equal(json_object_array_length(errors), 1);
	e = json_object_array_get_idx(errors, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(e, "file")), bad);
	assert_int_equal(json_object_get_int(json_object_object_get(e, "line")), 4);
	assert_non_null(strstr(json_object_get_string(json_object_object_get(e, "message")),
			       "thaw must be yes or no"));
	json_object_put(o);
	free(err);
	unlink(good);
	unlink(bad);
}

static void test_check_json(void **state)
{
	char *argv[] = { "hibernatectl", "check", "--json", "--output", "/nonexistent/dir/img",
			 NULL };
	struct json_object *o, *findings;
	char *err;
	size_t i;
	bool target_no = false;

	(void)state;
	unsetenv("HIBERNATE_CONF");
	run_json(5, argv, &o, &err);
	assert_true(json_object_is_type(json_object_object_get(o, "can_hibernate"),
					json_type_boolean));
	/* The missing target's directory: a "no". */
	assert_false(json_object_get_boolean(json_object_object_get(o, "can_hibernate")));
	findings = json_object_object_get(o, "findings");
	for (i = 0; i < json_object_array_length(findings); i++) {
		struct json_object *f = json_object_array_get_idx(findings, i);

		if (!strcmp(json_object_get_string(json_object_object_get(f, "result")), "no") &&
		    strstr(json_object_get_string(json_object_object_get(f, "message")),
			   "/nonexistent/dir/img"))
			target_no = true;
	}
	assert_true(target_no);
	json_object_put(o);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_check_json),
		cmocka_unit_test(test_check_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
