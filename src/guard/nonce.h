/*
 * Stateless digest nonces and bounded nonce-count tracking.
 *
 * A nonce is base64url(issued[8] || salt[8] || tag[16]) where tag is the
 * first 128 bits of HMAC-SHA-256(key, issued || salt || realm). Checking
 * one needs no table; only the nonce-count (replay) check keeps state, in
 * a fixed-size table that forgets its oldest entries. A nonce whose entry
 * was forgotten counts as stale, so forgetting never lets a replay in.
 */
#ifndef PBX_NONCE_H
#define PBX_NONCE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/slice.h"

#define NONCE_KEY_LEN 32
#define NONCE_RAW_LEN 32
#define NONCE_STR_LEN 43	/* base64url of 32 bytes, no padding */

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
};

struct nonce_slot {
	uint64_t id;		/* first 8 bytes of the tag; 0 = empty */
	uint64_t reqhash;	/* which request used the last count */
	int64_t issued;
	uint32_t nc;
};

struct nonce_ctx {
	uint8_t key[NONCE_KEY_LEN];
	unsigned expires;	/* seconds */
	struct nonce_slot *slots;
	size_t nslots;		/* power of two */
	int64_t forgotten_upto;	/* nonces issued at or before: no state left */
};

/* key NULL: a random per-process key. nslots is rounded up to a power of 2. */
bool nonce_ctx_init(struct nonce_ctx *c, const uint8_t *key, unsigned expires,
    size_t nslots);
void nonce_ctx_free(struct nonce_ctx *c);

/* Writes NONCE_STR_LEN characters plus NUL. */
void nonce_make(struct nonce_ctx *c, time_t now, struct slice realm, char *out);
enum nonce_status nonce_check(const struct nonce_ctx *c, time_t now, struct slice realm,
    struct slice nonce, int64_t *issued, uint64_t *id);
/*
 * Records use of nonce id with count nc (0 for a response without qop, which
 * makes the nonce single-use) by the request identified by reqhash.
 */
enum nc_status nonce_use(struct nonce_ctx *c, time_t now, uint64_t id, int64_t issued,
    uint32_t nc, uint64_t reqhash);

#endif
