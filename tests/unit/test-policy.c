// SPDX-License-Identifier: LGPL-2.1-or-later
/* Thaw policy: parser error paths and limits, matcher, ordering, directory loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fakeproc.h"
#include "hibernate.h"
#include "policy.h"

static const char good[] =
	"# comment\n"
	"; another\n"
	"\n"
	"[match]\n"
	"exe = /usr/sbin/rpcbind\n"
	"  comm\t=\trpcbind  \n"
	"cgroup = /system.slice/rpcbind.service\n"
	"unit = rpcbind.service\n"
	"[thaw]  # trailing comment\n"
	"thaw = yes\n"
	"order = 10\n"
	"reason = portmapper for NFS\n";

static int parse(const char *text, struct hib_policy_rule *rule, struct hib_policy_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
	return hib_policy_parse("t.policy", "t", text, strlen(text), rule, errs);
}

static void test_good(void **state)
{
	struct hib_policy_rule r = {};
	struct hib_policy_errors errs;

	assert_int_equal(parse(good, &r, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_string_equal(r.name, "t");
	assert_int_equal(r.n_matches, 4);
	assert_int_equal(r.matches[0].key, HIB_POLICY_EXE);
	assert_string_equal(r.matches[0].pattern, "/usr/sbin/rpcbind");
	assert_int_equal(r.matches[1].key, HIB_POLICY_COMM);
	assert_string_equal(r.matches[1].pattern, "rpcbind");
	assert_int_equal(r.matches[2].key, HIB_POLICY_CGROUP);
	assert_int_equal(r.matches[3].key, HIB_POLICY_UNIT);
	assert_true(r.thaw);
	assert_int_equal(r.order, 10);
	assert_string_equal(r.reason, "portmapper for NFS");
	hib_policy_rule_done(&r);
	hib_policy_rule_done(NULL);
	hib_policy_free(NULL);
}

static void test_defaults(void **state)
{
	struct hib_policy_rule r = {};
	struct hib_policy_errors errs;

	/* No trailing newline, thaw = no, default order, no reason. */
	assert_int_equal(parse("[match]\ncomm=x\n[thaw]\nthaw=no", &r, &errs), 0);
	assert_false(r.thaw);
	assert_int_equal(r.order, HIB_POLICY_ORDER_DEFAULT);
	assert_null(r.reason);
	hib_policy_rule_done(&r);
	assert_int_equal(parse("[match]\ncomm=x\n[thaw]\nthaw=true\n", &r, &errs), 0);
	assert_true(r.thaw);
	hib_policy_rule_done(&r);
	assert_int_equal(parse("[match]\ncomm=x\n[thaw]\nthaw=0\norder=0\n", &r, &errs), 0);
	assert_false(r.thaw);
	assert_int_equal(r.order, 0);
	hib_policy_rule_done(&r);
}

/* One error expected, at @line:@col, message containing @what. */
static void expect_error(const char *text, unsigned int line, unsigned int col, const char *what)
{
	struct hib_policy_rule r = { .name = NULL };
	struct hib_policy_errors errs;
	int ret = parse(text, &r, &errs);

	if (ret != -EBADMSG || errs.count != 1 || errs.e[0].line != line ||
	    errs.e[0].column != col || !strstr(errs.e[0].msg, what))
		print_error("text <<%s>>: ret %d count %u first %u:%u %s\n", text, ret, errs.count,
			    errs.count ? errs.e[0].line : 0, errs.count ? errs.e[0].column : 0,
			    errs.count ? errs.e[0].msg : "");
	assert_int_equal(ret, -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.e[0].line, line);
	assert_int_equal(errs.e[0].column, col);
	assert_non_null(strstr(errs.e[0].msg, what));
	assert_string_equal(errs.e[0].file, "t.policy");
	assert_null(r.name);	/* not written on failure */
}

#define TAIL "[thaw]\nthaw=yes\n"

