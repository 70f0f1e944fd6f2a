/*
 * Proxy transactions (RFC 3261 17, 16): one server side (the request we
 * received) joined to one client side (where we sent it; pbxguard does not
 * fork). The table indexes them by the server key (matching retransmissions,
 * ACKs and CANCELs) and by the client key (our branch, matching responses),
 * and keeps them in a timer heap. Data only: proxy.c drives them.
 */
#ifndef PBX_SIP_TXN_H
#define PBX_SIP_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/flow.h"

/* RFC 3261 17.1.1.1 timer values, ms. */
#define SIP_T1 500
#define SIP_T2 4000
#define SIP_T4 5000
#define SIP_TIMER_B (64 * SIP_T1)
#define SIP_TIMER_C 180000

struct buf {
	char *p;
	size_t n;
};

struct txn {
	struct txn *snext, *cnext;	/* hash chains */
	uint64_t skey, ckey;		/* ckey 0: not yet (or no longer) forwarded */
	size_t heap;			/* index in the timer heap */
	int64_t when;			/* the next timer, ms; 0 none */

	bool invite;
	struct sip_flow src;		/* the request came from here; responses go back */
	struct sip_flow dst;		/* we forwarded it here */
	int upstream;			/* dst is upstream #n; -1: a phone */
	uint32_t tried;			/* upstreams tried (failover) */
	uint64_t dlg;			/* dialog key, 0 none */
	bool dlg_new;			/* this request created the dialog */
	bool dlg_end;			/* a BYE: the dialog ends with its 2xx */

	struct buf req;			/* the request as forwarded */
	size_t branch_off;		/* where our branch's key is in req (failover) */
	struct buf resp;		/* the last response sent back to src */
	unsigned resp_code;
	struct buf cancel;		/* our CANCEL, while it is retransmitted */

	bool got_resp, got_prov, final_in, final_out, acked;
	bool cancel_pending, cancel_sent, cancel_done, timer_c_fired;

	/* Timers, ms; 0: not running. */
	int64_t retx_at, retx_ivl;	/* request retransmission (A/E) */
	int64_t fail_at;		/* no answer at all: the next upstream */
	int64_t end_at;			/* B/F, or C once provisional */
	int64_t rretx_at, rretx_ivl;	/* final response retransmission (G) */
	int64_t cancel_at, cancel_ivl, cancel_end;
	int64_t free_at;		/* the transaction is forgotten */
};

struct txns;

struct txns *txns_new(size_t max);
void txns_free(struct txns *t);

/* A zeroed transaction with server key skey, or NULL when the table is full. */
struct txn *txn_new(struct txns *t, uint64_t skey);
void txn_del(struct txns *t, struct txn *x);
struct txn *txn_by_skey(struct txns *t, uint64_t skey);
struct txn *txn_by_ckey(struct txns *t, uint64_t ckey);
void txn_set_ckey(struct txns *t, struct txn *x, uint64_t ckey);
/* Recomputes x->when from its timers and reorders the heap. */
void txn_reschedule(struct txns *t, struct txn *x);
/* The earliest transaction with a timer due at or before now, or NULL. */
struct txn *txn_due(struct txns *t, int64_t now);
/* The earliest timer of all, ms; -1 none. */
int64_t txns_next(const struct txns *t);
size_t txns_count(const struct txns *t);

#endif
