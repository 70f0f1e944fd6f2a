#include "http/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "core/listen.h"
#include "core/log.h"
#include "core/rand.h"
#include "http/basic.h"
#include "http/conn.h"

#define HTTP_WORKERS 2		/* the machine's cores; hashes are CPU only */
#define HTTP_MAX_QUEUED 64	/* hashes waiting: past it, 503 and Retry-After */
#define HTTP_MAX_REQUESTS 1000	/* per connection, as Apache's MaxKeepAliveRequests 100 x 10 */

/* A Basic check that runs on a worker: the password never leaves this. */
struct auth_job {
	struct hconn *c;		/* NULL: the connection went away meanwhile */
	char user[HTP_MAX_USER + 1];
	size_t ulen;
	char pw[BASIC_MAX];
	size_t pwlen;
	struct guard_web_job gj;
	bool matched;
	struct htp_users *row;		/* the user from SQL (or none: empty), owned */
};

static const char *
reason_phrase(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* ---- connections ---------------------------------------------------------- */

static void conn_read(struct bufferevent *bev, void *arg);
static void job_free(struct auth_job *j);
static void conn_event(struct bufferevent *bev, short what, void *arg);

static void
set_timer(struct hconn *c, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };
	evtimer_add(c->timer, &tv);
}

static void
conn_free(struct hconn *c)
{
	struct http_server *srv = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	if (c->job)
		c->job->c = NULL; /* its done() frees it */
	if (c->parked)
		job_free(c->parked);
	webproxy_free(c->proxy);
	if (c->timer)
		event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c->head);
	if (c->body)
		OPENSSL_cleanse(c->body, c->body_n);
	free(c->body);
	free(c);
}

static void
drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(arg);
}

/* Apache's lingering close: after refusing a request that was still being
 * sent, read and discard for a moment, so the client's TCP does not answer
 * our unread bytes with a reset that destroys the refusal before it is read. */
static void
discard(struct bufferevent *bev, void *arg)
{
	(void)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

#define HTTP_LINGER_S 2

void
http_conn_close(struct hconn *c)
{
	c->closing = true;
	if (c->linger) {
		discard(c->bev, c);
		bufferevent_setcb(c->bev, discard, NULL, conn_event, c);
		bufferevent_enable(c->bev, EV_READ);
		set_timer(c, HTTP_LINGER_S);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, NULL, drained, conn_event, c);
}


static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *c = arg;
	(void)fd;
	(void)what;
	/* Idle between requests, or a head (or body) that never finished. */
	conn_free(c);
}

