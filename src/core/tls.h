/*
 * The TLS layer every listener shares (SIP now, AMI and the web page later):
 * OpenSSL 3 server contexts with one safe policy, and certificates that
 * manage themselves. Nothing here knows SIP.
 *
 * Policy: TLS 1.2 and 1.3 only; forward-secret AEAD suites only (ECDHE with
 * AES-GCM or ChaCha20-Poly1305; TLS 1.3's own); no compression, no
 * renegotiation; session resumption (tickets and a server cache).
 */
#ifndef PBX_TLS_H
#define PBX_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Asterisk's tlscipher, default: only what the policy allows. */
#define TLS_DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

struct tls_files {
	const char *cert, *key;		/* tlscertfile, tlsprivatekey */
	const char *ca;			/* tlscafile: verifies client certificates; may be "" */
	const char *ciphers;		/* tlscipher (TLS 1.2); "" = the default */
	bool rsa;			/* a made key is RSA 3072, not ECDSA P-256 */
	const char *const *names;	/* subject alternative names for a made certificate */
	size_t nnames;
};

/*
 * When neither the certificate nor its key exists, makes a self-signed pair
 * (the key 0600) and logs where; an existing certificate is never touched.
 * Then checks what is there: the key is not readable by group or others, and
 * certificate and key belong together. 0, or -1 with how to fix it in err.
 */
int tls_prepare(const struct tls_files *f, char *err, size_t errsz);

/* A server context with the policy above; NULL with the reason in err. */
SSL_CTX *tls_server_ctx(const struct tls_files *f, char *err, size_t errsz);

/*
 * The subjects of a verified client certificate, in Flexisip's order of
 * preference: SAN URIs, SAN DNS names, SAN IP addresses, then the CN.
 */
#define TLS_MAX_SUBJECTS 16
struct tls_subjects {
	size_t n;
	char s[TLS_MAX_SUBJECTS][256];
};

/* False when there is no certificate or it did not verify against tlscafile. */
bool tls_peer_subjects(SSL *ssl, struct tls_subjects *out);

/* Days until the context's certificate expires (negative: expired). */
long tls_days_left(SSL_CTX *ctx);
/* When the context's certificate expires (0: unknown). */
time_t tls_not_after(SSL_CTX *ctx);

/* ---- making keys and certificates (serve and `pbxguard cert`) ---------- */

EVP_PKEY *tls_make_key(bool rsa);

struct tls_cert_req {
	const char *cn;			/* subject CN */
	const char *const *sans;	/* "DNS:x", "IP:1.2.3.4", "URI:sip:a@b", or bare: guessed */
	size_t nsans;
	unsigned days;
	bool ca;			/* a CA: basicConstraints CA:TRUE, keyCertSign */
	bool client;			/* extendedKeyUsage clientAuth (else serverAuth) */
	X509 *issuer;			/* NULL: self-signed */
	EVP_PKEY *issuer_key;
};

/* NULL with the reason in err. */
X509 *tls_make_cert(EVP_PKEY *key, const struct tls_cert_req *rq, char *err, size_t errsz);

/* PEM files, written atomically; the key with mode 0600. */
int tls_write_key(const char *path, EVP_PKEY *key, char *err, size_t errsz);
int tls_write_cert(const char *path, X509 *cert, char *err, size_t errsz);
EVP_PKEY *tls_read_key(const char *path, char *err, size_t errsz);
X509 *tls_read_cert(const char *path, char *err, size_t errsz);

#endif
