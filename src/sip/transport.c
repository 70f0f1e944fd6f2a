#include "sip/transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/cidr.h"
#include "core/clock.h"
#include "core/listen.h"
#include "core/log.h"

struct listener {
	struct sip_transports *owner;
	unsigned cfg_index;		/* into cfg->transports: the flows' listener */
	enum transport_proto proto;
	struct addr local;
	int acl;
	bool require_peer;		/* TLS: a verified client certificate or no session */
	int fd;				/* UDP */
	struct event *ev;		/* UDP */
	struct evconnlistener *lev;	/* TCP, TLS */
};

struct conn {
	struct conn *prev, *next;	/* all open connections, for shutdown */
	struct listener *l;
	struct bufferevent *bev;
	struct addr remote;
	uint32_t slot;			/* in slots[]; the flow's id is slot + generation */
	struct sip_flow flow;
	struct ipkey key;		/* remote, for the handshake cap */
	bool handshaking;		/* TLS, until the handshake completes */
	struct tls_subjects *peer;	/* TLS: a verified client certificate's subjects */
	struct event *partial;		/* header-read deadline of a started message */
};

struct sip_transports {
	struct event_base *base;
	struct sip_server *srv;
	const struct config *cfg;
	struct listener l[CONFIG_MAX_TRANSPORTS];
	size_t n;
	struct listener *by_cfg[CONFIG_MAX_TRANSPORTS];
	size_t nconns;
	struct conn *conns;
	/* Connections by flow id: the proxy names a connection long after the
	 * message that opened it; a closed one's id is never reused. */
	struct conn **slots;
	uint32_t *gens, *freeslots;
	size_t nfree;
	struct event *timer;		/* the proxy's next transaction timer */
	int64_t timer_at;
	struct sip_reply *reply;	/* one, reused: no allocation per request */
	char *dgram;			/* receive buffer */
	SSL_CTX *tls;			/* for TLS listeners; not ours to free */
};

static const char *
tp_name(enum transport_proto p)
{
	return p == TP_UDP ? "UDP" : p == TP_TCP ? "TCP" : "TLS";
}

/* Arms the one timer for the proxy's earliest transaction deadline. */
static void
timer_rearm(struct sip_transports *t)
{
	int64_t next = sip_server_next_timer(t->srv);
	if (next < 0 || !t->timer) {
		if (t->timer && t->timer_at)
			event_del(t->timer);
		t->timer_at = 0;
		return;
	}
	if (t->timer_at && t->timer_at <= next && evtimer_pending(t->timer, NULL))
		return;
	int64_t d = next - mono_ms();
	if (d < 0)
		d = 0;
	struct timeval tv = { (time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000 };
	evtimer_add(t->timer, &tv);
	t->timer_at = next;
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transports *t = arg;
	(void)fd;
	(void)what;
	t->timer_at = 0;
	sip_server_tick(t->srv, mono_ms());
	timer_rearm(t);
}

static uint64_t
conn_id(const struct sip_transports *t, uint32_t slot)
{
	return ((uint64_t)t->gens[slot] << 32 | slot) + 1; /* never 0: UDP's */
}

static bool
tp_send(void *ctx, const struct sip_flow *f, const char *buf, size_t n)
{
	struct sip_transports *t = ctx;
	if (f->listener >= CONFIG_MAX_TRANSPORTS || !t->by_cfg[f->listener])
		return false;
	struct listener *l = t->by_cfg[f->listener];
	if (f->proto == TP_UDP) {
		if (l->fd < 0 ||
		    sendto(l->fd, buf, n, 0, (const struct sockaddr *)&f->remote.ss, f->remote.len) < 0) {
			log_debug("udp sendto: %s", strerror(errno));
			return false;
		}
		return true;
	}
	uint64_t slot = (f->conn - 1) & 0xffffffffu;
	if (f->conn == 0 || slot >= t->cfg->max_connections || !t->slots[slot] ||
	    conn_id(t, (uint32_t)slot) != f->conn)
		return false; /* that connection is gone */
	return bufferevent_write(t->slots[slot]->bev, buf, n) == 0;
}

static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct sip_transports *t = l->owner;
	(void)what;

	/* Bounded batch, so one busy socket cannot starve the others. */
	for (int i = 0; i < 64; i++) {
		struct addr from;
		from.len = sizeof(from.ss);
		ssize_t n = recvfrom(fd, t->dgram, 65536, 0, (struct sockaddr *)&from.ss, &from.len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("udp recvfrom: %s", strerror(errno));
			break;
		}
		time_t now = time(NULL);
		struct guard_source src = { &from, &l->local, "UDP", "SIP", l->acl };
		if (guard_admit(t->srv->guard, &src, now) != GUARD_ADMIT) {
			t->srv->n_dropped++;
			continue; /* banned: dropped silently, before any parsing */
		}
		struct sip_flow flow = { TP_UDP, l->cfg_index, 0, from };
		struct sip_packet pkt = { { t->dgram, (size_t)n }, &from, &l->local, "UDP", false,
			l->acl, NULL, &flow, mono_ms(), 0 };
		sip_handle_datagram(t->srv, &pkt, now, t->reply);
		if (t->reply->n > 0 &&
		    sendto(fd, t->reply->buf, t->reply->n, 0, (struct sockaddr *)&from.ss,
		    from.len) < 0)
			log_debug("udp sendto: %s", strerror(errno));
	}
	timer_rearm(t);
}

