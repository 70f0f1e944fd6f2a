/* pbxguard serve: configuration, listeners, signals, periodic chores. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "ami/server.h"
#include "http/server.h"
#include "iax2/server.h"

#include "core/atomicfile.h"
#include "core/config.h"
#include "core/prom.h"
#include "core/tls.h"
#include "core/log.h"
#include "core/secevent.h"
#include "daemon/cluster.h"
#include "daemon/cmds.h"
#include "daemon/control.h"
#include "daemon/demo.h"
#include "daemon/nft.h"
#include "daemon/watchd.h"
#include "guard/digest.h"
#include "guard/guard.h"
#include "sip/server.h"
#include "sip/transport.h"
#include "store/keys.h"
#include "store/store.h"

struct daemon {
	struct config cfg;
	struct store *store;
	struct guard *guard;
	struct sip_server sip;
	struct sip_transports *tp;
	struct ami_server *ami;
	struct http_server *http;
	struct iax_server *iax;
	struct keyring *keys;		/* [iax2] keydir */
	struct control *ctl;
	struct nft *nft;
	struct cluster *cluster;	/* state = redis:// */
	struct watchd *watch;
	SSL_CTX *tls;
	SSL_CTX *ami_tls;
	SSL_CTX *http_tls;
	struct event_base *base;
	struct event *sigs[3];
	struct event *tick;
	struct event *resume;		/* parked SIP requests: handle them again */
};

/* ---- the IAX2 key directory ------------------------------------------- */

static void
keys_log(const struct keyring *r, const char *dir)
{
	for (size_t i = 0; i < r->nwarn; i++)
		log_warn("keys: %s", r->warn[i]);
	size_t locked = keyring_locked(r);
	log_notice("keys: %zu in %s%s", r->n, dir, locked ? "; some need a passcode: "
	    "pbxguard keys init (or serve -i)" : "");
}

/* SIGHUP: the directory again; a key unlocked before stays unlocked if its
 * file is the same (as its MD5 says). */
static void
reload_keys(struct daemon *d)
{
	char err[512];
	struct keyring *r = keyring_load(d->cfg.iax2.keydir, err, sizeof(err));

	if (!r) {
		log_err("keys: %s (the keys loaded before stay)", err);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		struct iax_key *nk = &r->k[i];
		const struct iax_key *ok = keyring_find(d->keys, slice_cstr(nk->name), nk->is_private);
		if (nk->needs_passcode && ok && ok->pkey && strcmp(ok->md5, nk->md5) == 0) {
			nk->pkey = EVP_PKEY_dup(ok->pkey);
			nk->needs_passcode = nk->pkey == NULL;
			nk->bits = ok->bits;
		}
	}
	keys_log(r, d->cfg.iax2.keydir);
	keyring_free(d->keys);
	d->keys = r;
}

/* serve -i: each passcode asked on the terminal before we start, as asterisk -i. */
static bool
keys_prompt(struct daemon *d)
{
	for (size_t i = 0; i < d->keys->n; i++) {
		struct iax_key *k = &d->keys->k[i];
		for (int tries = 0; k->needs_passcode && tries < 3; tries++) {
			char pass[256], err[256];
			char prompt[160];
			snprintf(prompt, sizeof(prompt), "Enter passcode for key '%s': ", k->name);
			if (keys_ask_passphrase(NULL, prompt, false, pass, sizeof(pass)) < 0)
				return false;
			if (!keyring_unlock(d->keys, k->name, pass, err, sizeof(err)))
				fprintf(stderr, "%s\n", err);
			OPENSSL_cleanse(pass, sizeof(pass));
		}
		if (k->needs_passcode) {
			log_err("keys: '%s' left locked after 3 tries", k->name);
			return false;
		}
	}
	return true;
}

static void
put_evbuffer(void *arg, const char *line)
{
	evbuffer_add_printf(arg, "%s\n", line);
}

/* The control socket's "keys show", "keys locked", "keys init NAME HEXPASS". */
static bool
hook_control(void *arg, const char *line, struct evbuffer *out)
{
	struct daemon *d = arg;
	char name[KEY_NAME_MAX], hex[600], pass[300], err[256];

	if (strncmp(line, "keys ", 5) != 0)
		return false;
	if (!d->keys) {
		evbuffer_add_printf(out, "error: no [iax2] section: no key directory\n");
		return true;
	}
	if (strcmp(line, "keys show") == 0) {
		evbuffer_add_printf(out, "ok\n");
		keyring_show(d->keys, put_evbuffer, out);
	} else if (strcmp(line, "keys locked") == 0) {
		evbuffer_add_printf(out, "ok %zu\n", keyring_locked(d->keys));
		for (size_t i = 0; i < d->keys->n; i++)
			if (d->keys->k[i].needs_passcode)
				evbuffer_add_printf(out, "%s\n", d->keys->k[i].name);
	} else if (sscanf(line, "keys init %79s %599s", name, hex) == 2 && strlen(hex) % 2 == 0 &&
	    strlen(hex) / 2 < sizeof(pass) && hex_decode(slice_cstr(hex), (uint8_t *)pass,
	    strlen(hex) / 2)) {
		pass[strlen(hex) / 2] = '\0';
		if (keyring_unlock(d->keys, name, pass, err, sizeof(err))) {
			log_notice("keys: '%s' unlocked", name);
			evbuffer_add_printf(out, "ok '%s' unlocked\n", name);
		} else {
			log_warn("keys: %s", err);
			evbuffer_add_printf(out, "error: %s\n", err);
		}
		OPENSSL_cleanse(pass, sizeof(pass));
		OPENSSL_cleanse(hex, sizeof(hex));
	} else {
		evbuffer_add_printf(out, "error: expected 'keys show', 'keys locked' or 'keys init "
		    "NAME HEXPASS'\n");
	}
	return true;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)what;

	if (sig == SIGHUP) {
		char why[1024];
		log_notice("SIGHUP: re-reading the credential store");
		guard_refresh(d->guard, true);
		if (d->ami && !ami_server_reload(d->ami, why, sizeof(why)))
			log_err("AMI: %s", why);
		else if (d->ami)
			log_notice("AMI: %s", why);
		if (d->http && !http_server_reload(d->http, why, sizeof(why)))
			log_err("HTTP: %s", why);
		else if (d->http)
			log_notice("HTTP: %s", why);
		if (d->iax) {
			reload_keys(d);
			if (!iax_server_reload(d->iax, d->keys, why, sizeof(why)))
				log_err("IAX2: %s", why);
			else
				log_notice("IAX2: %s", why);
		}
		return;
	}
	log_notice("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(d->base);
}

