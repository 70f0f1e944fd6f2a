/*
 * The SQL store: Flexisip's placeholders into each engine's (and what is
 * refused), SOCI connection strings, rows into accounts as Flexisip reads
 * them, and a real SQLite store through the event loop: PENDING, the ready
 * callback, the cache, SIGHUP, injection, a database that is not there.
 */
#include "testutil.h"

#include <event2/event.h>
#include <sqlite3.h>

#include "core/log.h"
#include "core/msglist.h"
#include "store/iaxusers.h"
#include "store/mgrusers.h"
#include "store/sql.h"

struct compile_row {
	const char *request;
	enum sql_style style;
	const char *want;	/* NULL: refused, and err contains werr */
	const char *werr;
	size_t nbinds;
};

static void
test_compile(void **state)
{
	(void)state;
	static const struct compile_row rows[] = {
		{ CONFIG_SQL_REQUEST, SQL_STYLE_DOLLAR,
		  "select password, 'MD5' from accounts where login = $1 and domain = $2", NULL, 2 },
		{ CONFIG_SQL_REQUEST, SQL_STYLE_QMARK,
		  "select password, 'MD5' from accounts where login = ? and domain = ?", NULL, 2 },
		{ CONFIG_SQL_REQUEST, SQL_STYLE_QNUM,
		  "select password, 'MD5' from accounts where login = ?1 and domain = ?2", NULL, 2 },
		/* A name used twice: one value in numbered styles, two binds with '?'. */
		{ "select p from a where login = :id or alias = :ID", SQL_STYLE_DOLLAR,
		  "select p from a where login = $1 or alias = $1", NULL, 1 },
		{ "select p from a where login = :id or alias = :id", SQL_STYLE_QMARK,
		  "select p from a where login = ? or alias = ?", NULL, 2 },
		/* Order of first use decides the numbers. */
		{ "select p from a where d = :domain and a = :authid and l = :id", SQL_STYLE_DOLLAR,
		  "select p from a where d = $1 and a = $2 and l = $3", NULL, 3 },
		/* Quotes, casts and comments are not placeholders. */
		{ "select ':id', p::text from a where l = :id -- :nope ?\n and \":x\" = 'a''b:id'",
		  SQL_STYLE_DOLLAR,
		  "select ':id', p::text from a where l = $1 -- :nope ?\n and \":x\" = 'a''b:id'", NULL, 1 },
		{ "select p from a where l = :id /* :domain ? */;  ", SQL_STYLE_QMARK,
		  "select p from a where l = ? /* :domain ? */", NULL, 1 },
		{ "select p from a where l = 'it\\'s :id' and m = :id", SQL_STYLE_QMARK,
		  "select p from a where l = 'it\\'s :id' and m = ?", NULL, 1 },
		/* Apache's %s is :id (mod_authn_dbd); inside quotes it is text. */
		{ "SELECT hash FROM w WHERE name = %s AND x <> '%s' OR alias = :id",
		  SQL_STYLE_DOLLAR,
		  "SELECT hash FROM w WHERE name = $1 AND x <> '%s' OR alias = $1", NULL, 1 },
		{ "SELECT hash FROM w WHERE name = %s", SQL_STYLE_QMARK,
		  "SELECT hash FROM w WHERE name = ?", NULL, 1 },
		/* Refused. */
		{ "select p from a where l = :id and d = ?", SQL_STYLE_QMARK, NULL,
		  "placeholder of the engine", 0 },
		{ "select p from a where l = :id and d = $1", SQL_STYLE_DOLLAR, NULL,
		  "placeholder of the engine", 0 },
		{ "select p from a where l = :id and d = @d", SQL_STYLE_QNUM, NULL,
		  "placeholder of the engine", 0 },
		{ "select p from a where l = :user", SQL_STYLE_DOLLAR, NULL,
		  "unknown placeholder :user", 0 },
		{ "select p from a where d = :domain", SQL_STYLE_DOLLAR, NULL, "must use :id", 0 },
		{ "select p from a where l = :id; drop table a", SQL_STYLE_DOLLAR, NULL,
		  "one statement only", 0 },
		{ "select p from a where l = ':id", SQL_STYLE_DOLLAR, NULL, "never closed", 0 },
		{ "select p from a where l = :id /* x", SQL_STYLE_DOLLAR, NULL, "never closed", 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sql_query q;
		char err[256] = "";
		int r = sql_compile(rows[i].request, rows[i].style, "[iax2] soci-password-request", &q,
		    err, sizeof(err));
		if (!rows[i].want) {
			if (r == 0)
				fail_msg("accepted: %s", rows[i].request);
			/* Every message names the key the request came from. */
			if (strncmp(err, "[iax2] soci-password-request: ", 30) != 0 ||
			    !strstr(err, rows[i].werr))
				fail_msg("%s: error '%s', want '%s'", rows[i].request, err, rows[i].werr);
			continue;
		}
		if (r != 0)
			fail_msg("refused: %s (%s)", rows[i].request, err);
		assert_string_equal(q.text, rows[i].want);
		assert_int_equal(q.nbinds, rows[i].nbinds);
	}
	/* The binds say which value goes where. */
	struct sql_query q;
	char err[256];
	assert_int_equal(sql_compile("select p from a where d = :domain and l = :id and a = :authid "
	    "or l = :id", SQL_STYLE_QMARK, "k", &q, err, sizeof(err)), 0);
	assert_int_equal(q.nbinds, 4);
	assert_int_equal(q.binds[0], SQL_P_DOMAIN);
	assert_int_equal(q.binds[1], SQL_P_ID);
	assert_int_equal(q.binds[2], SQL_P_AUTHID);
	assert_int_equal(q.binds[3], SQL_P_ID);
}

static void
test_conninfo(void **state)
{
	(void)state;
	const char *pos = "db=mydb user=user  password='pa ss' host=myhost.com";
	const char *want[][2] = { { "db", "mydb" }, { "user", "user" }, { "password", "pa ss" },
		{ "host", "myhost.com" } };
	char k[32], v[64], err[256];
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(sql_conninfo_next(&pos, k, sizeof(k), v, sizeof(v), err,
		    sizeof(err)), 1);
		assert_string_equal(k, want[i][0]);
		assert_string_equal(v, want[i][1]);
	}
	assert_int_equal(sql_conninfo_next(&pos, k, sizeof(k), v, sizeof(v), err, sizeof(err)), 0);

	const char *quoted[] = { "password='it''s'", "password='it\\'s'", "password = 'it''s' " };
	for (size_t i = 0; i < 3; i++) {
		pos = quoted[i];
		assert_int_equal(sql_conninfo_next(&pos, k, sizeof(k), v, sizeof(v), err,
		    sizeof(err)), 1);
		assert_string_equal(v, "it's");
	}
	const char *bad[] = { "=x", "key", "password='open", "k=0123456789012345678901234567890123456789012345678901234567890123456789" };
	for (size_t i = 0; i < 4; i++) {
		pos = bad[i];
		assert_int_equal(sql_conninfo_next(&pos, k, sizeof(k), v, sizeof(v), err,
		    sizeof(err)), -1);
		assert_true(strstr(err, "soci-connection-string") != NULL);
	}
}

