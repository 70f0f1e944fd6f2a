#include "sip/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/sbuf.h"
#include "sip/dialog.h"
#include "sip/fwd.h"
#include "sip/resp.h"
#include "sip/txn.h"
#include "sip/uri.h"

/* Our branches: the magic cookie, "pg", the client key, the loop hash. */
#define BRANCH_PREFIX "z9hG4bKpg"
#define BRANCH_PREFIX_LEN 9
#define BRANCH_LEN (BRANCH_PREFIX_LEN + 16 + 8)
#define MSG_MAX 65535

struct listener_name {
	char host[ADDR_STRLEN];		/* as in a Via or URI host (IPv6 without []) */
	char hostport[ADDR_STRLEN];	/* "127.0.0.1:5060", "[::1]:5060" */
	unsigned port;
	char uri[ADDR_STRLEN + 40];	/* "<sip:HOST:PORT;transport=tcp;lr>" */
};

struct proxy {
	const struct config *cfg;
	struct guard *guard;
	struct registrar *reg;
	struct sip_sender out;
	struct txns *txns;
	struct dialogs *dlgs;
	uint64_t seed, counter;
	unsigned up_listener;		/* the upstream is reached from this listener */
	struct listener_name names[CONFIG_MAX_TRANSPORTS];
	int64_t down_until[CONFIG_MAX_UPSTREAMS];
	int64_t next_sweep;
	char path[ADDR_STRLEN + 48];
	struct proxy_stats st;
	char buf[MSG_MAX + 1];		/* the message being built */
	char tmp[MSG_MAX + 1];
	struct sip_msg scratch;		/* a stored request, parsed again */
	proxy_locate_fn *locate;	/* [cluster]: AORs on other nodes */
	void *locate_arg;
};

/* What every handler needs from a request, parsed once. */
struct req {
	const struct sip_msg *m;
	const struct sip_packet *pkt;
	int64_t now;
	struct slice callid, from_tag, to_tag, branch, cseq_method;
	struct sip_via via;
	bool ack, cancel, invite;
};

/* ---- set-up ------------------------------------------------------------ */

static void
name_listener(struct listener_name *n, const struct transport_spec *t)
{
	addr_host_str(&t->addr, n->host, sizeof(n->host));
	addr_str(&t->addr, n->hostport, sizeof(n->hostport));
	n->port = addr_port(&t->addr);
	snprintf(n->uri, sizeof(n->uri), "<sip:%s%s;lr>", n->hostport,
	    t->proto == TP_UDP ? "" : t->proto == TP_TCP ? ";transport=tcp" : ";transport=tls");
}

struct proxy *
proxy_new(const struct config *cfg, struct guard *g, struct registrar *reg, uint64_t seed)
{
	int up = config_upstream_listener(cfg);
	if (up < 0)
		return NULL;
	struct proxy *p = calloc(1, sizeof(*p));
	if (!p || !(p->txns = txns_new(cfg->max_transactions)) ||
	    !(p->dlgs = dialogs_new(cfg->max_dialogs, seed ^ 0x9e3779b97f4a7c15ull))) {
		log_err("out of memory for the proxy's tables");
		proxy_free(p);
		return NULL;
	}
	p->cfg = cfg;
	p->guard = g;
	p->reg = reg;
	p->seed = seed;
	p->up_listener = (unsigned)up;
	for (size_t i = 0; i < cfg->n_transports; i++)
		name_listener(&p->names[i], &cfg->transports[i]);
	snprintf(p->path, sizeof(p->path), "%s", p->names[up].uri);
	for (size_t i = 0; i < cfg->n_upstreams; i++) {
		char as[ADDR_STRLEN];
		log_notice("upstream %zu of %zu: %s over UDP from %s%s", i + 1, cfg->n_upstreams,
		    addr_str(&cfg->upstreams[i].addr, as, sizeof(as)), p->names[up].hostport,
		    cfg->register_forward ? " (REGISTERs forwarded too)" : "");
	}
	return p;
}

void
proxy_free(struct proxy *p)
{
	if (!p)
		return;
	txns_free(p->txns);
	dialogs_free(p->dlgs);
	free(p);
}

void
proxy_set_sender(struct proxy *p, const struct sip_sender *out)
{
	p->out = *out;
}

void
proxy_set_cluster(struct proxy *p, proxy_locate_fn *locate, void *arg)
{
	p->locate = locate;
	p->locate_arg = arg;
}

const char *
proxy_path(const struct proxy *p)
{
	return p->path;
}

void
proxy_stats(const struct proxy *p, struct proxy_stats *st, size_t *txns, size_t *dialogs)
{
	*st = p->st;
	*txns = txns_count(p->txns);
	*dialogs = dialogs_count(p->dlgs);
}

/* ---- small helpers ------------------------------------------------------ */

static bool
send_to(struct proxy *p, const struct sip_flow *f, const char *buf, size_t n)
{
	return p->out.send && p->out.send(p->out.ctx, f, buf, n);
}

static bool
keep(struct buf *b, const char *p, size_t n)
{
	char *c = malloc(n ? n : 1);
	if (!c)
		return false;
	memcpy(c, p, n);
	free(b->p);
	b->p = c;
	b->n = n;
	return true;
}

static struct slice
tag_of(struct slice hdr)
{
	struct slice uri, params, tag = SLICE_NULL;
	if (sip_nameaddr(hdr, &uri, &params))
		sip_param(params, "tag", &tag);
	return tag;
}

static struct sip_flow
upstream_flow(const struct proxy *p, unsigned up)
{
	return (struct sip_flow){ TP_UDP, p->up_listener, 0, p->cfg->upstreams[up].addr };
}

