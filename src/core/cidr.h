/*
 * IP addresses as 16-byte keys (IPv4 as ::ffff:a.b.c.d, so one table and one
 * compare serve both families) and CIDR networks over them, for bans,
 * ignoreip and ACL groups.
 */
#ifndef PBX_CIDR_H
#define PBX_CIDR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/slice.h"

struct ipkey {
	uint8_t b[16];
};

struct cidr {
	struct ipkey net;	/* host bits cleared */
	uint8_t bits;		/* 0..128, over the 16-byte form */
};

/* Longest printed form of an ipkey or a cidr. */
#define IPKEY_STRLEN 52

void ipkey_from_addr(const struct addr *a, struct ipkey *k);
bool ipkey_is_v4(const struct ipkey *k);
/* A numeric address, v4 or v6, no port: "192.0.2.1", "2001:db8::1". */
bool ipkey_parse(struct slice s, struct ipkey *k);
/* A socket address for it (port 0), for logs and events. */
void ipkey_to_addr(const struct ipkey *k, struct addr *a);
const char *ipkey_str(const struct ipkey *k, char *dst, size_t dstsz);
bool ipkey_eq(const struct ipkey *a, const struct ipkey *b);
uint64_t ipkey_hash(const struct ipkey *k, uint64_t seed);

/* "10.0.0.0/8", "2001:db8::/32", "192.0.2.1" (/32), "::1" (/128),
 * or the Asterisk form "10.0.0.0/255.0.0.0". Host bits must be zero. */
bool cidr_parse(struct slice s, struct cidr *c, const char **why);
/* The same, masking host bits away as Asterisk's permit/deny do, so an
 * existing "permit=209.16.236.73/255.255.255.0" reads as it always did. */
bool cidr_parse_masked(struct slice s, struct cidr *c, const char **why);
bool cidr_match(const struct cidr *c, const struct ipkey *k);
/* 0.0.0.0/0 or ::/0: the whole Internet. */
bool cidr_covers_all(const struct cidr *c);
/* Inside 127.0.0.0/8, or ::1/128. */
bool cidr_is_loopback(const struct cidr *c);
const char *cidr_str(const struct cidr *c, char *dst, size_t dstsz);

#endif