/*
 * An answer for parked requests came in (the SQL store, a nonce count from
 * Redis). Every parked request is handled again, so answers that arrive in
 * one burst are taken in one pass, at the end of this turn of the loop:
 * one pass per answer would be quadratic under load.
 */
static void
wake_parked(void *arg)
{
	struct daemon *d = arg;
	event_active(d->resume, 0, 0);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd;
	(void)what;
	sip_server_resume(&d->sip);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd;
	(void)what;
	guard_tick(d->guard, time(NULL));
	registrar_sweep(d->sip.reg, time(NULL));
}

/* Subject names of a certificate we make: what clients may call us. */
static size_t
tls_names(const struct config *cfg, char names[][256], size_t max)
{
	size_t n = 0;
	char host[256];

	snprintf(names[n++], 256, "localhost");
	if (gethostname(host, sizeof(host)) == 0 && strcmp(host, "localhost") != 0)
		snprintf(names[n++], 256, "%s", host);
	for (size_t i = 0; i < cfg->n_auth_domains && n < max; i++)
		if (!strchr(cfg->auth_domains[i], '*'))
			snprintf(names[n++], 256, "%s", cfg->auth_domains[i]);
	for (size_t i = 0; i < cfg->n_transports && n < max; i++) {
		char h[ADDR_STRLEN];
		const struct addr *a = &cfg->transports[i].addr;
		addr_host_str(a, h, sizeof(h));
		if (cfg->transports[i].proto != TP_TLS || strcmp(h, "0.0.0.0") == 0 ||
		    strcmp(h, "::") == 0)
			continue;
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(names[k], h) == 0;
		if (!dup)
			snprintf(names[n++], 256, "%s", h);
	}
	return n;
}

/* A server context for cert/key: made when both are missing (never
 * replaced), then checked. create false (--check): nothing is made. */
static bool
tls_context(struct daemon *d, const char *cert, const char *key, bool create, SSL_CTX **out)
{
	char names[40][256], err[768];
	const char *np[40];

	size_t n = tls_names(&d->cfg, names, 40);
	for (size_t i = 0; i < n; i++)
		np[i] = names[i];
	struct tls_files f = { cert, key, d->cfg.tls_ca, d->cfg.tls_cipher, d->cfg.tls_rsa, np, n };
	if (!create && access(f.cert, F_OK) != 0 && access(f.key, F_OK) != 0)
		return true; /* --check: serve will make them */
	SSL_CTX *ctx = NULL;
	if (tls_prepare(&f, err, sizeof(err)) < 0 ||
	    !(ctx = tls_server_ctx(&f, err, sizeof(err)))) {
		log_err("%s", err);
		return false;
	}
	long days = tls_days_left(ctx);
	if (days < 0)
		log_warn("TLS: the certificate %s EXPIRED %ld days ago: clients will refuse it; "
		    "replace it (or remove it and its key to have a new self-signed one made)",
		    f.cert, -days);
	else if (days < 30)
		log_warn("TLS: the certificate %s expires in %ld days: replace it soon", f.cert, days);
	if (out)
		*out = ctx;
	else
		SSL_CTX_free(ctx);
	return true;
}

/* The SIP listeners' context, when one is TLS; the AMI's, when it may
 * speak TLS (it shares [sip]'s certificate unless certfile says else). */
static bool
start_tls(struct daemon *d, bool create)
{
	bool any = false;
	const struct config_manager *m = &d->cfg.ami;

	for (size_t i = 0; i < d->cfg.n_transports; i++)
		any |= d->cfg.transports[i].proto == TP_TLS;
	if (any && !tls_context(d, d->cfg.tls_cert, d->cfg.tls_key, create,
	    create ? &d->tls : NULL))
		return false;
	if (m->enabled && (m->accept_encrypted || m->tls_only_listener) &&
	    !tls_context(d, m->cert, m->key, create, create ? &d->ami_tls : NULL))
		return false;
	if (d->cfg.http.enabled &&
	    !tls_context(d, d->cfg.http.cert, d->cfg.http.key, create, create ? &d->http_tls : NULL))
		return false;
	return true;
}

/* ---- what pbxguard's AMI actions read from the rest of the daemon ------ */

struct reg_emit {
	ami_emit_fn emit;
	void (*done)(void *);
	void *ectx;
	int64_t now;
};

