#include "store/keys.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/md5.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/atomicfile.h"
#include "core/msglist.h"

#define KEY_MAX_FILE (64u << 10)

static void __attribute__((format(printf, 2, 3)))
warn(struct keyring *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msglist_vaddf(&r->warn, &r->nwarn, fmt, ap);
	va_end(ap);
}

/* A passphrase callback that gives none: an encrypted key then fails to load. */
static int
no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
given_pass(char *buf, int size, int rwflag, void *u)
{
	const char *p = u;
	size_t n = strlen(p);
	(void)rwflag;
	if (n > (size_t)size)
		return -1;
	memcpy(buf, p, n);
	return (int)n;
}

static EVP_PKEY *
read_key(const char *data, size_t n, bool is_private, const char *pass)
{
	BIO *b = BIO_new_mem_buf(data, (int)n);
	EVP_PKEY *k = NULL;

	if (!b)
		return NULL;
	if (!is_private)
		k = PEM_read_bio_PUBKEY(b, NULL, no_pass, NULL);
	else
		k = PEM_read_bio_PrivateKey(b, NULL, pass ? given_pass : no_pass, (void *)pass);
	BIO_free(b);
	ERR_clear_error();
	return k;
}

/* NAME.key / NAME.pub: the name, or false for any other file. */
static bool
key_file(const char *fname, char *name, bool *is_private)
{
	size_t n = strlen(fname);
	if (n < 5 || n - 4 >= KEY_NAME_MAX)
		return false;
	if (strcmp(fname + n - 4, ".key") == 0)
		*is_private = true;
	else if (strcmp(fname + n - 4, ".pub") == 0)
		*is_private = false;
	else
		return false;
	memcpy(name, fname, n - 4);
	name[n - 4] = '\0';
	return true;
}

