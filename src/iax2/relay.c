/*
 * Through the door: a caller the guard let in is relayed to the PBX on a
 * leg of our own (our call numbers, our sequence numbers, our call token
 * and authentication there), and a call from the PBX to a peer registered
 * here goes on to that peer. Once both legs are up every frame is carried
 * across with its timestamp kept and only the call numbers changed.
 */
#include "iax2/door.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* What the caller said that must not reach the other side. */
static bool
passes(uint8_t ie)
{
	switch (ie) {
	case IAX_IE_USERNAME:		/* each leg says its own */
	case IAX_IE_PASSWORD:
	case IAX_IE_MD5_RESULT:
	case IAX_IE_RSA_RESULT:
	case IAX_IE_CHALLENGE:
	case IAX_IE_AUTHMETHODS:
	case IAX_IE_CALLTOKEN:		/* a token binds one hop */
	case IAX_IE_ENCRYPTION:		/* keys come from one hop's secret: no end-to-end */
	case IAX_IE_ENCKEY:
	case IAX_IE_VARIABLE:		/* a caller does not set the PBX's variables */
		return false;
	default:
		return true;
	}
}

static bool
to_pbx(const struct iax_server *s, const struct iax_leg *l)
{
	return s->cfg->iax2.has_upstream && addr_equal(&l->peer, &s->cfg->iax2.upstream);
}

static void
send_new(struct iax_server *s, struct iax_leg *l, uint64_t now)
{
	struct iax_out o;
	const struct iax_leg *from = l->other;

	iax_leg_begin(l, &o, now, 0, IAX_T_IAX, IAX_NEW);
	for (size_t i = 0; from && i + 2 <= from->nies;) {
		uint8_t t = from->ies[i], n = from->ies[i + 1];
		if (passes(t))
			iax_out_raw(&o, from->ies + i, 2 + (size_t)n);
		i += 2 + (size_t)n;
	}
	if (l->username[0])
		iax_out_ie_str(&o, IAX_IE_USERNAME, l->username);
	if (to_pbx(s, l) && from && from->username[0]) {
		/* Who the door let in, for the PBX's dialplan: ${PBXGUARD_USER}. */
		char var[100];
		snprintf(var, sizeof(var), "PBXGUARD_USER=%s", from->username);
		iax_out_ie_str(&o, IAX_IE_VARIABLE, var);
	}
	iax_out_ie_str(&o, IAX_IE_CALLTOKEN, l->token);
	iax_leg_send(s, l, &o, now);
}

static struct iax_leg *
dial(struct iax_server *s, struct iax_leg *in, const struct addr *to, const char *username,
    uint64_t now)
{
	struct iax_leg *out = iax_leg_new(&s->calls, to, now);

	if (!out)
		return NULL;
	out->outbound = true;
	out->validated = true;
	out->state = LEG_DIALING;
	out->deadline_ms = now + (uint64_t)s->cfg->iax2.authtimeout * 1000;
	snprintf(out->username, sizeof(out->username), "%s", username);
	out->other = in;
	in->other = out;
	in->state = LEG_WAIT_PEER;
	in->deadline_ms = out->deadline_ms;
	send_new(s, out, now);
	return out;
}

void
iax_relay_dial_upstream(struct iax_server *s, struct iax_leg *l, const struct iax_user *u,
    uint64_t now)
{
	const struct config_iax2 *c = &s->cfg->iax2;
	char as[ADDR_STRLEN];

	if (!dial(s, l, &c->upstream, c->upstream_user[0] ? c->upstream_user : u->name, now)) {
		snprintf(l->cause, sizeof(l->cause), "No more call numbers");
		l->causecode = IAX_CAUSE_CONGESTION;
		l->refusal = IAX_REJECT;
		iax_refuse_now(s, l, now);
		return;
	}
	log_info("iax2 call %u: '%s' from %s authenticated: on to the PBX at %s", l->local,
	    u->name, addr_str(&l->peer, as, sizeof(as)),
	    addr_str(&c->upstream, (char[ADDR_STRLEN]){ 0 }, ADDR_STRLEN));
}

