#include "ami/session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/perm.h"
#include "ami/policy.h"
#include "ami/relay.h"
#include "ami/upstream.h"
#include "core/dbuf.h"
#include "core/log.h"
#include "core/msglist.h"
#include "core/rand.h"

#define OUT_MAX (4u << 20)	/* one answer; ListCommands is the largest */

typedef enum ami_next (*action_fn)(struct ami_session *s, const struct ami_msg *m);

struct local_action {
	const char *name;
	int authority;		/* any one of these write classes; 0: anyone logged in */
	const char *synopsis;
	action_fn fn;
	bool yields;		/* Asterisk has one of this name: the upstream's wins */
};

static const struct local_action *find_local(const struct ami_session *s, struct slice name);

/* ---- output, as Asterisk's astman_send_response_full writes it ---------- */

static void
flush(struct ami_session *s, struct dbuf *b)
{
	if (b->failed)
		log_warn("AMI: an answer over %u bytes or out of memory: not sent", OUT_MAX);
	else if (b->n)
		s->write(s->conn, b->p, b->n);
	dbuf_free(b);
}

/* "Response: X", then the ActionID (second, always), then EventList. */
static void
head(struct dbuf *b, const struct ami_msg *m, const char *resp, const char *listflag)
{
	struct slice id = m ? ami_get(m, "ActionID") : SLICE_NULL;

	dbuf_printf(b, "Response: %s\r\n", resp);
	if (id.n)
		dbuf_printf(b, "ActionID: %.*s\r\n", (int)id.n, id.p);
	if (listflag)
		dbuf_printf(b, "EventList: %s\r\n", listflag);
}

static void
respond(struct ami_session *s, const struct ami_msg *m, const char *resp, const char *msg)
{
	struct dbuf b;

	dbuf_init(&b, OUT_MAX);
	head(&b, m, resp, NULL);
	if (msg)
		dbuf_printf(&b, "Message: %s\r\n", msg);
	dbuf_puts(&b, "\r\n");
	flush(s, &b);
}

static void
error(struct ami_session *s, const struct ami_msg *m, const char *msg)
{
	respond(s, m, "Error", msg);
}

static void
ack(struct ami_session *s, const struct ami_msg *m, const char *msg)
{
	respond(s, m, "Success", msg);
}

/* A security event about this session, Service="AMI". */
static void
report(struct ami_session *s, struct guard_verdict *v)
{
	char sid[24];
	struct guard_source src = { &s->remote, &s->local, s->tls ? "TLS" : "TCP", "AMI",
		s->ctx->cfg->ami.acl };

	v->now = v->now ? v->now : time(NULL);
	snprintf(sid, sizeof(sid), "0x%" PRIx64, s->id);
	guard_report(s->ctx->guard, &src, slice_cstr(sid), v);
}

static void
report_request(struct ami_session *s, enum secevent_type t, struct slice action,
    const char *why)
{
	struct guard_verdict v;

	memset(&v, 0, sizeof(v));
	v.has_event = true;
	v.event = t;
	v.outcome = GUARD_FORBIDDEN;
	v.account = slice_cstr(s->username);
	v.request_type = action;
	v.reason = why;
	report(s, &v);
}

/* ---- lists (Asterisk's astman_send_listack / list_complete) ------------- */

struct list {
	struct ami_session *s;
	const struct ami_msg *m;
	struct dbuf b;
	const char *item;	/* each item's Event: name */
	bool open;		/* an item is being written */
	long n;
};

/* "Key: value": values from elsewhere in the daemon may hold what a phone
 * sent (a Contact), so a control byte never reaches the wire as such. */
static void
put_value(struct dbuf *b, const char *key, const char *val)
{
	char esc[LOG_ESCAPED_SIZE(256)];
	dbuf_printf(b, "%s: %s\r\n", key, log_escape(slice_cstr(val), esc, sizeof(esc)));
}

static void
list_field(void *ectx, const char *key, const char *val)
{
	struct list *l = ectx;
	struct slice id = ami_get(l->m, "ActionID");

	if (!l->open) {
		dbuf_printf(&l->b, "Event: %s\r\n", l->item);
		if (id.n)
			dbuf_printf(&l->b, "ActionID: %.*s\r\n", (int)id.n, id.p);
		l->open = true;
	}
	put_value(&l->b, key, val);
}

