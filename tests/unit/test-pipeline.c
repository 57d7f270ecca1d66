// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhibernate/pipeline.c: output strictly in order with 1..N workers and random chunk sizes
 * and delays, errors from every stage propagated (and the pipeline reusable afterwards), and
 * the fd <-> image round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "image.h"

#define CHUNK 8192

struct job_state {
	uint64_t n;		/* chunks to produce */
	uint64_t produced;
	uint64_t consumed;
	uint64_t fail_produce_at;	/* UINT64_MAX: never */
	uint64_t fail_transform_at;
	uint64_t fail_consume_at;
	uint32_t rnd;
	uint64_t last_in;
	bool order_ok;
	int writer_nice;	/* what consume() found (INT_MIN: not looked) */
	int worker_nice;	/* what transform() found */
	/* place(): the calls begun, and how many ran at once at most */
	pthread_mutex_t place_lock;
	pthread_cond_t place_cond;
	uint64_t placed;
	uint64_t fail_place_at;
	unsigned int placing, placing_max;
	bool place_order_ok;
};

static uint32_t rnd(uint32_t *x)
{
	*x = *x * 1103515245 + 12345;
	return *x >> 8;
}

static uint8_t pattern(uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 31 + i * 7);
}

static int produce(void *ud, struct hib_pipeline_slot *s)
{
	struct job_state *j = ud;
	size_t i;

	if (j->produced == j->fail_produce_at)
		return -EIO;
	if (j->produced == j->n)
		return 0;
	assert_int_equal(s->seq, j->produced);
	s->in_len = 1 + rnd(&j->rnd) % s->in_cap;	/* random sizes */
	if (s->in_len > CHUNK)
		s->in_len = CHUNK;
	for (i = 0; i < s->in_len; i++)
		s->in[i] = pattern(s->seq, i);
	j->produced++;
	return 1;
}

/* Any worker: out = ~in, with a random delay so that workers finish out of order. */
static int transform(void *ud, struct hib_pipeline_slot *s)
{
	struct job_state *j = ud;
	struct timespec ts = { 0, (long)((s->seq * 7919) % 5) * 100000 };
	size_t i;

	if (s->seq == j->fail_transform_at) {
		/* Late, so that the chunks after it are ready first. */
		struct timespec late = { 0, 5000000 };

		nanosleep(&late, NULL);
		return -EBADMSG;
	}
	if (s->seq == 0)
		j->worker_nice = getpriority(PRIO_PROCESS, 0);	/* this thread */
	nanosleep(&ts, NULL);
	for (i = 0; i < s->in_len; i++)
		s->out[i] = (uint8_t)~s->in[i];
	s->out_len = s->in_len;
	return 0;
}

static int consume(void *ud, struct hib_pipeline_slot *s)
{
	struct job_state *j = ud;
	size_t i;

	if (s->seq != j->consumed)
		j->order_ok = false;
	if (s->seq == 0)
		j->writer_nice = getpriority(PRIO_PROCESS, 0);
	if (s->seq == j->fail_consume_at)
		return -ENOSPC;
	for (i = 0; i < s->out_len; i++) {
		uint8_t want = (uint8_t)(pattern(s->seq, i) ^ 0xff);

		if (s->out[i] != want)
			j->order_ok = false;
	}
	j->consumed++;
	return 0;
}

/*
 * Any worker.  Like pwrite(2) into /dev/snapshot, the call for chunk n waits until the call for
 * n - 1 has come in (given up after a second: the pipeline would hang the kernel), then takes
 * 1 ms, so that the calls of several workers overlap.
 */
static int place(void *ud, struct hib_pipeline_slot *s)
{
	struct job_state *j = ud;
	struct timespec ts = { 0, 1000000 }, limit;

	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 1;
	pthread_mutex_lock(&j->place_lock);
	while (j->placed != s->seq && j->place_order_ok)
		if (pthread_cond_timedwait(&j->place_cond, &j->place_lock, &limit) == ETIMEDOUT)
			j->place_order_ok = false;
	j->placed++;
	pthread_cond_broadcast(&j->place_cond);
	if (++j->placing > j->placing_max)
		j->placing_max = j->placing;
	pthread_mutex_unlock(&j->place_lock);
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&j->place_lock);
	j->placing--;
	pthread_mutex_unlock(&j->place_lock);
	return s->seq == j->fail_place_at ? -EIO : 0;
}

static void progress(void *ud, uint64_t in, uint64_t out)
{
	struct job_state *j = ud;

	assert_true(in >= j->last_in);
	j->last_in = in;
	assert_int_equal(in, out);
}

