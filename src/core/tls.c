#include "core/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/atomicfile.h"
#include "core/log.h"

/* OpenSSL's first queued error, for a message. */
static const char *
ossl_err(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	if (!e)
		return "unknown OpenSSL error";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

/* ---- keys and certificates -------------------------------------------- */

EVP_PKEY *
tls_make_key(bool rsa)
{
	return rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072)
	    : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* "DNS:x", "IP:a", "URI:u" as given; a bare name becomes IP: or DNS:. */
static bool
add_san(GENERAL_NAMES *gens, const char *s)
{
	char buf[600];
	GENERAL_NAME *gn;

	if (strncmp(s, "DNS:", 4) == 0 || strncmp(s, "IP:", 3) == 0 || strncmp(s, "URI:", 4) == 0)
		snprintf(buf, sizeof(buf), "%s", s);
	else if (strncmp(s, "sip:", 4) == 0 || strncmp(s, "sips:", 5) == 0)
		snprintf(buf, sizeof(buf), "URI:%s", s);
	else {
		unsigned char ip[16];
		bool isip = inet_pton(AF_INET, s, ip) == 1 || inet_pton(AF_INET6, s, ip) == 1;
		snprintf(buf, sizeof(buf), "%s:%s", isip ? "IP" : "DNS", s);
	}
	char *colon = strchr(buf, ':');
	*colon = '\0';
	int type = strcmp(buf, "DNS") == 0 ? GEN_DNS : strcmp(buf, "IP") == 0 ? GEN_IPADD : GEN_URI;
	if (!(gn = a2i_GENERAL_NAME(NULL, NULL, NULL, type, colon + 1, 0)))
		return false;
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return false;
	}
	return true;
}

static bool
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return false;
	bool ok = X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

X509 *
tls_make_cert(EVP_PKEY *key, const struct tls_cert_req *rq, char *err, size_t errsz)
{
	X509 *c = X509_new();
	GENERAL_NAMES *gens = NULL;
	BIGNUM *bn = BN_new();
	X509_NAME *name;
	unsigned char serial[16];
	const char *why = "out of memory";

	if (!c || !bn)
		goto fail;
	/* A random positive 127-bit serial, as CAs are asked to use. */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail_ossl;
	serial[0] &= 0x7f;
	if (!BN_bin2bn(serial, sizeof(serial), bn) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)))
		goto fail_ossl;
	X509_set_version(c, 2);
	X509_gmtime_adj(X509_getm_notBefore(c), -300);
	X509_gmtime_adj(X509_getm_notAfter(c), (long)rq->days * 86400);
	if (X509_set_pubkey(c, key) != 1)
		goto fail_ossl;
	name = X509_get_subject_name(c);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)rq->cn,
	    -1, -1, 0) != 1) {
		why = "the subject CN is not valid";
		goto fail;
	}
	X509 *issuer = rq->issuer ? rq->issuer : c;
	X509_set_issuer_name(c, X509_get_subject_name(issuer));
	if (rq->nsans) {
		if (!(gens = sk_GENERAL_NAME_new_null()))
			goto fail;
		for (size_t i = 0; i < rq->nsans; i++)
			if (!add_san(gens, rq->sans[i])) {
				snprintf(err, errsz, "'%s' is not a valid subject alternative name",
				    rq->sans[i]);
				goto out_fail;
			}
		if (X509_add1_ext_i2d(c, NID_subject_alt_name, gens, 0, 0) != 1)
			goto fail_ossl;
	}
	if (!add_ext(c, issuer, NID_basic_constraints, rq->ca ? "critical,CA:TRUE,pathlen:0"
	    : "critical,CA:FALSE") ||
	    !add_ext(c, issuer, NID_key_usage, rq->ca ? "critical,keyCertSign,cRLSign"
	    : "critical,digitalSignature,keyEncipherment") ||
	    (!rq->ca && !add_ext(c, issuer, NID_ext_key_usage,
	    rq->client ? "clientAuth" : "serverAuth,clientAuth")) ||
	    !add_ext(c, issuer, NID_subject_key_identifier, "hash") ||
	    (rq->issuer && !add_ext(c, issuer, NID_authority_key_identifier, "keyid:always")))
		goto fail_ossl;
	if (X509_sign(c, rq->issuer_key ? rq->issuer_key : key, EVP_sha256()) <= 0)
		goto fail_ossl;
	GENERAL_NAMES_free(gens);
	BN_free(bn);
	return c;
fail_ossl:
	why = ossl_err();
fail:
	snprintf(err, errsz, "cannot make the certificate: %s", why);
out_fail:
	GENERAL_NAMES_free(gens);
	BN_free(bn);
	X509_free(c);
	return NULL;
}

