/* The IAX2 door's socket: frames in, the token gate, limits, the legs' timers. */
#include "iax2/door.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/listen.h"
#include "core/log.h"
#include "core/rand.h"
#include "iax2/token.h"

#define IAX_TICK_MS 100
#define IAX_IDLE_MS 120000		/* an up call silent this long is gone */
#define IAX_CLOSE_MS 30000		/* a final frame's longest wait for its ACK */
#define IAX_READS_PER_WAKE 64

void
iax_send(struct iax_server *s, const struct addr *to, const uint8_t *buf, size_t n)
{
	if (sendto(s->fd, buf, n, 0, (const struct sockaddr *)&to->ss, to->len) < 0)
		log_debug("iax2 sendto: %s", strerror(errno));
}

static void
send_cb(void *arg, const struct addr *to, const uint8_t *buf, size_t n)
{
	iax_send(arg, to, buf, n);
}

void
iax_leg_begin(struct iax_leg *l, struct iax_out *o, uint64_t now, uint32_t ts, uint8_t type,
    uint64_t subclass)
{
	iax_out_full(o, l->local, l->remote, ts ? ts : iax_leg_ts(l, now), 0, 0, type, subclass);
}

void
iax_leg_send(struct iax_server *s, struct iax_leg *l, struct iax_out *o, uint64_t now)
{
	if (o->overflow) {
		log_warn("iax2: call %u: a frame too big to send was dropped", l->local);
		return;
	}
	iax_leg_stamp(l, o, now);
	iax_send(s, &l->peer, o->buf, o->n);
}

void
iax_leg_send_final(struct iax_server *s, struct iax_leg *l, struct iax_out *o, uint64_t now)
{
	iax_leg_send(s, l, o, now);
	l->state = LEG_CLOSING;
	l->deadline_ms = now + IAX_CLOSE_MS;
}

void
iax_leg_drop(struct iax_server *s, struct iax_leg *l)
{
	iax_leg_free(&s->calls, l);
}

void
iax_report(struct iax_server *s, const struct addr *from, struct slice session,
    const struct guard_verdict *v)
{
	struct guard_source src = { from, &s->local, "UDP", "IAX2", s->cfg->iax2.acl };
	guard_report(s->g, &src, session, v);
}

/* An answer to one of the leg's frames that is not itself answered. */
static void
send_simple(struct iax_server *s, struct iax_leg *l, uint64_t cmd, uint32_t ts, uint64_t now)
{
	struct iax_out o;
	iax_leg_begin(l, &o, now, ts, IAX_T_IAX, cmd);
	iax_leg_send(s, l, &o, now);
}

/* chan_iax2's send_apathetic_reply: an answer that creates no state. */
static void
apathetic(struct iax_server *s, const struct addr *to, const struct iax_frame *f, uint8_t cmd,
    const struct iax_out *ies)
{
	struct iax_out o;
	iax_out_full(&o, 1, f->scallno, f->ts, 0, (uint8_t)(f->iseqno + 1), IAX_T_IAX, cmd);
	if (ies)
		iax_out_raw(&o, ies->buf, ies->n);
	if (!o.overflow)
		iax_send(s, to, o.buf, o.n);
}

static bool
token_optional(const struct iax_server *s, const struct addr *from)
{
	struct ipkey k;
	ipkey_from_addr(from, &k);
	for (size_t i = 0; i < s->cfg->iax2.n_token_optional; i++)
		if (cidr_match(&s->cfg->iax2.token_optional[i], &k))
			return true;
	return false;
}

enum quiet_why { QUIET_NO_TOKEN, QUIET_BAD_TOKEN, QUIET_LIMIT };

/*
 * May this refusal be logged (and made an event) now? Once per source and
 * cause per minute; the next one says how many were not.
 */
static bool
loud(struct iax_server *s, const struct addr *from, enum quiet_why why, unsigned *suppressed)
{
	struct ipkey k;
	time_t now = time(NULL);
	uint64_t h = 1469598103934665603ull ^ (uint64_t)why;

	ipkey_from_addr(from, &k);
	for (size_t i = 0; i < sizeof(k.b); i++)
		h = (h ^ k.b[i]) * 1099511628211ull;
	struct iax_quiet *q = &s->quiet[h % (sizeof(s->quiet) / sizeof(s->quiet[0]))];
	bool same = ipkey_eq(&q->k, &k) && q->why == (int)why;
	if (same && now - q->at < 60) {
		q->suppressed++;
		return false;
	}
	*suppressed = same ? q->suppressed : 0;
	q->k = k;
	q->why = (int)why;
	q->at = now;
	q->suppressed = 0;
	return true;
}

