// SPDX-License-Identifier: GPL-2.0-only
/* hibernated's request: parsing and checking (request.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "http.h"
#include "request.h"
#include "util.h"

enum value_kind {
	V_OP,
	V_TEST,
	V_TARGET,	/* an absolute path or a URL */
	V_PATH,		/* an absolute path */
	V_ONE,		/* "1" */
	V_UINT,
};

static const struct key {
	const char *name;
	enum value_kind kind;
	unsigned int min, max;	/* V_UINT */
	/* root only: where a group member's hibernation takes it from, for the refusal */
	const char *from;
} keys[HIBD_KEY_MAX] = {
	[HIBD_KEY_OP] = { "op", V_OP, 0, 0, NULL },
	[HIBD_KEY_TEST] = { "test", V_TEST, 0, 0, NULL },
	[HIBD_KEY_TARGET] = { "target", V_TARGET, 0, 0, "[hibernate] target" },
	[HIBD_KEY_NO_POWEROFF] = { "no-poweroff", V_ONE, 0, 0, NULL },
	[HIBD_KEY_CONFIG] = { "config", V_PATH, 0, 0, NULL },
	[HIBD_KEY_COW] = { "cow", V_PATH, 0, 0, "[protect] cow" },
	[HIBD_KEY_KEY_FILE] = { "key-file", V_PATH, 0, 0, "[image] key-file" },
	[HIBD_KEY_PASSPHRASE_FILE] = { "passphrase-file", V_PATH, 0, 0,
				       "[image] passphrase-file" },
	[HIBD_KEY_THREADS] = { "threads", V_UINT, 1, 256, "[hibernate] threads" },
	[HIBD_KEY_SYNC_TIMEOUT_MS] = { "sync-timeout-ms", V_UINT, 1, 600000,
				       "[hibernate] sync-timeout-ms" },
	[HIBD_KEY_FREEZE_TIMEOUT_MS] = { "freeze-timeout-ms", V_UINT, 1, 600000,
					 "[hibernate] freeze-timeout-ms" },
	[HIBD_KEY_NO_STREAM] = { "no-stream", V_ONE, 0, 0, "[hibernate] stream" },
};

/* The keys each op takes. */
#define K(k) (1u << (k))
static const unsigned int op_keys[] = {
	[HIBD_OP_NONE] = 0,
	[HIBD_OP_HIBERNATE] = ~0u,
	[HIBD_OP_STATUS] = K(HIBD_KEY_OP),
	[HIBD_OP_CHECK] = K(HIBD_KEY_OP) | K(HIBD_KEY_TARGET) | K(HIBD_KEY_CONFIG) |
			  K(HIBD_KEY_COW),
};
static const char *const op_names[] = {
	[HIBD_OP_NONE] = "",
	[HIBD_OP_HIBERNATE] = "hibernate",
	[HIBD_OP_STATUS] = "status",
	[HIBD_OP_CHECK] = "check",
};

const char *hibd_key_name(enum hibd_key key)
{
	return key < HIBD_KEY_MAX ? keys[key].name : "?";
}

static bool root_only(enum hibd_key key)
{
	return key >= HIBD_KEY_TARGET;
}

ssize_t hibd_request_end(const char *buf, size_t len)
{
	size_t i, n = len < HIBD_REQ_MAX ? len : HIBD_REQ_MAX;

	for (i = 0; i < n; i++)
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] == '\n'))
			return (ssize_t)(i + 1);
	return len >= HIBD_REQ_MAX ? -EMSGSIZE : 0;
}