static void
reg_item(void *arg, const char *aor, const struct reg_binding *b)
{
	struct reg_emit *e = arg;
	char num[32], as[ADDR_STRLEN + 8];
	static const char *const tp[] = { "UDP", "TCP", "TLS" };

	e->emit(e->ectx, "AOR", aor);
	e->emit(e->ectx, "Contact", b->contact);
	snprintf(num, sizeof(num), "%lld", (long long)(b->expires_at - e->now));
	e->emit(e->ectx, "Expires", num);
	snprintf(as, sizeof(as), "%s/", tp[b->flow.proto]);
	addr_str(&b->flow.remote, as + 4, sizeof(as) - 4);
	e->emit(e->ectx, "Source", as);
	e->done(e->ectx);
}

static long
hook_registrations(void *arg, ami_emit_fn emit, void (*done)(void *), void *ectx, char *why,
    size_t whysz)
{
	struct daemon *d = arg;
	struct reg_emit e = { emit, done, ectx, time(NULL) };
	(void)why;
	(void)whysz;
	return (long)registrar_each(d->sip.reg, e.now, reg_item, &e);
}

static long
hook_keys(void *arg, ami_emit_fn emit, void (*done)(void *), void *ectx, char *why,
    size_t whysz)
{
	struct daemon *d = arg;

	if (!d->keys) {
		snprintf(why, whysz, "No key directory: IAX2 keys (inkeys, outkey) come with an "
		    "[iax2] section");
		return -1;
	}
	for (size_t i = 0; i < d->keys->n; i++) {
		const struct iax_key *k = &d->keys->k[i];
		emit(ectx, "Key", k->name);
		emit(ectx, "Type", k->is_private ? "PRIVATE" : "PUBLIC");
		emit(ectx, "Status", k->needs_passcode ? "[Needs Passcode]" : "[Loaded]");
		emit(ectx, "Sum", k->md5);
		done(ectx);
	}
	return (long)d->keys->n;
}

/* The credential store db-implementation names; base NULL: only try it. */
static struct store *
open_store(const struct config *cfg, struct event_base *base, char *err, size_t errsz)
{
	struct store_sql_spec sip = { "soci-password-request", cfg->sql_request,
		STORE_ROWS_DIGEST, 0, "SIP requests get 503" };

	if (strcmp(cfg->db_implementation, "sql") == 0)
		return store_sql_open(cfg, &sip, base, err, errsz);
	return store_file_open(cfg->file_path, err, errsz);
}

enum front { FRONT_AMI, FRONT_IAX2, FRONT_HTTP };

/*
 * A front end's users from SQL, over [module::Authentication]'s database:
 * true with *out (NULL when the section reads its file instead); false
 * with err. Two connections each: logins there are rare next to SIP's.
 */
static bool
open_users(const struct config *cfg, enum front f, struct event_base *base,
    struct store **out, char *err, size_t errsz)
{
	static const struct {
		const char *key;
		enum store_rows rows;
		const char *temporary;
	} fronts[] = {
		[FRONT_AMI] = { "[manager] soci-password-request", STORE_ROWS_SETTINGS,
			"AMI logins get \"Authentication temporarily unavailable\"" },
		[FRONT_IAX2] = { "[iax2] soci-password-request", STORE_ROWS_SETTINGS,
			"IAX2 logins are refused as congestion" },
		[FRONT_HTTP] = { "[http] AuthDBDUserPWQuery", STORE_ROWS_HASH,
			"web logins get 503" },
	};
	const char *req = f == FRONT_AMI ? cfg->ami.sql_request
	    : f == FRONT_IAX2 ? cfg->iax2.sql_request : cfg->http.sql_request;

	*out = NULL;
	if (!req[0])
		return true;
	struct store_sql_spec sp = { fronts[f].key, req, fronts[f].rows,
		cfg->sql_poolsize < 2 ? cfg->sql_poolsize : 2, fronts[f].temporary };
	return (*out = store_sql_open(cfg, &sp, base, err, errsz)) != NULL;
}

static bool
hook_reload(void *arg, char *why, size_t whysz)
{
	struct daemon *d = arg;
	char buf[768];

	guard_refresh(d->guard, true);
	bool ok = ami_server_reload(d->ami, buf, sizeof(buf));
	snprintf(why, whysz, "%s%s; SIP accounts re-read from %s", ok ? "Reloaded: " : "",
	    buf, d->cfg.file_path);
	return ok;
}

static void
hook_status(void *arg, ami_emit_fn emit, void *ectx)
{
	struct daemon *d = arg;
	char num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)d->sip.n_requests);
	emit(ectx, "SIPRequests", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)d->sip.n_auth_ok);
	emit(ectx, "SIPAuthenticated", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)d->sip.n_auth_fail);
	emit(ectx, "SIPRefused", num);
	snprintf(num, sizeof(num), "%zu", registrar_count(d->sip.reg));
	emit(ectx, "SIPRegisteredAORs", num);
}

static bool
start_ami(struct daemon *d)
{
	struct ami_hooks h = { d, hook_registrations, hook_keys, hook_reload, hook_status };
	struct store *users;
	char err[768];

	if (!d->cfg.ami.enabled)
		return true;
	if (!open_users(&d->cfg, FRONT_AMI, d->base, &users, err, sizeof(err))) {
		log_err("AMI: %s", err);
		return false;
	}
	return (d->ami = ami_server_start(d->base, &d->cfg, d->guard, d->ami_tls, &h, users))
	    != NULL;
}

/* ---- what the admin page and /metrics read from the rest of the daemon -- */

struct reg_json {
	struct json *j;
	int64_t now;
};

