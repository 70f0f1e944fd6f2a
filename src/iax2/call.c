#include "iax2/call.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rand.h"

uint64_t
iax_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t
remote_bucket(const struct addr *peer, uint16_t remote)
{
	struct ipkey k;
	uint64_t h = 1469598103934665603ull ^ remote ^ (uint64_t)addr_port(peer) << 16;

	ipkey_from_addr(peer, &k);
	for (size_t i = 0; i < sizeof(k.b); i++)
		h = (h ^ k.b[i]) * 1099511628211ull;
	return (size_t)(h % 4096);
}

struct iax_leg *
iax_leg_new(struct iax_calls *t, const struct addr *peer, uint64_t now)
{
	uint16_t r;

	if (t->n >= IAX_MAX_CALLNO - 1)
		return NULL;
	/* Random, not sequential: a spoofer cannot guess the number of a call
	 * it was not told. The table is at most half full in practice, so a
	 * few draws find a free one; the scan is the fallback. */
	for (int i = 0;; i++) {
		rand_bytes(&r, sizeof(r));
		r &= IAX_MAX_CALLNO;
		if (r >= 2 && !t->by_local[r])
			break;
		if (i == 64) {
			for (r = 2; r <= IAX_MAX_CALLNO && t->by_local[r]; r++)
				;
			if (r > IAX_MAX_CALLNO)
				return NULL;
			break;
		}
	}
	struct iax_leg *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->local = r;
	l->peer = *peer;
	ipkey_from_addr(peer, &l->src);
	l->start_ms = l->heard_ms = now;
	t->by_local[r] = l;
	t->n++;
	l->anext = t->all;
	if (t->all)
		t->all->aprev = l;
	t->all = l;
	return l;
}

static void
unhash(struct iax_calls *t, struct iax_leg *l)
{
	if (!l->remote)
		return;
	struct iax_leg **pp = &t->by_remote[remote_bucket(&l->peer, l->remote)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == l) {
			*pp = l->hnext;
			break;
		}
	l->hnext = NULL;
}

void
iax_leg_bind_remote(struct iax_calls *t, struct iax_leg *l, uint16_t remote)
{
	unhash(t, l);
	l->remote = remote;
	if (!remote)
		return;
	size_t b = remote_bucket(&l->peer, remote);
	l->hnext = t->by_remote[b];
	t->by_remote[b] = l;
}

struct iax_leg *
iax_leg_by_remote(struct iax_calls *t, const struct addr *peer, uint16_t remote)
{
	for (struct iax_leg *l = t->by_remote[remote_bucket(peer, remote)]; l; l = l->hnext)
		if (l->remote == remote && addr_equal(&l->peer, peer))
			return l;
	return NULL;
}

void
iax_leg_free(struct iax_calls *t, struct iax_leg *l)
{
	if (!l)
		return;
	unhash(t, l);
	if (l->counted)
		iax_source_add(t, &l->src, -1);
	if (!l->validated && t->unvalidated)
		t->unvalidated--;
	if (l->other)
		l->other->other = NULL;
	t->by_local[l->local] = NULL;
	t->n--;
	if (l->aprev)
		l->aprev->anext = l->anext;
	else
		t->all = l->anext;
	if (l->anext)
		l->anext->aprev = l->aprev;
	for (struct iax_sent *s = l->queue, *next; s; s = next) {
		next = s->next;
		free(s);
	}
	explicit_bzero(l->challenge, sizeof(l->challenge));
	iax_users_free(l->row);
	free(l);
}

static size_t
src_bucket(const struct ipkey *k)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < sizeof(k->b); i++)
		h = (h ^ k->b[i]) * 1099511628211ull;
	return (size_t)(h % 1024);
}

unsigned
iax_source_count(const struct iax_calls *t, const struct ipkey *k)
{
	for (const struct srccount *s = t->per_source[src_bucket(k)]; s; s = s->next)
		if (ipkey_eq(&s->k, k))
			return s->n;
	return 0;
}

void
iax_source_add(struct iax_calls *t, const struct ipkey *k, int delta)
{
	struct srccount **pp = &t->per_source[src_bucket(k)];
	for (; *pp; pp = &(*pp)->next)
		if (ipkey_eq(&(*pp)->k, k))
			break;
	if (!*pp) {
		if (delta <= 0 || !(*pp = calloc(1, sizeof(**pp))))
			return;
		(*pp)->k = *k;
	}
	if (delta < 0 && (*pp)->n < (unsigned)-delta)
		(*pp)->n = 0;
	else
		(*pp)->n = (unsigned)((int)(*pp)->n + delta);
	if ((*pp)->n == 0) {
		struct srccount *gone = *pp;
		*pp = gone->next;
		free(gone);
	}
}

