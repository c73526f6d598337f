// SPDX-License-Identifier: GPL-2.0
/* The consumer <-> worker mailbox: see mailbox.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "mailbox.h"

/* Everything in here is read and written with `lock` held. */
struct pw_mailbox_locked {
	bool stop_worker;
	struct pw_diag_req reqs[PW_MAILBOX_REQS];
	size_t nreqs;
	struct pw_out_msg *out_head, *out_tail;
	size_t out_bytes;
	struct pw_accounts counts;	/* limit_rows PW_MAILBOX_COUNT_ROWS */
	struct pw_mailbox_losses losses;
};

/* One writer (the consumer), one reader (the worker): relaxed atomics, a
 * figure in a table needs no ordering with anything else. */
struct pw_published {
	uint64_t v;
};

struct pw_mailbox {
	int wake_worker, wake_consumer;	/* eventfds: set once, then read-only */
	pthread_mutex_t lock;
	struct pw_mailbox_locked locked;
	struct pw_published received;
	struct pw_published sampled;
};

static int stop_flag;

void pw_request_stop(void)
{
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

bool pw_stop_requested(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED);
}

static void wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so it is readable anyway */
	}
}

void pw_mailbox_clear_wake(int efd)
{
	uint64_t v;

	if (read(efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing was pending */
	}
}

static void counts_reset(struct pw_accounts *a)
{
	pw_accounts_init(a, 0);
	a->limit_rows = PW_MAILBOX_COUNT_ROWS;
}

struct pw_mailbox *pw_mailbox_new(void)
{
	struct pw_mailbox *mb = calloc(1, sizeof(*mb));

	if (!mb)
		return NULL;
	pthread_mutex_init(&mb->lock, NULL);
	counts_reset(&mb->locked.counts);
	mb->wake_worker = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mb->wake_consumer = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mb->wake_worker < 0 || mb->wake_consumer < 0) {
		int err = errno;

		pw_mailbox_free(mb);
		errno = err;
		return NULL;
	}
	return mb;
}

void pw_mailbox_free(struct pw_mailbox *mb)
{
	struct pw_out_msg *m;

	if (!mb)
		return;
	if (mb->wake_worker >= 0)
		close(mb->wake_worker);
	if (mb->wake_consumer >= 0)
		close(mb->wake_consumer);
	while ((m = mb->locked.out_head)) {
		mb->locked.out_head = m->next;
		free(m);
	}
	pw_accounts_free(&mb->locked.counts);
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}

int pw_mailbox_worker_fd(const struct pw_mailbox *mb)
{
	return mb->wake_worker;
}

int pw_mailbox_consumer_fd(const struct pw_mailbox *mb)
{
	return mb->wake_consumer;
}

void pw_mailbox_stop_worker(struct pw_mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	mb->locked.stop_worker = true;
	pthread_mutex_unlock(&mb->lock);
	wake(mb->wake_worker);
}

bool pw_mailbox_worker_stopping(struct pw_mailbox *mb)
{
	bool stop;

	pthread_mutex_lock(&mb->lock);
	stop = mb->locked.stop_worker;
	pthread_mutex_unlock(&mb->lock);
	return stop;
}

bool pw_mailbox_ask(struct pw_mailbox *mb, const struct pw_diag_req *r)
{
	struct pw_mailbox_locked *l = &mb->locked;
	bool first;

	pthread_mutex_lock(&mb->lock);
	if (l->nreqs == PW_MAILBOX_REQS) {
		l->losses.diag_dropped++;
		pthread_mutex_unlock(&mb->lock);
		return false;
	}
	l->reqs[l->nreqs++] = *r;
	first = l->nreqs == 1;
	pthread_mutex_unlock(&mb->lock);
	if (first)
		wake(mb->wake_worker);	/* once per batch: the worker takes all */
	return true;
}

size_t pw_mailbox_take_requests(struct pw_mailbox *mb, struct pw_diag_req *reqs)
{
	size_t n;

	pthread_mutex_lock(&mb->lock);
	n = mb->locked.nreqs;
	memcpy(reqs, mb->locked.reqs, n * sizeof(reqs[0]));
	mb->locked.nreqs = 0;
	pthread_mutex_unlock(&mb->lock);
	return n;
}

bool pw_mailbox_post(struct pw_mailbox *mb, const char *text, size_t len)
{
	struct pw_mailbox_locked *l = &mb->locked;
	struct pw_out_msg *m = malloc(sizeof(*m) + len);

	if (m) {
		m->next = NULL;
		m->len = len;
		memcpy(m->text, text, len);
	}
	pthread_mutex_lock(&mb->lock);
	if (!m || l->out_bytes + len > PW_MAILBOX_OUT_MAX) {
		l->losses.out_dropped++;
		pthread_mutex_unlock(&mb->lock);
		free(m);
		return false;
	}
	if (l->out_tail)
		l->out_tail->next = m;
	else
		l->out_head = m;
	l->out_tail = m;
	l->out_bytes += len;
	pthread_mutex_unlock(&mb->lock);
	wake(mb->wake_consumer);
	return true;
}

struct pw_out_msg *pw_mailbox_take_output(struct pw_mailbox *mb)
{
	struct pw_out_msg *m;

	pthread_mutex_lock(&mb->lock);
	m = mb->locked.out_head;
	mb->locked.out_head = mb->locked.out_tail = NULL;
	mb->locked.out_bytes = 0;
	pthread_mutex_unlock(&mb->lock);
	return m;
}

void pw_mailbox_count(struct pw_mailbox *mb, const struct pw_proc_key *k,
		      const struct pw_proc_val *v, uint64_t now)
{
	struct pw_mailbox_locked *l = &mb->locked;
	int err;

	pthread_mutex_lock(&mb->lock);
	err = pw_accounts_add(&l->counts, k, v, now);
	if (err) {
		l->losses.count_err = err;
		l->losses.counts_dropped++;
	}
	pthread_mutex_unlock(&mb->lock);
}

void pw_mailbox_take_counts(struct pw_mailbox *mb, struct pw_accounts *to)
{
	pthread_mutex_lock(&mb->lock);
	*to = mb->locked.counts;
	counts_reset(&mb->locked.counts);
	pthread_mutex_unlock(&mb->lock);
}

void pw_mailbox_counts_lost(struct pw_mailbox *mb, uint64_t n)
{
	pthread_mutex_lock(&mb->lock);
	mb->locked.losses.counts_dropped += n;
	pthread_mutex_unlock(&mb->lock);
}

void pw_mailbox_publish_received(struct pw_mailbox *mb, uint64_t received)
{
	__atomic_store_n(&mb->received.v, received, __ATOMIC_RELAXED);
}

uint64_t pw_mailbox_received(const struct pw_mailbox *mb)
{
	return __atomic_load_n(&mb->received.v, __ATOMIC_RELAXED);
}

void pw_mailbox_publish_sampled(struct pw_mailbox *mb, uint64_t sampled)
{
	__atomic_store_n(&mb->sampled.v, sampled, __ATOMIC_RELAXED);
}

uint64_t pw_mailbox_sampled(const struct pw_mailbox *mb)
{
	return __atomic_load_n(&mb->sampled.v, __ATOMIC_RELAXED);
}

void pw_mailbox_losses(struct pw_mailbox *mb, struct pw_mailbox_losses *l)
{
	pthread_mutex_lock(&mb->lock);
	*l = mb->locked.losses;
	pthread_mutex_unlock(&mb->lock);
}
