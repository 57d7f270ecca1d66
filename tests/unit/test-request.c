// SPDX-License-Identifier: GPL-2.0-only
/* hibernated's request parser (hibernated/request.c): every refusal, by name. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

#define CONF "/etc/hibernate/hibernate.conf"

static struct hibd_request req;
static char why[HIBD_WHY_MAX];

static int parse(const char *s, enum hibd_peer peer)
{
	return hibd_request_parse(s, strlen(s), peer, CONF, &req, why, sizeof(why));
}

static void assert_why(const char *part)
{
	if (!strstr(why, part))
		fail_msg("'%s' not in '%s'", part, why);
}

static void test_end(void **state)
{
	char big[HIBD_REQ_MAX + 8];

	assert_int_equal(hibd_request_end("op=status\n", 10), 0);
	assert_int_equal(hibd_request_end("op=status\n\n", 11), 11);
	assert_int_equal(hibd_request_end("op=status\n\nxx", 13), 11);
	assert_int_equal(hibd_request_end("\n", 1), 1);
	assert_int_equal(hibd_request_end("op", 2), 0);
	/* 4096 bytes, the last two the end: fits */
	memset(big, 'a', sizeof(big));
	big[HIBD_REQ_MAX - 2] = '\n';
	big[HIBD_REQ_MAX - 1] = '\n';
	assert_int_equal(hibd_request_end(big, HIBD_REQ_MAX), HIBD_REQ_MAX);
	/* one more byte before the end: too long, never cut */
	memset(big, 'a', sizeof(big));
	big[HIBD_REQ_MAX - 1] = '\n';
	big[HIBD_REQ_MAX] = '\n';
	assert_int_equal(hibd_request_end(big, HIBD_REQ_MAX), -EMSGSIZE);
	assert_int_equal(hibd_request_end(big, HIBD_REQ_MAX + 1), -EMSGSIZE);
}

static void test_root_everything(void **state)
{
	assert_int_equal(parse("op=hibernate\ntest=dm\ntarget=/dev/vdb\nno-poweroff=1\n"
			       "config=/etc/h.conf\ncow=/dev/vdc\nkey-file=/k\nthreads=4\n"
			       "sync-timeout-ms=2000\nfreeze-timeout-ms=300\nno-stream=1\n\n",
			       HIBD_PEER_ROOT), 0);
	assert_int_equal(req.op, HIBD_OP_HIBERNATE);
	assert_int_equal(req.test, HIB_TEST_DM);
	assert_string_equal(req.target, "/dev/vdb");
	assert_true(req.no_poweroff);
	assert_string_equal(req.config, "/etc/h.conf");
	assert_string_equal(req.cow, "/dev/vdc");
	assert_string_equal(req.key_file, "/k");
	assert_int_equal(req.threads, 4);
	assert_int_equal(req.sync_timeout_ms, 2000);
	assert_int_equal(req.freeze_timeout_ms, 300);
	assert_true(req.no_stream);

	assert_int_equal(parse("op=hibernate\ntarget=https://h/x\npassphrase-file=/p\n\n",
			       HIBD_PEER_ROOT), 0);
	assert_string_equal(req.target, "https://h/x");
	assert_string_equal(req.passphrase_file, "/p");
	/* without the final empty line too (hibd_request_end() found it) */
	assert_int_equal(parse("op=check\ntarget=/dev/vdb", HIBD_PEER_ROOT), 0);
	assert_int_equal(req.op, HIBD_OP_CHECK);
}

static void test_group(void **state)
{
	assert_int_equal(parse("op=hibernate\n\n", HIBD_PEER_GROUP), 0);
	assert_int_equal(req.test, HIB_TEST_NONE);
	assert_int_equal(parse("op=hibernate\ntest=freeze\n\n", HIBD_PEER_GROUP), 0);
	assert_int_equal(req.test, HIB_TEST_FREEZE);
	assert_int_equal(parse("op=status\n\n", HIBD_PEER_GROUP), 0);
	assert_int_equal(parse("op=check\n\n", HIBD_PEER_GROUP), 0);
}

/* Every root-only key from a member of the group: refused by name, -EPERM, exit 4. */
static void test_group_root_only(void **state)
{
	static const struct {
		const char *line, *name;
	} t[] = {
		{ "target=/tmp/x", "'target' comes from the daemon's configuration ([hibernate] "
				   "target in " CONF "); a client may not set it" },
		{ "target=http://10.0.2.2/x", "'target'" },
		{ "no-poweroff=1", "'no-poweroff'" },
		{ "config=/root/secret", "'config' is the daemon's own (" CONF ")" },
		{ "cow=/dev/vdc", "'cow' comes from the daemon's configuration ([protect] cow" },
		{ "key-file=/k", "'key-file'" },
		{ "passphrase-file=/k", "'passphrase-file'" },
		{ "threads=2", "'threads'" },
		{ "sync-timeout-ms=5", "'sync-timeout-ms'" },
		{ "freeze-timeout-ms=5", "'freeze-timeout-ms'" },
		{ "no-stream=1", "([hibernate] stream in" },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "op=hibernate\n%s\n\n", t[i].line);
		assert_int_equal(parse(buf, HIBD_PEER_GROUP), -EPERM);
		assert_why(t[i].name);
		assert_int_equal(hibd_request_exit_code(-EPERM), HIB_EXIT_PERM);
		/* before op= too, and before a bad value */
		snprintf(buf, sizeof(buf), "%s\nop=hibernate\n\n", t[i].line);
		assert_int_equal(parse(buf, HIBD_PEER_GROUP), -EPERM);
	}
	/* a relative config from the group: still the permission, not the path */
	assert_int_equal(parse("op=hibernate\nconfig=x\n\n", HIBD_PEER_GROUP), -EPERM);
}