static const char *
quiet_note(unsigned n, char *buf, size_t bufsz)
{
	if (!n)
		return "";
	snprintf(buf, bufsz, " (and %u more from it in the last minute, not logged)", n);
	return buf;
}

/* A refused token, or none where one is required: the guard's verdict, reported. */
static void
token_event(struct iax_server *s, const struct addr *from, const struct iax_frame *f,
    struct slice user, const char *why, bool forged)
{
	struct guard_verdict v;
	char sess[16];

	guard_iax_token_refused(user, slice_cstr(iax_cmd_name(f->subclass)), why, forged,
	    time(NULL), &v);
	snprintf(sess, sizeof(sess), "%u", f->scallno);
	iax_report(s, from, slice_cstr(sess), &v);
}

/*
 * NEW, REGREQ, REGREL without a call of ours yet. Stateless until the
 * token (or calltokenoptional) and the call-number limits allow a leg.
 */
static void
gate(struct iax_server *s, const struct addr *from, const struct iax_frame *f, bool from_pbx,
    uint64_t now)
{
	const struct config_iax2 *c = &s->cfg->iax2;
	struct iax_ies ies;
	const char *why;
	char as[ADDR_STRLEN], who[LOG_ESCAPED_SIZE(80)];
	bool validated = false;
	uint8_t refuse = f->subclass == IAX_NEW ? IAX_REJECT : IAX_REGREJ;
	unsigned quiet = 0;
	char note[80];

	addr_str(from, as, sizeof(as));
	if (!iax_ies_parse(f->data, &ies, &why)) {
		s->st.bad++;
		log_info("iax2 %s from %s: %s: dropped", iax_cmd_name(f->subclass), as, why);
		return;
	}
	struct slice user = ies.v[IAX_IE_USERNAME];
	log_escape(user.n ? user : slice_cstr("guest"), who, sizeof(who));
	if (iax_ie_present(&ies, IAX_IE_CALLTOKEN)) {
		struct slice tok = ies.v[IAX_IE_CALLTOKEN];
		if (tok.n == 0) {
			/* The client supports tokens and asks for one: no state, one answer. */
			char t[IAX_TOKEN_LEN + 1];
			struct iax_out o;
			iax_token_make(s->token_key, from, (uint32_t)time(NULL), t);
			o.n = 0;
			o.overflow = false;
			iax_out_ie_str(&o, IAX_IE_CALLTOKEN, t);
			apathetic(s, from, f, IAX_CALLTOKEN, &o);
			s->st.tokens_sent++;
			return;
		}
		enum iax_token_check tc = iax_token_check(s->token_key, from, tok,
		    (uint32_t)time(NULL), c->token_expiration);
		if (tc != IAX_TOKEN_OK) {
			s->st.token_refused++;
			if (loud(s, from, QUIET_BAD_TOKEN, &quiet)) {
				log_notice("iax2 %s from %s ('%s') rejected: call token %s%s%s",
				    iax_cmd_name(f->subclass), as, who, iax_token_why(tc),
				    tc == IAX_TOKEN_EXPIRED ? " (older than calltokenexpiration)" : "",
				    quiet_note(quiet, note, sizeof(note)));
				token_event(s, from, f, user, "invalid call token",
				    tc != IAX_TOKEN_EXPIRED);
			}
			apathetic(s, from, f, refuse, NULL);
			return;
		}
		validated = true;
	} else {
		/* The PBX too: a NEW "from the PBX" is trusted by its address, which
		 * only a token proves (Asterisk asks for one by default). */
		const struct iax_user *u = from_pbx ? NULL : iax_users_find(s->users, user);
		if (!token_optional(s, from) && !(u && u->requirecalltoken == IAXU_TOKEN_NO)) {
			s->st.token_refused++;
			char host[ADDR_STRLEN];
			addr_host_str(from, host, sizeof(host));
			/* The seed's "Registration Rejected", explained where it is seen. */
			if (loud(s, from, QUIET_NO_TOKEN, &quiet)) {
				log_warn("iax2 %s from %s ('%s') rejected: call token required and none "
				    "was sent (clients without call-token support, such as libiax2's, "
				    "send none). If this client is expected, add %s to [iax2] "
				    "calltokenoptional in %s, or set requirecalltoken = no for '%s' in "
				    "%s%s", iax_cmd_name(f->subclass), as, who, host, s->cfg->source, who,
				    c->users, quiet_note(quiet, note, sizeof(note)));
				token_event(s, from, f, user, "call token required", false);
			}
			apathetic(s, from, f, refuse, NULL);
			return;
		}
	}
	struct ipkey k;
	ipkey_from_addr(from, &k);
	unsigned mine = iax_source_count(&s->calls, &k);
	if ((!from_pbx && mine >= c->maxcallnumbers) ||
	    (!validated && s->calls.unvalidated >= c->maxcallnumbers_nonvalidated)) {
		s->st.limit_refused++;
		if (loud(s, from, QUIET_LIMIT, &quiet))
			log_notice("iax2 %s from %s ('%s') rejected: %s%s", iax_cmd_name(f->subclass),
			    as, who, mine >= c->maxcallnumbers ? "this address holds maxcallnumbers "
			    "call numbers" : "maxcallnumbers_nonvalidated reached by sources without "
			    "a call token", quiet_note(quiet, note, sizeof(note)));
		struct iax_out o = { .n = 0 };
		iax_out_ie_str(&o, IAX_IE_CAUSE, "No more call numbers");
		iax_out_ie_u8(&o, IAX_IE_CAUSECODE, IAX_CAUSE_CONGESTION);
		apathetic(s, from, f, refuse, &o);
		return;
	}
	struct iax_leg *l = iax_leg_new(&s->calls, from, now);
	if (!l) {
		log_warn("iax2: no call number free for %s", as);
		apathetic(s, from, f, refuse, NULL);
		return;
	}
	iax_leg_bind_remote(&s->calls, l, f->scallno);
	l->validated = validated;
	if (!l->validated)
		s->calls.unvalidated++;
	l->counted = true;
	iax_source_add(&s->calls, &k, 1);
	l->iseqno = (uint8_t)(f->oseqno + 1);
	l->deadline_ms = now + (uint64_t)c->authtimeout * 1000;
	if (f->subclass == IAX_NEW && from_pbx)
		iax_relay_inbound(s, l, &ies, now);
	else if (f->subclass == IAX_NEW)
		iax_auth_new(s, l, &ies, now);
	else
		iax_auth_regreq(s, l, &ies, f->subclass == IAX_REGREL, now);
}

