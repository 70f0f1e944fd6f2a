#include "sip/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rand.h"
#include "core/sbuf.h"
#include "sip/authhdr.h"
#include "sip/resp.h"
#include "sip/uri.h"

bool
sip_server_init(struct sip_server *s, const struct config *cfg, struct guard *g)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->guard = g;
	s->lim.max_message = cfg->max_message_size;
	s->lim.max_headers = cfg->max_headers;
	s->lim.max_line = 8192;
	rand_bytes(&s->tag_seed, sizeof(s->tag_seed));
	if (!(s->reg = registrar_new(cfg)))
		return false;
	if (cfg->n_upstreams && !(s->proxy = proxy_new(cfg, g, s->reg, s->tag_seed))) {
		registrar_free(s->reg);
		s->reg = NULL;
		return false;
	}
	return true;
}

struct sip_parked {
	struct sip_parked *next;
	struct sip_flow flow;
	struct addr local;
	const char *transport;
	bool stream;
	int acl;
	struct tls_subjects *peer;
	int64_t at_ms;
	time_t since;
	size_t n;
	char data[];
};

static void
parked_free(struct sip_parked *p)
{
	free(p->peer);
	free(p);
}

void
sip_server_destroy(struct sip_server *s)
{
	while (s->parked) {
		struct sip_parked *p = s->parked;
		s->parked = p->next;
		parked_free(p);
	}
	s->parked_last = NULL;
	s->nparked = 0;
	free(s->resume_reply);
	s->resume_reply = NULL;
	proxy_free(s->proxy);
	s->proxy = NULL;
	registrar_free(s->reg);
	s->reg = NULL;
}

void
sip_server_set_sender(struct sip_server *s, const struct sip_sender *out)
{
	s->out = *out;
	if (s->proxy)
		proxy_set_sender(s->proxy, out);
}

void
sip_server_tick(struct sip_server *s, int64_t now_ms)
{
	if (s->proxy)
		proxy_tick(s->proxy, now_ms);
}

int64_t
sip_server_next_timer(const struct sip_server *s)
{
	return s->proxy ? proxy_next(s->proxy) : -1;
}

static void
start_response(struct sip_server *s, struct sbuf *b, const struct sip_msg *m,
    const struct sip_packet *pkt, unsigned code, const char *reason)
{
	sip_resp_start(b, m, pkt->remote, s->tag_seed, code, reason);
}

static void
finish_response(struct sbuf *b, struct sip_reply *out)
{
	sip_resp_end(b);
	out->n = b->overflow ? 0 : b->n;
	if (b->overflow)
		log_warn("response larger than %d bytes: not sent", SIP_REPLY_MAX);
}

static void
simple_response(struct sip_server *s, const struct sip_msg *m, const struct sip_packet *pkt,
    unsigned code, const char *reason, struct sip_reply *out)
{
	struct sbuf b;
	sbuf_init(&b, out->buf, sizeof(out->buf));
	start_response(s, &b, m, pkt, code, reason);
	finish_response(&b, out);
}

static void
put_challenges(struct sbuf *b, const char *hdr, const struct guard_challenge *ch)
{
	for (size_t i = 0; i < ch->nalgs; i++) {
		sbuf_printf(b, "%s: Digest realm=\"%s\", nonce=\"%s\", algorithm=%s", hdr,
		    ch->realm, ch->nonce, digest_alg_name(ch->algs[i]));
		if (ch->qop)
			sbuf_puts(b, ", qop=\"auth\"");
		if (ch->stale)
			sbuf_puts(b, ", stale=true");
		sbuf_puts(b, "\r\n");
	}
}

static void
challenge_response(struct sip_server *s, const struct sip_msg *m,
    const struct sip_packet *pkt, bool is_register, const struct guard_challenge *ch,
    struct sip_reply *out)
{
	struct sbuf b;
	sbuf_init(&b, out->buf, sizeof(out->buf));
	if (is_register) {
		start_response(s, &b, m, pkt, 401, "Unauthorized");
		put_challenges(&b, "WWW-Authenticate", ch);
	} else {
		start_response(s, &b, m, pkt, 407, "Proxy Authentication Required");
		put_challenges(&b, "Proxy-Authenticate", ch);
	}
	finish_response(&b, out);
	s->n_challenges++;
}

