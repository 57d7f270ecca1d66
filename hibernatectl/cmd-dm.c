// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl check and recover: front ends of libhibernate's hib_check() and hib_recover()
 * (hibernation.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "commands.h"
#include "events.h"
#include "hibernation.h"
#include "macro.h"

int hibctl_cmd_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_conf *conf = NULL;
	struct hibctl_events pe;
	struct hib_system sys;
	int r, ret;

	ret = hibctl_begin(ctx, args, NULL, &conf, &sys, &pe);
	if (ret)
		return ret;
	pe.all_out = true;
	/* Without --output the configured target is checked; "" checks none. */
	r = hib_check(conf, args->path, &sys, &pe.ev);
	hib_conf_wipe(conf);
	return r == 1 ? HIBCTL_EXIT_OK : HIBCTL_EXIT_ERROR;
}

int hibctl_cmd_recover(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_conf *conf = NULL;
	struct hibctl_events pe;
	struct hib_system sys;
	int r, ret;

	ret = hibctl_begin(ctx, args, NULL, &conf, &sys, &pe);
	if (ret)
		return ret;
	r = hib_recover(conf, &sys, false, &pe.ev);
	hib_conf_wipe(conf);
	return r < 0 ? HIBCTL_EXIT_ERROR : HIBCTL_EXIT_OK;
}
