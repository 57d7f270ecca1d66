// SPDX-License-Identifier: GPL-2.0-only
/* libhibernate's events printed the CLI's way, the configuration, exit codes (events.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"

#define PROG "hibernatectl"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_message(void *ud, const struct hib_event *ev)
{
	struct hibctl_events *pe = ud;
	bool to_err = !pe->all_out && ev->level <= HIB_EV_WARNING;

	if (ev->level == HIB_EV_DEBUG)
		return;
	if (ev->level == HIB_EV_FAIL) {
		pe->fail_step = ev->step;
		pe->fail_err = ev->err;
	}
	if (!ev->detail && (ev->level == HIB_EV_FAIL || ev->level == HIB_EV_NOTICE))
		snprintf(pe->last_msg, sizeof(pe->last_msg), "%s", ev->msg);
	if (pe->quiet)
		return;
	if (to_err) {
		fflush(pe->out);
		fprintf(pe->err, "%s%s\n", ev->detail ? "" : PROG ": ", ev->msg);
		fflush(pe->err);
	} else {
		fprintf(pe->out, "%s\n", ev->msg);
		/* Before a freeze, a power-off or a restore the line must be out already. */
		fflush(pe->out);
	}
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

static void on_progress(void *ud, enum hib_step step, uint64_t raw, uint64_t comp,
			uint64_t total)
{
	struct hibctl_events *pe = ud;
	double t = now_ms();

	if (!pe->tty)
		return;
	if (raw == 0 && comp == 0) {
		pe->start = pe->last = t;
		return;
	}
	if (t - pe->last < 250 && raw < total)
		return;
	pe->last = t;
	fprintf(pe->err, "\r%s: %3.0f%%  %.1f MiB -> %.1f MiB  %.1f MB/s ", pe->what,
		total ? 100.0 * (double)raw / (double)total : 0.0, mib(raw), mib(comp),
		t > pe->start ? (double)raw / 1e3 / (t - pe->start) : 0.0);
	if (raw >= total)
		fputc('\n', pe->err);
	fflush(pe->err);
}

static void on_summary(void *ud, const char *target, const struct hib_hibernate_stats *st)
{
	struct hibctl_events *pe = ud;
	static char buf[4096];	/* static: tasks are frozen */

	hib_summary_format(buf, sizeof(buf), target, st);
	fputs(buf, pe->out);
	fflush(pe->out);
}

void hibctl_events_init(struct hibctl_events *pe, const struct hibctl_ctx *ctx, const char *what)
{
	memset(pe, 0, sizeof(*pe));
	pe->out = ctx->out;
	pe->err = ctx->err;
	pe->what = what;
	pe->tty = isatty(fileno(ctx->err));
	pe->ev.message = on_message;
	pe->ev.progress = on_progress;
	pe->ev.summary = on_summary;
	pe->ev.userdata = pe;
}

void hibctl_system(const struct hibctl_ctx *ctx, struct hib_system *ret)
{
	*ret = (struct hib_system){
		.proc_root = ctx->proc_root,
		.snapshot_dev = ctx->snapshot_dev,
		.notes_path = ctx->notes_path,
		.machine_id_path = ctx->machine_id_path,
		.mountinfo_path = ctx->mountinfo_path,
		.sys_root = ctx->sys_root,
		.dm_backend = ctx->dm_backend,
		.self = ctx->self,
		.no_mlock = ctx->no_mlock,
	};
}

void hibctl_json_print(FILE *f, struct json_object *o)
{
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
}

int hibctl_json_error(FILE *f, const char *msg, int exit_code)
{
	struct json_object *o = json_object_new_object();

	if (o && json_object_object_add(o, "error", json_object_new_string(msg)) == 0 &&
	    json_object_object_add(o, "exit_status", json_object_new_int(exit_code)) == 0)
		hibctl_json_print(f, o);
	json_object_put(o);
	return exit_code;
}

int hibctl_conf(const struct hibctl_ctx *ctx, const struct hibctl_args *args,
		struct hib_conf **ret)
{
	const struct hib_conf_flags flags = {
		.cow = args->cow_path,
		.key_file = args->key_file,
		.passphrase_file = args->passphrase_file,
		.freeze_timeout_ms = args->timeout_ms,
		.sync_timeout_ms = args->sync_timeout_ms,
		.threads = args->threads,
		.no_stream = args->no_stream,
	};
	struct hib_conf_errors *errs = calloc(1, sizeof(*errs));
	struct hib_conf *c = calloc(1, sizeof(*c));
	unsigned int i;
	int r;

	if (!errs || !c) {
		free(errs);
		free(c);
		fprintf(ctx->err, PROG ": out of memory\n");
		return HIB_EXIT_ERROR;
	}
	r = hib_conf_resolve(args->config_path, &flags, c, errs);
	if (r < 0) {
		for (i = 0; i < errs->count && i < HIB_CONF_ERRORS_MAX; i++)
			fprintf(ctx->err, PROG ": configuration refused: %s\n", errs->e[i].msg);
		if (errs->count > HIB_CONF_ERRORS_MAX)
			fprintf(ctx->err, PROG ": %u more errors not shown\n",
				errs->count - HIB_CONF_ERRORS_MAX);
		if (!errs->count)
			fprintf(ctx->err, PROG ": configuration refused: %s\n", hib_strerror(r));
		if (args->json) {
			char msg[HIB_CONF_WHY_MAX + 64];

			snprintf(msg, sizeof(msg), "configuration refused: %s%s",
				 errs->count ? errs->e[0].msg : hib_strerror(r),
				 errs->count > 1 ? " (and more, on stderr)" : "");
			hibctl_json_error(ctx->out, msg, HIB_EXIT_ERROR);
		}
		free(errs);
		free(c);
		return HIB_EXIT_ERROR;
	}
	free(errs);
	*ret = c;
	return 0;
}

int hibctl_begin(const struct hibctl_ctx *ctx, const struct hibctl_args *args, const char *what,
		 struct hib_conf **ret_conf, struct hib_system *ret_sys, struct hibctl_events *ret_pe)
{
	int ret = hibctl_conf(ctx, args, ret_conf);

	if (ret)
		return ret;
	hibctl_system(ctx, ret_sys);
	hibctl_events_init(ret_pe, ctx, what);
	return 0;
}

int hibctl_exit_for(const struct hibctl_events *pe, int r)
{
	if (r >= 0)
		return HIB_EXIT_OK;
	if (pe->fail_step == HIB_STEP_FREEZE || pe->fail_step == HIB_STEP_SNAPSHOT)
		return hibctl_exit_code(r);
	return HIB_EXIT_ERROR;
}
