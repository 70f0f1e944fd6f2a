/*
 * pbxguard keygen: what Asterisk's astgenkey does (NAME.key and NAME.pub,
 * a passphrase unless -n, an SPKI public key, the private key 0600), in
 * one step, never overwriting a key by accident.
 * pbxguard keys show|init: Asterisk's "keys show" and "keys init" for the
 * running daemon's key directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/atomicfile.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "daemon/cmds.h"
#include "store/keys.h"

#define PASS_MAX 256

/* A passphrase: the first line of file, or asked on the terminal (twice if confirm). */
int
keys_ask_passphrase(const char *file, const char *prompt, bool confirm, char *buf, size_t bufsz)
{
	char again[PASS_MAX];
	FILE *f = NULL;
	int rc = -1;

	if (file) {
		if (!(f = fopen(file, "re"))) {
			fprintf(stderr, "pbxguard: %s: %s\n", file, strerror(errno));
			return -1;
		}
		if (!fgets(buf, (int)bufsz, f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!buf[0]) {
			fprintf(stderr, "pbxguard: %s: empty passphrase\n", file);
			return -1;
		}
		return 0;
	}
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (tty < 0) {
		fprintf(stderr, "pbxguard: a passphrase is needed and there is no terminal to ask "
		    "on: give --passphrase-file FILE%s\n", confirm ? " (or -n for none)" : "");
		return -1;
	}
	FILE *io = fdopen(tty, "r+");
	struct termios old, noecho;
	bool restore = tcgetattr(tty, &old) == 0;
	if (restore) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(tty, TCSAFLUSH, &noecho);
	}
	fprintf(io, "%s", prompt);
	fflush(io);
	if (!fgets(buf, (int)bufsz, io))
		goto out;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (confirm) {
		fprintf(io, "\nVerifying - %s", prompt);
		fflush(io);
		if (!fgets(again, sizeof(again), io))
			goto out;
		again[strcspn(again, "\r\n")] = '\0';
		if (strcmp(buf, again) != 0) {
			fprintf(stderr, "\npbxguard: the passphrases do not match\n");
			goto out;
		}
	}
	if (confirm && strlen(buf) < 4) {
		fprintf(stderr, "\npbxguard: a passphrase needs at least 4 characters\n");
		goto out;
	}
	rc = 0;
out:
	if (restore)
		tcsetattr(tty, TCSAFLUSH, &old);
	fprintf(io, "\n");
	fclose(io);
	OPENSSL_cleanse(again, sizeof(again));
	return rc;
}

static void
keygen_usage(FILE *f)
{
	fprintf(f,
	    "usage: pbxguard keygen [-q] [-n] [-b BITS] [-d DIR] [--passphrase-file FILE] "
	    "[--force] NAME\n"
	    "Writes NAME.key (private, mode 0600) and NAME.pub (SPKI public key), as\n"
	    "Asterisk's astgenkey. -n: no passphrase; -q: no explanation; -b: key size\n"
	    "(1024, the only size Asterisk's res_crypto takes; larger between pbxguard\n"
	    "peers); -d: the directory (default: the current one); --force: replace\n"
	    "existing files.\n");
}

static bool
pem(EVP_PKEY *k, bool priv, const char *pass, struct dbuf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	bool ok = false;
	char *p;

	if (!b)
		return false;
	if (priv)
		ok = PEM_write_bio_PKCS8PrivateKey(b, k, pass ? EVP_aes_256_cbc() : NULL,
		    pass, pass ? (int)strlen(pass) : 0, NULL, NULL) == 1;
	else
		ok = PEM_write_bio_PUBKEY(b, k) == 1;
	long n = BIO_get_mem_data(b, &p);
	if (ok && n > 0)
		dbuf_put(out, (struct slice){ p, (size_t)n });
	ok = ok && !out->failed;
	BIO_free(b);
	return ok;
}