/* A full frame for no call of ours. */
static void
no_call(struct iax_server *s, const struct addr *from, const struct iax_frame *f, bool from_pbx,
    uint64_t now)
{
	struct guard_source src = { from, &s->local, "UDP", "IAX2", s->cfg->iax2.acl };

	if (!from_pbx && guard_admit(s->g, &src, time(NULL)) == GUARD_DROP)
		return;
	if (f->type == IAX_T_IAX) {
		switch (f->subclass) {
		case IAX_NEW:
		case IAX_REGREQ:
		case IAX_REGREL:
			if (f->dcallno == 0) {
				gate(s, from, f, from_pbx, now);
				return;
			}
			break;
		case IAX_POKE: {
			/* Qualify: answered without a call (chan_iax2 makes one and drops it). */
			struct iax_out o;
			iax_out_full(&o, 1, f->scallno, f->ts, 0, (uint8_t)(f->oseqno + 1), IAX_T_IAX,
			    IAX_PONG);
			iax_send(s, from, o.buf, o.n);
			return;
		}
		case IAX_ACK:
		case IAX_INVAL:
		case IAX_VNAK:
			return; /* never answered: that would make a loop */
		default:
			break;
		}
	}
	if (f->dcallno) {
		/* chan_iax2's raw_hangup: the peer holds a call we do not know. */
		struct iax_out o;
		iax_out_full(&o, f->dcallno, f->scallno, f->ts, 0, (uint8_t)(f->oseqno + 1), IAX_T_IAX,
		    IAX_INVAL);
		iax_send(s, from, o.buf, o.n);
	}
}