static void test_errors(void **state)
{
	expect_error("comm=x\n[match]\ncomm=y\n" TAIL, 1, 1, "outside a section");
	expect_error("[match\ncomm=x\n" TAIL, 1, 7, "not closed");
	expect_error("[match] x\ncomm=x\n" TAIL, 1, 9, "after the section header");
	expect_error("[match]\ncomm=x\n[bogus]\nfoo=1\n" TAIL, 3, 2, "unknown section");
	expect_error("[match]\ncomm=x\n[match]\n" TAIL, 3, 1, "given twice");
	expect_error("[match]\ncomm=x\n" TAIL "[thaw]\n", 5, 1, "given twice");
	expect_error("[match]\n=x\n" TAIL, 2, 1, "expected a key");
	expect_error("[match]\ncomm x\n" TAIL, 2, 6, "expected '='");
	expect_error("[match]\ncomm\n" TAIL, 2, 5, "expected '='");
	expect_error("[match]\ncomm=\n" TAIL, 2, 6, "empty value");
	expect_error("[match]\npid=1\n" TAIL, 2, 1, "unknown key");
	expect_error("[match]\nexe=sbin/x\n" TAIL, 2, 5, "absolute");
	expect_error("[match]\ncgroup=system.slice\n" TAIL, 2, 8, "absolute");
	expect_error("[match]\ncomm=0123456789abcdefg\n" TAIL, 2, 21, "15 bytes");
	expect_error("[match]\nunit=a/b.service\n" TAIL, 2, 7, "no '/'");
	expect_error("[match]\ncomm=a\x01" "b\n" TAIL, 2, 7, "control character");
	expect_error("[match]\ncomm=a\x7f\n" TAIL, 2, 7, "control character");
	expect_error("[match]\ncomm=x\n[thaw]\nthaw=maybe\n", 4, 6, "yes or no");
	expect_error("[match]\ncomm=x\n[thaw]\nthaw=yes\nthaw=no\n", 5, 1, "thaw given twice");
	expect_error("[match]\ncomm=x\n" TAIL "order=1x\n", 5, 8, "number");
	expect_error("[match]\ncomm=x\n" TAIL "order=-1\n", 5, 7, "number");
	expect_error("[match]\ncomm=x\n" TAIL "order=10001\n", 5, 7, "out of range");
	expect_error("[match]\ncomm=x\n" TAIL "order=99999999999999999999\n", 5, 7,
		     "out of range");
	expect_error("[match]\ncomm=x\n" TAIL "order=\n", 5, 7, "empty value");
	expect_error("[match]\ncomm=x\n" TAIL "order=1\norder=2\n", 6, 1, "order given twice");
	expect_error("[match]\ncomm=x\n" TAIL "reason=\n", 5, 8, "empty value");
	expect_error("[match]\ncomm=x\n" TAIL "reason=a\nreason=b\n", 6, 1, "reason given");
	expect_error("[match]\ncomm=x\n" TAIL "exe=/x\n", 5, 1, "unknown key");
	/* Whole-file errors. */
	expect_error(TAIL, 2, 1, "no [match]");
	expect_error("[match]\n" TAIL, 3, 1, "has no exe");
	expect_error("[match]\ncomm=x\n", 2, 1, "no thaw");
	expect_error("[match]\ncomm=x\n[thaw]\norder=1\n", 4, 1, "no thaw");
}

static void test_every_error_reported(void **state)
{
	struct hib_policy_rule r = {};
	struct hib_policy_errors errs;

	assert_int_equal(parse("x=1\n[match]\nexe=rel\nfoo=1\n[thaw]\nthaw=maybe\n", &r, &errs),
			 -EBADMSG);
	assert_int_equal(errs.count, 4);
	assert_int_equal(errs.e[0].line, 1);
	assert_int_equal(errs.e[1].line, 3);
	assert_int_equal(errs.e[2].line, 4);
	assert_int_equal(errs.e[3].line, 6);
	/* NULL errors: still refused. */
	assert_int_equal(hib_policy_parse("f", "n", "junk", 4, &r, NULL), -EBADMSG);
	assert_int_equal(hib_policy_parse("f", "n", NULL, 1, &r, NULL), -EINVAL);
}

