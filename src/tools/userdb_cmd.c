/*
 * pbxguard userdb add|passwd|del|list|verify FILE user@domain
 *
 * Writes A1 hashes (clear text only with --clrtxt), rewrites atomically
 * under a lock, keeps every other line byte for byte, and refuses to touch
 * a file it cannot parse.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/atomicfile.h"
#include "core/config.h"
#include "core/sbuf.h"
#include "daemon/cmds.h"
#include "guard/pwpolicy.h"
#include "store/store.h"
#include "store/userdb.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pbxguard userdb add [--clrtxt] [--userid ID] [--acl NAME] [--force-weak]\n"
	    "                           [-c CONF] FILE user@domain\n"
	    "       pbxguard userdb passwd [--clrtxt] [--acl NAME] [--force-weak] [-c CONF]\n"
	    "                              FILE user@domain\n"
	    "       pbxguard userdb del FILE user@domain\n"
	    "       pbxguard userdb list FILE\n"
	    "       pbxguard userdb verify FILE user@domain\n"
	    "The password is asked twice on a terminal, or read as one line from stdin;\n"
	    "it must pass the [password-policy] of CONF (see pbxguard policy check).\n");
}

/* One line from stdin, or asked (twice, no echo) on a terminal. */
static int
read_password(char *buf, size_t bufsz, bool confirm)
{
	char again[ACCOUNT_SECRET_MAX + 2];
	bool tty = isatty(STDIN_FILENO);
	struct termios old, noecho;
	int rc = -1;

	if (tty) {
		tcgetattr(STDIN_FILENO, &old);
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
		fprintf(stderr, "New password: ");
	}
	if (!fgets(buf, (int)bufsz, stdin))
		goto out;
	if (tty && confirm) {
		fprintf(stderr, "\nRe-type new password: ");
		if (!fgets(again, sizeof(again), stdin))
			goto out;
	}
	size_t n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n + 1 >= bufsz) {
		fprintf(stderr, "pbxguard: password longer than %d bytes\n", ACCOUNT_SECRET_MAX - 1);
		goto out;
	}
	buf[n] = '\0';
	if (tty && confirm) {
		again[strcspn(again, "\r\n")] = '\0';
		if (!ct_equal(buf, strlen(buf), again, strlen(again))) {
			fprintf(stderr, "\npbxguard: passwords do not match\n");
			goto out;
		}
	}
	if (n == 0) {
		fprintf(stderr, "%spbxguard: empty password refused\n", tty ? "\n" : "");
		goto out;
	}
	rc = 0;
out:
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	OPENSSL_cleanse(again, sizeof(again));
	return rc;
}

static bool
split_identity(const char *id, struct slice *user, struct slice *domain)
{
	const char *at = strrchr(id, '@');
	if (!at || at == id || !at[1])
		return false;
	*user = (struct slice){ id, (size_t)(at - id) };
	*domain = slice_cstr(at + 1);
	return userdb_valid_identity(*user, *domain);
}

/* Loads and parses FILE; a missing file is empty when allow_missing. */
static int
load(const char *path, bool allow_missing, char **data, size_t *n, struct userdb **db)
{
	char err[512];

	*data = NULL;
	*n = 0;
	*db = NULL;
	if (file_read_all(path, USERDB_MAX_SIZE, data, n, err, sizeof(err)) < 0) {
		if (allow_missing && errno == ENOENT) {
			static const char hdr[] = "version:1\n";
			*data = strdup(hdr);
			*n = strlen(hdr);
			if (!*data)
				return -1;
		} else {
			fprintf(stderr, "pbxguard: %s\n", err);
			return -1;
		}
	}
	if (!(*db = userdb_parse(*data, *n, path, err, sizeof(err)))) {
		fprintf(stderr, "pbxguard: %s\npbxguard: refusing to rewrite a file I cannot "
		    "read; fix that line first\n", err);
		return -1;
	}
	return 0;
}

/* data with [off, off+len) replaced by repl (NULL: the line and its newline go). */
static int
rewrite(const char *path, const char *data, size_t n, size_t off, size_t len,
    const char *repl)
{
	size_t rl = repl ? strlen(repl) : 0, cut = len;
	char err[512];

	if (!repl && off + cut < n && data[off + cut] == '\n')
		cut++;
	size_t total = n - cut + rl + 1;
	char *out = malloc(total);
	if (!out) {
		fprintf(stderr, "pbxguard: out of memory\n");
		return -1;
	}
	memcpy(out, data, off);
	memcpy(out + off, repl ? repl : "", rl);
	memcpy(out + off + rl, data + off + cut, n - off - cut);
	int rc = atomicfile_write(path, out, n - cut + rl, 0600, err, sizeof(err));
	OPENSSL_cleanse(out, total);
	free(out);
	if (rc < 0)
		fprintf(stderr, "pbxguard: %s\n", err);
	return rc;
}