static void
test_rows(void **state)
{
	(void)state;
	struct account a;
	const char *why;
	const char *md5 = "D3E352AA5B45DD0C75E503EF317B3FE7"; /* the seed's user1 A1, upper-case */

	memset(&a, 0, sizeof(a));
	assert_true(sql_row_to_account(md5, 32, "MD5", 3, true, &a, &why));
	assert_true(a.has_ha1[DIGEST_MD5]);
	assert_string_equal(a.ha1[DIGEST_MD5], "d3e352aa5b45dd0c75e503ef317b3fe7");
	/* One column: Flexisip takes it as an MD5 A1. */
	memset(&a, 0, sizeof(a));
	assert_true(sql_row_to_account(md5, 32, NULL, 0, false, &a, &why));
	assert_true(a.has_ha1[DIGEST_MD5]);
	memset(&a, 0, sizeof(a));
	assert_true(sql_row_to_account("secret", 6, "clrtxt", 6, true, &a, &why));
	assert_true(a.has_clrtxt);
	assert_string_equal(a.clrtxt, "secret");
	char sha[65];
	memset(sha, 'a', 64);
	sha[64] = '\0';
	assert_true(sql_row_to_account(sha, 64, "SHA-512-256", 11, true, &a, &why));
	assert_true(a.has_ha1[DIGEST_SHA512_256]);
	assert_true(a.has_clrtxt); /* rows add up */

	memset(&a, 0, sizeof(a));
	assert_false(sql_row_to_account(md5, 32, "SHA-256", 7, true, &a, &why));
	assert_non_null(strstr(why, "wrong length"));
	assert_false(sql_row_to_account("zz3e352aa5b45dd0c75e503ef317b3fe", 32, "MD5", 3, true, &a,
	    &why));
	assert_non_null(strstr(why, "hexadecimal"));
	assert_false(sql_row_to_account(md5, 32, "SHA1", 4, true, &a, &why));
	assert_non_null(strstr(why, "unknown algorithm"));
	assert_false(sql_row_to_account(NULL, 0, "MD5", 3, true, &a, &why));
	assert_false(sql_row_to_account(md5, 32, NULL, 0, true, &a, &why));
	assert_false(sql_row_to_account("", 0, "CLRTXT", 6, true, &a, &why));
	assert_false(sql_row_to_account("a\0b", 3, "CLRTXT", 6, true, &a, &why));
	assert_false(a.has_clrtxt || a.has_ha1[0] || a.has_ha1[1] || a.has_ha1[2]);
}

