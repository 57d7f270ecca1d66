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
	BAD("[nets]\n", "t.conf:1: unknown section [nets] (protect, network, http, image)");
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
