#include "ami/upstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ami/perm.h"
#include "ami/relay.h"
#include "ami/session.h"
#include "core/dbuf.h"
#include "core/log.h"

/* Asterisk's own answers are larger than a client's (ListCommands, Command
 * output), yet bounded: at most 16 MB held for one message. */
#define UP_MAX_LINE 8192
#define UP_MAX_HEADERS 2048
#define UP_MAX_PENDING 1024	/* actions sent and not yet answered */
#define UP_RETRY_MAX 30		/* s between attempts, at most */

enum up_state { UP_DOWN, UP_CONNECTING, UP_GREETING, UP_CHALLENGE, UP_LOGIN, UP_LIST, UP_READY };

struct up_action {
	char *name, *line;
	int authority;
};

struct pending {
	uint64_t sid;
	char id[96];		/* the client's ActionID, for the error if we are cut off */
	bool has_id;
};

struct ami_upstream {
	struct event_base *base;
	struct ami_ctx *ctx;
	struct ami_upstream_sink sink;
	SSL_CTX *tls;
	struct bufferevent *bev;
	struct event *retry;
	unsigned backoff;
	enum up_state state;
	struct ami_reader rd;
	struct up_action *actions;
	size_t nactions;
	struct pending pending[UP_MAX_PENDING];
	size_t npending;
	char status[600];
};

static void up_connect(struct ami_upstream *u);

static void
set_status(struct ami_upstream *u, const char *s)
{
	snprintf(u->status, sizeof(u->status), "%s", s);
}

static void
free_actions(struct ami_upstream *u)
{
	for (size_t i = 0; i < u->nactions; i++) {
		free(u->actions[i].name);
		free(u->actions[i].line);
	}
	free(u->actions);
	u->actions = NULL;
	u->nactions = 0;
}

/* An error answer of ours to one session's relayed action (id: the client's
 * ActionID, "" for none), made into a message like the upstream's. */
static void
answer_error(struct ami_upstream *u, uint64_t sid, const char *id, const char *msg)
{
	char text[512];
	struct ami_reader rd;
	bool oom;
	size_t used;

	int n = snprintf(text, sizeof(text), "Response: Error\r\n%s%s%sMessage: %s\r\n\r\n",
	    *id ? "ActionID: " : "", id, *id ? "\r\n" : "", msg);
	if (n < 0 || (size_t)n >= sizeof(text) || !ami_reader_init(&rd, AMI_MAX_LINE, 8))
		return;
	const struct ami_msg *m = ami_reader_feed(&rd, (struct slice){ text, (size_t)n }, &used,
	    &oom);
	if (m)
		u->sink.to_session(u->sink.arg, sid, m);
	ami_reader_free(&rd);
}

/* Lost (or never reached): tell the sessions, answer what was waiting,
 * and try again later. */
static void
down(struct ami_upstream *u, const char *why)
{
	char as[ADDR_STRLEN], text[600];
	bool was_ready = u->state == UP_READY;

	addr_str(&u->ctx->cfg->ami.upstream, as, sizeof(as));
	if (u->bev) {
		bufferevent_free(u->bev);
		u->bev = NULL;
	}
	u->state = UP_DOWN;
	snprintf(text, sizeof(text), "down: %s", why);
	set_status(u, text);
	log_warn("AMI upstream %s: %s; trying again in %u s", as, why, u->backoff);
	for (size_t i = 0; i < u->npending; i++)
		answer_error(u, u->pending[i].sid, u->pending[i].has_id ? u->pending[i].id : "",
		    "The connection to Asterisk was lost");
	u->npending = 0;
	if (was_ready)
		u->sink.state(u->sink.arg, false, why);
	struct timeval tv = { (time_t)u->backoff, 0 };
	evtimer_add(u->retry, &tv);
	u->backoff = u->backoff * 2 > UP_RETRY_MAX ? UP_RETRY_MAX : u->backoff * 2;
}

static void
send_text(struct ami_upstream *u, const char *text)
{
	bufferevent_write(u->bev, text, strlen(text));
}

