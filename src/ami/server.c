#include "ami/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>

#include "ami/perm.h"
#include "ami/relay.h"
#include "ami/upstream.h"
#include "core/clock.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/secevent.h"

/* A reader that stops reading (events, long lists) is cut off past this. */
#define AMI_MAX_OUTPUT (8u << 20)

struct ami_listener {
	struct ami_server *srv;
	struct evconnlistener *lev;
	struct addr local;
	bool tls_only;
};

struct ami_conn {
	struct ami_conn *prev, *next;
	struct ami_server *srv;
	struct ami_listener *l;
	struct addr remote;
	evutil_socket_t fd;		/* until the bufferevent owns it */
	struct event *detect;		/* TLS or plain: waiting for the first bytes */
	int64_t detect_until;		/* ms, monotonic */
	struct bufferevent *bev;
	struct event *timer;		/* authtimeout, then the failed login's second */
	bool tls, started, closing, counted_unauth;
	bool waiting;			/* AMI_WAIT: reading stopped until the store is ready */
	uint64_t id;
	struct ami_session s;
};

struct ami_server {
	struct event_base *base;
	const struct config *cfg;
	SSL_CTX *tls;
	struct ami_ctx ctx;
	struct mgr_users *users;
	struct ami_listener l[2];
	size_t nl;
	struct ami_conn *conns;
	uint64_t next_id;
};

int
ami_looks_like_tls(const unsigned char *p, size_t n)
{
	if (n >= 1 && p[0] != 0x16)
		return 0;
	if (n >= 2 && p[1] != 0x03)
		return 0;
	if (n >= 3)
		return p[2] <= 0x04;
	return -1;
}

static void
conn_free(struct ami_conn *c)
{
	struct ami_server *srv = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->started && !c->s.authenticated)
		srv->ctx.unauth--;
	else if (!c->started && c->counted_unauth)
		srv->ctx.unauth--;
	if (c->started)
		ami_session_destroy(&c->s);
	srv->ctx.nsessions--;
	if (c->detect)
		event_free(c->detect);
	if (c->timer)
		event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);
	else if (c->fd >= 0)
		evutil_closesocket(c->fd);
	free(c);
}

static void
drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(arg);
}

static void conn_event(struct bufferevent *bev, short what, void *arg);

/* Close once everything written so far has gone out. */
static void
close_after_flush(struct ami_conn *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, NULL, drained, conn_event, c);
}

static void
conn_write(void *conn, const char *p, size_t n)
{
	struct ami_conn *c = conn;

	if (c->closing && !c->s.deferred)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) + n > AMI_MAX_OUTPUT) {
		char as[ADDR_STRLEN];
		if (!c->closing)
			log_warn("AMI: %s reads too slowly (over %u MB waiting): disconnected",
			    addr_str(&c->remote, as, sizeof(as)), AMI_MAX_OUTPUT >> 20);
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		/* Freed by its write callback or the next event: not from inside a
		 * write, which a session may be in the middle of. */
		bufferevent_setcb(c->bev, NULL, drained, conn_event, c);
		evbuffer_drain(bufferevent_get_output(c->bev),
		    evbuffer_get_length(bufferevent_get_output(c->bev)));
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	bufferevent_write(c->bev, p, n);
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct ami_conn *c = arg;
	char as[ADDR_STRLEN];
	(void)fd;
	(void)what;

	if (c->s.deferred) {
		ami_session_deferred(&c->s);
		close_after_flush(c);
		return;
	}
	if (c->closing || (c->started && c->s.authenticated))
		return;
	if (c->srv->cfg->ami.displayconnects)
		log_info("AMI: client from %s failed to authenticate in %u seconds",
		    addr_str(&c->remote, as, sizeof(as)), c->srv->cfg->ami.authtimeout);
	if (c->bev)
		close_after_flush(c);
	else
		conn_free(c);
}