void
http_respond(struct hconn *c, unsigned status, const char *ctype, const char *extra,
    const void *body, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	if (c->closing)
		return;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (c->requests >= HTTP_MAX_REQUESTS || (status >= 400 && status != 401 && status != 404))
		c->keep = false;
	c->srv->n_status[status / 100 < 6 ? status / 100 : 5]++;
	evbuffer_add_printf(out, "HTTP/1.1 %u %s\r\nDate: %s\r\nServer: pbxguard\r\n", status,
	    reason_phrase(status), date);
	if (ctype)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (status >= 200 && status != 204 && status != 304) /* RFC 9110 8.6 */
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", n);
	/* Everything here is private and live: never cached, framed, sniffed
	 * or allowed to run anything but its own files. */
	evbuffer_add_printf(out, "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Cross-Origin-Opener-Policy: same-origin\r\n"
	    "Cross-Origin-Resource-Policy: same-origin\r\n"
	    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n"
	    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
	    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'none'\r\n");
	if (c->l->tls)
		evbuffer_add_printf(out, "Strict-Transport-Security: max-age=31536000\r\n");
	if (extra)
		evbuffer_add(out, extra, strlen(extra));
	evbuffer_add_printf(out, "%s\r\n", c->keep ? "" : "Connection: close\r\n");
	if (n && !slice_eq_cstr(c->h.method, "HEAD"))
		evbuffer_add(out, body, n);
}

static void
process(struct hconn *c);

void
http_request_done(struct hconn *c)
{
	c->busy = false;
	c->requests++;
	free(c->head);
	c->head = NULL;
	if (c->body)
		OPENSSL_cleanse(c->body, c->body_n);
	free(c->body);
	c->body = NULL;
	c->body_n = 0;
	c->want_body = false;
	c->user[0] = '\0';
	memset(&c->h, 0, sizeof(c->h));
	if (!c->keep || c->closing) {
		http_conn_close(c);
		return;
	}
	set_timer(c, c->srv->cfg->http.keepalive_timeout);
	bufferevent_enable(c->bev, EV_READ);
	process(c); /* a pipelined request may be waiting */
}

/* An error before (or instead of) a request: said, then closed. */
static void
fail(struct hconn *c, unsigned status, const char *why)
{
	char body[256], as[ADDR_STRLEN];
	int n = snprintf(body, sizeof(body), "%u %s\n", status, reason_phrase(status));

	log_info("HTTP: %s: %u: %s", addr_str(&c->remote, as, sizeof(as)), status, why);
	c->keep = false;
	c->linger = true;
	c->busy = true;
	http_respond(c, status, "text/plain; charset=utf-8", NULL, body, (size_t)n);
	http_request_done(c);
}

static void
challenge(struct hconn *c)
{
	char extra[256];
	static const char body[] =
	    "<!DOCTYPE html>\n<html><head><title>401 Unauthorized</title></head><body>\n"
	    "<h1>Unauthorized</h1>\n<p>This server could not verify that you are authorized "
	    "to access the document requested.</p>\n</body></html>\n";

	/* mod_auth_basic's challenge, byte for byte. */
	snprintf(extra, sizeof(extra), "WWW-Authenticate: Basic realm=\"%s\"\r\n",
	    c->srv->cfg->http.auth_name);
	http_respond(c, 401, "text/html; charset=utf-8", extra, body, sizeof(body) - 1);
	http_request_done(c);
}

/* ---- the password and group files ---------------------------------------- */

static bool
load_files(struct http_server *srv, char *why, size_t whysz)
{
	const struct config_http *h = &srv->cfg->http;
	char err[768];
	struct htp_groups *g = NULL;
	struct htp_users *u = NULL;

	if (!srv->store && !(u = htp_load(h->user_file, err, sizeof(err)))) {
		snprintf(why, whysz, "%s (the users in force stay)", err);
		return false;
	}
	if (h->group_file[0] && !(g = htp_groups_load(h->group_file, err, sizeof(err)))) {
		htp_free(u);
		snprintf(why, whysz, "%s (the users in force stay)", err);
		return false;
	}
	for (size_t i = 0; u && i < u->nwarn; i++)
		log_warn("HTTP: %s", u->warn[i]);
	htp_free(srv->users);
	htp_groups_free(srv->groups);
	srv->users = u;
	srv->groups = g;
	guard_web_flush(srv->guard);
	if (srv->store) {
		srv->store->ops->refresh(srv->store->impl, true); /* answers cached go too */
		snprintf(why, whysz, "web users from %s (AuthDBDUserPWQuery)%s%s",
		    srv->store->where, g ? ", groups from " : "", g ? h->group_file : "");
	} else {
		snprintf(why, whysz, "%zu web user%s from %s%s%s", u->n, u->n == 1 ? "" : "s",
		    h->user_file, g ? ", groups from " : "", g ? h->group_file : "");
	}
	return true;
}

bool
http_server_reload(struct http_server *srv, char *why, size_t whysz)
{
	srv->checked = time(NULL);
	return load_files(srv, why, whysz);
}

/* At most once a second: a changed file is read again, the cache flushed. */
static void
refresh(struct http_server *srv, time_t now)
{
	char why[1024];
	const struct config_http *h = &srv->cfg->http;

	if (now == srv->checked)
		return;
	srv->checked = now;
	if (!(srv->users && htp_changed(srv->users, h->user_file)) &&
	    !(srv->groups && htp_groups_changed(srv->groups, h->group_file)))
		return;
	if (load_files(srv, why, sizeof(why)))
		log_notice("HTTP: changed on disk: %s", why);
	else
		log_err("HTTP: %s", why);
}

/* ---- authentication --------------------------------------------------------- */

static void dispatch(struct hconn *c);
static void read_body(struct hconn *c);

static struct guard_source
source_of(struct hconn *c)
{
	return (struct guard_source){ &c->remote, &c->l->local, c->l->tls ? "TLS" : "TCP", "HTTP",
		c->srv->cfg->http.acl };
}

static struct guard_web_login
login_of(struct hconn *c, struct auth_job *j, const struct guard_source *src)
{
	return (struct guard_web_login){ src, j->row ? j->row : c->srv->users, c->srv->groups,
		{ j->user, j->ulen }, { j->pw, j->pwlen }, time(NULL) };
}

static void
job_free(struct auth_job *j)
{
	htp_free(j->row);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void
finish_auth(struct hconn *c, struct auth_job *j)
{
	struct guard_verdict v;
	struct guard_source src = source_of(c);
	struct guard_web_login rq = login_of(c, j, &src);
	char as[ADDR_STRLEN], u[LOG_ESCAPED_SIZE(64)];

	c->job = NULL;
	bool ok = guard_web_login(c->srv->guard, &rq, &j->gj, j->matched, &v);
	guard_report(c->srv->guard, &src, SLICE_NULL, &v);
	if (!ok) {
		c->srv->n_auth_fail++;
		log_info("HTTP: %s: user %s: %s", addr_str(&c->remote, as, sizeof(as)),
		    log_escape(rq.username, u, sizeof(u)), v.reason);
		job_free(j);
		challenge(c);
		return;
	}
	c->srv->n_auth_ok++;
	memcpy(c->user, j->user, j->ulen);
	c->user[j->ulen] = '\0';
	job_free(j);
	read_body(c);
}

static void
job_work(void *arg)
{
	struct auth_job *j = arg;
	j->matched = htp_verify(j->gj.hash, j->pw, j->pwlen);
}

static void
job_done(void *arg)
{
	struct auth_job *j = arg;
	if (!j->c) {
		job_free(j);
		return;
	}
	finish_auth(j->c, j);
}

static void check(struct hconn *c, struct auth_job *j);

static void
authenticate(struct hconn *c)
{
	struct http_server *srv = c->srv;
	struct slice user, pw;
	char buf[BASIC_MAX];
	time_t now = time(NULL);

	refresh(srv, now);
	if (!c->h.authorization.p) {
		challenge(c); /* a browser's first request: no event, no strike */
		return;
	}
	enum basic_result br = basic_decode(c->h.authorization, buf, &user, &pw);
	if (br == BASIC_OTHER_SCHEME) {
		challenge(c);
		return;
	}
	if (br == BASIC_MALFORMED) {
		struct guard_verdict v;
		struct guard_source src = source_of(c);
		guard_malformed(srv->guard, SLICE_NULL, slice_cstr("Authorization"),
		    "undecodable Basic credentials", &v);
		guard_report(srv->guard, &src, SLICE_NULL, &v);
		OPENSSL_cleanse(buf, sizeof(buf));
		fail(c, 400, "undecodable Basic credentials");
		return;
	}
	struct auth_job *j = calloc(1, sizeof(*j));
	if (!j) {
		OPENSSL_cleanse(buf, sizeof(buf));
		fail(c, 500, "out of memory");
		return;
	}
	j->ulen = user.n > HTP_MAX_USER ? HTP_MAX_USER : user.n;
	memcpy(j->user, user.p, j->ulen);
	memcpy(j->pw, pw.p, pw.n);
	j->pwlen = pw.n;
	OPENSSL_cleanse(buf, sizeof(buf));
	check(c, j);
}

/*
 * AuthDBDUserPWQuery: the user's hash from the database, into j->row.
 * False when the check cannot go on now: parked until the store is ready,
 * or answered 503 (the database does not answer: no strike, nobody in).
 */
static bool
sql_user(struct hconn *c, struct auth_job *j)
{
	static const char down[] = "the user database does not answer: retry in a moment\n";
	struct http_server *srv = c->srv;
	struct account a;
	char as[ADDR_STRLEN];
	bool found = false;

	switch (store_lookup(srv->store, (struct slice){ j->user, j->ulen }, SLICE_LIT(""), &a)) {
	case STORE_PENDING:
		c->parked = j;
		return false;
	case STORE_UNAVAILABLE:
		log_warn("HTTP: %s: login not checked: %s does not answer",
		    addr_str(&c->remote, as, sizeof(as)), srv->store->where);
		job_free(j);
		http_respond(c, 503, "text/plain; charset=utf-8", "Retry-After: 5\r\n", down,
		    sizeof(down) - 1);
		http_request_done(c);
		return false;
	case STORE_FOUND:
		found = a.has_hash;
		break;
	case STORE_NOT_FOUND:
		break;
	}
	j->row = found ? htp_one((struct slice){ j->user, j->ulen }, a.hash)
	    : calloc(1, sizeof(*j->row));
	account_wipe(&a);
	if (!j->row) {
		job_free(j);
		fail(c, 500, "out of memory");
		return false;
	}
	return true;
}

/* The password against the user's hash, on a worker (or from the cache). */
static void
check(struct hconn *c, struct auth_job *j)
{
	struct http_server *srv = c->srv;

	if (srv->store && !sql_user(c, j))
		return;
	struct guard_source src = source_of(c);
	struct guard_web_login rq = login_of(c, j, &src);
	guard_web_prepare(srv->guard, &rq, &j->gj);
	if (j->gj.cached) {
		j->matched = true;
		finish_auth(c, j);
		return;
	}
	j->c = c;
	if (!workq_submit(srv->wq, job_work, job_done, j)) {
		job_free(j);
		srv->n_busy++;
		c->busy = true;
		http_respond(c, 503, "text/plain; charset=utf-8", "Retry-After: 1\r\n",
		    "busy: too many logins at once, retry in a second\n", 49);
		http_request_done(c);
		return;
	}
	c->job = j;
}

/* ---- requests ----------------------------------------------------------------- */

/* A Host we may put in a Location: a name or address, nothing else. */
static bool
safe_host(struct slice h)
{
	if (h.n == 0 || h.n > 255)
		return false;
	for (size_t i = 0; i < h.n; i++) {
		char ch = h.p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == ':' || ch == '[' ||
		    ch == ']'))
			return false;
	}
	return true;
}

