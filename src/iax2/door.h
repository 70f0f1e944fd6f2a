/*
 * Inside the IAX2 door: the state server.c (socket, frames, tokens,
 * limits), auth.c (registrations and call authentication) and relay.c
 * (the legs toward the PBX and toward registered peers) share.
 */
#ifndef PBX_IAX2_DOOR_H
#define PBX_IAX2_DOOR_H

#include "iax2/call.h"
#include "iax2/frame.h"
#include "iax2/server.h"
#include "store/iaxusers.h"

struct iax_reg {
	char name[80];
	struct addr addr;
	time_t expires;
	/* Its row from SQL (owned), for the PBX's calls to it: the secret or
	 * outkey answers the peer's own challenge. NULL with the users file. */
	struct iax_users *row;
};

struct iax_server {
	struct event_base *base;
	const struct config *cfg;
	struct guard *g;
	struct iax_users *users;	/* the users file, or NULL with */
	struct store *store;		/* [iax2] soci-password-request's users */
	struct keyring *keys;
	int fd;
	struct addr local;
	struct event *rev, *tick;
	uint8_t token_key[32];
	struct iax_calls calls;
	struct iax_reg *regs;
	size_t nregs;
	struct iax_stats st;
	/* Refusals before any state are logged once a minute per source and
	 * cause: a flood must not become a flood of log lines. */
	struct iax_quiet {
		struct ipkey k;
		int why;
		time_t at;
		unsigned suppressed;
	} quiet[64];
};

/* ---- server.c ---- */
void iax_send(struct iax_server *s, const struct addr *to, const uint8_t *buf, size_t n);
/* A full frame on leg l: header with the leg's timestamp (or ts if nonzero). */
void iax_leg_begin(struct iax_leg *l, struct iax_out *o, uint64_t now, uint32_t ts, uint8_t type,
    uint64_t subclass);
/* Stamp (sequence numbers, retransmission copy) and send. */
void iax_leg_send(struct iax_server *s, struct iax_leg *l, struct iax_out *o, uint64_t now);
/* The same, and the leg ends once the peer acknowledges it. */
void iax_leg_send_final(struct iax_server *s, struct iax_leg *l, struct iax_out *o, uint64_t now);
void iax_leg_drop(struct iax_server *s, struct iax_leg *l);
/* The source a leg's frames come from, for guard_report. */
void iax_report(struct iax_server *s, const struct addr *from, struct slice session,
    const struct guard_verdict *v);

/* ---- auth.c ---- */
/* After LEG_LOOKUP: the store has answers, the challenge goes out. */
void iax_auth_lookup(struct iax_server *s, struct iax_leg *l, uint64_t now);
void iax_auth_new(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies,
    uint64_t now);
void iax_auth_regreq(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies,
    bool release, uint64_t now);
/* AUTHREP, or the REGREQ/REGREL that answers REGAUTH. */
void iax_auth_answer(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies,
    uint64_t now);
/* A refusal: REJECT/REGREJ with Asterisk's cause, after delayreject. */
void iax_refuse(struct iax_server *s, struct iax_leg *l, uint8_t cmd, const char *cause,
    uint8_t code, uint64_t now);
void iax_refuse_now(struct iax_server *s, struct iax_leg *l, uint64_t now);
const struct iax_reg *iax_reg_find(struct iax_server *s, struct slice name, time_t now);

/* ---- relay.c ---- */
/* A caller authenticated as u: on to the PBX. */
void iax_relay_dial_upstream(struct iax_server *s, struct iax_leg *l, const struct iax_user *u,
    uint64_t now);
/* A NEW from the PBX: on to the registered peer it calls. */
void iax_relay_inbound(struct iax_server *s, struct iax_leg *l, const struct iax_ies *ies,
    uint64_t now);
/* A frame on a leg in LEG_DIALING or LEG_UP; true when l was freed. */
bool iax_relay_frame(struct iax_server *s, struct iax_leg *l, const struct iax_frame *f,
    const uint8_t *raw, size_t n, const struct iax_ies *ies, uint64_t now);
/* Tell the partner, if any, that this leg is gone. */
void iax_relay_hangup_other(struct iax_server *s, struct iax_leg *l, const char *cause,
    uint8_t code, uint64_t now);

#endif
