#include "daemon/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rand.h"

#define NC_SLOTS 4096		/* nonce counts asked and not yet taken back */
#define NC_PROBE 16
#define NC_KEEP 10		/* s an answer waits for its request to come back */
#define REMOTE_MAX (1u << 20)	/* other nodes' AORs kept */

/* A nonce count asked of Redis: the request that asked is parked until
 * the answer is in, then handled again and takes the answer here. */
struct nc_slot {
	uint64_t id, reqhash;
	uint32_t nc;
	uint32_t gen;		/* tells a late answer from the slot's next use */
	int result;		/* -2: asked; -1: no answer; 0, 1, 2: see rstate_nc_use */
	time_t at;		/* 0: free */
};

/* Another node's registration. */
struct remote {
	struct remote *next;
	char node[17];
	struct addr where;
	time_t until, at;
	char aor[];
};

struct cluster {
	const struct config *cfg;
	struct guard *g;
	struct registrar *reg;
	struct rstate *rs;
	bans_hook next;
	void *next_arg;
	bool applying;		/* a ban from another node: not sent back */
	char where[ADDR_STRLEN];	/* where the other nodes reach us; empty: no routing */
	struct addr self;		/* the same, parsed */
	void (*ready)(void *arg);
	void *ready_arg;
	struct nc_slot nc[NC_SLOTS];
	struct remote **remote;
	size_t nbuckets, nremote;
	uint64_t seed;
};

/* ---- bans ---------------------------------------------------------------- */

static void
on_local_ban(void *arg, const struct ban_info *bi, enum ban_change what, time_t now,
    const char *why)
{
	struct cluster *c = arg;
	if (c->next)
		c->next(c->next_arg, bi, what, now, why);
	if (c->applying)
		return;
	if (what == BAN_STARTED && bi->reason != BAN_SHARED)
		rstate_ban(c->rs, &bi->addr, bi->until);
	else if (what == BAN_LIFTED)
		rstate_unban(c->rs, &bi->addr); /* an expiry needs no word: the set has it */
}

static void
on_remote_ban(void *arg, const struct ipkey *k, time_t until)
{
	struct cluster *c = arg;
	time_t now = time(NULL);
	c->applying = true;
	if (until)
		guard_ban_shared(c->g, k, until, now);
	else
		guard_unban(c->g, k, now);
	c->applying = false;
}

/* ---- nonces --------------------------------------------------------------- */

static enum nc_status nc_use(void *arg, const struct nonce_info *ni, uint32_t nc,
    uint64_t reqhash, time_t now);

static void
on_nonce_key(void *arg, const uint8_t *key)
{
	struct cluster *c = arg;
	struct guard_nonce_share ops = { c, nc_use };
	guard_share_nonces(c->g, key, &ops);
}

static void
on_nc_answer(void *arg, uint64_t token, int result)
{
	struct cluster *c = arg;
	struct nc_slot *s = &c->nc[token % NC_SLOTS];
	if (!s->at || s->gen != (uint32_t)(token / NC_SLOTS) || s->result != -2)
		return; /* the slot moved on: its request was answered another way */
	s->result = result;
	if (c->ready)
		c->ready(c->ready_arg);
}

static size_t
nc_home(const struct cluster *c, uint64_t id, uint32_t nc, uint64_t reqhash)
{
	uint64_t h = (id ^ reqhash ^ c->seed) * 0x9e3779b97f4a7c15ull ^ nc;
	return (size_t)(h ^ h >> 31) % NC_SLOTS;
}