static int
do_list(const char *path)
{
	struct userdb *db;
	char *data;
	size_t n;

	if (load(path, false, &data, &n, &db) < 0)
		return 1;
	for (size_t i = 0; i < db->n; i++) {
		const struct userdb_entry *e = &db->e[i];
		printf("%s@%s", e->user, e->domain);
		if (e->clrtxt)
			printf(" clrtxt");
		for (int a = 0; a < DIGEST_NALGOS; a++)
			if (e->has[a])
				printf(" %s", a == DIGEST_MD5 ? "md5" : a == DIGEST_SHA256 ? "sha256"
				    : "sha512-256");
		if (e->userid)
			printf(" authid=%s", e->userid);
		printf("\n");
	}
	OPENSSL_cleanse(data, n);
	free(data);
	userdb_free(db);
	return 0;
}

static int
do_verify(const char *path, struct slice user, struct slice domain)
{
	char pw[ACCOUNT_SECRET_MAX + 2], ha1[DIGEST_MAX_HEX + 1];
	struct userdb *db;
	char *data;
	size_t n;
	int rc = 1;

	if (load(path, false, &data, &n, &db) < 0)
		return 1;
	const struct userdb_entry *e = userdb_find(db, user, domain);
	if (!e) {
		fprintf(stderr, "pbxguard: %.*s@%.*s: no such user\n", (int)user.n, user.p,
		    (int)domain.n, domain.p);
		goto out;
	}
	if (read_password(pw, sizeof(pw), false) < 0)
		goto out;
	bool ok = false, any = false;
	if (e->clrtxt) {
		any = true;
		ok = ct_equal(e->clrtxt, strlen(e->clrtxt), pw, strlen(pw));
	}
	struct slice authid = e->userid ? slice_cstr(e->userid) : slice_cstr(e->user);
	for (int a = 0; a < DIGEST_NALGOS; a++) {
		if (!e->has[a])
			continue;
		digest_ha1((enum digest_algo)a, authid, slice_cstr(e->domain), slice_cstr(pw), ha1);
		bool m = ct_hex_equal(slice_cstr(ha1), slice_cstr(e->ha1[a]));
		ok = any ? (ok && m) : m; /* every stored form must agree */
		any = true;
	}
	printf("Password for user %s@%s %s.\n", e->user, e->domain, ok ? "correct" : "incorrect");
	rc = ok ? 0 : 3;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(data, n);
	free(data);
	userdb_free(db);
	return rc;
}

/* The new password through the policy: the user part is the username,
 * and the extension too when it is a number. */
static int
gate(const char *verb, const char *conf, bool force_weak, const char *path, struct slice user,
    struct slice domain, const char *pw)
{
	char u[256], d[256], cmd[32], account[600];
	struct config cfg;
	struct pwpolicy *p;
	int rc = -1;

	if (tool_load_config(conf, &cfg) < 0)
		return -1;
	if (!(p = tool_policy(&cfg)))
		goto out;
	slice_copy(user, u, sizeof(u));
	slice_copy(domain, d, sizeof(d));
	bool numeric = user.n > 0 && strspn(u, "0123456789") == user.n;
	struct pw_context who = { u, numeric ? u : NULL, d, cfg.realm[0] ? cfg.realm : d };
	snprintf(cmd, sizeof(cmd), "userdb %s", verb);
	snprintf(account, sizeof(account), "%s@%s", u, d);
	rc = tool_policy_gate(&cfg, p, pw, &who, force_weak, cmd, path, account);
	pwpolicy_free(p);
out:
	config_free(&cfg);
	return rc;
}

