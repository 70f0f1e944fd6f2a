/*
 * AMI users from a manager.conf-style file: one [username] section each,
 * with Asterisk's keys (secret, permit, deny, acl, read, write,
 * displayconnects, allowmultiplelogin, writetimeout, eventfilter). Its
 * [general] section holds Asterisk's own server settings, which pbxguard
 * takes from pbxguard.conf's [manager]: it is skipped, so the file
 * Asterisk already reads works unchanged.
 */
#ifndef PBX_MGRUSERS_H
#define PBX_MGRUSERS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "store/store.h"

#define MGR_MAX_ACLS 8
#define MGR_MAX_FILTERS 16

struct mgr_user {
	char name[80];
	char *secret;			/* NULL: no secret, so no login */
	struct acl_group ha;		/* permit/deny lines, in order (name "permit/deny") */
	char acls[MGR_MAX_ACLS][32];	/* acl = NAME: every one must let the address in */
	size_t nacls;
	char read[512], write[512];	/* class lists as written ("system,call") */
	int displayconnects;		/* -1: [manager]'s */
	int allowmultiplelogin;		/* -1: [manager]'s */
	unsigned writetimeout;		/* ms; Asterisk's default 100 */
	char *filters[MGR_MAX_FILTERS];	/* eventfilter, as written ("!" = drop) */
	size_t nfilters;
};

struct mgr_users {
	struct mgr_user *u;
	size_t n;
	char **warn;			/* things ignored, file:line: why */
	size_t nwarn;
};

/*
 * All or nothing: NULL with file:line: why in err, and the caller keeps
 * whatever it had. A missing file is an empty user list, not an error
 * (err then says so, for the log). cfg resolves acl = NAME.
 */
struct mgr_users *mgr_users_load(const char *path, const struct config *cfg, char *err,
    size_t errsz);
struct mgr_users *mgr_users_parse(const char *text, size_t len, const char *fname,
    const struct config *cfg, char *err, size_t errsz);
/*
 * One user from an SQL row (the AMI's soci-password-request): the secret
 * from the first column (CLRTXT), the other keys from the row's named
 * columns. where names the source in messages. NULL with err when a
 * column is not a valid key's value.
 */
struct mgr_users *mgr_users_from_account(struct slice name, const struct account *a,
    const char *where, const struct config *cfg, char *err, size_t errsz);
void mgr_users_free(struct mgr_users *u);
/* Case-insensitive, as Asterisk looks users up. */
const struct mgr_user *mgr_users_find(const struct mgr_users *u, const char *name, size_t n);

#endif