/* What the session said to do; false when reading stops (c may be gone). */
static bool
follow(struct ami_conn *c, enum ami_next next)
{
	switch (next) {
	case AMI_CONTINUE:
		return true;
	case AMI_CLOSE:
		close_after_flush(c);
		return false;
	case AMI_CLOSE_LATER: {
		/* Asterisk's sleep(1): nothing more is read from this client. */
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		struct timeval tv = { AMI_FAIL_DELAY_MS / 1000, (AMI_FAIL_DELAY_MS % 1000) * 1000 };
		evtimer_add(c->timer, &tv);
		return false;
	}
	case AMI_WAIT:
		c->waiting = true;
		bufferevent_disable(c->bev, EV_READ);
		return false;
	}
	return false;
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct ami_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!c->closing && !c->waiting && evbuffer_get_length(in)) {
		size_t avail = evbuffer_get_length(in), used = 0;
		size_t take = avail < 16384 ? avail : 16384;
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)take);
		enum ami_next next = ami_session_input(&c->s, (struct slice){ p, take }, &used);
		evbuffer_drain(in, used);
		if (!follow(c, next))
			return;
		if (used == 0)
			break;
	}
}

/* The SQL store has answers: the logins that waited for them go on, then
 * whatever their clients sent meanwhile. */
