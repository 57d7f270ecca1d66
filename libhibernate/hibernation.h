/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the operations, one entry point each (DESIGN.md section 1).
 *
 *   hib_hibernate()   steps 1-7: prepare, freeze, policy thaw, sync, protect, snapshot,
 *                     write, power off; on the resumed side R5
 *   hib_resume()      R1-R4: find and verify the image, check the disk, invalidate, restore
 *   hib_recover()     finish what an interrupted hibernation left on the COW store
 *   hib_check()       can a hibernation run now?
 *
 * Inside, one function per step, each undoing its own half, the way kernel/power/hibernate.c
 * layers hibernate() -> hibernation_snapshot() -> create_image() (hibernation.c).  Nothing
 * is printed: what happens reaches the caller through struct hib_events, whose callbacks must
 * not allocate or block for long (they run while every other task is frozen).
 *
 * Return values: 0 or -errno.  The errno of the step that failed is in its HIB_EV_FAIL event;
 * the return value is that errno too, but for hib_resume(), which says -ENODATA when there
 * is no image to resume and -EBADMSG when the image is refused (corrupt, forged, stale, for
 * another kernel or host, wrong key).
 */
#ifndef LIBHIBERNATE_HIBERNATION_H
#define LIBHIBERNATE_HIBERNATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hib_dm_backend;
struct hib_policy;

/* The steps, for events (DESIGN.md section 1). */
enum hib_step {
	HIB_STEP_NONE = 0,
	HIB_STEP_PREPARE,	/* 1: configuration, target, buffers, policy, dm selection */
	HIB_STEP_FREEZE,	/* 2: freeze_processes(2) */
	HIB_STEP_POLICY,	/* 3: thaw the policy's helpers */
	HIB_STEP_SYNC,		/* 3b: sync every filesystem with a deadline */
	HIB_STEP_PROTECT,	/* 4: the protected filesystems on dm snapshots */
	HIB_STEP_SNAPSHOT,	/* 5: snapshot_kernel(2) */
	HIB_STEP_FS_THAW,	/* 5b: FITHAW */
	HIB_STEP_WRITE,		/* 6: the image through the pipeline into the target */
	HIB_STEP_POWEROFF,	/* 7 */
	HIB_STEP_ROLLBACK,	/* the abort rows: back to running */
	HIB_STEP_RESUMED,	/* R5: the resumed side */
	HIB_STEP_OPEN,		/* R1: find the image, check its header and the system */
	HIB_STEP_VERIFY,	/* R2: the protected origins unchanged */
	HIB_STEP_LOAD,		/* R1: every chunk verified into /dev/snapshot */
	HIB_STEP_INVALIDATE,	/* R3: one-shot */
	HIB_STEP_RESTORE,	/* R4: SNAPSHOT_ATOMIC_RESTORE */
	HIB_STEP_RECOVER,	/* the COW store's journal acted on */
	HIB_STEP_CHECK,		/* hib_check() */
	HIB_STEP_MAX,
};

/* The step's name ("freeze", "snapshot", ...), for logs and JSON. */
const char *hib_step_name(enum hib_step step);

enum hib_event_level {
	HIB_EV_FAIL = 0,	/* the operation fails here: one per failed call, the first error */
	HIB_EV_ERROR,		/* a further error on the way back (rollback), or a "no:" check */
	HIB_EV_WARNING,		/* goes on, but the user should know */
	HIB_EV_NOTICE,		/* what was done: the normal output */
	HIB_EV_DEBUG,
};

struct hib_event {
	enum hib_step step;
	enum hib_event_level level;
	int err;		/* -errno, or 0 */
	const char *msg;	/* one line, no newline; valid during the call only */
	bool detail;		/* a further line of the message before (a table row, an
				 * indented detail): printed without a prefix */
};