static void init_job(struct job_state *j, uint64_t n, uint32_t seed)
{
	memset(j, 0, sizeof(*j));
	j->n = n;
	j->rnd = seed;
	j->fail_produce_at = j->fail_transform_at = j->fail_consume_at = UINT64_MAX;
	j->fail_place_at = UINT64_MAX;
	j->order_ok = true;
	j->place_order_ok = true;
	pthread_mutex_init(&j->place_lock, NULL);
	pthread_cond_init(&j->place_cond, NULL);
	j->writer_nice = j->worker_nice = INT_MIN;
}

/* The test's job: produce(), transform() and consume() above on @j. */
static struct hib_pipeline_job custom_job(struct job_state *j)
{
	struct hib_pipeline_job job = {
		.mode = HIB_PIPELINE_CUSTOM,
		.produce = produce,
		.transform = transform,
		.consume = consume,
		.ud = j,
	};

	return job;
}

static void test_ordering(void **state)
{
	unsigned int threads;

	for (threads = 1; threads <= 8; threads++) {
		struct hib_pipeline *p;
		struct job_state j;
		struct hib_pipeline_job job = custom_job(&j);
		uint64_t in = 0, out = 0;

		job.progress = progress;
		assert_int_equal(hib_pipeline_new(threads, CHUNK, &p), 0);
		assert_int_equal(hib_pipeline_threads(p), threads);
		init_job(&j, 200 + threads * 13, threads);
		assert_int_equal(hib_pipeline_run(p, &job, &in, &out), 0);
		assert_true(j.order_ok);
		assert_int_equal(j.consumed, j.n);
		assert_int_equal(in, j.last_in);
		assert_int_equal(in, out);

		/* Runs again, and an empty job is fine. */
		init_job(&j, 0, 1);
		assert_int_equal(hib_pipeline_run(p, &job, &in, &out), 0);
		assert_int_equal(in, 0);
		assert_int_equal(j.consumed, 0);
		hib_pipeline_free(p);
	}
	hib_pipeline_free(NULL);
}

/* May this process lower a nice value (CAP_SYS_NICE, not merely uid 0)?  Asked in a child. */
static bool can_lower_nice(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) - 1) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* writer_nice: the writer thread runs at it while the job runs, the workers do not, and the
 * next job finds the writer back at its own value. */
static void test_writer_nice(void **state)
{
	struct hib_pipeline *p;
	struct job_state j;
	struct hib_pipeline_job job = custom_job(&j);
	int base = getpriority(PRIO_PROCESS, 0);	/* what new threads start with */

	(void)state;
	if (!can_lower_nice())
		skip();		/* a negative nice value needs CAP_SYS_NICE */
	assert_int_equal(hib_pipeline_new(2, CHUNK, &p), 0);
	job.writer_nice = -5;
	init_job(&j, 20, 7);
	assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), 0);
	assert_true(j.order_ok);
	assert_int_equal(j.writer_nice, -5);
	assert_int_equal(j.worker_nice, base);

	job.writer_nice = 0;
	init_job(&j, 20, 8);
	assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), 0);
	assert_int_equal(j.writer_nice, base);
	hib_pipeline_free(p);
}

static void test_errors(void **state)
{
	struct hib_pipeline *p;
	struct job_state j;
	struct hib_pipeline_job job = custom_job(&j);
	uint64_t in = 77;
	unsigned int round;

	assert_int_equal(hib_pipeline_new(4, CHUNK, &p), 0);
	for (round = 0; round < 3; round++) {
		init_job(&j, 500, round);
		j.fail_produce_at = 50;
		assert_int_equal(hib_pipeline_run(p, &job, &in, NULL), -EIO);
		assert_int_equal(in, 77);	/* not written on failure */
		assert_true(j.order_ok);
		assert_true(j.consumed <= 50);

		init_job(&j, 500, round);
		j.fail_transform_at = 30;
		assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), -EBADMSG);
		assert_true(j.order_ok);
		assert_true(j.consumed <= 30);	/* nothing after the bad chunk is written */

		init_job(&j, 500, round);
		j.fail_consume_at = 70;
		assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), -ENOSPC);
		assert_int_equal(j.consumed, 70);
		assert_true(j.produced < 500);	/* the producer stopped */

		/* And a clean run afterwards. */
		init_job(&j, 100, round);
		assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), 0);
		assert_int_equal(j.consumed, 100);
		assert_true(j.order_ok);
	}
	assert_int_equal(hib_pipeline_run(p, NULL, NULL, NULL), -EINVAL);
	hib_pipeline_free(p);

	assert_int_equal(hib_pipeline_new(1, 0, &p), -EINVAL);
	assert_int_equal(hib_pipeline_new(1000, CHUNK, &p), -EINVAL);
}