static void
got_actions(struct ami_upstream *u, const struct ami_msg *m)
{
	free_actions(u);
	if (!(u->actions = calloc(m->n ? m->n : 1, sizeof(*u->actions))))
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct slice h = m->h[i], rest;
		struct slice name = slice_cut(h, ':', &rest);
		if (slice_caseeq_cstr(name, "Response") || slice_caseeq_cstr(name, "ActionID") ||
		    name.n == 0 || name.n == h.n)
			continue;
		/* "Name: Synopsis (Priv: system,call,all)" */
		int authority = -1;
		for (size_t k = h.n; k-- > 7;) {
			if (memcmp(h.p + k - 7, "(Priv: ", 7) != 0)
				continue;
			struct slice priv = slice_sub(h, k, h.n - k);
			long close = slice_find(priv, ')');
			if (close >= 0)
				priv.n = (size_t)close;
			int expl, all = ami_perm_parse(priv, &expl, NULL, 0);
			authority = expl ? expl : all;
			break;
		}
		if (authority < 0)
			continue; /* classes unknown: unlisted, so never relayed */
		struct up_action *a = &u->actions[u->nactions];
		if (!(a->name = slice_dup(slice_trim(name))) || !(a->line = slice_dup(h))) {
			free(a->name);
			continue;
		}
		a->authority = authority;
		u->nactions++;
	}
}

static void
internal(struct ami_upstream *u, const struct ami_msg *m)
{
	struct slice id = ami_get(m, "ActionID");
	bool ok = slice_caseeq_cstr(ami_get(m, "Response"), "Success");
	const struct config_manager *cfg = &u->ctx->cfg->ami;
	char key[33], text[512];

	if (slice_eq_cstr(id, AMI_INTERNAL_PREFIX "challenge") && u->state == UP_CHALLENGE) {
		struct slice ch = ami_get(m, "Challenge");
		if (!ok || ch.n == 0) {
			down(u, "Asterisk refused Challenge/MD5");
			return;
		}
		guard_ami_key(ch, slice_cstr(cfg->upstream_secret), key);
		snprintf(text, sizeof(text), "Action: Login\r\nActionID: " AMI_INTERNAL_PREFIX
		    "login\r\nAuthType: MD5\r\nUsername: %s\r\nKey: %s\r\nEvents: on\r\n\r\n",
		    cfg->upstream_user, key);
		send_text(u, text);
		u->state = UP_LOGIN;
	} else if (slice_eq_cstr(id, AMI_INTERNAL_PREFIX "login") && u->state == UP_LOGIN) {
		if (!ok) {
			down(u, "Asterisk refused the login of upstream-username (check it and "
			    "upstream-secret against Asterisk's manager.conf)");
			return;
		}
		send_text(u, "Action: ListCommands\r\nActionID: " AMI_INTERNAL_PREFIX
		    "listcommands\r\n\r\n");
		u->state = UP_LIST;
	} else if (slice_eq_cstr(id, AMI_INTERNAL_PREFIX "listcommands") && u->state == UP_LIST) {
		char as[ADDR_STRLEN];
		got_actions(u, m);
		u->state = UP_READY;
		u->backoff = 1;
		set_status(u, "connected");
		log_notice("AMI upstream %s: logged in as %s, %zu actions listed, version %s",
		    addr_str(&cfg->upstream, as, sizeof(as)), cfg->upstream_user, u->nactions,
		    u->ctx->upstream_version);
		u->sink.state(u->sink.arg, true, "logged in");
	}
}

static void
answered(struct ami_upstream *u, uint64_t sid)
{
	for (size_t i = 0; i < u->npending; i++)
		if (u->pending[i].sid == sid) {
			memmove(&u->pending[i], &u->pending[i + 1],
			    (u->npending - i - 1) * sizeof(u->pending[0]));
			u->npending--;
			return;
		}
}

static void
message(struct ami_upstream *u, const struct ami_msg *m)
{
	uint64_t sid;

	switch (ami_relay_route(m, &sid)) {
	case AMI_ROUTE_INTERNAL:
		internal(u, m);
		break;
	case AMI_ROUTE_SESSION:
		/* Asterisk's UserEvent copies the action's headers, our ActionID
		 * too, into an event meant for everyone. */
		if (slice_caseeq_cstr(ami_get(m, "Event"), "UserEvent")) {
			if (u->state == UP_READY)
				u->sink.event(u->sink.arg, m);
			break;
		}
		if (ami_get(m, "Response").n)
			answered(u, sid);
		u->sink.to_session(u->sink.arg, sid, m);
		break;
	case AMI_ROUTE_EVENT:
		if (u->state == UP_READY && ami_get(m, "Event").n)
			u->sink.event(u->sink.arg, m);
		break;
	}
}