static void test_limits(void **state)
{
	struct hib_policy_rule r = {};
	struct hib_policy_errors errs;
	char *buf;
	size_t i, n;

	/* File size. */
	buf = malloc(HIB_POLICY_FILE_MAX + 2);
	assert_non_null(buf);
	memset(buf, '#', HIB_POLICY_FILE_MAX + 1);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(hib_policy_parse("t", "t", buf, HIB_POLICY_FILE_MAX + 1, &r, &errs),
			 -EFBIG);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].msg, "too large"));

	/* Line length: exactly the limit is fine, one more is refused at column limit + 1. */
	n = (size_t)sprintf(buf, "[match]\ncomm=x\n" TAIL "#");
	for (i = 1; i < HIB_POLICY_LINE_MAX; i++)
		buf[n++] = 'a';
	buf[n++] = '\n';
	assert_int_equal(hib_policy_parse("t", "t", buf, n, &r, &errs), 0);
	hib_policy_rule_done(&r);
	buf[n - 1] = 'a';
	buf[n++] = '\n';
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(hib_policy_parse("t", "t", buf, n, &r, &errs), -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.e[0].line, 5);
	assert_int_equal(errs.e[0].column, HIB_POLICY_LINE_MAX + 1);
	assert_non_null(strstr(errs.e[0].msg, "too long"));

	/* Number of match keys: the limit is fine, one more is refused (once). */
	n = (size_t)sprintf(buf, "[match]\n");
	for (i = 0; i < HIB_POLICY_MATCH_MAX; i++)
		n += (size_t)sprintf(buf + n, "comm=c%zu\n", i);
	n += (size_t)sprintf(buf + n, TAIL);
	assert_int_equal(hib_policy_parse("t", "t", buf, n, &r, &errs), 0);
	assert_int_equal(r.n_matches, HIB_POLICY_MATCH_MAX);
	hib_policy_rule_done(&r);
	n = (size_t)sprintf(buf, "[match]\n");
	for (i = 0; i < HIB_POLICY_MATCH_MAX + 3; i++)
		n += (size_t)sprintf(buf + n, "comm=c%zu\n", i);
	n += (size_t)sprintf(buf + n, TAIL);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(hib_policy_parse("t", "t", buf, n, &r, &errs), -EBADMSG);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.e[0].line, HIB_POLICY_MATCH_MAX + 2);
	assert_non_null(strstr(errs.e[0].msg, "too many"));

	/* Number of errors kept. */
	n = 0;
	for (i = 0; i < HIB_POLICY_ERRORS_MAX + 10; i++)
		n += (size_t)sprintf(buf + n, "x=1\n");
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(hib_policy_parse("t", "t", buf, n, &r, &errs), -EBADMSG);
	assert_int_equal(errs.count, HIB_POLICY_ERRORS_MAX + 10);
	assert_int_equal(hib_policy_errors_shown(&errs), HIB_POLICY_ERRORS_MAX);
	free(buf);
}

