/*
 * soci-backend = mysql (MySQL and MariaDB), with MariaDB Connector/C. The
 * connection string is SOCI's for MySQL: db, user, password, host, port,
 * unix_socket, sslca/sslcert/sslkey, charset, connect/read/write_timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>

#include "store/sql.h"

#define MY_VAL 320		/* column buffers: longer values are refused anyway */
#define MY_MAXCOLS SQL_MAX_COLS

struct sql_conn {
	MYSQL *my;
	MYSQL_STMT *st;
};

static bool
my_global_init(char *err, size_t errsz)
{
	/* Not thread-safe: once, before the workers start. */
	if (mysql_library_init(0, NULL, NULL) != 0) {
		snprintf(err, errsz, "mysql: cannot initialise the client library");
		return false;
	}
	return true;
}

struct my_opts {
	char db[256], user[256], pass[256], host[256], sock[512], charset[64];
	char ca[512], cert[512], key[512];
	unsigned port, ctimeout, rtimeout, wtimeout;
};

static bool
parse_uint(const char *key, const char *v, unsigned max, unsigned *out, char *err,
    size_t errsz)
{
	uint64_t n;
	if (!slice_to_u64(slice_cstr(v), 0, max, &n)) {
		snprintf(err, errsz, "soci-connection-string: %s: expected a number up to %u", key,
		    max);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

static bool
parse_opts(const char *conninfo, struct my_opts *o, char *err, size_t errsz)
{
	static const struct { const char *key; size_t off, sz; } strs[] = {
		{ "db", offsetof(struct my_opts, db), sizeof(o->db) },
		{ "dbname", offsetof(struct my_opts, db), sizeof(o->db) },
		{ "service", offsetof(struct my_opts, db), sizeof(o->db) },
		{ "user", offsetof(struct my_opts, user), sizeof(o->user) },
		{ "password", offsetof(struct my_opts, pass), sizeof(o->pass) },
		{ "pass", offsetof(struct my_opts, pass), sizeof(o->pass) },
		{ "host", offsetof(struct my_opts, host), sizeof(o->host) },
		{ "unix_socket", offsetof(struct my_opts, sock), sizeof(o->sock) },
		{ "charset", offsetof(struct my_opts, charset), sizeof(o->charset) },
		{ "sslca", offsetof(struct my_opts, ca), sizeof(o->ca) },
		{ "sslcert", offsetof(struct my_opts, cert), sizeof(o->cert) },
		{ "sslkey", offsetof(struct my_opts, key), sizeof(o->key) },
	};
	const char *pos = conninfo;
	char k[32], v[512];
	int r;

	memset(o, 0, sizeof(*o));
	o->ctimeout = 3;
	o->rtimeout = o->wtimeout = 5;
	while ((r = sql_conninfo_next(&pos, k, sizeof(k), v, sizeof(v), err, errsz)) > 0) {
		bool known = false;
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
			if (strcmp(k, strs[i].key) == 0) {
				if (strlen(v) >= strs[i].sz) {
					snprintf(err, errsz, "soci-connection-string: %s is too long", k);
					return false;
				}
				memcpy((char *)o + strs[i].off, v, strlen(v) + 1);
				known = true;
			}
		if (known)
			continue;
		if (strcmp(k, "port") == 0) {
			if (!parse_uint(k, v, 65535, &o->port, err, errsz))
				return false;
		} else if (strcmp(k, "connect_timeout") == 0) {
			if (!parse_uint(k, v, 3600, &o->ctimeout, err, errsz))
				return false;
		} else if (strcmp(k, "read_timeout") == 0) {
			if (!parse_uint(k, v, 3600, &o->rtimeout, err, errsz))
				return false;
		} else if (strcmp(k, "write_timeout") == 0) {
			if (!parse_uint(k, v, 3600, &o->wtimeout, err, errsz))
				return false;
		} else if (strcmp(k, "reconnect") != 0 && strcmp(k, "local_infile") != 0) {
			/* reconnect: we reconnect ourselves; local_infile: never wanted. */
			snprintf(err, errsz, "soci-connection-string: unknown key '%s' for mysql", k);
			return false;
		}
	}
	return r == 0;
}

static void
conn_error(struct sql_conn *c, const char *what, char *err, size_t errsz)
{
	snprintf(err, errsz, "mysql: %s: %s", what,
	    c->st && mysql_stmt_errno(c->st) ? mysql_stmt_error(c->st) : mysql_error(c->my));
}

static void
my_close(struct sql_conn *c)
{
	if (!c)
		return;
	if (c->st)
		mysql_stmt_close(c->st);
	if (c->my)
		mysql_close(c->my);
	free(c);
}

static struct sql_conn *
my_connect(const char *conninfo, const struct sql_query *q, char *err, size_t errsz)
{
	struct my_opts o;
	struct sql_conn *c;

	if (!parse_opts(conninfo, &o, err, errsz))
		return NULL;
	if (!(c = calloc(1, sizeof(*c))) || !(c->my = mysql_init(NULL))) {
		snprintf(err, errsz, "mysql: out of memory");
		free(c);
		return NULL;
	}
	mysql_optionsv(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &o.ctimeout);
	mysql_optionsv(c->my, MYSQL_OPT_READ_TIMEOUT, &o.rtimeout);
	mysql_optionsv(c->my, MYSQL_OPT_WRITE_TIMEOUT, &o.wtimeout);
	mysql_optionsv(c->my, MYSQL_SET_CHARSET_NAME, o.charset[0] ? o.charset : "utf8mb4");
	if (o.ca[0] || o.cert[0] || o.key[0])
		mysql_ssl_set(c->my, o.key[0] ? o.key : NULL, o.cert[0] ? o.cert : NULL,
		    o.ca[0] ? o.ca : NULL, NULL, NULL);
	if (!mysql_real_connect(c->my, o.host[0] ? o.host : NULL, o.user[0] ? o.user : NULL,
	    o.pass[0] ? o.pass : NULL, o.db[0] ? o.db : NULL, o.port, o.sock[0] ? o.sock : NULL,
	    0)) {
		conn_error(c, "cannot connect", err, errsz);
		goto bad;
	}
	if (!(c->st = mysql_stmt_init(c->my)) ||
	    mysql_stmt_prepare(c->st, q->text, strlen(q->text)) != 0) {
		conn_error(c, "soci-password-request", err, errsz);
		goto bad;
	}
	if (mysql_stmt_param_count(c->st) != q->nbinds) {
		snprintf(err, errsz, "mysql: soci-password-request: the server counts %lu "
		    "placeholders, not %zu", mysql_stmt_param_count(c->st), q->nbinds);
		goto bad;
	}
	return c;
bad:
	my_close(c);
	return NULL;
}

static bool
lost(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	    e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED || e == CR_COMMANDS_OUT_OF_SYNC;
}

static int
my_run(struct sql_conn *c, const char *const *vals, const size_t *lens, size_t n,
    sql_row_fn fn, void *arg, bool *broken, char *err, size_t errsz)
{
	MYSQL_BIND in[SQL_MAX_BINDS], out[MY_MAXCOLS];
	unsigned long inlen[SQL_MAX_BINDS], outlen[MY_MAXCOLS];
	my_bool isnull[MY_MAXCOLS];
	char buf[MY_MAXCOLS][MY_VAL];
	int rc = -1;

	*broken = false;
	memset(in, 0, sizeof(in));
	for (size_t i = 0; i < n; i++) {
		inlen[i] = (unsigned long)lens[i];
		in[i].buffer_type = MYSQL_TYPE_STRING;
		in[i].buffer = (void *)vals[i];
		in[i].buffer_length = inlen[i];
		in[i].length = &inlen[i];
	}
	if (mysql_stmt_bind_param(c->st, in) != 0 || mysql_stmt_execute(c->st) != 0)
		goto fail;
	unsigned ncols = mysql_stmt_field_count(c->st);
	if (ncols == 0 || ncols > MY_MAXCOLS) {
		snprintf(err, errsz, "mysql: the request returns %u columns (1 to %d)", ncols,
		    MY_MAXCOLS);
		mysql_stmt_free_result(c->st);
		mysql_stmt_reset(c->st);
		return -1;
	}
	/* The columns' names, for the AMI and IAX2 keys after the first two. */
	const char *names[MY_MAXCOLS] = { NULL };
	MYSQL_RES *meta = mysql_stmt_result_metadata(c->st);
	char namebuf[MY_MAXCOLS][48];
	for (unsigned i = 0; meta && i < ncols; i++) {
		MYSQL_FIELD *fl = mysql_fetch_field_direct(meta, i);
		if (fl && fl->name && strlen(fl->name) < sizeof(namebuf[i])) {
			snprintf(namebuf[i], sizeof(namebuf[i]), "%s", fl->name);
			names[i] = namebuf[i];
		}
	}
	if (meta)
		mysql_free_result(meta);
	memset(out, 0, sizeof(out));
	for (unsigned i = 0; i < ncols; i++) {
		out[i].buffer_type = MYSQL_TYPE_STRING;
		out[i].buffer = buf[i];
		out[i].buffer_length = MY_VAL;
		out[i].length = &outlen[i];
		out[i].is_null = &isnull[i];
	}
	if (mysql_stmt_bind_result(c->st, out) != 0 || mysql_stmt_store_result(c->st) != 0)
		goto fail;
	for (;;) {
		int f = mysql_stmt_fetch(c->st);
		if (f == MYSQL_NO_DATA)
			break;
		if (f == 1)
			goto fail;
		/* MYSQL_DATA_TRUNCATED: the lengths say more than the buffers hold;
		 * passing the buffer's length is enough for the row to be refused. */
		struct sql_row sr = { .ncols = (int)ncols };
		for (unsigned i = 0; i < ncols; i++) {
			sr.val[i] = isnull[i] ? NULL : buf[i];
			sr.len[i] = outlen[i] < MY_VAL ? outlen[i] : MY_VAL;
			sr.truncated |= !isnull[i] && outlen[i] >= MY_VAL;
			sr.name[i] = names[i];
		}
		fn(arg, &sr);
	}
	rc = 0;
	goto done;
fail:
	conn_error(c, "query", err, errsz);
	*broken = lost(mysql_stmt_errno(c->st)) || lost(mysql_errno(c->my));
done:
	mysql_stmt_free_result(c->st);
	mysql_stmt_reset(c->st);
	return rc;
}

const struct sql_driver sql_driver_mysql = {
	"mysql", SQL_STYLE_QMARK, my_global_init, my_connect, my_run, my_close,
};
