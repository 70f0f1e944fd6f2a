#include "guard/digest.h"

#include <string.h>

#include <openssl/evp.h>

static EVP_MD *md[DIGEST_NALGOS];
/* One context reused for every hash: the daemon hashes on one thread. */
static EVP_MD_CTX *ctx;

static const char *const base_names[DIGEST_NALGOS] = { "MD5", "SHA-256", "SHA-512-256" };
static const char *const sess_names[DIGEST_NALGOS] = { "MD5-sess", "SHA-256-sess",
	"SHA-512-256-sess" };
static const char *const ossl_names[DIGEST_NALGOS] = { "MD5", "SHA2-256", "SHA2-512/256" };

bool
digest_init(void)
{
	if (ctx)
		return true;
	/* Explicit fetches: implicit ones cost a lookup on every hash. */
	for (int i = 0; i < DIGEST_NALGOS; i++)
		if (!(md[i] = EVP_MD_fetch(NULL, ossl_names[i], NULL)))
			goto fail;
	if (!(ctx = EVP_MD_CTX_new()))
		goto fail;
	return true;
fail:
	digest_shutdown();
	return false;
}

void
digest_shutdown(void)
{
	for (int i = 0; i < DIGEST_NALGOS; i++) {
		EVP_MD_free(md[i]);
		md[i] = NULL;
	}
	EVP_MD_CTX_free(ctx);
	ctx = NULL;
}

bool
digest_alg_parse(struct slice name, struct digest_alg *out)
{
	for (int i = 0; i < DIGEST_NALGOS; i++) {
		if (slice_caseeq_cstr(name, base_names[i])) {
			*out = (struct digest_alg){ (enum digest_algo)i, false };
			return true;
		}
		if (slice_caseeq_cstr(name, sess_names[i])) {
			*out = (struct digest_alg){ (enum digest_algo)i, true };
			return true;
		}
	}
	return false;
}

const char *
digest_alg_name(struct digest_alg a)
{
	return a.sess ? sess_names[a.algo] : base_names[a.algo];
}

size_t
digest_hex_len(enum digest_algo a)
{
	return a == DIGEST_MD5 ? 32 : 64;
}

void
digest_hash_joined(enum digest_algo a, const struct slice *p, size_t n, char *out)
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	/* digest_init() failing is fatal at start-up; here the methods exist. */
	EVP_DigestInit_ex(ctx, md[a], NULL);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			EVP_DigestUpdate(ctx, ":", 1);
		if (p[i].n)
			EVP_DigestUpdate(ctx, p[i].p, p[i].n);
	}
	EVP_DigestFinal_ex(ctx, bin, &len);
	hex_encode(bin, len, out);
}

void
digest_ha1(enum digest_algo a, struct slice user, struct slice realm,
    struct slice password, char *out)
{
	struct slice parts[3] = { user, realm, password };
	digest_hash_joined(a, parts, 3, out);
}

void
digest_response(const struct digest_input *in, char *out)
{
	char ha1[DIGEST_MAX_HEX + 1], ha2[DIGEST_MAX_HEX + 1], hbody[DIGEST_MAX_HEX + 1];
	enum digest_algo a = in->alg.algo;
	bool auth_int = slice_caseeq_cstr(in->qop, "auth-int");

	if (in->alg.sess) {
		struct slice s[3] = { in->ha1, in->nonce, in->cnonce };
		digest_hash_joined(a, s, 3, ha1);
	} else {
		slice_copy(in->ha1, ha1, sizeof(ha1));
	}
	if (auth_int) {
		digest_hash_joined(a, &in->body, 1, hbody);
		struct slice s[3] = { in->method, in->uri, slice_cstr(hbody) };
		digest_hash_joined(a, s, 3, ha2);
	} else {
		struct slice s[2] = { in->method, in->uri };
		digest_hash_joined(a, s, 2, ha2);
	}
	if (in->qop.n) {
		struct slice s[6] = { slice_cstr(ha1), in->nonce, in->nc, in->cnonce, in->qop,
			slice_cstr(ha2) };
		digest_hash_joined(a, s, 6, out);
	} else {
		struct slice s[3] = { slice_cstr(ha1), in->nonce, slice_cstr(ha2) };
		digest_hash_joined(a, s, 3, out);
	}
	OPENSSL_cleanse(ha1, sizeof(ha1));
}
