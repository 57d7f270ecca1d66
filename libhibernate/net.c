// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The initramfs's network for resuming from an HTTP server: the kernel's ip= syntax (net.h),
 * a static address with ioctl()s, DHCP through busybox udhcpc.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "util.h"
#include "net.h"

#define FIELDS_MAX	10

/* ---- parsing ------------------------------------------------------------------------------ */

static bool parse_addr(const char *s, struct in_addr *ret)
{
	return inet_pton(AF_INET, s, ret) == 1;
}

int hib_net_prefix(struct in_addr netmask)
{
	uint32_t m = ntohl(netmask.s_addr);
	int n = 0;

	while (m & 0x80000000u) {
		m <<= 1;
		n++;
	}
	return m ? -EINVAL : n;
}

static struct in_addr class_netmask(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);
	struct in_addr m;

	if (h >> 31 == 0)
		m.s_addr = htonl(0xff000000u);
	else if (h >> 30 == 2)
		m.s_addr = htonl(0xffff0000u);
	else
		m.s_addr = htonl(0xffffff00u);
	return m;
}

static bool valid_device(const char *s)
{
	if (strlen(s) >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return false;
	return true;
}

static bool valid_hostname(const char *s)
{
	if (strlen(s) > HIB_NET_HOSTNAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

/* The autoconf word: HIB_NET_STATIC, HIB_NET_DHCP, or -1. */
static int method_word(const char *s)
{
	if (!*s || !strcmp(s, "none") || !strcmp(s, "off") || !strcmp(s, "static"))
		return HIB_NET_STATIC;
	if (!strcmp(s, "dhcp") || !strcmp(s, "on") || !strcmp(s, "any"))
		return HIB_NET_DHCP;
	return -1;
}

static const char *method_hint = "dhcp, on, any, off, none, or CLIENT-IP:SERVER-IP:GW-IP:"
				 "NETMASK:HOSTNAME:DEVICE:none";

int hib_net_parse_ip(const char *spec, struct hib_net_config *ret_config, char *why,
		     size_t why_size)
{
	char buf[HIB_NET_SPEC_MAX], *f[FIELDS_MAX] = {}, *p;
	struct hib_net_config c;
	unsigned int n = 0, i;
	int m;

	if (!spec || !ret_config)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	if (!*spec)
		return hib_why(why, why_size, -EINVAL, "empty setting (%s)", method_hint);
	if (strlen(spec) >= sizeof(buf))
		return hib_why(why, why_size, -EINVAL, "longer than %d bytes",
			       HIB_NET_SPEC_MAX - 1);
	for (p = (char *)spec; *p; p++)
		if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return hib_why(why, why_size, -EINVAL, "blank or control character");
	snprintf(buf, sizeof(buf), "%s", spec);

	/* Fields separated by ':'; anything past the tenth (a MAC address in dracut's form). */
	p = buf;
	while (n < FIELDS_MAX) {
		f[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = 0;
	}

	if (n == 1) {
		if (!strcmp(f[0], "off") || !strcmp(f[0], "none")) {
			c.method = HIB_NET_OFF;
			goto done;
		}
		if (method_word(f[0]) == HIB_NET_DHCP) {
			c.method = HIB_NET_DHCP;
			goto done;
		}
		if (!parse_addr(f[0], &c.addr))
			return hib_why(why, why_size, -EINVAL, "unknown method '%s' (%s)", f[0],
				       method_hint);
		c.method = HIB_NET_STATIC;
		c.netmask = class_netmask(c.addr);
		goto done;
	}
	if (n == 2) {
		/* dracut: DEVICE:METHOD */
		m = method_word(f[1]);
		if (m != HIB_NET_DHCP)
			return hib_why(why, why_size, -EINVAL, "'%s:%s': expected DEVICE:dhcp or "
				       "CLIENT-IP:SERVER-IP:GW-IP:NETMASK:HOSTNAME:DEVICE:none",
				       f[0], f[1]);
		if (!*f[0] || !valid_device(f[0]))
			return hib_why(why, why_size, -EINVAL, "bad device name '%s'", f[0]);
		c.method = HIB_NET_DHCP;
		snprintf(c.device, sizeof(c.device), "%s", f[0]);
		goto done;
	}

	/* CLIENT-IP:SERVER-IP:GW-IP:NETMASK:HOSTNAME:DEVICE:AUTOCONF:DNS0:DNS1:NTP0 */
	m = method_word(n > 6 ? f[6] : "");
	if (m < 0)
		return hib_why(why, why_size, -EINVAL, "unknown autoconf method '%s' (none, off, "
			       "static, dhcp, on, any)", f[6]);
	c.method = m;
	if (n > 5 && *f[5]) {
		if (!valid_device(f[5]))
			return hib_why(why, why_size, -EINVAL, "bad device name '%s'", f[5]);
		snprintf(c.device, sizeof(c.device), "%s", f[5]);
	}
	if (n > 4 && *f[4]) {
		if (!valid_hostname(f[4]))
			return hib_why(why, why_size, -EINVAL, "bad hostname '%s'", f[4]);
		snprintf(c.hostname, sizeof(c.hostname), "%s", f[4]);
	}
	for (i = 7; i < 9 && i < n; i++) {
		char *e;

		if (!*f[i])
			continue;
		if (parse_addr(f[i], &c.dns[i - 7]))
			continue;
		/* dracut's MTU in the same place: a number, ignored */
		if (i == 7 && (strtoul(f[i], &e, 10), !*e))
			continue;
		if (i == 8)
			break;	/* dracut's MAC address: ignored */
		return hib_why(why, why_size, -EINVAL, "bad DNS server address '%s'", f[i]);
	}
	if (c.method == HIB_NET_DHCP)
		goto done;	/* the lease decides; the other fields are hints */

	if (!*f[0])
		return hib_why(why, why_size, -EINVAL, "a static configuration needs a client "
			       "address (the first field)");
	if (!parse_addr(f[0], &c.addr))
		return hib_why(why, why_size, -EINVAL, "bad client address '%s'", f[0]);
	if (c.addr.s_addr == 0 || ntohl(c.addr.s_addr) >> 28 >= 14)
		return hib_why(why, why_size, -EINVAL, "client address %s is not a unicast "
			       "address", f[0]);
	if (*f[1]) {
		struct in_addr server;

		if (!parse_addr(f[1], &server))
			return hib_why(why, why_size, -EINVAL, "bad server address '%s'", f[1]);
	}
	if (n > 3 && *f[3]) {
		if (!parse_addr(f[3], &c.netmask))
			return hib_why(why, why_size, -EINVAL, "bad netmask '%s'", f[3]);
		if (hib_net_prefix(c.netmask) <= 0 || hib_net_prefix(c.netmask) > 32)
			return hib_why(why, why_size, -EINVAL, "bad netmask '%s': not a contiguous "
				       "mask of 1 to 32 bits", f[3]);
	} else {
		c.netmask = class_netmask(c.addr);
	}
	if (*f[2]) {
		if (!parse_addr(f[2], &c.gateway))
			return hib_why(why, why_size, -EINVAL, "bad gateway address '%s'", f[2]);
		if ((c.gateway.s_addr & c.netmask.s_addr) != (c.addr.s_addr & c.netmask.s_addr))
			return hib_why(why, why_size, -EINVAL, "gateway %s is not on the client's "
				       "network %s/%d", f[2], f[0], hib_net_prefix(c.netmask));
	}
done:
	*ret_config = c;
	return 0;
}

int hib_net_parse_cmdline(const char *cmdline, struct hib_net_config *ret_config, char *why,
			  size_t why_size)
{
	char last[HIB_NET_SPEC_MAX + 1], tmp[HIB_NET_WHY_MAX];
	const char *p = cmdline;
	bool found = false;
	int r;

	if (!cmdline || !ret_config)
		return -EINVAL;
	while (*p) {
		const char *start, *end;
		size_t len;

		while (isspace((unsigned char)*p))
			p++;
		start = p;
		if (*p == '"') {
			/* a quoted argument: "ip=..." */
			end = strchr(p + 1, '"');
			end = end ? end + 1 : p + strlen(p);
		} else {
			end = p;
			while (*end && !isspace((unsigned char)*end))
				end++;
		}
		p = end;
		len = (size_t)(end - start);
		if (len >= 2 && start[0] == '"' && start[len - 1] == '"') {
			start++;
			len -= 2;
		}
		if (len < 3 || strncmp(start, "ip=", 3))
			continue;
		start += 3;
		len -= 3;
		if (len >= sizeof(last))
			len = sizeof(last) - 1;	/* refused below as too long */
		memcpy(last, start, len);
		last[len] = 0;
		found = true;
	}
	if (!found)
		return -ENOENT;
	r = hib_net_parse_ip(last, ret_config, tmp, sizeof(tmp));
	if (r < 0)
		return hib_why(why, why_size, r, "ip=%.*s: %s", 128, last, tmp);
	return 0;
}

int hib_net_read_cmdline(const char *path, struct hib_net_config *ret_config, char *why,
			 size_t why_size)
{
	_cleanup_close_ int fd = -1;
	char buf[4096];
	ssize_t n;

	fd = open(path ? path : "/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	n = hib_read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = 0;
	return hib_net_parse_cmdline(buf, ret_config, why, why_size);
}

int hib_net_parse_lease(const char *text, const char *device, struct hib_net_config *ret_config)
{
	struct hib_net_config c;
	const char *line = text, *nl;
	bool found = false;

	if (!text || !ret_config)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	for (; *line; line = nl ? nl + 1 : line + strlen(line)) {
		char buf[512], *tok, *save;
		struct hib_net_config l;
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (len < 9 || strncmp(line, "hib-dhcp ", 9) || len >= sizeof(buf))
			continue;
		memcpy(buf, line + 9, len - 9);
		buf[len - 9] = 0;
		memset(&l, 0, sizeof(l));
		for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *v = strchr(tok, '=');
			struct in_addr *dst = NULL;

			if (!v)
				return -EINVAL;
			*v++ = 0;
			if (!*v)
				continue;
			if (!strcmp(tok, "ip"))
				dst = &l.addr;
			else if (!strcmp(tok, "subnet"))
				dst = &l.netmask;
			else if (!strcmp(tok, "router"))
				dst = &l.gateway;
			else if (!strcmp(tok, "dns"))
				dst = &l.dns[0];
			else if (!strcmp(tok, "dns1"))
				dst = &l.dns[1];
			if (dst && !parse_addr(v, dst))
				return -EINVAL;
		}
		if (!l.addr.s_addr)
			return -EINVAL;
		if (!l.netmask.s_addr)
			l.netmask = class_netmask(l.addr);
		if (hib_net_prefix(l.netmask) <= 0)
			return -EINVAL;
		if (l.gateway.s_addr &&
		    (l.gateway.s_addr & l.netmask.s_addr) != (l.addr.s_addr & l.netmask.s_addr))
			l.gateway.s_addr = 0;	/* off-link router: not usable as a default route */
		c = l;
		found = true;
	}
	if (!found)
		return -ENOENT;
	c.method = HIB_NET_STATIC;
	if (device)
		snprintf(c.device, sizeof(c.device), "%s", device);
	*ret_config = c;
	return 0;
}

/* ---- the interface ------------------------------------------------------------------------ */

/* Every interface name into @buf ("eth0, eth1"); "none" when there is none. */
static void list_devices(char *buf, size_t size)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	size_t used = 0;

	buf[0] = 0;
	for (i = ifs; i && i->if_index && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
					 i->if_name);
	if (ifs)
		if_freenameindex(ifs);
	if (!buf[0])
		snprintf(buf, size, "none");
}

static int get_flags(int sock, const char *dev, short *ret)
{
	struct ifreq ifr = {};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return negative_errno();
	*ret = ifr.ifr_flags;
	return 0;
}

/* The device to use: @want, checked, or the first non-loopback interface. */
static int pick_device(int sock, const char *want, char ret[IFNAMSIZ], char *why,
		       size_t why_size)
{
	struct if_nameindex *ifs, *i;
	char names[HIB_NET_WHY_MAX / 2];
	short flags;
	int r;

	if (want[0]) {
		r = get_flags(sock, want, &flags);
		if (r == -ENODEV || r == -ENXIO) {
			list_devices(names, sizeof(names));
			return hib_why(why, why_size, -ENODEV, "no network interface %s (there "
				       "are: %s)", want, names);
		}
		if (r < 0)
			return hib_why(why, why_size, r, "%s: SIOCGIFFLAGS: %s", want,
				       strerror(-r));
		snprintf(ret, IFNAMSIZ, "%s", want);
		return 0;
	}
	ifs = if_nameindex();
	if (!ifs)
		return hib_why(why, why_size, negative_errno(), "cannot list the network "
			       "interfaces: %s", strerror(errno));
	r = -ENODEV;
	for (i = ifs; i->if_index; i++) {
		if (get_flags(sock, i->if_name, &flags) < 0 || (flags & IFF_LOOPBACK))
			continue;
		snprintf(ret, IFNAMSIZ, "%s", i->if_name);
		r = 0;
		break;
	}
	if_freenameindex(ifs);
	if (r < 0)
		return hib_why(why, why_size, r, "no network interface besides the loopback");
	return 0;
}

static int set_addr_ioctl(int sock, const char *dev, unsigned long req, struct in_addr a)
{
	struct ifreq ifr = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	if (ioctl(sock, req, &ifr) < 0)
		return negative_errno();
	return 0;
}

static int link_up(int sock, const char *dev, unsigned int carrier_timeout_s)
{
	struct ifreq ifr = {};
	char path[64], c = 0;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	unsigned int i;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return negative_errno();
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
			return negative_errno();
	}
	/* Wait for the link (a real NIC negotiates for a while); unknown means go on. */
	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", dev);
	for (i = 0; i < carrier_timeout_s * 10; i++) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, &c, 1) != 1 || c == '1')
			return 0;
		nanosleep(&ts, NULL);
	}
	hib_warn("network: no link on %s after %u s; trying anyway", dev, carrier_timeout_s);
	return 0;
}

