#include "guard/guard.h"
#include "guard/credcache.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/atomicfile.h"
#include "core/log.h"
#include "core/rand.h"
#include "guard/acl.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct guard {
	const struct config *cfg;
	struct store *store;
	struct nonce_ctx nonces;
	struct guard_nonce_share ncshare;	/* shared nonces' counts */
	struct bans *bans;
	pcre2_code *subject_re;		/* tls-client-certificate-required-subject */
	pcre2_match_data *subject_md;
	bans_hook enforcer;
	void *enforcer_arg;
	/* Unknown accounts are verified against this, so they cost the same. */
	char dummy_ha1[DIGEST_NALGOS][DIGEST_MAX_HEX + 1];
	struct credcache *webcache;	/* verified web credentials */
	/* The hash of the last known web user looked up: what a name no table
	 * holds is checked against when the table has nobody else (users that
	 * come one at a time from SQL), so it costs the same. */
	char web_standin[HTP_MAX_HASH];
	/* Counted for the admin page and the metrics. */
	uint64_t auth_ok[GUARD_NSERVICES], auth_fail[GUARD_NSERVICES];
	uint32_t hist[GUARD_HIST_MINUTES];	/* failures per minute, a ring */
	time_t hist_minute;			/* the minute of the newest bucket */
};

static const char *const service_names[GUARD_NSERVICES] = { "SIP", "AMI", "HTTP", "IAX2",
	"other" };

/* Every ban started or lifted: a log line, a security event, the kernel. */
static void
on_ban(void *arg, const struct ban_info *bi, enum ban_change what, time_t now, const char *why)
{
	bool added = what == BAN_STARTED;
	struct guard *g = arg;
	char as[IPKEY_STRLEN];
	struct addr a;
	unsigned secs = added && bi->until > now ? (unsigned)(bi->until - now) : 0;

	ipkey_str(&bi->addr, as, sizeof(as));
	if (added)
		log_notice("ban: %s for %u s (%s; ban number %u)", as, secs, why, bi->count);
	else
		log_notice("unban: %s (%s)", as, why);
	ipkey_to_addr(&bi->addr, &a);
	struct secevent ev = {
		.type = added ? SECEVENT_BAN : SECEVENT_UNBAN,
		.service = "pbxguard",
		.remote = &a,
		.ban_seconds = secs,
		.reason = why,
	};
	secevent_emit(&ev);
	if (g->enforcer)
		g->enforcer(g->enforcer_arg, bi, what, now, why);
}

struct guard *
guard_new(const struct config *cfg, struct store *store)
{
	struct guard *g = calloc(1, sizeof(*g));
	uint8_t r[32];

	if (!g)
		return NULL;
	if (!(g->bans = bans_new(cfg))) {
		free(g);
		return NULL;
	}
	if (!nonce_ctx_init(&g->nonces, NULL, cfg->nonce_expires, cfg->nonce_table)) {
		bans_free(g->bans);
		free(g);
		return NULL;
	}
	bans_set_hook(g->bans, on_ban, g);
	if (cfg->cert_subject_regex[0]) {
		int ecode;
		PCRE2_SIZE eoff;
		g->subject_re = pcre2_compile((PCRE2_SPTR)cfg->cert_subject_regex,
		    PCRE2_ZERO_TERMINATED, 0, &ecode, &eoff, NULL);
		if (!g->subject_re ||
		    !(g->subject_md = pcre2_match_data_create_from_pattern(g->subject_re, NULL))) {
			guard_free(g); /* the config check compiled it: only memory fails */
			return NULL;
		}
	}
	g->cfg = cfg;
	g->store = store;
	for (int a = 0; a < DIGEST_NALGOS; a++) {
		rand_bytes(r, sizeof(r));
		hex_encode(r, digest_hex_len((enum digest_algo)a) / 2, g->dummy_ha1[a]);
	}
	if (cfg->http.enabled && cfg->http.cache_timeout &&
	    !(g->webcache = credcache_new(cfg->http.cache_entries, cfg->http.cache_timeout))) {
		guard_free(g);
		return NULL;
	}
	return g;
}

void
guard_free(struct guard *g)
{
	if (!g)
		return;
	credcache_free(g->webcache);
	nonce_ctx_free(&g->nonces);
	bans_free(g->bans);
	pcre2_match_data_free(g->subject_md);
	pcre2_code_free(g->subject_re);
	OPENSSL_cleanse(g, sizeof(*g));
	free(g);
}

enum guard_admit
guard_admit(struct guard *g, const struct guard_source *src, time_t now)
{
	const struct config *cfg = g->cfg;
	struct ipkey k;

	ipkey_from_addr(src->remote, &k);
	if (src->acl != CONFIG_NO_ACL && !acl_allows(&cfg->acls[src->acl], &k))
		return GUARD_DROP;
	/* The PBX behind us and the other nodes are trusted: their traffic is
	 * never counted or banned. */
	if (!cfg->bans_enabled || bans_ignored(g->bans, &k) || guard_upstream(g, src->remote) >= 0 ||
	    guard_cluster_node(g, src->remote))
		return GUARD_ADMIT;
	if (bans_check(g->bans, &k, now) || bans_request(g->bans, &k, now))
		return GUARD_DROP;
	return GUARD_ADMIT;
}

enum guard_admit
guard_banned(struct guard *g, const struct guard_source *src, time_t now)
{
	const struct config *cfg = g->cfg;
	struct ipkey k;

	ipkey_from_addr(src->remote, &k);
	if (src->acl != CONFIG_NO_ACL && !acl_allows(&cfg->acls[src->acl], &k))
		return GUARD_DROP;
	if (!cfg->bans_enabled || bans_ignored(g->bans, &k))
		return GUARD_ADMIT;
	return bans_check(g->bans, &k, now) ? GUARD_DROP : GUARD_ADMIT;
}

static bool
is_scanner(const struct config *cfg, struct slice ua)
{
	for (size_t i = 0; i < cfg->n_scanner_agents; i++) {
		const char *name = cfg->scanner_agents[i];
		size_t n = strlen(name);
		for (size_t j = 0; j + n <= ua.n; j++)
			if (strncasecmp(ua.p + j, name, n) == 0)
				return true;
	}
	return false;
}

