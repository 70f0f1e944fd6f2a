#include "store/iaxusers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/atomicfile.h"
#include "core/msglist.h"
#include "store/astconf.h"

#define IAXU_MAX_FILE (4u << 20)

/* Read by Asterisk for its channels; nothing for the door to do. */
static const char *const channel_keys[] = {
	"context", "callerid", "cid_number", "fullname", "allow", "disallow", "qualify",
	"qualifysmoothing", "qualifyfreqok", "qualifyfreqnotok", "trunk", "transfer",
	"jitterbuffer", "forcejitterbuffer", "language", "mailbox", "defaultip", "sourceaddress",
	"regexten", "accountcode", "amaflags", "codecpriority", "username", "encryption",
	"forceencryption", "setvar", "mohinterpret", "mohsuggest", "port", "maxauthreq",
	"peercontext", "timezone", "adsi", "sendani", "callingpres", "keyrotate",
	"immediate", "parkinglot", "notransfer", "description", NULL,
};

static void __attribute__((format(printf, 2, 3)))
warn(struct iax_users *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msglist_vaddf(&u->warn, &u->nwarn, fmt, ap);
	va_end(ap);
}

static bool
set_secrets(struct iax_user *iu, const char *v, const char *where, char *err, size_t errsz)
{
	for (size_t i = 0; i < iu->nsecrets; i++) {
		explicit_bzero(iu->secrets[i], strlen(iu->secrets[i]));
		free(iu->secrets[i]);
	}
	iu->nsecrets = 0;
	for (struct slice rest = slice_cstr(v); rest.n;) {
		struct slice one = slice_cut(rest, ';', &rest);
		if (one.n == 0)
			continue;
		if (iu->nsecrets == IAXU_MAX_SECRETS) {
			snprintf(err, errsz, "%s: more than %d secrets", where, IAXU_MAX_SECRETS);
			return false;
		}
		if (!(iu->secrets[iu->nsecrets] = slice_dup(one))) {
			snprintf(err, errsz, "%s: out of memory", where);
			return false;
		}
		iu->nsecrets++;
	}
	return true;
}

static bool
set_list(const char *v, char sep, char (*dst)[KEY_NAME_MAX], size_t max, size_t *n,
    const char *what, const char *where, char *err, size_t errsz)
{
	*n = 0;
	for (struct slice rest = slice_cstr(v); rest.n;) {
		struct slice one = slice_trim(slice_cut(rest, sep, &rest));
		if (one.n == 0)
			continue;
		if (*n == max || !slice_copy(one, dst[*n], KEY_NAME_MAX)) {
			snprintf(err, errsz, "%s: %s: at most %zu names of under %d characters", where,
			    what, max, KEY_NAME_MAX);
			return false;
		}
		(*n)++;
	}
	return true;
}

static bool
set_auth(struct iax_user *iu, const char *v, const char *where, char *err, size_t errsz)
{
	iu->auth = 0;
	for (struct slice rest = slice_cstr(v); rest.n;) {
		struct slice m = slice_trim(slice_cut(rest, ',', &rest));
		if (slice_caseeq_cstr(m, "md5"))
			iu->auth |= IAXU_AUTH_MD5;
		else if (slice_caseeq_cstr(m, "rsa"))
			iu->auth |= IAXU_AUTH_RSA;
		else if (slice_caseeq_cstr(m, "plaintext"))
			iu->auth |= IAXU_AUTH_PLAINTEXT;
		else if (m.n) {
			snprintf(err, errsz, "%s: auth: '%.*s': expected md5, rsa or plaintext", where,
			    (int)m.n, m.p);
			return false;
		}
	}
	if (!iu->auth) {
		snprintf(err, errsz, "%s: auth: no method given", where);
		return false;
	}
	return true;
}

