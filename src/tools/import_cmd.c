/*
 * pbxguard import asterisk DIR: pbxguard's userdb, iax.conf and
 * manager.conf built from an Asterisk configuration. SIP secrets (sip.conf
 * peers, pjsip.conf userpass auths) become A1 hashes for pbxguard's
 * domain; IAX2 and AMI accounts keep the keys pbxguard reads. Every secret
 * passes the password policy (a weak one is left out with its reasons,
 * unless --force-weak); files are written atomically, 0600, and an
 * existing one is only replaced with --force.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/atomicfile.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "daemon/cmds.h"
#include "guard/pwpolicy.h"
#include "store/astconf.h"
#include "store/userdb.h"

#define IMPORT_MAX_FILE (16u << 20)

struct import {
	const struct config *cfg;
	const struct pwpolicy *pol;
	const char *domain;
	bool force_weak;
	unsigned sip, iax, ami, skipped;
};

static const char *
val(const struct astconf_section *s, const char *key)
{
	const struct astconf_var *v = astconf_var(s, key);
	return v ? v->val : NULL;
}

static bool
load(const char *dir, const char *name, struct astconf *c)
{
	char path[PATH_MAX], err[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int rc = astconf_load(path, IMPORT_MAX_FILE, c, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "pbxguard: import: %s (file skipped)\n", err);
	return rc == 0;
}

/* The policy's word on one secret: true to import it. */
static bool
admit(struct import *im, const char *file, const char *account, const char *secret,
    const char *kind)
{
	char what[256];
	bool num = strspn(account, "0123456789") == strlen(account);
	struct pw_context who = { account, num ? account : NULL, im->domain, im->domain };
	snprintf(what, sizeof(what), "%s account %s", kind, account);
	if (tool_policy_gate(im->cfg, im->pol, secret, &who, im->force_weak, "import asterisk",
	    file, what) == 0)
		return true;
	im->skipped++;
	return false;
}

static void
add_sip(struct import *im, struct dbuf *out, const char *file, const char *user,
    const char *secret)
{
	char line[2048];
	if (!admit(im, file, user, secret, "SIP"))
		return;
	if (!userdb_valid_identity(slice_cstr(user), slice_cstr(im->domain)) ||
	    !userdb_format_line(slice_cstr(user), slice_cstr(im->domain), slice_cstr(secret),
	    false, NULL, NULL, line, sizeof(line))) {
		fprintf(stderr, "pbxguard: import: SIP account %s: not storable, skipped\n", user);
		im->skipped++;
		return;
	}
	dbuf_printf(out, "%s\n", line);
	OPENSSL_cleanse(line, sizeof(line));
	im->sip++;
}

static void
import_sip(struct import *im, const char *dir, struct dbuf *out)
{
	struct astconf c;
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/sip.conf", dir);
	if (load(dir, "sip.conf", &c)) {
		for (size_t i = 0; i < c.n; i++) {
			const struct astconf_section *s = &c.s[i];
			const char *type = val(s, "type"), *secret = val(s, "secret");
			if (s->is_template || !type || strcasecmp(s->name, "general") == 0)
				continue;
			if (secret)
				add_sip(im, out, file, val(s, "defaultuser") ? val(s, "defaultuser") :
				    s->name, secret);
			else if (val(s, "md5secret"))
				fprintf(stderr, "pbxguard: import: [%s] has only an md5secret, made "
				    "for Asterisk's realm: give it a new secret with pbxguard userdb "
				    "passwd\n", s->name);
		}
		astconf_free(&c);
	}
	snprintf(file, sizeof(file), "%s/pjsip.conf", dir);
	if (load(dir, "pjsip.conf", &c)) {
		for (size_t i = 0; i < c.n; i++) {
			const struct astconf_section *s = &c.s[i];
			const char *type = val(s, "type"), *at = val(s, "auth_type");
			if (s->is_template || !type || strcasecmp(type, "auth") != 0)
				continue;
			if ((!at || strcasecmp(at, "userpass") == 0) && val(s, "password"))
				add_sip(im, out, file, val(s, "username") ? val(s, "username") : s->name,
				    val(s, "password"));
		}
		astconf_free(&c);
	}
}

