// SPDX-License-Identifier: LGPL-2.1-or-later
/* The events of an operation (run.h): formatting into the run's buffer, the failure. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

static const char *const step_names[HIB_STEP_MAX] = {
	[HIB_STEP_NONE] = "none",
	[HIB_STEP_PREPARE] = "prepare",
	[HIB_STEP_FREEZE] = "freeze",
	[HIB_STEP_POLICY] = "policy",
	[HIB_STEP_SYNC] = "sync",
	[HIB_STEP_PROTECT] = "protect",
	[HIB_STEP_SNAPSHOT] = "snapshot",
	[HIB_STEP_FS_THAW] = "fs-thaw",
	[HIB_STEP_WRITE] = "write",
	[HIB_STEP_POWEROFF] = "poweroff",
	[HIB_STEP_ROLLBACK] = "rollback",
	[HIB_STEP_RESUMED] = "resumed",
	[HIB_STEP_OPEN] = "open",
	[HIB_STEP_VERIFY] = "verify",
	[HIB_STEP_LOAD] = "load",
	[HIB_STEP_INVALIDATE] = "invalidate",
	[HIB_STEP_RESTORE] = "restore",
	[HIB_STEP_RECOVER] = "recover",
	[HIB_STEP_CHECK] = "check",
};

const char *hib_step_name(enum hib_step step)
{
	return step >= 0 && step < HIB_STEP_MAX && step_names[step] ? step_names[step] : "?";
}

void hib_run_init(struct hib_run *run, const struct hib_conf *conf, struct hib_conf *defaults,
		  const struct hib_system *sys, const struct hib_events *ev)
{
	memset(run, 0, sizeof(*run));
	if (!conf && defaults) {
		memset(defaults, 0, sizeof(*defaults));
		conf = defaults;
	}
	run->conf = conf;
	run->ev = ev;
	if (sys)
		run->sys = *sys;
	if (!run->sys.self)
		run->sys.self = getpid();
}

static void emit(struct hib_run *run, enum hib_step step, enum hib_event_level level, int err,
		 bool detail, const char *fmt, va_list ap)
{
	struct hib_event ev = {
		.step = step, .level = level, .err = err, .msg = run->msg, .detail = detail,
	};

	if (!run->ev || !run->ev->message)
		return;
	vsnprintf(run->msg, sizeof(run->msg), fmt, ap);
	run->ev->message(run->ev->userdata, &ev);
}

void hib_emit(struct hib_run *run, enum hib_step step, enum hib_event_level level, int err,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(run, step, level, err, false, fmt, ap);
	va_end(ap);
}

void hib_emit_detail(struct hib_run *run, enum hib_step step, enum hib_event_level level,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(run, step, level, 0, true, fmt, ap);
	va_end(ap);
}

int hib_fail(struct hib_run *run, enum hib_step step, int err, const char *fmt, ...)
{
	enum hib_event_level level = run->failed ? HIB_EV_ERROR : HIB_EV_FAIL;
	va_list ap;

	if (!run->failed) {
		run->failed = true;
		run->fail_step = step;
		run->fail_err = err;
	}
	va_start(ap, fmt);
	emit(run, step, level, err, false, fmt, ap);
	va_end(ap);
	return err;
}

void hib_sanitize(char *dst, size_t dst_size, const char *src, size_t src_size)
{
	size_t i;

	if (dst_size == 0)
		return;
	for (i = 0; i + 1 < dst_size && i < src_size && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

int hib_summary_format(char *buf, size_t size, const char *target,
		       const struct hib_hibernate_stats *s)
{
	double secs = s->write_ms / 1e3;

	return snprintf(buf, size,
		"hibernation image written to %s\n"
		"  %-18s %" PRIu64 "\n"
		"  %-18s %" PRIu64 " copied (%.1f MiB), %" PRIu64 " streamed from frames\n"
		"  %-18s %.1f MiB anonymous at the snapshot (copied), %.1f MiB kept free for its "
		"buffers\n"
		"  %-18s %" PRIu64 " (%.1f MiB)\n"
		"  %-18s %" PRIu64 " (%.1f MiB)\n"
		"  %-18s %.2f\n"
		"  %-18s %.1f (raw), %.1f (written)\n"
		"  %-18s %" PRIu64 " on %u threads\n"
		"  %-18s %10s\n"
		"  %-18s %10.1f\n"
		"  %-18s %10.1f\n"
		"  %-18s %10.1f\n"
		"  %-18s %10.1f\n"
		"  %-18s %10.1f\n"
		"  %-18s read %.1f, checksum %.1f, compress %.1f, encrypt %.1f, sink %.1f "
		"(wall %.1f)\n"
		"  %-18s reader %.1f (slots full), writer %.1f (next chunk not ready)\n"
		"HIBERNATE-STATS pages=%" PRIu64 " raw=%" PRIu64 " compressed=%" PRIu64
		" chunks=%" PRIu64 " threads=%u freeze_ms=%.1f snapshot_ms=%.1f write_ms=%.1f"
		" sync_ms=%.1f copied=%" PRIu64 " streamed=%" PRIu64 " read_ms=%.1f csum_ms=%.1f"
		" compress_ms=%.1f encrypt_ms=%.1f sink_ms=%.1f sink_wall_ms=%.1f read_wait_ms=%.1f"
		" write_wait_ms=%.1f\n",
		target, "pages", s->pages,
		"data pages", s->copied, mib(s->copied * 4096), s->streamed,
		"writer memory", s->rss_anon_kb / 1024.0, mib(s->overhead_pages * 4096),
		"bytes in (raw)", s->raw, mib(s->raw),
		"bytes out", s->comp, mib(s->comp),
		"ratio", s->comp ? (double)s->raw / (double)s->comp : 0.0,
		"MB/s", secs > 0 ? (double)s->raw / 1e6 / secs : 0.0,
		secs > 0 ? (double)s->comp / 1e6 / secs : 0.0,
		"chunks", s->chunks, s->threads,
		"step", "ms",
		"freeze", s->freeze_ms,
		"snapshot", s->snapshot_ms,
		"write", s->write_ms,
		"sync", s->sync_ms,
		"total", s->freeze_ms + s->snapshot_ms + s->write_ms + s->sync_ms,
		"stage CPU ms", s->read_ms, s->csum_ms, s->compress_ms, s->encrypt_ms, s->sink_ms,
		s->sink_wall_ms,
		"stall ms", s->read_wait_ms, s->write_wait_ms,
		s->pages, s->raw, s->comp, s->chunks, s->threads, s->freeze_ms, s->snapshot_ms,
		s->write_ms, s->sync_ms, s->copied, s->streamed, s->read_ms, s->csum_ms,
		s->compress_ms, s->encrypt_ms, s->sink_ms, s->sink_wall_ms, s->read_wait_ms,
		s->write_wait_ms);
}