static int apply_static(int sock, const char *dev, const struct hib_net_config *c,
			struct hib_net_result *res, char *why, size_t why_size)
{
	struct in_addr bcast = { c->addr.s_addr | ~c->netmask.s_addr };
	struct rtentry rt = {};
	struct sockaddr_in *sin;
	int r;

	r = set_addr_ioctl(sock, dev, SIOCSIFADDR, c->addr);
	if (r < 0)
		return hib_why(why, why_size, r, "%s: setting the address: %s", dev, strerror(-r));
	r = set_addr_ioctl(sock, dev, SIOCSIFNETMASK, c->netmask);
	if (r < 0)
		return hib_why(why, why_size, r, "%s: setting the netmask: %s", dev, strerror(-r));
	r = set_addr_ioctl(sock, dev, SIOCSIFBRDADDR, bcast);
	if (r < 0)
		return hib_why(why, why_size, r, "%s: setting the broadcast address: %s", dev,
			       strerror(-r));
	if (c->gateway.s_addr) {
		sin = (struct sockaddr_in *)&rt.rt_dst;
		sin->sin_family = AF_INET;
		sin = (struct sockaddr_in *)&rt.rt_genmask;
		sin->sin_family = AF_INET;
		sin = (struct sockaddr_in *)&rt.rt_gateway;
		sin->sin_family = AF_INET;
		sin->sin_addr = c->gateway;
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = (char *)dev;
		if (ioctl(sock, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
			r = negative_errno();
			return hib_why(why, why_size, r, "%s: adding the default route via %s: %s",
				       dev, inet_ntoa(c->gateway), strerror(-r));
		}
	}
	if (c->hostname[0] && sethostname(c->hostname, strlen(c->hostname)) < 0)
		hib_warn("network: cannot set the hostname %s: %s", c->hostname, strerror(errno));
	snprintf(res->device, sizeof(res->device), "%s", dev);
	res->addr = c->addr;
	res->netmask = c->netmask;
	res->gateway = c->gateway;
	res->dns[0] = c->dns[0];
	res->dns[1] = c->dns[1];
	return 0;
}

int hib_net_write_resolv(const char *path, const struct hib_net_result *res)
{
	char buf[128];
	size_t len = 0;
	_cleanup_close_ int fd = -1;
	unsigned int i;

	if (!res)
		return -EINVAL;
	for (i = 0; i < 2; i++)
		if (res->dns[i].s_addr)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "nameserver %s\n",
						inet_ntoa(res->dns[i]));
	if (!len)
		return 0;
	fd = open(path ? path : "/etc/resolv.conf",
		  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : negative_errno();
	if (write(fd, buf, len) != (ssize_t)len)
		return errno ? negative_errno() : -EIO;
	return 1;
}

/* ---- DHCP through udhcpc ------------------------------------------------------------------ */

static const char dhcp_script[] =
	"#!/bin/sh\n"
	"# written by libhibernate: report the lease, change nothing\n"
	"case \"$1\" in bound|renew) ;; *) exit 0 ;; esac\n"
	"set -- $router\n"
	"r=$1\n"
	"set -- $dns\n"
	"echo \"hib-dhcp ip=$ip subnet=$subnet router=$r dns=$1 dns1=$2\"\n";

static bool find_in_path(const char *name, char *ret, size_t size)
{
	const char *path = getenv("PATH"), *p, *e;

	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		if (e == p)
			continue;
		snprintf(ret, size, "%.*s/%s", (int)(e - p), p, name);
		if (access(ret, X_OK) == 0)
			return true;
	}
	return false;
}

