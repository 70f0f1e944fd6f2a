/*
 * The guard: every security decision of every front end, asked in the same
 * order — admit, lookup + verify (guard_authenticate), report. The API is
 * request -> verdict values with no callbacks, so it can later move behind
 * a process boundary. Nothing here knows about sockets or SIP framing.
 */
#ifndef PBX_GUARD_H
#define PBX_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/secevent.h"
#include "core/slice.h"
#include "guard/digest.h"
#include "guard/nonce.h"
#include "store/store.h"

struct guard;

struct guard_source {
	const struct addr *remote, *local;
	const char *transport;	/* "UDP", "TCP" */
	const char *service;	/* "SIP" */
};

enum guard_admit { GUARD_ADMIT, GUARD_DROP };

/* One Authorization / Proxy-Authorization credential, as the peer sent it. */
struct guard_proof {
	struct slice username, realm, nonce, uri, response, algorithm;
	struct slice cnonce, nc, qop, opaque;
};

struct guard_auth_request {
	struct slice user, domain;	/* the identity claimed (SIP: From) */
	struct slice method, body;
	const struct guard_proof *proofs;
	size_t nproofs;
	uint64_t reqhash;		/* same for retransmissions of one request */
	time_t now;
};

enum guard_outcome {
	GUARD_OK,		/* authenticated */
	GUARD_CHALLENGE,	/* answer with the challenge in the verdict */
	GUARD_FORBIDDEN,	/* wrong credentials */
	GUARD_DOMAIN_REFUSED,	/* domain not served: refuse without challenge */
	GUARD_BAD_REQUEST,	/* malformed credentials */
	GUARD_UNAVAILABLE,	/* credential store down: temporary failure */
};

struct guard_challenge {
	char realm[256];
	char nonce[NONCE_STR_LEN + 1];
	struct digest_alg algs[CONFIG_MAX_ALGOS];
	size_t nalgs;
	bool qop;
	bool stale;
};

struct guard_verdict {
	enum guard_outcome outcome;
	const char *reason;		/* for logs and 400/403 reason phrases */
	bool challenge_too;		/* FORBIDDEN answered by a challenge (no-403) */
	struct guard_challenge ch;	/* valid for CHALLENGE or challenge_too */
	bool has_event;
	enum secevent_type event;
	struct slice account;		/* as claimed, for the event */
	struct slice received_nonce, received_hash;
	struct slice request_type;	/* BAD_REQUEST: what was malformed */
	struct digest_alg alg;		/* the algorithm verified, when OK */
};

struct guard *guard_new(const struct config *cfg, struct store *store);
void guard_free(struct guard *g);

/* Before any parsing that costs per-source state. Part 1: always admits. */
enum guard_admit guard_admit(struct guard *g, const struct guard_source *src);

/* Lookup and verify in one step, so unknown accounts take the same path. */
void guard_authenticate(struct guard *g, const struct guard_auth_request *rq,
    struct guard_verdict *v);

/*
 * A request the front end could not parse (what: "INVITE", "Authorization"...;
 * why: its reason). The verdict is reported like any other, so malformed
 * traffic reaches the same log and, later, the same bans.
 */
void guard_malformed(struct guard *g, struct slice account, struct slice what,
    const char *why, struct guard_verdict *v);

/* The outcome, to the security log (and, later, bans and metrics). */
void guard_report(struct guard *g, const struct guard_source *src, struct slice session,
    const struct guard_verdict *v);

/* Pick up credential-store changes (called from a timer and on SIGHUP). */
void guard_refresh(struct guard *g, bool force);

/* For tests: does domain match the auth-domains list? */
bool guard_domain_allowed(const struct guard *g, struct slice domain);

#endif