/* A full frame on one of our legs, from its peer. */
static void
leg_frame(struct iax_server *s, struct iax_leg *l, const struct iax_frame *f, const uint8_t *raw,
    size_t n, uint64_t now)
{
	struct iax_ies ies;
	const char *why;
	bool cmd = f->type == IAX_T_IAX;

	memset(&ies.seen, 0, sizeof(ies.seen));
	if (cmd && !iax_ies_parse(f->data, &ies, &why)) {
		s->st.bad++;
		log_info("iax2 call %u: %s: %s: dropped", l->local, iax_cmd_name(f->subclass), why);
		return;
	}
	l->heard_ms = now;
	l->sent_now = false;
	if (cmd && f->subclass == IAX_CALLTOKEN) {
		/* Only our own NEW is answered so; it says nothing of sequence numbers. */
		iax_relay_frame(s, l, f, raw, n, &ies, now);
		return;
	}
	if (l->remote == 0)
		iax_leg_bind_remote(&s->calls, l, f->scallno);
	if (!(cmd && f->subclass == IAX_INVAL))
		iax_leg_acked(l, f->iseqno);
	int order = iax_leg_in_order(l, f);
	if (order <= 0) {
		/* A duplicate is acknowledged again; a gap asks for a resend. */
		send_simple(s, l, order == 0 ? IAX_ACK : IAX_VNAK, order == 0 ? f->ts : 0, now);
		return;
	}
	if (cmd) {
		switch (f->subclass) {
		case IAX_ACK:
			if (l->state == LEG_CLOSING && !l->queue)
				iax_leg_drop(s, l);
			return;
		case IAX_VNAK:
			iax_leg_retransmit(l, now, true, send_cb, s);
			return;
		case IAX_INVAL:
			iax_relay_hangup_other(s, l, "The other side forgot the call", IAX_CAUSE_NORMAL,
			    now);
			iax_leg_drop(s, l);
			return;
		case IAX_PING:
		case IAX_POKE:
			send_simple(s, l, IAX_PONG, f->ts, now);
			return;
		case IAX_LAGRQ:
			send_simple(s, l, IAX_LAGRP, f->ts, now);
			return;
		case IAX_PONG:
		case IAX_LAGRP:
		case IAX_NEW:
			break;
		case IAX_TXREQ:
			/* Peers never talk around the door. */
			send_simple(s, l, IAX_TXREJ, 0, now);
			return;
		case IAX_AUTHREP:
			if (l->state == LEG_AUTH_CALL)
				iax_auth_answer(s, l, &ies, now);
			break;
		case IAX_REGREQ:
		case IAX_REGREL:
			if (l->state == LEG_AUTH_REG)
				iax_auth_answer(s, l, &ies, now);
			break;
		default:
			if (f->subclass == 0 || f->subclass > IAX_CALLTOKEN) {
				struct iax_out o;
				iax_leg_begin(l, &o, now, 0, IAX_T_IAX, IAX_UNSUPPORT);
				iax_out_ie_u8(&o, IAX_IE_IAX_UNKNOWN, f->csub);
				iax_leg_send(s, l, &o, now);
				return;
			}
			if (iax_relay_frame(s, l, f, raw, n, &ies, now))
				return;
			break;
		}
	} else if (iax_relay_frame(s, l, f, raw, n, &ies, now)) {
		return;
	}
	if (!l->sent_now)
		send_simple(s, l, IAX_ACK, f->ts, now);
}

static void
mini_frame(struct iax_server *s, const struct addr *from, const struct iax_frame *f,
    uint8_t *raw, size_t n)
{
	struct iax_leg *l = iax_leg_by_remote(&s->calls, from, f->scallno);
	struct guard_source src = { from, &s->local, "UDP", "IAX2", s->cfg->iax2.acl };

	if (!l || l->state != LEG_UP || !l->other || l->other->state != LEG_UP || !l->other->remote)
		return;
	if (guard_banned(s->g, &src, time(NULL)) == GUARD_DROP)
		return;
	l->heard_ms = iax_now_ms();
	/* Media keeps its timestamp; only the call number is the other leg's. */
	raw[0] = (uint8_t)(l->other->local >> 8 & 0x7f);
	raw[1] = (uint8_t)l->other->local;
	iax_send(s, &l->other->peer, raw, n);
	s->st.media_frames++;
}

