#include "testutil.h"

#include "core/atomicfile.h"
#include "store/store.h"
#include "store/userdb.h"

static struct userdb *
parse(const char *text, char *err, size_t errsz)
{
	return userdb_parse(text, strlen(text), "u.db", err, errsz);
}

static void
test_seed_vector(void **state)
{
	char *data, err[256];
	size_t n;
	(void)state;

	assert_int_equal(file_read_all("tests/vectors/userdb", 1 << 20, &data, &n, err,
	    sizeof(err)), 0);
	struct userdb *db = userdb_parse(data, n, "userdb", err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db->n, 3);
	const struct userdb_entry *e = userdb_find(db, S("user1"), S("example.org"));
	assert_non_null(e);
	assert_string_equal(e->clrtxt, "secret");
	e = userdb_find(db, S("user2"), S("EXAMPLE.org")); /* domains ignore case */
	assert_non_null(e);
	assert_true(e->has[DIGEST_MD5]);
	assert_false(e->has[DIGEST_SHA256]);
	assert_null(e->clrtxt);
	e = userdb_find(db, S("user3"), S("example.org"));
	assert_true(e->has[DIGEST_MD5] && e->has[DIGEST_SHA256] && !e->has[DIGEST_SHA512_256]);
	assert_string_equal(e->ha1[DIGEST_SHA256],
	    "658b71a22ff5a861a394c31e88b06f51a7e62a3aa54119edca9ad820adf68972");
	assert_null(userdb_find(db, S("USER1"), S("example.org"))); /* users do not */
	assert_null(userdb_find(db, S("user4"), S("example.org")));
	userdb_free(db);
	free(data);
}

static void
test_full_syntax(void **state)
{
	char err[256];
	(void)state;
	struct userdb *db = parse("\xef\xbb\xbf# leading comment\r\n"
	    "\n"
	    "version:1\r\n"
	    "  # indented comment\n"
	    "alice@example.org clrtxt:pass%20word%3Bx ;\n"
	    "bob%40home@example.org clrtxt:x ; bobauth +33123456\n"
	    "carol@example.org sha512-256:"
	    "8534EF6C76A5B42ADC740B270BD17A7C1F25EC4E1D5C0A2E4AFA33523AE5329B ;",
	    err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db->n, 3);
	const struct userdb_entry *e = userdb_find(db, S("alice"), S("example.org"));
	assert_string_equal(e->clrtxt, "pass word;x");
	e = userdb_find(db, S("bob@home"), S("example.org"));
	assert_non_null(e);
	assert_string_equal(e->userid, "bobauth");
	assert_string_equal(e->phone, "+33123456");
	e = userdb_find(db, S("carol"), S("example.org"));
	assert_string_equal(e->ha1[DIGEST_SHA512_256],
	    "8534ef6c76a5b42adc740b270bd17a7c1f25ec4e1d5c0a2e4afa33523ae5329b");
	assert_int_equal(e->line, 7);
	userdb_free(db);
}

static void
test_errors_name_file_line_column(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "a@b clrtxt:x ;\n", "u.db:1:1: expected 'version:1'" },
		{ "version:2\n", "u.db:1:9: unsupported userdb version" },
		{ "", "u.db:1:1: missing 'version:1'" },
		{ "version:1\nalice@example.org clrtxt:x\n", "u.db:2:27: missing ';'" },
		{ "version:1\nalice@example.org sha1:abc ;\n", "u.db:2:19: unknown algorithm 'sha1'" },
		{ "version:1\nalice@example.org md5:abc ;\n", "u.db:2:23: md5 needs 32 hex digits" },
		{ "version:1\nalice@example.org md5:zz3e352aa5b45dd0c75e503ef317b3fe7 ;\n",
		    "u.db:2:23: md5 needs 32 hex digits" },
		{ "version:1\nalice clrtxt:x ;\n", "u.db:2:1: expected user@domain" },
		{ "version:1\n@example.org clrtxt:x ;\n", "u.db:2:1: expected user@domain" },
		{ "version:1\nalice@example.org ;\n", "u.db:2:19: no password before ';'" },
		{ "version:1\nalice@example.org secret ;\n", "u.db:2:19: expected ALGORITHM:VALUE" },
		{ "version:1\nalice@example.org clrtxt:a%2 ;\n", "u.db:2:27: bad %-escape" },
		{ "version:1\nalice@example.org clrtxt:a%00b ;\n", "u.db:2:27: bad %-escape" },
		{ "version:1\nal%zzice@example.org clrtxt:x ;\n", "u.db:2:3: bad %-escape" },
		{ "version:1\na@example.org clrtxt:x clrtxt:y ;\n", "u.db:2:24: clrtxt given twice" },
		{ "version:1\na@example.org clrtxt:x ; id phone extra\n",
		    "u.db:2:35: unexpected text after the phone" },
		{ "version:1\na@example.org clrtxt:x ;\n\na@EXAMPLE.org clrtxt:y ;\n",
		    "u.db:4:1: a@EXAMPLE.org appears twice" },
		{ "version:1\na@exa mple.org clrtxt:x ;\n", "u.db:2:" },
		{ "version:1\na@example.org clrtxt:x ;\nb@example.org\0 clrtxt:y ;\n", "u.db:3:" },
	};
	char err[256];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			len = 10 + 25 + 26; /* the whole literal, NUL byte included */
		err[0] = '\0';
		struct userdb *db = userdb_parse(cases[i].text, len, "u.db", err, sizeof(err));
		if (db || strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, err, cases[i].err);
	}
	/* Over-long line. */
	char *big = malloc(20000);
	strcpy(big, "version:1\na@example.org clrtxt:");
	memset(big + strlen(big), 'x', 9000);
	strcpy(big + 31 + 9000, " ;\n");
	assert_null(parse(big, err, sizeof(err)));
	assert_non_null(strstr(err, "line longer than"));
	free(big);
}