/* http: listeners answer every request with the https: address. */
static void
redirect(struct hconn *c)
{
	const struct config_http *hc = &c->srv->cfg->http;
	const struct http_listen *to = NULL;
	char loc[1024], host[ADDR_STRLEN + 2], extra[1200];

	for (size_t i = 0; i < hc->nlisten && !to; i++)
		if (hc->listen[i].tls)
			to = &hc->listen[i];
	struct slice hh = c->h.host;
	/* The name the client used, without its port; else our address. */
	if (hh.p && safe_host(hh)) {
		long colon = hh.p[0] == '[' ? slice_find(hh, ']') + 1 : slice_find(hh, ':');
		if (colon > 0 && (size_t)colon < hh.n)
			hh.n = (size_t)colon;
		slice_copy(hh, host, sizeof(host));
	} else {
		char a[ADDR_STRLEN];
		addr_host_str(&to->addr, a, sizeof(a));
		snprintf(host, sizeof(host), strchr(a, ':') ? "[%s]" : "%s", a);
	}
	/* The path goes along only when it is plain: no reflected markup. */
	struct slice path = c->h.target;
	for (size_t i = 0; i < path.n; i++)
		if (strchr("\"'<>\\`{}|^", path.p[i]))
			path = slice_cstr("/");
	snprintf(loc, sizeof(loc), "https://%s:%u%.*s", host, addr_port(&to->addr),
	    (int)(path.n > 900 ? 1 : path.n), path.p);
	snprintf(extra, sizeof(extra), "Location: %s\r\n", loc);
	c->keep = false;
	http_respond(c, 301, "text/plain; charset=utf-8", extra, "Use HTTPS.\n", 11);
	http_request_done(c);
}