/* What udhcpc printed, for the lease line (the last thing it prints). */
struct udhcpc_output {
	char *buf;
	size_t len, cap;
};

/* hib_spawn_lines() callback: append a line; a chatty udhcpc that fills the buffer starts it
 * over, since the lease report comes last. */
static void collect_line(const char *line, void *userdata)
{
	struct udhcpc_output *o = userdata;
	size_t n = strlen(line);

	if (o->len + n + 2 > o->cap)
		o->len = 0;
	if (n + 2 > o->cap)
		return;
	memcpy(o->buf + o->len, line, n);
	o->len += n;
	o->buf[o->len++] = '\n';
	o->buf[o->len] = 0;
}

static int run_udhcpc(const char *dev, const struct hib_net_opts *opts,
		      struct hib_net_config *ret_lease, char *why, size_t why_size)
{
	char prog[PATH_MAX], script[PATH_MAX], tries[16];
	const char *argv[16], *dir;
	unsigned int timeout = opts && opts->dhcp_timeout_s ? opts->dhcp_timeout_s : 20;
	struct udhcpc_output out = { .cap = 8192 };
	bool busybox = false;
	int fd, status, r, n = 0;
	struct stat st;

	if (opts && opts->udhcpc)
		snprintf(prog, sizeof(prog), "%s", opts->udhcpc);
	else if (!find_in_path("udhcpc", prog, sizeof(prog))) {
		if (!find_in_path("busybox", prog, sizeof(prog)))
			return hib_why(why, why_size, -ENOENT, "DHCP needs busybox udhcpc: neither "
				       "udhcpc nor busybox is in PATH (use a static ip= instead)");
		busybox = true;
	}
	dir = opts && opts->tmpdir ? opts->tmpdir :
	      stat("/run", &st) == 0 && S_ISDIR(st.st_mode) && access("/run", W_OK) == 0 ?
	      "/run" : "/tmp";
	snprintf(script, sizeof(script), "%s/hib-udhcpc.XXXXXX", dir);
	fd = mkostemp(script, O_CLOEXEC);
	if (fd < 0)
		return hib_why(why, why_size, negative_errno(), "cannot write the udhcpc script "
			       "in %s: %s", dir, strerror(errno));
	if (write(fd, dhcp_script, sizeof(dhcp_script) - 1) != (ssize_t)sizeof(dhcp_script) - 1 ||
	    fchmod(fd, 0700) < 0) {
		r = negative_errno();
		close(fd);
		unlink(script);
		return hib_why(why, why_size, r, "cannot write the udhcpc script %s: %s", script,
			       strerror(-r));
	}
	close(fd);

