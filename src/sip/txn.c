#include "sip/txn.h"

#include <stdlib.h>

struct txns {
	struct txn **sb, **cb;		/* buckets by skey, by ckey */
	size_t nbuckets, n, max;
	struct txn **heap;		/* min-heap on when, of timed transactions */
	size_t nheap;
};

#define NOT_IN_HEAP ((size_t)-1)

struct txns *
txns_new(size_t max)
{
	struct txns *t = calloc(1, sizeof(*t));
	size_t nb = 64;

	while (nb < max)
		nb <<= 1;
	if (!t || !(t->sb = calloc(nb, sizeof(*t->sb))) || !(t->cb = calloc(nb, sizeof(*t->cb))) ||
	    !(t->heap = calloc(max, sizeof(*t->heap)))) {
		txns_free(t);
		return NULL;
	}
	t->nbuckets = nb;
	t->max = max;
	return t;
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static void
txn_release(struct txn *x)
{
	buf_free(&x->req);
	buf_free(&x->resp);
	buf_free(&x->cancel);
	free(x);
}

void
txns_free(struct txns *t)
{
	if (!t)
		return;
	if (t->sb)
		for (size_t i = 0; i < t->nbuckets; i++)
			while (t->sb[i]) {
				struct txn *x = t->sb[i];
				t->sb[i] = x->snext;
				txn_release(x);
			}
	free(t->sb);
	free(t->cb);
	free(t->heap);
	free(t);
}

/* ---- timer heap ------------------------------------------------------- */

static void
heap_set(struct txns *t, size_t i, struct txn *x)
{
	t->heap[i] = x;
	x->heap = i;
}

static void
heap_up(struct txns *t, size_t i)
{
	struct txn *x = t->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (t->heap[parent]->when <= x->when)
			break;
		heap_set(t, i, t->heap[parent]);
		i = parent;
	}
	heap_set(t, i, x);
}

static void
heap_down(struct txns *t, size_t i)
{
	struct txn *x = t->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= t->nheap)
			break;
		if (c + 1 < t->nheap && t->heap[c + 1]->when < t->heap[c]->when)
			c++;
		if (t->heap[c]->when >= x->when)
			break;
		heap_set(t, i, t->heap[c]);
		i = c;
	}
	heap_set(t, i, x);
}

static void
heap_remove(struct txns *t, struct txn *x)
{
	size_t i = x->heap;
	if (i == NOT_IN_HEAP)
		return;
	x->heap = NOT_IN_HEAP;
	if (i == --t->nheap)
		return;
	struct txn *last = t->heap[t->nheap];
	heap_set(t, i, last);
	heap_up(t, i);
	heap_down(t, last->heap);
}

static int64_t
earliest(const struct txn *x)
{
	int64_t v[] = { x->retx_at, x->fail_at, x->end_at, x->rretx_at, x->cancel_at,
		x->cancel_end, x->free_at };
	int64_t m = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] && (!m || v[i] < m))
			m = v[i];
	return m;
}

void
txn_reschedule(struct txns *t, struct txn *x)
{
	int64_t w = earliest(x);
	if (x->heap != NOT_IN_HEAP && w == x->when)
		return;
	heap_remove(t, x);
	x->when = w;
	if (!w)
		return;
	t->heap[t->nheap] = x;
	x->heap = t->nheap++;
	heap_up(t, x->heap);
}

struct txn *
txn_due(struct txns *t, int64_t now)
{
	return t->nheap && t->heap[0]->when <= now ? t->heap[0] : NULL;
}

int64_t
txns_next(const struct txns *t)
{
	return t->nheap ? t->heap[0]->when : -1;
}

/* ---- tables ----------------------------------------------------------- */

struct txn *
txn_new(struct txns *t, uint64_t skey)
{
	struct txn *x;
	if (t->n >= t->max || !(x = calloc(1, sizeof(*x))))
		return NULL;
	x->skey = skey;
	x->heap = NOT_IN_HEAP;
	x->upstream = -1;
	struct txn **b = &t->sb[skey & (t->nbuckets - 1)];
	x->snext = *b;
	*b = x;
	t->n++;
	return x;
}

static void
unlink_c(struct txns *t, struct txn *x)
{
	if (!x->ckey)
		return;
	struct txn **pp = &t->cb[x->ckey & (t->nbuckets - 1)];
	while (*pp && *pp != x)
		pp = &(*pp)->cnext;
	if (*pp)
		*pp = x->cnext;
	x->ckey = 0;
}

void
txn_set_ckey(struct txns *t, struct txn *x, uint64_t ckey)
{
	unlink_c(t, x);
	x->ckey = ckey;
	struct txn **b = &t->cb[ckey & (t->nbuckets - 1)];
	x->cnext = *b;
	*b = x;
}

void
txn_del(struct txns *t, struct txn *x)
{
	struct txn **pp = &t->sb[x->skey & (t->nbuckets - 1)];
	while (*pp && *pp != x)
		pp = &(*pp)->snext;
	if (*pp)
		*pp = x->snext;
	unlink_c(t, x);
	heap_remove(t, x);
	t->n--;
	txn_release(x);
}

struct txn *
txn_by_skey(struct txns *t, uint64_t skey)
{
	for (struct txn *x = t->sb[skey & (t->nbuckets - 1)]; x; x = x->snext)
		if (x->skey == skey)
			return x;
	return NULL;
}

struct txn *
txn_by_ckey(struct txns *t, uint64_t ckey)
{
	for (struct txn *x = t->cb[ckey & (t->nbuckets - 1)]; x; x = x->cnext)
		if (x->ckey == ckey)
			return x;
	return NULL;
}

size_t
txns_count(const struct txns *t)
{
	return t->n;
}