static void
dispatch(struct iax_server *s, const struct addr *from, uint8_t *buf, size_t n, uint64_t now)
{
	struct iax_frame f;
	const struct config_iax2 *c = &s->cfg->iax2;
	bool from_pbx = c->has_upstream && addr_equal(from, &c->upstream);

	s->st.frames++;
	if (!iax_frame_parse(buf, n, &f) || f.kind == IAX_META) {
		s->st.bad++;
		return;
	}
	if (f.kind == IAX_MINI) {
		mini_frame(s, from, &f, buf, n);
		return;
	}
	struct iax_leg *l;
	if (f.dcallno) {
		l = s->calls.by_local[f.dcallno];
		/* Only the leg's own peer, from its address and call number. */
		if (l && (!addr_equal(&l->peer, from) || (l->remote && l->remote != f.scallno)))
			l = NULL;
	} else {
		l = iax_leg_by_remote(&s->calls, from, f.scallno); /* a NEW sent again */
	}
	if (!l) {
		no_call(s, from, &f, from_pbx, now);
		return;
	}
	struct guard_source src = { from, &s->local, "UDP", "IAX2", c->acl };
	if (!from_pbx && guard_banned(s->g, &src, time(NULL)) == GUARD_DROP)
		return;
	leg_frame(s, l, &f, buf, n, now);
}

void
iax_server_input(struct iax_server *s, const struct addr *from, uint8_t *buf, size_t n)
{
	if (n <= IAX_MAX_FRAME)
		dispatch(s, from, buf, n, iax_now_ms());
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct iax_server *s = arg;
	uint8_t buf[IAX_MAX_FRAME + 1];
	struct sockaddr_storage ss;
	(void)what;

	for (int i = 0; i < IAX_READS_PER_WAKE; i++) {
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("iax2 recvfrom: %s", strerror(errno));
			return;
		}
		struct addr from;
		addr_from_sockaddr((struct sockaddr *)&ss, (int)sl, &from);
		dispatch(s, &from, buf, (size_t)n, iax_now_ms());
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct iax_server *s = arg;
	uint64_t now = iax_now_ms();
	(void)fd;
	(void)what;

	for (struct iax_leg *l = s->calls.all, *next; l; l = next) {
		next = l->anext;
		/* Hanging up the partner never frees it (it waits for its ACK). */
		if (l->queue && iax_leg_retransmit(l, now, false, send_cb, s) < 0) {
			log_info("iax2 call %u: the peer stopped answering: call dropped", l->local);
			iax_relay_hangup_other(s, l, "Peer not answering", IAX_CAUSE_NORMAL, now);
			iax_leg_drop(s, l);
			continue;
		}
		bool expired = l->deadline_ms && now >= l->deadline_ms;
		if (l->state == LEG_CLOSING && (!l->queue || expired)) {
			iax_leg_drop(s, l);
		} else if (l->state == LEG_REFUSING && expired) {
			iax_refuse_now(s, l, now);
		} else if (l->state != LEG_UP && l->state != LEG_CLOSING && expired) {
			log_info("iax2 call %u: no answer within authtimeout: dropped", l->local);
			iax_relay_hangup_other(s, l, "Timeout", IAX_CAUSE_NORMAL, now);
			iax_leg_drop(s, l);
		} else if (l->state == LEG_UP && now - l->heard_ms > IAX_IDLE_MS) {
			log_info("iax2 call %u: silent for %d s: hung up", l->local, IAX_IDLE_MS / 1000);
			iax_relay_hangup_other(s, l, "Idle", IAX_CAUSE_NORMAL, now);
			iax_leg_drop(s, l);
		}
	}
}

/* The SQL store has answers: the legs that waited for them are challenged. */
static void
users_ready(void *arg)
{
	struct iax_server *s = arg;
	uint64_t now = iax_now_ms();

	for (struct iax_leg *l = s->calls.all, *next; l; l = next) {
		next = l->anext;
		if (l->state == LEG_LOOKUP)
			iax_auth_lookup(s, l, now); /* a refusal keeps the leg till delayreject */
	}
}