void
iax_relay_inbound(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies,
    uint64_t now)
{
	struct slice called = ies->v[IAX_IE_CALLED_NUMBER];
	char who[LOG_ESCAPED_SIZE(80)];
	const struct iax_reg *r = iax_reg_find(s, called, time(NULL));

	log_escape(called, who, sizeof(who));
	if (!iax_leg_keep_ies(l, ies)) {
		snprintf(l->cause, sizeof(l->cause), "Call request too large");
		l->causecode = IAX_CAUSE_CALL_REJECTED;
		l->refusal = IAX_REJECT;
		iax_refuse_now(s, l, now);
		return;
	}
	if (!r) {
		log_info("iax2 call %u from the PBX to '%s': not registered here", l->local, who);
		snprintf(l->cause, sizeof(l->cause), "Subscriber absent");
		l->causecode = IAX_CAUSE_UNREGISTERED;
		l->refusal = IAX_REJECT;
		iax_refuse_now(s, l, now);
		return;
	}
	if (!dial(s, l, &r->addr, r->name, now)) {
		snprintf(l->cause, sizeof(l->cause), "No more call numbers");
		l->causecode = IAX_CAUSE_CONGESTION;
		l->refusal = IAX_REJECT;
		iax_refuse_now(s, l, now);
		return;
	}
	log_info("iax2 call %u from the PBX: on to '%s' at %s", l->local, r->name,
	    addr_str(&r->addr, (char[ADDR_STRLEN]){ 0 }, ADDR_STRLEN));
}

/* The other side asks us to authenticate: outkey (RSA) or the secret. */
static bool
answer_authreq(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies, uint64_t now)
{
	const struct config_iax2 *c = &s->cfg->iax2;
	uint16_t methods = 0;
	struct slice challenge = ies->v[IAX_IE_CHALLENGE];
	const char *secret = NULL, *outkey = NULL;
	char sig[1400], md5[33];
	struct iax_out o;

	iax_ie_u16(ies, IAX_IE_AUTHMETHODS, &methods);
	if (to_pbx(s, l)) {
		secret = c->upstream_secret[0] ? c->upstream_secret : NULL;
		outkey = c->outkey[0] ? c->outkey : NULL;
	} else {
		/* Users from SQL: the row the peer registered with. */
		const struct iax_reg *r = s->users ? NULL
		    : iax_reg_find(s, slice_cstr(l->username), time(NULL));
		const struct iax_user *u = iax_users_find(s->users ? s->users : r ? r->row : NULL,
		    slice_cstr(l->username));
		secret = u && u->nsecrets ? u->secrets[0] : NULL;
		outkey = u && u->outkey[0] ? u->outkey : NULL;
	}
	iax_leg_begin(l, &o, now, 0, IAX_T_IAX, IAX_AUTHREP);
	if ((methods & IAX_AUTH_RSA) && outkey &&
	    key_sign(keyring_find(s->keys, slice_cstr(outkey), true), challenge, sig, sizeof(sig)))
		iax_out_ie_str(&o, IAX_IE_RSA_RESULT, sig);
	else if ((methods & IAX_AUTH_MD5) && secret) {
		guard_iax_md5(challenge, slice_cstr(secret), md5);
		iax_out_ie_str(&o, IAX_IE_MD5_RESULT, md5);
	} else if ((methods & IAX_AUTH_PLAINTEXT) && secret) {
		iax_out_ie_str(&o, IAX_IE_PASSWORD, secret);
	} else {
		log_warn("iax2 call %u: %s asks for authentication (methods %u) that we cannot give: "
		    "set [iax2] upstream-secret, or outkey with its private key in %s (unlocked)",
		    l->local, to_pbx(s, l) ? "the PBX" : "the peer", methods, c->keydir);
		return false;
	}
	iax_leg_send(s, l, &o, now);
	return true;
}

/* Our NEW came back with a token to use: the same NEW again, with it. */
static void
retry_with_token(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies, uint64_t now)
{
	struct slice tok = ies->v[IAX_IE_CALLTOKEN];

	if (!l->outbound || l->state != LEG_DIALING || l->token[0] || tok.n == 0 ||
	    !slice_copy(tok, l->token, sizeof(l->token)))
		return;
	for (struct iax_sent *q = l->queue, *next; q; q = next) {
		next = q->next;
		free(q);
	}
	l->queue = l->queue_tail = NULL;
	l->oseqno = l->iseqno = l->rseqno = 0;
	iax_leg_bind_remote(&s->calls, l, 0);
	send_new(s, l, now);
}

static void
forward(struct iax_server *s, struct iax_leg *to, const uint8_t *raw, size_t n, bool final,
    uint64_t now)
{
	struct iax_out o = { .n = 0 };

	iax_out_raw(&o, raw, n);
	if (final)
		iax_leg_send_final(s, to, &o, now);
	else
		iax_leg_send(s, to, &o, now);
}