/* The upstream to try next: the first not yet tried that is not marked
 * down, else the first not tried at all; -1 when all were tried. */
static int
pick_upstream(const struct proxy *p, uint32_t tried, int64_t now)
{
	int fallback = -1;
	for (size_t i = 0; i < p->cfg->n_upstreams; i++) {
		if (tried & (1u << i))
			continue;
		if (p->down_until[i] <= now)
			return (int)i;
		if (fallback < 0)
			fallback = (int)i;
	}
	return fallback;
}

/* Request-URI, tags, Call-ID and CSeq: what a loop repeats unchanged
 * (RFC 3261 16.3 step 4; Max-Forwards and Vias change on every hop). */
static uint32_t
loop_hash(const struct proxy *p, const struct req *r)
{
	struct slice v[5] = { r->m->ruri, r->from_tag, r->to_tag, r->callid,
		sip_hdr_get(r->m, SIP_H_CSEQ) };
	return (uint32_t)sip_hash_slices(p->seed, v, 5);
}

static int
our_listener(const struct proxy *p, struct slice host, unsigned port)
{
	for (size_t i = 0; i < p->cfg->n_transports; i++)
		if (slice_caseeq_cstr(host, p->names[i].host) && port == p->names[i].port)
			return (int)i;
	return -1;
}

static bool
is_loop(const struct proxy *p, const struct req *r)
{
	uint32_t h = loop_hash(p, r);
	for (size_t i = 0; i < r->m->nhdrs; i++) {
		if (r->m->hdrs[i].id != SIP_H_VIA)
			continue;
		struct slice list = r->m->hdrs[i].value, item, br;
		struct sip_via v;
		while (sip_list_next(&list, &item)) {
			uint64_t seen;
			if (!sip_via_parse(item, &v) || !sip_param(v.params, "branch", &br) ||
			    br.n != BRANCH_LEN || !slice_startswith_case(br, BRANCH_PREFIX) ||
			    our_listener(p, v.host, v.port ? v.port : 5060) < 0)
				continue;
			if (slice_hex_to_u64(slice_sub(br, BRANCH_LEN - 8, 8), UINT32_MAX, &seen) &&
			    seen == h)
				return true;
		}
	}
	return false;
}

/* Leading Route entries that name us. */
static size_t
our_routes(const struct proxy *p, const struct sip_msg *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].id != SIP_H_ROUTE)
			continue;
		struct slice list = m->hdrs[i].value, item, uri, params;
		struct sip_uri u;
		while (sip_list_next(&list, &item)) {
			if (!sip_nameaddr(item, &uri, &params) || !sip_uri_parse(uri, &u) ||
			    our_listener(p, u.host, u.port ? u.port : u.sips ? 5061 : 5060) < 0)
				return n;
			n++;
		}
	}
	return n;
}

/* Server transaction key (RFC 3261 17.2.3), bound to the sender's address
 * so only the sender can retransmit, ACK or CANCEL it. */
static uint64_t
server_key(const struct proxy *p, const struct req *r, struct slice method)
{
	char extra[ADDR_STRLEN + 16];
	struct slice cseq = sip_hdr_get(r->m, SIP_H_CSEQ), num = slice_cut(cseq, ' ', NULL);
	char as[ADDR_STRLEN];
	snprintf(extra, sizeof(extra), "%u %s", r->via.port,
	    addr_str(r->pkt->remote, as, sizeof(as)));
	struct slice v[6] = { r->branch, r->via.host, r->callid, num, method, slice_cstr(extra) };
	return sip_hash_slices(p->seed, v, 6) | 1;
}

static uint64_t
new_ckey(struct proxy *p)
{
	struct slice v[1] = { { (const char *)&p->counter, sizeof(p->counter) } };
	p->counter++;
	return sip_hash_slices(p->seed ^ 0x5bd1e995u, v, 1) | 1;
}

/* Our Via toward a listener's peer. */
static void
put_via(const struct proxy *p, char *dst, size_t n, unsigned listener, uint64_t ckey,
    uint32_t loop)
{
	snprintf(dst, n, "SIP/2.0/%s %s;branch=" BRANCH_PREFIX "%016llx%08x",
	    p->cfg->transports[listener].proto == TP_UDP ? "UDP" :
	    p->cfg->transports[listener].proto == TP_TCP ? "TCP" : "TLS",
	    p->names[listener].hostport, (unsigned long long)ckey, loop);
}

/* A response of our own to request r, sent to its sender (and kept in x
 * for retransmissions, when given). */
static void
reply(struct proxy *p, const struct req *r, struct txn *x, unsigned code, const char *reason)
{
	struct sbuf b;
	sbuf_init(&b, p->buf, sizeof(p->buf));
	sip_resp_start(&b, r->m, r->pkt->remote, p->seed, code, reason);
	sip_resp_end(&b);
	if (b.overflow)
		return;
	send_to(p, r->pkt->flow, b.p, b.n);
	if (x && keep(&x->resp, b.p, b.n))
		x->resp_code = code;
}

/* ---- sending a request on ----------------------------------------------- */

static bool
is_dialog_creating(struct slice method)
{
	return slice_eq_cstr(method, "INVITE") || slice_eq_cstr(method, "SUBSCRIBE") ||
	    slice_eq_cstr(method, "REFER");
}

static void
start_client_timers(const struct proxy *p, struct txn *x, int64_t now)
{
	x->retx_at = x->dst.proto == TP_UDP ? now + SIP_T1 : 0;
	x->retx_ivl = SIP_T1;
	x->end_at = now + SIP_TIMER_B;
	x->fail_at = x->upstream >= 0 ? now + (int64_t)p->cfg->upstream_timeout * 1000 : 0;
}