static void test_other(void **state)
{
	assert_int_equal(parse("op=status\n\n", HIBD_PEER_OTHER), 0);
	assert_int_equal(parse("op=hibernate\n\n", HIBD_PEER_OTHER), -EPERM);
	assert_why("permission denied");
	assert_int_equal(parse("op=hibernate\ntest=freeze\n\n", HIBD_PEER_OTHER), -EPERM);
	assert_int_equal(parse("op=check\n\n", HIBD_PEER_OTHER), -EPERM);
	assert_int_equal(parse("op=hibernate\ntarget=/x\nno-poweroff=1\n\n", HIBD_PEER_OTHER),
			 -EPERM);
	assert_why("permission denied");
	assert_int_equal(parse("target=/x\nop=status\n\n", HIBD_PEER_OTHER), -EPERM);
}

static void test_unknown_key(void **state)
{
	assert_int_equal(parse("op=hibernate\noutput=/x\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("unknown key 'output'");
	assert_int_equal(parse("op=hibernate\npolicy-dir=/x\n\n", HIBD_PEER_GROUP), -EINVAL);
	assert_why("unknown key 'policy-dir'");
	assert_int_equal(parse("op=hibernate\n=x\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("unknown key ''");
	/* control characters are not echoed */
	assert_int_equal(parse("op=hibernate\nx\x1b[2J=1\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_null(strchr(why, '\x1b'));
	assert_int_equal(hibd_request_exit_code(-EINVAL), HIB_EXIT_USAGE);
}

static void test_repeated_key(void **state)
{
	assert_int_equal(parse("op=hibernate\nop=status\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("repeated key 'op'");
	assert_int_equal(parse("op=hibernate\ntarget=/a\ntarget=/b\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("repeated key 'target'");
	assert_int_equal(parse("op=hibernate\ntest=dm\ntest=dm\n\n", HIBD_PEER_GROUP), -EINVAL);
	assert_why("repeated key 'test'");
}

static void test_too_long(void **state)
{
	char *buf = malloc(HIBD_REQ_MAX + 64);

	assert_non_null(buf);
	strcpy(buf, "op=hibernate\ntarget=/");
	memset(buf + strlen(buf), 'a', HIBD_REQ_MAX);
	strcpy(buf + HIBD_REQ_MAX + 20, "\n\n");
	assert_int_equal(hibd_request_parse(buf, strlen(buf), HIBD_PEER_ROOT, CONF, &req, why,
					    sizeof(why)), -EMSGSIZE);
	assert_why("request too long");
	assert_int_equal(req.target[0], '\0');
	assert_int_equal(hibd_request_exit_code(-EMSGSIZE), HIB_EXIT_USAGE);
	free(buf);
}

static void test_relative_path(void **state)
{
	static const char *const t[] = {
		"target=img", "config=h.conf", "cow=dev/vdc", "key-file=./k",
		"passphrase-file=../p", "target=", "target=ftp://x/y",
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "op=hibernate\n%s\n\n", t[i]);
		assert_int_equal(parse(buf, HIBD_PEER_ROOT), -EINVAL);
	}
	assert_int_equal(parse("op=hibernate\ncow=dev/vdc\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("'cow' must be an absolute path");
}

static void test_missing_op(void **state)
{
	assert_int_equal(parse("\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("no 'op'");
	assert_int_equal(parse("test=freeze\n\n", HIBD_PEER_GROUP), -EINVAL);
	assert_why("no 'op'");
	assert_int_equal(parse("", HIBD_PEER_ROOT), -EINVAL);
}

static void test_bad_values(void **state)
{
	static const char *const t[] = {
		"op=resume", "op=", "test=write", "no-poweroff=yes", "no-poweroff=0",
		"threads=0", "threads=257", "threads=-1", "threads=+2", "threads=02",
		"threads=99999999999", "sync-timeout-ms=600001", "freeze-timeout-ms=",
		"target=/x\ty", "no line without equals",
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\nop=hibernate\n\n", t[i]);
		if (parse(buf, HIBD_PEER_ROOT) != -EINVAL)
			fail_msg("'%s' accepted", t[i]);
	}
	assert_int_equal(hibd_request_parse("op=status\0x\n\n", 14, HIBD_PEER_ROOT, CONF, &req,
					    why, sizeof(why)), -EINVAL);
	assert_why("NUL");
	assert_int_equal(parse("op=hibernate\nkey-file=/a\npassphrase-file=/b\n\n",
			       HIBD_PEER_ROOT), -EINVAL);
	assert_int_equal(parse("op=status\n\nop=hibernate\n", HIBD_PEER_ROOT), -EINVAL);
}

static void test_op_keys(void **state)
{
	assert_int_equal(parse("op=status\ntest=freeze\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("'test' does not apply to op=status");
	assert_int_equal(parse("op=check\nno-poweroff=1\n\n", HIBD_PEER_ROOT), -EINVAL);
	assert_why("'no-poweroff' does not apply to op=check");
	assert_int_equal(parse("op=check\ntest=dm\n\n", HIBD_PEER_GROUP), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_root_everything),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_group_root_only),
		cmocka_unit_test(test_other),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_repeated_key),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_missing_op),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_op_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
