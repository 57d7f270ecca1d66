// SPDX-License-Identifier: LGPL-2.1-or-later
/* libhibernate/proc.c: parsers (incl. malformed input) and readers on a fake /proc tree. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakeproc.h"
#include "hibernate.h"

/* ---- status ------------------------------------------------------------------------------- */

static const char status_stock[] =
	"Name:\tbash\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t4242\n"
	"Ngid:\t0\n"
	"Pid:\t4243\n"
	"PPid:\t4100\n"
	"TracerPid:\t0\n"
	"Uid:\t1000\t1001\t1002\t1003\n"
	"Gid:\t1000\t1000\t1000\t1000\n"
	"VmRSS:\t    5120 kB\n"
	"Threads:\t1\n"
	"SigQ:\t0/63370\n";

static int parse(const char *s, struct hib_proc_status *st)
{
	return hib_parse_status(s, strlen(s), st);
}

static void test_status_stock_kernel(void **state)
{
	struct hib_proc_status st;

	assert_int_equal(parse(status_stock, &st), 0);
	assert_string_equal(st.name, "bash");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.tgid, 4242);
	assert_int_equal(st.pid, 4243);
	assert_int_equal(st.ppid, 4100);
	assert_int_equal(st.uid, 1000);	/* the real uid */
	assert_int_equal(st.frozen, HIB_TRI_UNKNOWN);
	assert_int_equal(st.user_frozen, HIB_TRI_UNKNOWN);
}

static void test_status_frozen_lines(void **state)
{
	char buf[2048];
	struct hib_proc_status st;

	snprintf(buf, sizeof(buf), "%sFrozen:\t1\nUserFrozen:\t1\n", status_stock);
	assert_int_equal(parse(buf, &st), 0);
	assert_int_equal(st.frozen, HIB_TRI_YES);
	assert_int_equal(st.user_frozen, HIB_TRI_YES);

	snprintf(buf, sizeof(buf), "%sFrozen:\t0\nUserFrozen:\t1\n", status_stock);
	assert_int_equal(parse(buf, &st), 0);
	assert_int_equal(st.frozen, HIB_TRI_NO);
	assert_int_equal(st.user_frozen, HIB_TRI_YES);

	/* no trailing newline, name with a space, PPid 0 (pid 1) */
	assert_int_equal(parse("Name:\tmy prog\nState:\tD (disk sleep)\nTgid:\t1\nPid:\t1\n"
			       "PPid:\t0\nUid:\t0\t0\t0\t0\nFrozen:\t1", &st), 0);
	assert_string_equal(st.name, "my prog");
	assert_int_equal(st.state, 'D');
	assert_int_equal(st.ppid, 0);
	assert_int_equal(st.frozen, HIB_TRI_YES);
	assert_int_equal(st.user_frozen, HIB_TRI_UNKNOWN);
}

static void test_status_not_nul_terminated(void **state)
{
	struct hib_proc_status st;
	char buf[512];
	size_t len = strlen(status_stock);

	memcpy(buf, status_stock, len);
	memset(buf + len, 'x', sizeof(buf) - len);	/* junk after len must not be read */
	assert_int_equal(hib_parse_status(buf, len, &st), 0);
	assert_int_equal(st.pid, 4243);

	/* cut in the middle of "Pid:\t4243": Pid is then 42 */
	len = (size_t)(strstr(status_stock, "Pid:\t4243") - status_stock) + strlen("Pid:\t42");
	memcpy(buf, status_stock, len);
	assert_int_equal(hib_parse_status(buf, len, &st), -EBADMSG);	/* no PPid/Uid */
}