static int
do_change(const char *verb, const char *path, struct slice user, struct slice domain,
    bool clrtxt, const char *userid, const char *acl, const char *conf, bool force_weak)
{
	char pw[ACCOUNT_SECRET_MAX + 2], line[2048], err[512];
	bool add = strcmp(verb, "add") == 0, del = strcmp(verb, "del") == 0;
	struct userdb *db = NULL;
	char *data = NULL;
	size_t n = 0;
	int lock, rc = 1;

	memset(pw, 0, sizeof(pw));
	if ((lock = atomicfile_lock(path, err, sizeof(err))) < 0) {
		fprintf(stderr, "pbxguard: %s\n", err);
		return 1;
	}
	if (load(path, add, &data, &n, &db) < 0)
		goto out;
	const struct userdb_entry *e = userdb_find(db, user, domain);
	if (add && e) {
		fprintf(stderr, "pbxguard: %s@%s already exists (line %u); use passwd\n", e->user,
		    e->domain, e->line);
		goto out;
	}
	if (!add && !e) {
		fprintf(stderr, "pbxguard: %.*s@%.*s: no such user\n", (int)user.n, user.p,
		    (int)domain.n, domain.p);
		goto out;
	}
	if (del) {
		rc = rewrite(path, data, n, e->off, e->len, NULL) < 0;
		if (rc == 0)
			printf("Deleting user %s@%s\n", e->user, e->domain);
		goto out;
	}
	if (read_password(pw, sizeof(pw), true) < 0 ||
	    gate(verb, conf, force_weak, path, user, domain, pw) < 0)
		goto out;
	if (!add && !userid)
		userid = e->userid;
	if (!add && !acl)
		acl = e->acl;
	if (!userdb_format_line(user, domain, slice_cstr(pw), clrtxt, userid, acl, line,
	    sizeof(line) - 2)) {
		fprintf(stderr, "pbxguard: entry too long\n");
		goto out;
	}
	if (add) {
		/* Append, after a newline if the file does not end with one. */
		char buf[2100];
		bool nl = n > 0 && data[n - 1] != '\n';
		snprintf(buf, sizeof(buf), "%s%s\n", nl ? "\n" : "", line);
		rc = rewrite(path, data, n, n, 0, buf) < 0;
		OPENSSL_cleanse(buf, sizeof(buf));
	} else {
		if (e->phone) {
			size_t l = strlen(line);
			snprintf(line + l, sizeof(line) - l, " %s", e->phone);
		}
		rc = rewrite(path, data, n, e->off, e->len, line) < 0;
	}
	if (rc == 0)
		printf("%s password for user %.*s@%.*s\n", add ? "Adding" : "Updating",
		    (int)user.n, user.p, (int)domain.n, domain.p);
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(line, sizeof(line));
	if (data) {
		OPENSSL_cleanse(data, n);
		free(data);
	}
	userdb_free(db);
	atomicfile_unlock(lock);
	return rc;
}

int
cmd_userdb(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "clrtxt", no_argument, NULL, 'C' },
		{ "userid", required_argument, NULL, 'u' },
		{ "acl", required_argument, NULL, 'a' },
		{ "force-weak", no_argument, NULL, 'W' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *userid = NULL, *acl = NULL, *verb, *conf = NULL;
	bool clrtxt = false, force_weak = false;
	struct slice user, domain;
	int c;

	if (argc < 2) {
		usage();
		return 2;
	}
	verb = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'W':
			force_weak = true;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'C':
			clrtxt = true;
			break;
		case 'u':
			userid = optarg;
			break;
		case 'a':
			acl = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(verb, "list") == 0) {
		if (argc != 1) {
			usage();
			return 2;
		}
		return do_list(argv[0]);
	}
	if (argc != 2 || (strcmp(verb, "add") && strcmp(verb, "passwd") &&
	    strcmp(verb, "del") && strcmp(verb, "verify"))) {
		usage();
		return 2;
	}
	if (!split_identity(argv[1], &user, &domain)) {
		fprintf(stderr, "pbxguard: '%s' is not user@domain\n", argv[1]);
		return 2;
	}
	if (userid && (!*userid || strlen(userid) >= ACCOUNT_USERID_MAX)) {
		fprintf(stderr, "pbxguard: bad --userid\n");
		return 2;
	}
	if (acl && (strlen(acl) >= sizeof(((struct userdb_entry *)0)->acl) ||
	    strcspn(acl, " \t;%") != strlen(acl))) {
		fprintf(stderr, "pbxguard: bad --acl (a group name of 1 to 31 characters)\n");
		return 2;
	}
	if (strcmp(verb, "verify") == 0)
		return do_verify(argv[0], user, domain);
	return do_change(verb, argv[0], user, domain, clrtxt, userid, acl, conf, force_weak);
}