static bool
ours(struct slice path)
{
	return slice_eq_cstr(path, "/metrics") || slice_startswith_case(path, "/pbxguard/") ||
	    slice_eq_cstr(path, "/pbxguard");
}

static void
dispatch(struct hconn *c)
{
	if (admin_route(c))
		return;
	if (c->srv->cfg->http.has_proxy) {
		c->srv->n_proxied++;
		webproxy_start(c);
		return;
	}
	if (slice_eq_cstr(c->h.path, "/favicon.ico")) {
		http_respond(c, 204, NULL, NULL, "", 0); /* browsers ask; we have none */
		http_request_done(c);
		return;
	}
	if (slice_eq_cstr(c->h.path, "/")) {
		http_respond(c, 302, "text/plain; charset=utf-8", "Location: /pbxguard/\r\n",
		    "/pbxguard/\n", 11);
		http_request_done(c);
		return;
	}
	static const char nf[] = "404 Not Found\n";
	http_respond(c, 404, "text/plain; charset=utf-8", NULL, nf, sizeof(nf) - 1);
	http_request_done(c);
}

/* After authentication: the body, when there is one, then the answer. */
static void
read_body(struct hconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (!c->h.has_length || c->h.content_length == 0) {
		dispatch(c);
		return;
	}
	uint64_t max = ours(c->h.path) ? HTTP_MAX_API_BODY : HTTP_MAX_BODY;
	if (c->h.content_length > max) {
		fail(c, 413, "request body too large");
		return;
	}
	if (evbuffer_get_length(in) < c->h.content_length) {
		struct slice expect = http_field(&c->h, "Expect");
		if (!c->want_body && expect.p && slice_caseeq_cstr(expect, "100-continue") &&
		    evbuffer_get_length(in) == 0)
			bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (!c->want_body)
			set_timer(c, c->srv->cfg->http.request_timeout);
		c->want_body = true;
		bufferevent_enable(c->bev, EV_READ);
		return;
	}
	c->want_body = false;
	if (!(c->body = malloc(c->h.content_length))) {
		fail(c, 500, "out of memory");
		return;
	}
	c->body_n = (size_t)c->h.content_length;
	evbuffer_remove(in, c->body, c->body_n);
	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	dispatch(c);
}

