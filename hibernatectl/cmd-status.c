// SPDX-License-Identifier: GPL-2.0-only
/* hibernatectl status [--json] */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "macro.h"

#define PROG "hibernatectl"

static struct json_object *tri_json(int v)
{
	if (v == HIB_TRI_UNKNOWN)
		return NULL;	/* JSON null */
	return json_object_new_boolean(v == HIB_TRI_YES);
}

static const char *tri_text(int v)
{
	return v == HIB_TRI_YES ? "1" : v == HIB_TRI_NO ? "0" : "-";
}

static const char *proc_word(const struct hib_proc_info *p)
{
	if (hib_proc_info_freezing(p))
		return "freezing";
	if (p->threads > 0 && p->threads_frozen == p->threads)
		return "frozen";
	if (p->threads_frozen > 0)
		return "partial";
	return "running";
}

/* json_object_object_add() takes ownership even of NULL; fail only if the value was needed. */
static int add(struct json_object *o, const char *key, struct json_object *v, bool may_be_null)
{
	if (!v && !may_be_null)
		return -ENOMEM;
	return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static struct json_object *proc_json(const struct hib_proc_info *p)
{
	char comm[HIB_COMM_MAX], wchan[HIB_WCHAN_MAX], state[2];
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	hib_sanitize(comm, sizeof(comm), p->comm, sizeof(p->comm));
	hib_sanitize(wchan, sizeof(wchan), p->wchan, sizeof(p->wchan));
	state[0] = p->state >= 0x21 && p->state < 0x7f ? p->state : '?';
	state[1] = '\0';

	if (add(o, "pid", json_object_new_int(p->pid), false) < 0 ||
	    add(o, "ppid", json_object_new_int(p->ppid), false) < 0 ||
	    add(o, "uid", json_object_new_int64(p->uid), false) < 0 ||
	    add(o, "comm", json_object_new_string(comm), false) < 0 ||
	    add(o, "state", json_object_new_string(state), false) < 0 ||
	    add(o, "status", json_object_new_string(proc_word(p)), false) < 0 ||
	    add(o, "frozen", tri_json(p->frozen), true) < 0 ||
	    add(o, "user_frozen", tri_json(p->user_frozen), true) < 0 ||
	    add(o, "threads", json_object_new_int64(p->threads), false) < 0 ||
	    add(o, "threads_frozen", json_object_new_int64(p->threads_frozen), false) < 0 ||
	    add(o, "threads_user_frozen", json_object_new_int64(p->threads_user_frozen),
		false) < 0 ||
	    add(o, "wchan", wchan[0] ? json_object_new_string(wchan) : NULL, true) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *hibctl_status_json(bool supported, bool fields,
				       const struct hib_proc_info *procs, size_t n)
{
	struct json_object *root = json_object_new_object(), *arr;
	size_t i;

	if (!root)
		return NULL;
	arr = json_object_new_array();
	if (add(root, "kernel_support", json_object_new_boolean(supported), false) < 0 ||
	    add(root, "proc_fields", json_object_new_boolean(fields), false) < 0 ||
	    add(root, "processes", arr, false) < 0) {
		json_object_put(root);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct json_object *o = proc_json(&procs[i]);

		if (!o || json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			json_object_put(root);
			return NULL;
		}
	}
	return root;
}

void hibctl_status_text(FILE *f, bool supported, bool fields, const struct hib_proc_info *procs,
			size_t n)
{
	size_t i;

	fprintf(f, "kernel support: %s\n", supported ? "yes (freeze_processes(2) present)" :
		"no (this kernel lacks freeze_processes(2))");
	fprintf(f, "freezer state in /proc: %s\n", fields ? "yes" :
		"unknown (no Frozen: line in /proc/PID/status)");
	fprintf(f, "frozen or freezing processes: %zu\n", n);
	if (n == 0)
		return;
	fprintf(f, "%8s %-5s %-8s %-6s %-10s %-9s %-16s %s\n", "PID", "STATE", "STATUS",
		"FROZEN", "USERFROZEN", "THREADS", "COMM", "WCHAN");
	for (i = 0; i < n; i++) {
		const struct hib_proc_info *p = &procs[i];
		char comm[HIB_COMM_MAX], wchan[HIB_WCHAN_MAX], threads[32];
		char state = p->state >= 0x21 && p->state < 0x7f ? p->state : '?';

		hib_sanitize(comm, sizeof(comm), p->comm, sizeof(p->comm));
		hib_sanitize(wchan, sizeof(wchan), p->wchan, sizeof(p->wchan));
		snprintf(threads, sizeof(threads), "%u/%u", p->threads_frozen, p->threads);
		fprintf(f, "%8d %-5c %-8s %-6s %-10s %-9s %-16s %s\n", p->pid, state,
			proc_word(p), tri_text(p->frozen), tri_text(p->user_frozen), threads, comm,
			wchan[0] ? wchan : "-");
	}
}

int hibctl_cmd_status(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_proc_info *procs = NULL;
	bool supported, fields = false;
	size_t n = 0;
	int r;

	supported = hib_probe();
	r = hib_scan_frozen(ctx->proc_root, false, &procs, &n, &fields);
	if (r < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "cannot scan /proc: %s", hib_strerror(r));
		fprintf(ctx->err, PROG ": %s\n", msg);
		if (args->json)
			hibctl_json_error(ctx->out, msg, HIB_EXIT_ERROR);
		return HIB_EXIT_ERROR;
	}

	if (args->json) {
		struct json_object *o = hibctl_status_json(supported, fields, procs, n);

		if (!o) {
			fprintf(ctx->err, PROG ": %s\n", hib_strerror(-ENOMEM));
			return hibctl_json_error(ctx->out, hib_strerror(-ENOMEM),
						 HIB_EXIT_ERROR);
		}
		fprintf(ctx->out, "%s\n", json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		hibctl_status_text(ctx->out, supported, fields, procs, n);
	}
	return HIB_EXIT_OK;
}
