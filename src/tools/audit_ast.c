/*
 * The audit of Asterisk's configuration: sip.conf, pjsip.conf, iax.conf,
 * manager.conf, voicemail.conf and http.conf. Defaults are Asterisk's own
 * (allowguest = yes in sip.conf, bindaddr 0.0.0.0 in manager.conf), since
 * an option left out is an option in force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/cidr.h"
#include "store/astconf.h"
#include "tools/audit.h"

#define AST_MAX_FILE (16u << 20)

/* Reads and parses path; false (a finding when it exists but is unusable). */
static bool
load(struct audit *a, const char *path, struct astconf *c)
{
	char err[512];
	int rc = astconf_load(path, AST_MAX_FILE, c, err, sizeof(err));
	if (rc < 0)
		audit_add(a, SEV_MEDIUM, "unreadable", path, 0,
		    "audit the included files on their own, or fix the line", "not audited: %s",
		    err);
	return rc == 0;
}

static const struct astconf_var *
var(const struct astconf_section *s, const char *key)
{
	return astconf_var(s, key);
}

static const char *
val(const struct astconf_section *s, const char *key)
{
	const struct astconf_var *v = astconf_var(s, key);
	return v ? v->val : NULL;
}

static const struct astconf_section *
section(const struct astconf *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!c->s[i].is_template && strcasecmp(c->s[i].name, name) == 0)
			return &c->s[i];
	return NULL;
}

/* yes/no with Asterisk's words, dflt when absent or neither. */
static bool
yes(const struct astconf_section *s, const char *key, bool dflt)
{
	const char *v = s ? val(s, key) : NULL;
	int r = v ? astconf_yes_no(v) : -1;
	return r < 0 ? dflt : r == 1;
}

static bool
is_loopback(const char *addr)
{
	return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	    strcmp(addr, "[::1]") == 0 || strcasecmp(addr, "localhost") == 0);
}

static bool
numeric(const char *s)
{
	return s && *s && strspn(s, "0123456789") == strlen(s);
}

/* A permit line that lets in the whole Internet. */
static bool
permits_all(const struct astconf_section *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *v = s->vars[i].val;
		if (strcasecmp(s->vars[i].key, key) != 0)
			continue;
		struct cidr c;
		const char *why;
		if (cidr_parse_masked(slice_cstr(v), &c, &why) && cidr_covers_all(&c))
			return true;
	}
	return false;
}

/* ---- sip.conf (chan_sip) ------------------------------------------------ */

static void
audit_sip(struct audit *a, const char *path)
{
	struct astconf c;

	if (!load(a, path, &c))
		return;
	audit_secret_file_mode(a, path, "sip.conf");
	const struct astconf_section *g = section(&c, "general");
	const char *realm = g && val(g, "realm") ? val(g, "realm") : "asterisk";
	if (yes(g, "allowguest", true) && g)
		audit_fix_set(audit_add(a, SEV_HIGH, "allowguest", path, var(g, "allowguest") ?
		    var(g, "allowguest")->line : 0, NULL, "allowguest is yes%s: calls from anyone, "
		    "unauthenticated, reach the default context", var(g, "allowguest") ? "" :
		    " (Asterisk's default)"), "allowguest", "no", g->line);
	if (!yes(g, "alwaysauthreject", true))
		audit_fix_set(audit_add(a, SEV_MEDIUM, "alwaysauthreject", path,
		    var(g, "alwaysauthreject")->line, NULL, "alwaysauthreject = no: unknown and "
		    "known extensions get different answers, so svwar can list them"),
		    "alwaysauthreject", "yes", g->line);
	for (size_t i = 0; i < c.n; i++) {
		const struct astconf_section *s = &c.s[i];
		const char *type = val(s, "type");
		if (s->is_template || strcasecmp(s->name, "general") == 0 || !type)
			continue;
		const struct astconf_var *sec = var(s, "secret");
		const char *host = val(s, "host");
		bool dynamic = host && strcasecmp(host, "dynamic") == 0;
		char label[160];
		snprintf(label, sizeof(label), "[%s] secret", s->name);
		if (sec) {
			audit_secret(a, SEV_HIGH, path, sec->line, FIX_SECRET, sec->val, s->name,
			    numeric(s->name) ? s->name : NULL, realm, label);
		} else if (!val(s, "md5secret") && !val(s, "remotesecret") &&
		    (dynamic || strcasecmp(type, "user") == 0 || strcasecmp(type, "friend") == 0)) {
			struct audit_finding *f = audit_add(a, SEV_CRITICAL, "no-secret", path,
			    s->line, "a generated secret (pbxguard audit --fix adds one)", "[%s] has "
			    "no secret: anyone can %s as %s", s->name, dynamic ? "register" : "call",
			    s->name);
			if (f) {
				f->kind = FIX_ADD_SECRET;
				f->at_line = s->line;
				snprintf(f->account, sizeof(f->account), "%s", s->name);
				if (numeric(s->name))
					snprintf(f->extension, sizeof(f->extension), "%s", s->name);
				snprintf(f->domain, sizeof(f->domain), "%s", realm);
			}
		}
		const char *insecure = val(s, "insecure");
		if (insecure && (strstr(insecure, "invite") || strstr(insecure, "port")))
			audit_add(a, SEV_MEDIUM, "insecure", path, var(s, "insecure")->line,
			    "remove insecure=, or pin the peer with host= and permit/deny",
			    "[%s] insecure=%s: %s", s->name, insecure, strstr(insecure, "invite") ?
			    "INVITEs are not challenged" : "any port of its host is trusted");
		if (permits_all(s, "permit"))
			audit_add(a, SEV_LOW, "permit-all", path, var(s, "permit")->line,
			    "permit only the networks the phone is in", "[%s] permits 0.0.0.0/0",
			    s->name);
	}
	astconf_free(&c);
}

