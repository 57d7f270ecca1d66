/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hibernated's request: the line protocol a client speaks (doc/hibernated.8.md, PROTOCOL).
 *
 * The client sends "key=value\n" lines and an empty line, HIBD_REQ_MAX bytes at most in all
 * (the empty line included); the daemon answers with lines of text and, last,
 * "hibernated: exit N\n" with hibernatectl's exit codes.  Kept apart from hibernated.c so
 * that every refusal can be unit-tested (tests/unit/test-request.c).
 */
#ifndef HIBERNATED_REQUEST_H
#define HIBERNATED_REQUEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hibernation.h"

#define HIBD_REQ_MAX	4096
#define HIBD_WHY_MAX	512

#include "exit-codes.h"	/* HIB_EXIT_*: a reply's code is hibernatectl's exit code */

enum hibd_op {
	HIBD_OP_NONE = 0,
	HIBD_OP_HIBERNATE,
	HIBD_OP_STATUS,
	HIBD_OP_CHECK,
};

/* Who asks (SO_PEERCRED, SO_PEERGROUPS). */
enum hibd_peer {
	HIBD_PEER_OTHER = 0,	/* op=status only */
	HIBD_PEER_GROUP,	/* a member of --group: op=hibernate [test=], status, check */
	HIBD_PEER_ROOT,		/* everything */
};

/* The keys, also the bits of hibd_request.seen. */
enum hibd_key {
	HIBD_KEY_OP = 0,
	HIBD_KEY_TEST,
	/* root only from here on */
	HIBD_KEY_TARGET,
	HIBD_KEY_NO_POWEROFF,
	HIBD_KEY_CONFIG,
	HIBD_KEY_COW,
	HIBD_KEY_KEY_FILE,
	HIBD_KEY_PASSPHRASE_FILE,
	HIBD_KEY_THREADS,
	HIBD_KEY_SYNC_TIMEOUT_MS,
	HIBD_KEY_FREEZE_TIMEOUT_MS,
	HIBD_KEY_NO_STREAM,
	HIBD_KEY_MAX,
};

struct hibd_request {
	enum hibd_op op;
	enum hib_test_stage test;
	/* "" when not given */
	char target[PATH_MAX];
	char config[PATH_MAX];
	char cow[PATH_MAX];
	char key_file[PATH_MAX];
	char passphrase_file[PATH_MAX];
	unsigned int threads;		/* 0: not given */
	unsigned int sync_timeout_ms;
	unsigned int freeze_timeout_ms;
	bool no_poweroff;
	bool no_stream;
	unsigned int seen;		/* 1u << enum hibd_key */
};

/* The key's name on the wire ("sync-timeout-ms"). */
const char *hibd_key_name(enum hibd_key key);

/*
 * Where the request in @buf (@len bytes received so far) ends: its length with the final
 * empty line, 0 if it is not complete yet, -EMSGSIZE if it cannot be complete within
 * HIBD_REQ_MAX bytes.
 */
ssize_t hibd_request_end(const char *buf, size_t len);

/*
 * Parse and check the request in @buf (@len bytes, the final empty line included or not),
 * asked by @peer.  @conf_path names the daemon's configuration in messages.
 * Returns 0, or with @why set (no "hibernated: " prefix):
 *   -EMSGSIZE  more than HIBD_REQ_MAX bytes
 *   -EINVAL    malformed: a line without '=', an unknown or repeated key, a bad value, a
 *              relative path, no op, a key that does not apply to the op
 *   -EPERM     @peer may not: a root-only key from a group member (named), anything but
 *              op=status from another user
 * Nothing in @buf is trusted: values are checked before they are copied.
 */
int hibd_request_parse(const char *buf, size_t len, enum hibd_peer peer, const char *conf_path,
		       struct hibd_request *req, char *why, size_t why_size);

/* The exit code of a refusal by hibd_request_parse(). */
int hibd_request_exit_code(int r);

#endif /* HIBERNATED_REQUEST_H */
