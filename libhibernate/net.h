/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the network of the initramfs, for resuming from an HTTP server.  The setting
 * is the kernel's ip= syntax (Documentation/admin-guide/nfs/nfsroot.rst, dracut.cmdline(7)),
 * from /proc/cmdline or from `ip =` under [network] in hibernate.conf:
 *
 *	ip=dhcp | on | any			DHCP on the first non-loopback interface
 *	ip=off | none				nothing
 *	ip=<device>:dhcp			DHCP on <device>
 *	ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>[:<dns0>[:<dns1>]]
 *						<autoconf> none, off, static or empty: a static
 *						address; dhcp, on or any: DHCP (the address is ignored)
 *
 * An empty <netmask> is derived from the address class, as the kernel does; an empty
 * <device> is the first non-loopback interface.  <server-ip>, the NTP field and anything after
 * are ignored.  A static address is set with ioctl()s (SIOCSIFADDR, SIOCSIFNETMASK,
 * SIOCSIFFLAGS, SIOCADDRT for the gateway); DHCP runs busybox udhcpc with a script that only
 * reports the lease, which is then set the same way.  The DNS servers (ip='s DNS0/DNS1 or
 * the lease's) go to /etc/resolv.conf when it does not exist.  Same conventions as
 * hibernate.h.
 */
#ifndef LIBHIBERNATE_NET_H
#define LIBHIBERNATE_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIB_NET_SPEC_MAX	512
#define HIB_NET_HOSTNAME_MAX	64
#define HIB_NET_WHY_MAX		256

enum hib_net_method {
	HIB_NET_OFF = 0,
	HIB_NET_STATIC,
	HIB_NET_DHCP,
};

struct hib_net_config {
	enum hib_net_method method;
	char device[IFNAMSIZ];		/* "": the first non-loopback interface */
	struct in_addr addr;		/* static */
	struct in_addr netmask;		/* static */
	struct in_addr gateway;		/* 0: none */
	struct in_addr dns[2];		/* 0: none */
	char hostname[HIB_NET_HOSTNAME_MAX + 1];	/* "": keep */
};

/*
 * Parse one ip= value (without "ip=").  0, or -EINVAL with the reason in @why (bad address,
 * bad netmask, bad device name, unknown autoconf method, too many fields, ...).
 */
int hib_net_parse_ip(const char *spec, struct hib_net_config *ret_config, char *why,
		     size_t why_size);

/*
 * Find the ip= argument in kernel command line text (the last one wins, as in the kernel) and
 * parse it.  -ENOENT when there is none; parser errors as above (@why names the argument).
 * hib_net_read_cmdline() reads @path (NULL: /proc/cmdline).
 */
int hib_net_parse_cmdline(const char *cmdline, struct hib_net_config *ret_config, char *why,
			  size_t why_size);
int hib_net_read_cmdline(const char *path, struct hib_net_config *ret_config, char *why,
			 size_t why_size);

/* The prefix length of a contiguous netmask, or -EINVAL. */
int hib_net_prefix(struct in_addr netmask);

/* What was done, for the caller to report. */
struct hib_net_result {
	char device[IFNAMSIZ];
	struct in_addr addr;
	struct in_addr netmask;
	struct in_addr gateway;		/* 0: no default route set */
	struct in_addr dns[2];		/* from ip= or the lease; 0: none */
	bool dhcp;
};

/*
 * Write the DNS servers of @res to @path (NULL: /etc/resolv.conf) as "nameserver" lines,
 * unless the file exists (an initramfs that ships one keeps it).  1 written, 0 nothing to do
 * (no servers, or the file exists), -errno.
 */
int hib_net_write_resolv(const char *path, const struct hib_net_result *res);

struct hib_net_opts {
	const char *udhcpc;		/* NULL: "udhcpc" in $PATH, else "busybox udhcpc" */
	const char *tmpdir;		/* where the udhcpc script goes; NULL: /run, else /tmp */
	unsigned int dhcp_timeout_s;	/* 0: 20 s */
	unsigned int carrier_timeout_s;	/* wait for the link after bringing it up; 0: 5 s */
};

/*
 * Bring the interface up as @config says (HIB_NET_OFF: nothing, returns -ENOENT).  -ENODEV
 * with @why naming the interfaces there are when the device is missing, -ENOENT when DHCP is
 * asked for and neither udhcpc nor busybox can be found, -ETIMEDOUT when no lease came,
 * -errno of the failed ioctl otherwise (@why says which step).  Changes nothing before the
 * device is known to exist.  Needs CAP_NET_ADMIN.
 */
int hib_net_configure(const struct hib_net_config *config, const struct hib_net_opts *opts,
		      struct hib_net_result *ret_result, char *why, size_t why_size);

/*
 * Parse the lines udhcpc's script reports ("hib-dhcp ip=A subnet=M router=G... dns=D..."):
 * the lease as a static configuration on @device.  -ENOENT if no lease line, -EINVAL if
 * malformed.  Exposed for the unit tests.
 */
int hib_net_parse_lease(const char *text, const char *device, struct hib_net_config *ret_config);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_NET_H */
