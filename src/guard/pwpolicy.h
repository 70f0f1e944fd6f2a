/*
 * The password policy: one engine for every secret pbxguard sets (userdb,
 * htpasswd, import, the audit's fixes) and for the audit's findings, with
 * the rules of [password-policy] and [voicemail-policy]. A refusal comes
 * with every reason, in words an administrator can act on; a reason never
 * repeats the secret, since reasons are logged.
 */
#ifndef PBX_PWPOLICY_H
#define PBX_PWPOLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

struct pwpolicy;

/* Who the secret belongs to: it must not be, contain or reverse any of
 * these. Each may be NULL. */
struct pw_context {
	const char *user;	/* username, AMI user, IAX2 peer, web user */
	const char *extension;	/* the SIP user part when numeric, mailbox */
	const char *domain;
	const char *realm;
};

#define PW_MAX_REASONS 8
#define PW_REASON_MAX 112

struct pw_verdict {
	size_t n;		/* 0: acceptable */
	char why[PW_MAX_REASONS][PW_REASON_MAX];
	int score;		/* zxcvbn's 0..4 (-1: not computed) */
	bool first_guess;	/* empty, the name itself, or listed as it is: what a
				 * scanner tries before anything else */
};

/*
 * Loads the blocklist (plus the embedded classics: admin, asterisk,
 * scopserv, amp111, ...). NULL with err when the configured list cannot be
 * read; a missing default list is only a warning in warn ("" otherwise).
 */
struct pwpolicy *pwpolicy_new(const struct config_pwpolicy *pw,
    const struct config_pinpolicy *pin, char *warn, size_t warnsz, char *err, size_t errsz);
void pwpolicy_free(struct pwpolicy *p);
/* How many words the blocklist holds (for the log). */
size_t pwpolicy_blocklist_size(const struct pwpolicy *p);
/* True when the rules are "enforce" (false: "advise", refusals only warn). */
bool pwpolicy_enforced(const struct pwpolicy *p);

/* True when acceptable; v gets the reasons either way. */
bool pwpolicy_check(const struct pwpolicy *p, const char *pw, size_t len,
    const struct pw_context *who, struct pw_verdict *v);
/* A voicemail PIN: digits only, never the mailbox number, no repeats or
 * runs, not a trivial PIN. */
bool pwpolicy_check_pin(const struct pwpolicy *p, const char *pin, size_t len,
    const char *mailbox, struct pw_verdict *v);

/*
 * A new random secret that passes the policy for who: generated-length
 * characters from letters, digits and "-_.+", safe in every file format
 * pbxguard writes (no ';', '#', ':', quote or space). False only if none
 * passed in 100 tries (a policy no random secret can meet).
 */
bool pwpolicy_generate(const struct pwpolicy *p, const struct pw_context *who, char *out,
    size_t outsz);
/* A new random PIN of min-length digits that passes the PIN rules. */
bool pwpolicy_generate_pin(const struct pwpolicy *p, const char *mailbox, char *out,
    size_t outsz);

/* All the reasons, "; "-joined, into dst. */
const char *pw_verdict_str(const struct pw_verdict *v, char *dst, size_t dstsz);

#endif