/* An answer over our limits is dropped, but its session is told so rather
 * than left waiting. */
static void
oversized(struct ami_upstream *u, const struct ami_msg *m)
{
	uint64_t sid;
	char id[96];

	log_warn("AMI upstream: a message over %u lines of %u bytes was dropped", UP_MAX_HEADERS,
	    UP_MAX_LINE);
	if (ami_relay_route(m, &sid) != AMI_ROUTE_SESSION || !ami_get(m, "Response").n)
		return;
	struct slice aid = ami_get(m, "ActionID");
	const size_t skip = sizeof(AMI_RELAY_PREFIX) - 1 + 17;
	if (aid.n <= skip || !slice_copy(slice_sub(aid, skip, aid.n - skip), id, sizeof(id)))
		id[0] = '\0';
	answered(u, sid);
	answer_error(u, sid, id, "Asterisk's answer was over pbxguard's limits");
}

static void
up_read(struct bufferevent *bev, void *arg)
{
	struct ami_upstream *u = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (u->state == UP_GREETING) {
		size_t n;
		char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (!line) {
			if (evbuffer_get_length(in) > AMI_MAX_LINE)
				down(u, "no AMI greeting (is this Asterisk's manager port?)");
			return;
		}
		const char *v = strncmp(line, "Asterisk Call Manager/", 22) == 0 ? line + 22 : NULL;
		if (!v) {
			free(line);
			down(u, "no AMI greeting (is this Asterisk's manager port?)");
			return;
		}
		/* It goes into every client's greeting: printable bytes only. */
		size_t vn = 0;
		while (v[vn] > 32 && v[vn] < 127)
			vn++;
		snprintf(u->ctx->upstream_version, sizeof(u->ctx->upstream_version), "%.*s",
		    (int)vn, v);
		free(line);
		send_text(u, "Action: Challenge\r\nActionID: " AMI_INTERNAL_PREFIX "challenge\r\n"
		    "AuthType: MD5\r\n\r\n");
		u->state = UP_CHALLENGE;
	}
	while (u->bev && evbuffer_get_length(in)) {
		size_t avail = evbuffer_get_length(in), used;
		size_t take = avail < 65536 ? avail : 65536;
		bool oom;
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)take);
		const struct ami_msg *m = ami_reader_feed(&u->rd, (struct slice){ p, take }, &used,
		    &oom);
		if (oom) {
			down(u, "out of memory");
			return;
		}
		if (m && m->status != AMI_MSG_OK)
			oversized(u, m);
		else if (m)
			message(u, m);
		if (u->bev)
			evbuffer_drain(in, used);
		if (!m)
			break;
	}
}

static void
up_event(struct bufferevent *bev, short what, void *arg)
{
	struct ami_upstream *u = arg;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		u->state = UP_GREETING;
		set_status(u, "logging in");
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	unsigned long e = u->tls ? bufferevent_get_openssl_error(bev) : 0;
	if (e) {
		char ebuf[160];
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(why, sizeof(why), "TLS: %s", ebuf);
	} else if (what & BEV_EVENT_EOF) {
		snprintf(why, sizeof(why), "connection closed by Asterisk");
	} else if (what & BEV_EVENT_TIMEOUT) {
		snprintf(why, sizeof(why), "no answer in time");
	} else {
		snprintf(why, sizeof(why), "%s", strerror(EVUTIL_SOCKET_ERROR()));
	}
	down(u, why);
}

static void
retry_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	up_connect(arg);
}

