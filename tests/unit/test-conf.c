// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/conf.c: the [network], [http] and [image] sections of hibernate.conf (the
 * [protect] section is covered by test-dm.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"

static void test_sections(void **state)
{
	const char *good = "[protect]\ncow = /dev/vdb\n"
			   "[network]\nip = 10.0.2.15::10.0.2.2:255.255.255.0::eth0:none\n"
			   "[http]\ntoken-file = /etc/hibernate/token\n"
			   "ca-file = /etc/hibernate/ca.pem\n"
			   "client-cert = /etc/hibernate/client.pem\n"
			   "client-key = /etc/hibernate/client.key\n"
			   "s3-credentials-file = /etc/hibernate/s3-credentials\n"
			   "s3-region = eu-central-1\ns3-part-size-mib = 64\n"
			   "[image]\nkey-file = /etc/hibernate/image.key\n";
	static struct hib_conf c;
	char why[512];

	(void)state;
	assert_int_equal(hib_conf_parse(good, strlen(good), "t.conf", &c, why, sizeof(why)), 0);
	assert_string_equal(c.cow, "/dev/vdb");
	assert_string_equal(c.net_ip, "10.0.2.15::10.0.2.2:255.255.255.0::eth0:none");
	assert_string_equal(c.http_token_file, "/etc/hibernate/token");
	assert_string_equal(c.http_ca_file, "/etc/hibernate/ca.pem");
	assert_string_equal(c.http_client_cert, "/etc/hibernate/client.pem");
	assert_string_equal(c.http_client_key, "/etc/hibernate/client.key");
	assert_string_equal(c.http_s3_credentials, "/etc/hibernate/s3-credentials");
	assert_string_equal(c.http_s3_region, "eu-central-1");
	assert_int_equal(c.http_s3_part_mib, 64);
	assert_string_equal(c.key_file, "/etc/hibernate/image.key");
	assert_string_equal(c.passphrase_file, "");

	/* sections in any order, any of them alone, repeated */
	good = "[image]\npassphrase-file = /root/pass\n[network]\nip = dhcp\n[image]\n";
	assert_int_equal(hib_conf_parse(good, strlen(good), "t.conf", &c, why, sizeof(why)), 0);
	assert_string_equal(c.passphrase_file, "/root/pass");
	assert_string_equal(c.key_file, "");
	assert_string_equal(c.net_ip, "dhcp");
	assert_string_equal(c.cow, "");
}

static void test_refusals(void **state)
{
	static struct hib_conf c;
	char why[512];

	(void)state;
#define BAD(text, msg) do { \
		why[0] = 0; \
		assert_int_equal(hib_conf_parse(text, strlen(text), "t.conf", &c, why, \
						sizeof(why)), -EINVAL); \
		if (!strstr(why, msg)) \
			fail_msg("'%s' lacks '%s'", why, msg); \
	} while (0)
	BAD("[nets]\n", "t.conf:1: unknown section [nets] (protect, network, http, image, hibernate)");
	BAD("ip = dhcp\n", "t.conf:1: 'ip' outside a section");
	BAD("[network]\nip = 10.0.2.15::10.0.2.2:255.0.255.0::eth0:none\n",
	    "t.conf:2: ip = 10.0.2.15::10.0.2.2:255.0.255.0::eth0:none: bad netmask");
	BAD("[network]\nip = bogus\n", "t.conf:2: ip = bogus: unknown method 'bogus'");
	BAD("[network]\naddress = 10.0.2.15\n", "t.conf:2: unknown key 'address' in [network]");
	BAD("[http]\ntoken-file = token\n", "t.conf:2: token-file must be one absolute file path");
	BAD("[http]\nclient-cert = /a b\n", "client-cert must be one absolute file path");
	BAD("[http]\nca-file =\n", "ca-file must be one absolute file path");
	BAD("[http]\nkey-file = /k\n", "unknown key 'key-file' in [http]");
	BAD("[http]\ns3-credentials-file = creds\n",
	    "t.conf:2: s3-credentials-file must be one absolute file path");
	BAD("[http]\ns3-region = eu_west\n", "t.conf:2: s3-region = eu_west: expected letters");
	BAD("[http]\ns3-region =\n", "s3-region = : expected letters");
	BAD("[http]\ns3-part-size-mib = 4\n", "t.conf:2: s3-part-size-mib = 4: expected 5 to 512");
	BAD("[http]\ns3-part-size-mib = 513\n", "s3-part-size-mib = 513: expected 5 to 512");
	BAD("[http]\ns3-part-size-mib = 8M\n", "s3-part-size-mib = 8M: expected 5 to 512");
	BAD("[http]\ns3-part-size-mib = -8\n", "s3-part-size-mib = -8: expected 5 to 512");
	BAD("[image]\ntoken-file = /t\n", "unknown key 'token-file' in [image]");
	BAD("[image]\nkey-file = /k\npassphrase-file = /p\n",
	    "key-file and passphrase-file exclude each other");
	BAD("[protect]\nip = dhcp\n", "t.conf:2: unknown key 'ip'");
	BAD("[hibernate]\ntarget = img\n", "t.conf:2: target must be one absolute path or");
	BAD("[hibernate]\nthreads = 0\n", "t.conf:2: threads must be 1 to 256");
	BAD("[hibernate]\nsync-timeout-ms = 10s\n", "sync-timeout-ms must be 1 to 600000");
	BAD("[hibernate]\nstream = maybe\n", "stream must be yes or no");
	BAD("[hibernate]\noutput = /dev/vda\n", "unknown key 'output' in [hibernate]");
}