/* A key or value as it may be quoted back: printable ASCII, cut to fit @size (>= 5). */
static void quote(char *dst, size_t size, const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o < size - 4; i++)
		dst[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (i < len) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static int parse_uint(const char *s, size_t len, unsigned int min, unsigned int max,
		      unsigned int *ret)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/* Check the value of @k and store it. */
static int set_value(struct hibd_request *req, enum hibd_key k, const char *v, size_t len,
		     char *why, size_t why_size)
{
	const struct key *key = &keys[k];
	char q[48], path[PATH_MAX];
	char *dst = NULL;
	size_t i;

	quote(q, sizeof(q), v, len);
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return hib_why(why, why_size, -EINVAL, "a control character in the value "
				       "of '%s'", key->name);
	switch (key->kind) {
	case V_OP:
		for (i = HIBD_OP_HIBERNATE; i < sizeof(op_names) / sizeof(op_names[0]); i++)
			if (strlen(op_names[i]) == len && !memcmp(op_names[i], v, len)) {
				req->op = (enum hibd_op)i;
				return 0;
			}
		return hib_why(why, why_size, -EINVAL, "unknown op '%s' (hibernate, status or "
			       "check)", q);
	case V_TEST:
		if (len == 6 && !memcmp(v, "freeze", 6))
			req->test = HIB_TEST_FREEZE;
		else if (len == 2 && !memcmp(v, "dm", 2))
			req->test = HIB_TEST_DM;
		else if (len == 8 && !memcmp(v, "snapshot", 8))
			req->test = HIB_TEST_SNAPSHOT;
		else
			return hib_why(why, why_size, -EINVAL, "unknown test stage '%s' (freeze, "
				       "dm or snapshot)", q);
		return 0;
	case V_ONE:
		if (len != 1 || v[0] != '1')
			return hib_why(why, why_size, -EINVAL, "'%s' takes the value 1 ('%s')",
				       key->name, q);
		if (k == HIBD_KEY_NO_POWEROFF)
			req->no_poweroff = true;
		else
			req->no_stream = true;
		return 0;
	case V_UINT: {
		unsigned int *field = k == HIBD_KEY_THREADS ? &req->threads :
			k == HIBD_KEY_SYNC_TIMEOUT_MS ? &req->sync_timeout_ms :
			&req->freeze_timeout_ms;

		if (parse_uint(v, len, key->min, key->max, field) < 0)
			return hib_why(why, why_size, -EINVAL, "'%s' must be %u to %u ('%s')",
				       key->name, key->min, key->max, q);
		return 0;
	}
	case V_TARGET:
	case V_PATH:
		if (len == 0)
			return hib_why(why, why_size, -EINVAL, "empty '%s'", key->name);
		if (len >= sizeof(path))
			return hib_why(why, why_size, -EINVAL, "'%s' is too long", key->name);
		memcpy(path, v, len);
		path[len] = '\0';
		if (path[0] != '/' && !(key->kind == V_TARGET && hib_http_is_url(path)))
			return hib_why(why, why_size, -EINVAL, "'%s' must be an absolute path%s "
				       "('%s')", key->name,
				       key->kind == V_TARGET ? " or a URL" : "", q);
		dst = k == HIBD_KEY_TARGET ? req->target : k == HIBD_KEY_CONFIG ? req->config :
			k == HIBD_KEY_COW ? req->cow : k == HIBD_KEY_KEY_FILE ? req->key_file :
			req->passphrase_file;
		memcpy(dst, path, len + 1);
		return 0;
	}
	return -EINVAL;
}

int hibd_request_exit_code(int r)
{
	if (r == -EPERM)
		return HIB_EXIT_PERM;
	return r < 0 ? HIB_EXIT_USAGE : HIB_EXIT_OK;
}

int hibd_request_parse(const char *buf, size_t len, enum hibd_peer peer, const char *conf_path,
		       struct hibd_request *req, char *why, size_t why_size)
{
	const char *p = buf, *end;
	bool other_root_key = false;
	unsigned int k;
	int r;

	memset(req, 0, sizeof(*req));
	if (why && why_size)
		why[0] = '\0';
	if (!conf_path)
		conf_path = HIB_CONF_DEFAULT_PATH;
	if (len > HIBD_REQ_MAX)
		return hib_why(why, why_size, -EMSGSIZE, "request too long (more than %d bytes)",
			       HIBD_REQ_MAX);
	if (memchr(buf, '\0', len))
		return hib_why(why, why_size, -EINVAL, "a NUL byte in the request");
	end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *eq = memchr(p, '=', (size_t)(line_end - p));
		size_t klen;
		char q[48];

		if (line_end == p) {
			if (nl && nl + 1 != end)
				return hib_why(why, why_size, -EINVAL, "data after the empty line "
					       "that ends the request");
			break;	/* the empty line: the end */
		}
		if (!eq) {
			quote(q, sizeof(q), p, (size_t)(line_end - p));
			return hib_why(why, why_size, -EINVAL, "not a key=value line ('%s')", q);
		}
		klen = (size_t)(eq - p);
		for (k = 0; k < HIBD_KEY_MAX; k++)
			if (strlen(keys[k].name) == klen && !memcmp(keys[k].name, p, klen))
				break;
		if (k == HIBD_KEY_MAX) {
			quote(q, sizeof(q), p, klen);
			return hib_why(why, why_size, -EINVAL, "unknown key '%s'", q);
		}
		if (req->seen & K(k))
			return hib_why(why, why_size, -EINVAL, "repeated key '%s'", keys[k].name);
		req->seen |= K(k);
		if (root_only(k) && peer == HIBD_PEER_GROUP) {
			if (k == HIBD_KEY_CONFIG)
				return hib_why(why, why_size, -EPERM, "'config' is the daemon's own "
					       "(%s); a client may not set it", conf_path);
			if (k == HIBD_KEY_NO_POWEROFF)
				return hib_why(why, why_size, -EPERM, "'no-poweroff' is root's "
					       "only: a member of the group may have the machine "
					       "hibernated and powered off, or ask for a dry run "
					       "(test=), nothing else");
			return hib_why(why, why_size, -EPERM, "'%s' comes from the daemon's "
				       "configuration (%s in %s); a client may not set it",
				       keys[k].name, keys[k].from, conf_path);
		}
		if (root_only(k) && peer == HIBD_PEER_OTHER)
			other_root_key = true;
		r = set_value(req, (enum hibd_key)k, eq + 1, (size_t)(line_end - eq - 1), why,
			      why_size);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	if (req->op == HIBD_OP_NONE)
		return hib_why(why, why_size, -EINVAL, "no 'op' in the request (hibernate, status "
			       "or check)");
	if (peer == HIBD_PEER_OTHER && (req->op != HIBD_OP_STATUS || other_root_key))
		return hib_why(why, why_size, -EPERM, "permission denied: only root or the "
			       "daemon's group may ask for op=%s", op_names[req->op]);
	for (k = 0; k < HIBD_KEY_MAX; k++)
		if ((req->seen & K(k)) && !(op_keys[req->op] & K(k)))
			return hib_why(why, why_size, -EINVAL, "'%s' does not apply to op=%s",
				       keys[k].name, op_names[req->op]);
	if (req->key_file[0] && req->passphrase_file[0])
		return hib_why(why, why_size, -EINVAL, "'key-file' and 'passphrase-file' exclude "
			       "each other");
	return 0;
}
