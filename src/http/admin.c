/*
 * The admin page: three static files from the binary, the JSON state
 * behind them, the unban action (CSRF-checked), and /metrics.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/json.h"
#include "core/log.h"
#include "core/prom.h"
#include "guard/bans.h"
#include "http/conn.h"

/* Generated from src/http/assets/ by scripts/embed.py. */
extern const unsigned char asset_index[], asset_js[], asset_css[];
extern const size_t asset_index_len, asset_js_len, asset_css_len;

#define ADMIN_MAX_BANS 4096

static void
send_dbuf(struct hconn *c, unsigned status, const char *ctype, struct dbuf *b)
{
	if (b->failed) {
		static const char e[] = "500 Internal Server Error\n";
		http_respond(c, 500, "text/plain; charset=utf-8", NULL, e, sizeof(e) - 1);
	} else {
		http_respond(c, status, ctype, NULL, b->p ? b->p : "", b->n);
	}
	dbuf_free(b);
	http_request_done(c);
}

static void
send_json_error(struct hconn *c, unsigned status, const char *msg)
{
	struct dbuf b;
	struct json j;

	dbuf_init(&b, 4096);
	json_init(&j, &b);
	json_obj(&j, NULL);
	json_bool(&j, "ok", false);
	json_cstr(&j, "error", msg);
	json_end_obj(&j);
	send_dbuf(c, status, "application/json", &b);
}

/* The token the page must echo on actions: tied to the user, unknowable
 * to another site (a key made at start), and never in a cookie. */
static void
csrf_token(const struct http_server *srv, const char *user, char out[33])
{
	uint8_t mac[32];
	unsigned int len = sizeof(mac);

	if (!HMAC(EVP_sha256(), srv->csrf_key, sizeof(srv->csrf_key), (const uint8_t *)user,
	    strlen(user), mac, &len))
		memset(mac, 0, sizeof(mac));
	hex_encode(mac, 16, out);
}

