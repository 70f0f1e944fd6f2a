/*
 * [global] state = redis://...: this node's bans go to the other nodes and
 * theirs come here, through the guard like any other ban (logged, a
 * security event, the kernel's sets). Sits in the guard's enforcer slot and
 * passes every ban on to the enforcer that was there (nftables).
 */
#ifndef PBX_CLUSTER_H
#define PBX_CLUSTER_H

#include "core/config.h"
#include "guard/guard.h"
#include "store/redis.h"

struct cluster;
struct event_base;

/* NULL with err on a bad URL; a Redis that is down is not an error. */
struct cluster *cluster_start(const struct config *cfg, struct event_base *base,
    struct guard *g, bans_hook next, void *next_arg, char *err, size_t errsz);
void cluster_stop(struct cluster *c);
const struct rstate *cluster_state(const struct cluster *c);

#endif
