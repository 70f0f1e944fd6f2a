/*
 * Digest access authentication maths: RFC 2617, RFC 7616 (SHA-256,
 * SHA-512-256, -sess), RFC 8760 (their use in SIP). No parsing here, no
 * policy: hex in, hex out.
 */
#ifndef PBX_DIGEST_H
#define PBX_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

enum digest_algo {
	DIGEST_MD5,
	DIGEST_SHA256,
	DIGEST_SHA512_256,	/* the real SHA-512/256, its own IV */
	DIGEST_NALGOS
};

/* An algorithm as named on the wire: base hash plus the -sess flag. */
struct digest_alg {
	enum digest_algo algo;
	bool sess;
};

#define DIGEST_MAX_HEX 64

/* Must be called once before any hashing (fetches the OpenSSL methods). */
bool digest_init(void);
void digest_shutdown(void);

/* "MD5", "sha-256-sess", ... (case-insensitive). */
bool digest_alg_parse(struct slice name, struct digest_alg *out);
/* Canonical wire name: "MD5", "SHA-256", "SHA-512-256-sess". */
const char *digest_alg_name(struct digest_alg a);
size_t digest_hex_len(enum digest_algo a);

/* hex(H(p[0] ":" p[1] ":" ... p[n-1])) into out (DIGEST_MAX_HEX + 1 bytes). */
void digest_hash_joined(enum digest_algo a, const struct slice *p, size_t n, char *out);

/* HA1 = H(user:realm:password). */
void digest_ha1(enum digest_algo a, struct slice user, struct slice realm,
    struct slice password, char *out);

struct digest_input {
	struct digest_alg alg;
	struct slice ha1;	/* hex H(user:realm:password) */
	struct slice nonce, cnonce, nc, qop;	/* qop empty: RFC 2069 form */
	struct slice method, uri;
	struct slice body;	/* for qop=auth-int */
};

/* The expected response, hex, into out (DIGEST_MAX_HEX + 1 bytes). */
void digest_response(const struct digest_input *in, char *out);

#endif