uint32_t
iax_leg_ts(struct iax_leg *l, uint64_t now)
{
	uint32_t ts = (uint32_t)(now - l->start_ms);
	if (ts <= l->last_ts)
		ts = l->last_ts + 1;
	l->last_ts = ts;
	return ts;
}

bool
iax_frame_sequenced(uint8_t type, uint64_t subclass)
{
	return type != IAX_T_IAX || (subclass != IAX_ACK && subclass != IAX_INVAL &&
	    subclass != IAX_VNAK && subclass != IAX_TXCNT && subclass != IAX_TXACC);
}

bool
iax_leg_stamp(struct iax_leg *l, struct iax_out *o, uint64_t now)
{
	uint8_t type = o->buf[10];
	uint64_t sub = o->buf[11] & 0x80 ? (uint64_t)1 << (o->buf[11] & 0x3f) : o->buf[11];

	o->buf[0] = (uint8_t)(0x80 | l->local >> 8);
	o->buf[1] = (uint8_t)l->local;
	o->buf[2] = (uint8_t)(l->remote >> 8 & 0x7f);
	o->buf[3] = (uint8_t)l->remote;
	o->buf[9] = l->iseqno;
	l->sent_now = true;
	if (!iax_frame_sequenced(type, sub)) {
		o->buf[8] = l->oseqno;
		return true;
	}
	o->buf[8] = l->oseqno++;
	struct iax_sent *s = malloc(sizeof(*s) + o->n);
	if (!s)
		return false;
	s->next = NULL;
	s->due_ms = now + IAX_FIRST_RETRY_MS;
	s->tries = 1;
	s->oseqno = o->buf[8];
	s->n = o->n;
	memcpy(s->buf, o->buf, o->n);
	if (l->queue_tail)
		l->queue_tail->next = s;
	else
		l->queue = s;
	l->queue_tail = s;
	return true;
}

void
iax_leg_acked(struct iax_leg *l, uint8_t iseqno)
{
	uint8_t outstanding = (uint8_t)(l->oseqno - l->rseqno);
	uint8_t upto = (uint8_t)(iseqno - l->rseqno);

	/* Only inside the window of what we sent: anything else is stale or forged. */
	if (upto > outstanding)
		return;
	while (l->queue && (uint8_t)(l->queue->oseqno - l->rseqno) < upto) {
		struct iax_sent *s = l->queue;
		l->queue = s->next;
		if (!l->queue)
			l->queue_tail = NULL;
		free(s);
	}
	l->rseqno = iseqno;
}

int
iax_leg_in_order(struct iax_leg *l, const struct iax_frame *f)
{
	if (!iax_frame_sequenced(f->type, f->subclass))
		return 1;
	if (f->oseqno == l->iseqno) {
		l->iseqno++;
		return 1;
	}
	/* Behind us (within half the space): we had it already. */
	return (uint8_t)(l->iseqno - f->oseqno) < 128 ? 0 : -1;
}

int
iax_leg_retransmit(struct iax_leg *l, uint64_t now, bool all, iax_send_fn send, void *arg)
{
	for (struct iax_sent *s = l->queue; s; s = s->next) {
		if (!all && s->due_ms > now)
			continue;
		if (!all && s->tries >= IAX_MAX_TRIES)
			return -1;
		s->buf[2] |= 0x80; /* R: a retransmission */
		s->buf[9] = l->iseqno;
		send(arg, &l->peer, s->buf, s->n);
		uint64_t wait = (uint64_t)IAX_FIRST_RETRY_MS << (s->tries < 4 ? s->tries : 4);
		s->due_ms = now + (wait > IAX_MAX_RETRY_MS ? IAX_MAX_RETRY_MS : wait);
		s->tries++;
	}
	return 0;
}

bool
iax_leg_keep_ies(struct iax_leg *l, const struct iax_ies *ies)
{
	l->nies = 0;
	for (unsigned t = 0; t < 256; t++) {
		if (!iax_ie_present(ies, (uint8_t)t))
			continue;
		size_t need = 2 + ies->v[t].n;
		if (need > sizeof(l->ies) - l->nies)
			return false;
		l->ies[l->nies] = (uint8_t)t;
		l->ies[l->nies + 1] = (uint8_t)ies->v[t].n;
		if (ies->v[t].n)
			memcpy(l->ies + l->nies + 2, ies->v[t].p, ies->v[t].n);
		l->nies += need;
	}
	return true;
}
