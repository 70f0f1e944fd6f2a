/* Apache htpasswd files: every line Apache's htpasswd and libxcrypt wrote
 * verifies with its password and nothing else; our hashes round-trip;
 * the files read as mod_authn_file and mod_authz_groupfile read them. */
#include "testutil.h"

#include "store/htpasswd.h"

/* tests/vectors/htpasswd.txt: format|password|user:hash */
static void
test_apache_vectors(void **state)
{
	char line[1024];
	int rows = 0, never = 0;
	FILE *f = fopen("tests/vectors/htpasswd.txt", "r");
	(void)state;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char *fmt = line, *pw = strchr(fmt, '|');
		assert_non_null(pw);
		*pw++ = '\0';
		char *rec = strchr(pw, '|');
		assert_non_null(rec);
		*rec++ = '\0';
		char *hash = strchr(rec, ':');
		assert_non_null(hash);
		hash++;
		bool must_fail = strcmp(fmt, "plaintext") == 0 || strcmp(fmt, "failure-token") == 0;
		if (must_fail) {
			never++;
			assert_false(htp_verify(hash, pw, strlen(pw)));
			assert_false(htp_usable(hash));
			/* Not even the stored text itself. */
			assert_false(htp_verify(hash, hash, strlen(hash)));
		} else {
			if (!htp_verify(hash, pw, strlen(pw)))
				fail_msg("%s line for '%s' does not verify", fmt, rec);
			assert_true(htp_usable(hash));
		}
		assert_false(htp_verify(hash, "wrong", 5));
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, 15);
	assert_int_equal(never, 2);
}

static void
test_hash_round_trip(void **state)
{
	static const enum htp_alg algs[] = { HTP_BCRYPT, HTP_APR1, HTP_SHA256, HTP_SHA512,
		HTP_SHA1, HTP_CRYPT };
	static const char *const prefix[] = { "$2y$05$", "$apr1$", "$5$", "$6$", "{SHA}", "" };
	char out[HTP_MAX_HASH], err[256];
	(void)state;

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		assert_true(htp_hash(algs[i], 5, 0, "Tr0ub4dor", 9, out, sizeof(out), err,
		    sizeof(err)));
		assert_memory_equal(out, prefix[i], strlen(prefix[i]));
		assert_true(htp_verify(out, "Tr0ub4dor", 9));
		assert_false(htp_verify(out, "Xr0ub4dor", 9));
		assert_true(htp_usable(out));
	}
	/* DES uses 8 characters, as Apache warns; everything else all of them. */
	assert_true(htp_hash(HTP_CRYPT, 0, 0, "12345678", 8, out, sizeof(out), err, sizeof(err)));
	assert_int_equal(strlen(out), 13);
	assert_true(htp_hash(HTP_SHA512, 0, 10000, "x", 1, out, sizeof(out), err, sizeof(err)));
	assert_memory_equal(out, "$6$rounds=10000$", 16);
	assert_true(htp_verify(out, "x", 1));
	/* Two salts: two different hashes. */
	char again[HTP_MAX_HASH];
	assert_true(htp_hash(HTP_APR1, 0, 0, "x", 1, again, sizeof(again), err, sizeof(err)));
	assert_true(htp_hash(HTP_APR1, 0, 0, "x", 1, out, sizeof(out), err, sizeof(err)));
	assert_string_not_equal(out, again);
	/* Failures are errors, never a hash. */
	assert_false(htp_hash(HTP_BCRYPT, 3, 0, "x", 1, out, sizeof(out), err, sizeof(err)));
	assert_non_null(strstr(err, "bcrypt"));
	assert_false(htp_hash(HTP_BCRYPT, 18, 0, "x", 1, out, sizeof(out), err, sizeof(err)));
	assert_false(htp_hash(HTP_APR1, 0, 0, "a\0b", 3, out, sizeof(out), err, sizeof(err)));
}

