#include "guard/nonce.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/rand.h"

#define PROBE 16 /* slots looked at per insert: bounds the cost of a use */

static const char b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
b64u_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
		out[o++] = b64u[v & 63];
	}
	if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
	} else if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
	}
	out[o] = '\0';
}

static int
b64u_val(char c)
{
	const char *q = memchr(b64u, c, 64);
	return c && q ? (int)(q - b64u) : -1;
}

/* Decodes exactly NONCE_STR_LEN characters into NONCE_RAW_LEN bytes. */
static bool
b64u_decode_nonce(struct slice s, uint8_t *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (s.n != NONCE_STR_LEN)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		int v = b64u_val(s.p[i]);
		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < NONCE_RAW_LEN)
				out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o == NONCE_RAW_LEN && acc == 0; /* canonical: no stray low bits */
}

bool
nonce_ctx_init(struct nonce_ctx *c, const uint8_t *key, unsigned expires, size_t nslots)
{
	size_t n = 64;

	memset(c, 0, sizeof(*c));
	while (n < nslots && n < ((size_t)1 << 24))
		n <<= 1;
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->slots)
		return false;
	c->nslots = n;
	c->expires = expires;
	if (key)
		memcpy(c->key, key, NONCE_KEY_LEN);
	else
		rand_bytes(c->key, NONCE_KEY_LEN);
	c->next_seq = 1;
	return true;
}

void
nonce_ctx_free(struct nonce_ctx *c)
{
	free(c->slots);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	OPENSSL_cleanse(c->shared, sizeof(c->shared));
	c->slots = NULL;
}

void
nonce_set_shared(struct nonce_ctx *c, const uint8_t *key)
{
	c->shared_on = key != NULL;
	if (key) {
		memcpy(c->shared, key, NONCE_KEY_LEN);
		c->has_shared = true;
	}
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

#define HEAD 24 /* issued, seq, salt: what the tag covers besides the realm */

static void
tag(const uint8_t *key, const uint8_t *head, struct slice realm, uint8_t *out16)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int len = sizeof(mac);
	uint8_t msg[HEAD + 256];
	size_t rn = realm.n < 256 ? realm.n : 256;

	memcpy(msg, head, HEAD);
	if (rn)
		memcpy(msg + HEAD, realm.p, rn);
	HMAC(EVP_sha256(), key, NONCE_KEY_LEN, msg, HEAD + rn, mac, &len);
	memcpy(out16, mac, 16);
}

void
nonce_make(struct nonce_ctx *c, time_t now, struct slice realm, char *out)
{
	uint8_t raw[NONCE_RAW_LEN];

	put_be64(raw, (uint64_t)now);
	put_be64(raw + 8, c->next_seq++);
	rand_bytes(raw + 16, 8);
	tag(c->shared_on ? c->shared : c->key, raw, realm, raw + HEAD);
	b64u_encode(raw, sizeof(raw), out);
}

enum nonce_status
nonce_check(const struct nonce_ctx *c, time_t now, struct slice realm, struct slice nonce,
    struct nonce_info *info)
{
	uint8_t raw[NONCE_RAW_LEN], want[16];
	int64_t t;

	if (!b64u_decode_nonce(nonce, raw))
		return NONCE_INVALID;
	tag(c->key, raw, realm, want);
	info->shared = false;
	if (CRYPTO_memcmp(want, raw + HEAD, 16) != 0) {
		if (!c->has_shared)
			return NONCE_INVALID;
		tag(c->shared, raw, realm, want);
		if (CRYPTO_memcmp(want, raw + HEAD, 16) != 0)
			return NONCE_INVALID;
		info->shared = true;
	}
	t = (int64_t)get_be64(raw);
	if (t > (int64_t)now + 5) /* from the future: not a clock we trust */
		return NONCE_INVALID;
	info->issued = t;
	info->seq = get_be64(raw + 8);
	info->id = get_be64(raw + HEAD) | 1; /* never 0, the empty-slot marker */
	if ((int64_t)now - t > (int64_t)c->expires)
		return NONCE_EXPIRED;
	return NONCE_OK;
}

enum nc_status
nonce_use(struct nonce_ctx *c, time_t now, const struct nonce_info *info, uint32_t nc,
    uint64_t reqhash)
{
	uint64_t id = info->id;
	size_t mask = c->nslots - 1, base = (size_t)(id ^ id >> 29) & mask;
	struct nonce_slot *victim = NULL;
	bool victim_dead = false;

	for (size_t i = 0; i < PROBE; i++) {
		struct nonce_slot *s = &c->slots[(base + i) & mask];
		if (s->id == id) {
			if (nc > s->nc) {
				s->nc = nc;
				s->reqhash = reqhash;
				return NC_OK;
			}
			if (nc == s->nc && reqhash == s->reqhash)
				return NC_RETRANSMIT;
			return NC_REPLAY;
		}
		/* Victim: an empty or expired slot, else the earliest issued. */
		bool dead = s->id == 0 || (int64_t)now - s->issued > (int64_t)c->expires;
		if (!victim || (dead && !victim_dead) ||
		    (!dead && !victim_dead && s->seq < victim->seq)) {
			victim = s;
			victim_dead = dead;
		}
	}
	/* Unknown here: either first use, or its entry was pushed out. */
	if (info->seq <= c->forgotten_upto)
		return NC_FORGOTTEN;
	if (!victim_dead && victim->seq > c->forgotten_upto)
		c->forgotten_upto = victim->seq;
	*victim = (struct nonce_slot){ id, reqhash, info->seq, info->issued, nc };
	return NC_OK;
}
