// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HTTP sink (layout and protocol in http.h): libcurl, one easy handle for the short
 * requests (retried by hib_http_do()), one more on a thread for the streamed PUT, fed through
 * a socketpair so that a dead upload is an error on write (MSG_NOSIGNAL), not a SIGPIPE.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "curl-dl.h"

#include "http.h"
#include "log.h"
#include "macro.h"

#define HEAD_BYTES	HIB_IMAGE_DATA_OFFSET	/* header + commit block, sent last */
#define BACKOFF_MAX_MS	8000u

/* ---- configuration ------------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned int max, unsigned int *ret)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

int hib_http_read_token(const char *path, char ret_token[HIB_HTTP_TOKEN_MAX])
{
	_cleanup_fclose_ FILE *f = NULL;
	char buf[HIB_HTTP_TOKEN_MAX + 2];
	size_t i;

	if (!path || !ret_token)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0] || strlen(buf) >= HIB_HTTP_TOKEN_MAX) {
		explicit_bzero(buf, sizeof(buf));
		return -EINVAL;
	}
	for (i = 0; buf[i]; i++) {
		if (!isprint((unsigned char)buf[i])) {
			explicit_bzero(buf, sizeof(buf));
			return -EINVAL;
		}
	}
	memcpy(ret_token, buf, strlen(buf) + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int hib_http_config_from_env(struct hib_http_config *ret_config)
{
	struct hib_http_config c = {
		.retries = 3,
		.backoff_ms = 200,
		.connect_timeout_ms = 10000,
		.timeout_ms = 60000,
		.stall_timeout_s = 30,
	};
	const char *v;

	if (!ret_config)
		return -EINVAL;
	v = getenv("HIBERNATE_HTTP_TOKEN");
	if (v) {
		if (strlen(v) >= sizeof(c.bearer_token) || strpbrk(v, "\r\n"))
			return -EINVAL;
		snprintf(c.bearer_token, sizeof(c.bearer_token), "%s", v);
	}
	v = getenv("HIBERNATE_HTTP_TOKEN_FILE");
	if (v && !c.bearer_token[0]) {
		int r = hib_http_read_token(v, c.bearer_token);

		if (r < 0)
			return r;
	}
	c.ca_file = getenv("HIBERNATE_HTTP_CA_FILE");
	c.client_cert = getenv("HIBERNATE_HTTP_CLIENT_CERT");
	c.client_key = getenv("HIBERNATE_HTTP_CLIENT_KEY");
	v = getenv("HIBERNATE_HTTP_RETRIES");
	if (v && parse_uint(v, 100, &c.retries) < 0)
		return -EINVAL;
	v = getenv("HIBERNATE_HTTP_TIMEOUT_MS");
	if (v && (parse_uint(v, 3600000, &c.timeout_ms) < 0 || c.timeout_ms == 0))
		return -EINVAL;
	*ret_config = c;
	return 0;
}

bool hib_http_is_url(const char *path)
{
	return path && (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0);
}

/* ---- retries ------------------------------------------------------------------------------- */

bool hib_http_transient(int err, long status)
{
	if (err < 0)
		return err != -EINVAL && err != -ENOMEM && err != -EACCES && err != -EPROTO;
	return status == 408 || status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

int hib_http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 404:
	case 410:
		return -ENOENT;
	case 401:
	case 403:
		return -EACCES;
	case 413:
	case 507:
		return -ENOSPC;
	case 416:
		return -ENODATA;
	}
	return -EIO;
}

static void real_sleep(void *ud, unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	(void)ud;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int hib_http_do(const struct hib_http_config *config, hib_http_send_fn send, void *send_ud,
		hib_http_sleep_fn sleep, void *sleep_ud, const struct hib_http_request *req,
		struct hib_http_response *ret_resp, unsigned int *ret_attempts)
{
	struct hib_http_response resp;
	unsigned int attempt, wait;
	int err = -EIO;

	if (!config || !send || !req || !ret_resp)
		return -EINVAL;
	if (!sleep)
		sleep = real_sleep;
	wait = config->backoff_ms;
	for (attempt = 1;; attempt++) {
		memset(&resp, 0, sizeof(resp));
		err = send(send_ud, req, &resp);
		if (!hib_http_transient(err, resp.status) || attempt > config->retries)
			break;
		hib_debug("http: %s %s: %s, attempt %u of %u, again in %u ms", req->method,
			  req->url, err < 0 ? strerror(-err) : "server error", attempt,
			  config->retries + 1, wait);
		sleep(sleep_ud, wait);
		wait = wait >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : wait * 2;
	}
	if (ret_attempts)
		*ret_attempts = attempt;
	if (err < 0)
		return err;
	*ret_resp = resp;
	return 0;
}

/* ---- libcurl transport -------------------------------------------------------------------- */

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return -EPROTO;		/* not retried: a certificate does not get better */
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	default:
		return -ECONNRESET;
	}
}