static void
conn_close(struct conn *c)
{
	struct sip_transports *t = c->l->owner;

	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->nconns--;
	t->slots[c->slot] = NULL;
	t->gens[c->slot]++;
	t->freeslots[t->nfree++] = c->slot;
	if (c->partial)
		event_free(c->partial);
	free(c->peer);
	bufferevent_free(c->bev);
	free(c);
}

static void tcp_event(struct bufferevent *bev, short what, void *arg);

/* Write callback once a connection is condemned: close when all is sent. */
static void
tcp_drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_close(arg);
}

static void
partial_expired(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char as[ADDR_STRLEN];
	(void)fd;
	(void)what;
	log_info("%s from %s: a message was not complete within %u s: closed",
	    tp_name(c->l->proto), addr_str(&c->remote, as, sizeof(as)),
	    c->l->owner->cfg->header_timeout);
	conn_close(c);
}

/* A started message must be complete within header-timeout (slow senders
 * cannot hold a connection with a trickle); idle-timeout covers silence. */
static void
partial_arm(struct conn *c, bool pending)
{
	if (!pending) {
		if (c->partial)
			event_del(c->partial);
		return;
	}
	if (!c->partial &&
	    !(c->partial = evtimer_new(c->l->owner->base, partial_expired, c)))
		return;
	if (!evtimer_pending(c->partial, NULL)) {
		struct timeval tv = { (time_t)c->l->owner->cfg->header_timeout, 0 };
		evtimer_add(c->partial, &tv);
	}
}

static void tcp_read_msgs(struct bufferevent *bev, struct conn *c);

static void
tcp_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct sip_transports *t = c->l->owner;
	tcp_read_msgs(bev, c); /* may close c */
	timer_rearm(t);
}

static void
tcp_read_msgs(struct bufferevent *bev, struct conn *c)
{
	static struct sip_msg m;
	struct sip_transports *t = c->l->owner;
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *why;

	for (;;) {
		size_t avail = evbuffer_get_length(in);
		partial_arm(c, avail > 0);
		if (avail == 0)
			return;
		size_t take = avail < t->srv->lim.max_message ? avail : t->srv->lim.max_message;
		unsigned char *p = evbuffer_pullup(in, (ssize_t)take);
		struct slice data = { (const char *)p, take };
		size_t ka = sip_keepalive_len(data);
		if (ka > 0) {
			/* RFC 5626: a CRLFCRLF ping gets a CRLF pong. */
			if (ka >= 4)
				bufferevent_write(bev, "\r\n", 2);
			evbuffer_drain(in, ka);
			continue;
		}
		const char *tp = tp_name(c->l->proto);
		struct sip_packet pkt = { data, &c->remote, &c->l->local, tp, true, c->l->acl,
			c->peer, &c->flow, mono_ms(), 0 };
		enum sip_parse_result r = sip_parse(data, true, &t->srv->lim, &m, &why);
		if (r == SIP_PARSE_NEED_MORE)
			return;
		/* Each message counts toward the flood limit, and a ban made while
		 * the connection was open ends it. */
		time_t now = time(NULL);
		struct guard_source src = { &c->remote, &c->l->local, tp, "SIP", c->l->acl };
		if (guard_admit(t->srv->guard, &src, now) != GUARD_ADMIT) {
			t->srv->n_dropped++;
			conn_close(c);
			return;
		}
		if (r == SIP_PARSE_BAD) {
			/* Framing is lost: answer if we can, then close. */
			sip_handle_bad(t->srv, &m, &pkt, why ? why : "malformed", t->reply);
			bufferevent_disable(bev, EV_READ);
			evbuffer_drain(in, evbuffer_get_length(in));
			if (t->reply->n == 0) {
				conn_close(c);
				return;
			}
			bufferevent_setcb(bev, NULL, tcp_drained, tcp_event, c);
			bufferevent_write(bev, t->reply->buf, t->reply->n);
			return;
		}
		sip_handle_msg(t->srv, &m, &pkt, now, t->reply);
		if (t->reply->n)
			bufferevent_write(bev, t->reply->buf, t->reply->n);
		evbuffer_drain(in, m.len);
		partial_arm(c, false); /* the deadline is per message: the next starts afresh */
	}
}

