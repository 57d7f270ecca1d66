// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl policy check: every error of every file (the policy itself is applied by
 * libhibernate's hib_hibernate(), stage-policy.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "dm.h"
#include "macro.h"
#include "policy.h"

#define PROG "hibernatectl"

static void print_errors(FILE *f, const struct hib_policy_errors *errs)
{
	unsigned int i;

	for (i = 0; i < hib_policy_errors_shown(errs); i++) {
		const struct hib_policy_error *e = &errs->e[i];

		if (e->line)
			fprintf(f, "%s:%u:%u: %s\n", e->file, e->line, e->column, e->msg);
		else
			fprintf(f, "%s: %s\n", e->file, e->msg);
	}
	if (errs->count > HIB_POLICY_ERRORS_MAX)
		fprintf(f, PROG ": %u more errors not shown\n", errs->count - HIB_POLICY_ERRORS_MAX);
}

/* {"valid": N, "refused": M, "errors": [{"file", "line", "column", "message"}...]} */
static int policy_json(FILE *f, size_t good, int bad, const struct hib_policy_errors *errs)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	unsigned int i;
	int r = 0;

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return -ENOMEM;
	}
	for (i = 0; i < hib_policy_errors_shown(errs) && r == 0; i++) {
		const struct hib_policy_error *e = &errs->e[i];
		struct json_object *x = json_object_new_object();

		if (!x || json_object_object_add(x, "file", json_object_new_string(e->file)) < 0 ||
		    json_object_object_add(x, "line", json_object_new_int64(e->line)) < 0 ||
		    json_object_object_add(x, "column", json_object_new_int64(e->column)) < 0 ||
		    json_object_object_add(x, "message", json_object_new_string(e->msg)) < 0 ||
		    json_object_array_add(a, x) < 0) {
			json_object_put(x);
			r = -ENOMEM;
		}
	}
	if (r == 0 &&
	    (json_object_object_add(o, "valid", json_object_new_int64((int64_t)good)) < 0 ||
	     json_object_object_add(o, "refused", json_object_new_int64(bad)) < 0 ||
	     json_object_object_add(o, "errors_total", json_object_new_int64(errs->count)) < 0 ||
	     json_object_object_add(o, "errors", a) < 0))
		r = -ENOMEM;
	else if (r < 0)
		json_object_put(a);
	if (r == 0)
		hibctl_json_print(f, o);
	json_object_put(o);
	return r;
}

int hibctl_cmd_policy_check(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_policy_errors *errs = calloc(1, sizeof(*errs));
	const char *dir = args->policy_dir ? args->policy_dir : HIB_POLICY_DEFAULT_DIR;
	struct hib_policy *p = NULL;
	size_t i, good = 0;
	int r, bad = 0;

	if (!errs)
		return HIB_EXIT_ERROR;
	if (args->n_files == 0) {
		r = hib_policy_load_dir(dir, &p, errs);
		if (r < 0) {
			char msg[PATH_MAX + 128];

			snprintf(msg, sizeof(msg), "%s: %s", dir, hib_strerror(r));
			fprintf(ctx->err, PROG ": %s\n", msg);
			if (args->json)
				hibctl_json_error(ctx->out, msg, HIB_EXIT_ERROR);
			return HIB_EXIT_ERROR;
		}
		bad = r;
		good = p->n_rules;
		hib_policy_free(p);
	} else {
		for (i = 0; i < args->n_files; i++) {
			struct hib_policy_rule rule = {};

			r = hib_policy_load_file(args->files[i], &rule, errs);
			if (r == -ENOMEM) {
				fprintf(ctx->err, PROG ": %s\n", hib_strerror(r));
				if (args->json)
					hibctl_json_error(ctx->out, hib_strerror(r),
							  HIB_EXIT_ERROR);
				return HIB_EXIT_ERROR;
			}
			if (r < 0)
				bad++;
			else
				good++;
			hib_policy_rule_done(&rule);
		}
	}
	if (args->json) {
		r = policy_json(ctx->out, good, bad, errs);
		if (r < 0)
			return hibctl_json_error(ctx->out, hib_strerror(r), HIB_EXIT_ERROR);
		return bad ? HIB_EXIT_ERROR : HIB_EXIT_OK;
	}
	print_errors(ctx->err, errs);
	fprintf(ctx->out, "%zu policy file%s valid, %d refused\n", good, good == 1 ? "" : "s",
		bad);
	return bad ? HIB_EXIT_ERROR : HIB_EXIT_OK;
}