int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false, nopass = false, force = false;
	const char *passfile = NULL, *dir = ".";
	unsigned long bits = KEY_ASTERISK_BITS;
	char pass[PASS_MAX] = "", keyp[4096], pubp[4096], err[512];
	struct dbuf kb, pb;
	EVP_PKEY *k = NULL;
	int c, rc = 1;

	dbuf_init(&kb, 1u << 20);
	dbuf_init(&pb, 1u << 20);
	while ((c = getopt_long(argc, argv, "qnb:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'n':
			nopass = true;
			break;
		case 'b': {
			char *end;
			bits = strtoul(optarg, &end, 10);
			if (*end || bits < 1024 || bits > 8192 || bits % 8) {
				fprintf(stderr, "pbxguard keygen: -b: 1024 to 8192 bits\n");
				return 2;
			}
			break;
		}
		case 'd':
			dir = optarg;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			keygen_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !argv[optind][0] || strchr(argv[optind], '/') ||
	    strlen(argv[optind]) >= KEY_NAME_MAX) {
		keygen_usage(stderr);
		return 2;
	}
	const char *name = argv[optind];
	if ((size_t)snprintf(keyp, sizeof(keyp), "%s/%s.key", dir, name) >= sizeof(keyp) ||
	    (size_t)snprintf(pubp, sizeof(pubp), "%s/%s.pub", dir, name) >= sizeof(pubp)) {
		fprintf(stderr, "pbxguard keygen: path too long\n");
		return 2;
	}
	if (!force && (access(keyp, F_OK) == 0 || access(pubp, F_OK) == 0)) {
		fprintf(stderr, "pbxguard keygen: %s or %s exists: not replaced (--force replaces "
		    "it; peers holding the old public key would then be refused)\n", keyp, pubp);
		return 1;
	}
	if (!quiet) {
		fprintf(stderr, "This makes an RSA key pair for IAX2 authentication, as astgenkey "
		    "does:\n%s (private: keep it here, mode 0600) and %s (public: give it to the "
		    "peers that check you, for their inkeys).\n", keyp, pubp);
		if (bits == KEY_ASTERISK_BITS)
			fprintf(stderr, "warning: 1024-bit RSA, because Asterisk's res_crypto "
			    "signs and verifies with no other size; between pbxguard peers only, "
			    "prefer -b 3072.\n");
		else
			fprintf(stderr, "warning: a %lu-bit key: Asterisk's res_crypto takes "
			    "1024-bit keys only, so use it between pbxguard peers.\n", bits);
		if (nopass)
			fprintf(stderr, "warning: -n: the private key has no passphrase; anyone who "
			    "reads the file can sign as you.\n");
		else
			fprintf(stderr, "The private key gets a passphrase: unlock it with "
			    "'pbxguard keys init' or 'pbxguard serve -i'.\n");
	}
	if (!nopass) {
		char prompt[160];
		snprintf(prompt, sizeof(prompt), "Enter pass phrase for %s.key: ", name);
		if (keys_ask_passphrase(passfile, prompt, true, pass, sizeof(pass)) < 0)
			goto out;
	}
	if (!(k = EVP_RSA_gen((unsigned)bits)) || !pem(k, true, nopass ? NULL : pass, &kb) ||
	    !pem(k, false, NULL, &pb)) {
		fprintf(stderr, "pbxguard keygen: key generation failed\n");
		goto out;
	}
	if (atomicfile_write(keyp, kb.p, kb.n, 0600, err, sizeof(err)) < 0 ||
	    chmod(keyp, 0600) < 0 || atomicfile_write(pubp, pb.p, pb.n, 0644, err, sizeof(err)) < 0) {
		fprintf(stderr, "pbxguard keygen: %s\n", err[0] ? err : strerror(errno));
		goto out;
	}
	printf("%s and %s written (RSA %lu, %s)\n", keyp, pubp, bits,
	    nopass ? "no passphrase" : "passphrase-protected");
	rc = 0;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	if (kb.p)
		OPENSSL_cleanse(kb.p, kb.n);
	dbuf_free(&kb);
	dbuf_free(&pb);
	EVP_PKEY_free(k);
	return rc;
}

static void
keys_usage(FILE *f)
{
	fprintf(f,
	    "usage: pbxguard keys [-c FILE] show\n"
	    "       pbxguard keys [-c FILE] init [--passphrase-file FILE]\n"
	    "show: the key directory ([iax2] keydir) as the running daemon holds it,\n"
	    "like Asterisk's 'keys show' (or as a start would load it, if none runs).\n"
	    "init: asks the passcode of each key that needs one and unlocks it in the\n"
	    "running daemon.\n");
}

static void
put_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

static void
collect(void *arg, const char *buf, size_t n)
{
	dbuf_put(arg, (struct slice){ buf, n });
}

static int
keys_init(const char *sock, const char *passfile)
{
	struct dbuf r;
	int rc = 1, locked = 0, unlocked = 0;

	dbuf_init(&r, 1u << 20);
	if (ctl_exchange(sock, "keys locked\n", 12, collect, &r) != 0) {
		fprintf(stderr, "pbxguard: cannot ask the daemon at %s (is it running?)\n", sock);
		goto out;
	}
	dbuf_put(&r, (struct slice){ "", 1 });
	if (r.failed)
		goto out;
	/* "ok N\nname\n...": each name's passcode, in turn. */
	char *save = NULL, *line = strtok_r(r.p, "\n", &save);
	for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char pass[PASS_MAX], prompt[200], cmd[KEY_NAME_MAX + 2 * PASS_MAX + 32];
		locked++;
		snprintf(prompt, sizeof(prompt), "Enter passcode for key '%s': ", line);
		if (keys_ask_passphrase(passfile, prompt, false, pass, sizeof(pass)) < 0)
			continue;
		int n = snprintf(cmd, sizeof(cmd), "keys init %s ", line);
		for (size_t i = 0; pass[i] && (size_t)n + 3 < sizeof(cmd); i++)
			n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "%02x", (unsigned char)pass[i]);
		cmd[n++] = '\n';
		OPENSSL_cleanse(pass, sizeof(pass));
		if (ctl_exchange(sock, cmd, (size_t)n, NULL, NULL) == 0)
			unlocked++;
		OPENSSL_cleanse(cmd, sizeof(cmd));
	}
	if (locked == 0)
		printf("no key needs a passcode\n");
	rc = unlocked == locked ? 0 : 1;
