/*
 * pbxguard cert: certificates without the openssl command line — a server
 * certificate with a chosen subject, a small CA, and client certificates
 * for phones with sip:user@domain in the subject alternative name.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/slice.h"
#include "core/tls.h"
#include "daemon/cmds.h"

#define MAX_SANS 32

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pbxguard cert ca [--cn NAME] [--days N] [--rsa] DIR\n"
	    "       pbxguard cert server [--cn NAME] [--san NAME]... [--days N] [--rsa]\n"
	    "                            [--ca DIR] CERT KEY\n"
	    "       pbxguard cert client --ca DIR [--days N] [--rsa] sip:user@domain OUT\n"
	    "ca writes DIR/ca.pem and DIR/ca.key; server writes CERT and KEY (self-signed\n"
	    "without --ca); client writes OUT.pem and OUT.key, the SIP URI in the subject\n"
	    "alternative name. Keys are ECDSA P-256 (RSA 3072 with --rsa), mode 0600.\n"
	    "Existing files are never overwritten.\n");
}

static bool
exists(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		fprintf(stderr, "pbxguard: %s exists: not overwritten\n", path);
		return true;
	}
	return false;
}

/* Makes a key and a certificate and writes both, or neither. */
static int
make(const char *certpath, const char *keypath, struct tls_cert_req *rq, bool rsa,
    const char *cadir)
{
	char err[512], p[4096];
	X509 *ca = NULL, *c = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	int rc = 1;

	if (exists(certpath) || exists(keypath))
		return 1;
	if (cadir) {
		snprintf(p, sizeof(p), "%s/ca.pem", cadir);
		if (!(ca = tls_read_cert(p, err, sizeof(err))))
			goto out_err;
		snprintf(p, sizeof(p), "%s/ca.key", cadir);
		if (!(cakey = tls_read_key(p, err, sizeof(err))))
			goto out_err;
		rq->issuer = ca;
		rq->issuer_key = cakey;
	}
	if (!(key = tls_make_key(rsa))) {
		snprintf(err, sizeof(err), "cannot make a key");
		goto out_err;
	}
	if (!(c = tls_make_cert(key, rq, err, sizeof(err))) ||
	    tls_write_key(keypath, key, err, sizeof(err)) < 0)
		goto out_err;
	if (tls_write_cert(certpath, c, err, sizeof(err)) < 0) {
		unlink(keypath);
		goto out_err;
	}
	printf("wrote %s and %s (key mode 0600)\n", certpath, keypath);
	rc = 0;
	goto out;
out_err:
	fprintf(stderr, "pbxguard: %s\n", err);
out:
	X509_free(ca);
	X509_free(c);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	return rc;
}

int
cmd_cert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cn", required_argument, NULL, 'n' },
		{ "san", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{ "rsa", no_argument, NULL, 'r' },
		{ "ca", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sans[MAX_SANS], *cn = NULL, *cadir = NULL, *verb;
	size_t nsans = 0;
	unsigned days = 0;
	bool rsa = false;
	uint64_t n;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	verb = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			cn = optarg;
			break;
		case 's':
			if (nsans == MAX_SANS) {
				fprintf(stderr, "pbxguard: at most %d --san\n", MAX_SANS);
				return 2;
			}
			sans[nsans++] = optarg;
			break;
		case 'd':
			if (!slice_to_u64(slice_cstr(optarg), 1, 36500, &n)) {
				fprintf(stderr, "pbxguard: --days: 1 to 36500\n");
				return 2;
			}
			days = (unsigned)n;
			break;
		case 'r':
			rsa = true;
			break;
		case 'a':
			cadir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	char cert[4096], key[4096];
	if (strcmp(verb, "ca") == 0 && argc == 1 && !cadir && !nsans) {
		if (mkdir_parents(argv[0], 0700) < 0) {
			perror(argv[0]);
			return 1;
		}
		snprintf(cert, sizeof(cert), "%s/ca.pem", argv[0]);
		snprintf(key, sizeof(key), "%s/ca.key", argv[0]);
		struct tls_cert_req rq = { .cn = cn ? cn : "pbxguard phones CA",
			.days = days ? days : 3650, .ca = true };
		return make(cert, key, &rq, rsa, NULL);
	}
	if (strcmp(verb, "server") == 0 && argc == 2) {
		if (!cn)
			cn = nsans ? sans[0] : "localhost";
		if (!nsans)
			sans[nsans++] = cn;
		struct tls_cert_req rq = { .cn = cn, .sans = sans, .nsans = nsans,
			.days = days ? days : 825 };
		return make(argv[0], argv[1], &rq, rsa, cadir);
	}
	if (strcmp(verb, "client") == 0 && argc == 2 && cadir) {
		if (strncmp(argv[0], "sip:", 4) != 0 || !strchr(argv[0], '@')) {
			fprintf(stderr, "pbxguard: '%s' is not sip:user@domain\n", argv[0]);
			return 2;
		}
		if (nsans == MAX_SANS) {
			fprintf(stderr, "pbxguard: at most %d --san\n", MAX_SANS - 1);
			return 2;
		}
		snprintf(cert, sizeof(cert), "%s.pem", argv[1]);
		snprintf(key, sizeof(key), "%s.key", argv[1]);
		sans[nsans++] = argv[0];
		struct tls_cert_req rq = { .cn = cn ? cn : argv[0], .sans = sans, .nsans = nsans,
			.days = days ? days : 825, .client = true };
		return make(cert, key, &rq, rsa, cadir);
	}
	usage(stderr);
	return 2;
}
