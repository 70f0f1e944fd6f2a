/*
 * IAX2 calls ("legs"): one per call number we hold, with the reliability
 * rules of RFC 5456 section 7 as chan_iax2 applies them. Every full frame
 * we send (but ACK, INVAL, VNAK) takes the next 8-bit outbound sequence
 * number and waits in the leg's queue until the peer's iseqno says it
 * arrived; it is sent again with the R bit after 1 s, 2 s, 4 s... and after
 * IAX_MAX_TRIES the leg is dead. Received frames must come in order: a
 * duplicate is acknowledged again, a gap is answered with VNAK.
 *
 * Call numbers are drawn at random, so a frame for a call can only come
 * from whoever was told its number; a leg also only takes frames from its
 * peer's address and call number (the spoofed-ACK defence).
 */
#ifndef PBX_IAX2_CALL_H
#define PBX_IAX2_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/cidr.h"
#include "iax2/frame.h"
#include "store/iaxusers.h"

#define IAX_MAX_TRIES 5
#define IAX_FIRST_RETRY_MS 1000
#define IAX_MAX_RETRY_MS 10000
#define IAX_CHALLENGE_MAX 32
#define IAX_SAVED_IES 1024

enum iax_leg_state {
	LEG_LOOKUP,		/* NEW/REGREQ in: the SQL store is fetching the user */
	LEG_AUTH_REG,		/* REGAUTH sent, waiting for the answering REGREQ/REGREL */
	LEG_AUTH_CALL,		/* AUTHREQ sent, waiting for AUTHREP */
	LEG_WAIT_PEER,		/* caller authenticated; the other leg is being set up */
	LEG_DIALING,		/* our NEW sent (to the PBX or a phone) */
	LEG_UP,			/* ACCEPTed: frames are relayed */
	LEG_REFUSING,		/* a refusal waits out delayreject */
	LEG_CLOSING,		/* a final frame sent: gone once acknowledged */
};

struct iax_sent {
	struct iax_sent *next;
	uint64_t due_ms;		/* next retransmission */
	unsigned tries;
	uint8_t oseqno;
	size_t n;
	uint8_t buf[];
};

struct iax_leg {
	uint16_t local, remote;		/* call numbers: ours, the peer's (0: not known yet) */
	struct addr peer;
	struct ipkey src;		/* peer's address, for the per-source limit */
	enum iax_leg_state state;
	bool validated;			/* came with a valid call token (or is ours) */
	bool outbound;			/* we sent the NEW */
	bool counted;			/* holds one of its source's call numbers */
	bool reg_release;		/* the registration is a REGREL */
	uint8_t oseqno, iseqno, rseqno;	/* next to send, next expected, oldest unacked */
	uint64_t start_ms, heard_ms, deadline_ms;
	uint32_t last_ts;
	struct iax_sent *queue, *queue_tail;
	bool sent_now;			/* a full frame went out while handling one */
	struct iax_leg *other;		/* the relayed partner */
	struct iax_leg *hnext;		/* hash chain (peer, remote) */
	struct iax_leg *anext, *aprev;	/* every leg, for the timer */
	char username[80];
	char challenge[IAX_CHALLENGE_MAX];
	unsigned methods;
	uint8_t refusal;		/* LEG_REFUSING: REJECT or REGREJ */
	uint8_t causecode;		/* and its cause */
	char cause[48];
	uint8_t ies[IAX_SAVED_IES];	/* the caller's NEW, to pass on */
	size_t nies;
	unsigned refresh;		/* REGREQ: the asked refresh */
	char token[64];			/* the PBX's call token, for our NEW again */
	bool lookup_reg;		/* LEG_LOOKUP: for a REGREQ/REGREL, not a NEW */
	struct iax_users *row;		/* the user from SQL (or none: empty), owned */
};

/* The call table: call numbers, the (peer, remote) index, and counts. */
struct iax_calls {
	struct iax_leg *by_local[IAX_MAX_CALLNO + 1];
	struct iax_leg *by_remote[4096];
	struct iax_leg *all;
	size_t n, unvalidated;
	struct srccount {
		struct ipkey k;
		unsigned n;
		struct srccount *next;
	} *per_source[1024];
};

uint64_t iax_now_ms(void);

/* A leg with a fresh random call number, or NULL when none is free. */
struct iax_leg *iax_leg_new(struct iax_calls *t, const struct addr *peer, uint64_t now);
void iax_leg_free(struct iax_calls *t, struct iax_leg *l);
/* Once the peer's call number is known. */
void iax_leg_bind_remote(struct iax_calls *t, struct iax_leg *l, uint16_t remote);
struct iax_leg *iax_leg_by_remote(struct iax_calls *t, const struct addr *peer, uint16_t remote);

/* Per-source call numbers (maxcallnumbers). */
unsigned iax_source_count(const struct iax_calls *t, const struct ipkey *k);
void iax_source_add(struct iax_calls *t, const struct ipkey *k, int delta);

/* The leg's timestamp for a frame we make: ms since it began, never repeated. */
uint32_t iax_leg_ts(struct iax_leg *l, uint64_t now);

/*
 * Stamps the header of a built full frame with the leg's call numbers and
 * sequence numbers; keeps a copy for retransmission unless it is an ACK,
 * INVAL or VNAK. False when out of memory (the frame is still sendable).
 */
bool iax_leg_stamp(struct iax_leg *l, struct iax_out *o, uint64_t now);
/* A received full frame's iseqno acknowledges what we sent before it. */
void iax_leg_acked(struct iax_leg *l, uint8_t iseqno);
/*
 * A received full frame's oseqno. 1: in order (taken); 0: a duplicate
 * (acknowledge again, do not handle); -1: a gap (send VNAK).
 */
int iax_leg_in_order(struct iax_leg *l, const struct iax_frame *f);
/* Frames due for retransmission, R bit set; -1 when the leg has given up. */
typedef void (*iax_send_fn)(void *arg, const struct addr *to, const uint8_t *buf, size_t n);
int iax_leg_retransmit(struct iax_leg *l, uint64_t now, bool all, iax_send_fn send, void *arg);

/* A NEW's IEs kept to pass on (re-encoded in type order); false if too big. */
bool iax_leg_keep_ies(struct iax_leg *l, const struct iax_ies *ies);

/* Does this frame take a sequence number? (ACK, INVAL, VNAK, TXCNT, TXACC do not.) */
bool iax_frame_sequenced(uint8_t type, uint64_t subclass);

#endif
