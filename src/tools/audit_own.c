/*
 * The audit of pbxguard itself: its configuration, its credential stores
 * (userdb, htpasswd, manager.conf, iax.conf), the IAX2 keys, the TLS
 * certificates, and the trail --force-weak left.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/atomicfile.h"
#include "core/cidr.h"
#include "guard/digest.h"
#include "store/htpasswd.h"
#include "store/userdb.h"
#include "tools/audit.h"

/* What an attacker tries first against a hash that cannot be reversed:
 * the name itself and the classics. A hit is a password known to anyone. */
static const char *const guesses[] = {
	"admin", "password", "1234", "12345", "123456", "secret", "changeme", "asterisk",
	"pbxguard", "welcome", "letmein", "qwerty", "test", "pass", "guest",
};
#define NGUESSES (sizeof(guesses) / sizeof(guesses[0]))

static bool
userdb_matches(const struct userdb_entry *e, const char *pw)
{
	char ha1[DIGEST_MAX_HEX + 1];
	struct slice authid = slice_cstr(e->userid ? e->userid : e->user);
	for (int a = 0; a < DIGEST_NALGOS; a++) {
		if (!e->has[a])
			continue;
		digest_ha1((enum digest_algo)a, authid, slice_cstr(e->domain), slice_cstr(pw), ha1);
		if (ct_hex_equal(slice_cstr(ha1), slice_cstr(e->ha1[a])))
			return true;
	}
	return false;
}

static void
audit_userdb(struct audit *a)
{
	const char *path = a->cfg->file_path;
	char *data = NULL, err[512];
	size_t n = 0;

	if (file_read_all(path, USERDB_MAX_SIZE, &data, &n, err, sizeof(err)) != 0)
		return;
	/* A1 hashes log in as well as the password does: others must not read. */
	audit_secret_file_mode(a, path, "the userdb");
	struct userdb *db = userdb_parse(data, n, path, err, sizeof(err));
	if (!db) {
		audit_add(a, SEV_HIGH, "unreadable", path, 0, "fix the line", "%s", err);
		goto out;
	}
	size_t clear = 0;
	for (size_t i = 0; i < db->n; i++) {
		const struct userdb_entry *e = &db->e[i];
		char label[600];
		bool num = e->user[0] && strspn(e->user, "0123456789") == strlen(e->user);
		const char *ext = num ? e->user : NULL;
		snprintf(label, sizeof(label), "%s@%s password", e->user, e->domain);
		if (e->clrtxt) {
			clear++;
			audit_secret(a, SEV_HIGH, path, e->line, FIX_USERDB, e->clrtxt, e->user, ext,
			    e->domain, label);
			continue;
		}
		const char *hit = NULL;
		if (userdb_matches(e, e->user))
			hit = "equals the username";
		for (size_t g = 0; !hit && g < NGUESSES; g++)
			if (userdb_matches(e, guesses[g]))
				hit = "in the list of common passwords";
		if (!hit)
			continue;
		struct audit_finding *f = audit_add(a, SEV_CRITICAL, "weak-secret", path, e->line,
		    "a new generated one (pbxguard audit --fix)", "%s: %s (found by trying its "
		    "hash)", label, hit);
		if (f) {
			f->kind = FIX_USERDB;
			snprintf(f->account, sizeof(f->account), "%s", e->user);
			snprintf(f->extension, sizeof(f->extension), "%s", ext ? ext : "");
			snprintf(f->domain, sizeof(f->domain), "%s", e->domain);
		}
	}
	if (clear)
		audit_add(a, SEV_LOW, "clrtxt", path, 0, "pbxguard userdb passwd (without --clrtxt) "
		    "stores A1 hashes", "%zu password%s stored in clear text", clear,
		    clear == 1 ? "" : "s");
	userdb_free(db);
out:
	OPENSSL_cleanse(data, n);
	free(data);
}