static void
tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char as[ADDR_STRLEN];

	if (what & BEV_EVENT_CONNECTED) {
		/* TLS handshake done: from now on the idle timeout applies. */
		c->handshaking = false;
		struct timeval idle = { (time_t)c->l->owner->cfg->idle_timeout, 0 };
		bufferevent_set_timeouts(bev, &idle, &idle);
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		log_debug("TLS from %s: %s %s%s", addr_str(&c->remote, as, sizeof(as)),
		    SSL_get_version(ssl), SSL_get_cipher_name(ssl),
		    SSL_session_reused(ssl) ? " (resumed)" : "");
		/* Subjects of a verified client certificate, for the guard's rules. */
		struct tls_subjects subj;
		if (tls_peer_subjects(ssl, &subj) && subj.n && (c->peer = malloc(sizeof(subj))))
			*c->peer = subj;
		return;
	}
	if (c->handshaking && (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char buf[160] = "timeout or connection closed";
		if (e)
			ERR_error_string_n(e, buf, sizeof(buf));
		log_info("TLS from %s: handshake failed: %s", addr_str(&c->remote, as, sizeof(as)),
		    buf);
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

/* TLS handshakes in progress from this source; capped so one host cannot
 * hold every slot with half-open handshakes. */
static unsigned
handshakes_from(const struct sip_transports *t, const struct ipkey *k)
{
	unsigned n = 0;
	for (const struct conn *c = t->conns; c; c = c->next)
		n += c->handshaking && ipkey_eq(&c->key, k);
	return n;
}

static struct bufferevent *
tls_bufferevent(struct sip_transports *t, struct listener *l, evutil_socket_t fd)
{
	SSL *ssl = SSL_new(t->tls);
	if (!ssl)
		return NULL;
	if (l->require_peer)
		SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	struct bufferevent *bev = bufferevent_openssl_socket_new(t->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void
tcp_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct listener *l = arg;
	struct sip_transports *t = l->owner;
	struct conn *c;
	struct addr from;
	(void)lev;

	addr_from_sockaddr(sa, salen, &from);
	struct guard_source src = { &from, &l->local, tp_name(l->proto), "SIP", l->acl };
	if (guard_admit(t->srv->guard, &src, time(NULL)) != GUARD_ADMIT) {
		t->srv->n_dropped++;
		evutil_closesocket(fd);
		return;
	}
	struct ipkey key;
	ipkey_from_addr(&from, &key);
	if (t->nconns >= t->cfg->max_connections || t->nfree == 0 ||
	    (l->proto == TP_TLS && handshakes_from(t, &key) >= t->cfg->tls_max_handshakes) ||
	    !(c = calloc(1, sizeof(*c)))) {
		evutil_closesocket(fd);
		return;
	}
	c->l = l;
	c->remote = from;
	c->key = key;
	c->handshaking = l->proto == TP_TLS;
	c->bev = c->handshaking ? tls_bufferevent(t, l, fd)
	    : bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	t->nconns++;
	c->slot = t->freeslots[--t->nfree];
	t->slots[c->slot] = c;
	c->flow = (struct sip_flow){ l->proto, l->cfg_index, conn_id(t, c->slot), from };
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	/* A handshake has its own, shorter deadline. */
	struct timeval idle = { (time_t)(c->handshaking ? t->cfg->tls_handshake_timeout
	    : t->cfg->idle_timeout), 0 };
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* Never buffer more than one maximal message plus its successor's start. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)t->srv->lim.max_message * 2);
	bufferevent_setcb(c->bev, tcp_read, NULL, tcp_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static bool
start_udp(struct sip_transports *t, struct listener *l)
{
	int fd = udp_bind(&l->local);
	if (fd < 0)
		return false;
	l->fd = fd;
	l->ev = event_new(t->base, fd, EV_READ | EV_PERSIST, udp_read, l);
	return l->ev && event_add(l->ev, NULL) == 0;
}

static bool
start_tcp(struct sip_transports *t, struct listener *l)
{
	l->lev = tcp_listen(t->base, tcp_accept, l, &l->local, 128);
	return l->lev != NULL;
}

struct sip_transports *
sip_transports_start(struct event_base *base, struct sip_server *srv,
    const struct config *cfg, SSL_CTX *tls, bool optional_v6)
{
	struct sip_transports *t = calloc(1, sizeof(*t));
	char as[ADDR_STRLEN];

	size_t maxc = cfg->max_connections;
	if (!t || !(t->reply = malloc(sizeof(*t->reply))) || !(t->dgram = malloc(65536)) ||
	    !(t->slots = calloc(maxc, sizeof(*t->slots))) ||
	    !(t->gens = calloc(maxc, sizeof(*t->gens))) ||
	    !(t->freeslots = calloc(maxc, sizeof(*t->freeslots))) ||
	    !(t->timer = evtimer_new(base, timer_fired, t))) {
		log_err("out of memory");
		goto bad;
	}
	for (size_t i = 0; i < maxc; i++)
		t->freeslots[i] = (uint32_t)(maxc - 1 - i);
	t->nfree = maxc;
	t->base = base;
	t->srv = srv;
	t->cfg = cfg;
	t->tls = tls;
	for (size_t i = 0; i < cfg->n_transports; i++) {
		struct listener *l = &t->l[t->n];
		memset(l, 0, sizeof(*l));
		l->owner = t;
		l->cfg_index = (unsigned)i;
		l->fd = -1;
		l->proto = cfg->transports[i].proto;
		l->local = cfg->transports[i].addr;
		l->acl = cfg->transports[i].acl;
		l->require_peer = cfg->transports[i].require_peer_cert;
		const char *name = l->proto == TP_UDP ? "udp" : l->proto == TP_TCP ? "tcp" : "tls";
		bool ok = l->proto == TP_UDP ? start_udp(t, l) : start_tcp(t, l);
		if (!ok) {
			if (optional_v6 && addr_is_v6(&l->local)) {
				log_warn("cannot listen on %s:%s (%s); going on without it", name,
				    addr_str(&l->local, as, sizeof(as)), strerror(errno));
				continue;
			}
			log_err("cannot listen on %s:%s: %s", name,
			    addr_str(&l->local, as, sizeof(as)), strerror(errno));
			t->n++;
			goto bad;
		}
		t->by_cfg[i] = l;
		t->n++;
		log_notice("listening on %s:%s", name, addr_str(&l->local, as, sizeof(as)));
	}
	struct sip_sender out = { t, tp_send };
	sip_server_set_sender(srv, &out);
	return t;
bad:
	sip_transports_stop(t);
	return NULL;
}

void
sip_transports_stop(struct sip_transports *t)
{
	if (!t)
		return;
	if (t->srv)
		sip_server_set_sender(t->srv, &(struct sip_sender){ NULL, NULL });
	while (t->conns)
		conn_close(t->conns);
	if (t->timer)
		event_free(t->timer);
	free(t->slots);
	free(t->gens);
	free(t->freeslots);
	for (size_t i = 0; i < t->n; i++) {
		if (t->l[i].ev)
			event_free(t->l[i].ev);
		if (t->l[i].fd >= 0)
			close(t->l[i].fd);
		if (t->l[i].lev)
			evconnlistener_free(t->l[i].lev);
	}
	free(t->reply);
	free(t->dgram);
	free(t);
}