/* The keys of an account pbxguard reads (channel keys stay with Asterisk). */
static void
copy_section(struct dbuf *out, const struct astconf_section *s, const char *const *keys)
{
	dbuf_printf(out, "\n[%s]\n", s->name);
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; keys[k]; k++)
			if (strcasecmp(s->vars[i].key, keys[k]) == 0) {
				/* A ';' inside a value is written back escaped. */
				dbuf_printf(out, "%s = ", s->vars[i].key);
				for (const char *p = s->vars[i].val; *p; p++)
					dbuf_printf(out, "%s%c", *p == ';' ? "\\" : "", *p);
				dbuf_puts(out, "\n");
			}
}

static void
import_iax(struct import *im, const char *dir, struct dbuf *out)
{
	static const char *const keys[] = { "type", "host", "secret", "auth", "inkeys", "outkey",
		"permit", "deny", "acl", "requirecalltoken", "context", "callerid", NULL };
	struct astconf c;
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/iax.conf", dir);
	if (!load(dir, "iax.conf", &c))
		return;
	for (size_t i = 0; i < c.n; i++) {
		const struct astconf_section *s = &c.s[i];
		const char *type = val(s, "type");
		bool ok = true;
		if (s->is_template || !type || strcasecmp(s->name, "general") == 0)
			continue;
		for (size_t j = 0; j < s->n && ok; j++)
			if (strcasecmp(s->vars[j].key, "secret") == 0) {
				char *copy = strdup(s->vars[j].val), *save = NULL;
				for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; t && ok;
				    t = strtok_r(NULL, ";", &save))
					ok = admit(im, file, s->name, t, "IAX2");
				if (copy)
					OPENSSL_cleanse(copy, strlen(copy));
				free(copy);
			}
		if (!ok)
			continue;
		if (!val(s, "secret") && !val(s, "inkeys")) {
			fprintf(stderr, "pbxguard: import: IAX2 [%s] has no secret and no key: not "
			    "imported\n", s->name);
			im->skipped++;
			continue;
		}
		copy_section(out, s, keys);
		im->iax++;
	}
	astconf_free(&c);
}

static void
import_ami(struct import *im, const char *dir, struct dbuf *out)
{
	static const char *const keys[] = { "secret", "read", "write", "permit", "deny", "acl",
		"displayconnects", "allowmultiplelogin", "writetimeout", "eventfilter", NULL };
	struct astconf c;
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/manager.conf", dir);
	if (!load(dir, "manager.conf", &c))
		return;
	for (size_t i = 0; i < c.n; i++) {
		const struct astconf_section *s = &c.s[i];
		const char *secret = val(s, "secret");
		if (s->is_template || strcasecmp(s->name, "general") == 0 || !secret)
			continue;
		if (!admit(im, file, s->name, secret, "AMI"))
			continue;
		copy_section(out, s, keys);
		im->ami++;
	}
	astconf_free(&c);
}

static int
write_out(const char *path, const struct dbuf *b, bool force)
{
	char err[512];
	if (!force && access(path, F_OK) == 0) {
		fprintf(stderr, "pbxguard: import: %s exists: pass --force to replace it (the old "
		    "one is kept as %s.bak)\n", path, path);
		return -1;
	}
	if (access(path, F_OK) == 0) {
		char bak[PATH_MAX + 8];
		snprintf(bak, sizeof(bak), "%s.bak", path);
		unlink(bak);
		if (link(path, bak) != 0) {
			fprintf(stderr, "pbxguard: import: cannot keep %s: %m\n", bak);
			return -1;
		}
	}
	if (atomicfile_write(path, b->p ? b->p : "", b->n, 0600, err, sizeof(err)) != 0) {
		fprintf(stderr, "pbxguard: import: %s\n", err);
		return -1;
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pbxguard import asterisk [-c CONF] [-o DIR] [--domain D] [--force]\n"
	    "                                [--force-weak] ASTERISK_DIR\n"
	    "Writes DIR/userdb, DIR/iax.conf and DIR/manager.conf (DIR: the state directory)\n"
	    "from ASTERISK_DIR's sip.conf, pjsip.conf, iax.conf and manager.conf.\n");
}