/* ---- pjsip.conf (chan_pjsip) -------------------------------------------- */

static void
audit_pjsip(struct audit *a, const char *path)
{
	struct astconf c;

	if (!load(a, path, &c))
		return;
	audit_secret_file_mode(a, path, "pjsip.conf");
	for (size_t i = 0; i < c.n; i++) {
		const struct astconf_section *s = &c.s[i];
		const char *type = val(s, "type");
		if (s->is_template || !type)
			continue;
		if (strcasecmp(type, "auth") == 0) {
			const struct astconf_var *pw = var(s, "password");
			const char *at = val(s, "auth_type");
			const char *user = val(s, "username") ? val(s, "username") : s->name;
			char label[160];
			snprintf(label, sizeof(label), "[%s] password", s->name);
			if (pw && (!at || strcasecmp(at, "userpass") == 0))
				audit_secret(a, SEV_HIGH, path, pw->line, FIX_SECRET, pw->val, user,
				    numeric(user) ? user : NULL, val(s, "realm"), label);
		} else if (strcasecmp(type, "endpoint") == 0) {
			bool identified = false;
			for (size_t j = 0; j < c.n && !identified; j++) {
				const char *t = val(&c.s[j], "type"), *ep = val(&c.s[j], "endpoint");
				identified = t && ep && strcasecmp(t, "identify") == 0 &&
				    strcasecmp(ep, s->name) == 0;
			}
			if (strcasecmp(s->name, "anonymous") == 0)
				audit_add(a, SEV_HIGH, "anonymous", path, s->line,
				    "remove the [anonymous] endpoint", "[anonymous] endpoint: calls "
				    "from anyone, unauthenticated, are accepted");
			else if (!val(s, "auth") && !identified)
				audit_add(a, SEV_CRITICAL, "no-secret", path, s->line,
				    "auth = <an auth section>, or an identify section by address",
				    "endpoint [%s] has no auth and no identify: anyone who says its name "
				    "is it", s->name);
		}
	}
	astconf_free(&c);
}

/* ---- iax.conf (chan_iax2), also pbxguard's own iax.conf ------------------ */