static void
reg_json_item(void *arg, const char *aor, const struct reg_binding *b)
{
	struct reg_json *r = arg;
	char as[ADDR_STRLEN + 8];
	static const char *const tp[] = { "UDP", "TCP", "TLS" };

	json_obj(r->j, NULL);
	json_cstr(r->j, "protocol", "SIP");
	json_cstr(r->j, "aor", aor);
	json_cstr(r->j, "contact", b->contact);
	json_int(r->j, "expires", (int64_t)(b->expires_at - r->now));
	snprintf(as, sizeof(as), "%s/", tp[b->flow.proto]);
	addr_str(&b->flow.remote, as + 4, sizeof(as) - 4);
	json_cstr(r->j, "source", as);
	json_end_obj(r->j);
}

static void
iax_json_item(void *arg, const char *name, const struct addr *a, time_t expires)
{
	struct reg_json *r = arg;
	char as[ADDR_STRLEN + 8];

	json_obj(r->j, NULL);
	json_cstr(r->j, "protocol", "IAX2");
	json_cstr(r->j, "aor", name);
	snprintf(as, sizeof(as), "UDP/");
	addr_str(a, as + 4, sizeof(as) - 4);
	json_cstr(r->j, "contact", as);
	json_int(r->j, "expires", (int64_t)(expires - r->now));
	json_cstr(r->j, "source", as);
	json_end_obj(r->j);
}

static void
json_listener(struct json *j, const char *service, const struct addr *a, const char *kind,
    const char *state)
{
	char as[ADDR_STRLEN];
	json_obj(j, NULL);
	json_cstr(j, "service", service);
	json_cstr(j, "address", addr_str(a, as, sizeof(as)));
	json_cstr(j, "kind", kind);
	json_cstr(j, "state", state);
	json_end_obj(j);
}

static void
json_cert(struct json *j, const char *service, const char *file, SSL_CTX *ctx)
{
	if (!ctx)
		return;
	json_obj(j, NULL);
	json_cstr(j, "service", service);
	json_cstr(j, "file", file);
	json_int(j, "not_after", tls_not_after(ctx));
	json_int(j, "days_left", tls_days_left(ctx));
	json_end_obj(j);
}

static void
hook_http_state(void *arg, struct json *j)
{
	struct daemon *d = arg;
	const struct config *c = &d->cfg;
	struct reg_json r = { j, time(NULL) };
	static const char *const tp[] = { "UDP", "TCP", "TLS" };

	json_arr(j, "registrations");
	registrar_each(d->sip.reg, r.now, reg_json_item, &r);
	if (d->iax)
		iax_server_each_reg(d->iax, r.now, iax_json_item, &r);
	json_end_arr(j);
	json_arr(j, "listeners");
	for (size_t i = 0; i < c->n_transports; i++)
		json_listener(j, "SIP", &c->transports[i].addr, tp[c->transports[i].proto],
		    "listening");
	if (d->ami) {
		json_listener(j, "AMI", &c->ami.bind, c->ami.accept_encrypted &&
		    c->ami.accept_unencrypted ? "TLS or TCP" : c->ami.accept_encrypted ? "TLS" : "TCP",
		    "listening");
		if (c->ami.tls_only_listener)
			json_listener(j, "AMI", &c->ami.tls_bind, "TLS", "listening");
	}
	for (size_t i = 0; i < c->http.nlisten; i++)
		json_listener(j, "HTTP", &c->http.listen[i].addr, c->http.listen[i].tls ? "HTTPS" :
		    "HTTP (redirect)", "listening");
	if (d->iax)
		json_listener(j, "IAX2", &c->iax2.bind, "UDP", "listening");
	json_end_arr(j);
	json_arr(j, "upstreams");
	for (size_t i = 0; i < c->n_upstreams; i++)
		json_listener(j, "SIP", &c->upstreams[i].addr, "PBX", "configured");
	if (d->ami && c->ami.has_upstream) {
		const char *st = ami_server_upstream(d->ami);
		json_listener(j, "AMI", &c->ami.upstream, c->ami.upstream_tls ? "TLS" : "TCP",
		    st && strcmp(st, "connected") == 0 ? "up" : st ? st : "none");
	}
	if (c->http.has_proxy)
		json_listener(j, "HTTP", &c->http.proxy, "web GUI (proxy)", "configured");
	if (d->iax && c->iax2.has_upstream)
		json_listener(j, "IAX2", &c->iax2.upstream, "PBX", "configured");
	if (d->cluster) {
		/* Shared state: its live state, shown with the upstreams on the page. */
		struct rstate_status rs;
		rstate_status(cluster_state(d->cluster), &rs);
		json_obj(j, NULL);
		json_cstr(j, "service", "state");
		json_cstr(j, "address", rs.where);
		json_cstr(j, "kind", "Redis (shared bans, nonces, registrations)");
		json_cstr(j, "state", rs.up ? "up" :
		    "unreachable: this node's own bans, nonces and registrations only");
		json_end_obj(j);
	}
	json_end_arr(j);
	json_arr(j, "certificates");
	json_cert(j, "SIP", c->tls_cert, d->tls);
	json_cert(j, "AMI", c->ami.cert, d->ami_tls);
	json_cert(j, "HTTP", c->http.cert, d->http_tls);
	json_end_arr(j);
}

static void
prom_cert(struct dbuf *b, const char *service, SSL_CTX *ctx)
{
	if (ctx)
		prom_sample(b, "pbxguard_certificate_expiry_seconds",
		    (const char *const[]){ "service", service, NULL }, (double)tls_not_after(ctx));
}

