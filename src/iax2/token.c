#include "iax2/token.h"

#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* HMAC-SHA-256(key, family || address || port || time), first 20 bytes in hex. */
static void
token_mac(const uint8_t key[32], const struct addr *a, uint32_t t, char hex[41])
{
	uint8_t msg[1 + 16 + 2 + 4], mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	size_t n = 0;

	memset(msg, 0, sizeof(msg));
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
		msg[n++] = 6;
		memcpy(msg + n, &s6->sin6_addr, 16);
		n += 16;
		memcpy(msg + n, &s6->sin6_port, 2);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
		msg[n++] = 4;
		memcpy(msg + n, &s4->sin_addr, 4);
		n += 16;
		memcpy(msg + n, &s4->sin_port, 2);
	}
	n += 2;
	msg[n++] = (uint8_t)(t >> 24);
	msg[n++] = (uint8_t)(t >> 16);
	msg[n++] = (uint8_t)(t >> 8);
	msg[n++] = (uint8_t)t;
	HMAC(EVP_sha256(), key, 32, msg, n, mac, &maclen);
	hex_encode(mac, 20, hex);
}

void
iax_token_make(const uint8_t key[32], const struct addr *a, uint32_t now,
    char out[IAX_TOKEN_LEN + 1])
{
	char hex[41];

	token_mac(key, a, now, hex);
	snprintf(out, IAX_TOKEN_LEN + 1, "%u?%s", (unsigned)now, hex);
}

enum iax_token_check
iax_token_check(const uint8_t key[32], const struct addr *a, struct slice token, uint32_t now,
    unsigned lifetime)
{
	struct slice rest, digits = slice_cut(token, '?', &rest);
	uint64_t t;
	char hex[41];

	if (rest.p == NULL || rest.n != 40 || !slice_is_hex(rest) ||
	    !slice_to_u64(digits, 0, UINT32_MAX, &t))
		return IAX_TOKEN_MALFORMED;
	token_mac(key, a, (uint32_t)t, hex);
	if (!ct_hex_equal(rest, slice_cstr(hex)))
		return IAX_TOKEN_FORGED;
	if (t > (uint64_t)now + 1 || (uint64_t)now - t > lifetime)
		return IAX_TOKEN_EXPIRED;
	return IAX_TOKEN_OK;
}

const char *
iax_token_why(enum iax_token_check c)
{
	switch (c) {
	case IAX_TOKEN_OK:
		return "valid";
	case IAX_TOKEN_MALFORMED:
		return "malformed";
	case IAX_TOKEN_FORGED:
		return "not made by us for this address";
	case IAX_TOKEN_EXPIRED:
		return "expired";
	}
	return "?";
}
