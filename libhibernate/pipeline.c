// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The compression pipeline: N workers each read the next chunk (produce(), one at a time, in
 * order) and transform it (lz4 one way or the other) right away, and one writer thread
 * consumes them strictly in sequence order; the caller's thread waits.  Threads and buffers
 * are created once, before anything is frozen; running a job allocates nothing.
 *
 * Slot seq % nslots carries chunk seq, so each slot moves FREE -> BUSY (a worker reads,
 * transforms and places it) -> DONE -> FREE (writer, in order).  A job's place() lets the workers
 * hand their chunks on side by side, begun in order (pwrite(2) of an image into /dev/snapshot:
 * the kernel takes the pages in order and fills them in parallel).  One mutex, and a condition variable for
 * each kind of waiter (workers, the writer, the caller's thread), each woken only when what
 * it waits for may have happened: a broadcast to all of them at every step cost about 7
 * context switches per chunk, expensive in an emulated guest.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chunk.h"
#include "csum.h"
#include "pipeline.h"
#include "log.h"
#include "macro.h"
#include "util.h"

#define PIPELINE_THREADS_MAX	256
#define PIPELINE_STACK		(512 * 1024)	/* lz4 keeps its 16 KiB state on the stack */

enum {
	SLOT_FREE,
	SLOT_BUSY,
	SLOT_DONE,
};

struct hib_pipeline {
	pthread_mutex_t lock;
	pthread_cond_t work_cond;	/* workers: the next chunk can be read */
	pthread_cond_t write_cond;	/* the writer: slot next_write DONE */
	pthread_cond_t main_cond;	/* the caller: the job finished */
	pthread_cond_t place_cond;	/* workers: next_place moved, or an error */
	unsigned int nthreads;
	unsigned int nslots;
	size_t chunk_size;
	struct hib_pipeline_slot *slots;
	int *state;
	pthread_t *workers;
	unsigned int started;
	pthread_t writer;
	pid_t writer_tid;		/* for setpriority(): set by the writer as it starts */
	bool writer_started;
	bool quit;

	/* the running job, under lock */
	const struct hib_pipeline_job *job;
	uint64_t produced;
	uint64_t next_write;
	uint64_t next_place;		/* the chunk whose place() begins next */
	bool eof;
	int err;
	uint64_t err_seq;		/* where err belongs: the chunk, or produced for the producer */
	bool producing;			/* a worker is reading the next chunk */
	unsigned int busy;
	uint64_t bytes_in;
	uint64_t bytes_out;
	struct hib_chunk fail_chunk;	/* the chunk whose transform failed first */
	bool fail_valid;
	/* figures of the running job: workers add theirs under lock, the others their own */
	struct hib_pipeline_stats st;
};

/* The CPU and wall time a thread spends in one call. */
struct stopwatch {
	uint64_t cpu;
	uint64_t wall;
};

static void stopwatch_start(struct stopwatch *w)
{
	w->wall = hib_wall_ns();
	w->cpu = hib_cpu_ns();
}

static void stopwatch_stop(struct stopwatch *w)
{
	w->cpu = hib_cpu_ns() - w->cpu;
	w->wall = hib_wall_ns() - w->wall;
}

static int transform(const struct hib_pipeline_job *job, struct hib_pipeline_slot *s,
		     struct hib_chunk_times *t)
{
	int r;

	switch (job->mode) {
	case HIB_PIPELINE_COMPRESS:
		/* A stored chunk's payload is its input: no copy. */
		r = hib_chunk_compress_timed(s->in, s->in_len, s->out, s->out_cap, t, &s->chunk);
		if (r < 0)
			return r;
		s->chunk.seq = s->seq;
		s->out_len = s->chunk.comp_len;
		s->payload = s->chunk.flags & HIB_CHUNK_STORED ? s->in : s->out;
		return 0;
	case HIB_PIPELINE_DECOMPRESS:
		/*
		 * In the clear, the payload's checksum is checked here, by the worker, not on the
		 * reader's serial path (hib_pipeline_decompress_fd()); nothing is done with a
		 * payload before.
		 */
		if (s->chunk.payload_unchecked) {
			uint64_t t0 = hib_cpu_ns();
			bool bad = hib_xxh3_64(s->in, s->chunk.comp_len) != s->chunk.comp_csum;

			t->csum_ns += hib_cpu_ns() - t0;
			if (bad) {
				s->chunk.payload_bad = true;
				return -EBADMSG;
			}
			s->chunk.payload_unchecked = false;
		}
		/*
		 * A stored chunk's payload is its raw bytes: it goes on as it is, not copied.  In
		 * the clear, its payload checked out against comp_csum, which is then the raw
		 * checksum too: not hashed again.  (Encrypted, comp_csum is the ciphertext's.)
		 */
		if (s->chunk.flags & HIB_CHUNK_STORED) {
			if (s->chunk.comp_len != s->chunk.raw_len || s->chunk.raw_len > s->out_cap ||
			    (s->chunk.raw_csum != s->chunk.comp_csum &&
			     hib_xxh3_64(s->in, s->chunk.raw_len) != s->chunk.raw_csum))
				return -EBADMSG;
			s->payload = s->in;
		} else {
			r = hib_chunk_decompress(&s->chunk, s->in, s->out, s->out_cap);
			if (r < 0)
				return r;
			s->payload = s->out;
		}
		s->out_len = s->chunk.raw_len;
		return 0;
	case HIB_PIPELINE_CUSTOM:
		return job->transform ? job->transform(job->ud, s) : 0;
	}
	return -EINVAL;
}

/* Can a worker read the next chunk?  One reads at a time, in order, into a free slot. */
static bool can_produce(const struct hib_pipeline *p)
{
	return p->job && !p->eof && !p->err && !p->producing &&
	       p->state[p->produced % p->nslots] == SLOT_FREE;
}

/* Has the running job ended: all written, or nothing in flight after an error? */
static bool job_finished(const struct hib_pipeline *p)
{
	return p->err ? p->busy == 0 : p->eof && p->next_write == p->produced;
}

/* Under lock: the job failed at chunk @seq (or read @seq): keep the earliest error. */
static bool set_err(struct hib_pipeline *p, int err, uint64_t seq)
{
	if (p->err && seq >= p->err_seq)
		return false;
	p->err = err;
	p->err_seq = seq;
	/* No chunk after it is placed: the workers waiting to place theirs give up. */
	pthread_cond_broadcast(&p->place_cond);
	return true;
}

/*
 * Under lock, the worker of @s, its transform done: wait until the place() of every chunk before
 * has begun, then run its own without the lock.  Returns place()'s result, or 0 without calling
 * it once the job has failed (the error is reported where it arose).
 */
static int place(struct hib_pipeline *p, const struct hib_pipeline_job *job,
		 struct hib_pipeline_slot *s)
{
	struct stopwatch sw;
	uint64_t w0 = 0;
	int r;

	if (!p->err && p->next_place != s->seq)
		w0 = hib_wall_ns();
	while (!p->err && p->next_place != s->seq)
		pthread_cond_wait(&p->place_cond, &p->lock);
	if (w0)
		p->st.place_turn_ns += hib_wall_ns() - w0;
	if (p->err)
		return 0;
	p->next_place++;
	pthread_cond_broadcast(&p->place_cond);
	pthread_mutex_unlock(&p->lock);

	stopwatch_start(&sw);
	r = job->place(job->ud, s);
	stopwatch_stop(&sw);
	pthread_mutex_lock(&p->lock);
	p->st.place_ns += sw.cpu;
	p->st.place_wall_ns += sw.wall;
	return r;
}

/*
 * A worker reads the next chunk (produce(), one worker at a time, in sequence order) and
 * transforms it itself, while the data is still in its CPU's cache; the next chunk is read
 * by another worker meanwhile.  With the reading on a thread of its own, the snapshot FD's
 * copy competed with the workers for the CPUs and they starved whenever it was descheduled.
 */
static void *worker_main(void *arg)
{
	struct hib_pipeline *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		const struct hib_pipeline_job *job;
		struct hib_pipeline_slot *s;
		struct hib_chunk_times t = {};
		struct stopwatch sw;
		uint64_t seq, t0, w0 = 0;
		unsigned int i;
		int r;

		while (!p->quit && !can_produce(p)) {
			/* Idle while a job runs: the slots are full, or another worker reads. */
			if (!p->job || p->eof || p->err)
				w0 = 0;
			else if (!w0)
				w0 = hib_wall_ns();
			pthread_cond_wait(&p->work_cond, &p->lock);
		}
		if (p->quit)
			break;
		if (w0)
			p->st.produce_wait_ns += hib_wall_ns() - w0;
		seq = p->produced;
		i = (unsigned int)(seq % p->nslots);
		s = &p->slots[i];
		p->producing = true;
		p->state[i] = SLOT_BUSY;
		p->busy++;
		job = p->job;
		pthread_mutex_unlock(&p->lock);

		s->seq = seq;
		s->in = s->in_buf;
		s->in_len = s->out_len = 0;
		s->payload = NULL;
		s->err = 0;
		memset(&s->chunk, 0, sizeof(s->chunk));
		stopwatch_start(&sw);
		r = job->produce(job->ud, s);
		stopwatch_stop(&sw);

		pthread_mutex_lock(&p->lock);
		p->st.read_ns += sw.cpu;
		p->st.read_wall_ns += sw.wall;
		p->producing = false;
		if (r <= 0) {
			/* The end of the input, or an error reading it. */
			if (r < 0 && !p->err)
				set_err(p, r, seq);
			p->eof = true;
			p->state[i] = SLOT_FREE;
			p->busy--;
			pthread_cond_broadcast(&p->work_cond);
			pthread_cond_broadcast(&p->write_cond);
			pthread_cond_broadcast(&p->main_cond);
			continue;
		}
		p->produced++;
		/* The next chunk is another worker's to read. */
		pthread_cond_signal(&p->work_cond);
		pthread_mutex_unlock(&p->lock);

		/*
		 * Chunks read before an error are transformed all the same: the error reported is
		 * the earliest chunk's (a worker may have read ahead to a bad FINAL record while
		 * another had yet to find the bad chunk before it).
		 */
		t0 = hib_cpu_ns();
		r = transform(job, s, &t);
		if (!t.compress_ns)	/* not the compressor: the whole transform but checksums */
			t.compress_ns = hib_cpu_ns() - t0 - t.csum_ns;
		pthread_mutex_lock(&p->lock);
		p->st.compress_ns += t.compress_ns;
		p->st.csum_ns += t.csum_ns;
		if (r < 0 && set_err(p, r, s->seq)) {
			p->fail_chunk = s->chunk;
			p->fail_valid = true;
		}
		if (r >= 0 && job->place) {
			r = place(p, job, s);
			if (r < 0 && set_err(p, r, s->seq))
				p->fail_valid = false;
		}
		s->err = r;
		p->state[i] = SLOT_DONE;
		p->busy--;
		if (s->seq == p->next_write)
			pthread_cond_signal(&p->write_cond);
		if (job_finished(p))
			pthread_cond_signal(&p->main_cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *writer_main(void *arg)
{
	struct hib_pipeline *p = arg;

	pthread_mutex_lock(&p->lock);
	p->writer_tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_signal(&p->main_cond);
	for (;;) {
		const struct hib_pipeline_job *job;
		struct hib_pipeline_slot *s;
		uint64_t in = 0, out = 0, w0 = 0, t0;
		unsigned int i = 0;
		int r;

		while (!p->quit) {
			if (p->job && !p->err && p->next_write < p->produced) {
				i = (unsigned int)(p->next_write % p->nslots);
				if (p->state[i] == SLOT_DONE)
					break;
			}
			/* Waiting for the workers (or the producer) while a job runs. */
			if (!p->job || p->err)
				w0 = 0;
			else if (!w0)
				w0 = hib_wall_ns();
			pthread_cond_wait(&p->write_cond, &p->lock);
		}
		if (p->quit)
			break;
		if (w0)
			p->st.consume_wait_ns += hib_wall_ns() - w0;
		p->busy++;
		job = p->job;
		s = &p->slots[i];
		pthread_mutex_unlock(&p->lock);

		t0 = hib_cpu_ns();
		r = s->err ? s->err : job->consume ? job->consume(job->ud, s) : 0;
		t0 = hib_cpu_ns() - t0;
		/* Only this thread changes the totals while a job runs. */
		if (r >= 0) {
			in = p->bytes_in + s->in_len;
			out = p->bytes_out + s->out_len;
			/* Before the slot is released: run() must not return under it. */
			if (job->progress)
				job->progress(job->ud, in, out);
		}

		pthread_mutex_lock(&p->lock);
		p->st.consume_ns += t0;
		if (r < 0) {
			if (set_err(p, r, s->seq))
				p->fail_valid = false;
		} else {
			p->bytes_in = in;
			p->bytes_out = out;
		}
		p->state[i] = SLOT_FREE;
		p->next_write++;
		p->busy--;
		/* A slot for the next chunk to be read, or the end of the job. */
		pthread_cond_signal(&p->work_cond);
		if (job_finished(p))
			pthread_cond_signal(&p->main_cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static unsigned int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > PIPELINE_THREADS_MAX ? PIPELINE_THREADS_MAX : (unsigned int)n;
}

int hib_pipeline_new(unsigned int threads, size_t chunk_size, struct hib_pipeline **ret_p)
{
	struct hib_pipeline *p;
	pthread_attr_t attr;
	unsigned int i;
	int r;

	if (!ret_p || chunk_size == 0 || chunk_size > HIB_IMAGE_CHUNK_MAX ||
	    threads > PIPELINE_THREADS_MAX)
		return -EINVAL;
	if (threads == 0)
		threads = online_cpus();

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work_cond, NULL);
	pthread_cond_init(&p->write_cond, NULL);
	pthread_cond_init(&p->main_cond, NULL);
	pthread_cond_init(&p->place_cond, NULL);
	p->nthreads = threads;
	/* One slot per worker (reading or transforming), one done waiting for the writer, one
	 * being written: enough to keep every worker busy, and all of it must fit in what the
	 * snapshot leaves free. */
	p->nslots = threads + 2;
	p->chunk_size = chunk_size;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->state = calloc(p->nslots, sizeof(*p->state));
	p->workers = calloc(threads, sizeof(*p->workers));
	if (!p->slots || !p->state || !p->workers) {
		hib_pipeline_free(p);
		return -ENOMEM;
	}
	for (i = 0; i < p->nslots; i++) {
		struct hib_pipeline_slot *s = &p->slots[i];

		/* Either direction: raw in and payload out, or payload in and raw out. */
		s->in_cap = s->out_cap = hib_chunk_bound(chunk_size);
		if (posix_memalign((void **)&s->in_buf, 4096, s->in_cap + HIB_PIPELINE_IN_SLACK))
			s->in_buf = NULL;
		s->in = s->in_buf;
		s->out = malloc(s->out_cap);
		if (!s->in_buf || !s->out) {
			hib_pipeline_free(p);
			return -ENOMEM;
		}
	}

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PIPELINE_STACK);
	for (i = 0; i < threads; i++) {
		r = pthread_create(&p->workers[i], &attr, worker_main, p);
		if (r) {
			pthread_attr_destroy(&attr);
			hib_pipeline_free(p);
			return -r;
		}
		p->started++;
	}
	r = pthread_create(&p->writer, &attr, writer_main, p);
	pthread_attr_destroy(&attr);
	if (r) {
		hib_pipeline_free(p);
		return -r;
	}
	p->writer_started = true;
	pthread_mutex_lock(&p->lock);
	while (!p->writer_tid)
		pthread_cond_wait(&p->main_cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	hib_debug("pipeline: %u workers, %u slots of %zu bytes", threads, p->nslots, chunk_size);
	*ret_p = p;
	return 0;
}

unsigned int hib_pipeline_threads(const struct hib_pipeline *p)
{
	return p ? p->nthreads : 0;
}

int hib_pipeline_run(struct hib_pipeline *p, const struct hib_pipeline_job *job,
		     uint64_t *ret_in, uint64_t *ret_out)
{
	uint64_t in, out, start;
	unsigned int i;
	int err, nice0 = 0;
	bool reniced = false;

	if (!p || !job || !job->produce)
		return -EINVAL;

	pthread_mutex_lock(&p->lock);
	if (p->job) {
		pthread_mutex_unlock(&p->lock);
		return -EBUSY;
	}
	if (job->writer_nice) {
		errno = 0;
		nice0 = getpriority(PRIO_PROCESS, (id_t)p->writer_tid);
		reniced = !errno &&
			  setpriority(PRIO_PROCESS, (id_t)p->writer_tid, job->writer_nice) == 0;
		if (!reniced)
			hib_debug("pipeline: the writer keeps its priority: %m");
	}
	p->produced = p->next_write = p->next_place = 0;
	p->bytes_in = p->bytes_out = 0;
	p->eof = false;
	p->err = 0;
	p->err_seq = 0;
	p->fail_valid = false;
	memset(&p->st, 0, sizeof(p->st));
	p->producing = false;
	start = hib_wall_ns();
	p->job = job;
	/* The workers read and transform; the writer consumes; this thread waits. */
	pthread_cond_broadcast(&p->work_cond);
	while (!job_finished(p))
		pthread_cond_wait(&p->main_cond, &p->lock);
	err = p->err;
	in = p->bytes_in;
	out = p->bytes_out;
	for (i = 0; i < p->nslots; i++)
		p->state[i] = SLOT_FREE;
	p->job = NULL;
	p->st.wall_ns = hib_wall_ns() - start;
	pthread_mutex_unlock(&p->lock);
	if (reniced)
		(void)setpriority(PRIO_PROCESS, (id_t)p->writer_tid, nice0);

	if (err < 0)
		return err;
	if (ret_in)
		*ret_in = in;
	if (ret_out)
		*ret_out = out;
	return 0;
}

void hib_pipeline_free(struct hib_pipeline *p)
{
	unsigned int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->work_cond);
	pthread_cond_broadcast(&p->write_cond);
	pthread_cond_broadcast(&p->main_cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->started; i++)
		pthread_join(p->workers[i], NULL);
	if (p->writer_started)
		pthread_join(p->writer, NULL);
	if (p->slots)
		for (i = 0; i < p->nslots; i++) {
			free(p->slots[i].in_buf);
			free(p->slots[i].out);
		}
	free(p->slots);
	free(p->state);
	free(p->workers);
	pthread_cond_destroy(&p->work_cond);
	pthread_cond_destroy(&p->write_cond);
	pthread_cond_destroy(&p->main_cond);
	pthread_cond_destroy(&p->place_cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- fd -> image --------------------------------------------------------------------------- */

struct compress_ctx {
	int fd;
	uint64_t left;
	size_t chunk_size;
	struct hib_image_writer *w;
	hib_progress_fn_t progress;
	void *ud;
};

static int compress_produce(void *ud, struct hib_pipeline_slot *s)
{
	struct compress_ctx *c = ud;
	size_t want = (size_t)MIN(c->left, (uint64_t)c->chunk_size);
	ssize_t n;

	if (want == 0) {
		/* The stream must end here. */
		n = hib_read_full(c->fd, s->in, 1);
		if (n < 0)
			return (int)n;
		if (n > 0) {
			hib_err("image stream longer than announced");
			return -EFBIG;
		}
		return 0;
	}
	n = hib_read_full(c->fd, s->in, want);
	if (n < 0) {
		hib_err("reading the image stream: %s", strerror((int)-n));
		return (int)n;
	}
	if ((size_t)n < want) {
		hib_err("image stream ended %" PRIu64 " bytes early", c->left - (uint64_t)n);
		return -EIO;
	}
	s->in_len = want;
	c->left -= want;
	return 1;
}

static int compress_consume(void *ud, struct hib_pipeline_slot *s)
{
	struct compress_ctx *c = ud;

	/* Both buffers have hib_chunk_bound(chunk_size) >= chunk_size + 16 bytes: slack. */
	return hib_image_writer_put_slack(c->w, &s->chunk, s->payload ? s->payload : s->out);
}

static void relay_progress(void *ud, uint64_t in, uint64_t out)
{
	struct compress_ctx *c = ud;

	if (c->progress)
		c->progress(c->ud, in, out);
}

int hib_pipeline_compress_fd(struct hib_pipeline *p, int fd, uint64_t raw_bytes,
			     struct hib_image_writer *w, hib_progress_fn_t progress, void *ud)
{
	struct compress_ctx c = {
		.fd = fd,
		.left = raw_bytes,
		.w = w,
		.progress = progress,
		.ud = ud,
	};
	struct hib_pipeline_job job = {
		.mode = HIB_PIPELINE_COMPRESS,
		.produce = compress_produce,
		.consume = compress_consume,
		.progress = relay_progress,
		.ud = &c,
	};

	struct hib_image_writer_times t0, t1;
	int r;

	if (!p || fd < 0 || !w)
		return -EINVAL;
	c.chunk_size = p->chunk_size;
	hib_image_writer_times(w, &t0);
	r = hib_pipeline_run(p, &job, NULL, NULL);
	hib_image_writer_times(w, &t1);
	p->st.encrypt_ns = t1.encrypt_ns - t0.encrypt_ns;
	p->st.sink_ns = t1.sink_ns - t0.sink_ns;
	p->st.sink_wall_ns = t1.sink_wall_ns - t0.sink_wall_ns;
	return r;
}

/* ---- image -> fd --------------------------------------------------------------------------- */

struct decompress_ctx {
	struct hib_image_reader *r;
	int fd;
	size_t chunk_size;
	hib_progress_fn_t progress;
	void *ud;
};

static int decompress_produce(void *ud, struct hib_pipeline_slot *s)
{
	struct decompress_ctx *c = ud;
	uint8_t *payload;
	int r;

	/* From an O_DIRECT window's descriptor straight into the slot: no copy (it took a fifth
	 * of the load's CPU time, all of it on the reads, which are serial). */
	r = hib_image_reader_next_in(c->r, s->in_buf, s->in_cap + HIB_PIPELINE_IN_SLACK,
				     &s->chunk, &payload);
	if (r > 0) {
		s->in = payload;
		s->in_len = s->chunk.comp_len;
	}
	return r;
}

/*
 * Put the chunk's raw bytes into @c->fd: at their place in the image with pwrite(2) (@at) or
 * with write(2) at the file position.  A kernel with patch 0035 takes a whole chunk in one
 * call, older ones a page at a time.
 */
static int decompress_put(struct decompress_ctx *c, struct hib_pipeline_slot *s, bool at)
{
	off_t pos = (off_t)(s->seq * c->chunk_size);
	const uint8_t *raw = s->payload;
	size_t done = 0;

	while (done < s->out_len) {
		ssize_t n = at ? pwrite(c->fd, raw + done, s->out_len - done, pos + (off_t)done) :
				 write(c->fd, raw + done, s->out_len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			hib_err("writing chunk %" PRIu64 ": %s", s->seq, strerror(errno));
			return negative_errno();
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int decompress_consume(void *ud, struct hib_pipeline_slot *s)
{
	return decompress_put(ud, s, false);
}

static int decompress_place(void *ud, struct hib_pipeline_slot *s)
{
	return decompress_put(ud, s, true);
}

static void relay_progress_d(void *ud, uint64_t in, uint64_t out)
{
	struct decompress_ctx *c = ud;

	if (c->progress)
		c->progress(c->ud, in, out);
}

int hib_pipeline_decompress_fd(struct hib_pipeline *p, struct hib_image_reader *r, int fd,
			       hib_progress_fn_t progress, void *ud)
{
	struct decompress_ctx c = {
		.r = r,
		.fd = fd,
		.progress = progress,
		.ud = ud,
	};
	struct hib_pipeline_job job = {
		.mode = HIB_PIPELINE_DECOMPRESS,
		.produce = decompress_produce,
		.progress = relay_progress_d,
		.ud = &c,
	};
	const struct hib_image_info *info = hib_image_reader_info(r);
	int e;

	if (!p || !r || fd < 0)
		return -EINVAL;
	if (info->chunk_size > p->chunk_size)
		return -ENOBUFS;
	c.chunk_size = info->chunk_size;
	/* The reads are serial among the workers: each checks its own chunk's payload. */
	hib_image_reader_defer_payload_check(r, true);
	/*
	 * Where @fd takes writes at a position (/dev/snapshot with patch 0037, a file), every
	 * worker writes its own chunk: the kernel takes the pages in order and the copies run
	 * side by side.  Elsewhere the writer writes them in order, and where placing the pages
	 * is the kernel's serial step it should not wait behind a worker.
	 */
	if (pwrite(fd, "", 0, 0) == 0) {
		job.place = decompress_place;
	} else {
		job.consume = decompress_consume;
		job.writer_nice = HIB_PIPELINE_WRITER_NICE;
	}
	e = hib_pipeline_run(p, &job, NULL, NULL);
	if (e < 0 && p->fail_valid)
		hib_image_reader_fail(r, &p->fail_chunk, e);
	return e;
}

void hib_pipeline_stats(const struct hib_pipeline *p, struct hib_pipeline_stats *ret_stats)
{
	if (!ret_stats)
		return;
	if (!p) {
		memset(ret_stats, 0, sizeof(*ret_stats));
		return;
	}
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	*ret_stats = p->st;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
}

size_t hib_pipeline_buffer_bytes(const struct hib_pipeline *p)
{
	size_t i, n = 0;

	if (!p)
		return 0;
	for (i = 0; i < p->nslots; i++)
		n += p->slots[i].in_cap + HIB_PIPELINE_IN_SLACK + p->slots[i].out_cap;
	return n;
}