/* The AMI, IAX2 and web users' SQL stores, where there are some. */
static void
prom_users_stores(struct dbuf *b, struct daemon *d)
{
	const struct { const char *service; struct store *s; } st[] = {
		{ "AMI", d->ami ? ami_server_users(d->ami) : NULL },
		{ "IAX2", d->iax ? iax_server_users(d->iax) : NULL },
		{ "HTTP", d->http ? http_server_users(d->http) : NULL },
	};
	const size_t n = sizeof(st) / sizeof(st[0]);
	struct store_stats ss[sizeof(st) / sizeof(st[0])];
	bool any = false;

	for (size_t i = 0; i < n; i++)
		if (st[i].s)
			st[i].s->ops->stats(st[i].s->impl, &ss[i]);
	for (size_t i = 0; i < n; i++)
		any |= st[i].s != NULL;
	if (!any)
		return;
	prom_family(b, "pbxguard_users_store_up", "gauge",
	    "1 when the database of the AMI, IAX2 or web users answered its last query.");
	for (size_t i = 0; i < n; i++)
		if (st[i].s)
			prom_sample(b, "pbxguard_users_store_up", (const char *const[]){ "service",
			    st[i].service, NULL }, !ss[i].down);
	prom_family(b, "pbxguard_users_store_lookups_total", "counter",
	    "AMI, IAX2 and web user lookups: sent to the database, answered from the cache, "
	    "failed, refused with the queue full.");
	const char *const kinds[] = { "query", "cached", "failed", "refused" };
	for (size_t i = 0; i < n; i++) {
		if (!st[i].s)
			continue;
		const unsigned long long v[] = { ss[i].queries, ss[i].hits, ss[i].failures,
			ss[i].refused };
		for (int k = 0; k < 4; k++)
			prom_sample(b, "pbxguard_users_store_lookups_total", (const char *const[]){
			    "service", st[i].service, "outcome", kinds[k], NULL }, (double)v[k]);
	}
}

static void
hook_http_metrics(void *arg, struct dbuf *b)
{
	struct daemon *d = arg;

	prom_family(b, "pbxguard_sip_requests_total", "counter", "SIP requests received.");
	prom_sample(b, "pbxguard_sip_requests_total", NULL, (double)d->sip.n_requests);
	prom_family(b, "pbxguard_sip_challenges_total", "counter", "SIP digest challenges sent.");
	prom_sample(b, "pbxguard_sip_challenges_total", NULL, (double)d->sip.n_challenges);
	prom_family(b, "pbxguard_sip_malformed_total", "counter", "SIP messages refused as malformed.");
	prom_sample(b, "pbxguard_sip_malformed_total", NULL, (double)d->sip.n_bad);
	prom_family(b, "pbxguard_sip_dropped_total", "counter",
	    "SIP packets dropped before parsing (bans, ACLs, floods).");
	prom_sample(b, "pbxguard_sip_dropped_total", NULL, (double)d->sip.n_dropped);
	prom_family(b, "pbxguard_sip_store_waits_total", "counter",
	    "SIP requests that waited for the credential store (an SQL lookup).");
	prom_sample(b, "pbxguard_sip_store_waits_total", NULL, (double)d->sip.n_parked);
	prom_family(b, "pbxguard_sip_store_unavailable_total", "counter",
	    "SIP requests answered 503 because the credential store could not answer.");
	prom_sample(b, "pbxguard_sip_store_unavailable_total", NULL, (double)d->sip.n_unavailable);
	if (d->store->ops->stats) {
		struct store_stats ss;
		d->store->ops->stats(d->store->impl, &ss);
		prom_family(b, "pbxguard_store_up", "gauge",
		    "1 when the credential database answered its last query.");
		prom_sample(b, "pbxguard_store_up", NULL, !ss.down);
		prom_family(b, "pbxguard_store_lookups_total", "counter",
		    "Credential lookups: sent to the database, answered from the cache, "
		    "failed, refused with the queue full.");
		const char *const kinds[] = { "query", "cached", "failed", "refused" };
		const unsigned long long n[] = { ss.queries, ss.hits, ss.failures, ss.refused };
		for (int i = 0; i < 4; i++)
			prom_sample(b, "pbxguard_store_lookups_total", (const char *const[]){
			    "outcome", kinds[i], NULL }, (double)n[i]);
	}
	prom_users_stores(b, d);
	if (d->cluster) {
		struct rstate_status rs;
		rstate_status(cluster_state(d->cluster), &rs);
		prom_family(b, "pbxguard_state_up", "gauge",
		    "1 when the shared state (Redis) is reachable.");
		prom_sample(b, "pbxguard_state_up", NULL, rs.up);
		prom_family(b, "pbxguard_state_outages_total", "counter",
		    "Times the shared state became unreachable.");
		prom_sample(b, "pbxguard_state_outages_total", NULL, (double)rs.outages);
		prom_family(b, "pbxguard_state_messages_total", "counter",
		    "Bans, unbans and registrations sent to and received from the other nodes.");
		prom_sample(b, "pbxguard_state_messages_total", (const char *const[]){
		    "direction", "sent", NULL }, (double)rs.published);
		prom_sample(b, "pbxguard_state_messages_total", (const char *const[]){
		    "direction", "received", NULL }, (double)rs.received);
		prom_family(b, "pbxguard_state_nonce_checks_total", "counter",
		    "Counts of shared nonces checked in the shared state.");
		prom_sample(b, "pbxguard_state_nonce_checks_total", NULL, (double)rs.nc_checks);
		prom_family(b, "pbxguard_state_remote_aors", "gauge",
		    "Addresses of record registered on other nodes, as known here.");
		prom_sample(b, "pbxguard_state_remote_aors", NULL,
		    (double)cluster_remote_count(d->cluster));
	}
	if (d->sip.proxy) {
		struct proxy_stats ps;
		size_t ntx, ndlg;
		proxy_stats(d->sip.proxy, &ps, &ntx, &ndlg);
		prom_family(b, "pbxguard_sip_to_node_total", "counter",
		    "Requests of the upstream's sent on to the node the phone is registered on.");
		prom_sample(b, "pbxguard_sip_to_node_total", NULL, (double)ps.to_node);
	}
	prom_family(b, "pbxguard_registered_aors", "gauge", "Addresses of record with a binding.");
	prom_sample(b, "pbxguard_registered_aors", (const char *const[]){ "protocol", "SIP", NULL },
	    (double)registrar_count(d->sip.reg));
	if (d->ami) {
		unsigned open, unauth;
		ami_server_sessions(d->ami, &open, &unauth);
		prom_family(b, "pbxguard_ami_sessions", "gauge", "AMI sessions open.");
		prom_sample(b, "pbxguard_ami_sessions", (const char *const[]){ "state",
		    "logged_in", NULL }, (double)(open - unauth));
		prom_sample(b, "pbxguard_ami_sessions", (const char *const[]){ "state",
		    "not_logged_in", NULL }, (double)unauth);
		if (d->cfg.ami.has_upstream) {
			const char *st = ami_server_upstream(d->ami);
			prom_family(b, "pbxguard_ami_upstream_up", "gauge",
			    "1 when logged in to the PBX's AMI.");
			prom_sample(b, "pbxguard_ami_upstream_up", NULL,
			    st && strcmp(st, "connected") == 0);
		}
	}
	if (d->iax) {
		struct iax_stats st;
		iax_server_stats(d->iax, &st);
		prom_sample(b, "pbxguard_registered_aors", (const char *const[]){ "protocol",
		    "IAX2", NULL }, (double)iax_server_each_reg(d->iax, time(NULL), NULL, NULL));
		prom_family(b, "pbxguard_iax2_frames_total", "counter", "IAX2 datagrams received.");
		prom_sample(b, "pbxguard_iax2_frames_total", NULL, (double)st.frames);
		prom_family(b, "pbxguard_iax2_malformed_total", "counter",
		    "IAX2 datagrams dropped as undecodable.");
		prom_sample(b, "pbxguard_iax2_malformed_total", NULL, (double)st.bad);
		prom_family(b, "pbxguard_iax2_calltokens_total", "counter", "Call tokens handed out.");
		prom_sample(b, "pbxguard_iax2_calltokens_total", NULL, (double)st.tokens_sent);
		prom_family(b, "pbxguard_iax2_refused_total", "counter",
		    "IAX2 requests refused before authentication.");
		prom_sample(b, "pbxguard_iax2_refused_total", (const char *const[]){ "why",
		    "calltoken", NULL }, (double)st.token_refused);
		prom_sample(b, "pbxguard_iax2_refused_total", (const char *const[]){ "why",
		    "callnumbers", NULL }, (double)st.limit_refused);
		prom_family(b, "pbxguard_iax2_calls", "gauge", "IAX2 call numbers in use.");
		prom_sample(b, "pbxguard_iax2_calls", NULL, (double)st.legs);
		prom_family(b, "pbxguard_iax2_relayed_calls_total", "counter",
		    "IAX2 calls relayed between a peer and the PBX.");
		prom_sample(b, "pbxguard_iax2_relayed_calls_total", NULL, (double)st.relayed_calls);
	}
	prom_family(b, "pbxguard_certificate_expiry_seconds", "gauge",
	    "When each TLS certificate expires (Unix time).");
	prom_cert(b, "SIP", d->tls);
	prom_cert(b, "AMI", d->ami_tls);
	prom_cert(b, "HTTP", d->http_tls);
}

