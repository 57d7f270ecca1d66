// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl hibernate / resume / image: front ends of libhibernate's hib_hibernate() and
 * hib_resume() (hibernation.h), and `image info|verify`.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/suspend_ioctls.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "events.h"
#include "fault.h"
#include "hibernation.h"
#include "image.h"
#include "http.h"
#include "macro.h"

#define PROG "hibernatectl"

/* ---- hibernate and resume: libhibernate does them (hibernation.h) --------------------------- */

/* Arm $HIBERNATE_FAULT in a test build; in any other it is refused.  0 or an exit code. */
static int arm_faults(const struct hibctl_ctx *ctx)
{
	char why[512] = "";
	int r = hib_fault_arm(NULL, why, sizeof(why));

	if (r == -EOPNOTSUPP) {
		fprintf(ctx->err, PROG ": %s is set, but this hibernatectl is not a test build "
			"(meson -Dfault-injection=true); nothing was frozen\n", HIB_FAULT_ENV);
		return HIB_EXIT_ERROR;
	}
	if (r < 0) {
		fprintf(ctx->err, PROG ": %s; nothing was frozen\n", why);
		return HIB_EXIT_ERROR;
	}
	return 0;
}

int hibctl_cmd_hibernate(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_conf *conf = NULL;
	struct hibctl_events pe;
	struct hib_system sys;
	struct hib_hibernate_opts opts = {
		.sz = sizeof(opts),
		.target = args->path,
		.policy = ctx->policy,
		.policy_dir = ctx->policy ? "hibernated's policy" : args->policy_dir,
		.no_poweroff = args->no_poweroff,
		.test = (enum hib_test_stage)args->test,
		.sys = &sys,
	};
	int r, ret;

	ret = hibctl_begin(ctx, args, "writing image", &conf, &sys, &pe);
	if (ret)
		return ret;
	ret = arm_faults(ctx);
	if (ret)
		return ret;
	opts.conf = conf;
	fflush(ctx->out);
	fflush(ctx->err);
	r = hib_hibernate(&opts, &pe.ev);
	hib_fault_disarm();
	hib_conf_wipe(conf);
	return hibctl_exit_for(&pe, r);
}

int hibctl_cmd_resume(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_conf *conf = NULL;
	struct hibctl_events pe;
	struct hib_system sys;
	struct hib_resume_opts opts = {
		.sz = sizeof(opts),
		.source = args->path,
		.recover = true,
		.migrate = args->migrate,
		.sys = &sys,
	};
	int r, ret;

	/* No configuration, no resume: the boot goes on. */
	ret = hibctl_begin(ctx, args, "loading image", &conf, &sys, &pe);
	if (ret)
		return ret;
	ret = arm_faults(ctx);
	if (ret)
		return ret;
	opts.conf = conf;
	r = hib_resume(&opts, &pe.ev);
	hib_fault_disarm();
	hib_conf_wipe(conf);
	if (r == -ENODATA)
		return HIB_EXIT_NOIMAGE;
	if (r == -EBADMSG)
		return HIB_EXIT_BADIMAGE;
	return hibctl_exit_for(&pe, r);
}

/* ---- image info / verify ------------------------------------------------------------------- */

static const char *cipher_name(uint32_t cipher)
{
	switch (cipher) {
	case HIB_CIPHER_NONE:
		return "none";
	case HIB_CIPHER_XCHACHA20POLY1305:
		return "xchacha20poly1305";
	}
	return "?";
}