void
audit_iax_conf(struct audit *a, const char *path, bool own)
{
	struct astconf c;

	if (!load(a, path, &c))
		return;
	audit_secret_file_mode(a, path, own ? "pbxguard's iax.conf" : "iax.conf");
	const struct astconf_section *g = section(&c, "general");
	if (g && permits_all(g, "calltokenoptional"))
		audit_add(a, SEV_HIGH, "calltokenoptional", path, var(g, "calltokenoptional")->line,
		    "list only the legacy hosts (the seed's iaxmodem box, say) in calltokenoptional",
		    "calltokenoptional covers every address: call tokens, IAX2's defence "
		    "against spoofed floods, are off for all");
	if (g && !yes(g, "requirecalltoken", true))
		audit_fix_set(audit_add(a, SEV_MEDIUM, "requirecalltoken", path,
		    var(g, "requirecalltoken")->line, NULL, "requirecalltoken = no in [general]"),
		    "requirecalltoken", "auto", 0);
	for (size_t i = 0; i < c.n; i++) {
		const struct astconf_section *s = &c.s[i];
		const char *type = val(s, "type"), *auth = val(s, "auth");
		if (s->is_template || strcasecmp(s->name, "general") == 0 || !type)
			continue;
		bool secrets = false;
		for (size_t j = 0; j < s->n; j++) {
			if (strcasecmp(s->vars[j].key, "secret") != 0)
				continue;
			/* secret = a\;b: each must pass; only a single one is fixed. */
			char *copy = strdup(s->vars[j].val), *save = NULL;
			bool several = strchr(s->vars[j].val, ';') != NULL;
			char label[160];
			snprintf(label, sizeof(label), "[%s] secret", s->name);
			for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; t;
			    t = strtok_r(NULL, ";", &save))
				audit_secret(a, SEV_HIGH, path, s->vars[j].line,
				    several ? FIX_NONE : FIX_SECRET, t, s->name,
				    numeric(s->name) ? s->name : NULL, NULL, label);
			if (copy) {
				OPENSSL_cleanse(copy, strlen(copy));
				free(copy);
			}
			secrets = true;
		}
		if (auth && strcasestr(auth, "plaintext"))
			audit_fix_set(audit_add(a, SEV_HIGH, "plaintext", path, var(s, "auth")->line,
			    NULL, "[%s] auth allows plaintext: the secret crosses the network as it "
			    "is", s->name), "auth", strcasestr(auth, "rsa") ? "md5,rsa" : "md5", 0);
		bool user = strcasecmp(type, "user") == 0 || strcasecmp(type, "friend") == 0;
		if (user && !secrets && !val(s, "inkeys"))
			audit_add(a, strcasecmp(s->name, "guest") == 0 ? SEV_HIGH : SEV_CRITICAL,
			    "no-secret", path, s->line, "give it a secret or inkeys, or remove it",
			    "[%s] has no secret and no key: anyone can call as %s", s->name, s->name);
		const char *rt = val(s, "requirecalltoken");
		if (rt && astconf_yes_no(rt) == 0)
			audit_fix_set(audit_add(a, SEV_MEDIUM, "requirecalltoken", path,
			    var(s, "requirecalltoken")->line, NULL, "[%s] requirecalltoken = no: "
			    "its calls skip the token", s->name), "requirecalltoken", "auto", 0);
		if (permits_all(s, "permit"))
			audit_add(a, SEV_LOW, "permit-all", path, var(s, "permit")->line,
			    "permit only the networks it calls from", "[%s] permits 0.0.0.0/0",
			    s->name);
	}
	astconf_free(&c);
}

/* ---- manager.conf (the AMI), also pbxguard's own ------------------------- */

void
audit_manager_conf(struct audit *a, const char *path, bool own)
{
	struct astconf c;

	if (!load(a, path, &c))
		return;
	audit_secret_file_mode(a, path, own ? "pbxguard's manager.conf" : "manager.conf");
	const struct astconf_section *g = section(&c, "general");
	bool exposed = false;
	if (!own && yes(g, "enabled", false)) {
		const char *bind = g ? val(g, "bindaddr") : NULL;
		exposed = !is_loopback(bind);
		if (exposed && !yes(g, "tlsenable", false))
			audit_add(a, SEV_HIGH, "ami-exposed", path, g->line,
			    "bindaddr = 127.0.0.1 and put pbxguard's [manager] in front, or "
			    "tlsenable = yes", "the AMI listens on %s without TLS: logins and every "
			    "event cross the network in clear", bind ? bind : "0.0.0.0 (the default)");
	}
	for (size_t i = 0; i < c.n; i++) {
		const struct astconf_section *s = &c.s[i];
		if (s->is_template || strcasecmp(s->name, "general") == 0)
			continue;
		const struct astconf_var *sec = var(s, "secret");
		const char *w = val(s, "write");
		bool mighty = w && (strcasestr(w, "all") || strcasestr(w, "system") ||
		    strcasestr(w, "command") || strcasestr(w, "originate"));
		char label[160];
		snprintf(label, sizeof(label), "AMI user [%s] secret", s->name);
		if (sec)
			audit_secret(a, mighty ? SEV_CRITICAL : SEV_HIGH, path, sec->line, FIX_SECRET,
			    sec->val, s->name, NULL, NULL, label);
		if ((exposed || own) && !val(s, "permit") && !val(s, "acl"))
			audit_add(a, own ? SEV_LOW : SEV_MEDIUM, "no-permit", path, s->line,
			    "permit = the admin hosts, deny = 0.0.0.0/0.0.0.0",
			    "AMI user [%s] may log in from any address", s->name);
		else if (permits_all(s, "permit"))
			audit_add(a, SEV_MEDIUM, "permit-all", path, var(s, "permit")->line,
			    "permit only the admin hosts", "AMI user [%s] permits 0.0.0.0/0", s->name);
	}
	astconf_free(&c);
}