struct http_sink {
	char url[HIB_HTTP_URL_MAX];
	char part_url[HIB_HTTP_URL_MAX + 8];
	struct hib_http_config config;
	struct curl_slist *headers;	/* Authorization */
	CURL *easy;			/* short requests, caller's thread */
	int mode;
	uint8_t head[HEAD_BYTES];	/* header + commit block */
	uint64_t size;			/* reading: the object's size */
	/* reading: one window of object bytes */
	uint8_t *win;
	size_t win_cap;
	uint64_t win_off;
	size_t win_len;
	/* writing: the streamed PUT */
	uint64_t next_off;		/* next image offset expected (>= HEAD_BYTES) */
	bool started;
	bool published;
	bool deleted;
	int sock[2];			/* [0] curl thread reads, [1] we write */
	pthread_t thread;
	atomic_bool abort;
	CURLcode put_result;
	long put_status;
	char put_error[CURL_ERROR_SIZE];
};

struct get_ctx {
	uint8_t *buf;
	size_t cap;
	size_t got;
};

static size_t get_cb(char *p, size_t size, size_t n, void *ud)
{
	struct get_ctx *g = ud;
	size_t len = size * n;

	if (len > g->cap - g->got)
		return 0;	/* more than asked for: fail the transfer */
	memcpy(g->buf + g->got, p, len);
	g->got += len;
	return len;
}

static size_t discard_cb(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static void common_opts(struct http_sink *h, CURL *e)
{
	sym_curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	sym_curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->config.connect_timeout_ms);
	sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	sym_curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->config.ca_file)
		sym_curl_easy_setopt(e, CURLOPT_CAINFO, h->config.ca_file);
	if (h->config.client_cert) {
		sym_curl_easy_setopt(e, CURLOPT_SSLCERT, h->config.client_cert);
		sym_curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		sym_curl_easy_setopt(e, CURLOPT_SSLKEY, h->config.client_key ? h->config.client_key :
				 h->config.client_cert);
		sym_curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (h->headers)
		sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
}

/* hib_http_send_fn over h->easy. */
static int curl_send(void *ud, const struct hib_http_request *req, struct hib_http_response *resp)
{
	struct http_sink *h = ud;
	struct curl_slist *hdrs = NULL, *l;
	struct get_ctx g = { .buf = req->buf, .cap = req->range_len };
	char range[64], dest[HIB_HTTP_URL_MAX + 32], errbuf[CURL_ERROR_SIZE] = "";
	curl_off_t cl = -1;
	CURL *e = h->easy;
	CURLcode c;
	int r = 0;

	sym_curl_easy_reset(e);
	common_opts(h, e);
	sym_curl_easy_setopt(e, CURLOPT_URL, req->url);
	sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	sym_curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->config.timeout_ms);
	if (strcmp(req->method, "HEAD") == 0) {
		sym_curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") == 0) {
		snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, req->range_off,
			 req->range_off + req->range_len - 1);
		sym_curl_easy_setopt(e, CURLOPT_RANGE, range);
		sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, get_cb);
		sym_curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
	} else {
		sym_curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
	}
	if (req->destination) {
		for (l = h->headers; l; l = l->next) {
			hdrs = sym_curl_slist_append(hdrs, l->data);
			if (!hdrs)
				return -ENOMEM;
		}
		snprintf(dest, sizeof(dest), "Destination: %s", req->destination);
		l = sym_curl_slist_append(hdrs, dest);
		if (l)
			l = sym_curl_slist_append(l, "Overwrite: T");
		if (!l) {
			sym_curl_slist_free_all(hdrs);
			return -ENOMEM;
		}
		hdrs = l;
		sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	}
	c = sym_curl_easy_perform(e);
	if (c == CURLE_WRITE_ERROR)
		r = -EBADMSG;	/* the server sent more than the range */
	else if (c != CURLE_OK)
		r = curl_errno(c);
	if (r == -EPROTO)
		hib_warn("http: %s %s: %s", req->method, req->url,
			 errbuf[0] ? errbuf : sym_curl_easy_strerror(c));
	if (r == 0) {
		sym_curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
		sym_curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		resp->length = cl > 0 ? (uint64_t)cl : 0;
		resp->got = g.got;
	}
	sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	sym_curl_slist_free_all(hdrs);
	return r;
}

