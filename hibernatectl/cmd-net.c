// SPDX-License-Identifier: GPL-2.0-only
/*
 * The network for resume, the HTTP settings and the image key from hibernate.conf
 * (net-stage.h, doc/hibernate.conf.5.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "http.h"
#include "image.h"
#include "macro.h"
#include "net-stage.h"
#include "net.h"

#define PROG "hibernatectl"

/*
 * The configuration, loaded again by every call: the HTTP sink keeps pointers to its file
 * names for as long as it is open (hibernatectl runs one command; hibernated one at a time).
 */
static struct hib_conf conf_buf;

static const char *conf_path(const struct hibctl_args *args)
{
	const char *p = args->config_path ? args->config_path : getenv("HIBERNATE_CONF");

	return p ? p : HIB_CONF_DEFAULT_PATH;
}

static int load_conf(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		     const struct hib_conf **ret)
{
	char why[512] = "";
	int r;

	r = hib_conf_load(conf_path(args), &conf_buf, why, sizeof(why));
	if (r < 0) {
		fprintf(ctx->err, PROG ": configuration refused: %s\n",
			why[0] ? why : hib_strerror(r));
		return HIBCTL_EXIT_ERROR;
	}
	*ret = &conf_buf;
	return 0;
}

int hibctl_key_source(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		      const char **ret_path, bool *ret_passphrase)
{
	const struct hib_conf *c;
	int ret;

	if (args->key_file || args->passphrase_file) {
		*ret_path = args->key_file ? args->key_file : args->passphrase_file;
		*ret_passphrase = !args->key_file;
		return 0;
	}
	ret = load_conf(ctx, args, &c);
	if (ret)
		return ret;
	*ret_path = c->key_file[0] ? c->key_file : c->passphrase_file[0] ? c->passphrase_file :
		    NULL;
	*ret_passphrase = !c->key_file[0];
	return 0;
}

int hibctl_sink_open(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		     const char *path, int mode, struct hib_sink **ret_sink)
{
	struct hib_http_config hc;
	const struct hib_conf *c;
	int r;

	if (!hib_http_is_url(path))
		return hib_sink_open(path, mode, ret_sink);
	if (load_conf(ctx, args, &c))
		return -EINVAL;
	r = hib_http_config_from_env(&hc);
	if (r < 0) {
		fprintf(ctx->err, PROG ": bad HIBERNATE_HTTP_* setting in the environment: %s\n",
			hib_strerror(r));
		return -EINVAL;
	}
	/* The environment wins over the configuration. */
	if (!hc.bearer_token[0] && c->http_token_file[0]) {
		r = hib_http_read_token(c->http_token_file, hc.bearer_token);
		if (r < 0) {
			fprintf(ctx->err, PROG ": token-file %s: %s\n", c->http_token_file,
				r == -EINVAL ? "no token: expected one non-empty printable line" :
				hib_strerror(r));
			return -EINVAL;
		}
	}
	if (!hc.ca_file && c->http_ca_file[0])
		hc.ca_file = c->http_ca_file;
	if (!hc.client_cert && c->http_client_cert[0]) {
		hc.client_cert = c->http_client_cert;
		if (!hc.client_key && c->http_client_key[0])
			hc.client_key = c->http_client_key;
	}
	if (!hc.s3_key_id[0] && c->http_s3_credentials[0]) {
		r = hib_s3_read_credentials(c->http_s3_credentials, hc.s3_key_id, hc.s3_secret);
		if (r < 0) {
			fprintf(ctx->err, PROG ": s3-credentials-file %s: %s\n",
				c->http_s3_credentials, r == -EINVAL ? "expected the access key id "
				"and the secret key, one printable line each" : hib_strerror(r));
			return -EINVAL;
		}
	}
	if (!getenv("HIBERNATE_S3_REGION") && c->http_s3_region[0])
		(void)hib_s3_set_region(&hc, c->http_s3_region);
	if (!getenv("HIBERNATE_S3_PART_MIB") && c->http_s3_part_mib)
		hc.s3_part_size = (size_t)c->http_s3_part_mib << 20;
	if (hib_s3_is_url(path) && !hc.s3_key_id[0])
		fprintf(ctx->err, PROG ": %s: no S3 credentials (s3-credentials-file in [http] of "
			"hibernate.conf): the requests go unsigned\n", path);
	r = hib_sink_open_http(path, mode, &hc, ret_sink);
	explicit_bzero(hc.bearer_token, sizeof(hc.bearer_token));
	explicit_bzero(hc.s3_secret, sizeof(hc.s3_secret));
	return r;
}

int hibctl_net_setup(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		     const char *url)
{
	const char *cmdline = getenv("HIBERNATE_CMDLINE");
	char why[HIB_NET_WHY_MAX] = "", addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct hib_net_config nc;
	struct hib_net_result res;
	const struct hib_conf *c;
	const char *from;
	int r, ret;

	if (!hib_http_is_url(url))
		return 0;
	r = hib_net_read_cmdline(cmdline, &nc, why, sizeof(why));
	from = "ip= on the kernel command line";
	if (r == -ENOENT || (r < 0 && r != -EINVAL)) {
		ret = load_conf(ctx, args, &c);
		if (ret)
			return ret;
		if (!c->net_ip[0])
			return 0;	/* nothing asked for: the network is someone else's */
		from = "ip = under [network] in the configuration";
		r = hib_net_parse_ip(c->net_ip, &nc, why, sizeof(why));
	}
	if (r < 0) {
		fprintf(ctx->err, PROG ": network: %s: %s; network not configured, not resuming\n",
			from, why);
		return HIBCTL_EXIT_ERROR;
	}
	if (nc.method == HIB_NET_OFF) {
		fprintf(ctx->out, "network: off (%s)\n", from);
		return 0;
	}
	fprintf(ctx->out, "network: configuring %s by %s (%s)\n",
		nc.device[0] ? nc.device : "the first interface",
		nc.method == HIB_NET_DHCP ? "DHCP" : "a static address", from);
	fflush(ctx->out);
	r = hib_net_configure(&nc, NULL, &res, why, sizeof(why));
	if (r < 0) {
		fprintf(ctx->err, PROG ": network: %s; not resuming\n", why);
		return HIBCTL_EXIT_ERROR;
	}
	inet_ntop(AF_INET, &res.addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &res.gateway, gw, sizeof(gw));
	fprintf(ctx->out, "network: %s is %s/%d%s%s%s\n", res.device, addr,
		hib_net_prefix(res.netmask), res.gateway.s_addr ? ", default route via " : "",
		res.gateway.s_addr ? gw : "", res.dhcp ? " (DHCP lease)" : "");
	r = hib_net_write_resolv(NULL, &res);
	if (r > 0)
		fprintf(ctx->out, "network: wrote nameserver %s%s%s to %s\n",
			inet_ntop(AF_INET, &res.dns[0], addr, sizeof(addr)),
			res.dns[1].s_addr ? " " : "",
			res.dns[1].s_addr ? inet_ntop(AF_INET, &res.dns[1], gw, sizeof(gw)) : "",
			"/etc/resolv.conf");
	else if (r < 0)
		fprintf(ctx->err, PROG ": network: cannot write %s: %s (names in the URL will "
			"not resolve)\n", "/etc/resolv.conf", hib_strerror(r));
	fflush(ctx->out);
	return 0;
}