/* The summary of a hibernation (also in the HIB_STEP_POWEROFF notice). */
struct hib_hibernate_stats {
	uint64_t pages;
	uint64_t copied;		/* data pages copied at the snapshot */
	uint64_t streamed;		/* data pages read from their own frames */
	uint64_t rss_anon_kb;		/* our anonymous memory at the snapshot */
	uint64_t overhead_pages;	/* kept free for the writer after the snapshot */
	uint64_t raw;
	uint64_t comp;
	uint64_t chunks;
	unsigned int threads;
	double freeze_ms;
	double snapshot_ms;
	double write_ms;
	double sync_ms;
	/*
	 * Where write_ms went (hib_pipeline_stats()): CPU time of each stage summed over its
	 * threads (read(2) of the snapshot FD, XXH3, lz4, encryption, the sink's writes), the
	 * sink's wall time, and how long the reader waited for a free slot and the writer for
	 * the next chunk (wall).
	 */
	double read_ms;
	double csum_ms;
	double compress_ms;
	double encrypt_ms;
	double sink_ms;
	double sink_wall_ms;
	double read_wait_ms;
	double write_wait_ms;
};

struct hib_events {
	/* Every message; @ev and its string are valid during the call only. */
	void (*message)(void *userdata, const struct hib_event *ev);
	/* Image bytes done of @total (raw), @comp bytes stored so far. */
	void (*progress)(void *userdata, enum hib_step step, uint64_t raw, uint64_t comp,
			 uint64_t total);
	/* The image is complete: right before the power-off (or the thaw of --no-poweroff). */
	void (*summary)(void *userdata, const char *target, const struct hib_hibernate_stats *st);
	void *userdata;
};

/*
 * The summary table of @st (several lines, the last the HIBERNATE-STATS line) into @buf;
 * snprintf()'s return value.  Formats only: the caller prints it where it wants.
 */
int hib_summary_format(char *buf, size_t size, const char *target,
		       const struct hib_hibernate_stats *st);

/*
 * Where the system is.  NULL / 0 fields: the real one; the unit tests point them at fakes.
 */
struct hib_system {
	const char *proc_root;		/* /proc */
	const char *snapshot_dev;	/* /dev/snapshot */
	const char *notes_path;		/* /sys/kernel/notes */
	const char *machine_id_path;	/* /etc/machine-id */
	const char *mountinfo_path;	/* /proc/self/mountinfo */
	const char *sys_root;		/* /sys */
	const struct hib_dm_backend *dm_backend;	/* libdevmapper */
	pid_t self;			/* 0: getpid() */
	bool no_mlock;			/* skip mlockall() */
	bool no_poweroff_call;		/* tests: never call reboot(2), act as if it failed */
	/* hib_check(): also say whether the running kernel's initramfs carries the resume hook
	 * (initramfs-tools' scripts/local-premount/hibernate or dracut's 90hibernate); it lists
	 * the initramfs, which takes a second or two. */
	bool check_initramfs;
	const char *initramfs_path;	/* NULL: /boot/initrd.img-RELEASE, /boot/initramfs-RELEASE.img */
	const char *initramfs_lister;	/* NULL: lsinitramfs, else lsinitrd (/usr/sbin, /usr/bin, ...) */
};

/* hibernate's staged dry runs (like the kernel's pm_test): stop after the stage, roll back. */
enum hib_test_stage {
	HIB_TEST_NONE = 0,
	HIB_TEST_FREEZE,	/* steps 2, 3, 3b */
	HIB_TEST_DM,		/* and 4 */
	HIB_TEST_SNAPSHOT,	/* and 5, 5b */
};

struct hib_hibernate_opts {
	size_t sz;			/* sizeof(struct hib_hibernate_opts) */
	const struct hib_conf *conf;	/* resolved (hib_conf_resolve()); NULL: defaults */
	const char *target;		/* NULL: conf->target */
	const struct hib_policy *policy;	/* borrowed; NULL: load @policy_dir */
	const char *policy_dir;		/* NULL: HIB_POLICY_DEFAULT_DIR */
	bool no_poweroff;		/* write the image, then thaw and go on */
	enum hib_test_stage test;
	const struct hib_system *sys;	/* NULL: the real system */
};
#define HIB_HIBERNATE_OPTS_SZ_MIN offsetof(struct hib_hibernate_opts, sys)

