#include "store/mgrusers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/atomicfile.h"
#include "core/msglist.h"
#include "store/astconf.h"

#define MGR_MAX_FILE (4u << 20)

static void __attribute__((format(printf, 2, 3)))
warn(struct mgr_users *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msglist_vaddf(&u->warn, &u->nwarn, fmt, ap);
	va_end(ap);
}

static bool
set_key(struct mgr_users *u, struct mgr_user *mu, const struct astconf_var *var,
    const char *fname, const struct config *cfg, char *err, size_t errsz)
{
	const char *k = var->key, *v = var->val;
	char where[PATH_MAX + 120];
	int yn;

	if (var->line) /* 0: an SQL row's column */
		snprintf(where, sizeof(where), "%s:%u: [%s]", fname, var->line, mu->name);
	else
		snprintf(where, sizeof(where), "%s: [%s]", fname, mu->name);
	if (strcasecmp(k, "secret") == 0) {
		free(mu->secret);
		if (!(mu->secret = strdup(v))) {
			snprintf(err, errsz, "%s: out of memory", where);
			return false;
		}
	} else if (strcasecmp(k, "permit") == 0 || strcasecmp(k, "deny") == 0) {
		return astconf_add_rule(&mu->ha, (k[0] | 0x20) == 'p', v, where, err, errsz);
	} else if (strcasecmp(k, "acl") == 0) {
		if (config_find_acl(cfg, slice_cstr(v)) == CONFIG_NO_ACL) {
			snprintf(err, errsz, "%s: acl = %s: no [acl:%s] in %s", where, v, v,
			    cfg->source);
			return false;
		}
		if (mu->nacls == MGR_MAX_ACLS) {
			snprintf(err, errsz, "%s: more than %d acl lines", where, MGR_MAX_ACLS);
			return false;
		}
		snprintf(mu->acls[mu->nacls++], sizeof(mu->acls[0]), "%s", v);
	} else if (strcasecmp(k, "read") == 0 || strcasecmp(k, "write") == 0) {
		char *dst = strcasecmp(k, "read") == 0 ? mu->read : mu->write;
		if (strlen(v) >= sizeof(mu->read)) {
			snprintf(err, errsz, "%s: %s: too long", where, k);
			return false;
		}
		snprintf(dst, sizeof(mu->read), "%s", v);
	} else if (strcasecmp(k, "displayconnects") == 0 ||
	    strcasecmp(k, "allowmultiplelogin") == 0) {
		if ((yn = astconf_yes_no(v)) < 0) {
			snprintf(err, errsz, "%s: %s: expected yes or no, got '%s'", where, k, v);
			return false;
		}
		if (strcasecmp(k, "displayconnects") == 0)
			mu->displayconnects = yn;
		else
			mu->allowmultiplelogin = yn;
	} else if (strcasecmp(k, "writetimeout") == 0) {
		uint64_t ms;
		if (!slice_to_u64(slice_cstr(v), 100, 600000, &ms)) {
			snprintf(err, errsz, "%s: writetimeout: expected 100 to 600000 ms, got '%s'",
			    where, v);
			return false;
		}
		mu->writetimeout = (unsigned)ms;
	} else if (strcasecmp(k, "eventfilter") == 0) {
		if (mu->nfilters == MGR_MAX_FILTERS) {
			snprintf(err, errsz, "%s: more than %d eventfilter lines", where,
			    MGR_MAX_FILTERS);
			return false;
		}
		if (!(mu->filters[mu->nfilters] = strdup(v))) {
			snprintf(err, errsz, "%s: out of memory", where);
			return false;
		}
		mu->nfilters++;
	} else {
		/* setvar, channelvars...: about Asterisk's channels, not the door. */
		warn(u, "%s: '%s' is not used by pbxguard (ignored)", where, k);
	}
	return true;
}

/* What a user has before its keys: a file's section or a database row. */
static void
user_init(struct mgr_user *mu)
{
	snprintf(mu->ha.name, sizeof(mu->ha.name), "permit/deny");
	mu->displayconnects = -1;
	mu->allowmultiplelogin = -1;
	mu->writetimeout = 100;
}