/* place(): begun in order (never one that would wait for a chunk that never comes), run side by
 * side, not for a chunk after a failed one, and its error fails the job. */
static void test_place(void **state)
{
	unsigned int threads;

	(void)state;
	for (threads = 1; threads <= 4; threads += 3) {
		struct hib_pipeline *p;
		struct job_state j;
		struct hib_pipeline_job job = custom_job(&j);

		job.place = place;
		assert_int_equal(hib_pipeline_new(threads, CHUNK, &p), 0);
		init_job(&j, 120, threads);
		assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), 0);
		assert_true(j.place_order_ok);
		assert_int_equal(j.placed, 120);
		assert_true(j.order_ok);	/* consume() still in order, after place() */
		assert_int_equal(j.consumed, 120);
		if (threads > 1)
			assert_true(j.placing_max > 1);
		else
			assert_int_equal(j.placing_max, 1);

		init_job(&j, 300, threads);
		j.fail_transform_at = 30;
		assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), -EBADMSG);
		assert_true(j.place_order_ok);
		assert_true(j.placed <= 30);	/* nothing after the bad chunk is placed */

		init_job(&j, 300, threads);
		j.fail_place_at = 40;
		assert_int_equal(hib_pipeline_run(p, &job, NULL, NULL), -EIO);
		assert_true(j.place_order_ok);
		assert_true(j.placed >= 41 && j.placed <= 41 + threads);
		assert_true(j.consumed <= 40);
		hib_pipeline_free(p);
	}
}

static int tmpfile_with(const uint8_t *data, size_t len)
{
	char path[] = "/tmp/hibtest-pipe-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void identity(struct hib_image_info *id, uint32_t page)
{
	memset(id, 0, sizeof(*id));
	id->version = HIB_IMAGE_VERSION;
	id->page_size = page;
	id->chunk_size = 4 * page;
	id->codec = HIB_CODEC_LZ4;
	strcpy(id->kernel_release, "test");
}

static void test_fd_round_trip(void **state)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE), x = 7;
	size_t pages = 301, len = pages * page, i;
	uint8_t *data = malloc(len), *back = malloc(len + 1);
	unsigned int threads;

	assert_non_null(data);
	for (i = 0; i < len; i++)
		data[i] = (i / page) % 2 ? (uint8_t)(rnd(&x)) : (uint8_t)(i % 251);

	for (threads = 1; threads <= 5; threads += 2) {
		struct hib_image_reader *r = NULL;
		struct hib_image_writer *w;
		struct hib_image_info id;
		struct hib_pipeline *p;
		struct hib_sink *s;
		int in, out;

		identity(&id, page);
		assert_int_equal(hib_pipeline_new(threads, id.chunk_size, &p), 0);
		assert_int_equal(hib_sink_open_memory(len * 2, &s), 0);
		assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
		assert_int_equal(hib_image_writer_begin(w, pages, 1), 0);
		in = tmpfile_with(data, len);
		assert_int_equal(hib_pipeline_compress_fd(p, in, len, w, NULL, NULL), 0);
		assert_int_equal(hib_image_writer_finish(w), 0);
		close(in);
		hib_image_writer_free(w);

		s->writable = false;
		assert_int_equal(hib_image_reader_open(s, &r, NULL, NULL), 0);
		out = tmpfile_with(NULL, 0);
		assert_int_equal(hib_pipeline_decompress_fd(p, r, out, NULL, NULL), 0);
		assert_int_equal(pread(out, back, len + 1, 0), (ssize_t)len);
		assert_memory_equal(back, data, len);
		close(out);
		hib_image_reader_free(r);
		hib_sink_close(s);
		hib_pipeline_free(p);
	}

	/* The stream shorter or longer than announced. */
	{
		struct hib_image_writer *w;
		struct hib_image_info id;
		struct hib_pipeline *p;
		struct hib_sink *s;
		int in;

		identity(&id, page);
		assert_int_equal(hib_pipeline_new(2, id.chunk_size, &p), 0);
		assert_int_equal(hib_sink_open_memory(len * 2, &s), 0);
		assert_int_equal(hib_image_writer_new(s, &id, &w), 0);

		assert_int_equal(hib_image_writer_begin(w, pages + 1, 1), 0);
		in = tmpfile_with(data, len);
		assert_int_equal(hib_pipeline_compress_fd(p, in, len + page, w, NULL, NULL), -EIO);
		close(in);
		assert_int_equal(hib_image_writer_finish(w), -EIO);

		assert_int_equal(hib_image_writer_begin(w, pages - 1, 1), 0);
		in = tmpfile_with(data, len);
		assert_int_equal(hib_pipeline_compress_fd(p, in, len - page, w, NULL, NULL),
				 -EFBIG);
		close(in);

		hib_image_writer_free(w);
		hib_sink_close(s);
		hib_pipeline_free(p);
	}
	free(data);
	free(back);
}