/*
 * Builds r as forwarded with f (our Via on top, branch for x), remembers it
 * in x, sends it to x->dst. False (and an answer to the sender) on failure;
 * the caller then drops x.
 */
static bool
forward(struct proxy *p, const struct req *r, struct txn *x, unsigned listener,
    struct fwd_req *f)
{
	char via[ADDR_STRLEN + 64];
	struct sbuf b;

	txn_set_ckey(p->txns, x, new_ckey(p));
	put_via(p, via, sizeof(via), listener, x->ckey, loop_hash(p, r));
	f->via = via;
	sbuf_init(&b, p->buf, sizeof(p->buf));
	if (!fwd_request(r->m, f, &b)) {
		reply(p, r, NULL, 513, "Message Too Large");
		return false;
	}
	/* Our Via follows the request line; its branch key is patched in place
	 * on failover (found by position: the peer's text may contain anything). */
	const char *eol = memmem(b.p, b.n, "\r\n", 2);
	if (!eol || !keep(&x->req, b.p, b.n)) {
		reply(p, r, NULL, 500, "Server Internal Error");
		return false;
	}
	x->branch_off = (size_t)(eol - b.p) + 2 + strlen("Via: ") +
	    (size_t)(strstr(via, BRANCH_PREFIX) - via) + BRANCH_PREFIX_LEN;
	if (!send_to(p, &x->dst, x->req.p, x->req.n)) {
		p->st.unreachable++;
		reply(p, r, NULL, 480, "Temporarily Unavailable");
		return false;
	}
	p->st.forwarded++;
	if (x->invite)
		reply(p, r, x, 100, "Trying");
	start_client_timers(p, x, r->now);
	txn_reschedule(p->txns, x);
	return true;
}

static void
drop_txn(struct proxy *p, struct txn *x)
{
	if (x->dlg && x->dlg_new) {
		struct dialog *d = dialog_get(p->dlgs, x->dlg);
		if (d && !d->confirmed)
			dialog_del(p->dlgs, d);
	}
	txn_del(p->txns, x);
}

/* A transaction for r toward dst (upstream #up, or -1 for a phone), or NULL
 * after answering 503 when the table is full. */
static struct txn *
start_txn(struct proxy *p, const struct req *r, const struct sip_flow *dst, int up)
{
	struct txn *x = txn_new(p->txns, server_key(p, r, r->m->method));
	if (!x) {
		reply(p, r, NULL, 503, "Service Unavailable");
		return NULL;
	}
	x->invite = r->invite;
	x->src = *r->pkt->flow;
	x->dst = *dst;
	x->upstream = up;
	x->tried = up >= 0 ? 1u << up : 0;
	return x;
}

/*
 * The dialog an initial INVITE/SUBSCRIBE/REFER opens (early until its 2xx),
 * tied to x. False, with x dropped and r answered, when it cannot be: the
 * table is full, or the ids belong to another account's dialog (Call-ID and
 * From tag are no secret).
 */
static bool
open_dialog(struct proxy *p, const struct req *r, struct txn *x, const struct sip_flow *phone,
    const struct sip_flow *pbx, bool phone_is_caller, int up, const char *owner)
{
	if (!is_dialog_creating(r->m->method))
		return true;
	bool existed = dialog_get(p->dlgs, dialog_key(p->dlgs, r->callid, r->from_tag));
	struct dialog *d = dialog_add(p->dlgs, r->callid, r->from_tag,
	    r->now + SIP_TIMER_C + 2 * SIP_TIMER_B);
	if (!d || (existed && strcmp(d->owner, owner) != 0)) {
		txn_del(p->txns, x);
		if (d) {
			p->st.not_yours++;
			reply(p, r, NULL, 403, "Forbidden (not a party to this dialog)");
		} else {
			reply(p, r, NULL, 503, "Service Unavailable");
		}
		return false;
	}
	d->phone = *phone;
	d->pbx = *pbx;
	d->phone_is_caller = phone_is_caller;
	d->upstream = up;
	snprintf(d->owner, sizeof(d->owner), "%s", owner);
	x->dlg = d->key;
	x->dlg_new = !existed;
	return true;
}

/* ---- phone to PBX ------------------------------------------------------- */

static char *
pai_of(char *dst, size_t n, const char *acct)
{
	snprintf(dst, n, "<sip:%s>", acct);
	return dst;
}

static void
to_upstream_initial(struct proxy *p, const struct req *r, const char *acct, const char *extra)
{
	int up = pick_upstream(p, 0, r->now);
	char pai[DIALOG_OWNER_MAX + 8], realmbuf[256];
	struct slice fromuri, fromparams;
	struct sip_uri from;
	struct txn *x;

	if (up < 0) {
		reply(p, r, NULL, 503, "Service Unavailable");
		return;
	}
	struct sip_flow dst = upstream_flow(p, (unsigned)up);
	if (!(x = start_txn(p, r, &dst, up)) ||
	    !open_dialog(p, r, x, r->pkt->flow, &dst, true, up, acct))
		return;
	sip_nameaddr(sip_hdr_get(r->m, SIP_H_FROM), &fromuri, &fromparams);
	sip_uri_parse(fromuri, &from);
	unsigned in = r->pkt->flow->listener;
	struct fwd_req f = {
		.rr = { p->names[p->up_listener].uri, in == p->up_listener ? NULL : p->names[in].uri },
		.pai = pai_of(pai, sizeof(pai), acct),
		.strip_routes = true,
		.realm = guard_realm(p->guard, from.host, realmbuf, sizeof(realmbuf)),
		.src = r->pkt->remote,
		.extra = extra,
	};
	if (slice_eq_cstr(r->m->method, "REGISTER"))
		f.rr[0] = f.rr[1] = NULL; /* REGISTER takes Path, not Record-Route */
	if (!forward(p, r, x, p->up_listener, &f))
		drop_txn(p, x);
}

