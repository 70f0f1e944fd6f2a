/*
 * Worker threads for work that must not stall the event loop (a bcrypt
 * check costs tens of milliseconds; SIP must not wait for it). A bounded
 * queue: a full one refuses at once, so the caller can answer "try later"
 * instead of piling up. work() runs on a worker and must touch nothing
 * shared; done() runs on the loop, in submission order per worker.
 */
#ifndef PBX_WORKQ_H
#define PBX_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

struct workq;

struct workq *workq_new(struct event_base *base, unsigned nthreads, size_t max_queued);
/* Stops the workers after the job they are on, then calls done() for every
 * job not yet reported, run or not (so each argument is freed once). */
void workq_free(struct workq *q);
/* false: the queue is full (or shutting down); nothing will be called. */
bool workq_submit(struct workq *q, void (*work)(void *), void (*done)(void *), void *arg);
size_t workq_queued(struct workq *q);

#endif
