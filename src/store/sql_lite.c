/*
 * soci-backend = sqlite3. The connection string is SOCI's: "db=FILE" (or
 * dbname=, or the bare file name) and timeout=SECONDS (busy wait on a
 * locked file, 3 s by default). The file is opened read-only: the store
 * only reads, and must not create an empty database when the path is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sql.h"

struct sql_conn {
	sqlite3 *db;
	sqlite3_stmt *st;
};

static bool
lite_global_init(char *err, size_t errsz)
{
	if (sqlite3_initialize() != SQLITE_OK) {
		snprintf(err, errsz, "sqlite3: cannot initialise the library");
		return false;
	}
	return true;
}

static bool
parse_opts(const char *conninfo, char *file, size_t filesz, int *timeout_ms, char *err,
    size_t errsz)
{
	const char *pos = conninfo;
	char k[32], v[1024];
	int r;

	*timeout_ms = 3000;
	file[0] = '\0';
	if (!strchr(conninfo, '=')) {
		/* SOCI takes a string without any key as the file name. */
		if (snprintf(file, filesz, "%s", conninfo) >= (int)filesz) {
			snprintf(err, errsz, "soci-connection-string: file name too long");
			return false;
		}
		return true;
	}
	while ((r = sql_conninfo_next(&pos, k, sizeof(k), v, sizeof(v), err, errsz)) > 0) {
		if (strcmp(k, "db") == 0 || strcmp(k, "dbname") == 0) {
			if (snprintf(file, filesz, "%s", v) >= (int)filesz) {
				snprintf(err, errsz, "soci-connection-string: file name too long");
				return false;
			}
		} else if (strcmp(k, "timeout") == 0) {
			uint64_t t;
			if (!slice_to_u64(slice_cstr(v), 0, 3600, &t)) {
				snprintf(err, errsz, "soci-connection-string: timeout: expected seconds");
				return false;
			}
			*timeout_ms = (int)t * 1000;
		} else if (strcmp(k, "readonly") != 0 && strcmp(k, "shared_cache") != 0 &&
		    strcmp(k, "synchronous") != 0) {
			snprintf(err, errsz, "soci-connection-string: unknown key '%s' for sqlite3", k);
			return false;
		}
	}
	if (r < 0)
		return false;
	if (!file[0]) {
		snprintf(err, errsz, "soci-connection-string: sqlite3 needs db=FILE");
		return false;
	}
	return true;
}

static void
lite_close(struct sql_conn *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->st);
	sqlite3_close(c->db);
	free(c);
}

static struct sql_conn *
lite_connect(const char *conninfo, const struct sql_query *q, char *err, size_t errsz)
{
	char file[1024];
	int timeout_ms;
	struct sql_conn *c;

	if (!parse_opts(conninfo, file, sizeof(file), &timeout_ms, err, errsz))
		return NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(err, errsz, "sqlite3: out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(file, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errsz, "sqlite3: %s: %s", file,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto bad;
	}
	sqlite3_busy_timeout(c->db, timeout_ms);
	if (sqlite3_prepare_v2(c->db, q->text, -1, &c->st, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "sqlite3: soci-password-request: %s", sqlite3_errmsg(c->db));
		goto bad;
	}
	return c;
bad:
	lite_close(c);
	return NULL;
}

static int
lite_run(struct sql_conn *c, const char *const *vals, const size_t *lens, size_t n,
    sql_row_fn fn, void *arg, bool *broken, char *err, size_t errsz)
{
	int rc;

	*broken = false;
	for (size_t i = 0; i < n; i++)
		if (sqlite3_bind_text(c->st, (int)i + 1, vals[i], (int)lens[i], SQLITE_TRANSIENT) !=
		    SQLITE_OK)
			goto fail;
	struct sql_row sr = { .ncols = sqlite3_column_count(c->st) };
	if (sr.ncols < 1 || sr.ncols > SQL_MAX_COLS) {
		snprintf(err, errsz, "sqlite3: the request returns %d columns (1 to %d)", sr.ncols,
		    SQL_MAX_COLS);
		sqlite3_reset(c->st);
		sqlite3_clear_bindings(c->st);
		return -1;
	}
	for (int i = 0; i < sr.ncols; i++)
		sr.name[i] = sqlite3_column_name(c->st, i);
	while ((rc = sqlite3_step(c->st)) == SQLITE_ROW) {
		for (int i = 0; i < sr.ncols; i++) {
			/* text first, then bytes: the order SQLite documents */
			sr.val[i] = (const char *)sqlite3_column_text(c->st, i);
			sr.len[i] = (size_t)sqlite3_column_bytes(c->st, i);
		}
		fn(arg, &sr);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_reset(c->st);
	sqlite3_clear_bindings(c->st);
	return 0;
fail:
	snprintf(err, errsz, "sqlite3: query: %s", sqlite3_errmsg(c->db));
	/* A file replaced or removed under us: open it again next time. */
	*broken = true;
	sqlite3_reset(c->st);
	sqlite3_clear_bindings(c->st);
	return -1;
}

const struct sql_driver sql_driver_sqlite3 = {
	"sqlite3", SQL_STYLE_QNUM, lite_global_init, lite_connect, lite_run, lite_close,
};