enum guard_admit
guard_user_agent(struct guard *g, const struct guard_source *src, struct slice user_agent,
    time_t now)
{
	struct ipkey k;

	if (!g->cfg->bans_enabled || !user_agent.n || !is_scanner(g->cfg, user_agent))
		return GUARD_ADMIT;
	ipkey_from_addr(src->remote, &k);
	if (bans_ignored(g->bans, &k) || guard_upstream(g, src->remote) >= 0 ||
	    guard_cluster_node(g, src->remote))
		return GUARD_ADMIT;
	char as[IPKEY_STRLEN], ua[LOG_ESCAPED_SIZE(64)];
	log_info("%s: scanner User-Agent '%s' (a strike toward a ban)",
	    ipkey_str(&k, as, sizeof(as)), log_escape(user_agent, ua, sizeof(ua)));
	return bans_fail(g->bans, &k, now) ? GUARD_DROP : GUARD_ADMIT;
}

int
guard_upstream(const struct guard *g, const struct addr *a)
{
	for (size_t i = 0; i < g->cfg->n_upstreams; i++)
		if (addr_equal(&g->cfg->upstreams[i].addr, a))
			return (int)i;
	return -1;
}

bool
guard_cluster_node(const struct guard *g, const struct addr *a)
{
	struct ipkey k;
	if (!g->cfg->n_cluster_nodes)
		return false;
	ipkey_from_addr(a, &k);
	for (size_t i = 0; i < g->cfg->n_cluster_nodes; i++)
		if (ipkey_eq(&g->cfg->cluster_nodes[i], &k))
			return true;
	return false;
}

struct slice
guard_realm(const struct guard *g, struct slice domain, char *buf, size_t bufsz)
{
	if (g->cfg->realm[0])
		return slice_cstr(g->cfg->realm);
	if (slice_copy_lower(domain, buf, bufsz))
		return slice_cstr(buf);
	return SLICE_NULL;
}

/*
 * Every store is asked for the From user %XX-decoded (RFC 3261 19.1.4: a
 * URI's user compares unescaped; Flexisip decodes :id the same way). A bad
 * escape or %00 is no account's name: NOT_FOUND without asking.
 */
static enum store_result
lookup(struct guard *g, struct slice user, struct slice domain, struct slice realm,
    struct slice authid, struct account *out)
{
	char name[ACCOUNT_USERID_MAX * 2];

	if (!slice_pct_decode(user, name, sizeof(name), NULL)) {
		memset(out, 0, sizeof(*out));
		return STORE_NOT_FOUND;
	}
	struct store_query q = { slice_cstr(name), domain, realm, authid.p ? authid :
		slice_cstr(name) };
	return store_query(g->store, &q, out);
}

bool
guard_account_known(struct guard *g, struct slice user, struct slice domain)
{
	struct account acct;
	/* Routing only (404 or 480): a store that cannot say counts as known. */
	enum store_result r = lookup(g, user, domain, domain, SLICE_NULL, &acct);
	account_wipe(&acct);
	return r != STORE_NOT_FOUND;
}

