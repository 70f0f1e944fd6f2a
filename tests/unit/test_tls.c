/* The TLS layer: made certificates, the self-managed pair, the checks. */
#include "testutil.h"

#include <sys/stat.h>

#include <openssl/x509v3.h>

#include "core/tls.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pbxguard-tls.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void
test_make_cert_with_sans(void **state)
{
	char err[256];
	const char *sans[] = { "sip:user1@example.org", "pbx.example.org", "192.0.2.1", "::1" };
	(void)state;

	EVP_PKEY *key = tls_make_key(false);
	assert_non_null(key);
	struct tls_cert_req rq = { .cn = "user1", .sans = sans, .nsans = 4, .days = 30,
		.client = true };
	X509 *c = tls_make_cert(key, &rq, err, sizeof(err));
	assert_non_null(c);
	GENERAL_NAMES *g = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	assert_non_null(g);
	assert_int_equal(sk_GENERAL_NAME_num(g), 4);
	assert_int_equal(sk_GENERAL_NAME_value(g, 0)->type, GEN_URI);
	assert_int_equal(sk_GENERAL_NAME_value(g, 1)->type, GEN_DNS);
	assert_int_equal(sk_GENERAL_NAME_value(g, 2)->type, GEN_IPADD);
	assert_int_equal(sk_GENERAL_NAME_value(g, 3)->type, GEN_IPADD);
	GENERAL_NAMES_free(g);
	assert_int_equal(X509_check_purpose(c, X509_PURPOSE_SSL_CLIENT, 0), 1);
	assert_int_equal(X509_verify(c, key), 1); /* self-signed */

	/* Issued by a CA: verifies with the CA's key, not its own. */
	EVP_PKEY *cakey = tls_make_key(false);
	struct tls_cert_req carq = { .cn = "Test CA", .days = 30, .ca = true };
	X509 *ca = tls_make_cert(cakey, &carq, err, sizeof(err));
	assert_non_null(ca);
	rq.issuer = ca;
	rq.issuer_key = cakey;
	X509 *c2 = tls_make_cert(key, &rq, err, sizeof(err));
	assert_non_null(c2);
	assert_int_equal(X509_verify(c2, cakey), 1);
	assert_int_not_equal(X509_verify(c2, key), 1);

	const char *bad[] = { "IP:not-an-address" };
	rq.sans = bad;
	rq.nsans = 1;
	assert_null(tls_make_cert(key, &rq, err, sizeof(err)));
	X509_free(c);
	X509_free(c2);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

static void
test_prepare_makes_once_and_checks(void **state)
{
	char cert[128], key[128], err[512];
	const char *names[] = { "localhost", "127.0.0.1" };
	struct stat st;
	(void)state;

	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/tls/key.pem", dir);
	struct tls_files f = { cert, key, "", "", false, names, 2 };
	assert_int_equal(tls_prepare(&f, err, sizeof(err)), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(cert, &st), 0);
	time_t made = st.st_mtime;
	ino_t ino = st.st_ino;

	SSL_CTX *ctx = tls_server_ctx(&f, err, sizeof(err));
	assert_non_null(ctx);
	assert_true(tls_days_left(ctx) >= 824);
	SSL_CTX_free(ctx);

	/* Never replaced. */
	assert_int_equal(tls_prepare(&f, err, sizeof(err)), 0);
	assert_int_equal(stat(cert, &st), 0);
	assert_true(st.st_ino == ino && st.st_mtime == made);

	/* A loose key: refused with the fix. */
	chmod(key, 0640);
	assert_int_equal(tls_prepare(&f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	chmod(key, 0600);

	/* A key of another certificate: refused. */
	char other[128];
	snprintf(other, sizeof(other), "%s/other.pem", dir);
	EVP_PKEY *k = tls_make_key(false);
	assert_int_equal(tls_write_key(other, k, err, sizeof(err)), 0);
	EVP_PKEY_free(k);
	struct tls_files g = f;
	g.key = other;
	assert_null(tls_server_ctx(&g, err, sizeof(err)));
	assert_non_null(strstr(err, "do not belong together"));

	/* A cipher list with a CBC suite: refused, whatever OpenSSL allows. */
	g = f;
	g.ciphers = "ECDHE-ECDSA-AES128-SHA";
	assert_null(tls_server_ctx(&g, err, sizeof(err)));
	assert_non_null(strstr(err, "not a forward-secret AEAD suite"));

	/* A key without its certificate: not silently replaced. */
	unlink(cert);
	assert_int_equal(tls_prepare(&f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists but tlscertfile"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_cert_with_sans),
		cmocka_unit_test_setup_teardown(test_prepare_makes_once_and_checks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
