/* Registrations and call authentication: the challenge out, the answer to the guard. */
#include "iax2/door.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/msglist.h"
#include "core/rand.h"

#define IAX_REFUSE_DELAY_MS 1000

/* Digits only, as chan_iax2's, but 18 of them from the CSPRNG (its are 31 bits). */
static void
make_challenge(char out[IAX_CHALLENGE_MAX])
{
	uint64_t r;
	rand_bytes(&r, sizeof(r));
	snprintf(out, IAX_CHALLENGE_MAX, "%018" PRIu64, r % UINT64_C(1000000000000000000));
}

static void
session_of(const struct iax_leg *l, char out[16])
{
	snprintf(out, 16, "%u", l->local);
}

static void
send_challenge(struct iax_server *s, struct iax_leg *l, uint8_t cmd, uint64_t now)
{
	struct iax_out o;

	make_challenge(l->challenge);
	iax_leg_begin(l, &o, now, 0, IAX_T_IAX, cmd);
	/* chan_iax2's orders: REGAUTH methods, challenge, name; AUTHREQ methods, name, challenge. */
	iax_out_ie_u16(&o, IAX_IE_AUTHMETHODS, (uint16_t)l->methods);
	if (cmd == IAX_REGAUTH)
		iax_out_ie_str(&o, IAX_IE_CHALLENGE, l->challenge);
	if (l->username[0])
		iax_out_ie_str(&o, IAX_IE_USERNAME, l->username);
	if (cmd == IAX_AUTHREQ)
		iax_out_ie_str(&o, IAX_IE_CHALLENGE, l->challenge);
	iax_leg_send(s, l, &o, now);
}

static void
take_name(struct iax_leg *l, struct slice user)
{
	/* A name too long for any account is kept empty: it matches none. */
	if (!slice_copy(user, l->username, sizeof(l->username)))
		l->username[0] = '\0';
}

static const struct iax_users *
users_of(const struct iax_server *s, const struct iax_leg *l)
{
	return l->row ? l->row : s->users;
}

/*
 * The user from the SQL store, into l->row (empty when there is none: the
 * same challenge and refusal as a name not in iax.conf). False when the
 * leg waits for the database, or was refused for now because it does not
 * answer (congestion: no strike, the client may try again).
 */
static bool
sql_user(struct iax_server *s, struct iax_leg *l, uint64_t now)
{
	struct account a;
	char err[512], as[ADDR_STRLEN];
	struct slice name = slice_cstr(l->username);

	switch (name.n ? store_lookup(s->store, name, SLICE_LIT(""), &a) : STORE_NOT_FOUND) {
	case STORE_PENDING:
		l->state = LEG_LOOKUP;
		return false;
	case STORE_UNAVAILABLE:
		log_warn("iax2 %s from %s: not checked: %s does not answer", l->lookup_reg ?
		    "REGREQ" : "NEW", addr_str(&l->peer, as, sizeof(as)), s->store->where);
		iax_refuse(s, l, l->lookup_reg ? IAX_REGREJ : IAX_REJECT,
		    "Temporary failure", IAX_CAUSE_TEMPORARY_FAILURE, now);
		return false;
	case STORE_NOT_FOUND:
		break;
	case STORE_FOUND:
		l->row = iax_users_from_account(name, &a, s->store->where, s->cfg, err, sizeof(err));
		account_wipe(&a);
		if (l->row)
			msglist_log("iax2", l->row->warn, l->row->nwarn);
		else
			msglist_log("iax2", (char *[]){ err }, 1);
		break;
	}
	if (!l->row && !(l->row = calloc(1, sizeof(*l->row)))) {
		iax_refuse(s, l, l->lookup_reg ? IAX_REGREJ : IAX_REJECT, "Temporary failure",
		    IAX_CAUSE_TEMPORARY_FAILURE, now);
		return false;
	}
	return true;
}

