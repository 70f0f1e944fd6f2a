#include "sip/registrar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"

struct aor {
	struct aor *next;
	char *key;		/* "user@domain", domain lower-cased */
	struct reg_binding *b;
	size_t n;
};

struct registrar {
	const struct config *cfg;
	struct aor **buckets;
	size_t nbuckets, naors;
	uint64_t seed;
	uint64_t stamp;
	registrar_hook hook;
	void *hook_arg;
};

struct registrar *
registrar_new(const struct config *cfg)
{
	struct registrar *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->nbuckets = 1024;
	r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	if (!r->buckets) {
		free(r);
		return NULL;
	}
	r->cfg = cfg;
	rand_bytes(&r->seed, sizeof(r->seed));
	return r;
}

static void
binding_clear(struct reg_binding *b)
{
	free(b->contact);
	free(b->callid);
}

static void
aor_free(struct aor *a)
{
	for (size_t i = 0; i < a->n; i++)
		binding_clear(&a->b[i]);
	free(a->b);
	free(a->key);
	free(a);
}

void
registrar_free(struct registrar *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbuckets; i++)
		for (struct aor *a = r->buckets[i], *nx; a; a = nx) {
			nx = a->next;
			aor_free(a);
		}
	free(r->buckets);
	free(r);
}

static size_t
bucket(const struct registrar *r, struct slice key)
{
	uint64_t h = slice_hash(SLICE_HASH_INIT(r->seed), key, false);
	return (size_t)slice_hash_final(h) & (r->nbuckets - 1);
}

/* Doubles the table when chains would average above 2; failure is harmless. */
static void
maybe_grow(struct registrar *r)
{
	size_t n = r->nbuckets * 2;
	struct aor **nb;

	if (r->naors <= r->nbuckets * 2 || n > ((size_t)1 << 24) ||
	    !(nb = calloc(n, sizeof(*nb))))
		return;
	struct aor **old = r->buckets;
	size_t oldn = r->nbuckets;
	r->buckets = nb;
	r->nbuckets = n;
	for (size_t i = 0; i < oldn; i++)
		for (struct aor *a = old[i], *nx; a; a = nx) {
			nx = a->next;
			size_t k = bucket(r, slice_cstr(a->key));
			a->next = r->buckets[k];
			r->buckets[k] = a;
		}
	free(old);
}

static struct aor **
find(struct registrar *r, struct slice key)
{
	struct aor **pp = &r->buckets[bucket(r, key)];
	for (; *pp; pp = &(*pp)->next)
		if (slice_eq(slice_cstr((*pp)->key), key))
			return pp;
	return pp;
}

static void
drop_expired(struct aor *a, int64_t now)
{
	size_t o = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->b[i].expires_at > now)
			a->b[o++] = a->b[i];
		else
			binding_clear(&a->b[i]);
	}
	a->n = o;
}

static void
unlink_if_empty(struct registrar *r, struct aor **pp)
{
	if (*pp && (*pp)->n == 0) {
		struct aor *a = *pp;
		*pp = a->next;
		aor_free(a);
		r->naors--;
	}
}

static long
find_contact(const struct aor *a, struct slice uri)
{
	for (size_t i = 0; i < a->n; i++)
		if (slice_eq(slice_cstr(a->b[i].contact), uri))
			return (long)i;
	return -1;
}