static void test_cgroup(void **state)
{
	char path[HIB_POLICY_FIELD_MAX], unit[HIB_POLICY_FIELD_MAX];
	const char *v1 = "12:pids:/system.slice/a.service\n1:name=systemd:/x\n";
	const char *v2 = "1:name=systemd:/old\n0::/system.slice/rpcbind.service\n";

	assert_int_equal(hib_policy_parse_cgroup(v2, strlen(v2), path), 0);
	assert_string_equal(path, "/system.slice/rpcbind.service");
	assert_int_equal(hib_policy_parse_cgroup(v1, strlen(v1), path), 0);
	assert_string_equal(path, "/system.slice/a.service");
	assert_int_equal(hib_policy_parse_cgroup("junk\n", 5, path), -EBADMSG);
	assert_int_equal(hib_policy_parse_cgroup("", 0, path), -EBADMSG);
	assert_int_equal(hib_policy_parse_cgroup(NULL, 0, path), -EINVAL);

	assert_int_equal(hib_policy_cgroup_unit("/system.slice/rpcbind.service", unit), 0);
	assert_string_equal(unit, "rpcbind.service");
	assert_int_equal(hib_policy_cgroup_unit("/user.slice/user-1000.slice/user@1000.service/"
						"app.slice/x.scope", unit), 0);
	assert_string_equal(unit, "user@1000.service");
	assert_int_equal(hib_policy_cgroup_unit("/init.scope", unit), 0);
	assert_string_equal(unit, "init.scope");
	assert_int_equal(hib_policy_cgroup_unit("/", unit), -ENOENT);
	assert_int_equal(hib_policy_cgroup_unit("/system.slice", unit), -ENOENT);
	assert_int_equal(hib_policy_cgroup_unit("/mygroup/x.service", unit), -ENOENT);
}

static struct hib_policy_rule mkrule(const char *text, const char *name)
{
	struct hib_policy_rule r = {};

	assert_int_equal(hib_policy_parse(name, name, text, strlen(text), &r, NULL), 0);
	return r;
}