static void
up_connect(struct ami_upstream *u)
{
	const struct config_manager *cfg = &u->ctx->cfg->ami;

	free_actions(u);
	ami_reader_free(&u->rd);
	if (!ami_reader_init(&u->rd, UP_MAX_LINE, UP_MAX_HEADERS)) {
		down(u, "out of memory");
		return;
	}
	if (u->tls) {
		SSL *ssl = SSL_new(u->tls);
		if (ssl && cfg->upstream_verify) {
			char host[ADDR_STRLEN];
			addr_host_str(&cfg->upstream, host, sizeof(host));
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
		}
		u->bev = ssl ? bufferevent_openssl_socket_new(u->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE) : NULL;
		if (!u->bev)
			SSL_free(ssl);
	} else {
		u->bev = bufferevent_socket_new(u->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!u->bev) {
		down(u, "out of memory");
		return;
	}
	struct timeval tmo = { 10, 0 };
	bufferevent_set_timeouts(u->bev, &tmo, NULL);
	bufferevent_setcb(u->bev, up_read, NULL, up_event, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	u->state = UP_CONNECTING;
	set_status(u, "connecting");
	if (bufferevent_socket_connect(u->bev, (const struct sockaddr *)&cfg->upstream.ss,
	    (int)cfg->upstream.len) < 0)
		down(u, strerror(errno));
}

struct ami_upstream *
ami_upstream_start(struct event_base *base, struct ami_ctx *ctx,
    const struct ami_upstream_sink *sink)
{
	const struct config_manager *cfg = &ctx->cfg->ami;
	struct ami_upstream *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->base = base;
	u->ctx = ctx;
	u->sink = *sink;
	u->backoff = 1;
	if (cfg->upstream_tls) {
		if (!(u->tls = SSL_CTX_new(TLS_client_method())) ||
		    !SSL_CTX_set_min_proto_version(u->tls, TLS1_2_VERSION)) {
			log_err("AMI upstream: cannot make a TLS context");
			goto bad;
		}
		if (cfg->upstream_verify) {
			if (SSL_CTX_load_verify_locations(u->tls, cfg->upstream_ca, NULL) != 1) {
				log_err("AMI upstream: upstream-cafile %s: cannot load it",
				    cfg->upstream_ca);
				goto bad;
			}
			SSL_CTX_set_verify(u->tls, SSL_VERIFY_PEER, NULL);
		} else {
			log_warn("AMI upstream: upstream-tls-verify = no: Asterisk's certificate "
			    "is not checked, so the link is open to a man in the middle");
		}
	}
	if (!(u->retry = evtimer_new(base, retry_fired, u)))
		goto bad;
	up_connect(u);
	return u;
bad:
	ami_upstream_stop(u);
	return NULL;
}

void
ami_upstream_stop(struct ami_upstream *u)
{
	if (!u)
		return;
	if (u->bev)
		bufferevent_free(u->bev);
	if (u->retry)
		event_free(u->retry);
	SSL_CTX_free(u->tls);
	ami_reader_free(&u->rd);
	free_actions(u);
	free(u);
}

bool
ami_upstream_ready(const struct ami_upstream *u)
{
	return u && u->state == UP_READY;
}

const char *
ami_upstream_status(const struct ami_upstream *u)
{
	return u->status;
}

int
ami_upstream_authority(const struct ami_upstream *u, struct slice action)
{
	for (size_t i = 0; i < u->nactions; i++)
		if (slice_caseeq_cstr(action, u->actions[i].name))
			return u->actions[i].authority;
	return -1;
}

bool
ami_upstream_action(const struct ami_upstream *u, size_t i, struct slice *name,
    struct slice *line, int *authority)
{
	if (u->state != UP_READY || i >= u->nactions)
		return false;
	*name = slice_cstr(u->actions[i].name);
	*line = slice_cstr(u->actions[i].line);
	*authority = u->actions[i].authority;
	return true;
}

bool
ami_upstream_send(struct ami_upstream *u, const struct ami_msg *m, uint64_t sid)
{
	struct dbuf b;

	if (u->state != UP_READY || u->npending == UP_MAX_PENDING)
		return false;
	dbuf_init(&b, (size_t)AMI_MAX_HEADERS * AMI_MAX_LINE + 256);
	ami_relay_action(m, sid, &b);
	bool ok = !b.failed && bufferevent_write(u->bev, b.p, b.n) == 0;
	dbuf_free(&b);
	if (ok) {
		struct pending *p = &u->pending[u->npending++];
		struct slice id = ami_get(m, "ActionID");
		p->sid = sid;
		p->has_id = id.n > 0 && slice_copy(id, p->id, sizeof(p->id));
	}
	return ok;
}
