// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HTTP sink (layout and protocol in http.h): reading with HEAD and ranged GETs, writing
 * with one streamed PUT to URL.part, published with a WebDAV MOVE; an s3+http[s]:// URL
 * writes through s3.c's multipart upload instead.  The streamed PUT runs libcurl on a thread,
 * fed through a socketpair so that a dead upload is an error on write (MSG_NOSIGNAL), not a
 * SIGPIPE.  Every other request goes through http.c's transport.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-internal.h"
#include "log.h"
#include "macro.h"

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
	hib_http_common_opts(h, e);
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
	sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hib_http_discard_cb);
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
		return hib_http_curl_errno(h->put_result) ?: -EIO;
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
	if (h->s3) {
		r = hib_s3_write(h, p, len);
		if (r < 0)
			return r;
		h->next_off += len;
		return 0;
	}
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

	r = hib_http_sink_do(h, &req, &resp);
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
	if (h->s3)
		return hib_s3_publish(h);
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
	h->publish_tried = true;
	r = hib_http_sink_do(h, &req, &resp);
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
		r = hib_http_sink_do(h, &req, &resp);
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
	if (h->mode == HIB_SINK_WRITE && h->s3)
		*ret_size = (uint64_t)HIB_S3_PARTS_MAX * h->config.s3_part_size;
	else
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
		if (h->s3 && h->s3u.upload_id[0])
			hib_s3_abort(h);
		if (h->mode == HIB_SINK_WRITE && !h->s3 && !h->published &&
		    h->next_off > HEAD_BYTES && h->easy) {
			struct hib_http_request req = { .method = "DELETE", .url = h->part_url };
			struct hib_http_response resp;

			(void)hib_http_sink_do(h, &req, &resp);
		}
		/*
		 * The publication was sent but its answer lost or refused: the server may have
		 * done it anyway.  The hibernation failed, so no image may stay under the name.
		 */
		if (h->mode == HIB_SINK_WRITE && !h->published && h->publish_tried &&
		    delete_image(h) < 0)
			hib_warn("http: %s: the publication failed and the name could not be "
				 "cleared: delete it before the next boot", h->shown);
		if (h->easy)
			sym_curl_easy_cleanup(h->easy);
		if (h->headers)
			sym_curl_slist_free_all(h->headers);
		free(h->win);
		free(h->s3u.part);
		free(h->s3u.etags);
		explicit_bzero(&h->config, sizeof(h->config));
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
	if (hib_s3_is_url(url)) {
		if (!hib_s3_path_ok(url)) {
			hib_err("s3: %s: expected s3+http[s]://HOST[:PORT]/BUCKET/KEY, the key made of "
				"letters, digits and -._~/", url);
			return -EINVAL;
		}
		if (config->s3_part_size < HIB_S3_PART_MIN || config->s3_part_size > HIB_S3_PART_MAX)
			return -EINVAL;
	}
	if (!config->send) {
		r = hib_curl_dlopen(why, sizeof(why));
		if (r < 0) {
			hib_err("%s", why);
			return r;
		}
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
	h->s3 = hib_s3_is_url(url);
	snprintf(h->url, sizeof(h->url), "%s", h->s3 ? url + 3 : url);
	hib_url_shown(h->url, h->shown, sizeof(h->shown));
	snprintf(h->part_url, sizeof(h->part_url), "%s.part", h->url);
	if (config->send) {
		/* a test's transport: no libcurl */
	} else if (h->s3) {
		/* SigV4 with the payload unhashed: libcurl signs this header too. */
		h->headers = sym_curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
		if (!h->headers) {
			r = -ENOMEM;
			goto fail;
		}
	} else if (config->bearer_token[0]) {
		char hdr[HIB_HTTP_TOKEN_MAX + 32];

		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", config->bearer_token);
		h->headers = sym_curl_slist_append(NULL, hdr);
		explicit_bzero(hdr, sizeof(hdr));
		if (!h->headers) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (!config->send) {
		h->easy = sym_curl_easy_init();
		if (!h->easy) {
			r = -ENOMEM;
			goto fail;
		}
		if (h->s3 && sym_curl_easy_setopt(h->easy, CURLOPT_AWS_SIGV4, "aws:amz:x:s3") !=
		    CURLE_OK) {
			hib_err("s3: this libcurl cannot sign requests (AWS SigV4 needs 7.75 or later)");
			r = -EOPNOTSUPP;
			goto fail;
		}
	}

	/* The server must answer now, before anything is frozen or restored. */
	req.url = h->url;
	r = hib_http_sink_do(h, &req, &resp);
	if (r < 0)
		goto fail;
	if (resp.status == 401 || resp.status == 403 ||
	    (resp.status == 400 && strncmp(url, "https://", 8) == 0)) {
		/* nginx answers 400 to a missing or untrusted client certificate */
		hib_warn("http: %s refused the request (HTTP %ld): %s", url, resp.status,
			 resp.status == 400 ? (config->client_cert ? "is the client certificate "
			 "signed by a CA the server trusts?" : "does it require a client "
			 "certificate (client-cert in [http] of hibernate.conf)?") :
			 h->s3 ? (config->s3_key_id[0] ? "are the S3 credentials right, and "
			 "allowed to use this bucket?" : "does it require S3 credentials "
			 "(s3-credentials-file in [http])?") :
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
		if (h->s3) {
			r = hib_s3_open_upload(h, &s->write_buffer_bytes);
			if (r < 0)
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