static void
audit_htpasswd(struct audit *a)
{
	const char *path = a->cfg->http.user_file;
	char err[512];
	struct stat st;

	if (stat(path, &st) != 0)
		return;
	audit_secret_file_mode(a, path, "the htpasswd file");
	struct htp_users *u = htp_load(path, err, sizeof(err));
	if (!u) {
		audit_add(a, SEV_HIGH, "unreadable", path, 0, "fix the line", "%s", err);
		return;
	}
	for (size_t i = 0; i < u->n; i++) {
		const char *kind = htp_kind(u->u[i].hash);
		if (!htp_usable(u->u[i].hash))
			continue;	/* the daemon's load already names it */
		bool des = strcmp(kind, "DES crypt") == 0 || strcmp(kind, "BSDi crypt") == 0 ||
		    strcmp(kind, "crypt") == 0;
		bool fast = des || strcmp(kind, "SHA-1") == 0 || strncmp(kind, "apr1", 4) == 0 ||
		    strcmp(kind, "MD5-crypt") == 0;
		if (fast)
			audit_add(a, des ? SEV_HIGH : SEV_MEDIUM, "weak-hash",
			    path, 0, "pbxguard htpasswd -B FILE USER (bcrypt)", "web user %s: a %s "
			    "hash, fast to crack if the file leaks", u->u[i].name, kind);
		/* bcrypt costs ~60 ms a try: the name and the classics only. */
		const char *hit = htp_verify(u->u[i].hash, u->u[i].name, strlen(u->u[i].name)) ?
		    "equals the username" : NULL;
		for (size_t g = 0; !hit && g < NGUESSES; g++)
			if (htp_verify(u->u[i].hash, guesses[g], strlen(guesses[g])))
				hit = "in the list of common passwords";
		if (!hit)
			continue;
		struct audit_finding *f = audit_add(a, SEV_CRITICAL, "weak-secret", path, 0,
		    "a new generated one (pbxguard audit --fix)", "web user %s password: %s "
		    "(found by trying its hash)", u->u[i].name, hit);
		if (f) {
			f->kind = FIX_HTPASSWD;
			snprintf(f->account, sizeof(f->account), "%s", u->u[i].name);
		}
	}
	htp_free(u);
}

static void
audit_cert(struct audit *a, const char *cert, const char *key, const char *what)
{
	FILE *fp = fopen(cert, "re");
	if (!fp)
		return;
	a->files++;
	X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (!x) {
		audit_add(a, SEV_HIGH, "certificate", cert, 0, "pbxguard cert server",
		    "%s: not a PEM certificate", what);
		return;
	}
	int days = 0, secs = 0;
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x))) {
		if (days < 0 || (days == 0 && secs < 0))
			audit_add(a, SEV_CRITICAL, "certificate", cert, 0, "renew it (pbxguard cert "
			    "server, or your CA)", "%s expired %d days ago", what, -days);
		else if (days < 30)
			audit_add(a, SEV_MEDIUM, "certificate", cert, 0, "renew it (pbxguard cert "
			    "server, or your CA)", "%s expires in %d days", what, days);
	}
	EVP_PKEY *pk = X509_get0_pubkey(x);
	if (pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) < 2048)
		audit_add(a, SEV_HIGH, "certificate", cert, 0, "a new key of 2048 bits or more",
		    "%s has a %d-bit RSA key", what, EVP_PKEY_get_bits(pk));
	X509_free(x);
	struct stat st;
	if (key && stat(key, &st) == 0 && (st.st_mode & 077)) {
		struct audit_finding *f = audit_add(a, SEV_HIGH, "key-mode", key, 0,
		    "chmod 600 (pbxguard audit --fix does it)", "%s's private key is mode %03o",
		    what, (unsigned)(st.st_mode & 07777));
		if (f) {
			f->kind = FIX_MODE;
			f->mode = st.st_mode & 0700;
		}
	}
}

