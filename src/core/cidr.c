#include "core/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void
ipkey_from_addr(const struct addr *a, struct ipkey *k)
{
	memset(k, 0, sizeof(*k));
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
		memcpy(k->b, v4prefix, 12);
		memcpy(k->b + 12, &v4->sin_addr, 4);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
		memcpy(k->b, &v6->sin6_addr, 16);
	}
}

bool
ipkey_is_v4(const struct ipkey *k)
{
	return memcmp(k->b, v4prefix, 12) == 0;
}

bool
ipkey_parse(struct slice s, struct ipkey *k)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t v4[4];

	if (!slice_copy(s, buf, sizeof(buf)))
		return false;
	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, buf, v4) == 1) {
		memcpy(k->b, v4prefix, 12);
		memcpy(k->b + 12, v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, buf, k->b) == 1;
}

void
ipkey_to_addr(const struct ipkey *k, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ipkey_is_v4(k)) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
		v4->sin_family = AF_INET;
		memcpy(&v4->sin_addr, k->b + 12, 4);
		a->len = sizeof(*v4);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
		v6->sin6_family = AF_INET6;
		memcpy(&v6->sin6_addr, k->b, 16);
		a->len = sizeof(*v6);
	}
}

const char *
ipkey_str(const struct ipkey *k, char *dst, size_t dstsz)
{
	char buf[INET6_ADDRSTRLEN];
	bool ok = ipkey_is_v4(k) ? inet_ntop(AF_INET, k->b + 12, buf, sizeof(buf)) != NULL
	    : inet_ntop(AF_INET6, k->b, buf, sizeof(buf)) != NULL;
	snprintf(dst, dstsz, "%s", ok ? buf : "?");
	return dst;
}

bool
ipkey_eq(const struct ipkey *a, const struct ipkey *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

uint64_t
ipkey_hash(const struct ipkey *k, uint64_t seed)
{
	return slice_hash_final(slice_hash(SLICE_HASH_INIT(seed),
	    (struct slice){ (const char *)k->b, 16 }, false));
}

static void
mask_bits(struct ipkey *k, unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
		k->b[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/* A dotted netmask (Asterisk's permit=10.0.0.0/255.0.0.0): its prefix length. */
static bool
netmask_bits(struct slice s, unsigned *bits)
{
	char buf[INET_ADDRSTRLEN];
	uint8_t m[4];
	unsigned n = 0;

	if (!slice_copy(s, buf, sizeof(buf)) || inet_pton(AF_INET, buf, m) != 1)
		return false;
	uint32_t v = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	while (n < 32 && (v & (0x80000000u >> n)))
		n++;
	if (n < 32 && (v << n) != 0)
		return false; /* not contiguous */
	*bits = n;
	return true;
}

static bool
cidr_parse_mode(struct slice s, struct cidr *c, const char **why, bool strict)
{
	struct slice t = slice_trim(s), len, host = slice_cut(t, '/', &len);
	bool has_len = host.n < t.n;
	struct ipkey k, masked;
	uint64_t n = 0;
	unsigned bits;

	*why = NULL;
	if (!ipkey_parse(host, &k)) {
		*why = "not a numeric IPv4 or IPv6 address";
		return false;
	}
	bool v4 = ipkey_is_v4(&k);
	if (!has_len) {
		bits = v4 ? 32 : 128;
	} else if (slice_to_u64(len, 0, v4 ? 32 : 128, &n)) {
		bits = (unsigned)n;
	} else if (!v4 || !netmask_bits(len, &bits)) {
		*why = v4 ? "prefix length must be 0 to 32 (or a netmask)"
		    : "prefix length must be 0 to 128";
		return false;
	}
	if (v4)
		bits += 96;
	masked = k;
	mask_bits(&masked, bits);
	if (strict && !ipkey_eq(&masked, &k)) {
		*why = "host bits set below the prefix length";
		return false;
	}
	c->net = masked;
	c->bits = (uint8_t)bits;
	return true;
}

bool
cidr_match(const struct cidr *c, const struct ipkey *k)
{
	struct ipkey m = *k;
	mask_bits(&m, c->bits);
	return ipkey_eq(&m, &c->net);
}

const char *
cidr_str(const struct cidr *c, char *dst, size_t dstsz)
{
	char h[IPKEY_STRLEN];
	bool v4 = ipkey_is_v4(&c->net) && c->bits >= 96;
	snprintf(dst, dstsz, "%s/%u", ipkey_str(&c->net, h, sizeof(h)),
	    v4 ? c->bits - 96u : c->bits);
	return dst;
}

bool
cidr_parse(struct slice s, struct cidr *c, const char **why)
{
	return cidr_parse_mode(s, c, why, true);
}

bool
cidr_parse_masked(struct slice s, struct cidr *c, const char **why)
{
	return cidr_parse_mode(s, c, why, false);
}

bool
cidr_covers_all(const struct cidr *c)
{
	/* /0 over the 16-byte form, or 0.0.0.0/0 (the v4 prefix's 96 bits). */
	return c->bits == 0 || (c->bits == 96 && memcmp(c->net.b, v4prefix, 12) == 0);
}

bool
cidr_is_loopback(const struct cidr *c)
{
	static const uint8_t one[16] = { [15] = 1 };
	if (memcmp(c->net.b, v4prefix, 12) == 0)
		return c->bits >= 104 && c->net.b[12] == 127;
	return c->bits == 128 && memcmp(c->net.b, one, 16) == 0;
}