static void test_status_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage without colon\n",
		"Name:\tx\nState:\tS\nTgid:\t1\nPid:\t1\nUid:\t0\n",			/* no PPid */
		"Name:\tx\nTgid:\t1\nPid:\t1\nPPid:\t0\n",				/* no Uid */
		"Tgid:\t1\nPid:\tabc\nPPid:\t0\nUid:\t0\n",
		"Tgid:\t1\nPid:\t-5\nPPid:\t0\nUid:\t0\n",
		"Tgid:\t1\nPid:\t0\nPPid:\t0\nUid:\t0\n",				/* pid 0 */
		"Tgid:\t1\nPid:\t99999999999\nPPid:\t0\nUid:\t0\n",			/* overflow */
		"Tgid:\t1\nPid:\t2147483648\nPPid:\t0\nUid:\t0\n",			/* > INT_MAX */
		"Tgid:\t1\nPid:\t12x\nPPid:\t0\nUid:\t0\n",
		"Tgid:\t1\nPid:\t\nPPid:\t0\nUid:\t0\n",
		"Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\tnobody\n",
		"Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\nFrozen:\t2\n",
		"Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\nUserFrozen:\tyes\n",
		"Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\nState:\t\n",
		"Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\nState:\t5 (five)\n",
		"Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\nName:\t"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	};
	struct hib_proc_status st = { .pid = 777 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad status #%zu\n", i);
		assert_int_equal(parse(bad[i], &st), -EBADMSG);
	}
	assert_int_equal(st.pid, 777);	/* untouched on failure */

	/* embedded NUL */
	assert_int_equal(hib_parse_status("Pid:\t1\0\nTgid:\t1\n", 16, &st), -EBADMSG);
	/* invalid arguments */
	assert_int_equal(hib_parse_status(NULL, 0, &st), -EINVAL);
	assert_int_equal(hib_parse_status(status_stock, strlen(status_stock), NULL), -EINVAL);
	assert_int_equal(hib_parse_status(status_stock, HIB_PROC_FILE_MAX + 1, &st), -EINVAL);
}

/* ---- stat and wchan ----------------------------------------------------------------------- */

static void test_stat(void **state)
{
	static const char s1[] = "1234 (bash) S 1200 1234 1234 34816 1234 4194304 ...\n";
	static const char s2[] = "77 (evil) R 5 (x) D 66) T 9 10 11\n";
	struct hib_proc_stat st;

	assert_int_equal(hib_parse_stat(s1, strlen(s1), &st), 0);
	assert_int_equal(st.pid, 1234);
	assert_string_equal(st.comm, "bash");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1200);

	/* comm "evil) R 5 (x) D 66": the last ')' ends it */
	assert_int_equal(hib_parse_stat(s2, strlen(s2), &st), 0);
	assert_int_equal(st.pid, 77);
	assert_string_equal(st.comm, "evil) R 5 (x) D 66");
	assert_int_equal(st.state, 'T');
	assert_int_equal(st.ppid, 9);
}

static void test_stat_malformed(void **state)
{
	static const char *const bad[] = {
		"", "1234", "1234 bash S 1", "1234 (bash S 1", "1234 (bash)", "1234 (bash) ",
		"1234 (bash) S", "1234 (bash) S x", "x (bash) S 1", "0 (bash) S 1",
		"1234 (bash) 7 1", "1234 (bash)S 1", "1234 (bash) S -1",
	};
	struct hib_proc_stat st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad stat #%zu '%s'\n", i, bad[i]);
		assert_int_equal(hib_parse_stat(bad[i], strlen(bad[i]), &st), -EBADMSG);
	}
	assert_int_equal(hib_parse_stat(NULL, 3, &st), -EINVAL);
}

static void test_wchan(void **state)
{
	char w[HIB_WCHAN_MAX];
	char longsym[100];

	assert_int_equal(hib_parse_wchan("do_nanosleep", 12, w), 0);
	assert_string_equal(w, "do_nanosleep");
	assert_int_equal(hib_parse_wchan("ep_poll.isra.0\n", 15, w), 0);
	assert_string_equal(w, "ep_poll.isra.0");
	assert_int_equal(hib_parse_wchan("0", 1, w), 0);
	assert_string_equal(w, "");
	assert_int_equal(hib_parse_wchan("", 0, w), 0);
	assert_string_equal(w, "");

	assert_int_equal(hib_parse_wchan("bad symbol", 10, w), -EBADMSG);
	assert_int_equal(hib_parse_wchan("a/b", 3, w), -EBADMSG);
	memset(longsym, 'a', sizeof(longsym));
	assert_int_equal(hib_parse_wchan(longsym, sizeof(longsym), w), -EBADMSG);
}