/* ---- in-dialog requests --------------------------------------------------- */

static void
in_dialog(struct proxy *p, const struct req *r, struct dialog *d, bool from_phone)
{
	char pai[DIALOG_OWNER_MAX + 8], via[ADDR_STRLEN + 64], realmbuf[256];
	const char *at = strrchr(d->owner, '@');
	struct sip_flow dst = from_phone ? d->pbx : d->phone;
	unsigned listener = from_phone ? p->up_listener : d->phone.listener;
	struct fwd_req f = {
		.pai = from_phone ? pai_of(pai, sizeof(pai), d->owner) : NULL,
		.pop_routes = our_routes(p, r->m),
		.realm = from_phone && at ? guard_realm(p->guard, slice_cstr(at + 1), realmbuf,
		    sizeof(realmbuf)) : SLICE_NULL,
		.src = r->pkt->remote,
		.privacy_id = !from_phone,
	};
	if (d->confirmed)
		d->expires = r->now + (int64_t)p->cfg->dialog_timeout * 1000;
	if (r->ack) {
		/* ACK of a 2xx: its own transaction, end to end; stateless here,
		 * with a branch that is the same for its retransmissions. */
		struct slice v[1] = { r->branch };
		struct sbuf b;
		put_via(p, via, sizeof(via), listener, sip_hash_slices(p->seed, v, 1),
		    loop_hash(p, r));
		f.via = via;
		sbuf_init(&b, p->buf, sizeof(p->buf));
		if (fwd_request(r->m, &f, &b) && send_to(p, &dst, b.p, b.n))
			p->st.forwarded++;
		return;
	}
	struct txn *x = start_txn(p, r, &dst, from_phone ? d->upstream : -1);
	if (!x)
		return;
	x->dlg = d->key;
	x->dlg_end = slice_eq_cstr(r->m->method, "BYE");
	if (!forward(p, r, x, listener, &f))
		drop_txn(p, x);
}

/* ---- PBX to phone ------------------------------------------------------- */

/* Where a request from the upstream goes: a binding of ours, or the node
 * that holds the phone's binding. */
struct target {
	const struct reg_binding *b;	/* NULL: on the node */
	struct addr node;
};

/* The target of a request from the upstream: the Request-URI's user at its
 * host when that is a domain of ours, else at each plain auth-domain; where
 * it registered last, a binding here or (may_relay: from the upstream
 * itself, never from another node, which would bounce it back) another
 * node. */
static bool
find_target(struct proxy *p, struct sip_uri *ru, int64_t wall, bool may_relay, char *aor,
    size_t aorsz, bool *known, struct target *t)
{
	const struct config *cfg = p->cfg;
	char dom[256];
	*known = false;
	for (size_t i = 0; i <= cfg->n_auth_domains; i++) {
		struct slice d;
		if (i == 0) {
			if (!guard_domain_allowed(p->guard, ru->host))
				continue;
			d = ru->host;
		} else {
			d = slice_cstr(cfg->auth_domains[i - 1]);
			if (strpbrk(cfg->auth_domains[i - 1], "*?["))
				continue;
		}
		if (!slice_copy_lower(d, dom, sizeof(dom)) ||
		    (size_t)snprintf(aor, aorsz, "%.*s@%s", (int)ru->user.n, ru->user.p, dom) >= aorsz)
			continue;
		int64_t at;
		t->b = registrar_pick(p->reg, slice_cstr(aor), wall);
		if (may_relay && p->locate && p->locate(p->locate_arg, aor, &t->node, &at) &&
		    (!t->b || at > t->b->at)) {
			t->b = NULL; /* the phone moved there since */
			return true;
		}
		if (t->b)
			return true;
		*known = *known || guard_account_known(p->guard, ru->user, slice_cstr(dom));
	}
	return false;
}

/* To the node the phone is registered on: that node routes it like a
 * request of the upstream's, and stays in the path with its own
 * Record-Route under ours. */
static void
to_node(struct proxy *p, const struct req *r, const struct sip_flow *pbx, int up,
    const char *aor, const struct addr *node)
{
	struct sip_flow dst = { TP_UDP, p->up_listener, 0, *node };
	struct txn *x = start_txn(p, r, &dst, -1);
	if (!x || !open_dialog(p, r, x, &dst, pbx, false, up, aor))
		return;
	struct fwd_req f = {
		.rr = { p->names[p->up_listener].uri, NULL },
		.src = r->pkt->remote,
	};
	p->st.to_node++;
	if (!forward(p, r, x, p->up_listener, &f))
		drop_txn(p, x);
}