static void info_text(FILE *f, const char *path, const struct hib_image_info *i,
		      const struct hib_final *fin)
{
	char bid[2 * HIB_BUILD_ID_MAX + 1], when[64];
	time_t t = (time_t)i->created;
	struct tm tm;

	hib_build_id_hex(i, bid, sizeof(bid));
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(when, sizeof(when), "?");
	fprintf(f, "hibernation image on %s\n", path);
	fprintf(f, "  %-17s %u\n", "format version", i->version);
	fprintf(f, "  %-17s %s\n", "valid", "yes");
	fprintf(f, "  %-17s %s\n", "kernel release", i->kernel_release);
	fprintf(f, "  %-17s %s\n", "kernel version", i->kernel_version);
	fprintf(f, "  %-17s %s\n", "build id", bid[0] ? bid : "-");
	fprintf(f, "  %-17s %s\n", "host id", i->host_id[0] ? i->host_id : "-");
	fprintf(f, "  %-17s %s (%" PRIu64 ")\n", "created", when, i->created);
	fprintf(f, "  %-17s %u\n", "page size", i->page_size);
	fprintf(f, "  %-17s %" PRIu64 "\n", "pages", i->image_pages);
	fprintf(f, "  %-17s %" PRIu64 "\n", "raw bytes", i->raw_bytes);
	fprintf(f, "  %-17s %" PRIu64 "\n", "compressed bytes", fin->comp_bytes);
	fprintf(f, "  %-17s %.2f\n", "ratio",
		fin->comp_bytes ? (double)i->raw_bytes / (double)fin->comp_bytes : 0.0);
	fprintf(f, "  %-17s %" PRIu64 " of %u bytes\n", "chunks", fin->chunks, i->chunk_size);
	fprintf(f, "  %-17s %s\n", "codec", i->codec == HIB_CODEC_LZ4 ? "lz4" : "?");
	fprintf(f, "  %-17s %s\n", "cipher", cipher_name(i->cipher));
	for (uint32_t k = 0; k < i->n_origins; k++)
		fprintf(f, "  %-17s %s%s%s, %" PRIu64 " sectors\n", "protected origin",
			i->origins[k].name, i->origins[k].uuid[0] ? " uuid " : "",
			i->origins[k].uuid, i->origins[k].sectors);
}

static int info_json(FILE *f, const char *path, const struct hib_image_info *i,
		     const struct hib_final *fin, int verified)
{
	struct json_object *o = json_object_new_object();
	char bid[2 * HIB_BUILD_ID_MAX + 1];
	int r = 0;

	if (!o)
		return -ENOMEM;
	hib_build_id_hex(i, bid, sizeof(bid));
	if (json_object_object_add(o, "path", json_object_new_string(path)) < 0 ||
	    json_object_object_add(o, "version", json_object_new_int64(i->version)) < 0 ||
	    json_object_object_add(o, "valid", json_object_new_boolean(1)) < 0 ||
	    json_object_object_add(o, "kernel_release",
				   json_object_new_string(i->kernel_release)) < 0 ||
	    json_object_object_add(o, "kernel_version",
				   json_object_new_string(i->kernel_version)) < 0 ||
	    json_object_object_add(o, "build_id", json_object_new_string(bid)) < 0 ||
	    json_object_object_add(o, "host_id", json_object_new_string(i->host_id)) < 0 ||
	    json_object_object_add(o, "created", json_object_new_int64((int64_t)i->created)) < 0 ||
	    json_object_object_add(o, "page_size", json_object_new_int64(i->page_size)) < 0 ||
	    json_object_object_add(o, "pages", json_object_new_int64((int64_t)i->image_pages)) < 0 ||
	    json_object_object_add(o, "raw_bytes",
				   json_object_new_int64((int64_t)i->raw_bytes)) < 0 ||
	    json_object_object_add(o, "compressed_bytes",
				   json_object_new_int64((int64_t)fin->comp_bytes)) < 0 ||
	    json_object_object_add(o, "chunks", json_object_new_int64((int64_t)fin->chunks)) < 0 ||
	    json_object_object_add(o, "chunk_size", json_object_new_int64(i->chunk_size)) < 0 ||
	    json_object_object_add(o, "codec", json_object_new_string("lz4")) < 0 ||
	    json_object_object_add(o, "cipher",
				   json_object_new_string(cipher_name(i->cipher))) < 0 ||
	    (verified >= 0 &&
	     json_object_object_add(o, "verified", json_object_new_boolean(verified)) < 0))
		r = -ENOMEM;
	if (r == 0)
		hibctl_json_print(f, o);
	json_object_put(o);
	return r;
}

static void verify_progress(void *ud, uint64_t in, uint64_t out)
{
	struct hibctl_events *pe = ud;

	pe->ev.progress(pe, HIB_STEP_LOAD, out, in, pe->total);
}

/* --json when there is no image to describe: {"path", "valid": false, "error"}. */
static void error_json(FILE *f, const char *path, const char *why)
{
	struct json_object *o = json_object_new_object();

	if (o && json_object_object_add(o, "path", json_object_new_string(path)) == 0 &&
	    json_object_object_add(o, "valid", json_object_new_boolean(0)) == 0 &&
	    json_object_object_add(o, "error", json_object_new_string(why)) == 0)
		hibctl_json_print(f, o);
	json_object_put(o);
}

