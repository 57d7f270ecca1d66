// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernated's log lines (hibernated/journal.c): the journal's "<N>" prefix on every line,
 * "hibernated: " elsewhere, cutting, and which stderr is the journal ($JOURNAL_STREAM).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"

static char buf[8192];

#define assert_line(journal, prio, want, ...) do {					\
	int _n = hibd_log_format(buf, sizeof(buf), journal, prio, __VA_ARGS__);	\
	assert_int_equal(_n, (int)strlen(want));					\
	assert_string_equal(buf, want);							\
} while (0)

static void test_journal_priorities(void **state)
{
	/* sd-daemon.h's SD_* are these; journald takes them with SyslogLevelPrefix=yes. */
	assert_line(true, LOG_EMERG, "<0>down\n", "down");
	assert_line(true, LOG_ERR, "<3>cannot read /x: No such file\n", "cannot read %s: %s",
		    "/x", "No such file");
	assert_line(true, LOG_WARNING, "<4>2 policy files refused\n", "%d policy files refused",
		    2);
	assert_line(true, LOG_NOTICE, "<5>hibernation finished: exit 0\n",
		    "hibernation finished: exit %d", 0);
	assert_line(true, LOG_INFO, "<6>listening\n", "listening");
	assert_line(true, LOG_DEBUG, "<7>d\n", "d");
	/* Out of range: clamped, never a prefix journald would not parse. */
	assert_line(true, -1, "<0>x\n", "x");
	assert_line(true, 42, "<7>x\n", "x");
}

static void test_plain(void **state)
{
	/* What the VM tests and a terminal read: unchanged from before the journal. */
	assert_line(false, LOG_ERR, "hibernated: unknown group wheel\n", "unknown group %s",
		    "wheel");
	assert_line(false, LOG_INFO, "hibernated: listening on /run/hibernated.sock\n",
		    "listening on %s", "/run/hibernated.sock");
	/* Further lines as they are, the name once. */
	assert_line(false, LOG_ERR, "hibernated: a\n  b\n", "a\n  b");
}

static void test_journal_every_line(void **state)
{
	/* Each line is an entry of its own: each gets the priority. */
	assert_line(true, LOG_ERR, "<3>a\n<3>  b\n<3>c\n", "a\n  b\nc");
	assert_line(true, LOG_WARNING, "<4>a\n<4>\n<4>b\n", "a\n\nb");
	/* A trailing newline is not an empty entry. */
	assert_line(true, LOG_INFO, "<6>a\n", "a\n");
	assert_line(false, LOG_INFO, "hibernated: a\n", "a\n");
	assert_line(true, LOG_INFO, "<6>\n", "%s", "");
}

static void test_cut(void **state)
{
	char small[16];
	int n;

	/* Cut, still one line ending with a newline, within the buffer. */
	n = hibd_log_format(small, sizeof(small), true, LOG_ERR, "%s", "0123456789abcdefghij");
	assert_int_equal(n, 15);
	assert_string_equal(small, "<3>0123456789a\n");
	n = hibd_log_format(small, sizeof(small), false, LOG_ERR, "%s", "0123456789");
	assert_int_equal(n, 15);
	assert_string_equal(small, "hibernated: 01\n");
	/* A further line only if its prefix fits: never a bare "<". */
	n = hibd_log_format(small, sizeof(small), true, LOG_ERR, "0123456\nabc");
	assert_int_equal(n, 11);
	assert_string_equal(small, "<3>0123456\n");
	n = hibd_log_format(small, sizeof(small), true, LOG_ERR, "012345\nabc");
	assert_int_equal(n, 15);
	assert_string_equal(small, "<3>012345\n<3>a\n");
	/* The smallest buffer: a prefix and the newline. */
	n = hibd_log_format(small, 5, true, LOG_ERR, "abc");
	assert_int_equal(n, 4);
	assert_string_equal(small, "<3>\n");
	/* A message longer than the formatter's own 4 KiB is cut there, not overrun. */
	{
		char *big = malloc(10000);

		assert_non_null(big);
		memset(big, 'x', 9999);
		big[9999] = 0;
		n = hibd_log_format(buf, sizeof(buf), true, LOG_INFO, "%s", big);
		assert_true(n > 4000 && n < 4200);
		assert_int_equal(buf[n - 1], '\n');
		assert_int_equal((int)strlen(buf), n);
		free(big);
	}
}

static void test_bad_args(void **state)
{
	char small[4];

	assert_int_equal(hibd_log_format(NULL, 10, true, LOG_ERR, "x"), -EINVAL);
	assert_int_equal(hibd_log_format(small, sizeof(small), true, LOG_ERR, "x"), -EINVAL);
	assert_int_equal(hibd_log_format(small, sizeof(small), false, LOG_ERR, "x"), -EINVAL);
}

static void test_journal_stream(void **state)
{
	char path[] = "/tmp/test-journal.XXXXXX", env[64];
	struct stat st;
	int fd = mkstemp(path), other = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(other >= 0);
	unlink(path);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	assert_int_equal(hibd_journal_stream_is(fd, env), 1);
	/* stderr redirected since systemd set it: another file, not the journal. */
	assert_int_equal(hibd_journal_stream_is(other, env), 0);
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	assert_int_equal(hibd_journal_stream_is(fd, env), 0);
	/* Unset, empty, malformed: not the journal. */
	assert_int_equal(hibd_journal_stream_is(fd, NULL), 0);
	assert_int_equal(hibd_journal_stream_is(fd, ""), 0);
	assert_int_equal(hibd_journal_stream_is(fd, "12"), 0);
	assert_int_equal(hibd_journal_stream_is(fd, "12:"), 0);
	assert_int_equal(hibd_journal_stream_is(fd, ":12"), 0);
	assert_int_equal(hibd_journal_stream_is(fd, "-1:12"), 0);
	snprintf(env, sizeof(env), "%ju:%jux", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	assert_int_equal(hibd_journal_stream_is(fd, env), 0);
	/* A closed stderr: the error, not a guess. */
	assert_int_equal(hibd_journal_stream_is(-1, "1:2"), -EBADF);
	close(fd);
	close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_priorities),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_journal_every_line),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_journal_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
