/*
 * soci-backend = postgresql, with libpq. The connection string is libpq's
 * own (SOCI hands it to PQconnectdb unchanged); connect_timeout defaults to
 * 3 s here so a dead server cannot hold a worker for long.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/sql.h"

struct sql_conn {
	PGconn *pg;
};

#define STMT "pbxguard_password"

static bool
pg_global_init(char *err, size_t errsz)
{
	(void)err;
	(void)errsz;
	return true;
}

static void
copy_error(const char *what, const char *msg, char *err, size_t errsz)
{
	/* libpq's messages span lines; a log line must not. */
	int k = snprintf(err, errsz, "postgresql: %s: ", what);
	size_t o = k > 0 && (size_t)k < errsz ? (size_t)k : 0;
	for (; *msg && o + 1 < errsz; msg++) {
		char c = *msg == '\n' || *msg == '\t' ? ' ' : *msg;
		if (c == ' ' && o && err[o - 1] == ' ')
			continue; /* one space where libpq broke the line and indented */
		err[o++] = c;
	}
	while (o && err[o - 1] == ' ')
		o--;
	err[o] = '\0';
}

static struct sql_conn *
pg_connect(const char *conninfo, const struct sql_query *q, char *err, size_t errsz)
{
	/* Later keywords win in PQconnectdbParams: ours first, the admin's after. */
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "3", "pbxguard", conninfo, NULL };
	struct sql_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errsz, "postgresql: out of memory");
		return NULL;
	}
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		copy_error("cannot connect", c->pg ? PQerrorMessage(c->pg) : "out of memory", err,
		    errsz);
		goto bad;
	}
	PGresult *r = PQprepare(c->pg, STMT, q->text, (int)q->nbinds, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		copy_error("soci-password-request", PQresultErrorMessage(r), err, errsz);
		PQclear(r);
		goto bad;
	}
	PQclear(r);
	return c;
bad:
	PQfinish(c->pg);
	free(c);
	return NULL;
}

static int
pg_run(struct sql_conn *c, const char *const *vals, const size_t *lens, size_t n,
    sql_row_fn fn, void *arg, bool *broken, char *err, size_t errsz)
{
	int ilens[SQL_MAX_BINDS];

	*broken = false;
	for (size_t i = 0; i < n; i++)
		ilens[i] = (int)lens[i];
	PGresult *r = PQexecPrepared(c->pg, STMT, (int)n, vals, ilens, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		copy_error("query", r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg), err, errsz);
		*broken = PQstatus(c->pg) != CONNECTION_OK;
		PQclear(r);
		return -1;
	}
	struct sql_row sr = { .ncols = PQnfields(r) };
	if (sr.ncols < 1 || sr.ncols > SQL_MAX_COLS) {
		snprintf(err, errsz, "postgresql: the request returns %d columns (1 to %d)",
		    sr.ncols, SQL_MAX_COLS);
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < sr.ncols; i++)
		sr.name[i] = PQfname(r, i);
	for (int row = 0; row < PQntuples(r); row++) {
		for (int i = 0; i < sr.ncols; i++) {
			sr.val[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
			sr.len[i] = sr.val[i] ? (size_t)PQgetlength(r, row, i) : 0;
		}
		fn(arg, &sr);
	}
	PQclear(r);
	return 0;
}

static void
pg_close(struct sql_conn *c)
{
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

const struct sql_driver sql_driver_postgresql = {
	"postgresql", SQL_STYLE_DOLLAR, pg_global_init, pg_connect, pg_run, pg_close,
};