int hibctl_cmd_image(const struct hibctl_ctx *ctx, const struct hibctl_args *args)
{
	_cleanup_free_ struct hib_conf *conf = NULL;
	struct hibctl_events pe;
	struct hib_image_reader *rd = NULL;
	struct hib_pipeline *p = NULL;
	struct hib_sink *sink = NULL;
	int r, ret, fd = -1;
	uint64_t off = 0;

	ret = hibctl_conf(ctx, args, &conf);
	if (ret)
		return ret;
	hibctl_events_init(&pe, ctx, "verifying image");
	pe.quiet = args->json;
	r = hib_image_open(conf, args->path, HIB_SINK_READ, &pe.ev, &sink, &rd);
	if (r < 0)
		hib_conf_wipe(conf);
	if (r < 0 && args->json)
		error_json(ctx->out, args->path, pe.last_msg);
	if (r < 0)
		return r == -ENODATA ? HIB_EXIT_NOIMAGE : r == -EBADMSG ? HIB_EXIT_BADIMAGE :
		       HIB_EXIT_ERROR;
	ret = HIB_EXIT_ERROR;

	if (args->command == HIBCTL_CMD_IMAGE_INFO) {
		r = 0;
		if (args->json)
			r = info_json(ctx->out, args->path, hib_image_reader_info(rd),
				      hib_image_reader_final(rd), -1);
		else
			info_text(ctx->out, args->path, hib_image_reader_info(rd),
				  hib_image_reader_final(rd));
		ret = args->json && r < 0 ? HIB_EXIT_ERROR : HIB_EXIT_OK;
		goto out;
	}

	/* verify: would resume take it?  Then the resume path into /dev/null. */
	{
		char why[PATH_MAX + 512];

		r = hib_image_authentic(conf, args->path, hib_image_reader_info(rd), why,
					sizeof(why));
		if (r < 0) {
			fprintf(ctx->err, PROG ": hibernation image on %s refused: %s\n", args->path,
				why);
			if (args->json)
				error_json(ctx->out, args->path, why);
			ret = HIB_EXIT_BADIMAGE;
			goto out;
		}
		if (r > 0)
			fprintf(ctx->err, PROG ": %s\n", why);
	}
	/* verify: the resume path into /dev/null. */
	r = hib_pipeline_new(args->threads, hib_image_reader_info(rd)->chunk_size, &p);
	if (r < 0) {
		fprintf(ctx->err, PROG ": cannot start the pipeline: %s\n", hib_strerror(r));
		if (args->json)
			error_json(ctx->out, args->path, hib_strerror(r));
		goto out;
	}
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fprintf(ctx->err, PROG ": /dev/null: %s\n", hib_strerror(r));
		if (args->json)
			error_json(ctx->out, args->path, hib_strerror(r));
		goto out;
	}
	pe.total = hib_image_reader_info(rd)->raw_bytes;
	pe.ev.progress(&pe, HIB_STEP_LOAD, 0, 0, pe.total);
	r = hib_pipeline_decompress_fd(p, rd, fd, verify_progress, &pe);
	if (r < 0) {
		const char *reason = hib_image_reader_why(rd, &off);

		fprintf(ctx->err, PROG ": hibernation image on %s is bad: %s (offset %" PRIu64
			")\n", args->path, reason[0] ? reason : hib_strerror(r), off);
		if (args->json)
			info_json(ctx->out, args->path, hib_image_reader_info(rd),
				  hib_image_reader_final(rd), 0);
		ret = r == -EBADMSG ? HIB_EXIT_BADIMAGE : HIB_EXIT_ERROR;
		goto out;
	}
	if (args->json) {
		info_json(ctx->out, args->path, hib_image_reader_info(rd),
			  hib_image_reader_final(rd), 1);
	} else {
		info_text(ctx->out, args->path, hib_image_reader_info(rd),
			  hib_image_reader_final(rd));
		fprintf(ctx->out, "image verified: %" PRIu64 " chunks and the FINAL record check "
			"out\n", hib_image_reader_final(rd)->chunks);
	}
	ret = HIB_EXIT_OK;
out:
	hib_conf_wipe(conf);
	if (fd >= 0)
		close(fd);
	hib_pipeline_free(p);
	hib_image_reader_free(rd);
	hib_sink_close(sink);
	return ret;
}
