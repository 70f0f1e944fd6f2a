/*
 * [http] proxy: the PBX's own web GUI (FreePBX, ScopTEL...) behind the same
 * HTTPS and Basic authentication — the seed's use case. One upstream
 * connection per request (Connection: close both ways, so the framing is
 * the upstream's own and is relayed byte for byte). Our credentials never
 * reach the PBX; X-Forwarded-* are ours, never the client's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "core/dbuf.h"
#include "core/log.h"
#include "http/conn.h"

#define PROXY_TIMEOUT 60		/* s without a byte from the PBX */
#define PROXY_HIGH_WATER (1u << 20)	/* client output that pauses the PBX */

struct http_proxy {
	struct hconn *c;
	struct bufferevent *up;
	bool head_sent;			/* the response head went to the client */
};

static bool
hop_by_hop(struct slice name)
{
	static const char *const h[] = { "Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "TE", "Trailer", "Upgrade", "Proxy-Connection", NULL };
	for (int i = 0; h[i]; i++)
		if (slice_caseeq_cstr(name, h[i]))
			return true;
	return false;
}

void
webproxy_free(struct http_proxy *p)
{
	if (!p)
		return;
	if (p->up)
		bufferevent_free(p->up);
	free(p);
}

/* Finished: the client gets what it has been sent so far, then a close. */
static void
finish(struct http_proxy *p, unsigned status, const char *why)
{
	struct hconn *c = p->c;
	char as[ADDR_STRLEN];

	if (why)
		log_warn("HTTP proxy: %s: %s", addr_str(&c->srv->cfg->http.proxy, as, sizeof(as)),
		    why);
	c->proxy = NULL;
	webproxy_free(p);
	c->keep = false;
	if (status) {
		char body[128];
		int n = snprintf(body, sizeof(body), "%u: the PBX's web interface %s\n", status,
		    status == 504 ? "did not answer in time" : "cannot be reached");
		http_respond(c, status, "text/plain; charset=utf-8", NULL, body, (size_t)n);
	}
	c->busy = false;
	http_conn_close(c);
}

static void
client_write(struct bufferevent *bev, void *arg)
{
	struct http_proxy *p = arg;
	(void)bev;
	if (evbuffer_get_length(bufferevent_get_output(p->c->bev)) < PROXY_HIGH_WATER / 2)
		bufferevent_enable(p->up, EV_READ);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_proxy *p = arg;
	struct hconn *c = p->c;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		/* The browser left: nothing more to relay. */
		c->proxy = NULL;
		webproxy_free(p);
		c->keep = false;
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		evbuffer_drain(bufferevent_get_output(c->bev),
		    evbuffer_get_length(bufferevent_get_output(c->bev)));
		http_conn_close(c);
	}
}

/* The upstream's head, with hop-by-hop fields dropped and ours added. */
static bool
relay_head(struct http_proxy *p, struct evbuffer *in)
{
	struct hconn *c = p->c;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t avail = evbuffer_get_length(in), take = avail < HTTP_MAX_HEAD ? avail : HTTP_MAX_HEAD;
	const char *text = (const char *)evbuffer_pullup(in, (ssize_t)take), *why;
	struct http_head h;

	enum http_parse r = http_parse_response((struct slice){ text, take }, HTTP_MAX_HEAD, &h,
	    &why);
	if (r == HTTP_MORE)
		return true;
	if (r == HTTP_BAD) {
		finish(p, 502, why);
		return false;
	}
	evbuffer_add_printf(out, "HTTP/1.1 %u %.*s\r\n", h.status, (int)h.reason.n, h.reason.p);
	for (size_t i = 0; i < h.nf; i++)
		if (!hop_by_hop(h.f[i].name) &&
		    !slice_caseeq_cstr(h.f[i].name, "Strict-Transport-Security"))
			evbuffer_add_printf(out, "%.*s: %.*s\r\n", (int)h.f[i].name.n, h.f[i].name.p,
			    (int)h.f[i].value.n, h.f[i].value.p);
	evbuffer_add_printf(out, "Strict-Transport-Security: max-age=31536000\r\n"
	    "Connection: close\r\n\r\n");
	c->srv->n_status[h.status / 100 < 6 ? h.status / 100 : 5]++;
	evbuffer_drain(in, h.head_len);
	p->head_sent = true;
	return true;
}