/* ---- REGISTER --------------------------------------------------------- */

static const char *
parse_contacts(struct sip_server *s, const struct sip_msg *m, struct reg_request *rq,
    unsigned *too_brief)
{
	const struct config *cfg = s->cfg;
	struct slice ehdr = sip_hdr_get(m, SIP_H_EXPIRES);
	uint64_t dflt = cfg->default_expires, v;
	bool have_expires_hdr = ehdr.p != NULL;

	*too_brief = 0;
	if (have_expires_hdr) {
		if (!slice_to_u64(ehdr, 0, UINT32_MAX, &v))
			return "bad Expires";
		dflt = v;
	}
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].id != SIP_H_CONTACT)
			continue;
		struct slice list = m->hdrs[i].value, item, uri, params, val;
		while (sip_list_next(&list, &item)) {
			if (slice_eq_cstr(item, "*")) {
				rq->star = true;
				continue;
			}
			if (rq->ncontacts == REG_MAX_CONTACTS_PER_REQUEST)
				return "too many contacts";
			/* Stored and echoed in every 200 OK: it must be a clean SIP URI. */
			struct sip_uri cu;
			if (!sip_nameaddr(item, &uri, &params) || uri.n > 1024 ||
			    !sip_uri_parse(uri, &cu) || !sip_no_space_or_ctl(uri))
				return "bad Contact";
			uint64_t e = dflt;
			if (sip_param(params, "expires", &val) && !slice_to_u64(val, 0, UINT32_MAX, &e))
				return "bad Contact expires";
			if (e > 0 && e < cfg->min_expires)
				*too_brief = cfg->min_expires;
			if (e > cfg->max_expires)
				e = cfg->max_expires;
			struct reg_contact *c = &rq->contacts[rq->ncontacts++];
			c->uri = uri;
			c->expires = (unsigned)e;
			c->q = SLICE_NULL;
			if (sip_param(params, "q", &val)) {
				if (!sip_qvalue_ok(val))
					return "bad Contact q";
				c->q = val;
			}
		}
	}
	if (rq->star && (rq->ncontacts > 0 || !have_expires_hdr || dflt != 0))
		return "Contact: * needs Expires: 0 and no other contact";
	return NULL;
}

