// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/net.c: the ip= parser (every form and every refusal), the kernel command line
 * scan, the udhcpc lease report, and the refusals of hib_net_configure() that come before
 * anything is changed (unknown device, nothing asked for).  The static configuration itself
 * and the DHCP refusals run on the loopback of a private network namespace (root only;
 * skipped otherwise), so nothing here touches the host's network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

static const char *ntoa(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
}

static void test_static_full(void **state)
{
	struct hib_net_config c;
	char why[HIB_NET_WHY_MAX];

	(void)state;
	assert_int_equal(hib_net_parse_ip("10.0.2.15::10.0.2.2:255.255.255.0:guest:eth0:none",
					  &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_STATIC);
	assert_string_equal(ntoa(c.addr), "10.0.2.15");
	assert_string_equal(ntoa(c.gateway), "10.0.2.2");
	assert_string_equal(ntoa(c.netmask), "255.255.255.0");
	assert_int_equal(hib_net_prefix(c.netmask), 24);
	assert_string_equal(c.hostname, "guest");
	assert_string_equal(c.device, "eth0");

	/* off and static mean the same; server, DNS fields */
	assert_int_equal(hib_net_parse_ip("192.168.1.5:192.168.1.1:192.168.1.1:255.255.0.0::"
					  "enp1s0:off:192.168.1.53:8.8.8.8", &c, why,
					  sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_STATIC);
	assert_int_equal(hib_net_prefix(c.netmask), 16);
	assert_string_equal(ntoa(c.dns[0]), "192.168.1.53");
	assert_string_equal(ntoa(c.dns[1]), "8.8.8.8");
	assert_string_equal(c.hostname, "");

	/* fewer fields: no device, no autoconf (static), netmask from the class */
	assert_int_equal(hib_net_parse_ip("172.16.0.9::172.16.0.1", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_STATIC);
	assert_string_equal(c.device, "");
	assert_string_equal(ntoa(c.netmask), "255.255.0.0");
	assert_int_equal(hib_net_parse_ip("10.1.2.3", &c, why, sizeof(why)), 0);
	assert_string_equal(ntoa(c.netmask), "255.0.0.0");
	assert_int_equal(c.gateway.s_addr, 0);
	assert_int_equal(hib_net_parse_ip("192.0.2.7:::::", &c, why, sizeof(why)), 0);
	assert_string_equal(ntoa(c.netmask), "255.255.255.0");
	/* /32 and dracut's MTU and MAC after the method */
	assert_int_equal(hib_net_parse_ip("10.0.0.1:::255.255.255.255::eth1:none:1500:"
					  "52:54:00:12:34:56", &c, why, sizeof(why)), 0);
	assert_int_equal(hib_net_prefix(c.netmask), 32);
}

static void test_dhcp_and_off(void **state)
{
	struct hib_net_config c;
	char why[HIB_NET_WHY_MAX];

	(void)state;
	assert_int_equal(hib_net_parse_ip("dhcp", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_DHCP);
	assert_string_equal(c.device, "");
	assert_int_equal(hib_net_parse_ip("on", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_DHCP);
	assert_int_equal(hib_net_parse_ip("any", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_DHCP);
	assert_int_equal(hib_net_parse_ip("eth1:dhcp", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_DHCP);
	assert_string_equal(c.device, "eth1");
	assert_int_equal(hib_net_parse_ip(":::::eth0:dhcp", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_DHCP);
	assert_string_equal(c.device, "eth0");
	assert_int_equal(hib_net_parse_ip("off", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_OFF);
	assert_int_equal(hib_net_parse_ip("none", &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_OFF);
}

static void test_refusals(void **state)
{
	struct hib_net_config c;
	char why[HIB_NET_WHY_MAX], longer[HIB_NET_SPEC_MAX + 8];

	(void)state;
#define BAD(spec, msg) do { \
		why[0] = 0; \
		assert_int_equal(hib_net_parse_ip(spec, &c, why, sizeof(why)), -EINVAL); \
		if (!strstr(why, msg)) \
			fail_msg("'%s': '%s' lacks '%s'", spec, why, msg); \
	} while (0)
	BAD("", "empty");
	BAD("bogus", "unknown method 'bogus'");
	BAD("dhcp6", "unknown method");
	BAD("10.0.2", "unknown method");
	BAD("eth0:static", "expected DEVICE:dhcp");
	BAD("eth/0:dhcp", "bad device name 'eth/0'");
	BAD(":dhcp", "bad device name ''");
	BAD("10.0.2.999::10.0.2.2:255.255.255.0::eth0:none", "bad client address '10.0.2.999'");
	BAD("10.0.2.x::10.0.2.2:255.255.255.0::eth0:none", "bad client address");
	BAD("0.0.0.0::::::none", "not a unicast address");
	BAD("224.0.0.1::::::none", "not a unicast address");
	BAD("::10.0.2.2:255.255.255.0::eth0:none", "needs a client address");
	BAD("10.0.2.15:nohost:10.0.2.2:255.255.255.0::eth0:none", "bad server address");
	BAD("10.0.2.15::10.0.2.256:255.255.255.0::eth0:none", "bad gateway address");
	BAD("10.0.2.15::10.0.3.2:255.255.255.0::eth0:none", "not on the client's network");
	BAD("10.0.2.15::10.0.2.2:255.0.255.0::eth0:none", "not a contiguous mask");
	BAD("10.0.2.15::10.0.2.2:0.0.0.0::eth0:none", "not a contiguous mask");
	BAD("10.0.2.15::10.0.2.2:255.255.255::eth0:none", "bad netmask '255.255.255'");
	BAD("10.0.2.15::10.0.2.2:24::eth0:none", "bad netmask '24'");
	BAD("10.0.2.15::10.0.2.2:255.255.255.0:bad_host:eth0:none", "bad hostname");
	BAD("10.0.2.15::10.0.2.2:255.255.255.0::averyveryverylongifname:none",
	    "bad device name");
	BAD("10.0.2.15::10.0.2.2:255.255.255.0::eth0:bootp", "unknown autoconf method 'bootp'");
	BAD("10.0.2.15::10.0.2.2:255.255.255.0::eth0:none:dns.example", "bad DNS server");
	BAD("10.0.2.15 ::10.0.2.2", "blank");
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	BAD(longer, "longer than");
	assert_int_equal(hib_net_parse_ip(NULL, &c, why, sizeof(why)), -EINVAL);
	/* no why buffer: still refused */
	assert_int_equal(hib_net_parse_ip("bogus", &c, NULL, 0), -EINVAL);
}

static void test_cmdline(void **state)
{
	struct hib_net_config c;
	char why[HIB_NET_WHY_MAX], path[] = "/tmp/test-net-cmdline.XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(hib_net_parse_cmdline("console=ttyS0 rdinit=/init quiet", &c, why,
					       sizeof(why)), -ENOENT);
	assert_int_equal(hib_net_parse_cmdline("", &c, why, sizeof(why)), -ENOENT);
	/* not ip=: nfsip=, ipv6= */
	assert_int_equal(hib_net_parse_cmdline("nfsip=dhcp xip=1 ip", &c, why, sizeof(why)),
			 -ENOENT);
	assert_int_equal(hib_net_parse_cmdline("console=ttyS0 ip=10.0.2.15::10.0.2.2:"
					       "255.255.255.0::eth0:none hibtest.boot=2\n",
					       &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_STATIC);
	assert_string_equal(ntoa(c.addr), "10.0.2.15");
	/* the last one wins; quotes */
	assert_int_equal(hib_net_parse_cmdline("ip=dhcp \"ip=eth1:dhcp\"", &c, why, sizeof(why)),
			 0);
	assert_string_equal(c.device, "eth1");
	/* a malformed one names itself */
	assert_int_equal(hib_net_parse_cmdline("quiet ip=10.0.2.15::10.0.2.2:255.0.255.0::eth0:"
					       "none", &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ip=10.0.2.15::10.0.2.2:255.0.255.0::eth0:none: bad netmask"));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("console=ttyS0 ip=eth0:dhcp\n", f);
	fclose(f);
	assert_int_equal(hib_net_read_cmdline(path, &c, why, sizeof(why)), 0);
	assert_int_equal(c.method, HIB_NET_DHCP);
	unlink(path);
	assert_int_equal(hib_net_read_cmdline("/nonexistent/cmdline", &c, why, sizeof(why)),
			 -ENOENT);
}

static void test_lease(void **state)
{
	struct hib_net_config c;

	(void)state;
	assert_int_equal(hib_net_parse_lease("udhcpc: started, v1.35.0\nudhcpc: sending discover\n"
					     "hib-dhcp ip=10.0.2.15 subnet=255.255.255.0 "
					     "router=10.0.2.2 dns=10.0.2.3 dns1=\n"
					     "udhcpc: lease of 10.0.2.15 obtained\n", "eth0", &c), 0);
	assert_int_equal(c.method, HIB_NET_STATIC);
	assert_string_equal(c.device, "eth0");
	assert_string_equal(ntoa(c.addr), "10.0.2.15");
	assert_string_equal(ntoa(c.gateway), "10.0.2.2");
	assert_string_equal(ntoa(c.dns[0]), "10.0.2.3");
	assert_int_equal(c.dns[1].s_addr, 0);
	/* no subnet: from the class; off-link router dropped */
	assert_int_equal(hib_net_parse_lease("hib-dhcp ip=10.0.2.15 subnet= router=11.0.0.1 dns=",
					     NULL, &c), 0);
	assert_string_equal(ntoa(c.netmask), "255.0.0.0");
	assert_int_equal(c.gateway.s_addr, 0);
	assert_int_equal(hib_net_parse_lease("udhcpc: no lease, failing\n", "eth0", &c), -ENOENT);
	assert_int_equal(hib_net_parse_lease("hib-dhcp ip=10.0.2 subnet=255.255.255.0", "eth0",
					     &c), -EINVAL);
	assert_int_equal(hib_net_parse_lease("hib-dhcp subnet=255.255.255.0", "eth0", &c),
			 -EINVAL);
	assert_int_equal(hib_net_parse_lease("hib-dhcp ip=10.0.2.15 subnet=255.0.255.0", "eth0",
					     &c), -EINVAL);
	assert_int_equal(hib_net_parse_lease("hib-dhcp garbage", "eth0", &c), -EINVAL);
}

static void test_resolv(void **state)
{
	char path[] = "/tmp/test-net-resolv.XXXXXX", buf[200];
	struct hib_net_result res = {};
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	/* no servers: nothing */
	assert_int_equal(hib_net_write_resolv(path, &res), 0);
	assert_int_equal(access(path, F_OK), -1);
	inet_pton(AF_INET, "10.0.2.3", &res.dns[0]);
	inet_pton(AF_INET, "8.8.8.8", &res.dns[1]);
	assert_int_equal(hib_net_write_resolv(path, &res), 1);
	f = fopen(path, "r");
	assert_non_null(f);
	memset(buf, 0, sizeof(buf));
	assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
	fclose(f);
	assert_string_equal(buf, "nameserver 10.0.2.3\nnameserver 8.8.8.8\n");
	/* an existing file is kept */
	inet_pton(AF_INET, "1.1.1.1", &res.dns[0]);
	assert_int_equal(hib_net_write_resolv(path, &res), 0);
	unlink(path);
	assert_int_equal(hib_net_write_resolv("/nonexistent/dir/resolv.conf", &res), -ENOENT);
}

static void test_configure_refusals(void **state)
{
	struct hib_net_config c;
	struct hib_net_result res;
	char why[HIB_NET_WHY_MAX];

	(void)state;
	assert_int_equal(hib_net_parse_ip("10.0.2.15::10.0.2.2:255.255.255.0::nosuchnet0:none",
					  &c, why, sizeof(why)), 0);
	assert_int_equal(hib_net_configure(&c, NULL, &res, why, sizeof(why)), -ENODEV);
	assert_non_null(strstr(why, "no network interface nosuchnet0 (there are: "));
	assert_non_null(strstr(why, "lo"));
	assert_int_equal(hib_net_parse_ip("nosuchnet0:dhcp", &c, why, sizeof(why)), 0);
	assert_int_equal(hib_net_configure(&c, NULL, &res, why, sizeof(why)), -ENODEV);
	assert_int_equal(hib_net_parse_ip("off", &c, why, sizeof(why)), 0);
	assert_int_equal(hib_net_configure(&c, NULL, &res, why, sizeof(why)), -ENOENT);
	assert_int_equal(hib_net_configure(NULL, NULL, &res, why, sizeof(why)), -EINVAL);
}

/* In a child in a new network namespace: configure its lo, read the address back. */
static int netns_child(void)
{
	struct hib_net_config c;
	struct hib_net_result res;
	struct hib_net_opts o = { .udhcpc = "/nonexistent/udhcpc" };
	struct ifreq ifr = {};
	char why[HIB_NET_WHY_MAX];
	int sock;

	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	/* DHCP without udhcpc: refused before anything runs */
	if (hib_net_parse_ip("lo:dhcp", &c, why, sizeof(why)) ||
	    hib_net_configure(&c, &o, &res, why, sizeof(why)) != -ENOENT ||
	    !strstr(why, "DHCP needs busybox udhcpc")) {
		fprintf(stderr, "udhcpc missing: %s\n", why);
		return 1;
	}
	setenv("PATH", "/nonexistent", 1);
	if (hib_net_configure(&c, NULL, &res, why, sizeof(why)) != -ENOENT ||
	    !strstr(why, "neither udhcpc nor busybox is in PATH")) {
		fprintf(stderr, "no PATH: %s\n", why);
		return 1;
	}
	/* a static address, a gateway on its network, a hostname is not touched (none) */
	if (hib_net_parse_ip("10.9.8.7::10.9.8.1:255.255.255.0::lo:none:10.9.8.53", &c, why,
			     sizeof(why)) ||
	    hib_net_configure(&c, NULL, &res, why, sizeof(why))) {
		fprintf(stderr, "static: %s\n", why);
		return 1;
	}
	if (strcmp(res.device, "lo") || res.dhcp || hib_net_prefix(res.netmask) != 24 ||
	    strcmp(ntoa(res.gateway), "10.9.8.1") || strcmp(ntoa(res.dns[0]), "10.9.8.53"))
		return 2;
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(sock, SIOCGIFADDR, &ifr) < 0 ||
	    strcmp(ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr), "10.9.8.7"))
		return 3;
	if (ioctl(sock, SIOCGIFNETMASK, &ifr) < 0 ||
	    strcmp(ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr), "255.255.255.0"))
		return 4;
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
		return 5;
	/* again: the same address and the existing default route are fine */
	if (hib_net_configure(&c, NULL, &res, why, sizeof(why))) {
		fprintf(stderr, "again: %s\n", why);
		return 6;
	}
	/* the device picked when none is named: the only one is the loopback */
	if (hib_net_parse_ip("10.9.8.7", &c, why, sizeof(why)) ||
	    hib_net_configure(&c, NULL, &res, why, sizeof(why)) != -ENODEV ||
	    !strstr(why, "no network interface besides the loopback")) {
		fprintf(stderr, "pick: %s\n", why);
		return 7;
	}
	return 0;
}

static void test_configure_netns(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(netns_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_full),
		cmocka_unit_test(test_dhcp_and_off),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_lease),
		cmocka_unit_test(test_resolv),
		cmocka_unit_test(test_configure_refusals),
		cmocka_unit_test(test_configure_netns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