static enum nc_status
nc_use(void *arg, const struct nonce_info *ni, uint32_t nc, uint64_t reqhash, time_t now)
{
	struct cluster *c = arg;
	size_t home = nc_home(c, ni->id, nc, reqhash);
	struct nc_slot *free_slot = NULL;

	for (size_t i = 0; i < NC_PROBE; i++) {
		struct nc_slot *s = &c->nc[(home + i) % NC_SLOTS];
		if (s->at && now - s->at > NC_KEEP)
			s->at = 0; /* its request never came back */
		if (!s->at) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (s->id != ni->id || s->nc != nc || s->reqhash != reqhash)
			continue;
		if (s->result == -2)
			return NC_PENDING;
		int res = s->result;
		s->at = 0;
		return res == 0 ? NC_OK : res == 1 ? NC_RETRANSMIT : res == 2 ? NC_REPLAY :
		    NC_UNAVAILABLE;
	}
	if (!free_slot)
		return NC_UNAVAILABLE; /* more waiting than we keep: a fresh nonce */
	struct nc_slot *s = free_slot;
	uint32_t gen = s->gen + 1;
	uint64_t token = (uint64_t)gen * NC_SLOTS + (uint64_t)(s - c->nc);
	*s = (struct nc_slot){ ni->id, reqhash, nc, gen, -2, now };
	if (!rstate_nc_use(c->rs, ni->id, nc, reqhash,
	    (time_t)ni->issued + (time_t)c->cfg->nonce_expires + 1, on_nc_answer, c, token)) {
		s->at = 0;
		return NC_UNAVAILABLE;
	}
	return NC_PENDING;
}

/* ---- registrations ---------------------------------------------------------- */

