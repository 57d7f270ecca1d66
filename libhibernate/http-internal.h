/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate, internal: what http.c (configuration, retries, the libcurl transport),
 * webdav.c (the sink, its streamed PUT and MOVE publication) and s3.c (the S3 multipart
 * upload) share: the sink's state and the calls between them.  Not for the library's users.
 */
#ifndef LIBHIBERNATE_HTTP_INTERNAL_H
#define LIBHIBERNATE_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "curl-dl.h"

#include "http.h"

#define HEAD_BYTES	HIB_IMAGE_DATA_OFFSET	/* header + commit block, sent last */

struct s3_upload {
	char upload_id[HIB_S3_UPLOAD_ID_MAX];
	uint8_t *part;			/* s3_part_size + HEAD_BYTES: the last part has the trailer */
	size_t part_len;
	unsigned int parts;		/* uploaded so far */
	char (*etags)[HIB_S3_ETAG_MAX];	/* HIB_S3_PARTS_MAX of them */
	char answer[4096];		/* the start of an answer's body */
	bool failed;			/* a part could not be sent: the upload is lost */
};

struct http_sink {
	char url[HIB_HTTP_URL_MAX];
	char shown[HIB_HTTP_URL_MAX];	/* url for messages: no query, no user:password@ */
	char part_url[HIB_HTTP_URL_MAX + 8];
	bool s3;
	struct s3_upload s3u;		/* S3, writing */
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
	bool publish_tried;		/* MOVE or CompleteMultipartUpload sent, maybe done */
	bool deleted;
	int sock[2];			/* [0] curl thread reads, [1] we write */
	pthread_t thread;
	atomic_bool abort;
	CURLcode put_result;
	long put_status;
	char put_error[CURL_ERROR_SIZE];
};

/* ---- http.c: the libcurl transport ---------------------------------------------------------- */

/* A libcurl error as -errno. */
int hib_http_curl_errno(CURLcode c);
/* A write callback that drops the answer's body. */
size_t hib_http_discard_cb(char *p, size_t size, size_t n, void *ud);
/* The options every handle of @h gets: timeouts, TLS, client certificate, headers, SigV4. */
void hib_http_common_opts(struct http_sink *h, CURL *e);
/* @req through hib_http_do() on @h's transport (libcurl, or a test's), logged. */
int hib_http_sink_do(struct http_sink *h, struct hib_http_request *req,
		     struct hib_http_response *resp);

/* ---- s3.c: the S3 multipart upload ---------------------------------------------------------- */

int hib_s3_open_upload(struct http_sink *h, size_t *ret_buffer_bytes);
int hib_s3_write(struct http_sink *h, const uint8_t *p, size_t len);
int hib_s3_publish(struct http_sink *h);
void hib_s3_abort(struct http_sink *h);
bool hib_s3_path_ok(const char *url);

#endif /* LIBHIBERNATE_HTTP_INTERNAL_H */