static void test_matcher(void **state)
{
	struct hib_policy_proc p = { .pid = 5 };
	struct hib_policy_rule r;

	strcpy(p.exe, "/usr/sbin/rpcbind");
	strcpy(p.comm, "rpcbind");
	strcpy(p.cgroup, "/system.slice/rpcbind.service");
	strcpy(p.unit, "rpcbind.service");

	r = mkrule("[match]\nexe=/usr/sbin/rpcbind\n" TAIL, "a");
	assert_true(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
	r = mkrule("[match]\nexe=/usr/*/rpcbind\n" TAIL, "a");
	assert_true(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
	r = mkrule("[match]\nexe=/usr/*\n" TAIL, "a");	/* '*' does not cross '/' */
	assert_false(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
	r = mkrule("[match]\ncomm=rpc*\n" TAIL, "a");
	assert_true(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
	r = mkrule("[match]\ncomm=other\nunit=rpcbind.service\n" TAIL, "a");	/* any of */
	assert_true(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
	r = mkrule("[match]\ncgroup=/system.slice/*\n" TAIL, "a");
	assert_true(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
	r = mkrule("[match]\ncomm=other\nexe=/bin/other\n" TAIL, "a");
	assert_false(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
	/* Empty fields (kernel threads, no cgroup) never match, even "*". */
	p.exe[0] = p.unit[0] = '\0';
	r = mkrule("[match]\nexe=*\nunit=*\n" TAIL, "a");
	assert_false(hib_policy_rule_matches(&r, &p));
	hib_policy_rule_done(&r);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	assert_int_equal(fakeproc_write(dir, name, "%s", text), 0);
}

static void test_dir_and_order(void **state)
{
	char dir[] = "/tmp/hibtest-policy-XXXXXX";
	struct hib_policy_errors errs = {};
	struct hib_policy *p = NULL;
	char path[PATH_MAX];

	assert_int_equal(fakeproc_create(dir), 0);
	/* Missing directory: empty policy. */
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(hib_policy_load_dir(path, &p, &errs), 0);
	assert_int_equal(p->n_rules, 0);
	hib_policy_free(p);

	write_file(dir, "b.policy", "[match]\ncomm=b\n[thaw]\nthaw=yes\norder=20\n");
	write_file(dir, "a.policy", "[match]\ncomm=a\n[thaw]\nthaw=yes\norder=20\n");
	write_file(dir, "z.policy", "[match]\ncomm=z\n[thaw]\nthaw=yes\norder=5\n");
	write_file(dir, "n.policy", "[match]\ncomm=*\n[thaw]\nthaw=no\n");
	write_file(dir, "bad.policy", "[match]\ncomm=x\n[thaw]\nthaw=perhaps\n");
	write_file(dir, "ignored.conf", "junk");
	write_file(dir, ".hidden.policy", "junk");
	assert_int_equal(hib_policy_load_dir(dir, &p, &errs), 1);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].file, "bad.policy"));
	assert_int_equal(errs.e[0].line, 4);
	assert_int_equal(errs.e[0].column, 6);
	assert_int_equal(p->n_rules, 4);
	assert_string_equal(p->rules[0].name, "z");
	assert_string_equal(p->rules[1].name, "a");
	assert_string_equal(p->rules[2].name, "b");
	assert_string_equal(p->rules[3].name, "n");

	/* The matcher against a fake /proc: order of rules, then pid; self skipped. */
	{
		struct hib_policy_hit *hits = NULL;
		size_t n = 0;
		char root[PATH_MAX];

		snprintf(root, sizeof(root), "%s/proc", dir);
		assert_int_equal(mkdir(root, 0755), 0);
		assert_int_equal(fakeproc_write(root, "10/comm", "b\n"), 0);
		assert_int_equal(fakeproc_write(root, "11/comm", "a\n"), 0);
		assert_int_equal(fakeproc_write(root, "12/comm", "z\n"), 0);
		assert_int_equal(fakeproc_write(root, "13/comm", "other\n"), 0);
		assert_int_equal(fakeproc_write(root, "14/comm", "a\n"), 0);
		assert_int_equal(fakeproc_write(root, "9/comm", "a\n"), 0);
		assert_int_equal(fakeproc_write(root, "11/cgroup",
						"0::/system.slice/a.service\n"), 0);
		assert_int_equal(hib_policy_plan(p, root, 14, false, &hits, &n), 0);
		assert_int_equal(n, 4);
		assert_int_equal(hits[0].pid, 12);
		assert_int_equal(hits[1].pid, 9);
		assert_int_equal(hits[2].pid, 11);
		assert_int_equal(hits[3].pid, 10);
		assert_string_equal(hits[3].comm, "b");
		free(hits);
		/* all: the thaw = no rule catches the rest. */
		assert_int_equal(hib_policy_plan(p, root, 14, true, &hits, &n), 0);
		assert_int_equal(n, 5);
		assert_int_equal(hits[4].pid, 13);
		assert_string_equal(p->rules[hits[4].rule].name, "n");
		free(hits);
		{
			struct hib_policy_proc pp;

			assert_int_equal(hib_policy_read_proc(root, 11, &pp), 0);
			assert_string_equal(pp.comm, "a");
			assert_string_equal(pp.cgroup, "/system.slice/a.service");
			assert_string_equal(pp.unit, "a.service");
			assert_string_equal(pp.exe, "");
			assert_int_equal(hib_policy_read_proc(root, 99, &pp), -ENOENT);
		}
	}
	hib_policy_free(p);

	/* Single files: name from the file, errors for missing and non-regular ones. */
	{
		struct hib_policy_rule r = {};

		snprintf(path, sizeof(path), "%s/a.policy", dir);
		assert_int_equal(hib_policy_load_file(path, &r, NULL), 0);
		assert_string_equal(r.name, "a");
		hib_policy_rule_done(&r);
		memset(&errs, 0, sizeof(errs));
		assert_int_equal(hib_policy_load_file(dir, &r, &errs), -EINVAL);
		assert_int_equal(errs.count, 1);
		snprintf(path, sizeof(path), "%s/missing.policy", dir);
		assert_int_equal(hib_policy_load_file(path, &r, &errs), -ENOENT);
	}
	fakeproc_destroy(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_matcher),
		cmocka_unit_test(test_dir_and_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