static void
list_item_done(void *ectx)
{
	struct list *l = ectx;
	if (l->open)
		dbuf_puts(&l->b, "\r\n");
	l->open = false;
	l->n++;
}

static void
list_start(struct list *l, struct ami_session *s, const struct ami_msg *m, const char *item,
    const char *msg)
{
	memset(l, 0, sizeof(*l));
	l->s = s;
	l->m = m;
	l->item = item;
	dbuf_init(&l->b, OUT_MAX);
	head(&l->b, m, "Success", "start");
	dbuf_printf(&l->b, "Message: %s\r\n\r\n", msg);
}

static void
list_end(struct list *l, const char *complete)
{
	struct slice id = ami_get(l->m, "ActionID");

	dbuf_printf(&l->b, "Event: %s\r\n", complete);
	if (id.n)
		dbuf_printf(&l->b, "ActionID: %.*s\r\n", (int)id.n, id.p);
	dbuf_printf(&l->b, "EventList: Complete\r\nListItems: %ld\r\n\r\n", l->n);
	flush(l->s, &l->b);
}

/* ---- login -------------------------------------------------------------- */

static void
free_filters(struct ami_session *s)
{
	for (size_t i = 0; i < s->ninclude; i++)
		pcre2_code_free(s->include[i]);
	for (size_t i = 0; i < s->nexclude; i++)
		pcre2_code_free(s->exclude[i]);
	s->ninclude = s->nexclude = 0;
	pcre2_match_data_free(s->md);
	s->md = NULL;
}

/* Asterisk's eventfilter: "!regex" drops what matches, "regex" keeps only
 * what matches; both are tried against the whole event. */
static void
load_filters(struct ami_session *s, const struct mgr_user *u)
{
	for (size_t i = 0; i < u->nfilters; i++) {
		const char *f = u->filters[i];
		bool ex = f[0] == '!';
		int rc;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)(f + ex), PCRE2_ZERO_TERMINATED, 0, &rc,
		    &off, NULL);
		if (!re) {
			log_warn("AMI user %s: eventfilter '%s' is not a valid regular expression "
			    "(ignored)", u->name, f);
			continue;
		}
		if (ex)
			s->exclude[s->nexclude++] = re;
		else
			s->include[s->ninclude++] = re;
	}
	if (s->ninclude + s->nexclude && !(s->md = pcre2_match_data_create(1, NULL)))
		free_filters(s); /* out of memory: no filter would be a leak of events */
}

static void
fail_later(struct ami_session *s, const struct ami_msg *m, const char *msg)
{
	struct dbuf b;

	dbuf_init(&b, 4096);
	head(&b, m, "Error", NULL);
	dbuf_printf(&b, "Message: %s\r\n\r\n", msg);
	free(s->deferred);
	s->deferred = b.failed ? NULL : b.p;
	s->ndeferred = b.failed ? 0 : b.n;
	if (b.failed)
		dbuf_free(&b);
}

static void
fully_booted(struct ami_session *s)
{
	struct dbuf b;
	time_t now = time(NULL);

	if (!(s->send_events & AMI_SYSTEM) || !(s->readperm & AMI_SYSTEM))
		return;
	dbuf_init(&b, 1024);
	dbuf_printf(&b, "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: %ld\r\n"
	    "LastReload: %ld\r\nStatus: Fully Booted\r\n\r\n", (long)(now - s->ctx->started),
	    (long)(now - s->ctx->reloaded));
	flush(s, &b);
}

/*
 * The user from the SQL store. True with *out (one user, or none: the
 * same refusal as a name not in manager.conf) to go on with the login;
 * false with *next when the login waits for the database or gets its
 * temporary error (which is no failed password: no strike, no close).
 */
static bool
sql_user(struct ami_session *s, const struct ami_msg *m, struct slice user,
    struct mgr_users **out, enum ami_next *next)
{
	struct ami_ctx *ctx = s->ctx;
	struct account a;
	char err[512], as[ADDR_STRLEN];