static void
state(struct hconn *c)
{
	struct http_server *srv = c->srv;
	struct guard_stats st;
	struct dbuf b;
	struct json j;
	char tok[33];
	static struct ban_info bans[ADMIN_MAX_BANS];
	time_t now = time(NULL);

	dbuf_init(&b, 8u << 20);
	json_init(&j, &b);
	guard_stats(srv->guard, now, &st);
	csrf_token(srv, c->user, tok);
	json_obj(&j, NULL);
	json_cstr(&j, "user", c->user);
	json_cstr(&j, "csrf", tok);
	json_int(&j, "now", now);
	json_int(&j, "started", srv->started);
	json_cstr(&j, "version", PBXGUARD_VERSION);
	size_t nb = guard_bans_list(srv->guard, now, bans, ADMIN_MAX_BANS);
	json_arr(&j, "bans");
	for (size_t i = 0; i < nb && i < ADMIN_MAX_BANS; i++) {
		char as[IPKEY_STRLEN];
		json_obj(&j, NULL);
		json_cstr(&j, "address", ipkey_str(&bans[i].addr, as, sizeof(as)));
		json_int(&j, "until", bans[i].until);
		json_uint(&j, "count", bans[i].count);
		json_cstr(&j, "reason", ban_reason_name(bans[i].reason));
		json_uint(&j, "hits", bans[i].hits);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	json_obj(&j, "failures");
	json_arr(&j, "per_minute");
	for (size_t i = 0; i < GUARD_HIST_MINUTES; i++)
		json_uint(&j, NULL, st.fail_per_min[i]);
	json_end_arr(&j);
	json_arr(&j, "by_service");
	for (size_t i = 0; i < GUARD_NSERVICES; i++) {
		json_obj(&j, NULL);
		json_cstr(&j, "service", st.service[i]);
		json_uint(&j, "ok", st.auth_ok[i]);
		json_uint(&j, "failed", st.auth_fail[i]);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	json_end_obj(&j);
	json_obj(&j, "web");
	json_uint(&j, "users", srv->users ? srv->users->n : 0);
	json_uint(&j, "cache_entries", st.cache_live);
	json_uint(&j, "cache_hits", st.cache_hits);
	json_uint(&j, "cache_misses", st.cache_misses);
	json_end_obj(&j);
	if (srv->hooks.state)
		srv->hooks.state(srv->hooks.arg, &j);
	json_end_obj(&j);
	send_dbuf(c, 200, "application/json", &b);
}

/* The page's own origin, as the browser names it in Origin. */
static bool
same_origin(struct hconn *c)
{
	struct slice o = c->h.origin, site = c->h.sec_fetch_site;
	char want[300];

	if (site.p && !slice_caseeq_cstr(site, "same-origin") && !slice_caseeq_cstr(site, "none"))
		return false;
	if (!o.p)
		return true; /* not a browser's cross-site request: those carry Origin */
	if (!c->h.host.p)
		return false;
	int n = snprintf(want, sizeof(want), "https://%.*s", (int)c->h.host.n, c->h.host.p);
	return n > 0 && (size_t)n < sizeof(want) && slice_caseeq_cstr(o, want);
}

/* "address=..." from a form body, percent-decoded. */
static bool
form_value(struct slice body, const char *key, char *out, size_t outsz)
{
	struct slice rest = body;
	while (rest.n) {
		struct slice pair = slice_cut(rest, '&', &rest), v;
		struct slice k = slice_cut(pair, '=', &v);
		if (!slice_eq_cstr(k, key))
			continue;
		size_t n = 0;
		for (size_t i = 0; i < v.n; i++) {
			char ch = v.p[i];
			if (ch == '%' && i + 2 < v.n && hex_digit(v.p[i + 1]) >= 0 &&
			    hex_digit(v.p[i + 2]) >= 0) {
				ch = (char)(hex_digit(v.p[i + 1]) << 4 | hex_digit(v.p[i + 2]));
				i += 2;
			} else if (ch == '+') {
				ch = ' ';
			}
			if (n + 1 >= outsz)
				return false;
			out[n++] = ch;
		}
		out[n] = '\0';
		return true;
	}
	return false;
}

static void
unban(struct hconn *c)
{
	char tok[33], addr[128], as[ADDR_STRLEN], u[LOG_ESCAPED_SIZE(64)];
	struct ipkey k;

	csrf_token(c->srv, c->user, tok);
	if (!c->h.csrf_token.p || !ct_equal(c->h.csrf_token.p, c->h.csrf_token.n, tok, 32) ||
	    !same_origin(c)) {
		log_notice("HTTP: %s: user %s: unban refused: no valid CSRF token or another "
		    "origin", addr_str(&c->remote, as, sizeof(as)),
		    log_escape(slice_cstr(c->user), u, sizeof(u)));
		send_json_error(c, 403, "missing or wrong CSRF token, or a request from another site");
		return;
	}
	if (!form_value((struct slice){ c->body, c->body_n }, "address", addr, sizeof(addr)) ||
	    !ipkey_parse(slice_cstr(addr), &k)) {
		send_json_error(c, 400, "expected address=IP");
		return;
	}
	if (!guard_unban(c->srv->guard, &k, time(NULL))) {
		send_json_error(c, 404, "no ban in force for this address");
		return;
	}
	log_notice("HTTP: user %s unbanned %s from the admin page",
	    log_escape(slice_cstr(c->user), u, sizeof(u)), addr);
	struct dbuf b;
	struct json j;
	dbuf_init(&b, 4096);
	json_init(&j, &b);
	json_obj(&j, NULL);
	json_bool(&j, "ok", true);
	json_cstr(&j, "unbanned", addr);
	json_end_obj(&j);
	send_dbuf(c, 200, "application/json", &b);
}

static void
metrics(struct hconn *c)
{
	struct http_server *srv = c->srv;
	struct guard_stats st;
	struct dbuf b;
	time_t now = time(NULL);
	static const char *const classes[] = { "1xx", "1xx", "2xx", "3xx", "4xx", "5xx" };

	guard_stats(srv->guard, now, &st);
	dbuf_init(&b, 8u << 20);
	prom_family(&b, "pbxguard_auth_total", "counter",
	    "Authentication outcomes by service (failed: counted toward bans).");
	for (size_t i = 0; i < GUARD_NSERVICES; i++) {
		prom_sample(&b, "pbxguard_auth_total", (const char *const[]){ "service",
		    st.service[i], "outcome", "ok", NULL }, (double)st.auth_ok[i]);
		prom_sample(&b, "pbxguard_auth_total", (const char *const[]){ "service",
		    st.service[i], "outcome", "failed", NULL }, (double)st.auth_fail[i]);
	}
	prom_family(&b, "pbxguard_bans_active", "gauge", "Source addresses banned now.");
	prom_sample(&b, "pbxguard_bans_active", NULL, (double)st.bans);
	prom_family(&b, "pbxguard_start_time_seconds", "gauge", "When the daemon started.");
	prom_sample(&b, "pbxguard_start_time_seconds", NULL, (double)srv->started);
	prom_family(&b, "pbxguard_http_requests_total", "counter",
	    "Web requests answered, by status class.");
	for (size_t i = 1; i < 6; i++)
		prom_sample(&b, "pbxguard_http_requests_total",
		    (const char *const[]){ "code", classes[i], NULL }, (double)srv->n_status[i]);
	prom_family(&b, "pbxguard_http_connections", "gauge", "Web connections open.");
	prom_sample(&b, "pbxguard_http_connections", NULL, (double)srv->nconns);
	prom_family(&b, "pbxguard_http_users", "gauge", "Users in AuthUserFile.");
	prom_sample(&b, "pbxguard_http_users", NULL, srv->users ? (double)srv->users->n : 0);
	prom_family(&b, "pbxguard_http_auth_cache_entries", "gauge",
	    "Verified credentials cached (AuthnCacheTimeout).");
	prom_sample(&b, "pbxguard_http_auth_cache_entries", NULL, (double)st.cache_live);
	prom_family(&b, "pbxguard_http_auth_cache_lookups_total", "counter",
	    "Credential cache lookups for known users.");
	prom_sample(&b, "pbxguard_http_auth_cache_lookups_total",
	    (const char *const[]){ "result", "hit", NULL }, (double)st.cache_hits);
	prom_sample(&b, "pbxguard_http_auth_cache_lookups_total",
	    (const char *const[]){ "result", "miss", NULL }, (double)st.cache_misses);
	prom_family(&b, "pbxguard_http_hash_queue", "gauge", "Password hashes waiting or running.");
	prom_sample(&b, "pbxguard_http_hash_queue", NULL, (double)workq_queued(srv->wq));
	prom_family(&b, "pbxguard_http_busy_total", "counter",
	    "Logins answered 503 because the hash queue was full.");
	prom_sample(&b, "pbxguard_http_busy_total", NULL, (double)srv->n_busy);
	prom_family(&b, "pbxguard_http_proxied_total", "counter",
	    "Requests passed to the PBX's web GUI.");
	prom_sample(&b, "pbxguard_http_proxied_total", NULL, (double)srv->n_proxied);
	if (srv->hooks.metrics)
		srv->hooks.metrics(srv->hooks.arg, &b);
	send_dbuf(c, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

static void
asset(struct hconn *c, const char *ctype, const unsigned char *p, size_t n)
{
	http_respond(c, 200, ctype, NULL, p, n);
	http_request_done(c);
}

static void
not_allowed(struct hconn *c, const char *allow)
{
	char extra[64];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	http_respond(c, 405, "text/plain; charset=utf-8", extra, "405 Method Not Allowed\n", 23);
	http_request_done(c);
}

bool
admin_route(struct hconn *c)
{
	struct slice m = c->h.method, p = c->h.path;
	bool get = slice_eq_cstr(m, "GET") || slice_eq_cstr(m, "HEAD");

	if (slice_eq_cstr(p, "/metrics")) {
		if (!get)
			not_allowed(c, "GET, HEAD");
		else
			metrics(c);
		return true;
	}
	if (slice_eq_cstr(p, "/pbxguard")) {
		http_respond(c, 301, "text/plain; charset=utf-8", "Location: /pbxguard/\r\n",
		    "/pbxguard/\n", 11);
		http_request_done(c);
		return true;
	}
	if (!slice_startswith_case(p, "/pbxguard/"))
		return false;
	if (slice_eq_cstr(p, "/pbxguard/api/unban")) {
		if (!slice_eq_cstr(m, "POST"))
			not_allowed(c, "POST");
		else
			unban(c);
		return true;
	}
	if (!get) {
		not_allowed(c, "GET, HEAD");
		return true;
	}
	if (slice_eq_cstr(p, "/pbxguard/"))
		asset(c, "text/html; charset=utf-8", asset_index, asset_index_len);
	else if (slice_eq_cstr(p, "/pbxguard/app.js"))
		asset(c, "text/javascript; charset=utf-8", asset_js, asset_js_len);
	else if (slice_eq_cstr(p, "/pbxguard/app.css"))
		asset(c, "text/css; charset=utf-8", asset_css, asset_css_len);
	else if (slice_eq_cstr(p, "/pbxguard/api/state"))
		state(c);
	else {
		http_respond(c, 404, "text/plain; charset=utf-8", NULL, "404 Not Found\n", 14);
		http_request_done(c);
	}
	return true;
}
