/*
 * Shared state in Redis ([global] state = redis://[:password@]host[:port][/db]):
 * bans with their expiry, so a ban one node makes is in force on every node
 * within a second; the nonce key and nonce counts, so a nonce one node
 * issued is answered at another, once; and registrations, so a call for a
 * phone registered on another node is sent to that node. hiredis on the
 * daemon's own event loop: nothing here ever blocks a packet.
 *
 * Bans live in the sorted set pbxguard:bans (member: the address, score:
 * when the ban ends; ZADD GT keeps the longest) and every change is
 * published on the channel pbxguard:DB:bans (DB: the database number;
 * channels are not per database) as "ban NODE ADDR UNTIL" or
 * "unban NODE ADDR". When Redis cannot be reached the node keeps its own
 * bans, says so, retries every second, and on reconnecting takes every ban
 * in force from the set and gives it its own (reconciling both ways).
 *
 * The nonce key is pbxguard:nonce-key (the first node to connect sets it,
 * SET NX; every node then reads it). The count of a shared nonce is the
 * key pbxguard:nc:ID ("COUNT REQUEST"), kept while the nonce is valid and
 * compared and set in one script, so two nodes cannot both take a count.
 * Registrations are the hash pbxguard:regs (field: the AOR, value: "NODE
 * ADDR UNTIL AT", ADDR where that node takes SIP from the other nodes, AT
 * when the phone last registered), and "reg NODE ADDR UNTIL AT AOR" /
 * "unreg NODE AOR" on the channel.
 */
#ifndef PBX_REDIS_H
#define PBX_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/cidr.h"

struct event_base;
struct rstate;

#define REDIS_MAX_SENTINELS 8

struct redis_hostport {
	char host[256];
	unsigned port;
};

struct redis_url {
	char host[256];		/* the server; with sentinels, the master they name */
	unsigned port;
	unsigned db;
	char user[64];		/* Redis 6 ACL user; empty: the default one */
	char password[256];	/* empty: no AUTH (the data nodes', not the sentinels') */
	/* redis-sentinel://: where to ask for the master of that name. */
	bool sentinel;
	char master[64];
	struct redis_hostport sentinels[REDIS_MAX_SENTINELS];
	size_t nsentinels;
};

/*
 * redis://[[user]:password@]host[:port][/db], or Lettuce's Sentinel form
 * redis-sentinel://[[user]:password@]host[:port][,host[:port]...][/db]#master
 * (sentinels' default port 26379); [v6] hosts in brackets.
 */
bool redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errsz);

struct rstate_hooks {
	void *arg;
	/* A ban (until > 0) or an unban (until 0) another node made. */
	void (*ban)(void *arg, const struct ipkey *k, time_t until);
	/* Connected, or again after an outage: publish what was made meanwhile. */
	void (*up)(void *arg);
	/* The nonce key the nodes share, or NULL: Redis is away. */
	void (*nonce_key)(void *arg, const uint8_t *key);
	/* Another node's registration of aor: that node takes requests for it
	 * at where until until, registered last at at; until 0: it has none left. */
	void (*reg)(void *arg, const char *aor, const char *node, const char *where,
	    time_t until, time_t at);
};

struct rstate *rstate_new(const char *url, struct event_base *base,
    const struct rstate_hooks *hooks, char *err, size_t errsz);
void rstate_free(struct rstate *rs);

/* Our own bans, for the other nodes (dropped while Redis is down: the up
 * hook republishes every ban in force). */
void rstate_ban(struct rstate *rs, const struct ipkey *k, time_t until);
void rstate_unban(struct rstate *rs, const struct ipkey *k);

/* Our registration of aor: reached at where until until, refreshed last at
 * at; until 0: gone. Dropped while Redis is down (the up hook sends them
 * all again). */
void rstate_reg(struct rstate *rs, const char *aor, const char *where, time_t until,
    time_t at);

/* The shared nonce id used with count nc by request reqhash, valid until
 * until: cb(arg, token, r) with r 0 (first use of the count), 1 (the same
 * request again), 2 (a count already taken) or -1 (no answer). False when
 * Redis is down: cb is not called. */
typedef void rstate_nc_cb(void *arg, uint64_t token, int result);
bool rstate_nc_use(struct rstate *rs, uint64_t id, uint32_t nc, uint64_t reqhash,
    time_t until, rstate_nc_cb *cb, void *arg, uint64_t token);

/* A message on the channel, parsed (also the fuzz target's way in). */
#define RSTATE_MSG_MAX 600	/* an AOR (REG_AOR_MAX, 400) and a few words */
enum rstate_msg_kind { RSTATE_BAN, RSTATE_UNBAN, RSTATE_REG, RSTATE_UNREG };
struct rstate_msg {
	enum rstate_msg_kind kind;
	char node[17];
	struct ipkey addr;	/* BAN, UNBAN */
	char where[64];		/* REG: host:port */
	time_t until, at;	/* BAN: until; REG: until and at */
	char aor[RSTATE_MSG_MAX];	/* REG, UNREG */
};
/* "ban NODE ADDR UNTIL", "unban NODE ADDR", "reg NODE WHERE UNTIL AT AOR"
 * or "unreg NODE AOR" (the AOR is the rest: it may hold anything but NUL).
 * False for anything else. */
bool rstate_msg_parse(const char *text, size_t n, struct rstate_msg *m);

struct rstate_status {
	bool up;
	time_t since;		/* when it went up or down */
	unsigned long long published, received, outages;
	unsigned long long nc_checks;	/* shared nonce counts asked */
	char where[300];	/* host:port/db */
};
void rstate_status(const struct rstate *rs, struct rstate_status *out);

#endif