/* A request of the upstream's (up >= 0) or of another node's (up -1). */
static void
to_phone(struct proxy *p, const struct req *r, int up)
{
	int64_t wall = (int64_t)time(NULL); /* the registrar counts in wall seconds */
	struct sip_uri ru;
	struct target t;
	char aor[DIALOG_OWNER_MAX];
	bool known = false;
	/* The PBX's side, as in-dialog requests reach it: from the listener
	 * our Via names (an upstream, or a node that passed the PBX's request). */
	struct sip_flow pbx = { TP_UDP, p->up_listener, 0, *r->pkt->remote };

	if (!sip_uri_parse(r->m->ruri, &ru)) {
		reply(p, r, NULL, 416, "Unsupported URI Scheme");
		return;
	}
	if (!ru.user.n || !find_target(p, &ru, wall, up >= 0, aor, sizeof(aor), &known, &t)) {
		p->st.unreachable++;
		if (ru.user.n && known)
			reply(p, r, NULL, 480, "Temporarily Unavailable");
		else
			reply(p, r, NULL, 404, "Not Found");
		return;
	}
	if (!t.b) {
		to_node(p, r, &pbx, up, aor, &t.node);
		return;
	}
	const struct reg_binding *b = t.b;
	if (b->flow.remote.len == 0) { /* registered without a way back */
		reply(p, r, NULL, 480, "Temporarily Unavailable");
		return;
	}
	struct txn *x = start_txn(p, r, &b->flow, -1);
	if (!x || !open_dialog(p, r, x, &b->flow, &pbx, false, up, aor))
		return;
	unsigned out = b->flow.listener;
	struct fwd_req f = {
		.ruri = slice_cstr(b->contact),
		.rr = { p->names[out].uri, out == p->up_listener ? NULL : p->names[p->up_listener].uri },
		.src = r->pkt->remote,
		.privacy_id = true,
	};
	if (!forward(p, r, x, out, &f))
		drop_txn(p, x);
}

/* ---- CANCEL ------------------------------------------------------------- */

/* The stored forwarded request, parsed again (into p->scratch). */
static bool
parse_stored(struct proxy *p, const struct buf *b)
{
	struct sip_limits lim = { MSG_MAX, SIP_MAX_HEADERS_CAP, MSG_MAX };
	const char *why;
	return sip_parse((struct slice){ b->p, b->n }, false, &lim, &p->scratch, &why) ==
	    SIP_PARSE_OK;
}

static void
send_cancel(struct proxy *p, struct txn *x, int64_t now)
{
	struct sbuf b;
	x->cancel_pending = false;
	if (x->cancel_sent || !parse_stored(p, &x->req))
		return;
	sbuf_init(&b, p->buf, sizeof(p->buf));
	if (!fwd_hop_request(&p->scratch, "CANCEL", SLICE_NULL, &b) || !keep(&x->cancel, b.p, b.n))
		return;
	x->cancel_sent = true;
	send_to(p, &x->dst, x->cancel.p, x->cancel.n);
	if (x->dst.proto == TP_UDP) {
		x->cancel_at = now + SIP_T1;
		x->cancel_ivl = SIP_T1;
		x->cancel_end = now + SIP_TIMER_B;
	}
}

static void
on_cancel(struct proxy *p, const struct req *r, struct txn *x)
{
	reply(p, r, NULL, 200, "OK");
	if (x->final_out || !x->invite)
		return;
	if (x->got_prov)
		send_cancel(p, x, r->now);
	else
		x->cancel_pending = true; /* RFC 3261 9.1: not before a provisional */
	txn_reschedule(p->txns, x);
}

/* ---- requests ----------------------------------------------------------- */

static bool
parse_req(struct req *r, const struct sip_msg *m, const struct sip_packet *pkt)
{
	struct slice vl = sip_hdr_get(m, SIP_H_VIA), top;
	uint32_t num;

	memset(r, 0, sizeof(*r));
	r->m = m;
	r->pkt = pkt;
	r->now = pkt->at_ms;
	r->callid = sip_hdr_get(m, SIP_H_CALL_ID);
	r->from_tag = tag_of(sip_hdr_get(m, SIP_H_FROM));
	r->to_tag = tag_of(sip_hdr_get(m, SIP_H_TO));
	if (!sip_list_next(&vl, &top) || !sip_via_parse(top, &r->via) ||
	    !sip_cseq_parse(sip_hdr_get(m, SIP_H_CSEQ), &num, &r->cseq_method))
		return false;
	sip_param(r->via.params, "branch", &r->branch);
	r->ack = slice_eq_cstr(m->method, "ACK");
	r->cancel = slice_eq_cstr(m->method, "CANCEL");
	r->invite = slice_eq_cstr(m->method, "INVITE");
	return true;
}

static unsigned
max_forwards(const struct sip_msg *m)
{
	uint64_t v;
	struct slice mf = sip_hdr_get(m, SIP_H_MAX_FORWARDS);
	return mf.p && slice_to_u64(mf, 0, 255, &v) ? (unsigned)v : 70;
}

/* A request of the upstream's (or, up -1, of another node's on its
 * behalf): in a dialog, or for a registered phone. */
static void
from_upstream(struct proxy *p, const struct req *r, int up)
{
	struct dialog *d = NULL;
	if (r->to_tag.n)
		d = dialog_find(p->dlgs, r->callid, r->from_tag, r->to_tag, r->now);
	if (r->ack) {
		if (d)
			in_dialog(p, r, d, false);
		return;
	}
	if (r->to_tag.n) {
		if (d) {
			in_dialog(p, r, d, false);
		} else {
			p->st.no_dialog++;
			reply(p, r, NULL, 481, "Call/Transaction Does Not Exist");
		}
		return;
	}
	to_phone(p, r, up);
}