static void
test_verify_edges(void **state)
{
	char out[HTP_MAX_HASH], err[256];
	(void)state;

	assert_true(htp_hash(HTP_SHA256, 0, 0, "ab", 2, out, sizeof(out), err, sizeof(err)));
	/* A NUL inside the password does not cut it short to "a". */
	assert_false(htp_verify(out, "ab\0c", 4));
	assert_false(htp_verify("", "", 0));
	assert_false(htp_verify("*", "", 0));
	assert_false(htp_verify("!$6$x$y", "x", 1));
	assert_false(htp_verify("$apr1$", "", 0));
	assert_false(htp_verify("{SHA}short", "", 0));
	assert_string_equal(htp_kind("$2y$10$abc"), "bcrypt");
	assert_string_equal(htp_kind("plain"), "plain text (never verifies)");
	assert_string_equal(htp_kind("bsQntPGftQYkU"), "DES crypt");
}

static void
test_file(void **state)
{
	static const char text[] =
	    "# a comment\r\n"
	    "\n"
	    "alice:$apr1$wzqdc.cm$t51yJJl4/rkcDMRGbwZkR1\r\n"
	    "Alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
	    "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
	    "no colon here\n"
	    ":nobody\n"
	    "heidi:plain:text\n"
	    "last:$1$HguD2s/N$IVcLbcs2WXx1ku4zXUWwu0";
	char err[256];
	(void)state;

	struct htp_users *u = htp_parse(text, sizeof(text) - 1, "f", err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(u->n, 4);
	/* The first line wins, names are case-sensitive, CR is not part of the hash. */
	const struct htp_user *a = htp_find(u, S("alice"));
	assert_non_null(a);
	assert_true(htp_verify(a->hash, "S3cure!Pass", 11));
	assert_true(htp_verify(htp_find(u, S("Alice"))->hash, "password", 8));
	assert_null(htp_find(u, S("ALICE")));
	assert_null(htp_find(u, S("alic")));
	assert_non_null(htp_find(u, S("last")));
	/* heidi's "hash" is "plain:text": loaded (so the name is known), unusable, warned. */
	assert_false(htp_verify(htp_find(u, S("heidi"))->hash, "plain:text", 10));
	assert_int_equal(u->nwarn, 3);
	assert_non_null(strstr(u->warn[0], "f:6:"));
	assert_non_null(strstr(u->warn[1], "f:7:"));
	assert_non_null(strstr(u->warn[2], "heidi"));
	htp_free(u);
}

static void
test_groups(void **state)
{
	static const char text[] =
	    "# groups\n"
	    "admins: alice bob\n"
	    "ops:carol\n"
	    "admins:\tdave  \n"
	    "broken line\n";
	char err[256];
	(void)state;

	struct htp_groups *g = htp_groups_parse(text, sizeof(text) - 1, err, sizeof(err));
	assert_non_null(g);
	assert_int_equal(g->n, 2);
	assert_true(htp_in_group(g, "admins", S("alice")));
	assert_true(htp_in_group(g, "admins", S("dave")));
	assert_true(htp_in_group(g, "ops", S("carol")));
	assert_false(htp_in_group(g, "ops", S("alice")));
	assert_false(htp_in_group(g, "admins", S("Alice")));
	assert_false(htp_in_group(g, "nobody", S("alice")));
	htp_groups_free(g);
}

static void
test_load_and_change(void **state)
{
	char dir[64], path[128], err[256];
	(void)state;

	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/htpasswd", dir);
	assert_null(htp_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	write_file(path, "a:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n");
	struct htp_users *u = htp_load(path, err, sizeof(err));
	assert_non_null(u);
	assert_false(htp_changed(u, path));
	write_file(path, "a:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nb:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n");
	assert_true(htp_changed(u, path));
	htp_free(u);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apache_vectors),
		cmocka_unit_test(test_hash_round_trip),
		cmocka_unit_test(test_verify_edges),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_load_and_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
