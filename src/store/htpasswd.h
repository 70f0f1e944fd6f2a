/*
 * Apache's htpasswd and group files: the hashes Apache's htpasswd writes
 * and libxcrypt checks (apr1, bcrypt, SHA-256/512-crypt, MD5-crypt,
 * yescrypt, DES crypt, {SHA}), made and verified; the files read the way
 * mod_authn_file and mod_authz_groupfile read them.
 */
#ifndef PBX_HTPASSWD_H
#define PBX_HTPASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/slice.h"

/* Apache's limits (htpasswd.c): longer names or passwords are refused. */
#define HTP_MAX_USER 255
#define HTP_MAX_PASSWORD 255
#define HTP_MAX_HASH 512

/* What htpasswd's -m -B -2 -5 -s -d -p ask for. */
enum htp_alg { HTP_BCRYPT, HTP_APR1, HTP_SHA256, HTP_SHA512, HTP_SHA1, HTP_CRYPT };

/*
 * A hash of pw in the format Apache's htpasswd writes. cost: bcrypt's
 * (4..17, Apache's range); rounds: SHA-crypt's (0: the default 5000, not
 * written). false with the reason in err: a failure is never stored as a
 * hash (libxcrypt's "*0" failure token is caught here).
 */
bool htp_hash(enum htp_alg alg, unsigned cost, unsigned rounds, const char *pw, size_t pwlen,
    char *out, size_t outsz, char *err, size_t errsz);

/*
 * Does pw verify against hash? Thread-safe (no shared state), so it can run
 * in a worker. Plain text and "*" failure tokens never verify, nor does a
 * password holding a NUL byte (crypt would cut it there).
 */
bool htp_verify(const char *hash, const char *pw, size_t pwlen);

/* "bcrypt", "apr1", ..., or "plain text"/"unusable" for what never verifies. */
const char *htp_kind(const char *hash);
bool htp_usable(const char *hash);

struct htp_user {
	char *name;
	char *hash;
};

/* Which file was read, to notice that it changed. */
struct htp_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct htp_users {
	struct htp_user *u;
	size_t n;
	char **warn;			/* file:line: why, for lines that cannot log in */
	size_t nwarn;
	struct htp_stamp stamp;
};

/*
 * All or nothing: NULL with the reason in err. A missing file is an error
 * here (the daemon makes its first one before reading). Names are
 * case-sensitive and the first line for a name wins, as in mod_authn_file.
 */
struct htp_users *htp_load(const char *path, char *err, size_t errsz);
struct htp_users *htp_parse(const char *text, size_t len, const char *fname, char *err,
    size_t errsz);
void htp_free(struct htp_users *u);
/* One user (a row of AuthDBDUserPWQuery): NULL when out of memory. */
struct htp_users *htp_one(struct slice name, const char *hash);
const struct htp_user *htp_find(const struct htp_users *u, struct slice name);
/* Has path changed since u was read (another inode, size or time)? */
bool htp_changed(const struct htp_users *u, const char *path);

/* AuthGroupFile: "group: user1 user2" lines, a group on several lines adds up. */
struct htp_group {
	char *name;
	char **members;
	size_t n;
};

struct htp_groups {
	struct htp_group *g;
	size_t n;
	struct htp_stamp stamp;
};

struct htp_groups *htp_groups_load(const char *path, char *err, size_t errsz);
struct htp_groups *htp_groups_parse(const char *text, size_t len, char *err, size_t errsz);
void htp_groups_free(struct htp_groups *g);
bool htp_in_group(const struct htp_groups *g, const char *group, struct slice user);
bool htp_groups_changed(const struct htp_groups *g, const char *path);

#endif