/* [hibernate] resume-reserve = MiB: 0 is a setting (not "unset"), anything else refused. */
static void test_resume_reserve(void **state)
{
	static const struct {
		const char *text;
		bool set;
		unsigned long mib;
	} good[] = {
		{ "[hibernate]\ntarget = /dev/vdc\n", false, 0 },
		{ "[hibernate]\nresume-reserve = 64\n", true, 64 },
		{ "[hibernate]\nresume-reserve = 0\n", true, 0 },
		{ "[hibernate]\nresume-reserve = 65536\n", true, HIB_CONF_RESUME_RESERVE_MAX_MIB },
	};
	static struct hib_conf c;
	char why[512];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(hib_conf_parse(good[i].text, strlen(good[i].text), "t.conf", &c,
						why, sizeof(why)), 0);
		assert_int_equal(c.resume_reserve_set, good[i].set);
		assert_int_equal(c.resume_reserve_mib, good[i].mib);
	}

	BAD("[hibernate]\nresume-reserve = 65537\n",
	    "t.conf:2: resume-reserve must be 0 to 65536 (MiB, a whole number) ('65537')");
	BAD("[hibernate]\nresume-reserve = -1\n", "resume-reserve must be 0 to 65536");
	BAD("[hibernate]\nresume-reserve = +1\n", "resume-reserve must be 0 to 65536");
	BAD("[hibernate]\nresume-reserve = 64M\n", "resume-reserve must be 0 to 65536");
	BAD("[hibernate]\nresume-reserve = 1.5\n", "resume-reserve must be 0 to 65536");
	BAD("[hibernate]\nresume-reserve =\n", "resume-reserve must be 0 to 65536");
	BAD("[hibernate]\nresume-reserve = 99999999999999999999\n",
	    "resume-reserve must be 0 to 65536");
	BAD("[protect]\nresume-reserve = 64\n", "t.conf:2: unknown key 'resume-reserve'");
}
#undef BAD

/* Every bad line of a file is reported, not only the first; the good ones are not. */
static void test_every_error(void **state)
{
	static const char text[] = "[protect]\nbogus = 1\ncow = /dev/vdb\n[nets]\n"
				   "[hibernate]\nthreads = x\ntarget = /dev/vdc\nstream = no\n";
	static struct hib_conf c;
	static struct hib_conf_errors errs;

	(void)state;
	assert_int_equal(hib_conf_parse_all(text, strlen(text), "t.conf", &c, &errs), -EINVAL);
	assert_int_equal(errs.count, 3);
	assert_int_equal(errs.e[0].line, 2);
	assert_non_null(strstr(errs.e[0].msg, "t.conf:2: unknown key 'bogus'"));
	assert_int_equal(errs.e[1].line, 4);
	assert_non_null(strstr(errs.e[1].msg, "unknown section [nets]"));
	assert_int_equal(errs.e[2].line, 6);
	assert_non_null(strstr(errs.e[2].msg, "threads must be 1 to 256"));
}