/* Parse what has arrived; start at most one request at a time. */
static void
process(struct hconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	unsigned status;
	const char *why;

	if (c->closing)
		return;
	if (c->busy) {
		if (c->want_body)
			read_body(c); /* more of the body came */
		return;
	}
	/* RFC 9112 2.2: blank lines before a request are ignored. */
	for (;;) {
		unsigned char ch;
		if (evbuffer_copyout(in, &ch, 1) != 1 || (ch != '\r' && ch != '\n'))
			break;
		evbuffer_drain(in, 1);
	}
	size_t avail = evbuffer_get_length(in);
	if (avail == 0)
		return;
	size_t take = avail < HTTP_MAX_HEAD ? avail : HTTP_MAX_HEAD;
	const char *p = (const char *)evbuffer_pullup(in, (ssize_t)take);
	struct http_head h;
	enum http_parse r = http_parse_request((struct slice){ p, take }, HTTP_MAX_HEAD, &h,
	    &status, &why);
	if (r == HTTP_MORE)
		return;
	c->busy = true;
	c->srv->n_requests++;
	if (r == HTTP_BAD) {
		c->keep = false;
		c->h.method = SLICE_NULL;
		fail(c, status, why);
		return;
	}
	/* The head is copied out, so the slices stay put while we wait. */
	if (!(c->head = malloc(h.head_len))) {
		fail(c, 500, "out of memory");
		return;
	}
	evbuffer_remove(in, c->head, h.head_len);
	http_parse_request((struct slice){ c->head, h.head_len }, HTTP_MAX_HEAD, &c->h, &status,
	    &why);
	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	c->keep = c->h.minor >= 1 ? !c->h.close : c->h.keep_alive && !c->h.close;
	if (!c->l->tls) {
		redirect(c);
		return;
	}
	if (c->h.chunked) {
		fail(c, 411, "a chunked request body (send Content-Length)");
		return;
	}
	authenticate(c);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process(arg);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct hconn *c = arg;
	char as[ADDR_STRLEN];

	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_set_timeouts(bev, NULL, NULL);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && c->requests == 0 && !c->busy && c->l->tls) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char buf[160] = "connection closed";
		if (e)
			ERR_error_string_n(e, buf, sizeof(buf));
		log_info("HTTP: TLS from %s: %s", addr_str(&c->remote, as, sizeof(as)), buf);
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct http_listener *l = arg;
	struct http_server *srv = l->srv;
	struct hconn *c;
	struct addr from;
	char as[ADDR_STRLEN];
	(void)lev;

	addr_from_sockaddr(sa, salen, &from);
	struct guard_source src = { &from, &l->local, l->tls ? "TLS" : "TCP", "HTTP",
		srv->cfg->http.acl };
	if (guard_admit(srv->guard, &src, time(NULL)) != GUARD_ADMIT) {
		evutil_closesocket(fd);
		return;
	}
	if (srv->nconns >= srv->cfg->http.max_connections) {
		log_notice("HTTP: %s: too many connections (max-connections %u): closed",
		    addr_str(&from, as, sizeof(as)), srv->cfg->http.max_connections);
		evutil_closesocket(fd);
		return;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		evutil_closesocket(fd);
		return;
	}
	/* A head and a body leave as separate TLS records: without this, Nagle
	 * holds the second for the client's delayed ACK (40 ms a response). */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->srv = srv;
	c->l = l;
	c->remote = from;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	if (l->tls) {
		SSL *ssl = SSL_new(srv->tls);
		if (!ssl) {
			evutil_closesocket(fd);
			conn_free(c);
			return;
		}
		c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			SSL_free(ssl);
			evutil_closesocket(fd);
		} else {
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		}
	} else {
		c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			evutil_closesocket(fd);
	}
	if (!c->bev || !(c->timer = evtimer_new(srv->base, timer_fired, c))) {
		conn_free(c);
		return;
	}
	/* The handshake and the first head, within the request timeout. */
	set_timer(c, srv->cfg->http.request_timeout);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_MAX_BODY + HTTP_MAX_HEAD);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- start and stop --------------------------------------------------------- */