enum proxy_step
proxy_request(struct proxy *p, const struct sip_msg *m, const struct sip_packet *pkt)
{
	struct req r;
	char as[ADDR_STRLEN];

	if (!pkt->flow || !parse_req(&r, m, pkt))
		return PROXY_AUTH;
	/* Our transactions first: retransmissions, ACKs of non-2xx, CANCELs. */
	/* ACK and CANCEL match the INVITE they are about (RFC 3261 17.2.3, 9.2). */
	struct txn *x = txn_by_skey(p->txns, server_key(p, &r, r.ack || r.cancel ?
	    SLICE_LIT("INVITE") : m->method));
	if (x && !sip_flow_same(&x->src, pkt->flow))
		x = NULL;
	if (r.cancel) {
		if (x)
			on_cancel(p, &r, x);
		else
			reply(p, &r, NULL, 481, "Call/Transaction Does Not Exist");
		return PROXY_DONE;
	}
	if (x) {
		if (r.ack) {
			if (x->final_out && x->resp_code >= 300 && !x->acked) {
				x->acked = true;
				x->rretx_at = 0;
				x->free_at = r.now + (x->src.proto == TP_UDP ? SIP_T4 : 0) + 1;
				txn_reschedule(p->txns, x);
			}
			return PROXY_DONE;
		}
		if (x->resp.n)
			send_to(p, &x->src, x->resp.p, x->resp.n);
		return PROXY_DONE;
	}
	if (is_loop(p, &r)) {
		p->st.loops++;
		log_info("SIP from %s: loop detected (our own Via with the same request): 482",
		    addr_str(pkt->remote, as, sizeof(as)));
		if (!r.ack)
			reply(p, &r, NULL, 482, "Loop Detected");
		return PROXY_DONE;
	}
	/* A REGISTER ends here (we are the registrar) unless register = forward:
	 * only what goes on is a hop that spends Max-Forwards. */
	bool goes_on = !slice_eq_cstr(m->method, "REGISTER") || p->cfg->register_forward;
	if (goes_on && !r.ack && (max_forwards(m) == 0 ||
	    fwd_via_count(m) > PROXY_MAX_VIA)) {
		p->st.too_many_hops++;
		reply(p, &r, NULL, 483, "Too Many Hops");
		return PROXY_DONE;
	}
	int up = pkt->flow->proto == TP_UDP ? guard_upstream(p->guard, pkt->remote) : -1;
	if (up >= 0) {
		from_upstream(p, &r, up);
		return PROXY_DONE;
	}
	if (pkt->flow->proto == TP_UDP && guard_cluster_node(p->guard, pkt->remote)) {
		/* Another node: the PBX's requests it passes on, or the phone's
		 * side of a dialog it opened to a phone registered there. */
		struct dialog *d = r.to_tag.n ?
		    dialog_find(p->dlgs, r.callid, r.from_tag, r.to_tag, r.now) : NULL;
		if (d && sip_flow_same(&d->phone, pkt->flow))
			in_dialog(p, &r, d, true);
		else
			from_upstream(p, &r, -1);
		return PROXY_DONE;
	}
	if (!r.to_tag.n)
		return PROXY_AUTH;
	/* In-dialog from a phone: only the phone of the dialog, through us. */
	struct dialog *d = dialog_find(p->dlgs, r.callid, r.from_tag, r.to_tag, r.now);
	if (!d) {
		p->st.no_dialog++;
		if (!r.ack) {
			log_info("SIP from %s: %.*s outside any dialog of ours: 481",
			    addr_str(pkt->remote, as, sizeof(as)), (int)m->method.n, m->method.p);
			reply(p, &r, NULL, 481, "Call/Transaction Does Not Exist");
		}
		return PROXY_DONE;
	}
	if (sip_flow_same(&d->phone, pkt->flow) && our_routes(p, m) > 0) {
		in_dialog(p, &r, d, true);
		return PROXY_DONE;
	}
	if (r.ack)
		return PROXY_DONE; /* an ACK cannot be challenged: a stranger's is dropped */
	return PROXY_AUTH;
}

void
proxy_route(struct proxy *p, const struct sip_msg *m, const struct sip_packet *pkt,
    const char *acct, const char *extra)
{
	struct req r;
	char as[ADDR_STRLEN];

	if (!pkt->flow || !parse_req(&r, m, pkt))
		return;
	if (!r.to_tag.n) {
		to_upstream_initial(p, &r, acct, extra);
		return;
	}
	struct dialog *d = dialog_find(p->dlgs, r.callid, r.from_tag, r.to_tag, r.now);
	if (!d) {
		p->st.no_dialog++;
		reply(p, &r, NULL, 481, "Call/Transaction Does Not Exist");
		return;
	}
	if (strcmp(d->owner, acct) != 0) {
		p->st.not_yours++;
		/* Both accounts hold a user name as the network sent it. */
		char who[LOG_ESCAPED_SIZE(DIALOG_OWNER_MAX)], owner[LOG_ESCAPED_SIZE(DIALOG_OWNER_MAX)];
		log_info("SIP from %s: %s sent %.*s in a dialog of %s: refused",
		    addr_str(pkt->remote, as, sizeof(as)),
		    log_escape(slice_cstr(acct), who, sizeof(who)), (int)m->method.n, m->method.p,
		    log_escape(slice_cstr(d->owner), owner, sizeof(owner)));
		reply(p, &r, NULL, 403, "Forbidden (not a party to this dialog)");
		return;
	}
	in_dialog(p, &r, d, true);
}

/* ---- responses ---------------------------------------------------------- */

static bool
relay(struct proxy *p, struct txn *x, const struct sip_msg *m)
{
	struct sbuf b;
	sbuf_init(&b, p->buf, sizeof(p->buf));
	if (!fwd_response(m, &b))
		return false;
	send_to(p, &x->src, b.p, b.n);
	p->st.relayed++;
	if (keep(&x->resp, b.p, b.n))
		x->resp_code = m->status;
	return true;
}

static void
ack_final(struct proxy *p, struct txn *x, const struct sip_msg *m)
{
	struct sbuf b;
	if (!parse_stored(p, &x->req))
		return;
	sbuf_init(&b, p->buf, sizeof(p->buf));
	if (fwd_hop_request(&p->scratch, "ACK", sip_hdr_get(m, SIP_H_TO), &b))
		send_to(p, &x->dst, b.p, b.n);
}

