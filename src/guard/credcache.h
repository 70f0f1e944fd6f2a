/*
 * Credentials already verified, so a slow hash (bcrypt) is paid once per
 * expiry, not on every request. Entries are keyed by HMAC-SHA-256 under a
 * key made at start and never written anywhere: the table holds neither a
 * password nor anything that can be checked against one offline. Bounded
 * (a full set evicts the entry closest to expiry), expiring, and flushed
 * whole when the password file changes.
 */
#ifndef PBX_CREDCACHE_H
#define PBX_CREDCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/slice.h"

struct credcache;

/* Longer names or passwords are never cached (a miss, not an error). */
#define CREDCACHE_MAX_FIELD 512

/* NULL when entries or ttl is 0 (no cache) or out of memory. */
struct credcache *credcache_new(size_t entries, unsigned ttl);
void credcache_free(struct credcache *c);
/* The keyed hash of a user name and password (what the table stores). */
void credcache_key(const struct credcache *c, struct slice user, struct slice password,
    uint8_t key[32]);
bool credcache_hit(struct credcache *c, const uint8_t key[32], time_t now);
void credcache_put(struct credcache *c, const uint8_t key[32], time_t now);
void credcache_flush(struct credcache *c);
/* Entries in force, hits and misses since start (for the metrics). */
void credcache_stats(const struct credcache *c, time_t now, size_t *live, uint64_t *hits,
    uint64_t *misses);

#endif