/* ---- voicemail.conf ------------------------------------------------------ */

static void
audit_voicemail(struct audit *a, const char *path)
{
	struct astconf c;

	if (!load(a, path, &c))
		return;
	audit_secret_file_mode(a, path, "voicemail.conf");
	const struct astconf_section *g = section(&c, "general");
	/* The seed's practice: a new box's PIN is its number, and Asterisk
	 * makes the owner change it at first login when forcename or
	 * forcegreetings is on. That PIN is an initial one, not a weak one. */
	bool forced = yes(g, "forcename", false) || yes(g, "forcegreetings", false);
	const char *minpw = g ? val(g, "minpassword") : NULL;
	uint64_t minlen = 0;
	if (minpw)
		slice_to_u64(slice_trim(slice_cstr(minpw)), 0, 1000, &minlen);
	if (g && minlen < a->cfg->pin.min_length) {
		char n[16];
		snprintf(n, sizeof(n), "%u", a->cfg->pin.min_length);
		audit_fix_set(audit_add(a, SEV_LOW, "minpassword", path, minpw ?
		    var(g, "minpassword")->line : 0, NULL, "minpassword is %s: users may pick PINs "
		    "shorter than %u when they change theirs", minpw ? minpw : "not set",
		    a->cfg->pin.min_length), "minpassword", n, g->line);
	}
	for (size_t i = 0; i < c.n; i++) {
		const struct astconf_section *s = &c.s[i];
		if (s->is_template || strcasecmp(s->name, "general") == 0 ||
		    strcasecmp(s->name, "zonemessages") == 0)
			continue;
		for (size_t j = 0; j < s->n; j++) {
			const struct astconf_var *v = &s->vars[j];
			char pin[96], label[160];
			if (!numeric(v->key))
				continue;
			size_t n = strcspn(v->val, ",");
			const char *p = v->val;
			/* "-" before a PIN: the user may not change it. */
			if (*p == '-' || *p == '*')
				p++, n--;
			snprintf(pin, sizeof(pin), "%.*s", (int)n, p);
			snprintf(label, sizeof(label), "[%s] mailbox %s PIN", s->name, v->key);
			if (forced && strcmp(pin, v->key) == 0) {
				audit_add(a, SEV_LOW, "initial-pin", path, v->line,
				    "nothing: the owner must change it at first login",
				    "%s is the mailbox number: an initial PIN (forcename/forcegreetings "
				    "make the owner change it)", label);
				continue;
			}
			audit_secret(a, SEV_HIGH, path, v->line, FIX_PIN, pin, v->key, v->key, NULL,
			    label);
			OPENSSL_cleanse(pin, sizeof(pin));
		}
	}
	astconf_free(&c);
}

/* ---- http.conf (Asterisk's web server: ARI, AMI over HTTP) --------------- */

static void
audit_http(struct audit *a, const char *path)
{
	struct astconf c;

	if (!load(a, path, &c))
		return;
	a->files++;
	const struct astconf_section *g = section(&c, "general");
	if (g && yes(g, "enabled", false)) {
		const char *bind = val(g, "bindaddr");
		if (!is_loopback(bind) && !yes(g, "tlsenable", false))
			audit_add(a, SEV_MEDIUM, "http-exposed", path, g->line,
			    "bindaddr = 127.0.0.1 (pbxguard's [http] proxy in front), or tlsenable",
			    "Asterisk's HTTP server listens on %s without TLS", bind ? bind : "?");
	}
	astconf_free(&c);
}

void
audit_asterisk(struct audit *a, const char *dir)
{
	static const struct {
		const char *name;
		void (*fn)(struct audit *, const char *);
	} files[] = {
		{ "sip.conf", audit_sip }, { "pjsip.conf", audit_pjsip },
		{ "voicemail.conf", audit_voicemail }, { "http.conf", audit_http },
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		files[i].fn(a, path);
	}
	snprintf(path, sizeof(path), "%s/iax.conf", dir);
	audit_iax_conf(a, path, false);
	snprintf(path, sizeof(path), "%s/manager.conf", dir);
	audit_manager_conf(a, path, false);
}