static bool
start_http(struct daemon *d)
{
	struct http_hooks h = { d, hook_http_state, hook_http_metrics };
	struct store *users;
	char err[768];

	if (!d->cfg.http.enabled)
		return true;
	if (!open_users(&d->cfg, FRONT_HTTP, d->base, &users, err, sizeof(err))) {
		log_err("HTTP: %s", err);
		return false;
	}
	return (d->http = http_server_start(d->base, &d->cfg, d->guard, d->http_tls, &h, users))
	    != NULL;
}

static bool
start_iax2(struct daemon *d, bool ask)
{
	char err[512];

	if (!d->cfg.iax2.enabled)
		return true;
	if (!(d->keys = keyring_load(d->cfg.iax2.keydir, err, sizeof(err)))) {
		log_err("keys: %s", err);
		return false;
	}
	keys_log(d->keys, d->cfg.iax2.keydir);
	if (ask && !keys_prompt(d))
		return false;
	if (d->cfg.iax2.outkey[0] && !keyring_find(d->keys, slice_cstr(d->cfg.iax2.outkey), true))
		log_warn("[iax2] outkey %s: no %s/%s.key", d->cfg.iax2.outkey, d->cfg.iax2.keydir,
		    d->cfg.iax2.outkey);
	struct store *users;
	if (!open_users(&d->cfg, FRONT_IAX2, d->base, &users, err, sizeof(err))) {
		log_err("IAX2: %s", err);
		return false;
	}
	return (d->iax = iax_server_start(d->base, &d->cfg, d->guard, d->keys, users)) != NULL;
}

