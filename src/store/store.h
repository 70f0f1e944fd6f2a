/*
 * Credential stores behind one interface. The guard asks "which account is
 * user@domain?" and gets a self-contained copy it must wipe after use, so a
 * reload can free the old data while a request is in flight.
 */
#ifndef PBX_STORE_H
#define PBX_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"
#include "guard/digest.h"

#define ACCOUNT_USERID_MAX 128
#define ACCOUNT_SECRET_MAX 256
#define ACCOUNT_ATTRS_MAX 768

struct account {
	char userid[ACCOUNT_USERID_MAX];	/* digest username expected */
	bool has_clrtxt;
	char clrtxt[ACCOUNT_SECRET_MAX];
	bool has_ha1[DIGEST_NALGOS];
	char ha1[DIGEST_NALGOS][DIGEST_MAX_HEX + 1]; /* bound to realm = domain */
	char acl[32];				/* ACL group name, or "" */
	bool has_hash;
	char hash[ACCOUNT_SECRET_MAX];		/* web: an htpasswd-style hash */
	/* More columns of an SQL row, "name=value" lines, for the AMI and
	 * IAX2 users' settings (read, write, type, auth...). */
	char attrs[ACCOUNT_ATTRS_MAX];
};

/*
 * STORE_PENDING: the answer is being fetched (an SQL query in a worker);
 * ask again after the store's ready callback ran. STORE_UNAVAILABLE: the
 * store cannot answer now (database down, queue full): a temporary error.
 */
enum store_result { STORE_FOUND, STORE_NOT_FOUND, STORE_UNAVAILABLE, STORE_PENDING };

/* Who is asked for: the claimed user@domain, the digest realm and the
 * name the credentials carry (Flexisip's :id, :domain, :authid). */
struct store_query {
	struct slice user, domain, realm, authid;
};

/* What a store that asks elsewhere (SQL) has done, for /metrics. */
struct store_stats {
	unsigned long long queries;	/* sent to the database */
	unsigned long long hits;	/* answered from the cache */
	unsigned long long failures;	/* queries the database could not answer */
	unsigned long long refused;	/* lookups refused at once (queue full) */
	bool down;			/* the last query failed */
};

struct store_ops {
	const char *name;
	/* NULL for stores that only read a file. */
	void (*stats)(void *impl, struct store_stats *out);
	enum store_result (*lookup)(void *impl, const struct store_query *q,
	    struct account *out);
	/* Re-read the source if it changed; on error keep the old copy, return -1. */
	int (*refresh)(void *impl, bool force);
	size_t (*count)(void *impl);
	void (*destroy)(void *impl);
};

struct store {
	const struct store_ops *ops;
	void *impl;
	/* Called on the event loop when answers a lookup was PENDING for came. */
	void (*ready)(void *arg);
	void *ready_arg;
	const char *where;	/* for logs: the file, or "postgresql" */
};

static inline enum store_result
store_query(struct store *s, const struct store_query *q, struct account *out)
{
	return s->ops->lookup(s->impl, q, out);
}

/* user@domain, with the domain as realm and the user as its own authid. */
static inline enum store_result
store_lookup(struct store *s, struct slice user, struct slice domain, struct account *out)
{
	struct store_query q = { user, domain, domain, user };
	return store_query(s, &q, out);
}

static inline void
store_set_ready(struct store *s, void (*fn)(void *), void *arg)
{
	s->ready = fn;
	s->ready_arg = arg;
}

void account_wipe(struct account *a);
/* The next "name=value" line of a->attrs from *pos, copied into name and
 * val; false at the end (or at a line that does not fit, which ends it). */
bool account_attr_next(const struct account *a, size_t *pos, char *name, size_t namesz,
    char *val, size_t valsz);

/* Flexisip's db-implementation=file. NULL with a message on a bad file. */
struct store *store_file_open(const char *path, char *err, size_t errsz);
/*
 * db-implementation = soci|sql: cfg's soci-* keys. Lookups run on
 * soci-poolsize worker threads (each with its own connection) and answer
 * through the loop of base; with base NULL (serve --check) nothing is
 * started and only the request and one connection are tried. NULL with a
 * message when the request or the connection string is wrong; a database
 * that does not answer yet is not an error (the store answers UNAVAILABLE
 * until it does).
 */
struct config;
struct event_base;

/* How a request's rows read. */
enum store_rows {
	STORE_ROWS_DIGEST,	/* Flexisip's: password or A1, its algorithm (SIP) */
	STORE_ROWS_SETTINGS,	/* the same, then columns named as the user's keys
				 * in manager.conf or iax.conf (AMI, IAX2) */
	STORE_ROWS_HASH,	/* Apache's mod_authn_dbd: an htpasswd-style hash (web) */
};

/* One SQL store per front end, on the one [module::Authentication]
 * connection settings. */
struct store_sql_spec {
	const char *key;	/* for messages: "[manager] soci-password-request" */
	const char *request;
	enum store_rows rows;
	unsigned poolsize;	/* 0: soci-poolsize */
	const char *temporary;	/* for the log: "SIP requests get 503" */
};
struct store *store_sql_open(const struct config *cfg, const struct store_sql_spec *spec,
    struct event_base *base, char *err, size_t errsz);
void store_free(struct store *s);

#endif