void
iax_auth_lookup(struct iax_server *s, struct iax_leg *l, uint64_t now)
{
	bool reg = l->lookup_reg;

	if (s->store && !l->row && !sql_user(s, l, now))
		return;
	l->methods = guard_iax_methods(users_of(s, l), slice_cstr(l->username), reg);
	l->state = reg ? LEG_AUTH_REG : LEG_AUTH_CALL;
	send_challenge(s, l, reg ? IAX_REGAUTH : IAX_AUTHREQ, now);
}

void
iax_auth_new(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies, uint64_t now)
{
	take_name(l, ies->v[IAX_IE_USERNAME]);
	if (!iax_leg_keep_ies(l, ies)) {
		iax_refuse(s, l, IAX_REJECT, "Call request too large", IAX_CAUSE_CALL_REJECTED, now);
		return;
	}
	l->lookup_reg = false;
	iax_auth_lookup(s, l, now);
}

void
iax_auth_regreq(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies, bool release,
    uint64_t now)
{
	uint16_t refresh = 0;

	take_name(l, ies->v[IAX_IE_USERNAME]);
	l->reg_release = release;
	iax_ie_u16(ies, IAX_IE_REFRESH, &refresh);
	l->refresh = refresh;
	l->lookup_reg = true;
	iax_auth_lookup(s, l, now);
}

static void
reg_update(struct iax_server *s, struct iax_leg *l, unsigned secs, time_t now)
{
	struct iax_reg *r = NULL, *spare = NULL;

	for (size_t i = 0; i < s->nregs && !r; i++) {
		if (strcmp(s->regs[i].name, l->username) == 0)
			r = &s->regs[i];
		else if (!spare && s->regs[i].expires <= now)
			spare = &s->regs[i]; /* reused: the table never outgrows the live peers */
	}
	if (l->reg_release) {
		if (r) {
			iax_users_free(r->row);
			*r = s->regs[--s->nregs];
		}
		return;
	}
	if (!r && !(r = spare)) {
		struct iax_reg *nr = realloc(s->regs, (s->nregs + 1) * sizeof(*nr));
		if (!nr)
			return;
		s->regs = nr;
		r = &s->regs[s->nregs++];
		r->row = NULL;
	}
	iax_users_free(r->row);
	r->row = l->row; /* the leg is done with it */
	l->row = NULL;
	snprintf(r->name, sizeof(r->name), "%s", l->username);
	r->addr = l->peer;
	r->expires = now + (time_t)secs;
}

const struct iax_reg *
iax_reg_find(struct iax_server *s, struct slice name, time_t now)
{
	for (size_t i = 0; i < s->nregs; i++)
		if (s->regs[i].expires > now && slice_eq_cstr(name, s->regs[i].name))
			return &s->regs[i];
	return NULL;
}

static void
reg_ack(struct iax_server *s, struct iax_leg *l, uint64_t now)
{
	const struct config_iax2 *c = &s->cfg->iax2;
	unsigned secs = l->refresh ? l->refresh : c->defaultexpire;
	struct iax_out o;
	uint8_t apparent[16];
	char as[ADDR_STRLEN];
	time_t t = time(NULL);

	if (secs < c->minregexpire)
		secs = c->minregexpire;
	if (secs > c->maxregexpire)
		secs = c->maxregexpire;
	reg_update(s, l, secs, t);
	iax_leg_begin(l, &o, now, 0, IAX_T_IAX, IAX_REGACK);
	iax_out_ie_str(&o, IAX_IE_USERNAME, l->username);
	iax_out_ie_u32(&o, IAX_IE_DATETIME, iax_datetime(t));
	iax_out_ie_u16(&o, IAX_IE_REFRESH, (uint16_t)(l->reg_release ? 0 : secs));
	iax_apparent_addr(&l->peer.ss, apparent);
	iax_out_ie(&o, IAX_IE_APPARENT_ADDR, apparent, sizeof(apparent));
	iax_leg_send_final(s, l, &o, now);
	log_info("iax2: peer '%s' %s from %s (refresh %u s)", l->username, l->reg_release ?
	    "unregistered" : "registered", addr_str(&l->peer, as, sizeof(as)),
	    l->reg_release ? 0 : secs);
}

