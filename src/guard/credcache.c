#include "guard/credcache.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/rand.h"

#define CREDCACHE_WAYS 8	/* slots probed from a key's home slot */

struct cc_entry {
	uint8_t key[32];
	time_t expires;		/* 0: free */
};

struct credcache {
	struct cc_entry *e;
	size_t n;
	unsigned ttl;
	uint8_t secret[32];
	uint64_t hits, misses;
};

struct credcache *
credcache_new(size_t entries, unsigned ttl)
{
	struct credcache *c;

	if (!entries || !ttl || !(c = calloc(1, sizeof(*c))))
		return NULL;
	if (!(c->e = calloc(entries, sizeof(*c->e)))) {
		free(c);
		return NULL;
	}
	c->n = entries;
	c->ttl = ttl;
	rand_bytes(c->secret, sizeof(c->secret));
	return c;
}

void
credcache_free(struct credcache *c)
{
	if (!c)
		return;
	OPENSSL_cleanse(c->e, c->n * sizeof(*c->e));
	OPENSSL_cleanse(c->secret, sizeof(c->secret));
	free(c->e);
	free(c);
}

void
credcache_key(const struct credcache *c, struct slice user, struct slice password,
    uint8_t key[32])
{
	uint8_t buf[2 + CREDCACHE_MAX_FIELD + 1 + CREDCACHE_MAX_FIELD];
	unsigned int len = 32;

	if (user.n > CREDCACHE_MAX_FIELD || password.n > CREDCACHE_MAX_FIELD) {
		rand_bytes(key, 32); /* a key nothing matches: a miss, never a false hit */
		return;
	}
	/* Length-prefixed, so ("ab", "c") and ("a", "bc") never collide. */
	buf[0] = (uint8_t)(user.n >> 8);
	buf[1] = (uint8_t)user.n;
	memcpy(buf + 2, user.p, user.n);
	buf[2 + user.n] = 0;
	memcpy(buf + 3 + user.n, password.p, password.n);
	if (!HMAC(EVP_sha256(), c->secret, sizeof(c->secret), buf, 3 + user.n + password.n, key,
	    &len))
		rand_bytes(key, 32);
	OPENSSL_cleanse(buf, sizeof(buf));
}

static size_t
home(const struct credcache *c, const uint8_t key[32])
{
	uint64_t v;
	memcpy(&v, key, sizeof(v));
	return (size_t)(v % c->n);
}

bool
credcache_hit(struct credcache *c, const uint8_t key[32], time_t now)
{
	size_t h = home(c, key);
	for (size_t i = 0; i < CREDCACHE_WAYS && i < c->n; i++) {
		struct cc_entry *e = &c->e[(h + i) % c->n];
		if (e->expires > now && CRYPTO_memcmp(e->key, key, 32) == 0) {
			c->hits++;
			return true;
		}
	}
	c->misses++;
	return false;
}

void
credcache_put(struct credcache *c, const uint8_t key[32], time_t now)
{
	size_t h = home(c, key), victim = h;
	for (size_t i = 0; i < CREDCACHE_WAYS && i < c->n; i++) {
		struct cc_entry *e = &c->e[(h + i) % c->n];
		if (e->expires > now && CRYPTO_memcmp(e->key, key, 32) == 0) {
			victim = (h + i) % c->n;
			break;
		}
		if (e->expires <= now) {
			victim = (h + i) % c->n;
			break;
		}
		if (e->expires < c->e[victim].expires)
			victim = (h + i) % c->n;
	}
	memcpy(c->e[victim].key, key, 32);
	c->e[victim].expires = now + (time_t)c->ttl;
}

void
credcache_flush(struct credcache *c)
{
	if (c)
		memset(c->e, 0, c->n * sizeof(*c->e));
}

void
credcache_stats(const struct credcache *c, time_t now, size_t *live, uint64_t *hits,
    uint64_t *misses)
{
	*live = 0;
	*hits = *misses = 0;
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		*live += c->e[i].expires > now;
	*hits = c->hits;
	*misses = c->misses;
}