	*out = NULL;
	*next = AMI_CONTINUE;
	switch (user.n ? store_lookup(ctx->store, user, SLICE_LIT(""), &a) : STORE_NOT_FOUND) {
	case STORE_PENDING:
		*next = AMI_WAIT;
		return false;
	case STORE_UNAVAILABLE:
		log_warn("AMI: %s: login not checked: %s does not answer", addr_str(&s->remote, as,
		    sizeof(as)), ctx->store->where);
		error(s, m, "Authentication temporarily unavailable");
		return false;
	case STORE_NOT_FOUND:
		break;
	case STORE_FOUND:
		*out = mgr_users_from_account(user, &a, ctx->store->where, ctx->cfg, err,
		    sizeof(err));
		account_wipe(&a);
		if (*out)
			msglist_log("AMI", (*out)->warn, (*out)->nwarn);
		else
			msglist_log("AMI", (char *[]){ err }, 1);
		break;
	}
	if (!*out && !(*out = calloc(1, sizeof(**out)))) {
		error(s, m, "Authentication temporarily unavailable");
		return false;
	}
	return true;
}

static enum ami_next finish_login(struct ami_session *s, const struct ami_msg *m,
    const struct mgr_user *mu, const char *as, const char *u, const struct guard_verdict *v);

static enum ami_next
act_login(struct ami_session *s, const struct ami_msg *m)
{
	struct ami_ctx *ctx = s->ctx;
	struct guard_verdict v;
	char as[ADDR_STRLEN], u[LOG_ESCAPED_SIZE(80)];

	if (s->authenticated) {
		ack(s, m, "Already authenticated");
		return AMI_CONTINUE;
	}
	struct slice user = ami_get(m, "Username");
	struct mgr_users *row = NULL;
	const struct mgr_users *users = ctx->users;
	if (ctx->store) {
		enum ami_next next;
		if (!sql_user(s, m, user, &row, &next))
			return next;
		users = row;
	}
	struct guard_source src = { &s->remote, &s->local, s->tls ? "TLS" : "TCP", "AMI",
		ctx->cfg->ami.acl };
	struct guard_ami_login rq = {
		.src = &src,
		.users = users,
		.username = user,
		.md5 = slice_caseeq_cstr(ami_get(m, "AuthType"), "MD5"),
		.key = ami_get(m, "Key"),
		.secret = ami_get(m, "Secret"),
		.challenge = slice_cstr(s->challenge),
		.plaintext_ok = s->tls || ctx->cfg->ami.plaintext_login,
		.now = time(NULL),
	};
	const struct mgr_user *mu = guard_ami_login(ctx->guard, &rq, &v);
	addr_str(&s->remote, as, sizeof(as));
	log_escape(user, u, sizeof(u));
	report(s, &v);
	enum ami_next next = finish_login(s, m, mu, as, u, &v);
	mgr_users_free(row);
	return next;
}

/* The rest of a login, once the guard has said (mu NULL: refused). */
static enum ami_next
finish_login(struct ami_session *s, const struct ami_msg *m, const struct mgr_user *mu,
    const char *as, const char *u, const struct guard_verdict *v)
{
	struct ami_ctx *ctx = s->ctx;

	if (!mu) {
		log_notice("AMI: %s failed to authenticate as '%s': %s", as, u, v->reason);
		fail_later(s, m, "Authentication failed");
		return AMI_CLOSE_LATER;
	}
	bool multi = mu->allowmultiplelogin >= 0 ? mu->allowmultiplelogin
	    : ctx->cfg->ami.allowmultiplelogin;
	/* Asked only after the secret was right, so nobody learns who is on. */
	if (!multi && ctx->logged_in && ctx->logged_in(ctx->srv, mu->name, s)) {
		struct guard_verdict lim;
		memset(&lim, 0, sizeof(lim));
		lim.has_event = true;
		lim.event = SECEVENT_SESSION_LIMIT;
		lim.account = slice_cstr(mu->name);
		report(s, &lim);
		log_notice("AMI: %s: '%s' is already logged in (allowmultiplelogin = no)", as, u);
		fail_later(s, m, "Login Already In Use");
		return AMI_CLOSE_LATER;
	}
	snprintf(s->username, sizeof(s->username), "%s", mu->name);
	s->readperm = ami_perm_parse(slice_cstr(mu->read), NULL, NULL, 0);
	s->writeperm = ami_perm_parse(slice_cstr(mu->write), &s->write_explicit, NULL, 0);
	s->displayconnects = mu->displayconnects >= 0 ? mu->displayconnects
	    : ctx->cfg->ami.displayconnects;
	int mask = ami_perm_mask(ami_get(m, "Events"));
	if (mask >= 0)
		s->send_events = mask;
	load_filters(s, mu);
	s->authenticated = true;
	ctx->unauth--;
	ami_reader_limit(&s->rd, AMI_MAX_HEADERS);
	if (s->displayconnects)
		log_notice("AMI: Manager '%s' logged on from %s%s", s->username, as,
		    s->tls ? " (TLS)" : "");
	ack(s, m, "Authentication accepted");
	fully_booted(s);
	return AMI_CONTINUE;
}

