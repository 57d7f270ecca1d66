// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fault injection and test actions (fault.h): compiled into test builds only.  Everything is
 * parsed by hib_fault_arm() before anything is frozen; the hooks only read what it stored.
 */
#ifdef HIB_FAULT_INJECTION

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "image.h"
#include "run.h"

static struct {
	enum hib_step fail_step;
	int fail_err;
	uint8_t build_id[HIB_BUILD_ID_MAX];
	uint32_t build_id_len;
	char window[NAME_MAX + 1];
	unsigned long window_mib;
	pid_t poke_pid;
	char poke_file[PATH_MAX];
	char sysrq;
	bool forge;
} armed;

void hib_fault_disarm(void)
{
	memset(&armed, 0, sizeof(armed));
}

static int parse_hex(const char *hex, uint8_t *out, uint32_t *ret_len)
{
	size_t i, n = strlen(hex);

	if (n == 0 || n % 2 || n / 2 > HIB_BUILD_ID_MAX)
		return -EINVAL;
	for (i = 0; i < n; i += 2) {
		char byte[3] = { hex[i], hex[i + 1], 0 };

		if (!isxdigit((unsigned char)byte[0]) || !isxdigit((unsigned char)byte[1]))
			return -EINVAL;
		out[i / 2] = (uint8_t)strtoul(byte, NULL, 16);
	}
	*ret_len = (uint32_t)(n / 2);
	return 0;
}

static int arm_one(char *item, char *why, size_t why_size)
{
	char orig[PATH_MAX * 2], *val = strchr(item, '='), *colon, *end;
	enum hib_step s;

	snprintf(orig, sizeof(orig), "%s", item);
	if (!val)
		goto bad;
	*val++ = 0;
	colon = strchr(val, ':');
	if (!strcmp(item, "fail")) {
		if (colon)
			*colon++ = 0;
		for (s = HIB_STEP_PREPARE; s < HIB_STEP_MAX; s++)
			if (!strcmp(val, hib_step_name(s)))
				break;
		if (s == HIB_STEP_MAX)
			goto bad;
		armed.fail_step = s;
		armed.fail_err = EIO;
		if (colon) {
			armed.fail_err = (int)strtol(colon, &end, 10);
			if (*end || armed.fail_err <= 0 || armed.fail_err > 4095)
				goto bad;
		}
	} else if (!strcmp(item, "build-id")) {
		if (parse_hex(val, armed.build_id, &armed.build_id_len) < 0)
			goto bad;
	} else if (!strcmp(item, "window-write")) {
		if (colon)
			*colon++ = 0;
		if (!*val || strchr(val, '/') || strlen(val) >= sizeof(armed.window))
			goto bad;
		strcpy(armed.window, val);
		armed.window_mib = 1;
		if (colon) {
			armed.window_mib = strtoul(colon, &end, 10);
			if (*end || !armed.window_mib || armed.window_mib > 4096)
				goto bad;
		}
	} else if (!strcmp(item, "forge")) {
		if (strcmp(val, "unauthenticated"))
			goto bad;
		armed.forge = true;
	} else if (!strcmp(item, "poke")) {
		long pid = strtol(val, &end, 10);

		if (pid <= 0 || *end != ':' || !end[1] || strlen(end + 1) >= sizeof(armed.poke_file))
			goto bad;
		armed.poke_pid = (pid_t)pid;
		strcpy(armed.poke_file, end + 1);
	} else if (!strcmp(item, "sysrq")) {
		if (strcmp(val, "f"))
			goto bad;
		armed.sysrq = 'f';
	} else {
		goto bad;
	}
	return 0;
bad:
	snprintf(why, why_size, "%s: cannot parse '%s' (fail=STEP[:ERRNO], build-id=HEX, "
		 "window-write=NAME[:MIB], poke=PID:FILE, sysrq=f, forge=unauthenticated)",
		 HIB_FAULT_ENV, orig);
	return -EINVAL;
}

int hib_fault_arm(const char *spec, char *why, size_t why_size)
{
	char buf[PATH_MAX * 2], *item, *save;

	hib_fault_disarm();
	if (!spec)
		spec = getenv(HIB_FAULT_ENV);
	if (!spec || !*spec)
		return 0;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(why, why_size, "%s is too long", HIB_FAULT_ENV);
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (arm_one(item, why, why_size) < 0) {
			hib_fault_disarm();
			return -EINVAL;
		}
	return 1;
}

/* A step of the resume (R1-R4): it runs with nothing frozen, nothing to thaw on failure. */
static bool resume_step(enum hib_step step)
{
	switch (step) {
	case HIB_STEP_OPEN:
	case HIB_STEP_VERIFY:
	case HIB_STEP_LOAD:
	case HIB_STEP_INVALIDATE:
	case HIB_STEP_RESTORE:
		return true;
	default:
		return false;
	}
}

int hib_fault_step(struct hib_run *run, enum hib_step step)
{
	if (!armed.fail_step || armed.fail_step != step)
		return 0;
	return hib_fail(run, step, -armed.fail_err, "fault injected at %s (%s=fail=%s)%s",
			hib_step_name(step), HIB_FAULT_ENV, hib_step_name(step),
			resume_step(step) ? "" : "; everything was thawed again");
}