static void
audit_keys(struct audit *a)
{
	DIR *d = opendir(a->cfg->iax2.keydir);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct stat st;
		if (l < 5 || strcmp(de->d_name + l - 4, ".key") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", a->cfg->iax2.keydir, de->d_name) >=
		    sizeof(path) || stat(path, &st) != 0)
			continue;
		a->files++;
		if (!(st.st_mode & 077))
			continue;
		struct audit_finding *f = audit_add(a, SEV_HIGH, "key-mode", path, 0,
		    "chmod 600 (pbxguard audit --fix does it)", "IAX2 private key is mode %03o: "
		    "pbxguard refuses to load it, and others may read it",
		    (unsigned)(st.st_mode & 07777));
		if (f) {
			f->kind = FIX_MODE;
			f->mode = st.st_mode & 0700;
		}
	}
	closedir(d);
}

/* Every --force-weak left a line: each is a weak secret somebody chose. */
static void
audit_overrides(struct audit *a)
{
	FILE *f = fopen(a->cfg->pw.override_log, "re");
	char line[2048];
	unsigned n = 0;

	if (!f)
		return;
	a->files++;
	while (fgets(line, sizeof(line), f)) {
		n++;
		line[strcspn(line, "\n")] = '\0';
		audit_add(a, SEV_LOW, "force-weak", a->cfg->pw.override_log, n,
		    "set a compliant secret, then remove the line", "set with --force-weak: %s",
		    line);
	}
	fclose(f);
}

static bool
covers_all(const struct cidr *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_covers_all(&c[i]))
			return true;
	return false;
}

void
audit_own(struct audit *a)
{
	const struct config *c = a->cfg;

	/* pbxguard.conf holds secrets only for the upstreams. */
	if (!c->embedded && (c->ami.upstream_secret[0] || c->iax2.upstream_secret[0]))
		audit_secret_file_mode(a, c->source, "pbxguard.conf (upstream secrets)");
	if (!c->auth_enabled)
		audit_add(a, SEV_CRITICAL, "auth-off", c->source, 0, "enabled = true",
		    "[module::Authentication] enabled = false: SIP requests are not "
		    "authenticated");
	if (!c->bans_enabled)
		audit_add(a, SEV_MEDIUM, "bans-off", c->source, 0, "[bans] enabled = yes",
		    "bans are off: a guesser can try for ever");
	if (c->iax2.enabled && covers_all(c->iax2.token_optional, c->iax2.n_token_optional))
		audit_add(a, SEV_HIGH, "calltokenoptional", c->source, 0,
		    "list only the legacy hosts in [iax2] calltokenoptional", "[iax2] "
		    "calltokenoptional covers every address: call tokens are off for all");
	if (c->ami.enabled && c->ami.accept_unencrypted && !addr_is_loopback(&c->ami.bind))
		audit_add(a, c->ami.plaintext_login ? SEV_HIGH : SEV_MEDIUM, "ami-cleartext",
		    c->source, 0, "acceptunencryptedconnection = no (TLS only)",
		    "[manager] accepts unencrypted connections from the network%s",
		    c->ami.plaintext_login ? ", and logins with the secret itself" : "");
	audit_userdb(a);
	if (c->http.enabled)
		audit_htpasswd(a);
	if (c->ami.enabled)
		audit_manager_conf(a, c->ami.users, true);
	if (c->iax2.enabled) {
		audit_iax_conf(a, c->iax2.users, true);
		audit_keys(a);
	}
	if (c->n_transports || c->ami.enabled)
		audit_cert(a, c->tls_cert, c->tls_key, "the TLS certificate");
	if (c->http.enabled && strcmp(c->http.cert, c->tls_cert) != 0)
		audit_cert(a, c->http.cert, c->http.key, "the web page's certificate");
	if (c->ami.enabled && strcmp(c->ami.cert, c->tls_cert) != 0)
		audit_cert(a, c->ami.cert, c->ami.key, "the AMI's certificate");
	audit_overrides(a);
}
