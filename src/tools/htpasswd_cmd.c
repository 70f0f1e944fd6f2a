/*
 * pbxguard htpasswd: Apache's htpasswd, flag for flag, message for message,
 * exit code for exit code, so scripts keep working — with three things
 * Apache does not do. The file is replaced atomically under a lock (never
 * truncated in place); -c on a file that holds other users refuses and
 * names them unless --force (the seed's warning, made a guard); and a hash
 * that fails is an error, never a stored "*0". bcrypt is the default.
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
#include "core/dbuf.h"
#include "core/config.h"
#include "daemon/cmds.h"
#include "guard/pwpolicy.h"
#include "store/htpasswd.h"

/* Apache's exit codes (support/htpasswd.c), and ours for the policy. */
enum { ERR_FILEPERM = 1, ERR_SYNTAX = 2, ERR_PWMISMATCH = 3, ERR_INTERRUPTED = 4,
	ERR_OVERFLOW = 5, ERR_BADUSER = 6, ERR_INVALID = 7, ERR_POLICY = 8 };

#define HTP_DEFAULT_COST 10	/* Apache's is 5: too cheap for a file that leaks */
#define HTP_MAX_FILE (64u << 20)

static int
usage(void)
{
	fprintf(stderr,
	    "Usage:\n"
	    "\tpbxguard htpasswd [-cimB25dsDv] [-C cost] [-r rounds] [--force] passwordfile username\n"
	    "\tpbxguard htpasswd -b[cmB25dsDv] [-C cost] [-r rounds] [--force] passwordfile "
	    "username password\n"
	    "\n"
	    "\tpbxguard htpasswd -n[imB25ds] [-C cost] [-r rounds] username\n"
	    "\tpbxguard htpasswd -nb[mB25ds] [-C cost] [-r rounds] username password\n"
	    " -c  Create a new file (refused if it holds other users, unless --force).\n"
	    " -n  Don't update file; display results on stdout.\n"
	    " -b  Use the password from the command line rather than prompting for it.\n"
	    " -i  Read password from stdin without verification (for script usage).\n"
	    " -m  Force MD5 (apr1) hashing of the password.\n"
	    " -2  Force SHA-256 hashing of the password (secure).\n"
	    " -5  Force SHA-512 hashing of the password (secure).\n"
	    " -B  Force bcrypt hashing of the password (very secure, the default).\n"
	    " -C  Set the computing time used for the bcrypt algorithm\n"
	    "     (higher is more secure but slower, default: %d, valid: 4 to 17).\n"
	    " -r  Set the number of rounds used for the SHA-256, SHA-512 algorithms\n"
	    "     (higher is more secure but slower, default: 5000).\n"
	    " -d  Force CRYPT hashing of the password (8 chars max, insecure).\n"
	    " -s  Force SHA-1 hashing of the password (insecure).\n"
	    " -p  Refused: a plain-text password never verifies (not in Apache on Linux either).\n"
	    " -D  Delete the specified user.\n"
	    " -v  Verify password for the specified user.\n"
	    " --force  With -c: replace a file that holds other users.\n"
	    " --force-weak  Set a password the policy refuses (logged; exit 8 without it).\n"
	    " --config FILE  The pbxguard.conf whose [password-policy] applies.\n"
	    "The file is replaced atomically: an interrupted run leaves the old or the new file.\n",
	    HTP_DEFAULT_COST);
	return ERR_SYNTAX;
}

/* Apache's prompts: asked twice unless -i (once, no prompt) or verify (once). */
static int
get_password(char *buf, size_t bufsz, bool from_stdin, const char *prompt, bool confirm)
{
	char again[HTP_MAX_PASSWORD + 3];
	bool tty = isatty(STDIN_FILENO);
	struct termios old, noecho;
	int rc = ERR_INTERRUPTED;

	if (tty && !from_stdin) {
		tcgetattr(STDIN_FILENO, &old);
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
	}
	if (!from_stdin)
		fprintf(stderr, "%s", prompt);
	if (!fgets(buf, (int)bufsz, stdin)) {
		buf[0] = '\0'; /* end of input: an empty password, as Apache reads it */
	}
	size_t n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n + 1 >= bufsz) {
		fprintf(stderr, "%shtpasswd: password too long (> %d)\n", tty ? "\n" : "",
		    HTP_MAX_PASSWORD);
		rc = ERR_OVERFLOW;
		goto out;
	}
	buf[n] = '\0';
	if (!from_stdin && confirm) {
		fprintf(stderr, "%sRe-type new password: ", tty ? "\n" : "");
		if (!fgets(again, sizeof(again), stdin))
			again[0] = '\0';
		again[strcspn(again, "\r\n")] = '\0';
		if (strlen(again) != n || CRYPTO_memcmp(again, buf, n) != 0) {
			fprintf(stderr, "%shtpasswd: password verification error\n", tty ? "\n" : "");
			rc = ERR_PWMISMATCH;
			goto out;
		}
	}
	if (tty && !from_stdin)
		fprintf(stderr, "\n");
	rc = 0;