/*
 * DESIGN.md steps 1-7.  Everything that can fail or allocate is done before the freeze;
 * any failure after it rolls back (dm switched back or merged, everything thawed, no valid
 * image left) before returning.  Returns 0 after a --no-poweroff run or a test stage, 1 on
 * the resumed side (R5 done), or -errno.  With a power-off it does not return.
 */
int hib_hibernate(const struct hib_hibernate_opts *opts, const struct hib_events *ev);

struct hib_resume_opts {
	size_t sz;			/* sizeof(struct hib_resume_opts) */
	const struct hib_conf *conf;	/* NULL: defaults */
	const char *source;		/* NULL: conf->target */
	bool recover;			/* nothing restored: hib_recover() (the initramfs) */
	bool migrate;			/* accept an image of another host (machine id) */
	const struct hib_system *sys;
};
#define HIB_RESUME_OPTS_SZ_MIN offsetof(struct hib_resume_opts, sys)

/*
 * R1-R4.  Does not return on success (the saved kernel takes over).  -ENODATA: no image;
 * -EBADMSG: the image was refused; -errno.  Nothing is restored on failure and the boot goes
 * on (after hib_recover() when @recover).
 */
int hib_resume(const struct hib_resume_opts *opts, const struct hib_events *ev);

/*
 * The COW store's journal (conf->cow): merge back what an interrupted hibernation left.
 * Number of filesystems merged (0: nothing to do), or -errno.  @quiet: no notice when
 * there is nothing to do.
 */
int hib_recover(const struct hib_conf *conf, const struct hib_system *sys, bool quiet,
		const struct hib_events *ev);

/*
 * Can a hibernation run now, to @target (NULL: conf->target; "" or none: not checked)?
 * Every finding is a HIB_EV_NOTICE ("ok: ...", "warning: ...", "note: ...") or HIB_EV_ERROR
 * ("no: ...") event.  1 if it can, 0 if not, -errno if the check itself failed.
 */
int hib_check(const struct hib_conf *conf, const char *target, const struct hib_system *sys,
	      const struct hib_events *ev);

/*
 * Open @path (a block device, a file or an http(s):// / s3+http(s):// URL) as a sink with
 * the HTTP settings of @conf: the one place a target becomes a sink.  0, or -errno with @why
 * (may be "" when the errno says it all).  On success @why may hold a warning (an S3 target
 * without credentials).
 */
struct hib_sink;
int hib_sink_open_conf(const struct hib_conf *conf, const char *path, int mode,
		       struct hib_sink **ret_sink, char *why, size_t why_size);

/*
 * R1's first half, for resume and `image info|verify`: open @path (@mode HIB_SINK_READ, or
 * HIB_SINK_UPDATE for a resume, which also brings up the network a URL needs) with @conf's
 * HTTP settings and key, and check the image header.  0, -ENODATA (no image), -EBADMSG (the
 * image refused), or -errno; each reported through @ev.
 */
struct hib_image_reader;
struct hib_image_info;

/*
 * May an image with header @info from @path be restored under @conf?  An unencrypted image
 * is not authenticated: anyone who can write where it lies can forge one.  Refused (-EBADMSG,
 * @why) from a URL always, from a local target unless [image] allow-unauthenticated; 1 when
 * allowed that way (the caller warns, @why says so), 0 for an encrypted image.
 */
int hib_image_authentic(const struct hib_conf *conf, const char *path,
			const struct hib_image_info *info, char *why, size_t why_size);

int hib_image_open(const struct hib_conf *conf, const char *path, int mode,
		   const struct hib_events *ev, struct hib_sink **ret_sink,
		   struct hib_image_reader **ret_reader);

#ifdef __cplusplus
}
#endif

#endif /* LIBHIBERNATE_HIBERNATION_H */