static enum ami_next
act_logoff(struct ami_session *s, const struct ami_msg *m)
{
	respond(s, m, "Goodbye", "Thanks for all the fish.");
	return AMI_CLOSE;
}

static enum ami_next
act_challenge(struct ami_session *s, const struct ami_msg *m)
{
	struct dbuf b;

	if (!slice_caseeq_cstr(ami_get(m, "AuthType"), "MD5")) {
		error(s, m, "Must specify AuthType");
		return AMI_CONTINUE;
	}
	if (!s->challenge[0]) {
		/* Decimal like Asterisk's, but from the CSPRNG and 60 bits wide
		 * where Asterisk's random() gives 31. */
		uint64_t r;
		rand_bytes(&r, sizeof(r));
		snprintf(s->challenge, sizeof(s->challenge), "%" PRIu64,
		    r % UINT64_C(900000000000000000) + UINT64_C(100000000000000000));
	}
	dbuf_init(&b, 1024);
	head(&b, m, "Success", NULL);
	dbuf_printf(&b, "Challenge: %s\r\n\r\n", s->challenge);
	flush(s, &b);
	return AMI_CONTINUE;
}

/* ---- pbxguard's own actions --------------------------------------------- */

static enum ami_next
act_ping(struct ami_session *s, const struct ami_msg *m)
{
	struct dbuf b;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	dbuf_init(&b, 1024);
	head(&b, m, "Success", NULL);
	dbuf_printf(&b, "Ping: Pong\r\nTimestamp: %ld.%06lu\r\n\r\n", (long)ts.tv_sec,
	    (unsigned long)(ts.tv_nsec / 1000));
	flush(s, &b);
	return AMI_CONTINUE;
}

static enum ami_next
act_events(struct ami_session *s, const struct ami_msg *m)
{
	struct dbuf b;
	int mask = ami_perm_mask(ami_get(m, "EventMask"));

	if (mask < 0) {
		error(s, m, "Invalid event mask");
		return AMI_CONTINUE;
	}
	s->send_events = mask;
	dbuf_init(&b, 1024);
	head(&b, m, "Success", NULL);
	dbuf_printf(&b, "Events: %s\r\n\r\n", mask ? "On" : "Off");
	flush(s, &b);
	return AMI_CONTINUE;
}

static const struct local_action local_actions[];
static const size_t n_local_actions;

static bool
may_run(const struct ami_session *s, int authority)
{
	return authority == 0 || (s->writeperm & authority);
}

static enum ami_next
act_listcommands(struct ami_session *s, const struct ami_msg *m)
{
	struct ami_ctx *ctx = s->ctx;
	struct dbuf b;
	char priv[256];
	const struct ami_msg none = { NULL, 0, AMI_MSG_OK };
	const char *why;

	dbuf_init(&b, OUT_MAX);
	head(&b, m, "Success", NULL);
	for (size_t i = 0; i < n_local_actions; i++) {
		const struct local_action *a = &local_actions[i];
		if (find_local(s, slice_cstr(a->name)) != a || !may_run(s, a->authority))
			continue;
		ami_perm_str(a->authority, priv, sizeof(priv));
		dbuf_printf(&b, "%s: %s (Priv: %s)\r\n", a->name, a->synopsis, priv);
	}
	struct slice name, line;
	int auth;
	for (size_t i = 0; ctx->up && ami_upstream_action(ctx->up, i, &name, &line, &auth); i++) {
		if (find_local(s, name) || ami_policy_session_action(name) ||
		    !ami_policy_allows(&none, name, auth, s->writeperm, s->write_explicit, &why))
			continue;
		dbuf_put(&b, line);
		dbuf_puts(&b, "\r\n");
	}
	dbuf_puts(&b, "\r\n");
	flush(s, &b);
	return AMI_CONTINUE;
}