static int
write_bio(const char *path, BIO *b, mode_t mode, char *err, size_t errsz)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	int rc = n > 0 ? atomicfile_write(path, data, (size_t)n, mode, err, errsz) : -1;
	if (n <= 0)
		snprintf(err, errsz, "%s: cannot encode: %s", path, ossl_err());
	OPENSSL_cleanse(data, n > 0 ? (size_t)n : 0);
	return rc;
}

int
tls_write_key(const char *path, EVP_PKEY *key, char *err, size_t errsz)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -1;
	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
		rc = write_bio(path, b, 0600, err, errsz);
	else
		snprintf(err, errsz, "%s: cannot encode the key", path);
	BIO_free(b);
	return rc;
}

int
tls_write_cert(const char *path, X509 *cert, char *err, size_t errsz)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -1;
	if (b && PEM_write_bio_X509(b, cert) == 1)
		rc = write_bio(path, b, 0644, err, errsz);
	else
		snprintf(err, errsz, "%s: cannot encode the certificate", path);
	BIO_free(b);
	return rc;
}

EVP_PKEY *
tls_read_key(const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k = NULL;
	if (!f) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!(k = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
		snprintf(err, errsz, "%s: not a PEM private key without passphrase (%s)", path,
		    ossl_err());
	fclose(f);
	return k;
}

X509 *
tls_read_cert(const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "re");
	X509 *c = NULL;
	if (!f) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!(c = PEM_read_X509(f, NULL, NULL, NULL)))
		snprintf(err, errsz, "%s: not a PEM certificate (%s)", path, ossl_err());
	fclose(f);
	return c;
}

/* ---- self-managed server certificate ---------------------------------- */

static int
make_self_signed(const struct tls_files *f, char *err, size_t errsz)
{
	char dir[PATH_MAX];
	int rc = -1;

	for (const char *p = f->cert;; p = f->key) {
		snprintf(dir, sizeof(dir), "%s", p);
		if (mkdir_parents(dirname(dir), 0700) < 0) {
			snprintf(err, errsz, "cannot create the directory of %s: %s", p,
			    strerror(errno));
			return -1;
		}
		if (p == f->key)
			break;
	}
	EVP_PKEY *key = tls_make_key(f->rsa);
	if (!key) {
		snprintf(err, errsz, "cannot make a key: %s", ossl_err());
		return -1;
	}
	struct tls_cert_req rq = {
		.cn = f->nnames ? f->names[0] : "localhost",
		.sans = f->names, .nsans = f->nnames, .days = 825,
	};
	X509 *c = tls_make_cert(key, &rq, err, errsz);
	if (c && strcmp(f->cert, f->key) == 0) {
		/* One file for both, as Asterisk's server.pem: mode 0600, it holds a key. */
		err[0] = '\0';
		BIO *b = BIO_new(BIO_s_mem());
		if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1 &&
		    PEM_write_bio_X509(b, c) == 1 && write_bio(f->cert, b, 0600, err, errsz) == 0) {
			log_notice("TLS: no certificate was configured at %s: made a self-signed "
			    "%s one for %s (825 days), with its key in the same file (mode 0600)",
			    f->cert, f->rsa ? "RSA 3072" : "ECDSA P-256", rq.cn);
			rc = 0;
		} else if (!err[0]) {
			snprintf(err, errsz, "%s: cannot encode the key and certificate", f->cert);
		}
		BIO_free(b);
		X509_free(c);
		EVP_PKEY_free(key);
		return rc;
	}
	/* The key first: a certificate without its key would stop the next start. */
	bool key_written = c && tls_write_key(f->key, key, err, errsz) == 0;
	if (key_written && tls_write_cert(f->cert, c, err, errsz) < 0)
		unlink(f->key); /* both or neither: a lone key would stop the next start */
	else if (key_written) {
		log_notice("TLS: no certificate was configured at %s: made a self-signed %s one "
		    "for %s (825 days), its key in %s (mode 0600)", f->cert,
		    f->rsa ? "RSA 3072" : "ECDSA P-256", rq.cn, f->key);
		rc = 0;
	}
	X509_free(c);
	EVP_PKEY_free(key);
	return rc;
}

int
tls_prepare(const struct tls_files *f, char *err, size_t errsz)
{
	struct stat st;
	bool have_cert = stat(f->cert, &st) == 0, have_key;

	have_key = stat(f->key, &st) == 0;
	if (!have_cert && !have_key)
		return make_self_signed(f, err, errsz);
	if (!have_cert) {
		snprintf(err, errsz, "tlsprivatekey %s exists but tlscertfile %s does not: point "
		    "tlscertfile at the key's certificate, or remove the key to have a "
		    "self-signed pair made", f->key, f->cert);
		return -1;
	}
	if (!have_key) {
		snprintf(err, errsz, "tlsprivatekey %s: %s (tlscertfile %s exists, so nothing is "
		    "made: an existing certificate is never replaced)", f->key, strerror(errno),
		    f->cert);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errsz, "tlsprivatekey %s is readable by group or others (mode %03o): "
		    "run chmod 600 %s (and make it owned by the user pbxguard runs as)", f->key,
		    (unsigned)(st.st_mode & 0777), f->key);
		return -1;
	}
	return 0;
}

