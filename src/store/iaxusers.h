/*
 * IAX2 accounts from an iax.conf-style file, so an Asterisk administrator's
 * file keeps working: one [name] section each with type (user: may call
 * in; peer: may register; friend: both), secret (several, written
 * "a\;b" since ';' starts a comment), auth (md5, rsa, plaintext), inkeys
 * (a:b:c), outkey, permit/deny/acl, requirecalltoken, host. [general] holds
 * Asterisk's server settings, which pbxguard takes from [iax2]: skipped.
 * Keys about Asterisk's channels (context, allow, callerid...) are read
 * and left to the PBX.
 */
#ifndef PBX_IAXUSERS_H
#define PBX_IAXUSERS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "store/keys.h"
#include "store/store.h"

#define IAXU_MAX_SECRETS 8
#define IAXU_MAX_INKEYS 8
#define IAXU_MAX_ACLS 8

/* auth = bits (the same values as IAX2's AUTHMETHODS IE). */
#define IAXU_AUTH_PLAINTEXT 1
#define IAXU_AUTH_MD5 2
#define IAXU_AUTH_RSA 4

enum iax_tokenreq { IAXU_TOKEN_YES, IAXU_TOKEN_NO, IAXU_TOKEN_AUTO };

struct iax_user {
	char name[80];
	bool can_call;			/* type = user | friend */
	bool can_register;		/* type = peer | friend, with host = dynamic */
	char *secrets[IAXU_MAX_SECRETS];
	size_t nsecrets;
	unsigned auth;			/* IAX_AUTH_* bits; md5 unless told */
	char inkeys[IAXU_MAX_INKEYS][KEY_NAME_MAX];
	size_t ninkeys;
	char outkey[KEY_NAME_MAX];
	struct acl_group ha;		/* permit/deny, in order */
	char acls[IAXU_MAX_ACLS][32];
	size_t nacls;
	/* auth = bits (the same values as IAX2's AUTHMETHODS IE). */
#define IAXU_AUTH_PLAINTEXT 1
#define IAXU_AUTH_MD5 2
#define IAXU_AUTH_RSA 4

enum iax_tokenreq requirecalltoken;
};

struct iax_users {
	struct iax_user *u;
	size_t n;
	char **warn;
	size_t nwarn;
};

/* All or nothing, as mgr_users_load: a missing file is an empty list (err
 * then says so for the log). */
struct iax_users *iax_users_load(const char *path, const struct config *cfg, char *err,
    size_t errsz);
struct iax_users *iax_users_parse(const char *text, size_t len, const char *fname,
    const struct config *cfg, char *err, size_t errsz);
/*
 * One user from an SQL row (the IAX2 soci-password-request): the secret
 * from the first column (CLRTXT), the other keys (type, auth, inkeys,
 * permit, requirecalltoken...) from the row's named columns; a friend
 * unless a type column says otherwise. NULL with err on a bad value.
 */
struct iax_users *iax_users_from_account(struct slice name, const struct account *a,
    const char *where, const struct config *cfg, char *err, size_t errsz);
void iax_users_free(struct iax_users *u);
void iax_users_clear(struct iax_user *iu);
/* Case-sensitive, as chan_iax2 finds users and peers. */
const struct iax_user *iax_users_find(const struct iax_users *u, struct slice name);

#endif