/*
 * A bad chunk found by a worker (decompression) is reported with its offset: an lz4 chunk, or
 * (@random) a stored one, which is neither decompressed nor copied.  Its raw checksum is
 * wrong, or (@payload) a byte of its payload: the workers check the payloads in the clear, not
 * the reader, and report the mismatch as the reader did.
 */
static void decompress_error_case(bool random, bool payload)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE), x = 99;
	size_t pages = 40, len = pages * page, i, off = HIB_IMAGE_DATA_OFFSET;
	uint8_t *data = malloc(len), *img;
	struct hib_image_reader *r = NULL;
	struct hib_image_writer *w;
	struct hib_image_info id;
	struct hib_pipeline *p;
	struct hib_sink *s;
	uint64_t why_off;
	uint32_t raw_csum_lo;
	int in, out;

	for (i = 0; i < len; i++)
		data[i] = random ? (uint8_t)rnd(&x) : (uint8_t)(i % 13);
	identity(&id, page);
	assert_int_equal(hib_pipeline_new(3, id.chunk_size, &p), 0);
	assert_int_equal(hib_sink_open_memory(len * 2, &s), 0);
	assert_int_equal(hib_image_writer_new(s, &id, &w), 0);
	assert_int_equal(hib_image_writer_begin(w, pages, 1), 0);
	in = tmpfile_with(data, len);
	assert_int_equal(hib_pipeline_compress_fd(p, in, len, w, NULL, NULL), 0);
	assert_int_equal(hib_image_writer_finish(w), 0);
	close(in);
	hib_image_writer_free(w);

	/* Chunk 4's raw checksum: change it and re-seal its record. */
	img = hib_sink_memory_data(s, NULL);
	for (i = 0; i < 4; i++) {
		uint32_t n;

		memcpy(&n, img + off + 20, 4);
		off += HIB_RECORD_SIZE + n;
	}
	memcpy(&raw_csum_lo, img + off + 32, 4);
	raw_csum_lo ^= 1;
	if (payload) {
		uint32_t n;

		memcpy(&n, img + off + 20, 4);
		img[off + HIB_RECORD_SIZE + n / 2] ^= 0x10;
	} else {
		memcpy(img + off + 32, &raw_csum_lo, 4);
	}
	{
		struct hib_chunk c;
		uint32_t v32;
		uint64_t v64;

		memcpy(&v64, img + off + 8, 8);
		c.seq = v64;
		memcpy(&v32, img + off + 4, 4);
		c.flags = v32;
		assert_int_equal(!!(c.flags & HIB_CHUNK_STORED), random);
		memcpy(&v32, img + off + 16, 4);
		c.raw_len = v32;
		memcpy(&v32, img + off + 20, 4);
		c.comp_len = v32;
		memcpy(&c.comp_csum, img + off + 24, 8);
		memcpy(&c.raw_csum, img + off + 32, 8);
		hib_chunk_encode(&c, img + off);
	}
	s->writable = false;
	assert_int_equal(hib_image_reader_open(s, &r, NULL, NULL), 0);
	out = tmpfile_with(NULL, 0);
	assert_int_equal(hib_pipeline_decompress_fd(p, r, out, NULL, NULL), -EBADMSG);
	assert_non_null(strstr(hib_image_reader_why(r, &why_off), "chunk 4"));
	if (payload)
		assert_non_null(strstr(hib_image_reader_why(r, NULL),
				       "chunk 4: payload checksum mismatch"));
	assert_int_equal(why_off, off);
	/* Chunks after the bad one never reach the output. */
	assert_true(lseek(out, 0, SEEK_END) <= (off_t)(4 * id.chunk_size));
	close(out);
	hib_image_reader_free(r);
	hib_sink_close(s);
	hib_pipeline_free(p);
	free(data);
}

static void test_decompress_error_names_chunk(void **state)
{
	(void)state;
	decompress_error_case(false, false);
	decompress_error_case(true, false);
	decompress_error_case(false, true);
	decompress_error_case(true, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_writer_nice),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_fd_round_trip),
		cmocka_unit_test(test_decompress_error_names_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