/* Bans from the state file, into the kernel when allowed; the control socket. */
static bool
start_bans(struct daemon *d)
{
	time_t now = time(NULL);
	bool fatal;

	if (!guard_load_state(d->guard, now))
		return false;
	if (d->cfg.bans_enabled) {
		size_t n = guard_bans_list(d->guard, now, NULL, 0);
		struct ban_info *bi = calloc(n ? n : 1, sizeof(*bi));
		if (!bi)
			return false;
		guard_bans_list(d->guard, now, bi, n);
		d->nft = nft_start(&d->cfg, bi, n, now, &fatal);
		free(bi);
		if (fatal)
			return false;
		if (d->nft)
			guard_set_enforcer(d->guard, nft_on_ban, d->nft);
	}
	if (d->cfg.state_url[0]) {
		char err[256];
		d->cluster = cluster_start(&d->cfg, d->base, d->guard, d->sip.reg,
		    d->nft ? nft_on_ban : NULL, d->nft, err, sizeof(err));
		if (!d->cluster) {
			log_err("%s", err);
			return false;
		}
		cluster_set_ready(d->cluster, wake_parked, d);
		cluster_route(d->cluster, d->sip.proxy);
	}
	return (d->ctl = control_start(d->base, d->cfg.control_socket, d->guard)) != NULL;
}

static int
print_errors(const struct config_errors *e)
{
	for (size_t i = 0; i < e->nwarn; i++)
		fprintf(stderr, "%s\n", e->warn[i]);
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "%s\n", e->msg[i]);
	return e->n ? 1 : 0;
}


/* --check: a file that did not load says why; one that did, its warnings. */
static bool
check_report(bool loaded, const char *err, char *const *warn, size_t nwarn)
{
	if (!loaded) {
		fprintf(stderr, "%s\n", err);
		return false;
	}
	for (size_t i = 0; i < nwarn; i++)
		fprintf(stderr, "warning: %s\n", warn[i]);
	if (err[0])
		fprintf(stderr, "warning: %s\n", err);
	return true;
}

static void
usage(void)
{
	fprintf(stderr, "usage: pbxguard serve [-c FILE] [--check] [-i] [-v]\n"
	    "  -i  ask on the terminal for the passcode of each IAX2 key that needs one\n");
}