static enum reg_result
update(struct registrar *r, struct slice key, const struct reg_request *rq, int64_t now)
{
	struct aor **pp = find(r, key), *a = *pp;
	size_t cap = r->cfg->max_contacts_by_aor;

	if (!a) {
		if (rq->star || rq->ncontacts == 0)
			return REG_OK;
		a = calloc(1, sizeof(*a));
		if (!a || !(a->key = slice_dup(key)) || !(a->b = calloc(cap, sizeof(*a->b)))) {
			if (a)
				free(a->key);
			free(a);
			return REG_NO_MEMORY;
		}
		*pp = a;
		r->naors++;
		maybe_grow(r);
		pp = find(r, key); /* the table may have moved */
	}
	drop_expired(a, now);

	/* RFC 3261 10.3 step 7: an older CSeq in the same Call-ID changes nothing. */
	for (size_t i = 0; i < rq->ncontacts || (rq->star && i == 0); i++) {
		for (size_t k = 0; k < a->n; k++) {
			bool relevant = rq->star ||
			    slice_eq(slice_cstr(a->b[k].contact), rq->contacts[i].uri);
			if (relevant && slice_eq(slice_cstr(a->b[k].callid), rq->callid) &&
			    rq->cseq < a->b[k].cseq)
				return REG_OUT_OF_ORDER;
		}
		if (rq->star)
			break;
	}

	if (rq->star) {
		for (size_t i = 0; i < a->n; i++)
			binding_clear(&a->b[i]);
		a->n = 0;
		unlink_if_empty(r, pp);
		return REG_OK;
	}
	for (size_t i = 0; i < rq->ncontacts; i++) {
		const struct reg_contact *c = &rq->contacts[i];
		long k = find_contact(a, c->uri);
		if (c->expires == 0) {
			if (k >= 0) {
				binding_clear(&a->b[k]);
				a->b[k] = a->b[--a->n];
			}
			continue;
		}
		char *callid = slice_dup(rq->callid);
		char *contact = k >= 0 ? NULL : slice_dup(c->uri);
		if (!callid || (k < 0 && !contact)) {
			free(callid);
			free(contact);
			return REG_NO_MEMORY;
		}
		if (k < 0) {
			if (a->n == cap) { /* full: the binding that expires first goes */
				size_t old = 0;
				for (size_t j = 1; j < a->n; j++)
					if (a->b[j].expires_at < a->b[old].expires_at)
						old = j;
				binding_clear(&a->b[old]);
				a->b[old] = a->b[--a->n];
			}
			k = (long)a->n++;
			memset(&a->b[k], 0, sizeof(a->b[k]));
			a->b[k].contact = contact;
		} else {
			free(a->b[k].callid);
		}
		struct reg_binding *b = &a->b[k];
		b->callid = callid;
		b->cseq = rq->cseq;
		b->expires_at = now + c->expires;
		slice_copy(c->q.n < sizeof(b->q) ? c->q : SLICE_NULL, b->q, sizeof(b->q));
		if (rq->flow)
			b->flow = *rq->flow;
		b->stamp = ++r->stamp;
		b->at = now;
	}
	unlink_if_empty(r, pp);
	return REG_OK;
}

enum reg_result
registrar_update(struct registrar *r, struct slice key, const struct reg_request *rq,
    int64_t now)
{
	enum reg_result res = update(r, key, rq, now);
	if (res == REG_OK && r->hook) {
		char aor[REG_AOR_MAX];
		if (slice_copy(key, aor, sizeof(aor)))
			r->hook(r->hook_arg, aor);
	}
	return res;
}

void
registrar_set_hook(struct registrar *r, registrar_hook fn, void *arg)
{
	r->hook = fn;
	r->hook_arg = arg;
}

const struct reg_binding *
registrar_lookup(struct registrar *r, struct slice key, int64_t now, size_t *n)
{
	struct aor **pp = find(r, key);

	*n = 0;
	if (!*pp)
		return NULL;
	drop_expired(*pp, now);
	if ((*pp)->n == 0) {
		unlink_if_empty(r, pp);
		return NULL;
	}
	*n = (*pp)->n;
	return (*pp)->b;
}

size_t
registrar_sweep(struct registrar *r, int64_t now)
{
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct aor **pp = &r->buckets[i];
		while (*pp) {
			drop_expired(*pp, now);
			if ((*pp)->n == 0)
				unlink_if_empty(r, pp);
			else
				pp = &(*pp)->next;
		}
	}
	return r->naors;
}

size_t
registrar_count(const struct registrar *r)
{
	return r->naors;
}

/* q as thousandths ("" counts as 1, RFC 3261 leaves it to us). */
static unsigned
qvalue(const char *q)
{
	if (!q[0] || q[0] == '1')
		return 1000;
	unsigned v = 0, scale = 100;
	for (const char *p = q + 2; q[1] == '.' && *p && scale; p++, scale /= 10)
		v += (unsigned)(*p - '0') * scale;
	return v;
}

const struct reg_binding *
registrar_pick(struct registrar *r, struct slice aor, int64_t now)
{
	size_t n;
	const struct reg_binding *b = registrar_lookup(r, aor, now, &n), *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (!best || qvalue(b[i].q) > qvalue(best->q) ||
		    (qvalue(b[i].q) == qvalue(best->q) && b[i].stamp > best->stamp))
			best = &b[i];
	return best;
}

size_t
registrar_each(struct registrar *r, int64_t now,
    void (*fn)(void *arg, const char *aor, const struct reg_binding *b), void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nbuckets; i++)
		for (struct aor *a = r->buckets[i]; a; a = a->next)
			for (size_t j = 0; j < a->n; j++)
				if (a->b[j].expires_at > now) {
					fn(arg, a->key, &a->b[j]);
					n++;
				}
	return n;
}