static void
test_format_line_roundtrip(void **state)
{
	char line[1024], text[1200], err[256];
	(void)state;
	assert_true(userdb_format_line(S("user1"), S("example.org"), S("secret"), false, NULL,
	    NULL, line, sizeof(line)));
	/* The seed's A1 for user1. */
	assert_non_null(strstr(line, "md5:d3e352aa5b45dd0c75e503ef317b3fe7"));
	assert_non_null(strstr(line, "sha256:38574fe27c8eca7d0c805241fc47291fb2f8c761f895e2b2b2c93aba01b86cdf"));
	assert_non_null(strstr(line,
	    "sha512-256:8534ef6c76a5b42adc740b270bd17a7c1f25ec4e1d5c0a2e4afa33523ae5329b"));
	assert_null(strstr(line, "secret"));

	assert_true(userdb_format_line(S("we ird@x"), S("example.org"), S("p a;s#s%"), true,
	    "auth id", "Local", line, sizeof(line)));
	snprintf(text, sizeof(text), "version:1\n%s\n", line);
	struct userdb *db = parse(text, err, sizeof(err));
	assert_non_null(db);
	const struct userdb_entry *e = userdb_find(db, S("we ird@x"), S("example.org"));
	assert_non_null(e);
	assert_string_equal(e->clrtxt, "p a;s#s%");
	assert_string_equal(e->userid, "auth id");
	assert_string_equal(e->acl, "Local");
	userdb_free(db);
	assert_false(userdb_format_line(S("u"), S("example.org"), S("p"), true, NULL, NULL, line,
	    10));
}

static void
test_store_reload_keeps_good_copy(void **state)
{
	char dir[64], path[128], err[256];
	struct account a;
	(void)state;

	snprintf(path, sizeof(path), "%s/userdb", test_tmpdir(dir, sizeof(dir)));
	write_file(path, "version:1\nalice@example.org clrtxt:one ;\n");
	struct store *s = store_file_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_lookup(s, S("alice"), S("example.org"), &a), STORE_FOUND);
	assert_string_equal(a.clrtxt, "one");
	assert_string_equal(a.userid, "alice");

	/* A broken file: the previous accounts stay. */
	write_file(path, "version:1\nalice@example.org clrtxt:two\n");
	assert_int_equal(s->ops->refresh(s->impl, true), -1);
	assert_int_equal(store_lookup(s, S("alice"), S("example.org"), &a), STORE_FOUND);
	assert_string_equal(a.clrtxt, "one");

	write_file(path, "version:1\nalice@example.org clrtxt:three ;\nbob@example.org clrtxt:b ;\n");
	assert_int_equal(s->ops->refresh(s->impl, true), 0);
	assert_int_equal(store_lookup(s, S("alice"), S("example.org"), &a), STORE_FOUND);
	assert_string_equal(a.clrtxt, "three");
	assert_int_equal(s->ops->count(s->impl), 2);
	account_wipe(&a);
	store_free(s);

	write_file(path, "garbage\n");
	assert_null(store_file_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "userdb:1:1:"));
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_vector),
		cmocka_unit_test(test_full_syntax),
		cmocka_unit_test(test_errors_name_file_line_column),
		cmocka_unit_test(test_format_line_roundtrip),
		cmocka_unit_test(test_store_reload_keeps_good_copy),
	};
	if (!digest_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