/* ---- server contexts -------------------------------------------------- */

SSL_CTX *
tls_server_ctx(const struct tls_files *f, char *err, size_t errsz)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *ciphers = f->ciphers && *f->ciphers ? f->ciphers : TLS_DEFAULT_CIPHERS;

	if (!ctx) {
		snprintf(err, errsz, "TLS: %s", ossl_err());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"pbxguard", 8);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		snprintf(err, errsz, "tlscipher '%s': no cipher OpenSSL knows", ciphers);
		goto fail;
	}
	/* The policy holds whatever tlscipher says: no suite without ECDHE and AEAD. */
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		if (SSL_CIPHER_get_protocol_id(c) >> 8 == 0x13)
			continue; /* TLS 1.3 suites are all forward-secret AEAD */
		if (SSL_CIPHER_get_kx_nid(c) != NID_kx_ecdhe || !SSL_CIPHER_is_aead(c)) {
			snprintf(err, errsz, "tlscipher: %s is not a forward-secret AEAD suite",
			    SSL_CIPHER_get_name(c));
			goto fail;
		}
	}
	if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
		snprintf(err, errsz, "tlscertfile %s: %s", f->cert, ossl_err());
		goto fail;
	}
	char kerr[512];
	EVP_PKEY *key = tls_read_key(f->key, kerr, sizeof(kerr));
	if (!key) {
		snprintf(err, errsz, "tlsprivatekey %s", kerr);
		goto fail;
	}
	bool paired = X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) == 1;
	ERR_clear_error();
	if (!paired || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		EVP_PKEY_free(key);
		snprintf(err, errsz, "tlscertfile %s and tlsprivatekey %s do not belong together: "
		    "point both at the same pair (openssl x509 -noout -pubkey -in CERT and "
		    "openssl pkey -pubout -in KEY must print the same key)", f->cert, f->key);
		goto fail;
	}
	EVP_PKEY_free(key);
	if (f->ca && *f->ca && SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
		snprintf(err, errsz, "tlscafile %s: %s", f->ca, ossl_err());
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

long
tls_days_left(SSL_CTX *ctx)
{
	X509 *c = SSL_CTX_get0_certificate(ctx);
	int days = 0, secs = 0;
	if (!c || ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c)) != 1)
		return 0;
	return days;
}

time_t
tls_not_after(SSL_CTX *ctx)
{
	X509 *c = SSL_CTX_get0_certificate(ctx);
	struct tm tm;
	if (!c || ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* ---- client certificates ---------------------------------------------- */

static void
subject_add(struct tls_subjects *out, const unsigned char *p, int n)
{
	/* Embedded NULs or over-long names are not names anyone configured. */
	if (out->n == TLS_MAX_SUBJECTS || n <= 0 || (size_t)n >= sizeof(out->s[0]) ||
	    memchr(p, 0, (size_t)n))
		return;
	memcpy(out->s[out->n], p, (size_t)n);
	out->s[out->n++][n] = '\0';
}

bool
tls_peer_subjects(SSL *ssl, struct tls_subjects *out)
{
	out->n = 0;
	X509 *c = SSL_get0_peer_certificate(ssl);
	if (!c || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	GENERAL_NAMES *gens = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	static const int order[] = { GEN_URI, GEN_DNS, GEN_IPADD };
	for (size_t o = 0; o < 3; o++)
		for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
			if (g->type != order[o])
				continue;
			if (g->type == GEN_IPADD) {
				char ip[64];
				int len = ASN1_STRING_length(g->d.iPAddress);
				const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);
				if ((len == 4 && inet_ntop(AF_INET, b, ip, sizeof(ip))) ||
				    (len == 16 && inet_ntop(AF_INET6, b, ip, sizeof(ip))))
					subject_add(out, (const unsigned char *)ip, (int)strlen(ip));
				continue;
			}
			const ASN1_IA5STRING *v = g->type == GEN_URI ? g->d.uniformResourceIdentifier
			    : g->d.dNSName;
			subject_add(out, ASN1_STRING_get0_data(v), ASN1_STRING_length(v));
		}
	GENERAL_NAMES_free(gens);
	X509_NAME *name = X509_get_subject_name(c);
	for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0;) {
		ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, cn);
		if (n > 0)
			subject_add(out, utf8, n);
		OPENSSL_free(utf8);
	}
	return true;
}
