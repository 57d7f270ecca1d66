// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/util.c: hib_spawn_lines(), the one way the library runs a helper program. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "util.h"

struct lines {
	char text[8192];
	int n;
};

static void add_line(const char *line, void *userdata)
{
	struct lines *l = userdata;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s|", line);
	l->n++;
}

static int sh(const char *script, bool with_stderr, unsigned int timeout_s, struct lines *l)
{
	memset(l, 0, sizeof(*l));
	return hib_spawn_lines("/bin/sh", (char *const[]){ "sh", "-c", (char *)script, NULL },
			       NULL, with_stderr, timeout_s, add_line, l);
}

/* Every line, in order, without its newline; a last line without one too; the exit status. */
static void test_lines_and_status(void **state)
{
	struct lines l;
	int st;

	(void)state;
	st = sh("printf 'one\\ntwo\\n\\nthree'; exit 3", false, 10, &l);
	assert_true(st >= 0 && WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
	assert_string_equal(l.text, "one|two||three|");
	assert_int_equal(l.n, 4);
}

/* stderr goes to the lines only when asked; stdin is /dev/null (read gets EOF at once). */
static void test_stderr_and_stdin(void **state)
{
	struct lines l;
	int st;

	(void)state;
	st = sh("echo out; echo err >&2; read x; echo \"read=$?\"", false, 10, &l);
	assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(l.text, "out|read=1|");
	st = sh("echo out; echo err >&2", true, 10, &l);
	assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(l.text, "out|err|");
}

/* A program that does not end is killed at the timeout; what it said before still counts. */
static void test_timeout(void **state)
{
	struct timespec t0, t1;
	struct lines l;
	int st;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = sh("echo started; exec sleep 30", false, 1, &l);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(st, -ETIMEDOUT);
	assert_string_equal(l.text, "started|");
	assert_true(t1.tv_sec - t0.tv_sec < 10);
}

/* A program that cannot be executed: exit 127 and one line that says why. */
static void test_exec_failure(void **state)
{
	struct lines l;
	int st;

	(void)state;
	memset(&l, 0, sizeof(l));
	st = hib_spawn_lines("/nonexistent/prog", (char *const[]){ "prog", NULL }, NULL, false, 5,
			     add_line, &l);
	assert_true(st >= 0 && WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 127);
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.text, "cannot run /nonexistent/prog: No such file or directory"));
}

/* A line longer than the buffer comes in pieces that add up to it; nothing is lost. */
static void test_long_line(void **state)
{
	static struct lines l;
	size_t total = 0;
	char *p;
	int st;

	(void)state;
	st = sh("head -c 6000 /dev/zero | tr '\\0' x; echo; echo end", false, 10, &l);
	assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(l.n, 3);
	for (p = l.text; *p; p++)
		total += *p == 'x';
	assert_int_equal(total, 6000);
	assert_non_null(strstr(l.text, "|end|"));
}

/* The environment given is the child's whole environment. */
static void test_envp(void **state)
{
	struct lines l;
	int st;

	(void)state;
	memset(&l, 0, sizeof(l));
	st = hib_spawn_lines("/bin/sh", (char *const[]){ "sh", "-c", "echo \"$A/${HOME:-none}\"",
							  NULL },
			     (char *const[]){ "A=1", NULL }, false, 10, add_line, &l);
	assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(l.text, "1/none|");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_status),
		cmocka_unit_test(test_stderr_and_stdin),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_envp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