/* Relays what came; false when that finished (and freed) the relay. */
static bool
relay(struct http_proxy *p, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	if (!p->head_sent && !relay_head(p, in))
		return false;
	if (!p->head_sent) {
		if (evbuffer_get_length(in) < HTTP_MAX_HEAD)
			return true;
		finish(p, 502, "response head too large");
		return false;
	}
	if (!slice_eq_cstr(p->c->h.method, "HEAD"))
		evbuffer_add_buffer(bufferevent_get_output(p->c->bev), in);
	else
		evbuffer_drain(in, evbuffer_get_length(in));
	if (evbuffer_get_length(bufferevent_get_output(p->c->bev)) > PROXY_HIGH_WATER)
		bufferevent_disable(bev, EV_READ); /* the client's write callback resumes */
	return true;
}

static void
up_read(struct bufferevent *bev, void *arg)
{
	relay(arg, bev);
}

static void
up_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_proxy *p = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF) {
		if (!relay(p, bev))
			return;
		finish(p, p->head_sent ? 0 : 502, p->head_sent ? NULL :
		    "closed before a response head");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		finish(p, p->head_sent ? 0 : 504, "no answer in time");
		return;
	}
	if (what & BEV_EVENT_ERROR)
		finish(p, p->head_sent ? 0 : 502, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

void
webproxy_start(struct hconn *c)
{
	const struct config_http *hc = &c->srv->cfg->http;
	struct http_proxy *p = calloc(1, sizeof(*p));
	char as[ADDR_STRLEN];

	if (!p) {
		c->keep = false;
		http_respond(c, 500, "text/plain; charset=utf-8", NULL, "out of memory\n", 14);
		http_request_done(c);
		return;
	}
	p->c = c;
	c->proxy = p;
	c->keep = false;
	if (!(p->up = bufferevent_socket_new(c->srv->base, -1, BEV_OPT_CLOSE_ON_FREE))) {
		finish(p, 502, "out of memory");
		return;
	}
	struct evbuffer *req = bufferevent_get_output(p->up);
	evbuffer_add_printf(req, "%.*s %s%.*s HTTP/1.1\r\n", (int)c->h.method.n, c->h.method.p,
	    hc->proxy_path, (int)c->h.target.n, c->h.target.p);
	for (size_t i = 0; i < c->h.nf; i++) {
		struct slice n = c->h.f[i].name;
		if (hop_by_hop(n) || slice_caseeq_cstr(n, "Authorization") ||
		    slice_startswith_case(n, "X-Forwarded-") || slice_caseeq_cstr(n, "Forwarded") ||
		    slice_caseeq_cstr(n, "X-Real-IP") || slice_caseeq_cstr(n, "Expect") ||
		    slice_caseeq_cstr(n, "Transfer-Encoding"))
			continue;
		evbuffer_add_printf(req, "%.*s: %.*s\r\n", (int)n.n, n.p, (int)c->h.f[i].value.n,
		    c->h.f[i].value.p);
	}
	addr_host_str(&c->remote, as, sizeof(as));
	evbuffer_add_printf(req, "X-Forwarded-For: %s\r\nX-Forwarded-Proto: https\r\n", as);
	if (c->h.host.p)
		evbuffer_add_printf(req, "X-Forwarded-Host: %.*s\r\n", (int)c->h.host.n, c->h.host.p);
	/* Who we let in, for a GUI that wants to know (never a credential). */
	evbuffer_add_printf(req, "X-Forwarded-User: %s\r\nConnection: close\r\n\r\n", c->user);
	if (c->body_n)
		evbuffer_add(req, c->body, c->body_n);
	struct timeval tv = { PROXY_TIMEOUT, 0 };
	bufferevent_set_timeouts(p->up, &tv, &tv);
	bufferevent_setcb(p->up, up_read, NULL, up_event, p);
	bufferevent_setcb(c->bev, NULL, client_write, client_event, p);
	bufferevent_setwatermark(c->bev, EV_WRITE, PROXY_HIGH_WATER / 2, 0);
	bufferevent_enable(p->up, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(p->up, (const struct sockaddr *)&hc->proxy.ss,
	    (int)hc->proxy.len) < 0)
		finish(p, 502, "cannot connect");
}