static bool
load_users(struct iax_server *s, char *msg, size_t msgsz)
{
	char err[1024];

	if (s->store) {
		s->store->ops->refresh(s->store->impl, true);
		snprintf(msg, msgsz, "IAX2 accounts from %s ([iax2] soci-password-request)",
		    s->store->where);
		return true;
	}
	struct iax_users *u = iax_users_load(s->cfg->iax2.users, s->cfg, err, sizeof(err));

	if (!u) {
		snprintf(msg, msgsz, "%s (the previous users stay)", err);
		return false;
	}
	if (err[0])
		log_warn("%s", err);
	for (size_t i = 0; i < u->nwarn; i++)
		log_warn("%s", u->warn[i]);
	iax_users_free(s->users);
	s->users = u;
	snprintf(msg, msgsz, "%zu IAX2 account%s from %s", u->n, u->n == 1 ? "" : "s",
	    s->cfg->iax2.users);
	return true;
}

struct iax_server *
iax_server_start(struct event_base *base, const struct config *cfg, struct guard *g,
    struct keyring *keys, struct store *users)
{
	struct iax_server *s = calloc(1, sizeof(*s));
	char msg[1200], as[ADDR_STRLEN];

	if (!s) {
		store_free(users);
		return NULL;
	}
	s->store = users;
	if (users)
		store_set_ready(users, users_ready, s);
	s->base = base;
	s->cfg = cfg;
	s->g = g;
	s->keys = keys;
	s->fd = -1;
	s->local = cfg->iax2.bind;
	rand_bytes(s->token_key, sizeof(s->token_key));
	addr_str(&s->local, as, sizeof(as));
	if (!load_users(s, msg, sizeof(msg))) {
		log_err("%s", msg);
		goto bad;
	}
	if ((s->fd = udp_bind(&s->local)) < 0) {
		log_err("iax2: cannot listen on udp %s: %s", as, strerror(errno));
		goto bad;
	}
	s->rev = event_new(base, s->fd, EV_READ | EV_PERSIST, on_read, s);
	s->tick = event_new(base, -1, EV_PERSIST, on_tick, s);
	struct timeval tv = { 0, IAX_TICK_MS * 1000 };
	if (!s->rev || !s->tick || event_add(s->rev, NULL) < 0 || event_add(s->tick, &tv) < 0)
		goto bad;
	log_notice("iax2: listening on udp %s; %s; call tokens required%s%s", as, msg,
	    cfg->iax2.n_token_optional ? " except from calltokenoptional" : "",
	    cfg->iax2.has_upstream ? "; calls go on to the upstream PBX" : "");
	return s;
bad:
	iax_server_stop(s);
	return NULL;
}

void
iax_server_stop(struct iax_server *s)
{
	if (!s)
		return;
	while (s->calls.all)
		iax_leg_free(&s->calls, s->calls.all);
	for (size_t i = 0; i < sizeof(s->calls.per_source) / sizeof(s->calls.per_source[0]); i++)
		for (struct srccount *c = s->calls.per_source[i], *next; c; c = next) {
			next = c->next;
			free(c);
		}
	if (s->rev)
		event_free(s->rev);
	if (s->tick)
		event_free(s->tick);
	if (s->fd >= 0)
		close(s->fd);
	iax_users_free(s->users);
	store_free(s->store);
	for (size_t i = 0; i < s->nregs; i++)
		iax_users_free(s->regs[i].row);
	free(s->regs);
	OPENSSL_cleanse(s->token_key, sizeof(s->token_key));
	free(s);
}

bool
iax_server_reload(struct iax_server *s, struct keyring *keys, char *msg, size_t msgsz)
{
	if (keys)
		s->keys = keys;
	return load_users(s, msg, msgsz);
}

struct store *
iax_server_users(const struct iax_server *s)
{
	return s->store;
}

void
iax_server_stats(const struct iax_server *s, struct iax_stats *out)
{
	*out = s->st;
	out->legs = s->calls.n;
	out->unvalidated = s->calls.unvalidated;
	out->registrations = s->nregs;
}

size_t
iax_server_each_reg(struct iax_server *s, time_t now, iax_reg_fn fn, void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nregs; i++) {
		if (s->regs[i].expires <= now)
			continue;
		if (fn)
			fn(arg, s->regs[i].name, &s->regs[i].addr, s->regs[i].expires);
		n++;
	}
	return n;
}