static bool
set_key(struct iax_users *u, struct iax_user *iu, const struct astconf_var *var,
    const char *fname, const struct config *cfg, bool *dynamic, char *err, size_t errsz)
{
	const char *k = var->key, *v = var->val;
	char where[PATH_MAX + 120];

	if (var->line) /* 0: an SQL row's column */
		snprintf(where, sizeof(where), "%s:%u: [%s]", fname, var->line, iu->name);
	else
		snprintf(where, sizeof(where), "%s: [%s]", fname, iu->name);
	if (strcasecmp(k, "type") == 0) {
		iu->can_call = strcasecmp(v, "user") == 0 || strcasecmp(v, "friend") == 0;
		iu->can_register = strcasecmp(v, "peer") == 0 || strcasecmp(v, "friend") == 0;
		if (!iu->can_call && !iu->can_register) {
			snprintf(err, errsz, "%s: type: expected user, peer or friend, got '%s'",
			    where, v);
			return false;
		}
	} else if (strcasecmp(k, "secret") == 0) {
		return set_secrets(iu, v, where, err, errsz);
	} else if (strcasecmp(k, "auth") == 0) {
		return set_auth(iu, v, where, err, errsz);
	} else if (strcasecmp(k, "inkeys") == 0) {
		return set_list(v, ':', iu->inkeys, IAXU_MAX_INKEYS, &iu->ninkeys, "inkeys", where,
		    err, errsz);
	} else if (strcasecmp(k, "outkey") == 0) {
		if (!slice_copy(slice_trim(slice_cstr(v)), iu->outkey, sizeof(iu->outkey))) {
			snprintf(err, errsz, "%s: outkey: name too long", where);
			return false;
		}
	} else if (strcasecmp(k, "permit") == 0 || strcasecmp(k, "deny") == 0) {
		return astconf_add_rule(&iu->ha, (k[0] | 0x20) == 'p', v, where, err, errsz);
	} else if (strcasecmp(k, "acl") == 0) {
		if (config_find_acl(cfg, slice_cstr(v)) == CONFIG_NO_ACL) {
			snprintf(err, errsz, "%s: acl = %s: no [acl:%s] in %s", where, v, v,
			    cfg->source);
			return false;
		}
		if (iu->nacls == IAXU_MAX_ACLS) {
			snprintf(err, errsz, "%s: more than %d acl lines", where, IAXU_MAX_ACLS);
			return false;
		}
		snprintf(iu->acls[iu->nacls++], sizeof(iu->acls[0]), "%s", v);
	} else if (strcasecmp(k, "requirecalltoken") == 0) {
		int yn = astconf_yes_no(v);
		if (strcasecmp(v, "auto") == 0)
			iu->requirecalltoken = IAXU_TOKEN_AUTO;
		else if (yn < 0) {
			snprintf(err, errsz, "%s: requirecalltoken: expected yes, no or auto, got '%s'",
			    where, v);
			return false;
		} else
			iu->requirecalltoken = yn ? IAXU_TOKEN_YES : IAXU_TOKEN_NO;
	} else if (strcasecmp(k, "host") == 0) {
		*dynamic = strcasecmp(v, "dynamic") == 0;
	} else {
		for (int i = 0; channel_keys[i]; i++)
			if (strcasecmp(k, channel_keys[i]) == 0)
				return true;
		warn(u, "%s: '%s' is not used by pbxguard (ignored)", where, k);
	}
	return true;
}

/* What a user has before its keys: a file's section or a database row. */
static void
user_init(struct iax_user *iu)
{
	snprintf(iu->ha.name, sizeof(iu->ha.name), "permit/deny");
	iu->auth = IAXU_AUTH_MD5;
}

/* What a section or row says as a whole (where: "file:line" or the engine). */
static void
finish_user(struct iax_users *u, struct iax_user *iu, const char *where, bool dynamic)
{
	if (iu->can_register && !dynamic) {
		warn(u, "%s: [%s] has a fixed host: it cannot register (host = dynamic lets it)",
		    where, iu->name);
		iu->can_register = false;
	}
	if (iu->ninkeys && !(iu->auth & IAXU_AUTH_RSA))
		warn(u, "%s: [%s] has inkeys but auth lacks rsa: the keys are not used", where,
		    iu->name);
	if ((iu->auth & IAXU_AUTH_RSA) && !iu->ninkeys)
		warn(u, "%s: [%s] allows rsa but has no inkeys", where, iu->name);
	if ((iu->auth & (IAXU_AUTH_MD5 | IAXU_AUTH_PLAINTEXT)) && !iu->nsecrets && !iu->ninkeys)
		warn(u, "%s: [%s] has no secret and no inkeys: it can never authenticate", where,
		    iu->name);
}

