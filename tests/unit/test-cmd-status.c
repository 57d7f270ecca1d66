// SPDX-License-Identifier: GPL-2.0-only
/* hibernatectl/cmd-status.c: text and JSON output; the JSON is parsed back to prove it valid. */
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

static long probe_ret;

static long kernel(long nr, long *a)
{
	assert_int_equal(nr, __NR_freeze_processes);
	return probe_ret;
}

static const struct hib_proc_info procs[] = {
	{ .pid = 10, .ppid = 1, .uid = 1000, .comm = "sleep", .state = 'S',
	  .frozen = HIB_TRI_YES, .user_frozen = HIB_TRI_YES, .wchan = "do_freezer_trap",
	  .threads = 2, .threads_frozen = 2, .threads_user_frozen = 2 },
	/* quotes, backslash, control and non-ASCII bytes; unknown Frozen; no wchan */
	{ .pid = 20, .ppid = 10, .uid = 0, .comm = "a\"b\\c\n\xc3\xa9", .state = 'D',
	  .frozen = HIB_TRI_UNKNOWN, .user_frozen = HIB_TRI_YES, .wchan = "",
	  .threads = 3, .threads_frozen = 1, .threads_user_frozen = 3 },
};

static struct json_object *parse_back(const char *s)
{
	enum json_tokener_error jerr;
	struct json_object *o = json_tokener_parse_verbose(s, &jerr);

	if (!o)
		print_error("invalid JSON (%s): %s\n", json_tokener_error_desc(jerr), s);
	assert_non_null(o);
	return o;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

static void test_json(void **state)
{
	struct json_object *o = hibctl_status_json(true, true, procs, 2), *back, *arr, *p;

	assert_non_null(o);
	back = parse_back(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);

	assert_true(json_object_get_boolean(get(back, "kernel_support")));
	assert_true(json_object_get_boolean(get(back, "proc_fields")));
	arr = get(back, "processes");
	assert_int_equal(json_object_array_length(arr), 2);

	p = json_object_array_get_idx(arr, 0);
	assert_int_equal(json_object_get_int(get(p, "pid")), 10);
	assert_int_equal(json_object_get_int(get(p, "ppid")), 1);
	assert_int_equal(json_object_get_int(get(p, "uid")), 1000);
	assert_string_equal(json_object_get_string(get(p, "comm")), "sleep");
	assert_string_equal(json_object_get_string(get(p, "state")), "S");
	assert_string_equal(json_object_get_string(get(p, "status")), "frozen");
	assert_true(json_object_get_boolean(get(p, "frozen")));
	assert_true(json_object_get_boolean(get(p, "user_frozen")));
	assert_int_equal(json_object_get_int(get(p, "threads")), 2);
	assert_int_equal(json_object_get_int(get(p, "threads_frozen")), 2);
	assert_string_equal(json_object_get_string(get(p, "wchan")), "do_freezer_trap");

	p = json_object_array_get_idx(arr, 1);
	assert_string_equal(json_object_get_string(get(p, "comm")), "a\"b\\c???");
	assert_string_equal(json_object_get_string(get(p, "status")), "freezing");
	assert_null(get(p, "frozen"));		/* unknown: JSON null */
	assert_null(get(p, "wchan"));
	assert_int_equal(json_object_get_int(get(p, "threads_user_frozen")), 3);
	json_object_put(back);
}

static void test_json_empty(void **state)
{
	struct json_object *o = hibctl_status_json(false, false, NULL, 0), *back;

	assert_non_null(o);
	back = parse_back(json_object_to_json_string(o));
	json_object_put(o);
	assert_false(json_object_get_boolean(get(back, "kernel_support")));
	assert_int_equal(json_object_array_length(get(back, "processes")), 0);
	json_object_put(back);
}

static void test_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	hibctl_status_text(f, true, true, procs, 2);
	fclose(f);
	assert_non_null(strstr(buf, "kernel support: yes"));
	assert_non_null(strstr(buf, "freezer state in /proc: yes\n"));
	assert_non_null(strstr(buf, "frozen or freezing processes: 2\n"));
	assert_non_null(strstr(buf, "     PID STATE STATUS   FROZEN USERFROZEN THREADS   COMM"));
	assert_non_null(strstr(buf, "      10 S     frozen   1      1          2/2       "
				  "sleep            do_freezer_trap\n"));
	assert_non_null(strstr(buf, "      20 D     freezing -      1          1/3       "
				  "a\"b\\c???         -\n"));
	free(buf);
}

static void test_cmd(void **state)
{
	char root[] = "/tmp/hibtest-status-XXXXXX";
	struct hibctl_args json = { .command = HIBCTL_CMD_STATUS, .json = true };
	struct hibctl_args text = { .command = HIBCTL_CMD_STATUS };
	char *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0;
	struct hibctl_ctx ctx;
	struct json_object *back, *arr;

	assert_int_equal(fakeproc_create(root), 0);
	fakeproc_task(root, 1, 0, 0, "init", 'S', 0, 0);
	fakeproc_task(root, 30, 0, 1, "frozen", 'S', 1, 1);
	ctx = (struct hibctl_ctx){ .proc_root = root, .self = 1,
				   .out = open_memstream(&out, &out_len),
				   .err = open_memstream(&err, &err_len) };

	mock_reset(kernel);
	probe_ret = -EINVAL;	/* the kernel has the call */
	assert_int_equal(hibctl_cmd_status(&ctx, &json), HIB_EXIT_OK);
	fflush(ctx.out);
	assert_int_equal(mock_n_calls, 1);
	back = parse_back(out);
	assert_true(json_object_get_boolean(get(back, "kernel_support")));
	arr = get(back, "processes");
	assert_int_equal(json_object_array_length(arr), 1);
	assert_int_equal(json_object_get_int(get(json_object_array_get_idx(arr, 0), "pid")), 30);
	json_object_put(back);

	fclose(ctx.out);
	free(out);
	out = NULL;
	ctx.out = open_memstream(&out, &out_len);
	probe_ret = -ENOSYS;
	assert_int_equal(hibctl_cmd_status(&ctx, &text), HIB_EXIT_OK);
	fflush(ctx.out);
	assert_non_null(strstr(out, "kernel support: no (this kernel lacks freeze_processes(2))"));

	ctx.proc_root = "/nonexistent-hibtest";
	assert_int_equal(hibctl_cmd_status(&ctx, &text), HIB_EXIT_ERROR);
	fflush(ctx.err);
	assert_non_null(strstr(err, "cannot scan /proc"));

	fclose(ctx.out);
	fclose(ctx.err);
	free(out);
	free(err);
	fakeproc_destroy(root);
}

static void test_sanitize(void **state)
{
	char d[8];

	hib_sanitize(d, sizeof(d), "abc", 3);
	assert_string_equal(d, "abc");
	hib_sanitize(d, sizeof(d), "a\tb\x7f", 4);
	assert_string_equal(d, "a?b?");
	hib_sanitize(d, sizeof(d), "0123456789", 10);	/* truncated, terminated */
	assert_string_equal(d, "0123456");
	hib_sanitize(d, sizeof(d), "xyz", 2);		/* no NUL within src_size */
	assert_string_equal(d, "xy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_cmd),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