static enum ami_next
act_bans(struct ami_session *s, const struct ami_msg *m)
{
	time_t now = time(NULL);
	struct list l;
	char as[IPKEY_STRLEN], num[32];

	size_t n = guard_bans_list(s->ctx->guard, now, NULL, 0);
	struct ban_info *bi = calloc(n ? n : 1, sizeof(*bi));
	if (!bi) {
		error(s, m, "Out of memory");
		return AMI_CONTINUE;
	}
	n = guard_bans_list(s->ctx->guard, now, bi, n);
	list_start(&l, s, m, "BanEntry", "Ban list will follow");
	for (size_t i = 0; i < n; i++) {
		list_field(&l, "Address", ipkey_str(&bi[i].addr, as, sizeof(as)));
		snprintf(num, sizeof(num), "%ld", (long)(bi[i].until > now ? bi[i].until - now : 0));
		list_field(&l, "SecondsLeft", num);
		snprintf(num, sizeof(num), "%u", bi[i].count);
		list_field(&l, "BanCount", num);
		list_item_done(&l);
	}
	free(bi);
	list_end(&l, "BanListComplete");
	return AMI_CONTINUE;
}

static bool
address_header(struct ami_session *s, const struct ami_msg *m, struct ipkey *k)
{
	struct slice a = slice_trim(ami_get(m, "Address"));
	if (a.n == 0) {
		error(s, m, "Address: not specified");
		return false;
	}
	if (!ipkey_parse(a, k)) {
		error(s, m, "Address: not a numeric IPv4 or IPv6 address");
		return false;
	}
	return true;
}

static enum ami_next
act_ban(struct ami_session *s, const struct ami_msg *m)
{
	struct ipkey k;
	struct ban_info bi;
	unsigned secs = s->ctx->cfg->bantime;
	struct slice t = ami_get(m, "BanTime");

	if (!address_header(s, m, &k))
		return AMI_CONTINUE;
	if (t.n && (!config_parse_duration(t, &secs) || secs == 0)) {
		error(s, m, "BanTime: expected seconds, or 10m, 1h, 1d, 1w");
		return AMI_CONTINUE;
	}
	switch (guard_ban(s->ctx->guard, &k, secs, time(NULL), &bi)) {
	case GUARD_BAN_OK:
		log_notice("AMI: '%s' banned an address for %u s", s->username, secs);
		ack(s, m, "Address banned");
		break;
	case GUARD_BAN_IGNORED:
		error(s, m, "Address is in ignoreip: never banned");
		break;
	default:
		error(s, m, "Ban failed");
	}
	return AMI_CONTINUE;
}

static enum ami_next
act_unban(struct ami_session *s, const struct ami_msg *m)
{
	struct ipkey k;

	if (!address_header(s, m, &k))
		return AMI_CONTINUE;
	if (guard_unban(s->ctx->guard, &k, time(NULL))) {
		log_notice("AMI: '%s' lifted a ban", s->username);
		ack(s, m, "Address unbanned");
	} else {
		error(s, m, "Address is not banned");
	}
	return AMI_CONTINUE;
}

static enum ami_next
run_list(struct ami_session *s, const struct ami_msg *m,
    long (*fn)(void *, ami_emit_fn, void (*)(void *), void *, char *, size_t),
    const char *item, const char *msg, const char *complete)
{
	struct list l;
	char why[256] = "not available";

	list_start(&l, s, m, item, msg);
	if (!fn || fn(s->ctx->hooks.arg, list_field, list_item_done, &l, why, sizeof(why)) < 0) {
		dbuf_free(&l.b);
		error(s, m, why);
		return AMI_CONTINUE;
	}
	list_end(&l, complete);
	return AMI_CONTINUE;
}

