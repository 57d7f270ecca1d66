/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hibernatectl's side of the network (cmd-net.c): the initramfs network for resume (ip= on the
 * kernel command line or [network] in hibernate.conf), the HTTP settings ([http]: token,
 * CA, client certificate) and the image key ([image]) from the configuration.  The command
 * line and the environment override the configuration.
 */
#ifndef HIBERNATECTL_NET_STAGE_H
#define HIBERNATECTL_NET_STAGE_H

#include <stdbool.h>

#include "commands.h"

struct hib_sink;

/*
 * Where the image key comes from: --key-file / --passphrase-file, else key-file /
 * passphrase-file under [image] in the configuration.  *ret_path NULL: no key.  0, or an exit
 * code (configuration refused, printed).
 */
int hibctl_key_source(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		      const char **ret_path, bool *ret_passphrase);

/*
 * hib_sink_open(), with the HTTP settings of the environment and the configuration for an
 * http(s):// @path.  0 or -errno (printed for a bad configuration or token file; then
 * -EINVAL).
 */
int hibctl_sink_open(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		     const char *path, int mode, struct hib_sink **ret_sink);

/*
 * resume --input URL: bring the network up if ip= is on the kernel command line
 * ($HIBERNATE_CMDLINE, a test hook: read that file instead of /proc/cmdline) or ip = is under
 * [network] in the configuration, and say what was done.  0 (also when nothing was asked
 * for), or an exit code (printed: the boot goes on).
 */
int hibctl_net_setup(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		     const char *url);

#endif /* HIBERNATECTL_NET_STAGE_H */