	snprintf(tries, sizeof(tries), "%u", timeout / 2 ? timeout / 2 : 1);
	argv[n++] = busybox ? "busybox" : "udhcpc";
	if (busybox)
		argv[n++] = "udhcpc";
	argv[n++] = "-i";
	argv[n++] = dev;
	argv[n++] = "-f";	/* foreground */
	argv[n++] = "-q";	/* exit once bound */
	argv[n++] = "-n";	/* exit if no lease */
	argv[n++] = "-t";
	argv[n++] = tries;
	argv[n++] = "-T";
	argv[n++] = "2";
	argv[n++] = "-s";
	argv[n++] = script;
	argv[n] = NULL;

	out.buf = malloc(out.cap);
	if (!out.buf) {
		unlink(script);
		return -ENOMEM;
	}
	out.buf[0] = 0;
	status = hib_spawn_lines(prog, (char *const *)argv, NULL, true, timeout + 5, collect_line,
				 &out);
	if (status < 0 && status != -ETIMEDOUT) {
		free(out.buf);
		unlink(script);
		return status;
	}
	unlink(script);
	hib_debug("network: udhcpc on %s said: %s", dev, out.buf);

	r = hib_net_parse_lease(out.buf, dev, ret_lease);
	if (r == 0) {
		free(out.buf);
		return 0;
	}
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		char *nl = strchr(out.buf, '\n');