static enum ami_next
act_registrations(struct ami_session *s, const struct ami_msg *m)
{
	return run_list(s, m, s->ctx->hooks.registrations, "SIPRegistration",
	    "Registrations will follow", "SIPRegistrationsComplete");
}

static enum ami_next
act_keys(struct ami_session *s, const struct ami_msg *m)
{
	return run_list(s, m, s->ctx->hooks.keys, "KeyEntry", "Keys will follow",
	    "KeysComplete");
}

static enum ami_next
act_reload(struct ami_session *s, const struct ami_msg *m)
{
	char why[512] = "reload is not available";

	if (s->ctx->hooks.reload && s->ctx->hooks.reload(s->ctx->hooks.arg, why, sizeof(why))) {
		log_notice("AMI: '%s' reloaded pbxguard", s->username);
		ack(s, m, why);
	} else {
		error(s, m, why);
	}
	return AMI_CONTINUE;
}

static void
status_field(void *ectx, const char *key, const char *val)
{
	put_value(ectx, key, val);
}

static enum ami_next
act_status(struct ami_session *s, const struct ami_msg *m)
{
	struct ami_ctx *ctx = s->ctx;
	struct dbuf b;
	time_t now = time(NULL);

	dbuf_init(&b, 64 * 1024);
	head(&b, m, "Success", NULL);
	dbuf_printf(&b, "Version: pbxguard %s\r\nUptime: %ld\r\nLastReload: %ld\r\n"
	    "AMISessions: %u\r\nAMIUnauthenticated: %u\r\nAMIUsers: %zu\r\nBans: %zu\r\n",
	    PBXGUARD_VERSION, (long)(now - ctx->started), (long)(now - ctx->reloaded),
	    ctx->nsessions, ctx->unauth, ctx->users ? ctx->users->n : 0,
	    guard_bans_list(ctx->guard, now, NULL, 0));
	dbuf_printf(&b, "Upstream: %s\r\n", ctx->up ? ami_upstream_status(ctx->up) : "none");
	if (ctx->hooks.status)
		ctx->hooks.status(ctx->hooks.arg, status_field, &b);
	dbuf_puts(&b, "\r\n");
	flush(s, &b);
	return AMI_CONTINUE;
}

#define GUARD_READ (AMI_SYSTEM | AMI_REPORTING | AMI_SECURITY)
#define GUARD_WRITE (AMI_SYSTEM | AMI_SECURITY)

static const struct local_action local_actions[] = {
	{ "Login", 0, "Login Manager.", act_login, false },
	{ "Logoff", 0, "Logoff Manager.", act_logoff, false },
	{ "Challenge", 0, "Generate Challenge for MD5 Auth.", act_challenge, false },
	{ "Ping", 0, "Keepalive command.", act_ping, false },
	{ "Events", 0, "Control Event Flow.", act_events, false },
	{ "ListCommands", 0, "List available manager commands.", act_listcommands, false },
	{ "Bans", GUARD_READ, "List the addresses pbxguard bans.", act_bans, false },
	{ "Ban", GUARD_WRITE, "Ban an address (Address:, BanTime:).", act_ban, false },
	{ "Unban", GUARD_WRITE, "Lift the ban of an address (Address:).", act_unban, false },
	{ "SIPRegistrations", AMI_SYSTEM | AMI_REPORTING, "List the SIP registrations pbxguard holds.",
	  act_registrations, false },
	{ "KeysShow", AMI_SYSTEM | AMI_REPORTING, "List the keys pbxguard holds (keys show).",
	  act_keys, false },
	{ "PBXGuardStatus", AMI_SYSTEM | AMI_REPORTING, "Show pbxguard's state.", act_status,
	  false },
	{ "PBXGuardReload", AMI_SYSTEM | AMI_CONFIG, "Re-read pbxguard's AMI users and accounts.",
	  act_reload, false },
	/* Asterisk's Status and Reload mean other things: with an upstream,
	 * those names are Asterisk's, and pbxguard's keep their long names. */
	{ "Status", AMI_SYSTEM | AMI_REPORTING, "Show pbxguard's state.", act_status, true },
	{ "Reload", AMI_SYSTEM | AMI_CONFIG, "Re-read pbxguard's AMI users and accounts.",
	  act_reload, true },
};
static const size_t n_local_actions = sizeof(local_actions) / sizeof(local_actions[0]);