struct mgr_users *
mgr_users_parse(const char *text, size_t len, const char *fname, const struct config *cfg,
    char *err, size_t errsz)
{
	struct astconf ac;
	struct mgr_users *u = NULL;

	if (!astconf_parse(text, len, fname, &ac, err, errsz))
		return NULL;
	if (!(u = calloc(1, sizeof(*u))) || (ac.n && !(u->u = calloc(ac.n, sizeof(*u->u))))) {
		snprintf(err, errsz, "%s: out of memory", fname);
		goto bad;
	}
	for (size_t i = 0; i < ac.n; i++) {
		const struct astconf_section *s = &ac.s[i];
		if (s->is_template || strcasecmp(s->name, "general") == 0)
			continue;
		if (mgr_users_find(u, s->name, strlen(s->name))) {
			snprintf(err, errsz, "%s:%u: [%s]: a user of that name (in another case) "
			    "is already defined", fname, s->line, s->name);
			goto bad;
		}
		struct mgr_user *mu = &u->u[u->n++];
		user_init(mu);
		snprintf(mu->name, sizeof(mu->name), "%s", s->name);
		for (size_t j = 0; j < s->n; j++)
			if (!set_key(u, mu, &s->vars[j], fname, cfg, err, errsz))
				goto bad;
		if (!mu->secret)
			warn(u, "%s:%u: [%s] has no secret: it cannot log in", fname, s->line,
			    s->name);
	}
	astconf_free(&ac);
	return u;
bad:
	astconf_free(&ac);
	mgr_users_free(u);
	return NULL;
}

struct mgr_users *
mgr_users_from_account(struct slice name, const struct account *a, const char *where,
    const struct config *cfg, char *err, size_t errsz)
{
	struct mgr_users *u = calloc(1, sizeof(*u));
	char key[48], val[ACCOUNT_ATTRS_MAX];
	size_t pos = 0;

	if (!u || !(u->u = calloc(1, sizeof(*u->u)))) {
		snprintf(err, errsz, "%s: out of memory", where);
		goto bad;
	}
	struct mgr_user *mu = &u->u[u->n++];
	user_init(mu);
	if (!slice_copy(name, mu->name, sizeof(mu->name))) {
		snprintf(err, errsz, "%s: the user name is too long", where);
		goto bad;
	}
	/* The first column; only the password itself answers a Challenge. */
	if (a->has_clrtxt && !(mu->secret = strdup(a->clrtxt))) {
		snprintf(err, errsz, "%s: out of memory", where);
		goto bad;
	}
	if (!a->has_clrtxt)
		warn(u, "%s: [%s]: the row holds a hash, not the secret (CLRTXT): it cannot "
		    "log in, since AMI's MD5 login needs the secret itself", where, mu->name);
	while (account_attr_next(a, &pos, key, sizeof(key), val, sizeof(val))) {
		struct astconf_var var = { key, val, 0 };
		if (strcasecmp(key, "secret") == 0) {
			snprintf(err, errsz, "%s: [%s]: a column named secret: the secret is the "
			    "first column", where, mu->name);
			goto bad;
		}
		if (!set_key(u, mu, &var, where, cfg, err, errsz))
			goto bad;
	}
	explicit_bzero(val, sizeof(val));
	return u;
bad:
	explicit_bzero(val, sizeof(val));
	mgr_users_free(u);
	return NULL;
}

struct mgr_users *
mgr_users_load(const char *path, const struct config *cfg, char *err, size_t errsz)
{
	char *data = NULL, loose[PATH_MAX * 2 + 80];
	size_t n = 0;

	switch (astconf_read_secrets(path, MGR_MAX_FILE, &data, &n, loose, sizeof(loose), err,
	    errsz)) {
	case 1:
		snprintf(err, errsz, "%s: no such file: no AMI user can log in", path);
		return calloc(1, sizeof(struct mgr_users));
	case -1:
		return NULL;
	}
	struct mgr_users *u = mgr_users_parse(data, n, path, cfg, err, errsz);
	explicit_bzero(data, n);
	free(data);
	if (u && loose[0])
		warn(u, "%s", loose);
	if (u)
		err[0] = '\0';
	return u;
}

void
mgr_users_free(struct mgr_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++) {
		struct mgr_user *mu = &u->u[i];
		if (mu->secret) {
			explicit_bzero(mu->secret, strlen(mu->secret));
			free(mu->secret);
		}
		free(mu->ha.rules);
		for (size_t j = 0; j < mu->nfilters; j++)
			free(mu->filters[j]);
	}
	msglist_free(u->warn, u->nwarn);
	free(u->u);
	free(u);
}

const struct mgr_user *
mgr_users_find(const struct mgr_users *u, const char *name, size_t n)
{
	if (!u)
		return NULL;
	for (size_t i = 0; i < u->n; i++)
		if (strlen(u->u[i].name) == n && strncasecmp(u->u[i].name, name, n) == 0)
			return &u->u[i];
	return NULL;
}
