#include "core/workq.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	struct job *next;
	void (*work)(void *), (*done)(void *);
	void *arg;
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail, *finished, *finished_tail;
	size_t queued, max_queued;
	bool stopping;
	pthread_t *threads;
	unsigned nthreads;
	int pipe[2];		/* a worker's byte wakes the loop */
	struct event *ev;
};

static void
push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *
worker(void *arg)
{
	struct workq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->todo && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stopping)
			break;
		struct job *j = q->todo;
		q->todo = j->next;
		if (!q->todo)
			q->todo_tail = NULL;
		pthread_mutex_unlock(&q->mu);
		j->work(j->arg);
		pthread_mutex_lock(&q->mu);
		push(&q->finished, &q->finished_tail, j);
		char b = 1;
		/* A full pipe already holds a wake-up: losing this byte is fine. */
		if (write(q->pipe[1], &b, 1) < 0 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct workq *q = arg;
	char buf[256];
	(void)what;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&q->mu);
	struct job *j = q->finished;
	q->finished = q->finished_tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while (j) {
		struct job *next = j->next;
		pthread_mutex_lock(&q->mu);
		q->queued--;
		pthread_mutex_unlock(&q->mu);
		j->done(j->arg);
		free(j);
		j = next;
	}
}

struct workq *
workq_new(struct event_base *base, unsigned nthreads, size_t max_queued)
{
	struct workq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->pipe[0] = q->pipe[1] = -1;
	q->max_queued = max_queued;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pipe2(q->pipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    !(q->ev = event_new(base, q->pipe[0], EV_READ | EV_PERSIST, on_wake, q)) ||
	    event_add(q->ev, NULL) < 0 ||
	    !(q->threads = calloc(nthreads, sizeof(*q->threads))))
		goto fail;
	for (; q->nthreads < nthreads; q->nthreads++)
		if (pthread_create(&q->threads[q->nthreads], NULL, worker, q) != 0)
			goto fail;
	return q;
fail:
	workq_free(q);
	return NULL;
}

void
workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	/* Unrun and unreported jobs still hand their argument back. */
	for (struct job *j = q->finished, *n; j; j = n) {
		n = j->next;
		j->done(j->arg);
		free(j);
	}
	for (struct job *j = q->todo, *n; j; j = n) {
		n = j->next;
		j->done(j->arg);
		free(j);
	}
	if (q->ev)
		event_free(q->ev);
	if (q->pipe[0] >= 0)
		close(q->pipe[0]);
	if (q->pipe[1] >= 0)
		close(q->pipe[1]);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->threads);
	free(q);
}

bool
workq_submit(struct workq *q, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct job *j = malloc(sizeof(*j));
	bool ok = false;

	if (!j)
		return false;
	*j = (struct job){ NULL, work, done, arg };
	pthread_mutex_lock(&q->mu);
	if (!q->stopping && q->queued < q->max_queued) {
		push(&q->todo, &q->todo_tail, j);
		q->queued++;
		pthread_cond_signal(&q->cv);
		ok = true;
	}
	pthread_mutex_unlock(&q->mu);
	if (!ok)
		free(j);
	return ok;
}

size_t
workq_queued(struct workq *q)
{
	size_t n = 0;
	if (q) {
		pthread_mutex_lock(&q->mu);
		n = q->queued;
		pthread_mutex_unlock(&q->mu);
	}
	return n;
}