static const struct local_action *
find_local(const struct ami_session *s, struct slice name)
{
	for (size_t i = 0; i < n_local_actions; i++) {
		const struct local_action *a = &local_actions[i];
		if (slice_caseeq_cstr(name, a->name) && !(a->yields && s->ctx->up))
			return a;
	}
	return NULL;
}

/* ---- dispatch (Asterisk's process_message) ------------------------------ */

static enum ami_next
relay(struct ami_session *s, const struct ami_msg *m, struct slice action)
{
	struct ami_ctx *ctx = s->ctx;
	char buf[512], u[LOG_ESCAPED_SIZE(64)], as[ADDR_STRLEN];
	const char *why;

	int authority = ctx->up && ami_upstream_ready(ctx->up)
	    ? ami_upstream_authority(ctx->up, action) : -1;
	if (!ctx->up || (ami_upstream_ready(ctx->up) && authority < 0)) {
		snprintf(buf, sizeof(buf), "Invalid/unknown command: %.*s. Use Action: "
		    "ListCommands to show available commands.", (int)action.n, action.p);
		report_request(s, SECEVENT_REQUEST_BAD_FORMAT, action, "unknown action");
		error(s, m, buf);
		return AMI_CONTINUE;
	}
	if (!ami_upstream_ready(ctx->up)) {
		error(s, m, "Asterisk is not reachable through pbxguard now; try again later");
		return AMI_CONTINUE;
	}
	if (ami_policy_session_action(action)) {
		snprintf(buf, sizeof(buf), "%.*s is not available through pbxguard",
		    (int)action.n, action.p);
		error(s, m, buf);
		return AMI_CONTINUE;
	}
	if (!ami_policy_allows(m, action, authority, s->writeperm, s->write_explicit, &why)) {
		log_notice("AMI: '%s' from %s may not run %s: %s", s->username,
		    addr_str(&s->remote, as, sizeof(as)), log_escape(action, u, sizeof(u)), why);
		report_request(s, SECEVENT_REQUEST_NOT_ALLOWED, action, why);
		error(s, m, "Permission denied");
		return AMI_CONTINUE;
	}
	if (!ami_upstream_send(ctx->up, m, s->id))
		error(s, m, "Asterisk is not reachable through pbxguard now; try again later");
	return AMI_CONTINUE;
}

/* After a refusal: before login, only so many. */
static enum ami_next
refused(struct ami_session *s)
{
	char as[ADDR_STRLEN];

	if (s->authenticated || ++s->refused < AMI_PREAUTH_ERRORS)
		return AMI_CONTINUE;
	log_notice("AMI: %s: %u refused messages before login: closed",
	    addr_str(&s->remote, as, sizeof(as)), s->refused);
	return AMI_CLOSE;
}

static enum ami_next
process(struct ami_session *s, const struct ami_msg *m)
{
	static const char *const parse_errors[] = {
		[AMI_MSG_LINE_TOO_LONG] = "Failed to parse message: line too long",
		[AMI_MSG_TOO_MANY] = "Too many lines in message or allocation failure",
		[AMI_MSG_BAD_BYTES] = "Failed to parse message: control characters in a line",
	};

	if (m->status != AMI_MSG_OK) {
		report_request(s, SECEVENT_REQUEST_BAD_FORMAT, SLICE_LIT("message"),
		    parse_errors[m->status]);
		error(s, m, parse_errors[m->status]);
		return refused(s);
	}
	struct slice action = ami_get_nonempty(m, "Action");
	if (action.n == 0) {
		report_request(s, SECEVENT_REQUEST_BAD_FORMAT, SLICE_LIT("NONE"), "no Action");
		error(s, m, "Missing action in request");
		return refused(s);
	}
	const struct local_action *a = find_local(s, action);
	if (!s->authenticated && !(a && (a->fn == act_login || a->fn == act_logoff ||
	    a->fn == act_challenge))) {
		report_request(s, SECEVENT_REQUEST_NOT_ALLOWED, action, "not logged in");
		error(s, m, "Permission denied");
		return refused(s);
	}
	if (!a)
		return relay(s, m, action);
	if (!may_run(s, a->authority)) {
		report_request(s, SECEVENT_REQUEST_NOT_ALLOWED, action,
		    "the user's write classes do not include the action's");
		error(s, m, "Permission denied");
		return AMI_CONTINUE;
	}
	return a->fn(s, m);
}