static void
users_ready(void *arg)
{
	struct ami_server *srv = arg;
	struct ami_conn *next;

	for (struct ami_conn *c = srv->conns; c; c = next) {
		next = c->next;
		if (!c->waiting || c->closing)
			continue;
		c->waiting = false;
		if (!follow(c, ami_session_resume(&c->s)))
			continue;
		bufferevent_enable(c->bev, EV_READ);
		conn_read(c->bev, c);
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct ami_conn *c = arg;
	char as[ADDR_STRLEN];

	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		log_debug("AMI: TLS from %s: %s %s", addr_str(&c->remote, as, sizeof(as)),
		    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
		bufferevent_set_timeouts(bev, NULL, NULL);
		if (!ami_session_init(&c->s, &c->srv->ctx, c->id, &c->remote, &c->l->local, true,
		    conn_write, c)) {
			conn_free(c);
			return;
		}
		c->started = true;
		c->counted_unauth = false;
		return;
	}
	if (!c->started && (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char buf[160] = "timeout or connection closed";
		if (e)
			ERR_error_string_n(e, buf, sizeof(buf));
		log_info("AMI: TLS from %s: handshake failed: %s",
		    addr_str(&c->remote, as, sizeof(as)), buf);
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (c->s.deferred)
			return; /* the failed login's second runs out first */
		conn_free(c);
	}
}

static bool
start_session(struct ami_conn *c, bool tls)
{
	struct ami_server *srv = c->srv;

	c->tls = tls;
	if (tls) {
		SSL *ssl = SSL_new(srv->tls);
		if (!ssl)
			return false;
		c->bev = bufferevent_openssl_socket_new(srv->base, c->fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			SSL_free(ssl);
			return false;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		struct timeval hs = { (time_t)srv->cfg->tls_handshake_timeout, 0 };
		bufferevent_set_timeouts(c->bev, &hs, &hs);
	} else if (!(c->bev = bufferevent_socket_new(srv->base, c->fd, BEV_OPT_CLOSE_ON_FREE))) {
		return false;
	}
	c->fd = -1;
	/* Read at most a couple of maximal lines ahead of the parser. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 64 * 1024);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (!tls) {
		if (!ami_session_init(&c->s, &srv->ctx, c->id, &c->remote, &c->l->local, false,
		    conn_write, c))
			return false;
		c->started = true;
		c->counted_unauth = false;
	}
	return true;
}

/* The settings refuse what this client speaks: a security event, and close. */
static void
refuse(struct ami_conn *c, bool tls)
{
	char as[ADDR_STRLEN];
	struct secevent ev = {
		.type = SECEVENT_INVALID_TRANSPORT,
		.service = "AMI",
		.transport = "TCP",
		.local = &c->l->local,
		.remote = &c->remote,
		.attempted_transport = tls ? "TLS" : "TCP",
	};

	log_notice("AMI: %s spoke %s, which %s = no refuses: closed",
	    addr_str(&c->remote, as, sizeof(as)), tls ? "TLS" : "plain text",
	    tls ? "acceptencryptedconnection" : "acceptunencryptedconnection");
	secevent_emit(&ev);
	conn_free(c);
}

static void
decide(struct ami_conn *c, bool tls)
{
	const struct config_manager *m = &c->srv->cfg->ami;

	event_free(c->detect);
	c->detect = NULL;
	if (tls ? !m->accept_encrypted : !m->accept_unencrypted) {
		refuse(c, tls);
		return;
	}
	if (!start_session(c, tls))
		conn_free(c);
}

/* The seed's wait for a ClientHello: TLS if one comes in time, else the
 * plain greeting (a plain client that speaks first is plain at once). */
static void
detect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ami_conn *c = arg;
	unsigned char peek[3];

	ssize_t n = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
	if (what & EV_TIMEOUT) {
		/* Time is up: a hello already here still counts (sslclienthellotimeout 0). */
		decide(c, n > 0 && ami_looks_like_tls(peek, (size_t)n) != 0);
		return;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_free(c);
		return;
	}
	int t = n > 0 ? ami_looks_like_tls(peek, (size_t)n) : -1;
	if (t >= 0) {
		decide(c, t == 1);
		return;
	}
	/* 0x16 and no more yet: wait out the rest of the time. */
	int64_t left = c->detect_until - mono_ms();
	if (left <= 0) {
		decide(c, false);
		return;
	}
	struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
	event_add(c->detect, &tv);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct ami_listener *l = arg;
	struct ami_server *srv = l->srv;
	const struct config_manager *m = &srv->cfg->ami;
	struct ami_conn *c;
	struct addr from;
	char as[ADDR_STRLEN];
	(void)lev;

	addr_from_sockaddr(sa, salen, &from);
	struct guard_source src = { &from, &l->local, l->tls_only ? "TLS" : "TCP", "AMI", m->acl };
	if (guard_admit(srv->ctx.guard, &src, time(NULL)) != GUARD_ADMIT) {
		evutil_closesocket(fd);
		return;
	}
	/* Asterisk's authlimit: over it, closed before the greeting. */
	if (srv->ctx.unauth >= m->authlimit || srv->ctx.nsessions >= m->max_sessions) {
		log_notice("AMI: %s: %s (%u): closed", addr_str(&from, as, sizeof(as)),
		    srv->ctx.unauth >= m->authlimit ? "too many sessions not logged in, authlimit"
		    : "too many sessions, max-sessions",
		    srv->ctx.unauth >= m->authlimit ? m->authlimit : m->max_sessions);
		evutil_closesocket(fd);
		return;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->l = l;
	c->remote = from;
	c->fd = fd;
	c->id = ++srv->next_id;
	c->counted_unauth = true;
	srv->ctx.unauth++;
	srv->ctx.nsessions++;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	struct timeval auth = { (time_t)m->authtimeout, 0 };
	if (!(c->timer = evtimer_new(srv->base, timer_fired, c)) || evtimer_add(c->timer, &auth)) {
		conn_free(c);
		return;
	}
	if (l->tls_only) {
		if (!start_session(c, true))
			conn_free(c);
		return;
	}
	c->detect_until = mono_ms() + m->hello_timeout_ms;
	struct timeval tv = { (time_t)(m->hello_timeout_ms / 1000),
		(suseconds_t)(m->hello_timeout_ms % 1000) * 1000 };
	if (!(c->detect = event_new(srv->base, fd, EV_READ, detect_cb, c)) ||
	    event_add(c->detect, &tv) < 0)
		conn_free(c);
}

/* ---- the upstream's answers and events ---------------------------------- */

static struct ami_conn *
find_session(struct ami_server *srv, uint64_t sid)
{
	for (struct ami_conn *c = srv->conns; c; c = c->next)
		if (c->id == sid && c->started && !c->closing)
			return c;
	return NULL;
}

static void
broadcast(struct ami_server *srv, int category, struct slice text)
{
	for (struct ami_conn *c = srv->conns; c; c = c->next)
		if (c->started && !c->closing)
			ami_session_event(&c->s, category, text);
}

static void
up_to_session(void *arg, uint64_t sid, const struct ami_msg *m)
{
	struct ami_conn *c = find_session(arg, sid);
	struct dbuf b;

	if (!c)
		return; /* the session left before its answer came */
	dbuf_init(&b, AMI_MAX_OUTPUT);
	ami_relay_restore(m, &b);
	if (!b.failed)
		ami_session_relay(&c->s, (struct slice){ b.p, b.n });
	dbuf_free(&b);
}

static void
up_event(void *arg, const struct ami_msg *m)
{
	struct dbuf b;
	uint64_t sid;

	dbuf_init(&b, AMI_MAX_OUTPUT);
	if (ami_relay_route(m, &sid) == AMI_ROUTE_SESSION)
		ami_relay_restore(m, &b); /* a UserEvent: its sender's ActionID as sent */
	else
		ami_relay_text(m, &b);
	if (!b.failed)
		broadcast(arg, ami_relay_category(m), (struct slice){ b.p, b.n });
	dbuf_free(&b);
}

static void
up_state(void *arg, bool up, const char *why)
{
	struct ami_server *srv = arg;
	char as[ADDR_STRLEN], text[512];

	addr_str(&srv->cfg->ami.upstream, as, sizeof(as));
	int n = snprintf(text, sizeof(text), "Event: %s\r\nPrivilege: system,all\r\n"
	    "Upstream: %s\r\nReason: %s\r\n\r\n", up ? "PBXGuardUpstreamUp" : "PBXGuardUpstreamDown",
	    as, why);
	broadcast(srv, AMI_SYSTEM, (struct slice){ text, (size_t)n < sizeof(text) ? (size_t)n
	    : sizeof(text) - 1 });
}

/* Security and ban events, for users with read = security. */
static void
on_secevent(void *arg, const struct secevent *ev)
{
	char text[2048];
	size_t n = secevent_format_ami(ev, text, sizeof(text));
	broadcast(arg, AMI_SECURITY, (struct slice){ text, n });
}

static bool
logged_in(void *arg, const char *name, const struct ami_session *except)
{
	struct ami_server *srv = arg;
	for (struct ami_conn *c = srv->conns; c; c = c->next)
		if (c->started && &c->s != except && c->s.authenticated &&
		    strcasecmp(c->s.username, name) == 0)
			return true;
	return false;
}

/* ---- start, stop, reload ------------------------------------------------ */

static bool
load_users(struct ami_server *srv, char *why, size_t whysz)
{
	char err[768];

	if (srv->ctx.store) {
		srv->ctx.store->ops->refresh(srv->ctx.store->impl, true);
		snprintf(why, whysz, "AMI users from %s ([manager] soci-password-request)",
		    srv->ctx.store->where);
		return true;
	}
	struct mgr_users *u = mgr_users_load(srv->cfg->ami.users, srv->cfg, err, sizeof(err));

	if (!u) {
		snprintf(why, whysz, "%s (the users in force stay)", err);
		return false;
	}
	if (err[0])
		log_warn("AMI: %s", err);
	for (size_t i = 0; i < u->nwarn; i++)
		log_warn("AMI: %s", u->warn[i]);
	for (size_t i = 0; i < u->n; i++) {
		char unknown[256];
		ami_perm_parse(slice_cstr(u->u[i].read), NULL, unknown, sizeof(unknown));
		if (unknown[0])
			log_warn("AMI: user %s: read: unknown classes ignored: %s", u->u[i].name,
			    unknown);
		ami_perm_parse(slice_cstr(u->u[i].write), NULL, unknown, sizeof(unknown));
		if (unknown[0])
			log_warn("AMI: user %s: write: unknown classes ignored: %s", u->u[i].name,
			    unknown);
	}
	/* Sessions copied what they need at login: the old table can go. */
	mgr_users_free(srv->users);
	srv->users = u;
	srv->ctx.users = u;
	snprintf(why, whysz, "%zu AMI user%s from %s", u->n, u->n == 1 ? "" : "s",
	    srv->cfg->ami.users);
	return true;
}

bool
ami_server_reload(struct ami_server *srv, char *why, size_t whysz)
{
	bool ok = load_users(srv, why, whysz);
	if (ok)
		srv->ctx.reloaded = time(NULL);
	return ok;
}

static bool
listen_on(struct ami_server *srv, const struct addr *a, bool tls_only)
{
	struct ami_listener *l = &srv->l[srv->nl];
	char as[ADDR_STRLEN];

	l->srv = srv;
	l->local = *a;
	l->tls_only = tls_only;
	l->lev = tcp_listen(srv->base, on_accept, l, a, 64);
	if (!l->lev) {
		log_err("AMI: cannot listen on %s: %s", addr_str(a, as, sizeof(as)), strerror(errno));
		return false;
	}
	srv->nl++;
	log_notice("AMI: listening on %s (%s)", addr_str(a, as, sizeof(as)), tls_only ? "TLS only"
	    : srv->cfg->ami.accept_encrypted && srv->cfg->ami.accept_unencrypted
	    ? "TLS or plain text" : srv->cfg->ami.accept_encrypted ? "TLS" : "plain text");
	return true;
}

struct ami_server *
ami_server_start(struct event_base *base, const struct config *cfg, struct guard *guard,
    SSL_CTX *tls, const struct ami_hooks *hooks, struct store *users)
{
	struct ami_server *srv = calloc(1, sizeof(*srv));
	char why[1024];

	if (!srv) {
		store_free(users);
		return NULL;
	}
	srv->ctx.store = users;
	if (users)
		store_set_ready(users, users_ready, srv);
	srv->base = base;
	srv->cfg = cfg;
	srv->tls = tls;
	srv->ctx.cfg = cfg;
	srv->ctx.guard = guard;
	srv->ctx.hooks = *hooks;
	srv->ctx.started = srv->ctx.reloaded = time(NULL);
	srv->ctx.logged_in = logged_in;
	srv->ctx.srv = srv;
	if (!load_users(srv, why, sizeof(why))) {
		log_err("AMI: %s", why);
		goto bad;
	}
	log_notice("AMI: %s", why);
	if (!listen_on(srv, &cfg->ami.bind, false) ||
	    (cfg->ami.tls_only_listener && !listen_on(srv, &cfg->ami.tls_bind, true)))
		goto bad;
	if (cfg->ami.has_upstream) {
		struct ami_upstream_sink sink = { srv, up_to_session, up_event, up_state };
		if (!(srv->ctx.up = ami_upstream_start(base, &srv->ctx, &sink)))
			goto bad;
	}
	secevent_set_sink(on_secevent, srv);
	return srv;
bad:
	ami_server_stop(srv);
	return NULL;
}

void
ami_server_stop(struct ami_server *srv)
{
	if (!srv)
		return;
	secevent_set_sink(NULL, NULL);
	ami_upstream_stop(srv->ctx.up);
	srv->ctx.up = NULL;
	while (srv->conns)
		conn_free(srv->conns);
	for (size_t i = 0; i < srv->nl; i++)
		evconnlistener_free(srv->l[i].lev);
	mgr_users_free(srv->users);
	store_free(srv->ctx.store);
	free(srv);
}

struct store *
ami_server_users(const struct ami_server *srv)
{
	return srv->ctx.store;
}

const char *
ami_server_upstream(const struct ami_server *srv)
{
	return srv->ctx.up ? ami_upstream_status(srv->ctx.up) : NULL;
}

void
ami_server_sessions(const struct ami_server *srv, unsigned *open, unsigned *unauth)
{
	*open = srv->ctx.nsessions;
	*unauth = srv->ctx.unauth;
}
