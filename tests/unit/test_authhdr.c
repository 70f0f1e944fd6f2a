#include "testutil.h"

#include "sip/authhdr.h"

static bool
parse(const char *v, struct guard_proof *p, const char **why)
{
	static char scratch[1024];
	size_t used = 0;
	return sip_authhdr_parse(S(v), p, scratch, sizeof(scratch), &used, why);
}

static void
test_sipp_style(void **state)
{
	struct guard_proof p;
	const char *why;
	(void)state;
	assert_true(parse("Digest username=\"user3\",realm=\"example.org\",cnonce=\"643c9869\","
	    "nc=00000001,qop=auth,uri=\"sip:127.0.0.1:15060\",nonce=\"AAAA\","
	    "response=\"2d3e833e6a49b4f16d4f2df398534d0a\",algorithm=MD5", &p, &why));
	assert_slice_equal(p.username, "user3");
	assert_slice_equal(p.realm, "example.org");
	assert_slice_equal(p.nc, "00000001");
	assert_slice_equal(p.qop, "auth");
	assert_slice_equal(p.uri, "sip:127.0.0.1:15060");
	assert_slice_equal(p.algorithm, "MD5");
	assert_null(p.opaque.p);
}

static void
test_linphone_spacing_and_escapes(void **state)
{
	struct guard_proof p;
	const char *why;
	(void)state;
	/* linphonec: double spaces; RFC: escapes inside quoted strings; case. */
	assert_true(parse("Digest  realm=\"ex\\\"am\\\\ple\",  nonce=\"n\",  algorithm=SHA-256,"
	    "  USERNAME=\"a\",  uri=\"sip:x\",  response=\"r\" , cnonce=\"\"", &p, &why));
	assert_slice_equal(p.realm, "ex\"am\\ple");
	assert_slice_equal(p.username, "a");
	assert_non_null(p.cnonce.p);
	assert_int_equal(p.cnonce.n, 0);
	assert_true(parse("digest username=\"a\"", &p, &why));
}

static void
test_hostile(void **state)
{
	struct guard_proof p;
	const char *why;
	(void)state;
	assert_false(parse("Basic YWxhZGRpbjpvcGVuc2VzYW1l", &p, &why));
	assert_null(why); /* not ours: no error */
	static const char *const bad[] = {
		"Digest username=\"a",
		"Digest username=\"a\", username=\"b\"",
		"Digest =x",
		"Digest username",
		"Digest username=\"a\" realm=\"b\"",
		"Digest username=\"a\",,realm",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (parse(bad[i], &p, &why) || !why)
			fail_msg("accepted or no reason: %s", bad[i]);
	}
	char big[2000] = "Digest username=\"";
	memset(big + strlen(big), 'a', 600);
	strcat(big, "\"");
	assert_false(parse(big, &p, &why));
	assert_string_equal(why, "Digest parameter too long");
	/* Escapes that would overflow the scratch space are refused, not written. */
	static char tiny[4];
	size_t used = 0;
	assert_false(sip_authhdr_parse(S("Digest username=\"\\a\\b\\c\\d\\e\\f\""), &p, tiny,
	    sizeof(tiny), &used, &why));
	assert_string_equal(why, "Authorization header too large");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sipp_style),
		cmocka_unit_test(test_linphone_spacing_and_escapes),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