/* ---- the session -------------------------------------------------------- */

bool
ami_session_init(struct ami_session *s, struct ami_ctx *ctx, uint64_t id,
    const struct addr *remote, const struct addr *local, bool tls, ami_write_fn write,
    void *conn)
{
	char greet[96];

	memset(s, 0, sizeof(*s));
	if (!ami_reader_init(&s->rd, AMI_MAX_LINE, AMI_PREAUTH_HEADERS))
		return false;
	s->ctx = ctx;
	s->id = id;
	s->remote = *remote;
	s->local = *local;
	s->tls = tls;
	s->write = write;
	s->conn = conn;
	s->authstart = time(NULL);
	s->send_events = AMI_ALL;
	int n = snprintf(greet, sizeof(greet), "Asterisk Call Manager/%s\r\n",
	    ctx->upstream_version[0] ? ctx->upstream_version : ctx->cfg->ami.version);
	write(conn, greet, (size_t)n);
	return true;
}

void
ami_session_destroy(struct ami_session *s)
{
	char as[ADDR_STRLEN];

	addr_str(&s->remote, as, sizeof(as));
	if (s->authenticated && s->displayconnects)
		log_notice("AMI: Manager '%s' logged off from %s", s->username, as);
	else if (!s->authenticated && s->ctx->cfg->ami.displayconnects)
		log_info("AMI: connect attempt from %s unable to authenticate", as);
	free_filters(s);
	ami_reader_free(&s->rd);
	free(s->deferred);
	s->deferred = NULL;
}

enum ami_next
ami_session_input(struct ami_session *s, struct slice in, size_t *used)
{
	size_t off = 0;
	bool oom;

	while (off < in.n) {
		size_t k;
		const struct ami_msg *m = ami_reader_feed(&s->rd, slice_sub(in, off, in.n - off),
		    &k, &oom);
		off += k;
		if (oom) {
			*used = off;
			return AMI_CLOSE;
		}
		if (!m)
			break;
		enum ami_next next = process(s, m);
		if (next == AMI_WAIT)
			s->parked = m;
		if (next != AMI_CONTINUE) {
			*used = off;
			return next;
		}
	}
	*used = off;
	return AMI_CONTINUE;
}

enum ami_next
ami_session_resume(struct ami_session *s)
{
	const struct ami_msg *m = s->parked;

	if (!m)
		return AMI_CONTINUE;
	s->parked = NULL;
	enum ami_next next = process(s, m);
	if (next == AMI_WAIT)
		s->parked = m;
	return next;
}

void
ami_session_deferred(struct ami_session *s)
{
	if (s->deferred)
		s->write(s->conn, s->deferred, s->ndeferred);
	free(s->deferred);
	s->deferred = NULL;
	s->ndeferred = 0;
}

static bool
matches(struct ami_session *s, pcre2_code *re, struct slice text)
{
	return pcre2_match(re, (PCRE2_SPTR)text.p, text.n, 0, 0, s->md, NULL) >= 0;
}

void
ami_session_event(struct ami_session *s, int category, struct slice text)
{
	if (!s->authenticated || (s->readperm & category) != category ||
	    (s->send_events & category) != category)
		return;
	if (s->ninclude) {
		bool any = false;
		for (size_t i = 0; i < s->ninclude && !any; i++)
			any = matches(s, s->include[i], text);
		if (!any)
			return;
	}
	for (size_t i = 0; i < s->nexclude; i++)
		if (matches(s, s->exclude[i], text))
			return;
	s->write(s->conn, text.p, text.n);
}

void
ami_session_relay(struct ami_session *s, struct slice text)
{
	s->write(s->conn, text.p, text.n);
}