static int request(struct http_sink *h, struct hib_http_request *req,
		   struct hib_http_response *resp)
{
	int r = hib_http_do(&h->config, curl_send, h, NULL, NULL, req, resp, NULL);

	if (r < 0)
		hib_debug("http: %s %s: %s", req->method, req->url, strerror(-r));
	else
		hib_debug("http: %s %s: %ld", req->method, req->url, resp->status);
	return r;
}

/* ---- the streamed PUT ---------------------------------------------------------------------- */

static size_t put_read_cb(char *p, size_t size, size_t n, void *ud)
{
	struct http_sink *h = ud;
	ssize_t got;

	for (;;) {
		got = recv(h->sock[0], p, size * n, 0);
		if (got >= 0 || errno != EINTR)
			break;
	}
	if (got < 0 || (got == 0 && atomic_load(&h->abort)))
		return CURL_READFUNC_ABORT;
	return (size_t)got;
}

static void *put_thread(void *arg)
{
	struct http_sink *h = arg;
	CURL *e = sym_curl_easy_init();
	struct curl_slist *hdrs = NULL, *l;

	if (!e) {
		h->put_result = CURLE_OUT_OF_MEMORY;
		goto out;
	}
	common_opts(h, e);
	/* Expect: 100-continue would wait a second for nothing: nginx answers at the end. */
	for (l = h->headers; l; l = l->next)
		hdrs = sym_curl_slist_append(hdrs, l->data);
	hdrs = sym_curl_slist_append(hdrs, "Expect:");
	if (hdrs)
		sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	sym_curl_easy_setopt(e, CURLOPT_URL, h->part_url);
	sym_curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);	/* PUT, chunked: the length is unknown */
	sym_curl_easy_setopt(e, CURLOPT_READFUNCTION, put_read_cb);
	sym_curl_easy_setopt(e, CURLOPT_READDATA, h);
	sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
	sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->put_error);
	sym_curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	sym_curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)h->config.stall_timeout_s);
	h->put_result = sym_curl_easy_perform(e);
	sym_curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &h->put_status);
	sym_curl_easy_cleanup(e);
	sym_curl_slist_free_all(hdrs);
out:
	/* Writers blocked on a full socket, or writing later, get an error now. */
	shutdown(h->sock[0], SHUT_RDWR);
	return NULL;
}

static int put_start(struct http_sink *h)
{
	int r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, h->sock) < 0)
		return negative_errno();
	r = pthread_create(&h->thread, NULL, put_thread, h);
	if (r) {
		close(h->sock[0]);
		close(h->sock[1]);
		h->sock[0] = h->sock[1] = -1;
		return -r;
	}
	h->started = true;
	return 0;
}

/* Join the PUT thread; its outcome as 0 or -errno. */
static int put_join(struct http_sink *h)
{
	pthread_join(h->thread, NULL);
	h->started = false;
	close(h->sock[0]);
	if (h->sock[1] >= 0)
		close(h->sock[1]);
	h->sock[0] = h->sock[1] = -1;
	if (h->put_result != CURLE_OK) {
		hib_debug("http: PUT %s: %s", h->part_url,
			  h->put_error[0] ? h->put_error : sym_curl_easy_strerror(h->put_result));
		return curl_errno(h->put_result) ?: -EIO;
	}
	return hib_http_status_errno(h->put_status);
}