int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "domain", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'F' },
		{ "force-weak", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *outdir = NULL, *domain = NULL;
	bool force = false, force_weak = false;
	int c, rc = 2;

	if (argc < 2 || strcmp(argv[1], "asterisk") != 0) {
		bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'o': outdir = optarg; break;
		case 'd': domain = optarg; break;
		case 'F': force = true; break;
		case 'W': force_weak = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	const char *dir = argv[optind];
	struct config cfg;
	if (tool_load_config(conf, &cfg) < 0)
		return 2;
	struct pwpolicy *pol = tool_policy(&cfg);
	struct dbuf udb, iax, ami;
	dbuf_init(&udb, 64u << 20);
	dbuf_init(&iax, 16u << 20);
	dbuf_init(&ami, 16u << 20);
	if (!pol)
		goto out;
	if (!domain)
		domain = cfg.realm[0] ? cfg.realm : cfg.n_auth_domains ? cfg.auth_domains[0] : NULL;
	if (!domain) {
		fprintf(stderr, "pbxguard: import: no domain: pass --domain or set auth-domains\n");
		goto out;
	}
	if (!outdir)
		outdir = cfg.statedir;
	struct import im = { &cfg, pol, domain, force_weak, 0, 0, 0, 0 };
	dbuf_puts(&udb, "version:1\n");
	dbuf_printf(&iax, "; imported from %s/iax.conf by pbxguard import\n", dir);
	dbuf_printf(&ami, "; imported from %s/manager.conf by pbxguard import\n", dir);
	import_sip(&im, dir, &udb);
	import_iax(&im, dir, &iax);
	import_ami(&im, dir, &ami);
	if (udb.failed || iax.failed || ami.failed) {
		fprintf(stderr, "pbxguard: import: out of memory\n");
		goto out;
	}
	char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	if ((size_t)snprintf(p1, sizeof(p1), "%s/userdb", outdir) >= sizeof(p1) ||
	    (size_t)snprintf(p2, sizeof(p2), "%s/iax.conf", outdir) >= sizeof(p2) ||
	    (size_t)snprintf(p3, sizeof(p3), "%s/manager.conf", outdir) >= sizeof(p3)) {
		fprintf(stderr, "pbxguard: import: %s: path too long\n", outdir);
		goto out;
	}
	if (mkdir_parents(outdir, 0700) != 0 && access(outdir, W_OK) != 0) {
		fprintf(stderr, "pbxguard: import: cannot make %s\n", outdir);
		goto out;
	}
	/* All three are checked before any is written. */
	if (!force && (access(p1, F_OK) == 0 || access(p2, F_OK) == 0 || access(p3, F_OK) == 0)) {
		fprintf(stderr, "pbxguard: import: %s already holds userdb, iax.conf or "
		    "manager.conf: pass --force to replace them (the old ones are kept as .bak)\n",
		    outdir);
		goto out;
	}
	if (write_out(p1, &udb, force) < 0 || write_out(p2, &iax, force) < 0 ||
	    write_out(p3, &ami, force) < 0)
		goto out;
	printf("imported %u SIP account%s (A1 hashes for %s) into %s\n", im.sip,
	    im.sip == 1 ? "" : "s", domain, p1);
	printf("imported %u IAX2 account%s into %s\n", im.iax, im.iax == 1 ? "" : "s", p2);
	printf("imported %u AMI user%s into %s\n", im.ami, im.ami == 1 ? "" : "s", p3);
	if (im.skipped)
		printf("left out %u account%s (see above): give them secrets the policy accepts\n",
		    im.skipped, im.skipped == 1 ? "" : "s");
	rc = im.skipped ? 1 : 0;
out:
	if (udb.p)
		OPENSSL_cleanse(udb.p, udb.n);
	if (iax.p)
		OPENSSL_cleanse(iax.p, iax.n);
	if (ami.p)
		OPENSSL_cleanse(ami.p, ami.n);
	dbuf_free(&udb);
	dbuf_free(&iax);
	dbuf_free(&ami);
	pwpolicy_free(pol);
	config_free(&cfg);
	return rc;
}