out:
	if (tty && !from_stdin)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	OPENSSL_cleanse(again, sizeof(again));
	return rc;
}

/* The file as lines, with the one for user (if any) found. */
struct htfile {
	char *data;
	size_t n;
	bool exists;
};

static int
read_file(const char *path, struct htfile *f)
{
	char err[512];
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "htpasswd: cannot open file %s for read access: %s\n", path,
		    strerror(errno));
		return ERR_FILEPERM;
	}
	if (file_read_all(path, HTP_MAX_FILE, &f->data, &f->n, err, sizeof(err)) < 0) {
		fprintf(stderr, "htpasswd: %s\n", err);
		return ERR_FILEPERM;
	}
	f->exists = true;
	return 0;
}

/* Calls fn for each line: its text (no newline) and whether it is a user's. */
static bool
each_line(const struct htfile *f, bool (*fn)(void *, struct slice line, struct slice user),
    void *arg)
{
	struct slice rest = { f->data, f->n };
	while (rest.n) {
		long nl = slice_find(rest, '\n');
		size_t len = nl < 0 ? rest.n : (size_t)nl;
		struct slice line = { rest.p, len };
		rest = slice_sub(rest, nl < 0 ? rest.n : len + 1, rest.n);
		struct slice t = slice_trim(line), user = SLICE_NULL;
		if (t.n && t.p[0] != '#') {
			long colon = slice_find(line, ':');
			user = colon < 0 ? line : (struct slice){ line.p, (size_t)colon };
			if (user.n && user.p[user.n - 1] == '\r')
				user.n--;
		}
		if (!fn(arg, line, user))
			return false;
	}
	return true;
}

struct scan {
	struct slice user;
	bool found, invalid;
	char hash[HTP_MAX_HASH];
	size_t nothers;
	struct dbuf others;	/* names -c would lose */
};

static bool
scan_line(void *arg, struct slice line, struct slice user)
{
	struct scan *s = arg;
	if (!user.p)
		return true;
	if (user.n == line.n || (user.n + 1 == line.n && line.p[user.n] == '\r')) {
		s->invalid = true; /* no ':' */
		return false;
	}
	if (slice_eq(user, s->user)) {
		if (!s->found) {
			struct slice h = slice_sub(line, user.n + 1, line.n);
			if (h.n && h.p[h.n - 1] == '\r')
				h.n--;
			slice_copy(slice_sub(h, 0, sizeof(s->hash) - 1), s->hash, sizeof(s->hash));
		}
		s->found = true;
		return true;
	}
	if (s->nothers++ < 10) {
		dbuf_puts(&s->others, s->nothers > 1 ? ", " : "");
		dbuf_put(&s->others, slice_sub(user, 0, 64));
	}
	return true;
}

struct rewrite {
	struct slice user;
	const char *record;	/* NULL: delete */
	bool done;
	struct dbuf out;
};

static bool
rewrite_line(void *arg, struct slice line, struct slice user)
{
	struct rewrite *r = arg;
	if (user.p && slice_eq(user, r->user)) {
		if (!r->done && r->record) {
			dbuf_puts(&r->out, r->record);
			dbuf_puts(&r->out, "\n");
		}
		r->done = true;
		return true; /* later lines for the same name go: Apache keeps one */
	}
	dbuf_put(&r->out, line);
	dbuf_puts(&r->out, "\n");
	return true;
}

struct opts {
	bool create, nofile, batch, from_stdin, del, verify, force, force_weak;
	const char *conf;
	enum htp_alg alg;
	unsigned cost, rounds;
};

static int
parse_count(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v == 0 || v > 1000000000ul || s[0] == '-') {
		fprintf(stderr, "htpasswd: argument to -C/-r must be a positive integer\n");
		return ERR_SYNTAX;
	}
	*out = (unsigned)v;
	return 0;
}