static int put_send(struct http_sink *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(h->sock[1], p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The upload is over: its own error says more. */
			close(h->sock[1]);
			h->sock[1] = -1;
			return put_join(h) ?: -EPIPE;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- sink ops ------------------------------------------------------------------------------ */

static int http_write(struct hib_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct http_sink *h = s->priv;
	const uint8_t *p = buf;
	size_t n;
	int r;

	if (!s->writable)
		return -EBADF;
	if (off < HEAD_BYTES) {
		n = (size_t)MIN((uint64_t)len, HEAD_BYTES - off);
		memcpy(h->head + off, p, n);
		p += n;
		len -= n;
		off += n;
	}
	if (!len)
		return 0;
	if (h->mode != HIB_SINK_WRITE || h->published)
		return -ESPIPE;		/* only the two blocks can change after the upload */
	if (off != h->next_off)
		return -ESPIPE;		/* the records come in order */
	if (!h->started) {
		if (h->put_result != CURLE_OK || h->put_status)
			return -EIO;	/* an upload already failed */
		r = put_start(h);
		if (r < 0)
			return r;
	}
	r = put_send(h, p, len);
	if (r < 0)
		return r;
	h->next_off += len;
	return 0;
}

static bool head_valid(const struct http_sink *h)
{
	size_t i;

	for (i = HIB_IMAGE_BLOCK; i < HEAD_BYTES; i++)
		if (h->head[i])
			return true;
	return false;
}

/* DELETE the published image (a 404 is fine: it is gone either way). */
static int delete_image(struct http_sink *h)
{
	struct hib_http_request req = { .method = "DELETE", .url = h->url };
	struct hib_http_response resp;
	int r;

	r = request(h, &req, &resp);
	if (r < 0)
		return r;
	if (resp.status != 404 && resp.status != 410) {
		r = hib_http_status_errno(resp.status);
		if (r < 0)
			return r;
	}
	h->deleted = true;
	return 0;
}

static int http_sync(struct hib_sink *s)
{
	struct http_sink *h = s->priv;
	struct hib_http_request req = {};
	struct hib_http_response resp;
	int r;

	if (!s->writable)
		return 0;
	/*
	 * One-shot resume, or a hibernation that must not leave a valid image behind (power-off
	 * failed): a cleared valid mark deletes the image.
	 */
	if (h->mode == HIB_SINK_UPDATE || h->published) {
		if (head_valid(h) || h->deleted)
			return 0;
		return delete_image(h);
	}
	/* Writing: nothing to do until the valid mark is there. */
	if (!head_valid(h) || h->published)
		return 0;
	if (!h->started)
		return -EIO;
	r = put_send(h, h->head, HEAD_BYTES);
	if (r < 0)
		return r;
	close(h->sock[1]);	/* end of the body */
	h->sock[1] = -1;
	r = put_join(h);
	if (r < 0)
		return r;
	req.method = "MOVE";
	req.url = h->part_url;
	req.destination = h->url;
	r = request(h, &req, &resp);
	if (r < 0)
		return r;
	r = hib_http_status_errno(resp.status);
	if (r < 0)
		return r;
	h->published = true;
	return 0;
}

/* Object bytes [@obj_off, @obj_off + @len) into @buf, through the window. */
static int obj_read(struct http_sink *h, uint8_t *buf, size_t len, uint64_t obj_off)
{
	struct hib_http_request req = { .method = "GET", .url = h->url };
	struct hib_http_response resp;
	int r;

	while (len) {
		size_t n;

		if (obj_off >= h->win_off && obj_off < h->win_off + h->win_len) {
			n = (size_t)MIN((uint64_t)len, h->win_off + h->win_len - obj_off);
			memcpy(buf, h->win + (obj_off - h->win_off), n);
			buf += n;
			len -= n;
			obj_off += n;
			continue;
		}
		if (obj_off >= h->size)
			return -ENODATA;
		req.range_off = obj_off;
		req.range_len = (size_t)MIN((uint64_t)h->win_cap, h->size - obj_off);
		req.buf = h->win;
		h->win_len = 0;
		r = request(h, &req, &resp);
		if (r < 0)
			return r;
		if (resp.status != 206)
			return resp.status == 200 ? -EPROTO : hib_http_status_errno(resp.status) ?: -EIO;
		if (resp.got != req.range_len)
			return -ENODATA;
		h->win_off = obj_off;
		h->win_len = resp.got;
	}
	return 0;
}

static int http_read(struct hib_sink *s, void *buf, size_t len, uint64_t off)
{
	struct http_sink *h = s->priv;
	uint8_t *p = buf;
	size_t n;

	if (h->mode == HIB_SINK_WRITE)
		return -EBADF;
	if (off > h->size || len > h->size - off)
		return -ENODATA;
	if (off < HEAD_BYTES) {
		n = (size_t)MIN((uint64_t)len, HEAD_BYTES - off);
		memcpy(p, h->head + off, n);
		p += n;
		len -= n;
		off += n;
	}
	return len ? obj_read(h, p, len, off - HEAD_BYTES) : 0;
}

static int http_size(struct hib_sink *s, uint64_t *ret_size)
{
	struct http_sink *h = s->priv;

	/* Writing: the server's free space is unknown; it says 507 when it runs out. */
	*ret_size = h->mode == HIB_SINK_WRITE ? UINT64_MAX / 2 : h->size;
	return 0;
}

static void http_close(struct hib_sink *s)
{
	struct http_sink *h;

	if (!s)
		return;
	h = s->priv;
	if (h) {
		if (h->started) {
			/* Unpublished: abort the upload, drop the partial object. */
			atomic_store(&h->abort, true);
			if (h->sock[1] >= 0) {
				close(h->sock[1]);
				h->sock[1] = -1;
			}
			(void)put_join(h);
		}
		if (h->mode == HIB_SINK_WRITE && !h->published && h->next_off > HEAD_BYTES &&
		    h->easy) {
			struct hib_http_request req = { .method = "DELETE", .url = h->part_url };
			struct hib_http_response resp;

			(void)request(h, &req, &resp);
		}
		if (h->easy)
			sym_curl_easy_cleanup(h->easy);
		sym_curl_slist_free_all(h->headers);
		free(h->win);
		free(h);
	}
	free(s);
}

static const struct hib_sink_ops http_ops = {
	.write = http_write,
	.read = http_read,
	.sync = http_sync,
	.size = http_size,
	.close = http_close,
};

int hib_sink_open_http(const char *url, int mode, const struct hib_http_config *config,
		       struct hib_sink **ret_sink)
{
	struct hib_http_request req = { .method = "HEAD" };
	struct hib_http_response resp;
	struct hib_sink *s = NULL;
	struct http_sink *h;
	char why[256];
	int r;

	if (!hib_http_is_url(url) || !config || !ret_sink ||
	    (mode != HIB_SINK_READ && mode != HIB_SINK_WRITE && mode != HIB_SINK_UPDATE))
		return -EINVAL;
	if (strlen(url) >= HIB_HTTP_URL_MAX)
		return -ENAMETOOLONG;
	r = hib_curl_dlopen(why, sizeof(why));
	if (r < 0) {
		hib_err("%s", why);
		return r;
	}

	s = calloc(1, sizeof(*s));
	h = calloc(1, sizeof(*h));
	if (!s || !h) {
		free(s);
		free(h);
		return -ENOMEM;
	}
	s->ops = &http_ops;
	s->kind = HIB_SINK_OTHER;
	s->fd = -1;
	s->priv = h;
	s->writable = mode != HIB_SINK_READ;
	s->growable = mode == HIB_SINK_WRITE;
	snprintf(s->name, sizeof(s->name), "%s", url);
	h->mode = mode;
	h->config = *config;
	h->sock[0] = h->sock[1] = -1;
	h->next_off = HEAD_BYTES;
	snprintf(h->url, sizeof(h->url), "%s", url);
	snprintf(h->part_url, sizeof(h->part_url), "%s.part", url);
	if (config->bearer_token[0]) {
		char hdr[HIB_HTTP_TOKEN_MAX + 32];

		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", config->bearer_token);
		h->headers = sym_curl_slist_append(NULL, hdr);
		explicit_bzero(hdr, sizeof(hdr));
		if (!h->headers) {
			r = -ENOMEM;
			goto fail;
		}
	}
	h->easy = sym_curl_easy_init();
	if (!h->easy) {
		r = -ENOMEM;
		goto fail;
	}

	/* The server must answer now, before anything is frozen or restored. */
	req.url = url;
	r = request(h, &req, &resp);
	if (r < 0)
		goto fail;
	if (resp.status == 401 || resp.status == 403 ||
	    (resp.status == 400 && strncmp(url, "https://", 8) == 0)) {
		/* nginx answers 400 to a missing or untrusted client certificate */
		hib_warn("http: %s refused the request (HTTP %ld): %s", url, resp.status,
			 resp.status == 400 ? (config->client_cert ? "is the client certificate "
			 "signed by a CA the server trusts?" : "does it require a client "
			 "certificate (client-cert in [http] of hibernate.conf)?") :
			 config->bearer_token[0] ? "is the bearer token right?" :
			 "does it require a bearer token (token-file in [http])?");
		r = -EACCES;
		goto fail;
	}
	if (mode == HIB_SINK_WRITE) {
		if (resp.status >= 500) {
			r = -EIO;
			goto fail;
		}
	} else {
		r = hib_http_status_errno(resp.status);
		if (r < 0)
			goto fail;
		h->size = resp.length;
		h->win_cap = HIB_HTTP_WINDOW;
		h->win = malloc(h->win_cap);
		if (!h->win) {
			r = -ENOMEM;
			goto fail;
		}
		if (h->size >= HEAD_BYTES) {
			r = obj_read(h, h->head, HEAD_BYTES, h->size - HEAD_BYTES);
			if (r < 0)
				goto fail;
			h->win_len = 0;	/* the window is for the records */
		}
	}
	*ret_sink = s;
	return 0;

fail:
	http_close(s);
	return r;
}
