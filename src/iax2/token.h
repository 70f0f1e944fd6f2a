/*
 * Call tokens: Asterisk's defence against spoofed NEW/REGREQ floods, on the
 * same wire shape ("<unix time>?<40 hex>", so any chan_iax2 client echoes
 * it back unchanged) but bound with HMAC-SHA-256 under a key made at start
 * instead of SHA-1 over a 31-bit random secret. Nothing is stored: the
 * token itself says when it was made and proves we made it for this
 * address and port.
 */
#ifndef PBX_IAX2_TOKEN_H
#define PBX_IAX2_TOKEN_H

#include <stdint.h>

#include "core/addr.h"
#include "core/slice.h"

#define IAX_TOKEN_LEN 51		/* 10 digits, '?', 40 hex */

enum iax_token_check {
	IAX_TOKEN_OK,
	IAX_TOKEN_MALFORMED,		/* not "<time>?<40 hex>" */
	IAX_TOKEN_FORGED,		/* not ours, or for another address */
	IAX_TOKEN_EXPIRED,		/* older than the lifetime (or from the future) */
};

void iax_token_make(const uint8_t key[32], const struct addr *a, uint32_t now,
    char out[IAX_TOKEN_LEN + 1]);
enum iax_token_check iax_token_check(const uint8_t key[32], const struct addr *a,
    struct slice token, uint32_t now, unsigned lifetime);
const char *iax_token_why(enum iax_token_check c);

#endif