int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "init-keys", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d;
	struct config_errors errs = { 0 };
	const char *path = NULL;
	bool check = false, verbose = false, ask_keys = false;
	char err[1024];
	int c, rc = 1;

	memset(&d, 0, sizeof(d));
	while ((c = getopt_long(argc, argv, "c:vih", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ask_keys = true;
			break;
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	bool ok = config_load(&d.cfg, path, &errs);
	if (check) {
		/* --check also loads the credential store: its errors count too. */
		if (ok && !d.cfg.embedded) {
			struct redis_url ru;
			if (d.cfg.state_url[0] &&
			    !redis_url_parse(d.cfg.state_url, &ru, err, sizeof(err))) {
				fprintf(stderr, "%s: %s\n", d.cfg.source, err);
				ok = false;
			}
			struct store *s = open_store(&d.cfg, NULL, err, sizeof(err));
			if (!s) {
				fprintf(stderr, "%s\n", err);
				ok = false;
			}
			store_free(s);
			if (!start_tls(&d, false))
				ok = false;
			/* The AMI, IAX2 and web requests: compiled and prepared once. */
			for (enum front f = FRONT_AMI; f <= FRONT_HTTP; f++) {
				struct store *us;
				if (!open_users(&d.cfg, f, NULL, &us, err, sizeof(err))) {
					fprintf(stderr, "%s\n", err);
					ok = false;
				}
				store_free(us);
			}
			if (d.cfg.ami.enabled && !d.cfg.ami.sql_request[0]) {
				err[0] = '\0';
				struct mgr_users *u = mgr_users_load(d.cfg.ami.users, &d.cfg, err,
				    sizeof(err));
				ok &= check_report(u != NULL, err, u ? u->warn : NULL, u ? u->nwarn : 0);
				mgr_users_free(u);
			}
			if (d.cfg.iax2.enabled) {
				err[0] = '\0';
				struct iax_users *u = d.cfg.iax2.sql_request[0] ? calloc(1, sizeof(*u))
				    : iax_users_load(d.cfg.iax2.users, &d.cfg, err, sizeof(err));
				ok &= check_report(u != NULL, err, u ? u->warn : NULL, u ? u->nwarn : 0);
				iax_users_free(u);
				err[0] = '\0';
				struct keyring *r = keyring_load(d.cfg.iax2.keydir, err, sizeof(err));
				ok &= check_report(r != NULL, err, r ? r->warn : NULL, r ? r->nwarn : 0);
				keyring_free(r);
			}
			if (d.cfg.http.enabled && !d.cfg.http.sql_request[0] &&
			    access(d.cfg.http.user_file, F_OK) == 0) {
				err[0] = '\0';
				struct htp_users *u = htp_load(d.cfg.http.user_file, err, sizeof(err));
				ok &= check_report(u != NULL, err, u ? u->warn : NULL, u ? u->nwarn : 0);
				htp_free(u);
			}
		}
		rc = print_errors(&errs) || !ok ? 1 : 0;
		if (rc == 0)
			printf("%s: configuration OK\n", d.cfg.source);
		goto out;
	}
	print_errors(&errs);
	if (!ok)
		goto out;
	log_set_level(verbose ? LOG_DEBUG : (enum log_level)d.cfg.log_level);

	if (mkdir_parents(d.cfg.statedir, 0700) < 0) {
		log_err("cannot create state directory %s: %s", d.cfg.statedir, strerror(errno));
		goto out;
	}
	if (d.cfg.embedded && demo_prepare(&d.cfg) < 0)
		goto out;
	if (web_admin_prepare(&d.cfg) < 0)
		goto out;
	if (!secevent_open(d.cfg.security_log))
		log_warn("cannot open security log %s: %s (events go to this log only)",
		    d.cfg.security_log, strerror(errno));
	if (!(d.base = event_base_new()))
		goto out;
	if (!(d.store = open_store(&d.cfg, d.base, err, sizeof(err)))) {
		log_err("%s", err);
		log_err("not starting: fix the credential store (pbxguard serve --check -c FILE "
		    "lists problems)");
		goto out;
	}
	if (!(d.guard = guard_new(&d.cfg, d.store)) || !sip_server_init(&d.sip, &d.cfg, d.guard)) {
		log_err("out of memory");
		goto out;
	}
	if (!(d.resume = event_new(d.base, -1, 0, on_resume, &d))) {
		log_err("out of memory");
		goto out;
	}
	store_set_ready(d.store, wake_parked, &d);
	if (!start_bans(&d) || !start_tls(&d, true))
		goto out;
	if (!(d.tp = sip_transports_start(d.base, &d.sip, &d.cfg, d.tls, d.cfg.embedded)))
		goto out;
	if (!start_ami(&d) || !start_http(&d) || !start_iax2(&d, ask_keys))
		goto out;
	control_set_hook(d.ctl, hook_control, &d);
	size_t naccounts = d.store->ops->count(d.store->impl);
	if (strcmp(d.cfg.db_implementation, "sql") == 0)
		log_notice("pbxguard ready: configuration %s, accounts in %s, security events to %s",
		    d.cfg.source, d.store->where, d.cfg.security_log);
	else
		log_notice("pbxguard ready: configuration %s, %zu account%s from %s, security "
		    "events to %s", d.cfg.source, naccounts, naccounts == 1 ? "" : "s",
		    d.cfg.file_path, d.cfg.security_log);

	int signums[3] = { SIGINT, SIGTERM, SIGHUP };
	for (int i = 0; i < 3; i++) {
		d.sigs[i] = evsignal_new(d.base, signums[i], on_signal, &d);
		if (!d.sigs[i] || event_add(d.sigs[i], NULL) < 0)
			goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	bool wfatal;
	d.watch = watchd_start(&d.cfg, d.base, d.guard, &wfatal);
	if (wfatal)
		goto out;
	d.tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
	struct timeval two = { 2, 0 };
	if (!d.tick || event_add(d.tick, &two) < 0)
		goto out;

	event_base_dispatch(d.base);
	log_notice("stopped: %llu requests, %llu authenticated, %llu refused, %llu challenges, "
	    "%llu malformed, %llu dropped before parsing", (unsigned long long)d.sip.n_requests,
	    (unsigned long long)d.sip.n_auth_ok, (unsigned long long)d.sip.n_auth_fail,
	    (unsigned long long)d.sip.n_challenges, (unsigned long long)d.sip.n_bad,
	    (unsigned long long)d.sip.n_dropped);
	if (d.sip.proxy) {
		struct proxy_stats ps;
		size_t ntx, ndlg;
		proxy_stats(d.sip.proxy, &ps, &ntx, &ndlg);
		log_notice("proxy: %llu requests forwarded, %llu responses relayed, %llu loops, "
		    "%llu too many hops, %llu outside any dialog, %llu in another's dialog, "
		    "%llu timeouts, %llu failovers, %llu unreachable; %zu transactions and %zu "
		    "dialogs open", (unsigned long long)ps.forwarded, (unsigned long long)ps.relayed,
		    (unsigned long long)ps.loops, (unsigned long long)ps.too_many_hops,
		    (unsigned long long)ps.no_dialog, (unsigned long long)ps.not_yours,
		    (unsigned long long)ps.timeouts, (unsigned long long)ps.failovers,
		    (unsigned long long)ps.unreachable, ntx, ndlg);
	}
	if (d.iax) {
		struct iax_stats st;
		iax_server_stats(d.iax, &st);
		log_notice("iax2: %llu frames, %llu undecodable, %llu call tokens given, %llu refused "
		    "for the token, %llu for call numbers; %llu registrations and %llu calls let in, "
		    "%llu and %llu refused; %llu calls relayed; %zu call numbers in use",
		    (unsigned long long)st.frames, (unsigned long long)st.bad,
		    (unsigned long long)st.tokens_sent, (unsigned long long)st.token_refused,
		    (unsigned long long)st.limit_refused, (unsigned long long)st.reg_ok,
		    (unsigned long long)st.call_ok, (unsigned long long)st.reg_fail,
		    (unsigned long long)st.call_fail, (unsigned long long)st.relayed_calls, st.legs);
	}
	rc = 0;
out:
	if (d.guard)
		guard_save_state(d.guard, time(NULL));
	watchd_stop(d.watch);
	cluster_stop(d.cluster);
	nft_stop(d.nft);
	control_stop(d.ctl);
	http_server_stop(d.http);
	iax_server_stop(d.iax);
	keyring_free(d.keys);
	ami_server_stop(d.ami);
	sip_transports_stop(d.tp);
	SSL_CTX_free(d.tls);
	SSL_CTX_free(d.ami_tls);
	SSL_CTX_free(d.http_tls);
	for (int i = 0; i < 3; i++)
		if (d.sigs[i])
			event_free(d.sigs[i]);
	if (d.tick)
		event_free(d.tick);
	if (d.resume)
		event_free(d.resume);
	if (d.base)
		event_base_free(d.base);
	sip_server_destroy(&d.sip);
	guard_free(d.guard);
	store_free(d.store);
	secevent_close();
	config_free(&d.cfg);
	config_errors_free(&errs);
	return rc;
}
