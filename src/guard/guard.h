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
#include "core/tls.h"
#include "guard/bans.h"
#include "guard/digest.h"
#include "guard/nonce.h"
#include "guard/nonce.h"
#include "store/htpasswd.h"
#include "store/iaxusers.h"
#include "store/keys.h"
#include "store/mgrusers.h"
#include "store/store.h"

struct guard;

struct guard_source {
	const struct addr *remote, *local;
	const char *transport;	/* "UDP", "TCP" */
	const char *service;	/* "SIP" */
	int acl;		/* the listener's ACL group, or CONFIG_NO_ACL */
};

enum guard_admit { GUARD_ADMIT, GUARD_DROP };

/* One Authorization / Proxy-Authorization credential, as the peer sent it. */
struct guard_proof {
	struct slice username, realm, nonce, uri, response, algorithm;
	struct slice cnonce, nc, qop, opaque;
};

struct guard_auth_request {
	const struct guard_source *src;
	struct slice user, domain;	/* the identity claimed (SIP: From) */
	struct slice target_domain;	/* SIP: the Request-URI's host */
	const struct tls_subjects *peer;/* a verified client certificate, or NULL */
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
	GUARD_PENDING,		/* the store is fetching the account, or the
				 * shared state a nonce count: park the
				 * request and ask again when it is ready */
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
	char cert_subject[256];		/* OK by client certificate: the subject used */
	char acl_name[32];		/* FailedACL: the group (or "account-lock") */
	bool strike;			/* counts toward a ban of the source */
	bool known;			/* the account exists: acct is its name */
	char acct[320];			/* "user@domain", domain lower-cased */
	time_t now;
};

struct guard *guard_new(const struct config *cfg, struct store *store);
void guard_free(struct guard *g);

/*
 * Before any parsing: the listener's ACL, ignoreip, bans in force, and the
 * pre-authentication flood limit. GUARD_DROP: drop silently (UDP) or close
 * (TCP).
 */
enum guard_admit guard_admit(struct guard *g, const struct guard_source *src, time_t now);

/*
 * For traffic of a session already admitted (IAX2 media, say): the
 * listener's ACL and the bans in force, without counting it toward the
 * flood limit. GUARD_DROP when the source is refused.
 */
enum guard_admit guard_banned(struct guard *g, const struct guard_source *src, time_t now);

/*
 * A parsed request's User-Agent: a scanner's name counts as a strike toward
 * a ban (only a strike: a User-Agent is trivially faked, in both directions).
 * GUARD_DROP when this strike banned the source.
 */
enum guard_admit guard_user_agent(struct guard *g, const struct guard_source *src,
    struct slice user_agent, time_t now);

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

/*
 * A failure another program logged ([watch]: sshd, Asterisk): one strike
 * for addr toward the same bans, counted under "other" on the page.
 * False when the address is not counted (bans off, or ignoreip).
 */
bool guard_watch_failure(struct guard *g, const struct ipkey *addr, time_t now);

/* The outcome, to the security log and the ban engine. */
void guard_report(struct guard *g, const struct guard_source *src, struct slice session,
    const struct guard_verdict *v);

/* Pick up credential-store changes (called from a timer and on SIGHUP). */
void guard_refresh(struct guard *g, bool force);

/* Bans kept across restarts: load at start (a damaged file is kept aside as
 * FILE.corrupt and what could be read is used), save when changed. */
bool guard_load_state(struct guard *g, time_t now);
void guard_save_state(struct guard *g, time_t now);
/* Periodic: lift expired bans, save the state when it changed. */
void guard_tick(struct guard *g, time_t now);

/* Manual bans, for the control socket. Each is logged and a security event. */
enum guard_ban_result { GUARD_BAN_OK, GUARD_BAN_IGNORED, GUARD_BAN_FAILED };
enum guard_ban_result guard_ban(struct guard *g, const struct ipkey *k, unsigned seconds,
    time_t now, struct ban_info *out);
bool guard_unban(struct guard *g, const struct ipkey *k, time_t now);
/* A ban another node made, in force until until: applied unless ignoreip
 * covers k or a ban of ours already lasts as long. */
bool guard_ban_shared(struct guard *g, const struct ipkey *k, time_t until, time_t now);
size_t guard_bans_list(struct guard *g, time_t now, struct ban_info *out, size_t max);

/* Kernel enforcement (nftables): told of every ban started or lifted. */
void guard_set_enforcer(struct guard *g, bans_hook fn, void *arg);

/*
 * Nonces every node accepts ([global] state = redis://): the key they share
 * (NULL while the shared state is away: new nonces are this node's own) and
 * where their counts are recorded. use answers NC_OK, NC_RETRANSMIT,
 * NC_REPLAY, NC_PENDING (asked; the request is handled again when the
 * answer is in: GUARD_PENDING) or NC_UNAVAILABLE (a new nonce is asked for).
 */
struct guard_nonce_share {
	void *arg;
	enum nc_status (*use)(void *arg, const struct nonce_info *ni, uint32_t nc,
	    uint64_t reqhash, time_t now);
};
void guard_share_nonces(struct guard *g, const uint8_t *key, const struct guard_nonce_share *ops);

/* Index of the configured upstream (PBX) at exactly this address and port,
 * or -1. The upstream is trusted: admitted, never counted or banned. */
int guard_upstream(const struct guard *g, const struct addr *a);
/* Is a one of the [cluster] nodes (by address, any port)? Trusted like the
 * upstream: the PBX's requests come through them. */
