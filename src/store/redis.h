/*
 * Shared state in Redis ([global] state = redis://[:password@]host[:port][/db]):
 * bans with their expiry, so a ban one node makes is in force on every node
 * within a second. hiredis on the daemon's own event loop: nothing here
 * ever blocks a packet.
 *
 * Bans live in the sorted set pbxguard:bans (member: the address, score:
 * when the ban ends; ZADD GT keeps the longest) and every change is
 * published on the channel pbxguard:bans as "ban NODE ADDR UNTIL" or
 * "unban NODE ADDR". When Redis cannot be reached the node keeps its own
 * bans, says so, retries every second, and on reconnecting takes every ban
 * in force from the set and gives it its own (reconciling both ways).
 */
#ifndef PBX_REDIS_H
#define PBX_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/cidr.h"

struct event_base;
struct rstate;

struct redis_url {
	char host[256];
	unsigned port;
	unsigned db;
	char user[64];		/* Redis 6 ACL user; empty: the default one */
	char password[256];	/* empty: no AUTH */
};

/* redis://[[user]:password@]host[:port][/db]; [v6] hosts in brackets. */
bool redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errsz);

struct rstate_hooks {
	void *arg;
	/* A ban (until > 0) or an unban (until 0) another node made. */
	void (*ban)(void *arg, const struct ipkey *k, time_t until);
	/* Connected, or again after an outage: publish what was made meanwhile. */
	void (*up)(void *arg);
};

struct rstate *rstate_new(const char *url, struct event_base *base,
    const struct rstate_hooks *hooks, char *err, size_t errsz);
void rstate_free(struct rstate *rs);

/* Our own bans, for the other nodes (dropped while Redis is down: the up
 * hook republishes every ban in force). */
void rstate_ban(struct rstate *rs, const struct ipkey *k, time_t until);
void rstate_unban(struct rstate *rs, const struct ipkey *k);

struct rstate_status {
	bool up;
	time_t since;		/* when it went up or down */
	unsigned long long published, received, outages;
	char where[300];	/* host:port/db */
};
void rstate_status(const struct rstate *rs, struct rstate_status *out);

#endif