static int
do_verify(const char *path, const char *user, const char *pw)
{
	struct htfile f;
	struct scan s = { .user = slice_cstr(user) };
	int rc = read_file(path, &f);

	dbuf_init(&s.others, 4096);
	if (rc == 0 && !f.exists) {
		fprintf(stderr, "htpasswd: cannot open file %s for read access\n", path);
		rc = ERR_FILEPERM;
	}
	if (rc == 0)
		each_line(&f, scan_line, &s);
	if (rc == 0 && s.invalid) {
		fprintf(stderr, "htpasswd: The file %s does not appear to be a valid htpasswd "
		    "file.\n", path);
		rc = ERR_INVALID;
	} else if (rc == 0 && !s.found) {
		fprintf(stderr, "User %s not found\n", user);
		rc = ERR_BADUSER;
	} else if (rc == 0 && !htp_verify(s.hash, pw, strlen(pw))) {
		fprintf(stderr, "password verification failed\n");
		rc = ERR_PWMISMATCH;
	} else if (rc == 0) {
		fprintf(stderr, "Password for user %s correct.\n", user);
	}
	OPENSSL_cleanse(s.hash, sizeof(s.hash));
	dbuf_free(&s.others);
	free(f.data);
	return rc;
}

/* Add, update or delete user in path: read, check, rewrite atomically. */
static int
do_update(const struct opts *o, const char *path, const char *user, const char *record)
{
	struct htfile f = { 0 };
	struct scan s = { .user = slice_cstr(user) };
	struct rewrite r = { .user = slice_cstr(user), .record = record };
	char err[512];
	int rc, lock;

	dbuf_init(&s.others, 4096);
	dbuf_init(&r.out, HTP_MAX_FILE);
	if ((lock = atomicfile_lock(path, err, sizeof(err))) < 0) {
		/* The lock sits beside the file: no directory, no file either. */
		fprintf(stderr, "htpasswd: cannot %s file %s\n", o->create ? "create" : "modify",
		    path);
		return ERR_FILEPERM;
	}
	if ((rc = read_file(path, &f)) != 0)
		goto out;
	if (!f.exists && !o->create) {
		fprintf(stderr, "htpasswd: cannot modify file %s; use '-c' to create it\n", path);
		rc = ERR_FILEPERM;
		goto out;
	}
	each_line(&f, scan_line, &s);
	if (s.invalid && !(o->create && o->force)) {
		fprintf(stderr, "htpasswd: The file %s does not appear to be a valid htpasswd "
		    "file.\n", path);
		rc = ERR_INVALID;
		goto out;
	}
	if (o->create && s.nothers && !o->force) {
		fprintf(stderr, "htpasswd: %s already holds %zu other user%s (%.*s%s): -c would "
		    "remove %s.\nhtpasswd: leave out -c to add or update %s, or add --force to "
		    "start a new file without them\n", path, s.nothers, s.nothers == 1 ? "" : "s",
		    (int)s.others.n, s.others.p ? s.others.p : "", s.nothers > 10 ? ", ..." : "",
		    s.nothers == 1 ? "it" : "them", user);
		rc = ERR_FILEPERM;
		goto out;
	}
	if (o->del && !s.found) {
		fprintf(stderr, "User %s not found\n", user);
		goto out; /* Apache: exit 0 */
	}
	if (!o->create)
		each_line(&f, rewrite_line, &r);
	if (!r.done && record) {
		dbuf_puts(&r.out, record);
		dbuf_puts(&r.out, "\n");
	}
	if (r.out.failed) {
		fprintf(stderr, "htpasswd: out of memory\n");
		rc = ERR_OVERFLOW;
		goto out;
	}
	if (atomicfile_write(path, r.out.p ? r.out.p : "", r.out.n, 0640, err, sizeof(err)) < 0) {
		fprintf(stderr, "htpasswd: %s\n", err);
		rc = ERR_FILEPERM;
		goto out;
	}
	if (o->del)
		fprintf(stderr, "Deleting password for user %s\n", user);
	else
		fprintf(stderr, "%s password for user %s\n", s.found && !o->create ? "Updating" :
		    "Adding", user);
out:
	atomicfile_unlock(lock);
	OPENSSL_cleanse(s.hash, sizeof(s.hash));
	dbuf_free(&s.others);
	if (r.out.p)
		OPENSSL_cleanse(r.out.p, r.out.n);
	dbuf_free(&r.out);
	free(f.data);
	return rc;
}

/* The new password through the policy; the realm is [http] AuthName. */
static int
policy_gate(const struct opts *o, const char *path, const char *user, const char *pw)
{
	struct config cfg;
	struct pwpolicy *p;
	char account[HTP_MAX_USER + 16];
	int rc = -1;

	if (tool_load_config(o->conf, &cfg) < 0)
		return -1;
	if ((p = tool_policy(&cfg))) {
		struct pw_context who = { user, NULL, NULL, cfg.http.auth_name };
		snprintf(account, sizeof(account), "web user %s", user);
		rc = tool_policy_gate(&cfg, p, pw, &who, o->force_weak, "htpasswd", path, account);
		pwpolicy_free(p);
	}
	config_free(&cfg);
	return rc;
}