static struct remote **
remote_find(struct cluster *c, const char *aor)
{
	uint64_t h = slice_hash_final(slice_hash(SLICE_HASH_INIT(c->seed), slice_cstr(aor), false));
	struct remote **pp = &c->remote[h % c->nbuckets];
	while (*pp && strcmp((*pp)->aor, aor) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void
remote_drop(struct cluster *c, struct remote **pp)
{
	struct remote *r = *pp;
	*pp = r->next;
	free(r);
	c->nremote--;
}

/* Another node's word on aor: it takes requests for it at where until
 * until (registered last at at), or (until 0) it has no binding left. */
static void
on_remote_reg(void *arg, const char *aor, const char *node, const char *where, time_t until,
    time_t at)
{
	struct cluster *c = arg;
	struct remote **pp = remote_find(c, aor), *r = *pp;
	struct addr a;

	if (!until) {
		if (r && strcmp(r->node, node) == 0)
			remote_drop(c, pp);
		return;
	}
	/* A node we do not trust is never routed to; nor are we, under an id
	 * of ours from before a restart (the bindings went with it). */
	if (!c->where[0] || until <= time(NULL) || !addr_parse(slice_cstr(where), &a) ||
	    addr_equal(&a, &c->self) || !guard_cluster_node(c->g, &a))
		return;
	if (!r) {
		size_t n = strlen(aor);
		if (c->nremote >= REMOTE_MAX || !(r = calloc(1, sizeof(*r) + n + 1)))
			return;
		memcpy(r->aor, aor, n + 1);
		r->next = *pp;
		*pp = r;
		c->nremote++;
	}
	snprintf(r->node, sizeof(r->node), "%s", node);
	r->where = a;
	r->until = until;
	r->at = at;
}

static bool
locate(void *arg, const char *aor, struct addr *node, int64_t *at)
{
	struct cluster *c = arg;
	struct remote **pp = remote_find(c, aor);
	if (!*pp)
		return false;
	if ((*pp)->until <= time(NULL)) {
		remote_drop(c, pp);
		return false;
	}
	*node = (*pp)->where;
	*at = (*pp)->at;
	return true;
}

/* Our bindings of aor changed: the others learn until when we hold it. */
static void
on_local_reg(void *arg, const char *aor)
{
	struct cluster *c = arg;
	size_t n;
	time_t until = 0, at = 0;
	const struct reg_binding *b = registrar_lookup(c->reg, slice_cstr(aor), time(NULL), &n);
	for (size_t i = 0; i < n; i++) {
		if (b[i].expires_at > until)
			until = (time_t)b[i].expires_at;
		if (b[i].at > at)
			at = (time_t)b[i].at;
	}
	rstate_reg(c->rs, aor, c->where, until, at);
}

/* registrar_each's walk, one AOR's bindings after another. */
struct reg_walk {
	struct cluster *c;
	char aor[REG_AOR_MAX];	/* the registrar's keys: never cut here */
	time_t until, at;
	size_t sent;
};

static void
walk_flush(struct reg_walk *w)
{
	if (w->aor[0]) {
		rstate_reg(w->c->rs, w->aor, w->c->where, w->until, w->at);
		w->sent++;
	}
}

static void
walk_one(void *arg, const char *aor, const struct reg_binding *b)
{
	struct reg_walk *w = arg;
	if (strcmp(aor, w->aor) != 0) {
		walk_flush(w);
		snprintf(w->aor, sizeof(w->aor), "%s", aor);
		w->until = w->at = 0;
	}
	if ((time_t)b->expires_at > w->until)
		w->until = (time_t)b->expires_at;
	if ((time_t)b->at > w->at)
		w->at = (time_t)b->at;
}

/* ---- Redis back ------------------------------------------------------------ */

/* Redis is (back) up: every ban and registration of this node goes there. */
static void
on_up(void *arg)
{
	struct cluster *c = arg;
	time_t now = time(NULL);
	size_t n = guard_bans_list(c->g, now, NULL, 0);
	struct ban_info *bi = calloc(n ? n : 1, sizeof(*bi));
	if (!bi)
		return;
	n = guard_bans_list(c->g, now, bi, n);
	size_t sent = 0;
	for (size_t i = 0; i < n; i++)
		if (bi[i].reason != BAN_SHARED) {
			rstate_ban(c->rs, &bi[i].addr, bi[i].until);
			sent++;
		}
	if (sent)
		log_notice("state: %zu ban%s of this node shared", sent, sent == 1 ? "" : "s");
	free(bi);
	if (c->reg && c->where[0]) {
		struct reg_walk w = { .c = c };
		registrar_each(c->reg, now, walk_one, &w);
		walk_flush(&w);
		if (w.sent)
			log_notice("state: %zu registration%s of this node shared", w.sent,
			    w.sent == 1 ? "" : "s");
	}
}

struct cluster *
cluster_start(const struct config *cfg, struct event_base *base, struct guard *g,
    struct registrar *reg, bans_hook next, void *next_arg, char *err, size_t errsz)
{
	struct cluster *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->g = g;
	c->next = next;
	c->next_arg = next_arg;
	rand_bytes(&c->seed, sizeof(c->seed));
	/* Registrations are shared when the nodes can route to each other. */
	int up = config_upstream_listener(cfg);
	if (reg && cfg->n_cluster_nodes && up >= 0) {
		c->reg = reg;
		c->self = cfg->transports[up].addr;
		addr_str(&c->self, c->where, sizeof(c->where));
		c->nbuckets = 4096;
		if (!(c->remote = calloc(c->nbuckets, sizeof(*c->remote)))) {
			snprintf(err, errsz, "out of memory");
			free(c);
			return NULL;
		}
	}
	struct rstate_hooks h = { c, on_remote_ban, on_up, on_nonce_key,
		c->reg ? on_remote_reg : NULL };
	if (!(c->rs = rstate_new(cfg->state_url, base, &h, err, errsz))) {
		free(c->remote);
		free(c);
		return NULL;
	}
	guard_set_enforcer(g, on_local_ban, c);
	if (c->reg)
		registrar_set_hook(reg, on_local_reg, c);
	return c;
}

void
cluster_set_ready(struct cluster *c, void (*fn)(void *arg), void *arg)
{
	c->ready = fn;
	c->ready_arg = arg;
}

void
cluster_route(struct cluster *c, struct proxy *p)
{
	if (c && c->reg && p)
		proxy_set_cluster(p, locate, c);
}

void
cluster_stop(struct cluster *c)
{
	if (!c)
		return;
	rstate_free(c->rs);
	if (c->reg)
		registrar_set_hook(c->reg, NULL, NULL);
	for (size_t i = 0; i < c->nbuckets; i++)
		while (c->remote[i])
			remote_drop(c, &c->remote[i]);
	free(c->remote);
	free(c);
}

const struct rstate *
cluster_state(const struct cluster *c)
{
	return c ? c->rs : NULL;
}

size_t
cluster_remote_count(const struct cluster *c)
{
	return c ? c->nremote : 0;
}
