/*
 * db-implementation = soci (or sql): accounts in PostgreSQL, MySQL/MariaDB
 * or SQLite, read with Flexisip's soci-password-request and each engine's
 * own client library. This header holds the engine-independent pieces
 * (the request's placeholders, connection strings, rows into an account)
 * and the drivers' interface; sql_store.c makes a store of them.
 */
#ifndef PBX_SQL_H
#define PBX_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

/* Flexisip's placeholders, bound in the order the request names them. */
enum sql_param { SQL_P_ID, SQL_P_DOMAIN, SQL_P_AUTHID, SQL_NPARAMS };

/* How an engine writes a bound parameter in the text. */
enum sql_style {
	SQL_STYLE_DOLLAR,	/* PostgreSQL: $1, $2 (one per name, reusable) */
	SQL_STYLE_QNUM,		/* SQLite: ?1, ?2 (one per name, reusable) */
	SQL_STYLE_QMARK,	/* MySQL: ? (one per occurrence) */
};

#define SQL_MAX_BINDS 16

struct sql_query {
	char text[4096];		/* the request with the engine's placeholders */
	size_t nbinds;			/* parameters bound, in order */
	enum sql_param binds[SQL_MAX_BINDS];
	bool uses[SQL_NPARAMS];
};

/*
 * Rewrites :id, :domain and :authid outside quotes and comments into the
 * engine's placeholders (and Apache's %s, which is :id). Refuses what would bypass binding or run more
 * than the one query: an unknown :name, the engine's own placeholder
 * characters outside quotes, a second statement, no :id. -1 with err,
 * which starts with key (the configuration key the request came from).
 */
int sql_compile(const char *request, enum sql_style style, const char *key,
    struct sql_query *q, char *err, size_t errsz);

/*
 * SOCI's connection strings: "key=value key='quoted value'", where '' or
 * \' inside quotes is a quote. Next pair from *pos; 0 at the end, -1 with
 * err on bad syntax. Keys and values are copied (truncation is an error).
 */
int sql_conninfo_next(const char **pos, char *key, size_t keysz, char *val, size_t valsz,
    char *err, size_t errsz);

/*
 * One row of the password request, as Flexisip reads it: the password or
 * A1 in the first column, its algorithm (CLRTXT, MD5, SHA-256,
 * SHA-512-256) in the second, MD5 if there is no second column. Hashes are
 * taken lower-case and must have their algorithm's length. False (with
 * why) when the row is unusable; the account is unchanged then.
 */
bool sql_row_to_account(const char *pw, size_t npw, const char *algo, size_t nalgo,
    bool has_algo, struct account *a, const char **why);

/* A row as the drivers hand it over: values and the names the request
 * gave the columns (SELECT secret AS password ...); an SQL NULL is a NULL
 * value. */
#define SQL_MAX_COLS 8

struct sql_row {
	int ncols;
	const char *val[SQL_MAX_COLS];
	size_t len[SQL_MAX_COLS];
	const char *name[SQL_MAX_COLS];
	bool truncated;		/* a value was longer than the driver reads */
};

/*
 * The columns after the first two, for AMI and IAX2 accounts: each named
 * column is a key of the user's section in manager.conf or iax.conf (read,
 * write, permit, type, auth, ...), the way Asterisk's realtime maps columns
 * to keys. NULL columns are left out. Written into a->attrs as "name=value"
 * lines; false with why when a name or value cannot be one (a line break,
 * a NUL, no name) or they do not fit.
 */
bool sql_row_attrs(const struct sql_row *r, int first, struct account *a, const char **why);

/*
 * Apache's mod_authn_dbd (AuthDBDUserPWQuery): the first column is the
 * password as an htpasswd file holds it (bcrypt, apr1, SHA-crypt...).
 */
bool sql_row_hash(const struct sql_row *r, struct account *a, const char **why);

/* ---- drivers ------------------------------------------------------------ */

struct sql_conn;

/* Receives each row. */
typedef void (*sql_row_fn)(void *arg, const struct sql_row *r);

struct sql_driver {
	const char *name;	/* soci-backend */
	enum sql_style style;
	/* Called once, before any thread uses the driver. */
	bool (*global_init)(char *err, size_t errsz);
	struct sql_conn *(*connect)(const char *conninfo, const struct sql_query *q,
	    char *err, size_t errsz);
	/*
	 * Runs the prepared request with vals[i] for q->binds[i]. 0 when it ran
	 * (zero rows included); -1 with err, and *broken when the connection
	 * is lost and must be made again.
	 */
	int (*run)(struct sql_conn *c, const char *const *vals, const size_t *lens,
	    size_t n, sql_row_fn fn, void *arg, bool *broken, char *err, size_t errsz);
	void (*close)(struct sql_conn *c);
};

extern const struct sql_driver sql_driver_postgresql, sql_driver_mysql, sql_driver_sqlite3;

const struct sql_driver *sql_driver_find(const char *backend);

#endif