/* The server side after a final response went back. */
static void
server_completed(struct txn *x, unsigned code, int64_t now)
{
	x->final_out = true;
	x->retx_at = x->end_at = x->fail_at = 0;
	if (x->invite && code >= 300 && x->src.proto == TP_UDP && x->resp_code == code) {
		x->rretx_at = now + SIP_T1; /* Timer G, until the ACK */
		x->rretx_ivl = SIP_T1;
	}
	/*
	 * Timer H (64*T1) while a non-2xx waits for its ACK. Otherwise the
	 * transaction only absorbs stragglers, and like Kamailio's wait timer we
	 * keep it T4 rather than RFC 3261's 64*T1 (Timer J, RFC 6026's Timer L):
	 * at a thousand calls a second the difference is 60,000 transactions.
	 * A 2xx retransmitted later still reaches the phone through its dialog.
	 */
	x->free_at = now + (x->invite && code >= 300 ? SIP_TIMER_B : SIP_T4);
}

/* Another upstream, when this one failed before saying anything useful. */
static bool
failover(struct proxy *p, struct txn *x, int64_t now, const char *why)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	if (x->upstream < 0 || x->got_prov || x->final_out)
		return false;
	int next = pick_upstream(p, x->tried, now);
	if (next < 0)
		return false;
	log_notice("upstream %s %s: trying %s",
	    addr_str(&p->cfg->upstreams[x->upstream].addr, a, sizeof(a)), why,
	    addr_str(&p->cfg->upstreams[next].addr, b, sizeof(b)));
	p->st.failovers++;
	uint64_t ck = new_ckey(p);
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)ck);
	memcpy(x->req.p + x->branch_off, hex, 16);
	txn_set_ckey(p->txns, x, ck);
	x->upstream = next;
	x->tried |= 1u << next;
	x->dst = upstream_flow(p, (unsigned)next);
	x->got_resp = x->final_in = false;
	if (x->dlg) {
		struct dialog *d = dialog_get(p->dlgs, x->dlg);
		if (d) {
			d->upstream = next;
			d->pbx = x->dst;
		}
	}
	send_to(p, &x->dst, x->req.p, x->req.n);
	start_client_timers(p, x, now);
	return true;
}

/* A final response of our own for x's request (timeouts), built from the
 * request we forwarded without our Via. */
static void
final_of_ours(struct proxy *p, struct txn *x, unsigned code, const char *reason, int64_t now)
{
	struct sbuf b;
	struct sip_limits lim = { MSG_MAX, SIP_MAX_HEADERS_CAP, MSG_MAX };
	const char *why;

	sbuf_init(&b, p->tmp, sizeof(p->tmp));
	if (parse_stored(p, &x->req)) {
		sip_resp_start(&b, &p->scratch, &x->dst.remote, p->seed, code, reason);
		sip_resp_end(&b);
		if (!b.overflow && sip_parse((struct slice){ b.p, b.n }, false, &lim, &p->scratch,
		    &why) == SIP_PARSE_OK)
			relay(p, x, &p->scratch);
	}
	server_completed(x, code, now);
}

/*
 * A 2xx to an INVITE whose transaction we already forgot (its ACK was lost
 * and the callee retransmits it): passed on end to end through the dialog,
 * from one side of the dialog to the other only.
 */
static void
late_2xx(struct proxy *p, const struct sip_msg *m, const struct sip_packet *pkt,
    struct slice method)
{
	struct sbuf b;
	if (m->status < 200 || m->status >= 300 || !slice_eq_cstr(method, "INVITE"))
		return;
	struct dialog *d = dialog_find(p->dlgs, sip_hdr_get(m, SIP_H_CALL_ID),
	    tag_of(sip_hdr_get(m, SIP_H_FROM)), tag_of(sip_hdr_get(m, SIP_H_TO)), pkt->at_ms);
	if (!d)
		return;
	struct sip_flow *to;
	if (sip_flow_same(pkt->flow, &d->pbx))
		to = &d->phone;
	else if (sip_flow_same(pkt->flow, &d->phone))
		to = &d->pbx;
	else
		return;
	sbuf_init(&b, p->buf, sizeof(p->buf));
	if (fwd_response(m, &b) && send_to(p, to, b.p, b.n))
		p->st.relayed++;
}