/* ---- fake /proc --------------------------------------------------------------------------- */

static char root[64];

static int setup_tree(void **state)
{
	strcpy(root, "/tmp/hibtest-proc-XXXXXX");
	return fakeproc_create(root);
}

static int teardown_tree(void **state)
{
	fakeproc_destroy(root);
	return 0;
}

static void test_read_status_and_list(void **state)
{
	struct hib_proc_status st;
	pid_t *pids = NULL;
	size_t n = 0;
	char w[HIB_WCHAN_MAX];

	assert_int_equal(fakeproc_task(root, 300, 0, 1, "three", 'S', 1, 1), 0);
	assert_int_equal(fakeproc_task(root, 20, 0, 1, "twenty", 'R', 0, 0), 0);
	assert_int_equal(fakeproc_task(root, 1, 0, 0, "init", 'S', 0, 0), 0);
	assert_int_equal(fakeproc_task(root, 300, 301, 1, "three", 'S', 1, 1), 0);
	assert_int_equal(fakeproc_write(root, "self", "not a pid dir"), 0);
	assert_int_equal(fakeproc_write(root, "0123/status", "leading zero: not a pid"), 0);
	assert_int_equal(fakeproc_write(root, "300/wchan", "do_freezer_trap"), 0);

	assert_int_equal(hib_read_status(root, 300, 0, &st), 0);
	assert_string_equal(st.name, "three");
	assert_int_equal(st.frozen, HIB_TRI_YES);
	assert_int_equal(hib_read_status(root, 300, 301, &st), 0);
	assert_int_equal(st.pid, 301);
	assert_int_equal(st.tgid, 300);
	assert_int_equal(hib_read_status(root, 999, 0, &st), -ESRCH);

	assert_int_equal(hib_read_wchan(root, 300, 0, w), 0);
	assert_string_equal(w, "do_freezer_trap");

	assert_int_equal(hib_list_pids(root, 0, &pids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 1);
	assert_int_equal(pids[1], 20);
	assert_int_equal(pids[2], 300);
	free(pids);

	assert_int_equal(hib_list_pids(root, 300, &pids, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pids[0], 300);
	assert_int_equal(pids[1], 301);
	free(pids);

	assert_int_equal(hib_list_pids(root, 999, &pids, &n), -ESRCH);
}

static void test_ancestors(void **state)
{
	pid_t *a = NULL;
	size_t n = 99;

	/* 1 <- 50 <- 60 <- 70 */
	assert_int_equal(fakeproc_task(root, 1, 0, 0, "init", 'S', -1, -1), 0);
	assert_int_equal(fakeproc_task(root, 50, 0, 1, "sshd", 'S', -1, -1), 0);
	assert_int_equal(fakeproc_task(root, 60, 0, 50, "bash", 'S', -1, -1), 0);
	assert_int_equal(fakeproc_task(root, 70, 0, 60, "hibernatectl", 'R', -1, -1), 0);

	assert_int_equal(hib_ancestors(root, 70, &a, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(a[0], 60);
	assert_int_equal(a[1], 50);
	assert_int_equal(a[2], 1);
	free(a);

	/* pid 1 has no ancestors */
	a = (pid_t *)0x1;
	assert_int_equal(hib_ancestors(root, 1, &a, &n), 0);
	assert_int_equal(n, 0);
	assert_null(a);

	/* a chain that ends at a PPid 0 that is not pid 1 (container init) */
	assert_int_equal(fakeproc_task(root, 80, 0, 0, "cinit", 'S', -1, -1), 0);
	assert_int_equal(fakeproc_task(root, 81, 0, 80, "sh", 'S', -1, -1), 0);
	assert_int_equal(hib_ancestors(root, 81, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(a[0], 80);
	free(a);

	/* a missing parent */
	assert_int_equal(fakeproc_task(root, 90, 0, 89, "orphan", 'S', -1, -1), 0);
	assert_int_equal(hib_ancestors(root, 90, &a, &n), -ESRCH);

	/* a loop: 100 -> 101 -> 102 -> 101 */
	assert_int_equal(fakeproc_task(root, 100, 0, 101, "a", 'S', -1, -1), 0);
	assert_int_equal(fakeproc_task(root, 101, 0, 102, "b", 'S', -1, -1), 0);
	assert_int_equal(fakeproc_task(root, 102, 0, 101, "c", 'S', -1, -1), 0);
	assert_int_equal(hib_ancestors(root, 100, &a, &n), -ELOOP);
	/* a task that is its own parent */
	assert_int_equal(fakeproc_task(root, 110, 0, 110, "self", 'S', -1, -1), 0);
	assert_int_equal(hib_ancestors(root, 110, &a, &n), -ELOOP);

	/* a malformed status in the chain */
	assert_int_equal(fakeproc_write(root, "120/status", "Pid:\tjunk\n"), 0);
	assert_int_equal(fakeproc_task(root, 121, 0, 120, "x", 'S', -1, -1), 0);
	assert_int_equal(hib_ancestors(root, 121, &a, &n), -EBADMSG);

	assert_int_equal(hib_ancestors(root, 0, &a, &n), -EINVAL);
}

static void test_scan_frozen(void **state)
{
	struct hib_proc_info *p = NULL;
	size_t n = 0;
	bool fields = false;

	assert_int_equal(fakeproc_task(root, 1, 0, 0, "init", 'S', 0, 0), 0);
	/* 10: fully frozen, two threads */
	assert_int_equal(fakeproc_task(root, 10, 0, 1, "frozen", 'S', 1, 1), 0);
	assert_int_equal(fakeproc_task(root, 10, 11, 1, "frozen", 'S', 1, 1), 0);
	assert_int_equal(fakeproc_write(root, "10/wchan", "do_freezer_trap\n"), 0);
	/* 20: asked to freeze, one of two threads still running */
	assert_int_equal(fakeproc_task(root, 20, 0, 1, "busy", 'D', 0, 1), 0);
	assert_int_equal(fakeproc_task(root, 20, 21, 1, "busy", 'S', 1, 1), 0);
	assert_int_equal(fakeproc_write(root, "20/wchan", "0"), 0);
	/* 30: running */
	assert_int_equal(fakeproc_task(root, 30, 0, 1, "free", 'R', 0, 0), 0);
	/* 40: unreadable status is skipped, not fatal */
	assert_int_equal(fakeproc_write(root, "40/status", "broken"), 0);

	assert_int_equal(hib_scan_frozen(root, false, &p, &n, &fields), 0);
	assert_true(fields);
	assert_int_equal(n, 2);

	assert_int_equal(p[0].pid, 10);
	assert_string_equal(p[0].comm, "frozen");
	assert_int_equal(p[0].threads, 2);
	assert_int_equal(p[0].threads_frozen, 2);
	assert_int_equal(p[0].frozen, HIB_TRI_YES);
	assert_string_equal(p[0].wchan, "do_freezer_trap");
	assert_false(hib_proc_info_freezing(&p[0]));

	assert_int_equal(p[1].pid, 20);
	assert_int_equal(p[1].state, 'D');
	assert_int_equal(p[1].threads, 2);
	assert_int_equal(p[1].threads_frozen, 1);
	assert_int_equal(p[1].threads_user_frozen, 2);
	assert_int_equal(p[1].frozen, HIB_TRI_NO);
	assert_int_equal(p[1].user_frozen, HIB_TRI_YES);
	assert_string_equal(p[1].wchan, "");
	assert_true(hib_proc_info_freezing(&p[1]));
	free(p);

	assert_int_equal(hib_scan_frozen(root, true, &p, &n, NULL), 0);
	assert_int_equal(n, 4);	/* 1, 10, 20, 30 */
	assert_int_equal(p[3].pid, 30);
	assert_int_equal(p[3].threads_frozen, 0);
	free(p);
}

static void test_scan_stock_kernel(void **state)
{
	struct hib_proc_info *p = NULL;
	size_t n = 5;
	bool fields = true;

	assert_int_equal(fakeproc_task(root, 1, 0, 0, "init", 'S', -1, -1), 0);
	assert_int_equal(fakeproc_task(root, 2, 0, 0, "kthreadd", 'S', -1, -1), 0);
	assert_int_equal(hib_scan_frozen(root, false, &p, &n, &fields), 0);
	assert_false(fields);
	assert_int_equal(n, 0);
	assert_null(p);
}

static void test_scan_missing_root(void **state)
{
	struct hib_proc_info *p = NULL;
	size_t n = 0;

	assert_int_equal(hib_scan_frozen("/nonexistent-hibtest", false, &p, &n, NULL), -ENOENT);
}

static void test_parse_swaps(void **state)
{
	static const char none[] = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
	static const char two[] = "Filename\t\tType\tSize\tUsed\tPriority\n"
				  "/dev/vdb\tpartition\t1048572\t0\t-2\n"
				  "/swapfile\tfile\t4096\t0\t-3\n";

	assert_int_equal(hib_parse_swaps(none, strlen(none)), 0);
	assert_int_equal(hib_parse_swaps(two, strlen(two)), 2);
	assert_int_equal(hib_parse_swaps("", 0), -EBADMSG);
	assert_int_equal(hib_parse_swaps("garbage\n", 8), -EBADMSG);
	assert_int_equal(hib_parse_swaps(NULL, 0), -EINVAL);
}

static void test_parse_snapshot_fdinfo(void **state)
{
	static const char ok[] = "pos:\t0\nflags:\t02000000\nmnt_id:\t15\nino:\t1057\n"
				 "image_pages:\t230000\ncopied_pages:\t11689\n"
				 "streamed_pages:\t225308\npos:\t0\n";
	static const char old[] = "image_pages:\t39906\npos:\t0\n";
	static const char bad[] = "copied_pages:\t12x\nstreamed_pages:\t1\n";
	uint64_t copied = 7, streamed = 7;

	assert_int_equal(hib_parse_snapshot_fdinfo(ok, strlen(ok), &copied, &streamed), 0);
	assert_int_equal(copied, 11689);
	assert_int_equal(streamed, 225308);

	copied = streamed = 7;
	assert_int_equal(hib_parse_snapshot_fdinfo(old, strlen(old), &copied, &streamed), -ENOENT);
	assert_int_equal(hib_parse_snapshot_fdinfo(bad, strlen(bad), &copied, &streamed),
			 -EBADMSG);
	/* Written only on success. */
	assert_int_equal(copied, 7);
	assert_int_equal(streamed, 7);
	/* A key that only starts the same does not count. */
	assert_int_equal(hib_parse_snapshot_fdinfo("copied_pages_x:\t1\n", 18, &copied,
						   &streamed), -ENOENT);
	assert_int_equal(hib_snapshot_fd_stats(-1, &copied, &streamed), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_stock_kernel),
		cmocka_unit_test(test_status_frozen_lines),
		cmocka_unit_test(test_status_not_nul_terminated),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_wchan),
		cmocka_unit_test_setup_teardown(test_read_status_and_list, setup_tree,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_ancestors, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_scan_frozen, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_scan_stock_kernel, setup_tree, teardown_tree),
		cmocka_unit_test(test_scan_missing_root),
		cmocka_unit_test(test_parse_swaps),
		cmocka_unit_test(test_parse_snapshot_fdinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