void
iax_auth_answer(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies, uint64_t now)
{
	struct guard_source src = { &l->peer, &s->local, "UDP", "IAX2", s->cfg->iax2.acl };
	bool reg = l->state == LEG_AUTH_REG;
	struct guard_iax_login rq = {
		.src = &src,
		.users = users_of(s, l),
		.keys = s->keys,
		.username = slice_cstr(l->username),
		.reg = reg,
		.challenge = slice_cstr(l->challenge),
		.has_md5 = iax_ie_present(ies, IAX_IE_MD5_RESULT),
		.has_rsa = iax_ie_present(ies, IAX_IE_RSA_RESULT),
		.has_password = iax_ie_present(ies, IAX_IE_PASSWORD),
		.md5 = ies->v[IAX_IE_MD5_RESULT],
		.rsa = ies->v[IAX_IE_RSA_RESULT],
		.password = ies->v[IAX_IE_PASSWORD],
		.now = time(NULL),
	};
	struct guard_verdict v;
	char sess[16], as[ADDR_STRLEN], who[LOG_ESCAPED_SIZE(80)];

	const struct iax_user *u = guard_iax_login(s->g, &rq, &v);
	session_of(l, sess);
	iax_report(s, &l->peer, slice_cstr(sess), &v);
	explicit_bzero(l->challenge, sizeof(l->challenge)); /* one answer per challenge */
	addr_str(&l->peer, as, sizeof(as));
	log_escape(slice_cstr(l->username), who, sizeof(who));
	if (reg) {
		if (u) {
			s->st.reg_ok++;
			reg_ack(s, l, now);
		} else {
			s->st.reg_fail++;
			log_notice("iax2 %s from %s for '%s' refused: %s", l->reg_release ? "REGREL" :
			    "REGREQ", as, who, v.reason);
			iax_refuse(s, l, IAX_REGREJ, "Registration Refused",
			    IAX_CAUSE_FACILITY_REJECTED, now);
		}
		return;
	}
	if (!u) {
		s->st.call_fail++;
		log_notice("iax2 NEW from %s as '%s' refused: %s", as, who, v.reason);
		iax_refuse(s, l, IAX_REJECT, "No authority found", IAX_CAUSE_FACILITY_NOT_SUBSCRIBED,
		    now);
		return;
	}
	s->st.call_ok++;
	if (!s->cfg->iax2.has_upstream) {
		log_notice("iax2 NEW from %s as '%s': authenticated, but no [iax2] upstream takes "
		    "calls", as, who);
		snprintf(l->cause, sizeof(l->cause), "No upstream PBX");
		l->causecode = IAX_CAUSE_NO_ROUTE;
		l->refusal = IAX_REJECT;
		iax_refuse_now(s, l, now);
		return;
	}
	iax_relay_dial_upstream(s, l, u, now);
}

void
iax_refuse(struct iax_server *s, struct iax_leg *l, uint8_t cmd, const char *cause, uint8_t code,
    uint64_t now)
{
	l->refusal = cmd;
	l->causecode = code;
	snprintf(l->cause, sizeof(l->cause), "%s", cause);
	if (!s->cfg->iax2.delayreject) {
		iax_refuse_now(s, l, now);
		return;
	}
	/* As chan_iax2's delayreject: a guesser gets one try a second per call. */
	l->state = LEG_REFUSING;
	l->deadline_ms = now + IAX_REFUSE_DELAY_MS;
}

void
iax_refuse_now(struct iax_server *s, struct iax_leg *l, uint64_t now)
{
	struct iax_out o;

	iax_leg_begin(l, &o, now, 0, IAX_T_IAX, l->refusal ? l->refusal : IAX_REJECT);
	iax_out_ie_str(&o, IAX_IE_CAUSE, l->cause);
	iax_out_ie_u8(&o, IAX_IE_CAUSECODE, l->causecode);
	iax_leg_send_final(s, l, &o, now);
}