bool hib_fault_build_id(struct hib_run *run, struct hib_image_info *id)
{
	char bid[2 * HIB_BUILD_ID_MAX + 1];

	if (!armed.build_id_len)
		return false;
	memset(id->build_id, 0, sizeof(id->build_id));
	memcpy(id->build_id, armed.build_id, armed.build_id_len);
	id->build_id_len = armed.build_id_len;
	hib_build_id_hex(id, bid, sizeof(bid));
	hib_warning(run, HIB_STEP_PREPARE, 0, "test hook: writing kernel build id %s into the "
		    "image header (%s=build-id=)", bid, HIB_FAULT_ENV);
	return true;
}

void hib_fault_window_write(struct hib_run *run, const char *mountpoint)
{
	static char block[65536];
	char path[PATH_MAX + 300], msg[128];
	unsigned long k;
	int fd, len;

	if (!armed.window[0])
		return;
	memset(block, 'w', sizeof(block));
	snprintf(path, sizeof(path), "%s/%s", mountpoint, armed.window);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		len = snprintf(msg, sizeof(msg), "written in the window after the snapshot\n");
		if (write(fd, msg, (size_t)len) != len || fsync(fd) < 0)
			hib_warning(run, HIB_STEP_FS_THAW, -errno, "test hook: %s: %m", path);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/%s.big", mountpoint, armed.window);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		hib_warning(run, HIB_STEP_FS_THAW, -errno, "test hook: %s: %m", path);
		return;
	}
	for (k = 0; k < armed.window_mib * 16; k++)
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			break;
	if (k < armed.window_mib * 16 || fsync(fd) < 0)
		hib_warning(run, HIB_STEP_FS_THAW, -errno, "test hook: writing %s stopped after "
			    "%lu KiB: %m", path, k * 64);
	close(fd);
	hib_warning(run, HIB_STEP_FS_THAW, 0, "test hook: wrote %s/%s and %s.big (%lu MiB) after "
		    "the snapshot", mountpoint, armed.window, armed.window, armed.window_mib);
}

bool hib_fault_forge(struct hib_run *run)
{
	if (armed.forge)
		hib_warning(run, HIB_STEP_PREPARE, 0, "test hook: writing an unauthenticated image "
			    "anyway (%s=forge=unauthenticated)", HIB_FAULT_ENV);
	return armed.forge;
}

static void poke(struct hib_run *run)
{
	int i;

	if (kill(armed.poke_pid, SIGUSR2) < 0) {
		hib_warning(run, HIB_STEP_FS_THAW, -errno, "test hook: kill %d: %m",
			    (int)armed.poke_pid);
		return;
	}
	for (i = 0; i < 500 && access(armed.poke_file, F_OK) < 0; i++)
		usleep(20000);
	hib_warning(run, HIB_STEP_FS_THAW, 0, "test hook: pid %d %s its memory after the snapshot",
		    (int)armed.poke_pid, i < 500 ? "rewrote" : "did not say it rewrote");
}

/*
 * The OOM killer by hand (sysrq f), then its verdict from the kernel log: the sysrq work runs
 * asynchronously, so wait (up to 10 s) for the line that names the victim or says there was
 * none, and report the lines that matter on the console.
 */
static void sysrq_oom(struct hib_run *run)
{
	static const char *const verdicts[] = { "Killed process", "No task eligible" };
	static const char *const shown[] = { "Killed process", "No task eligible",
					     "Manual OOM", "invoked oom-killer" };
	int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC), trig, i, waited = 0;
	bool done = false;
	char rec[2048];

	if (kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0) {
		hib_warning(run, HIB_STEP_FS_THAW, -errno, "test hook: /dev/kmsg: %m");
		goto out;
	}
	trig = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (trig < 0 || write(trig, "f", 1) != 1) {
		hib_warning(run, HIB_STEP_FS_THAW, -errno, "test hook: sysrq f: %m");
		if (trig >= 0)
			close(trig);
		goto out;
	}
	close(trig);
	while (!done && waited < 10000) {
		struct pollfd p = { .fd = kmsg, .events = POLLIN };
		ssize_t n;
		char *msg;

		if (poll(&p, 1, 100) <= 0) {
			waited += 100;
			continue;
		}
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n <= 0)
			continue;	/* EPIPE: records overwritten; go on with the next */
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		for (i = 0; i < (int)(sizeof(shown) / sizeof(shown[0])); i++)
			if (strstr(msg, shown[i]))
				hib_warning(run, HIB_STEP_FS_THAW, 0, "test hook: sysrq f: %s", msg);
		for (i = 0; i < (int)(sizeof(verdicts) / sizeof(verdicts[0])); i++)
			done |= strstr(msg, verdicts[i]) != NULL;
	}
	if (!done)
		hib_warning(run, HIB_STEP_FS_THAW, 0, "test hook: sysrq f: no verdict in the kernel "
			    "log after 10 s");
out:
	if (kmsg >= 0)
		close(kmsg);
}

void hib_fault_after_snapshot(struct hib_run *run)
{
	if (armed.poke_pid)
		poke(run);
	if (armed.sysrq == 'f')
		sysrq_oom(run);
}

#endif /* HIB_FAULT_INJECTION */
