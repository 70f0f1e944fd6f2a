/*
 * The ban engine, shared by every protocol: a failure on SIP counts the
 * same as one on AMI or IAX2, because all of them report here by address.
 *
 * - Sources: failed credentials counted per address over findtime; at
 *   maxretry the address is banned for bantime, doubled for each repeat ban
 *   (bantime.increment) up to bantime.maxtime, as fail2ban does. A pike-like
 *   counter of all requests per window bans floods. Counters live in a fixed
 *   table (max-tracked entries, least recently seen evicted), so spoofed
 *   sources cannot grow memory.
 * - Accounts: failures against one known account from addresses it never
 *   authenticated from are counted too; at account-maxretry the account is
 *   locked for new addresses only, so a slow attack spread over many
 *   addresses stops while the owner's phones keep working.
 *
 * Pure data: no sockets, no logging; what changed is returned or given to
 * the hook, and the caller writes logs and events.
 */
#ifndef PBX_BANS_H
#define PBX_BANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/cidr.h"
#include "core/config.h"
#include "core/slice.h"

struct bans;

/* BAN_SHARED: made by another node of the cluster ([global] state = redis://). */
enum ban_reason { BAN_FAILURES, BAN_FLOOD, BAN_MANUAL, BAN_SHARED };

struct ban_info {
	struct ipkey addr;
	time_t until;		/* 0: no ban in force (history only) */
	time_t last;		/* when the latest ban started */
	unsigned count;		/* bans so far, for bantime.increment */
	enum ban_reason reason;
	uint64_t hits;		/* packets/connections dropped in userspace */
};

/* What happened to a ban: started (until - now seconds), lifted by hand
 * (bans_unban), or ended by its time. */
enum ban_change { BAN_STARTED, BAN_LIFTED, BAN_EXPIRED };
/* why: for logs only (the reason's name, "manual", "expired"). */
typedef void (*bans_hook)(void *arg, const struct ban_info *bi, enum ban_change what,
    time_t now, const char *why);

struct bans *bans_new(const struct config *cfg);
void bans_free(struct bans *b);
void bans_set_hook(struct bans *b, bans_hook fn, void *arg);
const char *ban_reason_name(enum ban_reason r);

bool bans_ignored(const struct bans *b, const struct ipkey *k);
/* When the ban of k ends, 0 if none is in force (no hit counted). */
time_t bans_until(const struct bans *b, const struct ipkey *k, time_t now);
/* In force now? Counts a hit when it is. */
bool bans_check(struct bans *b, const struct ipkey *k, time_t now);
/* One request before authentication; true if this one crossed the flood limit
 * (the source is banned now). */
bool bans_request(struct bans *b, const struct ipkey *k, time_t now);
/* One failed credential (or other strike); true if it led to a ban. */
bool bans_fail(struct bans *b, const struct ipkey *k, time_t now);

/* Accounts (identity as "user@domain"). */
bool bans_account_locked(struct bans *b, struct slice account, const struct ipkey *k,
    time_t now);
/* A failure from k; true if it locked the account. Failures from addresses
 * the account is known at do not count: the owner cannot lock himself out. */
bool bans_account_fail(struct bans *b, struct slice account, const struct ipkey *k,
    time_t now);
void bans_account_ok(struct bans *b, struct slice account, const struct ipkey *k, time_t now);

/* Manual bans. seconds 0: the automatic length (with increment). */
bool bans_ban(struct bans *b, const struct ipkey *k, unsigned seconds, enum ban_reason r,
    time_t now, struct ban_info *out);
bool bans_unban(struct bans *b, const struct ipkey *k, time_t now);
/* Bans in force; fills up to max, returns how many there are. */
size_t bans_list(const struct bans *b, time_t now, struct ban_info *out, size_t max);

/* Lift expired bans (the hook hears of each); forget old history. */
void bans_sweep(struct bans *b, time_t now);

/* State file: bans in force, ban history, account locks and known addresses. */
bool bans_dirty(const struct bans *b);
/* Text to save (malloc'd), and clears the dirty mark. */
char *bans_serialize(struct bans *b, time_t now, size_t *n);
/* Loads text written by bans_serialize; bad lines are skipped and counted,
 * the first one described in err ("FILE:LINE: why"). Returns lines skipped. */
size_t bans_load_text(struct bans *b, const char *data, size_t n, const char *fname,
    time_t now, char *err, size_t errsz);

#endif