struct iax_users *
iax_users_from_account(struct slice name, const struct account *a, const char *where,
    const struct config *cfg, char *err, size_t errsz)
{
	struct iax_users *u = calloc(1, sizeof(*u));
	char key[48], val[ACCOUNT_ATTRS_MAX];
	size_t pos = 0;
	bool dynamic = true;

	if (!u || !(u->u = calloc(1, sizeof(*u->u)))) {
		snprintf(err, errsz, "%s: out of memory", where);
		goto bad;
	}
	struct iax_user *iu = &u->u[u->n++];
	user_init(iu);
	if (!slice_copy(name, iu->name, sizeof(iu->name))) {
		snprintf(err, errsz, "%s: the user name is too long", where);
		goto bad;
	}
	/* One request for chan_iax2's users and peers: a friend unless a type
	 * column says otherwise (Asterisk's realtime tables tell them apart by
	 * the table). */
	iu->can_call = iu->can_register = true;
	/* The first column; MD5 challenges need the secret itself. */
	if (a->has_clrtxt) {
		if (!(iu->secrets[0] = strdup(a->clrtxt))) {
			snprintf(err, errsz, "%s: out of memory", where);
			goto bad;
		}
		iu->nsecrets = 1;
	}
	while (account_attr_next(a, &pos, key, sizeof(key), val, sizeof(val))) {
		struct astconf_var var = { key, val, 0 };
		if (strcasecmp(key, "secret") == 0) {
			snprintf(err, errsz, "%s: [%s]: a column named secret: the secret is the "
			    "first column", where, iu->name);
			goto bad;
		}
		if (!set_key(u, iu, &var, where, cfg, &dynamic, err, errsz))
			goto bad;
	}
	if (!a->has_clrtxt && !iu->ninkeys)
		warn(u, "%s: [%s]: the row holds a hash, not the secret (CLRTXT): IAX2's MD5 "
		    "challenge needs the secret itself", where, iu->name);
	finish_user(u, iu, where, dynamic);
	explicit_bzero(val, sizeof(val));
	return u;
bad:
	explicit_bzero(val, sizeof(val));
	iax_users_free(u);
	return NULL;
}

struct iax_users *
iax_users_parse(const char *text, size_t len, const char *fname, const struct config *cfg,
    char *err, size_t errsz)
{
	struct astconf ac;
	struct iax_users *u = NULL;

	if (!astconf_parse(text, len, fname, &ac, err, errsz))
		return NULL;
	if (!(u = calloc(1, sizeof(*u))) || (ac.n && !(u->u = calloc(ac.n, sizeof(*u->u))))) {
		snprintf(err, errsz, "%s: out of memory", fname);
		goto bad;
	}
	for (size_t i = 0; i < ac.n; i++) {
		const struct astconf_section *s = &ac.s[i];
		bool dynamic = true, typed = false;
		if (s->is_template || strcasecmp(s->name, "general") == 0)
			continue;
		if (iax_users_find(u, slice_cstr(s->name))) {
			snprintf(err, errsz, "%s:%u: [%s]: defined twice", fname, s->line, s->name);
			goto bad;
		}
		struct iax_user *iu = &u->u[u->n++];
		user_init(iu);
		snprintf(iu->name, sizeof(iu->name), "%s", s->name);
		for (size_t j = 0; j < s->n; j++) {
			typed |= strcasecmp(s->vars[j].key, "type") == 0;
			if (!set_key(u, iu, &s->vars[j], fname, cfg, &dynamic, err, errsz))
				goto bad;
		}
		if (!typed) {
			/* chan_iax2 skips such a section too ("lacks type"). */
			warn(u, "%s:%u: [%s] has no type (user, peer or friend): ignored", fname,
			    s->line, s->name);
			iax_users_clear(iu);
			u->n--;
			continue;
		}
		char where[PATH_MAX + 16];
		snprintf(where, sizeof(where), "%s:%u", fname, s->line);
		finish_user(u, iu, where, dynamic);
	}
	astconf_free(&ac);
	return u;
bad:
	astconf_free(&ac);
	iax_users_free(u);
	return NULL;
}

struct iax_users *
iax_users_load(const char *path, const struct config *cfg, char *err, size_t errsz)
{
	char *data = NULL, loose[PATH_MAX * 2 + 80];
	size_t n = 0;

	switch (astconf_read_secrets(path, IAXU_MAX_FILE, &data, &n, loose, sizeof(loose), err,
	    errsz)) {
	case 1:
		snprintf(err, errsz, "%s: no such file: no IAX2 user can register or call", path);
		return calloc(1, sizeof(struct iax_users));
	case -1:
		return NULL;
	}
	struct iax_users *u = iax_users_parse(data, n, path, cfg, err, errsz);
	explicit_bzero(data, n);
	free(data);
	if (u && loose[0])
		warn(u, "%s", loose);
	if (u)
		err[0] = '\0';
	return u;
}

void
iax_users_clear(struct iax_user *iu)
{
	for (size_t j = 0; j < iu->nsecrets; j++) {
		explicit_bzero(iu->secrets[j], strlen(iu->secrets[j]));
		free(iu->secrets[j]);
	}
	free(iu->ha.rules);
	memset(iu, 0, sizeof(*iu));
}

void
iax_users_free(struct iax_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		iax_users_clear(&u->u[i]);
	msglist_free(u->warn, u->nwarn);
	free(u->u);
	free(u);
}

const struct iax_user *
iax_users_find(const struct iax_users *u, struct slice name)
{
	for (size_t i = 0; u && i < u->n; i++)
		if (slice_eq_cstr(name, u->u[i].name))
			return &u->u[i];
	return NULL;
}