void
iax_relay_hangup_other(struct iax_server *s, struct iax_leg *l, const char *cause, uint8_t code,
    uint64_t now)
{
	struct iax_leg *o = l->other;
	struct iax_out f;

	if (!o)
		return;
	l->other = o->other = NULL;
	if (o->state == LEG_CLOSING)
		return;
	/* A caller still waiting gets a REJECT; a call that was up, a HANGUP. */
	iax_leg_begin(o, &f, now, 0, IAX_T_IAX, o->state == LEG_UP || o->outbound ? IAX_HANGUP :
	    IAX_REJECT);
	iax_out_ie_str(&f, IAX_IE_CAUSE, cause);
	iax_out_ie_u8(&f, IAX_IE_CAUSECODE, code);
	iax_leg_send_final(s, o, &f, now);
}

bool
iax_relay_frame(struct iax_server *s, struct iax_leg *l, const struct iax_frame *f,
    const uint8_t *raw, size_t n, const struct iax_ies *ies, uint64_t now)
{
	struct iax_leg *o = l->other;
	bool cmd = f->type == IAX_T_IAX;
	char as[ADDR_STRLEN];

	if (cmd && f->subclass == IAX_CALLTOKEN) {
		retry_with_token(s, l, ies, now);
		return false;
	}
	if (cmd && (f->subclass == IAX_HANGUP || f->subclass == IAX_REJECT)) {
		/* Acknowledged, passed on with its cause, and this leg is done. */
		struct iax_out ack;
		iax_leg_begin(l, &ack, now, f->ts, IAX_T_IAX, IAX_ACK);
		iax_leg_send(s, l, &ack, now);
		if (o && o->state != LEG_CLOSING) {
			l->other = o->other = NULL;
			struct iax_out fw;
			iax_leg_begin(o, &fw, now, 0, IAX_T_IAX,
			    o->state == LEG_UP || o->outbound ? IAX_HANGUP : IAX_REJECT);
			iax_out_raw(&fw, f->data.p, f->data.n);
			iax_leg_send_final(s, o, &fw, now);
		}
		iax_leg_drop(s, l);
		return true;
	}
	if (cmd && f->subclass == IAX_AUTHREQ && l->outbound && l->state == LEG_DIALING) {
		if (!answer_authreq(s, l, ies, now)) {
			iax_relay_hangup_other(s, l, "Upstream authentication failed",
			    IAX_CAUSE_CALL_REJECTED, now);
			struct iax_out h;
			iax_leg_begin(l, &h, now, 0, IAX_T_IAX, IAX_HANGUP);
			iax_leg_send_final(s, l, &h, now);
		}
		return false;
	}
	if (cmd && f->subclass == IAX_ACCEPT && l->outbound && l->state == LEG_DIALING) {
		if (!o || o->state != LEG_WAIT_PEER)
			return false;
		l->state = o->state = LEG_UP;
		l->deadline_ms = o->deadline_ms = 0;
		struct iax_out acc;
		iax_leg_begin(o, &acc, now, 0, IAX_T_IAX, IAX_ACCEPT);
		iax_out_raw(&acc, f->data.p, f->data.n);
		iax_leg_send(s, o, &acc, now);
		s->st.relayed_calls++;
		log_info("iax2 call %u <-> %u: up (%s)", o->local, l->local,
		    addr_str(&l->peer, as, sizeof(as)));
		return false;
	}
	if (l->state != LEG_UP || !o || o->state != LEG_UP)
		return false; /* acknowledged, not passed on */
	if (cmd && (f->subclass == IAX_AUTHREQ || f->subclass == IAX_AUTHREP ||
	    f->subclass == IAX_ACCEPT || f->subclass == IAX_REGREQ || f->subclass == IAX_REGAUTH ||
	    f->subclass == IAX_REGACK || f->subclass == IAX_REGREJ || f->subclass == IAX_REGREL ||
	    f->subclass == IAX_TXCNT || f->subclass == IAX_TXACC || f->subclass == IAX_TXREADY ||
	    f->subclass == IAX_TXREL || f->subclass == IAX_TXREJ || f->subclass == IAX_TXMEDIA ||
	    f->subclass == IAX_RTKEY || f->subclass == IAX_FWDOWNL || f->subclass == IAX_PROVISION))
		return false; /* one hop's business, never the other's */
	if (!cmd)
		s->st.media_frames++;
	forward(s, o, raw, n, false, now);
	return false;
}
