#include "daemon/cluster.h"

#include <stdlib.h>

#include "core/log.h"

struct cluster {
	struct guard *g;
	struct rstate *rs;
	bans_hook next;
	void *next_arg;
	bool applying;		/* a ban from another node: not sent back */
};

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

/* Redis is (back) up: every ban this node made goes into the shared set. */
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
}

struct cluster *
cluster_start(const struct config *cfg, struct event_base *base, struct guard *g,
    bans_hook next, void *next_arg, char *err, size_t errsz)
{
	struct cluster *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->g = g;
	c->next = next;
	c->next_arg = next_arg;
	struct rstate_hooks h = { c, on_remote_ban, on_up };
	if (!(c->rs = rstate_new(cfg->state_url, base, &h, err, errsz))) {
		free(c);
		return NULL;
	}
	guard_set_enforcer(g, on_local_ban, c);
	return c;
}

void
cluster_stop(struct cluster *c)
{
	if (!c)
		return;
	rstate_free(c->rs);
	free(c);
}

const struct rstate *
cluster_state(const struct cluster *c)
{
	return c ? c->rs : NULL;
}