static void
load_one(struct keyring *r, const char *dir, const char *fname)
{
	struct iax_key key;
	char err[256], *data = NULL;
	size_t n = 0;
	struct stat st;

	memset(&key, 0, sizeof(key));
	if (!key_file(fname, key.name, &key.is_private))
		return;
	if ((size_t)snprintf(key.path, sizeof(key.path), "%s/%s", dir, fname) >= sizeof(key.path))
		return;
	if (stat(key.path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (key.is_private && (st.st_mode & 077)) {
		/* res_crypto refuses these too: anyone on the box could sign as us. */
		warn(r, "%s: private key file has bad permissions (mode %03o): refused; "
		    "chmod 600 %s", key.path, (unsigned)(st.st_mode & 0777), key.path);
		return;
	}
	if (file_read_all(key.path, KEY_MAX_FILE, &data, &n, err, sizeof(err)) < 0) {
		warn(r, "%s", err);
		return;
	}
	uint8_t md[MD5_DIGEST_LENGTH];
	EVP_Digest(data, n, md, NULL, EVP_md5(), NULL);
	hex_encode(md, sizeof(md), key.md5);
	key.pkey = read_key(data, n, key.is_private, NULL);
	if (!key.pkey && key.is_private && strstr(data, "ENCRYPTED")) {
		key.needs_passcode = true;
	} else if (!key.pkey) {
		warn(r, "%s: not a PEM %s key", key.path, key.is_private ? "private" : "public (SPKI)");
		goto out;
	} else if (EVP_PKEY_get_base_id(key.pkey) != EVP_PKEY_RSA) {
		warn(r, "%s: not an RSA key", key.path);
		goto out;
	} else {
		key.bits = EVP_PKEY_get_bits(key.pkey);
		if (key.bits < KEY_ASTERISK_BITS) {
			warn(r, "%s: a %d-bit key is too weak: refused", key.path, key.bits);
			goto out;
		}
		if (key.bits != KEY_ASTERISK_BITS)
			warn(r, "%s: a %d-bit key works between pbxguard peers; Asterisk's res_crypto "
			    "takes %d-bit keys only", key.path, key.bits, KEY_ASTERISK_BITS);
	}
	struct iax_key *nk = realloc(r->k, (r->n + 1) * sizeof(*nk));
	if (!nk)
		goto out;
	r->k = nk;
	r->k[r->n++] = key;
	key.pkey = NULL;
out:
	EVP_PKEY_free(key.pkey);
	OPENSSL_cleanse(data, n);
	free(data);
}

static int
by_name(const void *a, const void *b)
{
	const struct iax_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (int)x->is_private - (int)y->is_private;
}

struct keyring *
keyring_load(const char *dir, char *err, size_t errsz)
{
	struct keyring *r = calloc(1, sizeof(*r));
	DIR *d;
	struct dirent *e;

	if (!r) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (!(d = opendir(dir))) {
		if (errno == ENOENT)
			return r;
		snprintf(err, errsz, "key directory %s: %s", dir, strerror(errno));
		free(r);
		return NULL;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			load_one(r, dir, e->d_name);
	closedir(d);
	if (r->n)
		qsort(r->k, r->n, sizeof(*r->k), by_name);
	return r;
}

void
keyring_free(struct keyring *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		EVP_PKEY_free(r->k[i].pkey);
	msglist_free(r->warn, r->nwarn);
	free(r->k);
	free(r);
}

const struct iax_key *
keyring_find(const struct keyring *r, struct slice name, bool is_private)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (r->k[i].is_private == is_private && slice_eq_cstr(name, r->k[i].name))
			return &r->k[i];
	return NULL;
}

bool
keyring_unlock(struct keyring *r, const char *name, const char *pass, char *err, size_t errsz)
{
	struct iax_key *k = (struct iax_key *)keyring_find(r, slice_cstr(name), true);
	char *data = NULL;
	size_t n = 0;

	if (!k) {
		snprintf(err, errsz, "no private key '%s'", name);
		return false;
	}
	if (!k->needs_passcode) {
		snprintf(err, errsz, "'%s' needs no passcode", name);
		return false;
	}
	if (file_read_all(k->path, KEY_MAX_FILE, &data, &n, err, errsz) < 0)
		return false;
	EVP_PKEY *p = read_key(data, n, true, pass);
	OPENSSL_cleanse(data, n);
	free(data);
	if (!p) {
		snprintf(err, errsz, "'%s': wrong passcode", name);
		return false;
	}
	if (EVP_PKEY_get_base_id(p) != EVP_PKEY_RSA) {
		EVP_PKEY_free(p);
		snprintf(err, errsz, "'%s': not an RSA key", name);
		return false;
	}
	k->pkey = p;
	k->bits = EVP_PKEY_get_bits(p);
	k->needs_passcode = false;
	return true;
}

size_t
keyring_locked(const struct keyring *r)
{
	size_t n = 0;
	for (size_t i = 0; r && i < r->n; i++)
		n += r->k[i].needs_passcode;
	return n;
}

bool
key_verify(const struct iax_key *k, struct slice challenge, struct slice sig_b64)
{
	uint8_t sig[1024];
	bool ok = false;

	/* Base64 of at most a 8192-bit signature, no line breaks (chan_iax2's). */
	if (!k || !k->pkey || sig_b64.n == 0 || sig_b64.n % 4 || sig_b64.n / 4 * 3 > sizeof(sig))
		return false;
	int n = EVP_DecodeBlock(sig, (const unsigned char *)sig_b64.p, (int)sig_b64.n);
	if (n < 0)
		return false;
	if (sig_b64.p[sig_b64.n - 1] == '=')
		n -= sig_b64.p[sig_b64.n - 2] == '=' ? 2 : 1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	if (md && EVP_DigestVerifyInit(md, &pc, EVP_sha1(), NULL, k->pkey) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1)
		ok = EVP_DigestVerify(md, sig, (size_t)n, (const unsigned char *)challenge.p,
		    challenge.n) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

bool
key_sign(const struct iax_key *k, struct slice challenge, char *out, size_t outsz)
{
	uint8_t sig[1024];
	size_t n = sizeof(sig);
	bool ok = false;

	if (!k || !k->pkey || !k->is_private)
		return false;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	if (md && EVP_DigestSignInit(md, &pc, EVP_sha1(), NULL, k->pkey) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
	    EVP_DigestSign(md, sig, &n, (const unsigned char *)challenge.p, challenge.n) == 1 &&
	    outsz > (n + 2) / 3 * 4) {
		EVP_EncodeBlock((unsigned char *)out, sig, (int)n);
		ok = true;
	}
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

void
keyring_show(const struct keyring *r, void (*put)(void *arg, const char *line), void *arg)
{
	char line[256];
	size_t n = r ? r->n : 0;

#define KEY_FMT "%-18s %-8s %-16s %-33s"
	snprintf(line, sizeof(line), KEY_FMT, "Key Name", "Type", "Status", "Sum");
	put(arg, line);
	snprintf(line, sizeof(line), KEY_FMT, "------------------", "--------", "----------------",
	    "--------------------------------");
	put(arg, line);
	for (size_t i = 0; i < n; i++) {
		const struct iax_key *k = &r->k[i];
		snprintf(line, sizeof(line), KEY_FMT, k->name, k->is_private ? "PRIVATE" : "PUBLIC",
		    k->needs_passcode ? "[Needs Passcode]" : "[Loaded]", k->md5);
		put(arg, line);
	}
#undef KEY_FMT
	snprintf(line, sizeof(line), "\n%zu known RSA keys.", n);
	put(arg, line);
}