void
proxy_response(struct proxy *p, const struct sip_msg *m, const struct sip_packet *pkt)
{
	struct slice vl = sip_hdr_get(m, SIP_H_VIA), top, br, meth;
	struct sip_via v;
	uint64_t ck;
	uint32_t num;
	int64_t now = pkt->at_ms;

	if (!pkt->flow || !sip_list_next(&vl, &top) || !sip_via_parse(top, &v) ||
	    !sip_param(v.params, "branch", &br) || br.n != BRANCH_LEN ||
	    !slice_startswith_case(br, BRANCH_PREFIX) ||
	    !slice_hex_to_u64(slice_sub(br, BRANCH_PREFIX_LEN, 16), UINT64_MAX, &ck) ||
	    !sip_cseq_parse(sip_hdr_get(m, SIP_H_CSEQ), &num, &meth))
		return;
	struct txn *x = txn_by_ckey(p->txns, ck);
	if (!x) {
		late_2xx(p, m, pkt, meth);
		return;
	}
	/* Only the peer we asked may answer. */
	if (!sip_flow_same(&x->dst, pkt->flow))
		return;
	if (slice_eq_cstr(meth, "CANCEL")) {
		x->cancel_done = true;
		x->cancel_at = x->cancel_end = 0;
		txn_reschedule(p->txns, x);
		return;
	}
	unsigned code = m->status;
	x->got_resp = true;
	x->fail_at = 0;
	if (x->upstream >= 0)
		p->down_until[x->upstream] = 0;
	if (code < 200) {
		if (x->final_in)
			return;
		x->got_prov = true;
		if (x->invite) {
			x->retx_at = 0;
			x->end_at = now + SIP_TIMER_C;
		} else if (x->retx_at) {
			x->retx_ivl = SIP_T2;
			x->retx_at = now + SIP_T2;
		}
		if (x->cancel_pending)
			send_cancel(p, x, now);
		if (code > 100 && !x->final_out)
			relay(p, x, m);
		txn_reschedule(p->txns, x);
		return;
	}
	if (x->final_in) {
		/* Retransmitted finals: a 2xx goes on end to end, others are ACKed. */
		if (x->invite && code >= 300)
			ack_final(p, x, m);
		else if (x->invite && code < 300)
			relay(p, x, m);
		return;
	}
	x->final_in = true;
	if (x->invite && code >= 300)
		ack_final(p, x, m);
	if (code == 503 && x->resp_code <= 100 && failover(p, x, now, "answered 503")) {
		txn_reschedule(p->txns, x);
		return;
	}
	struct dialog *d = x->dlg ? dialog_get(p->dlgs, x->dlg) : NULL;
	if (d && code < 300 && x->dlg_new)
		dialog_confirm(d, tag_of(sip_hdr_get(m, SIP_H_TO)),
		    now + (int64_t)p->cfg->dialog_timeout * 1000);
	else if (d && x->dlg_end && (code < 300 || code == 481 || code == 408))
		dialog_del(p->dlgs, d);
	else if (d && code >= 300 && x->dlg_new && !d->confirmed)
		dialog_del(p->dlgs, d);
	if (relay(p, x, m)) {
		server_completed(x, code, now);
	} else {
		/* No Via left under ours (a peer that answered from the wrong
		 * request): the sender still gets this final answer, from us. */
		char reason[64];
		bool ok = slice_copy(m->reason, reason, sizeof(reason)) && reason[0];
		for (size_t i = 0; ok && reason[i]; i++)
			ok = (unsigned char)reason[i] >= 0x20 && reason[i] != 0x7f;
		if (!ok)
			snprintf(reason, sizeof(reason), "%s", code < 300 ? "OK" : "Failed");
		final_of_ours(p, x, code, reason, now);
	}
	txn_reschedule(p->txns, x);
}

/* ---- timers ------------------------------------------------------------- */

static void
fire(struct proxy *p, struct txn *x, int64_t now)
{
	char as[ADDR_STRLEN];

	if (x->free_at && now >= x->free_at) {
		drop_txn(p, x);
		return;
	}
	if (x->retx_at && now >= x->retx_at) {
		send_to(p, &x->dst, x->req.p, x->req.n);
		x->retx_ivl = x->invite ? x->retx_ivl * 2 :
		    (x->retx_ivl * 2 < SIP_T2 ? x->retx_ivl * 2 : SIP_T2);
		x->retx_at = now + x->retx_ivl;
	}
	if (x->fail_at && now >= x->fail_at) {
		x->fail_at = 0;
		if (x->upstream >= 0 && !x->got_resp) {
			p->down_until[x->upstream] = now + PROXY_DOWN_MS;
			if (!failover(p, x, now, "did not answer"))
				log_warn("upstream %s did not answer within %u s",
				    addr_str(&x->dst.remote, as, sizeof(as)), p->cfg->upstream_timeout);
		}
	}
	if (x->end_at && now >= x->end_at) {
		x->end_at = 0;
		if (x->invite && x->got_prov && !x->timer_c_fired) {
			/* Timer C: a provisional but no answer for 3 minutes. */
			x->timer_c_fired = true;
			send_cancel(p, x, now);
			x->end_at = now + SIP_TIMER_B;
		} else if (!x->final_out) {
			p->st.timeouts++;
			x->retx_at = 0;
			if (x->cancel_sent || x->cancel_pending)
				final_of_ours(p, x, 487, "Request Terminated", now);
			else
				final_of_ours(p, x, 408, "Request Timeout", now);
		}
	}
	if (x->rretx_at && now >= x->rretx_at) {
		send_to(p, &x->src, x->resp.p, x->resp.n);
		x->rretx_ivl = x->rretx_ivl * 2 < SIP_T2 ? x->rretx_ivl * 2 : SIP_T2;
		x->rretx_at = now + x->rretx_ivl;
	}
	if (x->cancel_at && now >= x->cancel_at) {
		send_to(p, &x->dst, x->cancel.p, x->cancel.n);
		x->cancel_ivl = x->cancel_ivl * 2 < SIP_T2 ? x->cancel_ivl * 2 : SIP_T2;
		x->cancel_at = now + x->cancel_ivl;
	}
	if (x->cancel_end && now >= x->cancel_end)
		x->cancel_at = x->cancel_end = 0;
	txn_reschedule(p->txns, x);
}

void
proxy_tick(struct proxy *p, int64_t now)
{
	struct txn *x;
	/* Bounded: a timer that re-arms for "now" cannot spin here. */
	for (int i = 0; i < 4096 && (x = txn_due(p->txns, now)); i++)
		fire(p, x, now);
	if (now >= p->next_sweep) {
		dialogs_sweep(p->dlgs, now);
		p->next_sweep = now + 1000;
	}
}

int64_t
proxy_next(const struct proxy *p)
{
	int64_t t = txns_next(p->txns);
	if (dialogs_count(p->dlgs) && (t < 0 || p->next_sweep < t))
		t = p->next_sweep;
	return t;
}
