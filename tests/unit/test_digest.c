/* ../shared/vectors/digest.txt (copied to tests/vectors): RFC 7616 3.9.1 and seed rows. */
#include "testutil.h"

#include "guard/digest.h"

static int
setup(void **state)
{
	(void)state;
	return digest_init() ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	digest_shutdown();
	return 0;
}

static void
test_vectors(void **state)
{
	FILE *f = fopen("tests/vectors/digest.txt", "r");
	char line[1024];
	int rows = 0;
	(void)state;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *fld[12], *p = line;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < 12; i++)
			fld[i] = strsep(&p, "|");
		assert_non_null(fld[11]);

		struct digest_alg alg;
		assert_true(digest_alg_parse(S(fld[0]), &alg));
		char ha1[DIGEST_MAX_HEX + 1], resp[DIGEST_MAX_HEX + 1];
		digest_ha1(alg.algo, S(fld[1]), S(fld[2]), S(fld[3]), ha1);
		assert_string_equal(ha1, fld[10]);
		struct digest_input in = {
			.alg = alg, .ha1 = S(ha1), .method = S(fld[4]), .uri = S(fld[5]),
			.nonce = S(fld[6]), .nc = S(fld[7]), .cnonce = S(fld[8]), .qop = S(fld[9]),
		};
		digest_response(&in, resp);
		assert_string_equal(resp, fld[11]);
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, 9);
}

static void
test_seed_a1(void **state)
{
	/* Seed 003: A1 = MD5(user1:example.org:secret). */
	char ha1[DIGEST_MAX_HEX + 1];
	(void)state;
	digest_ha1(DIGEST_MD5, S("user1"), S("example.org"), S("secret"), ha1);
	assert_string_equal(ha1, "d3e352aa5b45dd0c75e503ef317b3fe7");
}

static void
test_sess_and_auth_int(void **state)
{
	char ha1[DIGEST_MAX_HEX + 1], a[DIGEST_MAX_HEX + 1], b[DIGEST_MAX_HEX + 1];
	char sess_ha1[DIGEST_MAX_HEX + 1], hbody[DIGEST_MAX_HEX + 1], ha2[DIGEST_MAX_HEX + 1];
	(void)state;

	/* -sess: HA1' = H(HA1:nonce:cnonce), computed independently here. */
	digest_ha1(DIGEST_SHA256, S("u"), S("r"), S("p"), ha1);
	struct slice s3[3] = { S(ha1), S("n0nce"), S("c0nce") };
	digest_hash_joined(DIGEST_SHA256, s3, 3, sess_ha1);
	struct digest_input in = { .alg = { DIGEST_SHA256, true }, .ha1 = S(ha1),
		.nonce = S("n0nce"), .cnonce = S("c0nce"), .nc = S("00000001"), .qop = S("auth"),
		.method = S("REGISTER"), .uri = S("sip:r") };
	digest_response(&in, a);
	in.alg.sess = false;
	in.ha1 = S(sess_ha1);
	digest_response(&in, b);
	assert_string_equal(a, b);

	/* auth-int: HA2 = H(method:uri:H(body)). */
	struct slice body = S("v=0\r\n");
	digest_hash_joined(DIGEST_MD5, &body, 1, hbody);
	struct slice s2[3] = { S("INVITE"), S("sip:x"), S(hbody) };
	digest_hash_joined(DIGEST_MD5, s2, 3, ha2);
	digest_ha1(DIGEST_MD5, S("u"), S("r"), S("p"), ha1);
	struct slice s6[6] = { S(ha1), S("n"), S("00000001"), S("c"), S("auth-int"), S(ha2) };
	digest_hash_joined(DIGEST_MD5, s6, 6, b);
	struct digest_input ai = { .alg = { DIGEST_MD5, false }, .ha1 = S(ha1), .nonce = S("n"),
		.cnonce = S("c"), .nc = S("00000001"), .qop = S("auth-int"), .method = S("INVITE"),
		.uri = S("sip:x"), .body = body };
	digest_response(&ai, a);
	assert_string_equal(a, b);
}

static void
test_names(void **state)
{
	struct digest_alg a;
	(void)state;
	assert_true(digest_alg_parse(S("sha-512-256-SESS"), &a));
	assert_int_equal(a.algo, DIGEST_SHA512_256);
	assert_true(a.sess);
	assert_string_equal(digest_alg_name(a), "SHA-512-256-sess");
	assert_false(digest_alg_parse(S("SHA-1"), &a));
	assert_false(digest_alg_parse(S("MD5 "), &a));
	assert_int_equal(digest_hex_len(DIGEST_MD5), 32);
	assert_int_equal(digest_hex_len(DIGEST_SHA512_256), 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_seed_a1),
		cmocka_unit_test(test_sess_and_auth_int),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