static bool
listen_on(struct http_server *srv, const struct http_listen *hl)
{
	struct http_listener *l = &srv->l[srv->nl];
	char as[ADDR_STRLEN];

	l->srv = srv;
	l->local = hl->addr;
	l->tls = hl->tls;
	l->lev = tcp_listen(srv->base, on_accept, l, &hl->addr, 128);
	if (!l->lev) {
		log_err("HTTP: cannot listen on %s: %s", addr_str(&hl->addr, as, sizeof(as)),
		    strerror(errno));
		return false;
	}
	srv->nl++;
	log_notice("HTTP: listening on %s://%s%s", hl->tls ? "https" : "http",
	    addr_str(&hl->addr, as, sizeof(as)), hl->tls ? "" : " (redirects to https)");
	return true;
}

/* The SQL store has answers: the logins parked for them go on. */
static void
users_ready(void *arg)
{
	struct http_server *srv = arg;
	struct hconn *next;

	for (struct hconn *c = srv->conns; c; c = next) {
		next = c->next;
		struct auth_job *j = c->parked;
		if (!j)
			continue;
		c->parked = NULL;
		check(c, j);
	}
}

struct http_server *
http_server_start(struct event_base *base, const struct config *cfg, struct guard *guard,
    SSL_CTX *tls, const struct http_hooks *hooks, struct store *users)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	char why[1024];

	if (!srv) {
		store_free(users);
		return NULL;
	}
	srv->store = users;
	if (users)
		store_set_ready(users, users_ready, srv);
	srv->base = base;
	srv->cfg = cfg;
	srv->guard = guard;
	srv->tls = tls;
	srv->hooks = *hooks;
	srv->started = srv->checked = time(NULL);
	rand_bytes(srv->csrf_key, sizeof(srv->csrf_key));
	if (!load_files(srv, why, sizeof(why))) {
		log_err("HTTP: %s", why);
		goto bad;
	}
	log_notice("HTTP: %s", why);
	if (!(srv->wq = workq_new(base, HTTP_WORKERS, HTTP_MAX_QUEUED))) {
		log_err("HTTP: cannot start the hashing threads");
		goto bad;
	}
	for (size_t i = 0; i < cfg->http.nlisten; i++)
		if (!listen_on(srv, &cfg->http.listen[i]))
			goto bad;
	return srv;
bad:
	http_server_stop(srv);
	return NULL;
}

struct store *
http_server_users(const struct http_server *srv)
{
	return srv->store;
}

void
http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		conn_free(srv->conns);
	workq_free(srv->wq); /* frees the jobs the connections left */
	for (size_t i = 0; i < srv->nl; i++)
		evconnlistener_free(srv->l[i].lev);
	htp_free(srv->users);
	htp_groups_free(srv->groups);
	store_free(srv->store);
	OPENSSL_cleanse(srv->csrf_key, sizeof(srv->csrf_key));
	free(srv);
}
