/*
 * The Flexisip userdb file (db-implementation=file):
 *
 *   version:1
 *   # comment
 *   user1@example.org clrtxt:secret ;
 *   user3@example.org md5:<32 hex> sha256:<64 hex> sha512-256:<64 hex> ; authid phone
 *   user4@example.org clrtxt:secret acl:Local ;
 *
 * acl:NAME (pbxguard's own) ties the account to an [acl:NAME] group.
 * %XX escapes are allowed in the identity, clear-text passwords and the
 * auth id. Parsing keeps every line's byte span so that `pbxguard userdb`
 * can rewrite one entry and leave comments and the rest untouched.
 */
#ifndef PBX_USERDB_H
#define PBX_USERDB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"
#include "guard/digest.h"

#define USERDB_MAX_SIZE (64u << 20)
#define USERDB_MAX_LINE 4096

struct userdb_entry {
	char *user, *domain;	/* unescaped */
	char *userid, *phone;	/* NULL when absent */
	char *clrtxt;		/* NULL when absent */
	char acl[32];		/* ACL group, "" when absent */
	bool has[DIGEST_NALGOS];
	char ha1[DIGEST_NALGOS][DIGEST_MAX_HEX + 1];
	size_t off, len;	/* the line, without its newline */
	unsigned line;
};

struct userdb {
	struct userdb_entry *e;
	size_t n, cap;
	size_t *index;		/* open addressing: entry number + 1, 0 empty */
	size_t nindex;
	uint64_t seed;
};

/* Parses data (need not be NUL-terminated). On error: NULL and
 * "FILE:LINE:COL: message" in err. */
struct userdb *userdb_parse(const char *data, size_t n, const char *fname, char *err,
    size_t errsz);
void userdb_free(struct userdb *db);
const struct userdb_entry *userdb_find(const struct userdb *db, struct slice user,
    struct slice domain);

/* Appends the %XX-escaped form of s (escaping space, '%', ';', '#', '@' where
 * needed, and control bytes) to dst; false if it does not fit. */
bool userdb_escape(struct slice s, bool is_user, char *dst, size_t dstsz);
/* Checks a new clear password or id is storable (no NUL; sane length). */
bool userdb_valid_identity(struct slice user, struct slice domain);

/*
 * One entry line, without newline: "user@domain md5:.. sha256:.. sha512-256:.. ;"
 * (A1 = H(authid:domain:password), authid = userid or user), or with
 * clrtxt the password itself, %-escaped, then " acl:NAME" when acl is not
 * NULL or empty. False if it does not fit.
 */
bool userdb_format_line(struct slice user, struct slice domain, struct slice password,
    bool clrtxt, const char *userid, const char *acl, char *dst, size_t dstsz);

#endif