/* ---- a real SQLite store on the event loop ----------------------------- */

static int nready;
static struct event_base *base;

static void
on_ready(void *arg)
{
	(void)arg;
	nready++;
	event_base_loopbreak(base);
}

/* Asks until the answer is not PENDING (each PENDING must bring a ready). */
static enum store_result
ask(struct store *s, const char *user, struct account *a)
{
	enum store_result r;
	struct timeval five = { 5, 0 };
	while ((r = store_lookup(s, slice_cstr(user), S("example.org"), a)) == STORE_PENDING) {
		int before = nready;
		event_base_loopexit(base, &five);
		event_base_dispatch(base);
		if (nready == before)
			fail_msg("no answer for %s within 5 s", user);
	}
	return r;
}

static void
test_sqlite_store(void **state)
{
	(void)state;
	char dir[] = "/tmp/pbx-sql-XXXXXX", db[128], err[512];
	struct config c;
	struct account a;
	sqlite3 *h;

	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/accounts.db", dir);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
	    "CREATE TABLE accounts (login TEXT, domain TEXT, password TEXT, algorithm TEXT);"
	    "INSERT INTO accounts VALUES ('user1', 'example.org', "
	    "'d3e352aa5b45dd0c75e503ef317b3fe7', 'MD5');"
	    "INSERT INTO accounts VALUES ('user1', 'example.org', "
	    "'658b71a22ff5a861a394c31e88b06f51a7e62a3aa54119edca9ad820adf68972', 'SHA-256');"
	    "INSERT INTO accounts VALUES ('bob', 'example.org', 'hunter2-long', 'CLRTXT');"
	    "INSERT INTO accounts VALUES ('a b', 'example.org', 'spaced-out', 'CLRTXT');"
	    /* A request that returns many accounts' rows for one name. */
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9) "
	    "INSERT INTO accounts SELECT 'many', 'example.org', 'pw' || i, 'CLRTXT' FROM n;"
	    /* AMI users with their manager.conf keys as columns; web users' hashes. */
	    "CREATE TABLE ami (name TEXT, secret TEXT, readperm TEXT, writeperm TEXT, "
	    "deny TEXT);"
	    "INSERT INTO ami VALUES ('admin', 'ami-secret-long', 'system,call', 'call', NULL);"
	    "INSERT INTO ami VALUES ('crlf', 'ami-secret-long', 'system' || char(10) || "
	    "'write=all', 'call', NULL);"
	    "CREATE TABLE web (name TEXT, hash TEXT);"
	    "INSERT INTO web VALUES ('alice', '$2y$05$abcdefghijklmnopqrstuu5cOE1ArH/RTnyGfVp.LC2Yh5XIhzcTm');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	config_defaults(&c);
	snprintf(c.sql_backend, sizeof(c.sql_backend), "sqlite3");
	snprintf(c.sql_conninfo, sizeof(c.sql_conninfo), "db=%s", db);
	snprintf(c.sql_request, sizeof(c.sql_request),
	    "select password, algorithm from accounts where login = :id and domain = :domain");
	assert_non_null(base = event_base_new());
	struct store_sql_spec sip = { "soci-password-request", c.sql_request,
		STORE_ROWS_DIGEST, 0, "SIP requests get 503" };
	struct store *s = store_sql_open(&c, &sip, base, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	store_set_ready(s, on_ready, NULL);

	assert_int_equal(ask(s, "user1", &a), STORE_FOUND);
	assert_true(a.has_ha1[DIGEST_MD5] && a.has_ha1[DIGEST_SHA256] && !a.has_clrtxt);
	assert_string_equal(a.userid, "user1");
	int asked = nready;
	assert_int_equal(ask(s, "user1", &a), STORE_FOUND); /* cached: no query */
	assert_int_equal(nready, asked);
	assert_int_equal(ask(s, "bob", &a), STORE_FOUND);
	assert_string_equal(a.clrtxt, "hunter2-long");
	/* Names come decoded (the guard %XX-decodes the From user): taken as given. */
	assert_int_equal(ask(s, "a b", &a), STORE_FOUND);
	assert_int_equal(ask(s, "a%20b", &a), STORE_NOT_FOUND);
	assert_int_equal(ask(s, "nobody", &a), STORE_NOT_FOUND);
	assert_int_equal(ask(s, "many", &a), STORE_NOT_FOUND); /* 9 rows: refused, not mixed */
	assert_int_equal(ask(s, "x' or '1'='1", &a), STORE_NOT_FOUND);
	assert_int_equal(ask(s, "bob' --", &a), STORE_NOT_FOUND);
	assert_int_equal(store_lookup(s, (struct slice){ "bob\0", 4 }, S("example.org"), &a),
	    STORE_NOT_FOUND); /* a NUL byte is no name: not even asked */

	/* SIGHUP: the cache goes, the next lookup asks the database again. */
	s->ops->refresh(s->impl, true);
	assert_int_equal(store_lookup(s, S("user1"), S("example.org"), &a), STORE_PENDING);
	assert_int_equal(ask(s, "user1", &a), STORE_FOUND);
	account_wipe(&a);
	store_free(s);

	/* AMI's rows: the secret, then columns named as manager.conf's keys
	 * (NULL ones left out); a value holding a line break is refused, so a
	 * column cannot smuggle in another key. */
	struct store_sql_spec ami = { "[manager] soci-password-request",
		"select secret, 'CLRTXT', readperm as read, writeperm as write, deny "
		"from ami where name = :id", STORE_ROWS_SETTINGS, 1, "AMI" };
	assert_non_null(s = store_sql_open(&c, &ami, base, err, sizeof(err)));
	store_set_ready(s, on_ready, NULL);
	assert_int_equal(ask(s, "admin", &a), STORE_FOUND);
	assert_string_equal(a.clrtxt, "ami-secret-long");
	assert_string_equal(a.attrs, "read=system,call\nwrite=call\n");
	struct mgr_users *mu = mgr_users_from_account(S("admin"), &a, "sqlite3", &c, err,
	    sizeof(err));
	assert_non_null(mu);
	assert_string_equal(mu->u[0].secret, "ami-secret-long");
	assert_string_equal(mu->u[0].read, "system,call");
	assert_string_equal(mu->u[0].write, "call");
	mgr_users_free(mu);
	assert_int_equal(ask(s, "crlf", &a), STORE_NOT_FOUND);
	/* An IAX2 name off the wire and a column the database named: their
	 * warnings reach the log escaped, one line each. */
	struct account row = { .has_clrtxt = true };
	snprintf(row.clrtxt, sizeof(row.clrtxt), "s3cret-long-one");
	snprintf(row.attrs, sizeof(row.attrs), "nosuch\x1b[2J=1\n");
	struct iax_users *iu = iax_users_from_account(S("evil\nname"), &row, "sqlite3", &c,
	    err, sizeof(err));
	assert_non_null(iu);
	assert_int_equal(iu->nwarn, 1);
	char *logged = NULL;
	size_t nlogged = 0;
	FILE *ls = open_memstream(&logged, &nlogged);
	assert_non_null(ls);
	log_set_stream(ls);
	msglist_log("iax2", iu->warn, iu->nwarn);
	log_set_stream(stderr);
	fclose(ls);
	assert_non_null(strstr(logged, "evil\\x0aname"));
	assert_non_null(strstr(logged, "nosuch\\x1b[2J"));
	assert_null(strchr(logged, '\x1b'));
	assert_int_equal(strchr(logged, '\n') - logged, (long)nlogged - 1); /* one line */
	free(logged);
	iax_users_free(iu);
	store_free(s);

	/* The web's rows: Apache's AuthDBDUserPWQuery, %s the user. */
	struct store_sql_spec web = { "[http] AuthDBDUserPWQuery",
		"SELECT hash FROM web WHERE name = %s", STORE_ROWS_HASH, 1, "web" };
	assert_non_null(s = store_sql_open(&c, &web, base, err, sizeof(err)));
	store_set_ready(s, on_ready, NULL);
	assert_int_equal(ask(s, "alice", &a), STORE_FOUND);
	assert_true(a.has_hash && !a.has_clrtxt);
	assert_string_equal(a.hash, "$2y$05$abcdefghijklmnopqrstuu5cOE1ArH/RTnyGfVp.LC2Yh5XIhzcTm");
	assert_int_equal(ask(s, "bob", &a), STORE_NOT_FOUND);
	store_free(s);
	/* A wrong request names its own key. */
	web.request = "SELECT hash FROM web WHERE name = :who";
	assert_null(store_sql_open(&c, &web, base, err, sizeof(err)));
	assert_non_null(strstr(err, "[http] AuthDBDUserPWQuery: unknown placeholder :who"));

	/* A database that is not there: the store starts (the daemon must),
	 * and every answer is UNAVAILABLE — never FOUND, never NOT_FOUND. */
	snprintf(c.sql_conninfo, sizeof(c.sql_conninfo), "db=%s/missing.db", dir);
	assert_null(store_sql_open(&c, &sip, NULL, err, sizeof(err))); /* --check: an error */
	assert_non_null(strstr(err, "missing.db"));
	s = store_sql_open(&c, &sip, base, err, sizeof(err));
	assert_non_null(s);
	store_set_ready(s, on_ready, NULL);
	assert_int_equal(ask(s, "user1", &a), STORE_UNAVAILABLE);
	store_free(s);

	event_base_free(base);
	unlink(db);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_conninfo),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_sqlite_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