bool
guard_domain_allowed(const struct guard *g, struct slice domain)
{
	char d[256];

	if (!slice_copy(domain, d, sizeof(d)))
		return false;
	for (size_t i = 0; i < g->cfg->n_auth_domains; i++)
		if (fnmatch(g->cfg->auth_domains[i], d, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

void
guard_refresh(struct guard *g, bool force)
{
	if (g->store->ops->refresh)
		g->store->ops->refresh(g->store->impl, force);
}

static void
make_challenge(struct guard *g, const struct guard_auth_request *rq, struct slice realm,
    const struct digest_alg *algs, size_t nalgs, bool stale, struct guard_verdict *v)
{
	struct guard_challenge *ch = &v->ch;

	slice_copy(realm, ch->realm, sizeof(ch->realm));
	nonce_make(&g->nonces, rq->now, realm, ch->nonce);
	memcpy(ch->algs, algs, nalgs * sizeof(*algs));
	ch->nalgs = nalgs;
	ch->qop = !g->cfg->disable_qop_auth;
	ch->stale = stale;
}

static void
set_event(struct guard_verdict *v, enum secevent_type t, const struct guard_auth_request *rq,
    const struct guard_proof *p)
{
	v->has_event = true;
	v->event = t;
	v->account = p && p->username.n ? p->username : rq->user;
	if (p) {
		v->received_nonce = p->nonce;
		v->received_hash = p->response;
	}
}

/*
 * An existing account's address policy: its ACL group, then the lock that
 * a distributed attack put on it. NULL when the source may use it, else the
 * name for the FailedACL event. Also records the account's name in v.
 */
static const char *
account_policy(struct guard *g, const struct guard_auth_request *rq,
    const struct account *acct, struct guard_verdict *v)
{
	char u[LOG_ESCAPED_SIZE(64)];
	struct ipkey k;

	/* "user@domain", the domain lower-cased as everywhere else. */
	int n = snprintf(v->acct, sizeof(v->acct), "%.*s@", (int)rq->user.n, rq->user.p);
	v->known = n > 0 && (size_t)n < sizeof(v->acct) &&
	    slice_copy_lower(rq->domain, v->acct + n, sizeof(v->acct) - (size_t)n);
	if (!rq->src)
		return NULL;
	ipkey_from_addr(rq->src->remote, &k);
	if (acct->acl[0]) {
		int i = config_find_acl(g->cfg, slice_cstr(acct->acl));
		if (i == CONFIG_NO_ACL) {
			log_warn("%s: acl:%s names no [acl:%s] section: refused",
			    log_escape(slice_cstr(v->acct), u, sizeof(u)), acct->acl, acct->acl);
			return acct->acl;
		}
		if (!acl_allows(&g->cfg->acls[i], &k))
			return g->cfg->acls[i].name;
	}
	if (v->known && g->cfg->bans_enabled &&
	    bans_account_locked(g->bans, slice_cstr(v->acct), &k, rq->now))
		return "account-lock";
	return NULL;
}

/* Is subject the SIP URI user@domain? The user exactly, the host in any case. */
static bool
subject_is_uri(const char *subject, struct slice user, struct slice domain)
{
	struct slice s = slice_cstr(subject), rest;
	struct slice scheme = slice_cut(s, ':', &rest);
	if (!slice_caseeq_cstr(scheme, "sip") && !slice_caseeq_cstr(scheme, "sips"))
		return false;
	long at = slice_find(rest, '@');
	if (at < 0)
		return false;
	struct slice u = slice_sub(rest, 0, (size_t)at), h = slice_sub(rest, (size_t)at + 1, rest.n);
	return slice_eq(u, user) && slice_caseeq(h, domain);
}

/*
 * Flexisip's TLS authentication rules, in order: the From URI; (not
 * REGISTER) a trusted-client-certificates URI; the From domain; (not
 * REGISTER, trust-domain-certificates) the Request-URI's domain. The subject
 * so picked must match tls-client-certificate-required-subject when set.
 * Returns the subject, or NULL.
 */
static const char *
certificate_subject(struct guard *g, const struct guard_auth_request *rq)
{
	const struct config *cfg = g->cfg;
	const struct tls_subjects *t = rq->peer;
	bool reg = slice_eq_cstr(rq->method, "REGISTER");
	const char *picked = NULL;

	for (size_t i = 0; !picked && i < t->n; i++)
		if (subject_is_uri(t->s[i], rq->user, rq->domain))
			picked = t->s[i];
	for (size_t i = 0; !picked && !reg && i < t->n; i++)
		for (size_t k = 0; k < cfg->n_trusted_certs; k++)
			if (strcasecmp(t->s[i], cfg->trusted_certs[k]) == 0)
				picked = t->s[i];
	for (size_t i = 0; !picked && i < t->n; i++)
		if (slice_caseeq(slice_cstr(t->s[i]), rq->domain))
			picked = t->s[i];
	for (size_t i = 0; !picked && !reg && cfg->trust_domain_certs && i < t->n; i++)
		if (slice_caseeq(slice_cstr(t->s[i]), rq->target_domain))
			picked = t->s[i];
	if (picked && g->subject_re &&
	    pcre2_match(g->subject_re, (PCRE2_SPTR)picked, strlen(picked), 0, 0,
	    g->subject_md, NULL) < 0)
		picked = NULL;
	return picked;
}

/* The credential to verify: ours (realm), offered, strongest; -1 if none. */
static int
pick_proof(const struct guard_auth_request *rq, struct slice realm,
    const struct digest_alg *offered, size_t noffered, struct digest_alg *alg)
{
	int best = -1;

	for (size_t i = 0; i < rq->nproofs; i++) {
		const struct guard_proof *p = &rq->proofs[i];
		struct digest_alg a = { DIGEST_MD5, false };
		if (!slice_eq(p->realm, realm))
			continue; /* for another hop */
		if (p->algorithm.n && !digest_alg_parse(p->algorithm, &a))
			continue;
		bool ok = false;
		for (size_t k = 0; k < noffered; k++)
			ok |= offered[k].algo == a.algo && offered[k].sess == a.sess;
		if (!ok)
			continue;
		if (best < 0 || a.algo > alg->algo) {
			best = (int)i;
			*alg = a;
		}
	}
	return best;
}

/* The name the credentials for our realm carry (Flexisip's :authid), or
 * NULL (the From user) when there are none yet. */
static struct slice
proof_name(const struct guard_auth_request *rq, struct slice realm)
{
	for (size_t i = 0; i < rq->nproofs; i++)
		if (slice_eq(rq->proofs[i].realm, realm) && rq->proofs[i].username.n)
			return rq->proofs[i].username;
	return SLICE_NULL;
}

/* Field checks shared by every algorithm; NULL if fine, else the reason. */
static const char *
check_proof(const struct guard *g, const struct guard_proof *p, struct digest_alg alg,
    bool *rfc2069)
{
	*rfc2069 = false;
	if (!p->username.n || !p->nonce.n || !p->uri.n || !p->response.n)
		return "Authorization lacks username, nonce, uri or response";
	if (p->response.n != digest_hex_len(alg.algo) || !slice_is_hex(p->response))
		return "malformed digest response";
	if (!p->qop.n) {
		if (alg.sess)
			return "-sess algorithm without qop";
		*rfc2069 = true;
		return NULL;
	}
	if (!slice_caseeq_cstr(p->qop, "auth") && !slice_caseeq_cstr(p->qop, "auth-int"))
		return "unsupported qop";
	if (!p->nc.n && !p->cnonce.n && g->cfg->disable_qop_auth && !alg.sess) {
		/* qop sent although none was offered (svcrack does): RFC 2069 form. */
		*rfc2069 = true;
		return NULL;
	}
	if (p->nc.n != 8 || !slice_is_hex(p->nc) || !p->cnonce.n)
		return "qop without a valid nc and cnonce";
	return NULL;
}

void
guard_authenticate(struct guard *g, const struct guard_auth_request *rq,
    struct guard_verdict *v)
{
	const struct config *cfg = g->cfg;
	struct digest_alg offered[CONFIG_MAX_ALGOS], alg = { DIGEST_MD5, false };
	struct account acct;
	struct slice realm;
	size_t noffered = 0;
	bool known;

	memset(v, 0, sizeof(*v));
	v->now = rq->now;
	if (!cfg->auth_enabled) {
		v->outcome = GUARD_OK;
		return;
	}
	if (!guard_domain_allowed(g, rq->domain)) {
		v->outcome = GUARD_DOMAIN_REFUSED;
		v->reason = "Domain forbidden";
		v->strike = true;
		set_event(v, SECEVENT_INVALID_ACCOUNT_ID, rq, NULL);
		return;
	}
	/* TLS authentication comes first, when a verified certificate was shown. */
	if (rq->peer && rq->peer->n) {
		const char *subject = certificate_subject(g, rq);
		if (subject) {
			/* A certificate proves who, not from where: the account's ACL
			 * group and lock apply as they do to a password. */
			struct account ca;
			const char *policy = NULL;
			enum store_result sr = lookup(g, rq->user, rq->domain, rq->domain, SLICE_NULL,
			    &ca);
			if (sr == STORE_PENDING || sr == STORE_UNAVAILABLE) {
				/* The account's ACL is not known yet: no decision without it. */
				v->outcome = sr == STORE_PENDING ? GUARD_PENDING : GUARD_UNAVAILABLE;
				v->reason = "credential store unavailable";
				return;
			}
			if (sr == STORE_FOUND)
				policy = account_policy(g, rq, &ca, v);
			if (policy) {
				v->outcome = GUARD_FORBIDDEN;
				v->reason = "Forbidden";
				v->strike = true;
				set_event(v, SECEVENT_FAILED_ACL, rq, NULL);
				snprintf(v->acl_name, sizeof(v->acl_name), "%s", policy);
			}
			account_wipe(&ca);
			if (policy)
				return;
			v->outcome = GUARD_OK;
			snprintf(v->cert_subject, sizeof(v->cert_subject), "%s", subject);
			set_event(v, SECEVENT_SUCCESSFUL_AUTH, rq, NULL);
			return;
		}
		if (cfg->reject_wrong_certs) {
			v->outcome = GUARD_FORBIDDEN;
			v->reason = "Bad tls client certificate";
			v->strike = true;
			set_event(v, SECEVENT_FAILED_ACL, rq, NULL);
			snprintf(v->acl_name, sizeof(v->acl_name), "tls-client-certificate");
			return;
		}
	}
	/*
	 * Default realm: the domain, lower-cased, as stored A1s were made with
	 * it (RFC 3261 19.1.4: host names compare case-insensitively).
	 */
	char realmbuf[256];
	realm = guard_realm(g, rq->domain, realmbuf, sizeof(realmbuf));
	if (!realm.p) { /* cannot happen: guard_domain_allowed() copied it into 256 bytes */
		v->outcome = GUARD_DOMAIN_REFUSED;
		v->reason = "Domain forbidden";
		return;
	}

	switch (lookup(g, rq->user, rq->domain, realm, proof_name(rq, realm), &acct)) {
	case STORE_FOUND:
		known = true;
		break;
	case STORE_NOT_FOUND:
		known = false;
		break;
	case STORE_PENDING:
		v->outcome = GUARD_PENDING;
		return;
	default:
		v->outcome = GUARD_UNAVAILABLE;
		v->reason = "credential store unavailable";
		return;
	}

	const char *policy = known ? account_policy(g, rq, &acct, v) : NULL;

	/* Flexisip: what is stored decides what can be offered. */
	for (size_t i = 0; i < cfg->n_algos; i++)
		if (!known || acct.has_clrtxt || acct.has_ha1[cfg->algos[i].algo])
			offered[noffered++] = cfg->algos[i];
	if (noffered == 0) {
		char u[LOG_ESCAPED_SIZE(64)], d[LOG_ESCAPED_SIZE(64)];
		log_warn("%s@%s has no stored hash for any of available-algorithms; refused",
		    log_escape(rq->user, u, sizeof(u)), log_escape(rq->domain, d, sizeof(d)));
		v->outcome = GUARD_FORBIDDEN;
		v->reason = "Forbidden";
		set_event(v, SECEVENT_INVALID_ACCOUNT_ID, rq, NULL);
		goto out;
	}

	int pi = pick_proof(rq, realm, offered, noffered, &alg);
	if (pi < 0) {
		v->outcome = GUARD_CHALLENGE;
		make_challenge(g, rq, realm, offered, noffered, false, v);
		goto out;
	}
	const struct guard_proof *p = &rq->proofs[pi];
	bool rfc2069;
	const char *bad = check_proof(g, p, alg, &rfc2069);
	if (bad) {
		guard_malformed(g, p->username.n ? p->username : rq->user,
		    SLICE_LIT("Authorization"), bad, v);
		goto out;
	}

	struct nonce_info ni;
	enum nonce_status ns = nonce_check(&g->nonces, rq->now, realm, p->nonce, &ni);
	if (ns == NONCE_INVALID) {
		/* Not a nonce of ours (or another realm's): a fresh challenge. */
		v->outcome = GUARD_CHALLENGE;
		make_challenge(g, rq, realm, offered, noffered, false, v);
		goto out;
	}

	/*
	 * HA1: stored, or from the clear text, or the dummy for unknown users.
	 * Every path hashes once here, so none of them is measurably faster.
	 */
	char ha1[DIGEST_MAX_HEX + 1], want[DIGEST_MAX_HEX + 1];
	bool name_ok = known && slice_eq(p->username, slice_cstr(acct.userid));
	bool from_clear = known && acct.has_clrtxt &&
	    (!acct.has_ha1[alg.algo] || cfg->realm[0]);
	digest_ha1(alg.algo, p->username, realm,
	    from_clear ? slice_cstr(acct.clrtxt) : slice_cstr(g->dummy_ha1[alg.algo]), ha1);
	if (!from_clear)
		memcpy(ha1, known && acct.has_ha1[alg.algo] ? acct.ha1[alg.algo]
		    : g->dummy_ha1[alg.algo], sizeof(ha1));

	struct digest_input in = {
		.alg = alg, .ha1 = slice_cstr(ha1), .nonce = p->nonce,
		.cnonce = rfc2069 ? SLICE_NULL : p->cnonce, .nc = rfc2069 ? SLICE_NULL : p->nc,
		.qop = rfc2069 ? SLICE_NULL : p->qop, .method = rq->method, .uri = p->uri,
		.body = rq->body,
	};
	digest_response(&in, want);
	bool match = ct_hex_equal(slice_cstr(want), p->response) & name_ok;
	OPENSSL_cleanse(ha1, sizeof(ha1));
	OPENSSL_cleanse(want, sizeof(want));

	if (!match || policy) {
		/* Refused by policy: on the wire exactly like a wrong password. */
		v->outcome = GUARD_FORBIDDEN;
		v->reason = "Forbidden";
		v->strike = true;
		if (match) {
			set_event(v, SECEVENT_FAILED_ACL, rq, p);
			snprintf(v->acl_name, sizeof(v->acl_name), "%s", policy);
		} else {
			set_event(v, known && name_ok ? SECEVENT_CHALLENGE_RESPONSE_FAILED
			    : SECEVENT_INVALID_ACCOUNT_ID, rq, p);
		}
		if (cfg->no_403) {
			v->challenge_too = true;
			make_challenge(g, rq, realm, offered, noffered, false, v);
		}
		goto out;
	}
	if (ns == NONCE_EXPIRED) {
		v->outcome = GUARD_CHALLENGE;
		make_challenge(g, rq, realm, offered, noffered, true, v);
		goto out;
	}
	uint64_t nc = 0;
	if (!rfc2069)
		slice_hex_to_u64(p->nc, UINT32_MAX, &nc);
	enum nc_status ncs = !ni.shared ? nonce_use(&g->nonces, rq->now, &ni, (uint32_t)nc,
	    rq->reqhash) : g->ncshare.use ? g->ncshare.use(g->ncshare.arg, &ni, (uint32_t)nc,
	    rq->reqhash, rq->now) : NC_UNAVAILABLE;
	switch (ncs) {
	case NC_OK:
		v->outcome = GUARD_OK;
		v->alg = alg;
		set_event(v, SECEVENT_SUCCESSFUL_AUTH, rq, p);
		break;
	case NC_RETRANSMIT:
		v->outcome = GUARD_OK; /* answered again, reported once */
		break;
	case NC_REPLAY:
	case NC_FORGOTTEN:
		/* Right password, used-up nonce: the client needs a new one. */
		log_info("nonce-count not increasing (replay or reuse): asking for a new nonce");
		v->outcome = GUARD_CHALLENGE;
		make_challenge(g, rq, realm, offered, noffered, true, v);
		break;
	case NC_PENDING:
		v->outcome = GUARD_PENDING; /* the shared state is asked */
		break;
	case NC_UNAVAILABLE:
		/* Nobody can say whether another node took this count: a nonce of
		 * this node's own, whose counts only this node keeps. */
		log_info("shared nonce while the shared state is away: asking for a new nonce");
		v->outcome = GUARD_CHALLENGE;
		make_challenge(g, rq, realm, offered, noffered, true, v);
		break;
	}
out:
	account_wipe(&acct);
}

void
guard_malformed(struct guard *g, struct slice account, struct slice what, const char *why,
    struct guard_verdict *v)
{
	(void)g;
	memset(v, 0, sizeof(*v));
	v->outcome = GUARD_BAD_REQUEST;
	v->reason = why;
	/* Garbled credentials are a failed login; other garbage is not. */
	v->strike = slice_eq_cstr(what, "Authorization");
	v->has_event = true;
	v->event = SECEVENT_REQUEST_BAD_FORMAT;
	v->account = account;
	v->request_type = what;
}

/* Guesses (strikes) and successes, to the ban engine. A refusal that guessed
 * nothing (a right password Require leaves out, an account with no usable
 * hash) counts toward neither the source's ban nor the account's lock. */
static void
count_outcome(struct guard *g, const struct guard_source *src, const struct guard_verdict *v)
{
	struct ipkey k;
	char u[LOG_ESCAPED_SIZE(64)], as[IPKEY_STRLEN];

	if (!g->cfg->bans_enabled)
		return;
	ipkey_from_addr(src->remote, &k);
	if (bans_ignored(g->bans, &k))
		return;
	if (v->strike)
		bans_fail(g->bans, &k, v->now);
	if (!v->known)
		return;
	struct slice acct = slice_cstr(v->acct);
	if (v->outcome == GUARD_OK)
		bans_account_ok(g->bans, acct, &k, v->now);
	else if (v->outcome == GUARD_FORBIDDEN && v->strike &&
	    bans_account_fail(g->bans, acct, &k, v->now))
		log_notice("account %s locked for %u s for addresses it never logged in from: "
		    "%u failures in %u s, the latest from %s", log_escape(acct, u, sizeof(u)),
		    g->cfg->account_locktime, g->cfg->account_maxretry, g->cfg->account_findtime,
		    ipkey_str(&k, as, sizeof(as)));
}

/* Move the ring to this minute, emptying the minutes nobody failed in. */
static void
hist_advance(struct guard *g, time_t now)
{
	time_t m = now / 60;
	if (g->hist_minute == 0 || m - g->hist_minute >= GUARD_HIST_MINUTES) {
		memset(g->hist, 0, sizeof(g->hist));
	} else {
		for (time_t t = g->hist_minute + 1; t <= m; t++)
			g->hist[t % GUARD_HIST_MINUTES] = 0;
	}
	if (m > g->hist_minute)
		g->hist_minute = m;
}

static void
tally(struct guard *g, const struct guard_source *src, const struct guard_verdict *v)
{
	size_t i = 0;
	while (i < GUARD_NSERVICES - 1 &&
	    (!src->service || strcmp(src->service, service_names[i]) != 0))
		i++;
	if (v->outcome == GUARD_OK) {
		g->auth_ok[i]++;
	} else if (v->strike) {
		g->auth_fail[i]++;
		hist_advance(g, v->now);
		g->hist[(v->now / 60) % GUARD_HIST_MINUTES]++;
	}
}

void
guard_stats(struct guard *g, time_t now, struct guard_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < GUARD_NSERVICES; i++) {
		out->service[i] = service_names[i];
		out->auth_ok[i] = g->auth_ok[i];
		out->auth_fail[i] = g->auth_fail[i];
	}
	hist_advance(g, now);
	for (size_t i = 0; i < GUARD_HIST_MINUTES; i++)
		out->fail_per_min[i] = g->hist[(now / 60 + 1 + i) % GUARD_HIST_MINUTES];
	credcache_stats(g->webcache, now, &out->cache_live, &out->cache_hits,
	    &out->cache_misses);
	out->bans = bans_list(g->bans, now, NULL, 0);
}

bool
guard_watch_failure(struct guard *g, const struct ipkey *addr, time_t now)
{
	if (!g->cfg->bans_enabled || bans_ignored(g->bans, addr))
		return false;
	g->auth_fail[GUARD_NSERVICES - 1]++;
	hist_advance(g, now);
	g->hist[(now / 60) % GUARD_HIST_MINUTES]++;
	bans_fail(g->bans, addr, now);
	return true;
}

void
guard_report(struct guard *g, const struct guard_source *src, struct slice session,
    const struct guard_verdict *v)
{
	tally(g, src, v);
	if (!v->has_event) {
		count_outcome(g, src, v);
		return;
	}
	struct secevent ev = {
		.type = v->event,
		.service = src->service,
		.transport = src->transport,
		.local = src->local,
		.remote = src->remote,
		.account = v->account,
		.session = session,
		.received_challenge = v->received_nonce,
		.challenge = v->received_nonce,
		.received_hash = v->received_hash,
	};
	if (v->event == SECEVENT_FAILED_ACL)
		ev.acl_name = v->acl_name;
	ev.by_certificate = v->cert_subject[0] != '\0';
	if (v->event == SECEVENT_REQUEST_BAD_FORMAT || v->event == SECEVENT_REQUEST_NOT_ALLOWED) {
		ev.request_type = v->request_type;
		ev.request_params = slice_cstr(v->reason ? v->reason : "");
	}
	/* The failure before the ban it may cause, in the log and on the AMI. */
	secevent_emit(&ev);
	count_outcome(g, src, v);
}

/* ---- ban state and manual bans ---------------------------------------- */

bool
guard_load_state(struct guard *g, time_t now)
{
	const char *path = g->cfg->ban_state;
	char err[512], *data = NULL;
	size_t n = 0;

	if (access(path, F_OK) != 0)
		return true;
	if (file_read_all(path, 64u << 20, &data, &n, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return false;
	}
	size_t bad = bans_load_text(g->bans, data, n, path, now, err, sizeof(err));
	free(data);
	if (bad) {
		char aside[PATH_MAX + 16];
		snprintf(aside, sizeof(aside), "%s.corrupt", path);
		log_warn("%s (and %zu more bad line%s): skipped; the file is kept as %s", err,
		    bad - 1, bad == 2 ? "" : "s", aside);
		if (rename(path, aside) < 0)
			log_warn("cannot keep %s: %s", aside, strerror(errno));
	}
	struct ban_info bi[1];
	size_t nb = bans_list(g->bans, now, bi, 0);
	log_notice("ban state %s: %zu ban%s in force", path, nb, nb == 1 ? "" : "s");
	return true;
}

void
guard_save_state(struct guard *g, time_t now)
{
	char err[512];
	size_t n;
	char *text = bans_serialize(g->bans, now, &n);

	if (!text) {
		log_err("ban state: out of memory");
		return;
	}
	if (atomicfile_write(g->cfg->ban_state, text, n, 0600, err, sizeof(err)) < 0)
		log_err("ban state not saved (kept in memory, retried): %s", err);
	free(text);
}

void
guard_tick(struct guard *g, time_t now)
{
	guard_refresh(g, false);
	bans_sweep(g->bans, now);
	if (bans_dirty(g->bans))
		guard_save_state(g, now);
}

enum guard_ban_result
guard_ban(struct guard *g, const struct ipkey *k, unsigned seconds, time_t now,
    struct ban_info *out)
{
	if (bans_ignored(g->bans, k))
		return GUARD_BAN_IGNORED;
	return bans_ban(g->bans, k, seconds, BAN_MANUAL, now, out) ? GUARD_BAN_OK
	    : GUARD_BAN_FAILED;
}

bool
guard_ban_shared(struct guard *g, const struct ipkey *k, time_t until, time_t now)
{
	if (!g->cfg->bans_enabled || bans_ignored(g->bans, k) || until <= now)
		return false;
	if (bans_until(g->bans, k, now) >= until)
		return false; /* ours lasts as long already (or it is our own, echoed) */
	return bans_ban(g->bans, k, (unsigned)(until - now), BAN_SHARED, now, NULL);
}

bool
guard_unban(struct guard *g, const struct ipkey *k, time_t now)
{
	return bans_unban(g->bans, k, now);
}

size_t
guard_bans_list(struct guard *g, time_t now, struct ban_info *out, size_t max)
{
	return bans_list(g->bans, now, out, max);
}

void
guard_share_nonces(struct guard *g, const uint8_t *key, const struct guard_nonce_share *ops)
{
	nonce_set_shared(&g->nonces, key);
	if (ops)
		g->ncshare = *ops;
}

void
guard_set_enforcer(struct guard *g, bans_hook fn, void *arg)
{
	g->enforcer = fn;
	g->enforcer_arg = arg;
}

/* ---- AMI logins -------------------------------------------------------- */

void
guard_ami_key(struct slice challenge, struct slice secret, char out[33])
{
	uint8_t md[16];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ||
	    !EVP_DigestUpdate(ctx, challenge.p, challenge.n) ||
	    !EVP_DigestUpdate(ctx, secret.p, secret.n) || !EVP_DigestFinal_ex(ctx, md, &mdlen) ||
	    mdlen != sizeof(md)) {
		/* Fail closed: no key of 32 hex digits ever equals this. */
		EVP_MD_CTX_free(ctx);
		snprintf(out, 33, "-");
		return;
	}
	EVP_MD_CTX_free(ctx);
	hex_encode(md, sizeof(md), out);
}

/* Equal secrets, in a time that tells nothing of either (not even length). */
static bool
secret_equal(struct slice a, struct slice b)
{
	uint8_t ha[32], hb[32];
	if (!EVP_Digest(a.p, a.n, ha, NULL, EVP_sha256(), NULL) ||
	    !EVP_Digest(b.p, b.n, hb, NULL, EVP_sha256(), NULL))
		return false;
	return CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0;
}

static void
login_event(struct guard_verdict *v, enum secevent_type t, const char *reason, bool strike)
{
	v->outcome = t == SECEVENT_SUCCESSFUL_AUTH ? GUARD_OK : GUARD_FORBIDDEN;
	v->has_event = true;
	v->event = t;
	v->reason = reason;
	v->strike = strike;
}

/* An account's permit/deny lines, then every acl = NAME; the name that
 * refused, or NULL (AMI and IAX2 accounts, both from Asterisk files). */
static const char *
account_acl(struct guard *g, const struct acl_group *ha, const char (*acls)[32], size_t nacls,
    const struct ipkey *k)
{
	if (ha->n && !acl_allows(ha, k))
		return ha->name;
	for (size_t i = 0; i < nacls; i++) {
		int a = config_find_acl(g->cfg, slice_cstr(acls[i]));
		if (a == CONFIG_NO_ACL || !acl_allows(&g->cfg->acls[a], k))
			return acls[i];
	}
	return NULL;
}

/*
 * A known account of an Asterisk file (AMI, IAX2): its name for the account
 * lock ("manager:admin"), then its permit/deny and acl lines and the lock.
 * False (FailedACL in v) when the source may not use it.
 */
static bool
account_gate(struct guard *g, struct guard_verdict *v, const char *prefix, const char *name,
    bool lower, const struct acl_group *ha, const char (*acls)[32], size_t nacls,
    const struct guard_source *src, time_t now)
{
	struct ipkey k;
	int n = snprintf(v->acct, sizeof(v->acct), "%s", prefix);

	v->known = lower ? slice_copy_lower(slice_cstr(name), v->acct + n, sizeof(v->acct) -
	    (size_t)n) : slice_copy(slice_cstr(name), v->acct + n, sizeof(v->acct) - (size_t)n);
	ipkey_from_addr(src->remote, &k);
	const char *acl = account_acl(g, ha, acls, nacls, &k);
	if (!acl && v->known && g->cfg->bans_enabled &&
	    bans_account_locked(g->bans, slice_cstr(v->acct), &k, now))
		acl = "account-lock";
	if (acl) {
		snprintf(v->acl_name, sizeof(v->acl_name), "%s", acl);
		login_event(v, SECEVENT_FAILED_ACL, "refused by ACL", true);
		return false;
	}
	return true;
}

const struct mgr_user *
guard_ami_login(struct guard *g, const struct guard_ami_login *rq, struct guard_verdict *v)
{
	char expected[33];

	memset(v, 0, sizeof(*v));
	v->now = rq->now;
	v->account = rq->username;
	v->received_nonce = rq->challenge;
	if (!rq->md5 && !rq->plaintext_ok) {
		/* Never looked at: the secret crossed the network in clear. */
		login_event(v, SECEVENT_REQUEST_NOT_ALLOWED, "a plain-text Secret over an unencrypted "
		    "connection (use TLS or Challenge/MD5, or set allowplaintextlogin = yes)", false);
		v->request_type = slice_cstr("Login");
		return NULL;
	}
	const struct mgr_user *u = mgr_users_find(rq->users, rq->username.p, rq->username.n);
	/* The same digest for an unknown user, so the answer costs the same. */
	struct slice secret = u && u->secret ? slice_cstr(u->secret)
	    : slice_cstr(g->dummy_ha1[DIGEST_MD5]);
	guard_ami_key(rq->challenge, secret, expected);
	if (!u) {
		login_event(v, SECEVENT_INVALID_ACCOUNT_ID, "no such user", true);
		return NULL;
	}
	if (!account_gate(g, v, "manager:", u->name, true, &u->ha, u->acls, u->nacls, rq->src,
	    rq->now))
		return NULL;
	if (!u->secret) {
		login_event(v, SECEVENT_INVALID_PASSWORD, "the user has no secret", true);
		return NULL;
	}
	if (rq->md5) {
		v->received_hash = rq->key;
		if (rq->challenge.n == 0 || !ct_equal(rq->key.p, rq->key.n, expected, 32)) {
			login_event(v, SECEVENT_CHALLENGE_RESPONSE_FAILED, rq->challenge.n ?
			    "wrong MD5 key" : "MD5 key without a Challenge first", true);
			return NULL;
		}
	} else if (!secret_equal(rq->secret, slice_cstr(u->secret))) {
		login_event(v, SECEVENT_INVALID_PASSWORD, "wrong secret", true);
		return NULL;
	}
	login_event(v, SECEVENT_SUCCESSFUL_AUTH, "authenticated", false);
	return u;
}

/* ---- IAX2 logins --------------------------------------------------------- */

void
guard_iax_md5(struct slice challenge, struct slice secret, char out[33])
{
	guard_ami_key(challenge, secret, out); /* the same construction as the AMI's */
}

static const struct iax_user *
iax_account(const struct iax_users *users, struct slice name, bool reg)
{
	const struct iax_user *u = iax_users_find(users, name);
	return u && (reg ? u->can_register : u->can_call) ? u : NULL;
}

void
guard_iax_token_refused(struct slice account, struct slice request, const char *why,
    bool forged, time_t now, struct guard_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->now = now;
	v->account = account;
	v->request_type = request;
	login_event(v, SECEVENT_REQUEST_NOT_ALLOWED, why, forged);
}

unsigned
guard_iax_methods(const struct iax_users *users, struct slice username, bool reg)
{
	const struct iax_user *u = iax_account(users, username, reg);
	return u ? u->auth : IAXU_AUTH_MD5;
}

static bool
iax_answer_ok(const struct guard_iax_login *rq, const struct iax_user *u, const char **why)
{
	char expected[33];
	bool ok = false;

	*why = "no answer the account allows";
	if (rq->has_rsa && (u->auth & IAXU_AUTH_RSA)) {
		*why = "RSA signature matches none of the inkeys";
		for (size_t i = 0; i < u->ninkeys && !ok; i++)
			ok = key_verify(keyring_find(rq->keys, slice_cstr(u->inkeys[i]), false),
			    rq->challenge, rq->rsa);
	} else if (rq->has_md5 && (u->auth & IAXU_AUTH_MD5)) {
		*why = "wrong MD5 result";
		/* Every secret is tried, so the time says nothing of which matched. */
		for (size_t i = 0; i < u->nsecrets; i++) {
			guard_iax_md5(rq->challenge, slice_cstr(u->secrets[i]), expected);
			ok |= slice_is_hex(rq->md5) && ct_hex_equal(rq->md5, slice_cstr(expected));
		}
	} else if (rq->has_password && (u->auth & IAXU_AUTH_PLAINTEXT)) {
		*why = "wrong password";
		for (size_t i = 0; i < u->nsecrets; i++)
			ok |= secret_equal(rq->password, slice_cstr(u->secrets[i]));
	}
	return ok && rq->challenge.n > 0;
}

const struct iax_user *
guard_iax_login(struct guard *g, const struct guard_iax_login *rq, struct guard_verdict *v)
{
	char expected[33];
	const char *why;

	memset(v, 0, sizeof(*v));
	v->now = rq->now;
	v->account = rq->username;
	v->received_nonce = rq->challenge;
	v->received_hash = rq->has_rsa ? rq->rsa : rq->md5;
	const struct iax_user *u = iax_account(rq->users, rq->username, rq->reg);
	if (!u) {
		/* The same MD5 a known account costs. */
		guard_iax_md5(rq->challenge, slice_cstr(g->dummy_ha1[DIGEST_MD5]), expected);
		login_event(v, SECEVENT_INVALID_ACCOUNT_ID, rq->reg ? "no such peer" :
		    "no such user", true);
		return NULL;
	}
	/* chan_iax2's names are case-sensitive: the lock's name keeps the case. */
	if (!account_gate(g, v, "iax2:", u->name, false, &u->ha, u->acls, u->nacls, rq->src,
	    rq->now))
		return NULL;
	if (!iax_answer_ok(rq, u, &why)) {
		login_event(v, rq->has_password && !rq->has_md5 && !rq->has_rsa ?
		    SECEVENT_INVALID_PASSWORD : SECEVENT_CHALLENGE_RESPONSE_FAILED, why, true);
		return NULL;
	}
	login_event(v, SECEVENT_SUCCESSFUL_AUTH, "authenticated", false);
	return u;
}

/* ---- web logins ---------------------------------------------------------- */

void
guard_web_prepare(struct guard *g, const struct guard_web_login *rq, struct guard_web_job *job)
{
	memset(job, 0, sizeof(*job));
	const struct htp_user *u = htp_find(rq->users, rq->username);
	/* An unknown user is checked against the first user's hash (so the
	 * same algorithm and cost), or the last known one's when the table is
	 * empty (AuthDBDUserPWQuery: one user at a time). The password cannot
	 * match it by luck in any way that matters: the verdict is refused
	 * whatever it says. */
	if (u)
		snprintf(g->web_standin, sizeof(g->web_standin), "%s", u->hash);
	const char *h = u ? u->hash : rq->users && rq->users->n ? rq->users->u[0].hash
	    : g->web_standin;
	snprintf(job->hash, sizeof(job->hash), "%s", h);
	if (u && g->webcache) {
		credcache_key(g->webcache, rq->username, rq->password, job->key);
		job->cached = credcache_hit(g->webcache, job->key, rq->now);
	}
}

static bool
web_require(const struct guard *g, const struct guard_web_login *rq)
{
	const struct config_http *h = &g->cfg->http;
	if (h->nrequire == 0)
		return true;
	for (size_t i = 0; i < h->nrequire; i++) {
		const struct http_require *r = &h->require[i];
		if (r->kind == REQUIRE_VALID_USER)
			return true;
		struct slice words = slice_cstr(r->words), w;
		for (;;) {
			words = slice_trim(words);
			if (words.n == 0)
				break;
			long sp = slice_find(words, ' ');
			long tab = slice_find(words, '\t');
			size_t end = sp < 0 ? words.n : (size_t)sp;
			if (tab >= 0 && (size_t)tab < end)
				end = (size_t)tab;
			w = slice_sub(words, 0, end);
			words = slice_sub(words, end, words.n);
			if (r->kind == REQUIRE_USER && slice_eq(w, rq->username))
				return true;
			if (r->kind == REQUIRE_GROUP) {
				char name[256];
				if (slice_copy(w, name, sizeof(name)) &&
				    htp_in_group(rq->groups, name, rq->username))
					return true;
			}
		}
	}
	return false;
}

bool
guard_web_login(struct guard *g, const struct guard_web_login *rq, struct guard_web_job *job,
    bool matched, struct guard_verdict *v)
{
	struct ipkey k;

	memset(v, 0, sizeof(*v));
	v->now = rq->now;
	v->account = rq->username;
	const struct htp_user *u = htp_find(rq->users, rq->username);
	if (!u) {
		login_event(v, SECEVENT_INVALID_ACCOUNT_ID, "no such user", true);
		return false;
	}
	int n = snprintf(v->acct, sizeof(v->acct), "web:");
	v->known = slice_copy(rq->username, v->acct + n, sizeof(v->acct) - (size_t)n);
	ipkey_from_addr(rq->src->remote, &k);
	if (v->known && g->cfg->bans_enabled &&
	    bans_account_locked(g->bans, slice_cstr(v->acct), &k, rq->now)) {
		snprintf(v->acl_name, sizeof(v->acl_name), "account-lock");
		login_event(v, SECEVENT_FAILED_ACL, "refused by ACL", true);
		return false;
	}
	/* The file may have changed while the hash ran: the answer is only
	 * good for the hash it was computed against. */
	if (!job->cached && (!matched || strcmp(job->hash, u->hash) != 0)) {
		login_event(v, SECEVENT_INVALID_PASSWORD, "wrong password", true);
		return false;
	}
	if (!web_require(g, rq)) {
		login_event(v, SECEVENT_REQUEST_NOT_ALLOWED, "authorization failure: "
		    "Require leaves this user out", false);
		v->outcome = GUARD_FORBIDDEN;
		v->request_type = slice_cstr("Require");
		return false; /* no strike: toward neither the source's ban nor the account lock */
	}
	login_event(v, SECEVENT_SUCCESSFUL_AUTH, "authenticated", false);
	if (job->cached) {
		/* A browser sends its password with every request: the first check
		 * is the login worth an event, the cached ones are its session. */
		v->has_event = false;
	} else if (g->webcache) {
		credcache_put(g->webcache, job->key, rq->now);
	}
	return true;
}

void
guard_web_flush(struct guard *g)
{
	credcache_flush(g->webcache);
}
