// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl check and recover: front ends of libhibernate's hib_check() and hib_recover()
 * (hibernation.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "events.h"
#include "hibernation.h"
#include "macro.h"

/* check --json: every finding as {"result": "ok|no|warning|note", "message"}. */
struct findings {
	struct json_object *array;
	int err;
};

static void on_finding(void *ud, const struct hib_event *ev)
{
	static const char *const results[] = { "ok", "no", "warning", "note" };
	struct findings *fs = ud;
	const char *result = "error", *msg = ev->msg;
	struct json_object *x;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(results); i++) {
		n = strlen(results[i]);
		if (!strncmp(msg, results[i], n) && msg[n] == ':' && msg[n + 1] == ' ') {
			result = results[i];
			msg += n + 2;
			break;
		}
	}
	/* The closing "hibernation can(not) run now" is can_hibernate. */
	if (i == ARRAY_SIZE(results) && ev->level >= HIB_EV_NOTICE)
		return;
	x = json_object_new_object();
	if (!x || json_object_object_add(x, "result", json_object_new_string(result)) < 0 ||
	    json_object_object_add(x, "message", json_object_new_string(msg)) < 0 ||
	    json_object_array_add(fs->array, x) < 0) {
		json_object_put(x);
		fs->err = -ENOMEM;
	}
}

static int check_json(const struct hibctl_ctx *ctx, const struct hib_conf *conf,
		      const char *target, const struct hib_system *sys)
{
	struct findings fs = { .array = json_object_new_array() };
	const struct hib_events ev = { .message = on_finding, .userdata = &fs };
	struct json_object *o = json_object_new_object();
	int r;

	if (!o || !fs.array) {
		json_object_put(o);
		json_object_put(fs.array);
		return hibctl_json_error(ctx->out, hib_strerror(-ENOMEM), HIB_EXIT_ERROR);
	}
	r = hib_check(conf, target, sys, &ev);
	if (fs.err == 0 &&
	    (json_object_object_add(o, "can_hibernate", json_object_new_boolean(r == 1)) < 0 ||
	     json_object_object_add(o, "findings", fs.array) < 0))
		fs.err = -ENOMEM;
	else if (fs.err < 0)
		json_object_put(fs.array);
	if (fs.err == 0)
		hibctl_json_print(ctx->out, o);
	json_object_put(o);
	return fs.err < 0 ? HIB_EXIT_ERROR : r == 1 ? HIB_EXIT_OK : HIB_EXIT_ERROR;
}

int hibctl_cmd_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_conf *conf = NULL;
	struct hibctl_events pe;
	struct hib_system sys;
	int r, ret;

	ret = hibctl_begin(ctx, args, NULL, &conf, &sys, &pe);
	if (ret)
		return ret;
	/* Does the running kernel's initramfs resume (issue 15)?  Only here: hibernated's
	 * checks do not list the initramfs. */
	sys.check_initramfs = true;
	/* Without --output the configured target is checked; "" checks none. */
	if (args->json) {
		ret = check_json(ctx, conf, args->path, &sys);
	} else {
		pe.all_out = true;
		r = hib_check(conf, args->path, &sys, &pe.ev);
		ret = r == 1 ? HIB_EXIT_OK : HIB_EXIT_ERROR;
	}
	hib_conf_wipe(conf);
	return ret;
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
	return r < 0 ? HIB_EXIT_ERROR : HIB_EXIT_OK;
}
