/*
 * Stateless digest nonces and bounded nonce-count tracking.
 *
 * A nonce is base64url(issued[8] || seq[8] || salt[8] || tag[16]) where
 * tag is the first 128 bits of HMAC-SHA-256(key, issued || seq || salt ||
 * realm) and seq counts the nonces this process made. Checking one needs
 * no table; only the nonce-count (replay) check keeps state, in a
 * fixed-size table that forgets the entries made longest ago. A nonce
 * issued before a forgotten one and not in the table counts as stale, so
 * forgetting never lets a replay in; ordering by seq (not by second) means
 * a burst never makes the nonces just handed out stale.
 *
 * With shared state (Redis) a second key, the same on every node, signs
 * the nonces made while the state is reachable, so any node accepts them;
 * their nonce counts are kept in the shared state, not in this table. While
 * the state is away the node signs with its own key again: such nonces only
 * this node accepts, and this table alone knows their counts.
 */
#ifndef PBX_NONCE_H
#define PBX_NONCE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/slice.h"

#define NONCE_KEY_LEN 32
#define NONCE_RAW_LEN 40
#define NONCE_STR_LEN 54	/* base64url of 40 bytes, no padding */

enum nonce_status {
	NONCE_OK,
	NONCE_EXPIRED,	/* genuine, too old: answer with stale=true */
	NONCE_INVALID,	/* not ours, or not for this realm */
};

enum nc_status {
	NC_OK,		/* first use of this count: recorded */
	NC_RETRANSMIT,	/* same count, same request: a UDP retransmission */
	NC_REPLAY,	/* count not above the last one seen */
	NC_FORGOTTEN,	/* table no longer knows this nonce: treat as stale */
	NC_PENDING,	/* shared: asked the shared state, answer to come */
	NC_UNAVAILABLE,	/* shared, and the shared state is away: treat as stale */
};

struct nonce_slot {
	uint64_t id;		/* first 8 bytes of the tag; 0 = empty */
	uint64_t reqhash;	/* which request used the last count */
	uint64_t seq;		/* issue order */
	int64_t issued;		/* issue time, for expiry */
	uint32_t nc;
};

/* What nonce_check learnt from a valid nonce. */
struct nonce_info {
	int64_t issued;
	uint64_t seq;
	uint64_t id;
	bool shared;		/* signed with the shared key */
};

struct nonce_ctx {
	uint8_t key[NONCE_KEY_LEN];
	unsigned expires;	/* seconds */
	struct nonce_slot *slots;
	size_t nslots;		/* power of two */
	uint64_t next_seq;
	uint64_t forgotten_upto;/* nonces with seq at or below: no state left */
	uint8_t shared[NONCE_KEY_LEN];
	bool has_shared;	/* shared nonces are still checked with it */
	bool shared_on;		/* and new ones are made with it */
};

/* key NULL: a random per-process key. nslots is rounded up to a power of 2. */
bool nonce_ctx_init(struct nonce_ctx *c, const uint8_t *key, unsigned expires,
    size_t nslots);
void nonce_ctx_free(struct nonce_ctx *c);

/*
 * The key every node shares: new nonces are made with it and nonces made
 * with it are accepted (info->shared). NULL: new nonces are this node's own
 * again; shared ones are still recognised, so they can be answered stale.
 */
void nonce_set_shared(struct nonce_ctx *c, const uint8_t *key);

/* Writes NONCE_STR_LEN characters plus NUL. */
void nonce_make(struct nonce_ctx *c, time_t now, struct slice realm, char *out);
enum nonce_status nonce_check(const struct nonce_ctx *c, time_t now, struct slice realm,
    struct slice nonce, struct nonce_info *info);
/*
 * Records use of a checked nonce with count nc (0 for a response without
 * qop, which makes the nonce single-use) by the request identified by reqhash.
 */
enum nc_status nonce_use(struct nonce_ctx *c, time_t now, const struct nonce_info *info,
    uint32_t nc, uint64_t reqhash);

#endif