out:
	dbuf_free(&r);
	return rc;
}

int
cmd_keys(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *passfile = NULL;
	struct config cfg;
	struct config_errors errs = { 0 };
	char err[512];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'h':
			keys_usage(stdout);
			return 0;
		default:
			keys_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || (strcmp(argv[optind], "show") != 0 &&
	    strcmp(argv[optind], "init") != 0)) {
		keys_usage(stderr);
		return 2;
	}
	if (!config_load(&cfg, conf, &errs)) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		goto out;
	}
	if (strcmp(argv[optind], "init") == 0) {
		rc = keys_init(cfg.control_socket, passfile);
		goto out;
	}
	struct dbuf reply;
	dbuf_init(&reply, 1u << 20);
	int r = ctl_exchange(cfg.control_socket, "keys show\n", 10, collect, &reply);
	if (r != -2) {
		/* After the daemon's "ok" line: Asterisk's table as it is. */
		char *nl = reply.n ? memchr(reply.p, '\n', reply.n) : NULL;
		size_t skip = nl ? (size_t)(nl - reply.p) + 1 : reply.n;
		fwrite(reply.p + skip, 1, reply.n - skip, r == 0 ? stdout : stderr);
		if (r != 0 && skip)
			fwrite(reply.p, 1, skip, stderr);
		dbuf_free(&reply);
		rc = r == 0 ? 0 : 1;
		goto out;
	}
	dbuf_free(&reply);
	struct keyring *ring = keyring_load(cfg.iax2.keydir, err, sizeof(err));
	if (!ring) {
		fprintf(stderr, "pbxguard: %s\n", err);
		goto out;
	}
	fprintf(stderr, "pbxguard is not running: %s as a start would load it\n",
	    cfg.iax2.keydir);
	for (size_t i = 0; i < ring->nwarn; i++)
		fprintf(stderr, "warning: %s\n", ring->warn[i]);
	keyring_show(ring, put_line, NULL);
	keyring_free(ring);
	rc = 0;
out:
	config_free(&cfg);
	config_errors_free(&errs);
	return rc;
}