static void
do_register(struct sip_server *s, const struct sip_msg *m, const struct sip_packet *pkt,
    const struct sip_uri *from, time_t now, struct sip_reply *out)
{
	struct slice touri, toparams, meth;
	struct sip_uri to;
	struct reg_request rq;
	unsigned too_brief;
	char aor[REG_AOR_MAX];
	const char *why;

	if (!sip_nameaddr(sip_hdr_get(m, SIP_H_TO), &touri, &toparams) ||
	    !sip_uri_parse(touri, &to)) {
		simple_response(s, m, pkt, 400, "Bad To", out);
		return;
	}
	/* The authenticated identity may only change its own bindings. */
	if (!slice_eq(to.user, from->user) || !slice_caseeq(to.host, from->host)) {
		simple_response(s, m, pkt, 403, "Third-party registration forbidden", out);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.callid = sip_hdr_get(m, SIP_H_CALL_ID);
	sip_cseq_parse(sip_hdr_get(m, SIP_H_CSEQ), &rq.cseq, &meth);
	rq.flow = pkt->flow;
	if ((why = parse_contacts(s, m, &rq, &too_brief))) {
		char reason[96];
		snprintf(reason, sizeof(reason), "Bad Request (%s)", why);
		simple_response(s, m, pkt, 400, reason, out);
		return;
	}
	if (too_brief) {
		struct sbuf b;
		sbuf_init(&b, out->buf, sizeof(out->buf));
		start_response(s, &b, m, pkt, 423, "Interval Too Brief");
		sbuf_printf(&b, "Min-Expires: %u\r\n", too_brief);
		finish_response(&b, out);
		return;
	}
	/* AOR key: user as given, domain lower-cased (RFC 3261 19.1.4). */
	char dom[256];
	if (!slice_copy_lower(from->host, dom, sizeof(dom)) ||
	    (size_t)snprintf(aor, sizeof(aor), "%.*s@%s", (int)from->user.n, from->user.p,
	    dom) >= sizeof(aor)) {
		simple_response(s, m, pkt, 400, "Bad Request (address of record too long)", out);
		return;
	}
	switch (registrar_update(s->reg, slice_cstr(aor), &rq, now)) {
	case REG_OK:
		break;
	case REG_OUT_OF_ORDER:
		simple_response(s, m, pkt, 500, "Out Of Order CSeq", out);
		return;
	case REG_NO_MEMORY:
		simple_response(s, m, pkt, 500, "Server Internal Error", out);
		return;
	}
	size_t n;
	const struct reg_binding *bd = registrar_lookup(s->reg, slice_cstr(aor), now, &n);
	struct sbuf b;
	sbuf_init(&b, out->buf, sizeof(out->buf));
	start_response(s, &b, m, pkt, 200, "OK");
	for (size_t i = 0; i < n; i++) {
		sbuf_printf(&b, "Contact: <%s>;expires=%lld", bd[i].contact,
		    (long long)(bd[i].expires_at - now));
		if (bd[i].q[0])
			sbuf_printf(&b, ";q=%s", bd[i].q);
		sbuf_puts(&b, "\r\n");
	}
	finish_response(&b, out);
}

/* ---- dispatch --------------------------------------------------------- */

static void
options_response(struct sip_server *s, const struct sip_msg *m, const struct sip_packet *pkt,
    struct sip_reply *out)
{
	struct sbuf b;
	sbuf_init(&b, out->buf, sizeof(out->buf));
	start_response(s, &b, m, pkt, 200, "OK");
	sbuf_puts(&b, "Allow: REGISTER, OPTIONS, ACK, CANCEL, BYE, INVITE\r\n"
	    "Accept: application/sdp\r\n");
	finish_response(&b, out);
}

/* Collects the Digest credentials of the request. */
static size_t
collect_proofs(const struct sip_msg *m, struct guard_proof *proofs, char *scratch,
    const char **why)
{
	size_t n = 0, used = 0;

	*why = NULL;
	for (size_t i = 0; i < m->nhdrs && n < SIP_MAX_CREDENTIALS; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		if (h->id != SIP_H_AUTHORIZATION && h->id != SIP_H_PROXY_AUTHORIZATION)
			continue;
		if (sip_authhdr_parse(h->value, &proofs[n], scratch, SIP_AUTH_SCRATCH, &used, why))
			n++;
		else if (*why)
			return n;
	}
	return n;
}

/*
 * Keeps a copy of the request until the credential store answers. Bounded
 * (SIP_MAX_PARKED) and timed (SIP_PARK_SECONDS): a flood of new names
 * fills the store's queue and gets 503s, not our memory.
 */
static bool
park(struct sip_server *s, const struct sip_msg *m, const struct sip_packet *pkt, time_t now)
{
	size_t n = pkt->stream ? m->len : pkt->data.n;
	struct sip_parked *p;

	if (!pkt->flow || !s->out.send || s->nparked >= SIP_MAX_PARKED ||
	    n > pkt->data.n || !(p = calloc(1, sizeof(*p) + n)))
		return false;
	if (pkt->peer && !(p->peer = malloc(sizeof(*p->peer)))) {
		free(p);
		return false;
	}
	if (pkt->peer)
		memcpy(p->peer, pkt->peer, sizeof(*p->peer));
	p->flow = *pkt->flow;
	p->local = *pkt->local;
	p->transport = pkt->transport;
	p->stream = pkt->stream;
	p->acl = pkt->acl;
	p->at_ms = pkt->at_ms;
	/* Every answer resumes every parked request: one whose own answer has
	 * not come parks again, and keeps its first time. */
	p->since = pkt->parked ? pkt->parked : now;
	p->n = n;
	memcpy(p->data, pkt->data.p, n);
	if (s->parked_last)
		s->parked_last->next = p;
	else
		s->parked = p;
	s->parked_last = p;
	s->nparked++;
	s->n_parked++;
	return true;
}

void
sip_server_resume(void *server)
{
	static struct sip_msg m; /* 10 KiB: off the stack */
	struct sip_server *s = server;
	struct sip_parked *list = s->parked;
	time_t now = time(NULL);
	const char *why;

	if (!s->resume_reply && !(s->resume_reply = malloc(sizeof(*s->resume_reply))))
		return; /* they stay parked; the next answer tries again */
	s->parked = s->parked_last = NULL;
	s->nparked = 0;
	while (list) {
		struct sip_parked *p = list;
		list = p->next;
		struct sip_packet pkt = { { p->data, p->n }, &p->flow.remote, &p->local, p->transport,
			p->stream, p->acl, p->peer, &p->flow, p->at_ms, p->since };
		/* Older than the client's own patience: it has given up or resent. */
		if (now - p->since <= SIP_PARK_SECONDS &&
		    sip_parse(pkt.data, p->stream, &s->lim, &m, &why) == SIP_PARSE_OK) {
			sip_handle_msg(s, &m, &pkt, now, s->resume_reply);
			if (s->resume_reply->n && s->out.send)
				s->out.send(s->out.ctx, &p->flow, s->resume_reply->buf,
				    s->resume_reply->n);
		}
		parked_free(p);
	}
}

void
sip_handle_msg(struct sip_server *s, const struct sip_msg *m, const struct sip_packet *pkt,
    time_t now, struct sip_reply *out)
{
	struct guard_proof proofs[SIP_MAX_CREDENTIALS];
	char scratch[SIP_AUTH_SCRATCH];
	struct slice fromuri, fromparams, meth, branch = SLICE_NULL;
	struct sip_uri from, ruri;
	struct sip_via via;
	uint32_t cseq;
	const char *why;

	out->n = 0;
	out->close = false;
	if (!m->is_request) {
		/* Responses only ever answer what the proxy forwarded. */
		if (s->proxy && m->first[SIP_H_VIA] >= 0 && m->first[SIP_H_CSEQ] >= 0)
			proxy_response(s->proxy, m, pkt);
		return;
	}
	struct guard_source src = { pkt->remote, pkt->local, pkt->transport, "SIP", pkt->acl };
	/* A resumed request was counted, and its User-Agent judged, the first time. */
	if (!pkt->parked) {
		s->n_requests++;
		if (guard_user_agent(s->guard, &src, sip_hdr_get(m, SIP_H_USER_AGENT), now) ==
		    GUARD_DROP)
			return; /* a scanner just banned: it hears nothing more */
	}
	/* Headers first: every response below copies them. */
	if ((why = sip_check_request(m))) {
		sip_handle_bad(s, m, pkt, why, out);
		return;
	}
	if (!slice_eq_cstr(m->version, "SIP/2.0")) {
		simple_response(s, m, pkt, 505, "Version Not Supported", out);
		return;
	}
	if (!sip_cseq_parse(sip_hdr_get(m, SIP_H_CSEQ), &cseq, &meth) ||
	    !slice_eq(meth, m->method)) {
		sip_handle_bad(s, m, pkt, "bad CSeq", out);
		return;
	}
	struct slice vl = sip_hdr_get(m, SIP_H_VIA), top;
	if (!sip_list_next(&vl, &top) || !sip_via_parse(top, &via)) {
		s->n_bad++;
		return; /* without a usable Via there is nobody to answer */
	}
	sip_param(via.params, "branch", &branch);
	if (!sip_nameaddr(sip_hdr_get(m, SIP_H_FROM), &fromuri, &fromparams) ||
	    !sip_uri_parse(fromuri, &from)) {
		sip_handle_bad(s, m, pkt, "bad From", out);
		return;
	}
	struct slice touri, toparams;
	struct sip_uri to;
	if (!sip_nameaddr(sip_hdr_get(m, SIP_H_TO), &touri, &toparams) ||
	    !sip_uri_parse(touri, &to)) {
		sip_handle_bad(s, m, pkt, "bad To", out);
		return;
	}
	struct slice mf = sip_hdr_get(m, SIP_H_MAX_FORWARDS);
	uint64_t mfv;
	if (mf.p && !slice_to_u64(mf, 0, 255, &mfv)) {
		sip_handle_bad(s, m, pkt, "bad Max-Forwards", out);
		return;
	}
	if (s->proxy) {
		/* OPTIONS to us (no user, no dialog) is ours to answer, unchallenged. */
		struct slice tt;
		if (slice_eq_cstr(m->method, "OPTIONS") && sip_uri_parse(m->ruri, &ruri) &&
		    ruri.user.n == 0 && !sip_param(toparams, "tag", &tt)) {
			options_response(s, m, pkt, out);
			return;
		}
		if (proxy_request(s->proxy, m, pkt) == PROXY_DONE)
			return;
	}
	if (slice_eq_cstr(m->method, "ACK"))
		return; /* ACKs our final response; never challenged */
	if (!sip_uri_parse(m->ruri, &ruri)) {
		simple_response(s, m, pkt, 416, "Unsupported URI Scheme", out);
		return;
	}
	if (slice_eq_cstr(m->method, "CANCEL")) {
		simple_response(s, m, pkt, 481, "Call/Transaction Does Not Exist", out);
		return;
	}
	if (slice_eq_cstr(m->method, "OPTIONS") && ruri.user.n == 0) {
		options_response(s, m, pkt, out);
		return;
	}

	/* Authentication: the guard decides, we only frame the question. */
	bool is_register = slice_eq_cstr(m->method, "REGISTER");
	size_t nproofs = collect_proofs(m, proofs, scratch, &why);
	struct guard_verdict v;
	if (why) {
		guard_malformed(s->guard, from.user, SLICE_LIT("Authorization"), why, &v);
	} else {
		struct slice rh[3] = { sip_hdr_get(m, SIP_H_CALL_ID), sip_hdr_get(m, SIP_H_CSEQ),
			branch };
		struct guard_auth_request rq = {
			.src = &src, .peer = pkt->peer, .target_domain = ruri.host, .user = from.user, .domain = from.host, .method = m->method,
			.body = m->body, .proofs = proofs, .nproofs = nproofs,
			.reqhash = sip_hash_slices(s->tag_seed, rh, 3), .now = now,
		};
		guard_authenticate(s->guard, &rq, &v);
	}
	if (v.outcome == GUARD_PENDING) {
		if (park(s, m, pkt, now))
			return; /* answered when the store is */
		v.outcome = GUARD_UNAVAILABLE;
	}
	guard_report(s->guard, &src, sip_hdr_get(m, SIP_H_CALL_ID), &v);

	switch (v.outcome) {
	case GUARD_OK:
		s->n_auth_ok++;
		if (v.has_event) {
			char who[LOG_ESCAPED_SIZE(64)], dom[LOG_ESCAPED_SIZE(64)], as[ADDR_STRLEN];
			char sub[LOG_ESCAPED_SIZE(128)], how[LOG_ESCAPED_SIZE(128) + 40];
			if (v.cert_subject[0])
				snprintf(how, sizeof(how), "a client certificate (%s)",
				    log_escape(slice_cstr(v.cert_subject), sub, sizeof(sub)));
			else
				snprintf(how, sizeof(how), "%s", digest_alg_name(v.alg));
			log_info("%s from %s: %s@%s authenticated with %s", pkt->transport,
			    addr_str(pkt->remote, as, sizeof(as)),
			    log_escape(from.user, who, sizeof(who)),
			    log_escape(from.host, dom, sizeof(dom)), how);
		}
		break;
	case GUARD_CHALLENGE:
		challenge_response(s, m, pkt, is_register, &v.ch, out);
		return;
	case GUARD_FORBIDDEN:
		s->n_auth_fail++;
		if (v.challenge_too)
			challenge_response(s, m, pkt, is_register, &v.ch, out);
		else
			simple_response(s, m, pkt, 403, v.reason ? v.reason : "Forbidden", out);
		return;
	case GUARD_DOMAIN_REFUSED:
		s->n_auth_fail++;
		simple_response(s, m, pkt, 403, "Domain forbidden", out);
		return;
	case GUARD_BAD_REQUEST: {
		char reason[96];
		snprintf(reason, sizeof(reason), "Bad Request (%s)", v.reason);
		simple_response(s, m, pkt, 400, reason, out);
		return;
	}
	case GUARD_PENDING: /* cannot happen: parked or made UNAVAILABLE above */
	case GUARD_UNAVAILABLE: {
		/* Never a 403: nothing was wrong with the credentials (no strike). */
		struct sbuf b;
		s->n_unavailable++;
		sbuf_init(&b, out->buf, sizeof(out->buf));
		start_response(s, &b, m, pkt, 503, "Service Unavailable");
		sbuf_puts(&b, "Retry-After: 5\r\n");
		finish_response(&b, out);
		return;
	}
	}

	char acct[sizeof(v.acct)], dom[256];
	if (v.known)
		snprintf(acct, sizeof(acct), "%s", v.acct);
	else
		snprintf(acct, sizeof(acct), "%.*s@%s", (int)from.user.n, from.user.p,
		    slice_copy_lower(from.host, dom, sizeof(dom)) ? dom : "");
	if (is_register) {
		do_register(s, m, pkt, &from, now, out);
		/* register = forward: bound here, then the PBX sees it and answers. */
		if (s->proxy && s->cfg->register_forward && out->n > 12 &&
		    memcmp(out->buf, "SIP/2.0 200 ", 12) == 0) {
			char path[128];
			snprintf(path, sizeof(path), "Path: %s\r\n", proxy_path(s->proxy));
			out->n = 0;
			proxy_route(s->proxy, m, pkt, acct, path);
		}
		return;
	}
	if (s->proxy) {
		proxy_route(s->proxy, m, pkt, acct, NULL);
		return;
	}
	if (slice_eq_cstr(m->method, "OPTIONS")) {
		options_response(s, m, pkt, out);
		return;
	}
	/* Authenticated, but there is nowhere to route it until an upstream exists. */
	simple_response(s, m, pkt, 501, "Not Implemented (no upstream configured)", out);
}

void
sip_handle_bad(struct sip_server *s, const struct sip_msg *m, const struct sip_packet *pkt,
    const char *why, struct sip_reply *out)
{
	char reason[128], esc[96];

	s->n_bad++;
	out->n = 0;
	log_info("bad SIP message from %s: %s", addr_str(pkt->remote, esc, sizeof(esc)), why);
	/* Only requests get answers, and only if we know where the answer goes. */
	if (!m->is_request || m->first[SIP_H_VIA] < 0 || m->first[SIP_H_FROM] < 0 ||
	    m->first[SIP_H_TO] < 0 || m->first[SIP_H_CALL_ID] < 0 || m->first[SIP_H_CSEQ] < 0)
		return;
	if (slice_eq_cstr(m->method, "ACK"))
		return;
	snprintf(reason, sizeof(reason), "Bad Request (%s)", why);
	simple_response(s, m, pkt, 400, reason, out);
	struct guard_source src = { pkt->remote, pkt->local, pkt->transport, "SIP", pkt->acl };
	struct guard_verdict v;
	guard_malformed(s->guard, SLICE_NULL, m->method, why, &v);
	guard_report(s->guard, &src, sip_hdr_get(m, SIP_H_CALL_ID), &v);
}

void
sip_handle_datagram(struct sip_server *s, const struct sip_packet *pkt, time_t now,
    struct sip_reply *out)
{
	static struct sip_msg m; /* 10 KiB: not on the stack of every packet */
	const char *why;

	out->n = 0;
	out->close = false;
	if (sip_keepalive_len(pkt->data) == pkt->data.n)
		return; /* CRLF keep-alive: nothing to answer over UDP */
	switch (sip_parse(pkt->data, false, &s->lim, &m, &why)) {
	case SIP_PARSE_OK:
		sip_handle_msg(s, &m, pkt, now, out);
		break;
	default:
		sip_handle_bad(s, &m, pkt, why ? why : "malformed", out);
		break;
	}
}