int
cmd_htpasswd(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "force", no_argument, NULL, 'F' },
		{ "force-weak", no_argument, NULL, 'W' },
		{ "config", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .alg = HTP_BCRYPT, .cost = HTP_DEFAULT_COST };
	char pw[HTP_MAX_PASSWORD + 3], hash[HTP_MAX_HASH], record[HTP_MAX_USER + HTP_MAX_HASH + 2];
	char err[256];
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+cnbimB25dpsDvC:r:", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.create = true; break;
		case 'n': o.nofile = true; break;
		case 'b': o.batch = true; break;
		case 'i': o.from_stdin = true; break;
		case 'm': o.alg = HTP_APR1; break;
		case 'B': o.alg = HTP_BCRYPT; break;
		case '2': o.alg = HTP_SHA256; break;
		case '5': o.alg = HTP_SHA512; break;
		case 'd': o.alg = HTP_CRYPT; break;
		case 's': o.alg = HTP_SHA1; break;
		case 'D': o.del = true; break;
		case 'v': o.verify = true; break;
		case 'F': o.force = true; break;
		case 'W': o.force_weak = true; break;
		case 'K': o.conf = optarg; break;
		case 'p':
			fprintf(stderr, "htpasswd: -p refused: a plain-text password never verifies "
			    "(not in pbxguard, not in Apache on Linux); pick a hash (bcrypt is the "
			    "default)\n");
			return ERR_SYNTAX;
		case 'C':
		case 'r':
			if ((rc = parse_count(optarg, c == 'C' ? &o.cost : &o.rounds)) != 0)
				return rc;
			break;
		case 'h':
			usage();
			return 0;
		default:
			if (optopt)
				fprintf(stderr, "htpasswd: illegal option -- %c\n", optopt);
			return usage();
		}
	}
	if (o.create + o.nofile + o.verify + o.del > 1) {
		fprintf(stderr, "htpasswd: only one of -c -n -v -D may be specified\n");
		return ERR_SYNTAX;
	}
	if (o.batch && o.from_stdin)
		return usage();
	int want = (o.nofile ? 1 : 2) + (o.batch && !o.del ? 1 : 0);
	int have = argc - optind;
	if (have < want || (have > want && !(o.del && o.batch && have == want + 1)))
		return usage();
	const char *path = o.nofile ? NULL : argv[optind];
	const char *user = argv[optind + (o.nofile ? 0 : 1)];
	if (path && strlen(path) > 4096) {
		fprintf(stderr, "htpasswd: filename too long\n");
		return ERR_OVERFLOW;
	}
	if (strlen(user) > HTP_MAX_USER) {
		fprintf(stderr, "htpasswd: username too long (> %d)\n", HTP_MAX_USER);
		return ERR_OVERFLOW;
	}
	if (strchr(user, ':')) {
		fprintf(stderr, "htpasswd: username contains illegal character ':'\n");
		return ERR_BADUSER;
	}
	if (!user[0] || strpbrk(user, "\r\n")) {
		/* Apache writes ":hash" for an empty name: a line nobody can use. */
		fprintf(stderr, "htpasswd: username is empty or holds a line break\n");
		return ERR_BADUSER;
	}
	if (o.del)
		return do_update(&o, path, user, NULL);

	if (o.batch) {
		const char *p = argv[optind + want - 1];
		if (strlen(p) > HTP_MAX_PASSWORD) {
			fprintf(stderr, "htpasswd: password too long (> %d)\n", HTP_MAX_PASSWORD);
			return ERR_OVERFLOW;
		}
		snprintf(pw, sizeof(pw), "%s", p);
	} else if ((rc = get_password(pw, sizeof(pw), o.from_stdin, o.verify ? "Enter password: " :
	    "New password: ", !o.verify)) != 0) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return rc;
	}
	if (o.verify) {
		rc = do_verify(path, user, pw);
		OPENSSL_cleanse(pw, sizeof(pw));
		return rc;
	}
	if (policy_gate(&o, path, user, pw) < 0) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return ERR_POLICY;
	}
	if (o.alg == HTP_CRYPT && strlen(pw) > 8)
		fprintf(stderr, "Warning: Password truncated to 8 characters by CRYPT algorithm.\n");
	bool ok = htp_hash(o.alg, o.cost, o.rounds, pw, strlen(pw), hash, sizeof(hash), err,
	    sizeof(err));
	OPENSSL_cleanse(pw, sizeof(pw));
	if (!ok) {
		fprintf(stderr, "htpasswd: %s\n", err);
		return ERR_PWMISMATCH;
	}
	snprintf(record, sizeof(record), "%s:%s", user, hash);
	if (o.nofile) {
		printf("%s\n\n", record);
		rc = 0;
	} else {
		rc = do_update(&o, path, user, record);
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(record, sizeof(record));
	return rc;
}