static char dir[] = "/tmp/test-conf-XXXXXX";

static void write_conf(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* flag > environment > file > default, and an explicit file that is missing is an error. */
static void test_resolve(void **state)
{
	static struct hib_conf c;
	static struct hib_conf_errors errs;
	struct hib_conf_flags flags = { .cow = "/dev/vdz", .threads = 3 };
	char path[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_conf("a.conf", "[protect]\ncow = /dev/vdb\n[http]\nca-file = /file-ca\n"
		   "s3-region = eu-1\n[hibernate]\ntarget = /dev/vdc\nthreads = 2\n"
		   "sync-timeout-ms = 500\nresume-reserve = 16\n");
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	unsetenv("HIBERNATE_CONF");
	unsetenv("HIBERNATE_HTTP_CA_FILE");
	unsetenv("HIBERNATE_S3_REGION");

	/* The file alone. */
	assert_int_equal(hib_conf_resolve(path, NULL, &c, &errs), 0);
	assert_string_equal(c.cow, "/dev/vdb");
	assert_string_equal(c.http_ca_file, "/file-ca");
	assert_string_equal(c.target, "/dev/vdc");
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.sync_timeout_ms, 500);
	assert_true(c.resume_reserve_set);
	assert_int_equal(c.resume_reserve_mib, 16);
	assert_string_equal(c.path, path);

	/* The environment over the file, the flags over both. */
	setenv("HIBERNATE_HTTP_CA_FILE", "/env-ca", 1);
	setenv("HIBERNATE_S3_REGION", "us-2", 1);
	assert_int_equal(hib_conf_resolve(path, &flags, &c, &errs), 0);
	assert_string_equal(c.http_ca_file, "/env-ca");
	assert_string_equal(c.http_s3_region, "us-2");
	assert_string_equal(c.cow, "/dev/vdz");
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.sync_timeout_ms, 500);

	/* A bad environment value is refused by name. */
	setenv("HIBERNATE_S3_REGION", "us_2", 1);
	assert_int_equal(hib_conf_resolve(path, NULL, &c, &errs), -EINVAL);
	assert_non_null(strstr(errs.e[0].msg, "HIBERNATE_S3_REGION"));
	unsetenv("HIBERNATE_S3_REGION");
	unsetenv("HIBERNATE_HTTP_CA_FILE");

	/* The kernel command line's file (the dracut hook's copy) comes in the same struct; an
	 * empty one is refused by name, not taken as /proc/cmdline. */
	assert_string_equal(c.cmdline_file, "");
	setenv("HIBERNATE_CMDLINE", "/run/hibernate-cmdline", 1);
	assert_int_equal(hib_conf_resolve(path, NULL, &c, &errs), 0);
	assert_string_equal(c.cmdline_file, "/run/hibernate-cmdline");
	setenv("HIBERNATE_CMDLINE", "", 1);
	assert_int_equal(hib_conf_resolve(path, NULL, &c, &errs), -EINVAL);
	assert_non_null(strstr(errs.e[0].msg, "HIBERNATE_CMDLINE"));
	unsetenv("HIBERNATE_CMDLINE");

	/* $HIBERNATE_CONF is an explicit path too. */
	setenv("HIBERNATE_CONF", path, 1);
	assert_int_equal(hib_conf_resolve(NULL, NULL, &c, &errs), 0);
	assert_string_equal(c.target, "/dev/vdc");
	unsetenv("HIBERNATE_CONF");

	/* An explicit file that does not exist is an error, not the defaults. */
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	assert_int_equal(hib_conf_resolve(path, NULL, &c, &errs), -ENOENT);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].msg, "missing.conf does not exist"));

	/* A bad file: every error, nothing resolved. */
	write_conf("b.conf", "[hibernate]\nthreads = 0\nstream = perhaps\n");
	snprintf(path, sizeof(path), "%s/b.conf", dir);
	assert_int_equal(hib_conf_resolve(path, NULL, &c, &errs), -EINVAL);
	assert_int_equal(errs.count, 2);

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_resume_reserve),
		cmocka_unit_test(test_every_error),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
