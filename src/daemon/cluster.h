/*
 * [global] state = redis://...: this node's bans go to the other nodes and
 * theirs come here, through the guard like any other ban (logged, a
 * security event, the kernel's sets). Sits in the guard's enforcer slot and
 * passes every ban on to the enforcer that was there (nftables).
 *
 * Nonces: the guard signs with the key the nodes share while Redis is
 * reachable, and a shared nonce's count is asked of Redis; the request
 * waits parked (GUARD_PENDING) and is handled again on the answer.
 *
 * Registrations ([cluster] nodes): each AOR this node binds is announced
 * with the address the other nodes reach us at; theirs are kept here, so
 * the proxy sends a call for a phone on another node to that node.
 */
#ifndef PBX_CLUSTER_H
#define PBX_CLUSTER_H

#include "core/config.h"
#include "guard/guard.h"
#include "sip/proxy.h"
#include "sip/registrar.h"
#include "store/redis.h"

struct cluster;
struct event_base;

/* NULL with err on a bad URL; a Redis that is down is not an error. */
/* reg NULL: registrations are not shared. */
struct cluster *cluster_start(const struct config *cfg, struct event_base *base,
    struct guard *g, struct registrar *reg, bans_hook next, void *next_arg, char *err,
    size_t errsz);
/* Called when a parked request may go on (a nonce count is in). */
void cluster_set_ready(struct cluster *c, void (*fn)(void *arg), void *arg);
/* Calls for AORs registered on other nodes go there through p. */
void cluster_route(struct cluster *c, struct proxy *p);
void cluster_stop(struct cluster *c);
const struct rstate *cluster_state(const struct cluster *c);
/* Other nodes' AORs known here. */
size_t cluster_remote_count(const struct cluster *c);

#endif