bool guard_cluster_node(const struct guard *g, const struct addr *a);
/* The digest realm for a domain ([module::Authentication] realm, or the
 * domain lower-cased into buf); .p NULL if it does not fit. */
struct slice guard_realm(const struct guard *g, struct slice domain, char *buf, size_t bufsz);
/* Does the store hold user@domain? (Routing toward phones: 404 or 480.) */
bool guard_account_known(struct guard *g, struct slice user, struct slice domain);
/* Does domain match the auth-domains list? */
bool guard_domain_allowed(const struct guard *g, struct slice domain);

/* ---- AMI logins -------------------------------------------------------- */

struct guard_ami_login {
	const struct guard_source *src;
	const struct mgr_users *users;
	struct slice username;
	bool md5;			/* AuthType: MD5 */
	struct slice key;		/* MD5: hex MD5(challenge || secret) */
	struct slice secret;		/* otherwise: the secret itself */
	struct slice challenge;		/* the session's; empty if none was asked for */
	bool plaintext_ok;		/* TLS, or allowplaintextlogin = yes */
	time_t now;
};

/*
 * Lookup, ACL and verification in one step, the same work for an unknown
 * user as for a known one. The user on GUARD_OK, else NULL with the reason
 * and event in v (report it with guard_report). A plain-text Secret where
 * it is not allowed is refused before the user is even looked up.
 */
const struct mgr_user *guard_ami_login(struct guard *g, const struct guard_ami_login *rq,
    struct guard_verdict *v);
/* Asterisk's MD5 login key: lowercase hex MD5(challenge || secret). */
void guard_ami_key(struct slice challenge, struct slice secret, char out[33]);

/* ---- IAX2 registrations and calls -------------------------------------- */

struct guard_iax_login {
	const struct guard_source *src;
	const struct iax_users *users;
	const struct keyring *keys;
	struct slice username;
	bool reg;			/* REGREQ/REGREL (a peer) or NEW (a user) */
	struct slice challenge;		/* the one we sent */
	bool has_md5, has_rsa, has_password;	/* which answers came */
	struct slice md5, rsa, password;
	time_t now;
};

/*
 * The AUTHMETHODS to offer in REGAUTH/AUTHREQ: the account's, or md5 for
 * a name that is not an account of that kind — the same answer, so a
 * scanner learns nothing before it answers the challenge.
 */
unsigned guard_iax_methods(const struct iax_users *users, struct slice username, bool reg);
/*
 * Lookup, ACL, account lock and the answer (md5: hex MD5(challenge ||
 * secret) against each secret; rsa: the signature against each inkey;
 * plaintext when allowed). The user on GUARD_OK, else NULL with the event.
 */
const struct iax_user *guard_iax_login(struct guard *g, const struct guard_iax_login *rq,
    struct guard_verdict *v);
/*
 * A NEW/REGREQ refused for its call token, before any login: RequestNotAllowed.
 * A token not ours (forged, malformed) is a strike; a missing or expired one
 * is not (a legacy client, a slow one): nothing was guessed.
 */
void guard_iax_token_refused(struct slice account, struct slice request, const char *why,
    bool forged, time_t now, struct guard_verdict *v);
/* IAX2's MD5_RESULT: lowercase hex MD5(challenge || secret). */
void guard_iax_md5(struct slice challenge, struct slice secret, char out[33]);

/* ---- web (HTTP Basic) logins ------------------------------------------ */

struct guard_web_login {
	const struct guard_source *src;
	const struct htp_users *users;
	const struct htp_groups *groups;	/* AuthGroupFile, or NULL */
	struct slice username, password;
	time_t now;
};

/* Between the two steps: the hash to check, which runs in a worker. */
struct guard_web_job {
	char hash[HTP_MAX_HASH];	/* the user's, or a stand-in of the same cost */
	uint8_t key[32];		/* the credentials' keyed hash, for the cache */
	bool cached;			/* verified before and not expired: no hash to run */
};

/*
 * Step one: the hash an unknown user is checked against costs what a known
 * one's does (the first user's setting, or with an empty table the last
 * known user's), and a cache hit skips the hash.
 */
void guard_web_prepare(struct guard *g, const struct guard_web_login *rq,
    struct guard_web_job *job);
/*
 * Step two, with htp_verify(job->hash, password) (or job->cached): the
 * account lock, the verdict, Require, the cache. True when the user may in.
 * A wrong password or unknown user is a strike; a user Require leaves out
 * is refused without one (the password was right).
 */
bool guard_web_login(struct guard *g, const struct guard_web_login *rq,
    struct guard_web_job *job, bool matched, struct guard_verdict *v);
/* The password or group file changed: nothing verified before counts. */
void guard_web_flush(struct guard *g);

/* ---- what the admin page and metrics show ---------------------------- */

#define GUARD_NSERVICES 5		/* SIP, AMI, HTTP, IAX2, other */
#define GUARD_HIST_MINUTES 60

struct guard_stats {
	const char *service[GUARD_NSERVICES];
	uint64_t auth_ok[GUARD_NSERVICES], auth_fail[GUARD_NSERVICES];
	uint32_t fail_per_min[GUARD_HIST_MINUTES];	/* oldest first; last: this minute */
	size_t cache_live;
	uint64_t cache_hits, cache_misses;
	size_t bans;
};
void guard_stats(struct guard *g, time_t now, struct guard_stats *out);

#endif