		if (nl)
			*nl = 0;
		r = hib_why(why, why_size, -ENOENT, "DHCP needs busybox udhcpc, which cannot run "
			    "here (%s)", out.buf[0] ? out.buf : prog);
	} else if (r == -EINVAL) {
		r = hib_why(why, why_size, -EBADMSG, "udhcpc reported a malformed lease on %s",
			    dev);
	} else {
		r = hib_why(why, why_size, -ETIMEDOUT, "no DHCP lease on %s within %u s", dev,
			    timeout);
	}
	free(out.buf);
	return r;
}

int hib_net_configure(const struct hib_net_config *config, const struct hib_net_opts *opts,
		      struct hib_net_result *ret_result, char *why, size_t why_size)
{
	struct hib_net_config lease;
	struct hib_net_result res = {};
	_cleanup_close_ int sock = -1;
	char dev[IFNAMSIZ];
	int r;

	if (!config || !ret_result)
		return -EINVAL;
	if (config->method == HIB_NET_OFF)
		return hib_why(why, why_size, -ENOENT, "no network configuration asked for");
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return hib_why(why, why_size, negative_errno(), "socket: %s", strerror(errno));
	r = pick_device(sock, config->device, dev, why, why_size);
	if (r < 0)
		return r;
	r = link_up(sock, dev, opts && opts->carrier_timeout_s ? opts->carrier_timeout_s : 5);
	if (r < 0)
		return hib_why(why, why_size, r, "%s: bringing the link up: %s", dev,
			       strerror(-r));
	if (config->method == HIB_NET_DHCP) {
		r = run_udhcpc(dev, opts, &lease, why, why_size);
		if (r < 0)
			return r;
		if (config->hostname[0])
			snprintf(lease.hostname, sizeof(lease.hostname), "%s", config->hostname);
		res.dhcp = true;
		config = &lease;
	}
	r = apply_static(sock, dev, config, &res, why, why_size);
	if (r < 0)
		return r;
	*ret_result = res;
	return 0;
}
