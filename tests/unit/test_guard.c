#include "testutil.h"

#include "guard/guard.h"

static struct config cfg;
static struct store *st;
static struct guard *g;

static int
setup(void **state)
{
	char err[256];
	(void)state;
	if (!digest_init())
		return -1;
	test_config_example_org(&cfg);
	cfg.algos[0] = (struct digest_alg){ DIGEST_SHA256, false };
	cfg.algos[1] = (struct digest_alg){ DIGEST_MD5, false };
	cfg.n_algos = 2;
	st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	g = guard_new(&cfg, st);
	return g ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	guard_free(g);
	store_free(st);
	config_free(&cfg);
	digest_shutdown();
	return 0;
}

/* Asks for a challenge, then answers it with password pw using algorithm alg. */
static void
answer(const char *user, const char *pw, struct digest_alg alg, const char *nc,
    struct guard_verdict *v, char *nonce_out)
{
	struct guard_auth_request rq = { .user = S(user), .domain = S("example.org"),
		.method = S("REGISTER"), .now = 1000000 };
	guard_authenticate(g, &rq, v);
	assert_int_equal(v->outcome, GUARD_CHALLENGE);
	strcpy(nonce_out, v->ch.nonce);

	char ha1[DIGEST_MAX_HEX + 1], resp[DIGEST_MAX_HEX + 1];
	digest_ha1(alg.algo, S(user), S("example.org"), S(pw), ha1);
	struct digest_input in = { .alg = alg, .ha1 = S(ha1), .nonce = S(nonce_out),
		.cnonce = S("c1"), .nc = S(nc), .qop = S("auth"), .method = S("REGISTER"),
		.uri = S("sip:example.org") };
	digest_response(&in, resp);
	static char keep[DIGEST_MAX_HEX + 1];
	strcpy(keep, resp);
	static struct guard_proof p;
	p = (struct guard_proof){ .username = S(user), .realm = S("example.org"),
		.nonce = S(nonce_out), .uri = S("sip:example.org"), .response = S(keep),
		.algorithm = S(digest_alg_name(alg)), .cnonce = S("c1"), .nc = S(nc),
		.qop = S("auth") };
	rq.proofs = &p;
	rq.nproofs = 1;
	rq.reqhash = 42;
	guard_authenticate(g, &rq, v);
}

static void
test_challenge_follows_stored_hashes(void **state)
{
	struct guard_verdict v;
	struct guard_auth_request rq = { .domain = S("example.org"), .method = S("REGISTER"),
		.now = 1000000 };
	(void)state;
	rq.user = S("user1"); /* clear text: every configured algorithm, in order */
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
	assert_int_equal(v.ch.nalgs, 2);
	assert_int_equal(v.ch.algs[0].algo, DIGEST_SHA256);
	assert_string_equal(v.ch.realm, "example.org");
	assert_true(v.ch.qop);
	assert_false(v.ch.stale);
	assert_false(v.has_event); /* a first challenge is not a failure */
	rq.user = S("user2"); /* MD5 A1 only: MD5 only */
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.ch.nalgs, 1);
	assert_int_equal(v.ch.algs[0].algo, DIGEST_MD5);
	rq.user = S("nobody"); /* unknown: same as a clear-text account */
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
	assert_int_equal(v.ch.nalgs, 2);
	assert_int_equal(strlen(v.ch.nonce), NONCE_STR_LEN);
	rq.domain = S("Example.ORG"); /* the realm is the lower-cased domain */
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
	assert_string_equal(v.ch.realm, "example.org");
	rq.domain = S("evil.org");
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_DOMAIN_REFUSED);
}

static void
test_all_seed_users_authenticate(void **state)
{
	struct guard_verdict v;
	char nonce[64];
	(void)state;
	answer("user1", "secret", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v, nonce);
	assert_int_equal(v.outcome, GUARD_OK);
	assert_int_equal(v.event, SECEVENT_SUCCESSFUL_AUTH);
	answer("user1", "secret", (struct digest_alg){ DIGEST_SHA256, false }, "00000001", &v,
	    nonce);
	assert_int_equal(v.outcome, GUARD_OK);
	answer("user2", "secret", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v, nonce);
	assert_int_equal(v.outcome, GUARD_OK);
	answer("user3", "secret", (struct digest_alg){ DIGEST_SHA256, false }, "00000001", &v,
	    nonce);
	assert_int_equal(v.outcome, GUARD_OK);
	answer("user3", "secret", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v, nonce);
	assert_int_equal(v.outcome, GUARD_OK);
}

static void
test_failures(void **state)
{
	struct guard_verdict v;
	char nonce[64];
	(void)state;
	answer("user1", "wrong", (struct digest_alg){ DIGEST_SHA256, false }, "00000001", &v,
	    nonce);
	assert_int_equal(v.outcome, GUARD_FORBIDDEN);
	assert_int_equal(v.event, SECEVENT_CHALLENGE_RESPONSE_FAILED);
	answer("nobody", "secret", (struct digest_alg){ DIGEST_SHA256, false }, "00000001", &v,
	    nonce);
	assert_int_equal(v.outcome, GUARD_FORBIDDEN);
	assert_int_equal(v.event, SECEVENT_INVALID_ACCOUNT_ID);
	/* user2 has no SHA-256 A1: a SHA-256 answer was never offered. */
	answer("user2", "secret", (struct digest_alg){ DIGEST_SHA256, false }, "00000001", &v,
	    nonce);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
}

static void
test_replay_and_stale(void **state)
{
	struct guard_verdict v;
	char nonce[64];
	(void)state;
	answer("user1", "secret", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v, nonce);
	assert_int_equal(v.outcome, GUARD_OK);

	/* Same nonce, same nc, another request: a replay -> fresh stale challenge. */
	char ha1[DIGEST_MAX_HEX + 1], resp[DIGEST_MAX_HEX + 1];
	digest_ha1(DIGEST_MD5, S("user1"), S("example.org"), S("secret"), ha1);
	struct digest_input in = { .alg = { DIGEST_MD5, false }, .ha1 = S(ha1), .nonce = S(nonce),
		.cnonce = S("c1"), .nc = S("00000001"), .qop = S("auth"), .method = S("REGISTER"),
		.uri = S("sip:example.org") };
	digest_response(&in, resp);
	struct guard_proof p = { .username = S("user1"), .realm = S("example.org"),
		.nonce = S(nonce), .uri = S("sip:example.org"), .response = S(resp),
		.cnonce = S("c1"), .nc = S("00000001"), .qop = S("auth") };
	struct guard_auth_request rq = { .user = S("user1"), .domain = S("example.org"),
		.method = S("REGISTER"), .now = 1000000, .proofs = &p, .nproofs = 1,
		.reqhash = 42 };
	guard_authenticate(g, &rq, &v); /* the retransmission: accepted again */
	assert_int_equal(v.outcome, GUARD_OK);
	assert_false(v.has_event);
	rq.reqhash = 43;
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
	assert_true(v.ch.stale);
	/* Next nc: fine. */
	in.nc = S("00000002");
	digest_response(&in, resp);
	p.nc = S("00000002");
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_OK);
	/* An hour and a bit later, the same right answer is stale, not wrong. */
	in.nc = S("00000003");
	digest_response(&in, resp);
	p.nc = S("00000003");
	rq.now += cfg.nonce_expires + 1;
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
	assert_true(v.ch.stale);
	/* ...and a wrong answer on an expired nonce is a failure, not stale. */
	resp[0] = resp[0] == 'a' ? 'b' : 'a';
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_FORBIDDEN);
}

/* What the shared state answers for a shared nonce's count (a stand-in for
 * Redis: the cluster's own test is t250). */
static enum nc_status share_answer;
static unsigned share_asked;

static enum nc_status
share_use(void *arg, const struct nonce_info *ni, uint32_t nc, uint64_t reqhash, time_t now)
{
	(void)arg;
	(void)nc;
	(void)reqhash;
	(void)now;
	assert_true(ni->shared);
	share_asked++;
	return share_answer;
}

/* With a shared key, the count of a nonce is the shared state's to say: a
 * right answer waits (PENDING), is then let in, or asked to use a new nonce
 * when the count was taken or the state is away; a wrong password is
 * refused at once, without asking. */
static void
test_shared_nonce_counts(void **state)
{
	struct guard_verdict v;
	char nonce[64];
	uint8_t key[NONCE_KEY_LEN];
	struct guard_nonce_share ops = { NULL, share_use };
	(void)state;

	memset(key, 7, sizeof(key));
	guard_share_nonces(g, key, &ops);
	const struct { enum nc_status answer; enum guard_outcome want; bool stale; } t[] = {
		{ NC_PENDING, GUARD_PENDING, false },
		{ NC_OK, GUARD_OK, false },
		{ NC_RETRANSMIT, GUARD_OK, false },
		{ NC_REPLAY, GUARD_CHALLENGE, true },
		{ NC_UNAVAILABLE, GUARD_CHALLENGE, true },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		share_answer = t[i].answer;
		share_asked = 0;
		answer("user1", "secret", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v,
		    nonce);
		assert_int_equal(share_asked, 1);
		assert_int_equal(v.outcome, t[i].want);
		if (t[i].want == GUARD_CHALLENGE)
			assert_int_equal(v.ch.stale, t[i].stale);
	}
	share_asked = 0;
	answer("user1", "wrong", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v, nonce);
	assert_int_equal(v.outcome, GUARD_FORBIDDEN);
	assert_int_equal(share_asked, 0);
	/* The state goes away: new nonces are this node's own, counted here. */
	guard_share_nonces(g, NULL, NULL);
	answer("user1", "secret", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v, nonce);
	assert_int_equal(v.outcome, GUARD_OK);
	assert_int_equal(share_asked, 0);
}

static void
test_strongest_is_verified_no_fallback(void **state)
{
	struct guard_verdict v;
	char nonce[64];
	(void)state;
	/* A right MD5 answer next to a wrong SHA-256 answer must fail. */
	answer("user1", "secret", (struct digest_alg){ DIGEST_MD5, false }, "00000001", &v, nonce);
	struct guard_auth_request rq = { .user = S("user1"), .domain = S("example.org"),
		.method = S("REGISTER"), .now = 1000000 };
	guard_authenticate(g, &rq, &v);
	char n2[64];
	strcpy(n2, v.ch.nonce);
	char ha1[DIGEST_MAX_HEX + 1], good[DIGEST_MAX_HEX + 1];
	digest_ha1(DIGEST_MD5, S("user1"), S("example.org"), S("secret"), ha1);
	struct digest_input in = { .alg = { DIGEST_MD5, false }, .ha1 = S(ha1), .nonce = S(n2),
		.cnonce = S("c"), .nc = S("00000001"), .qop = S("auth"), .method = S("REGISTER"),
		.uri = S("sip:example.org") };
	digest_response(&in, good);
	struct guard_proof p[2] = {
		{ .username = S("user1"), .realm = S("example.org"), .nonce = S(n2),
		  .uri = S("sip:example.org"), .response = S(good), .algorithm = S("MD5"),
		  .cnonce = S("c"), .nc = S("00000001"), .qop = S("auth") },
		{ .username = S("user1"), .realm = S("example.org"), .nonce = S(n2),
		  .uri = S("sip:example.org"),
		  .response = S("0000000000000000000000000000000000000000000000000000000000000000"),
		  .algorithm = S("SHA-256"), .cnonce = S("c"), .nc = S("00000001"),
		  .qop = S("auth") },
	};
	rq.proofs = p;
	rq.nproofs = 2;
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_FORBIDDEN);
	/* Alone, the MD5 answer passes. */
	rq.nproofs = 1;
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_OK);
	/* A credential for another realm is ignored: challenge. */
	p[0].realm = S("other.org");
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
	/* Malformed: qop without nc. */
	p[0].realm = S("example.org");
	p[0].nc = SLICE_NULL;
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_BAD_REQUEST);
	assert_int_equal(v.event, SECEVENT_REQUEST_BAD_FORMAT);
}

static void
test_malformed_is_a_verdict_like_any_other(void **state)
{
	struct guard_verdict v;
	(void)state;
	guard_malformed(g, S("bob"), S("INVITE"), "bad CSeq", &v);
	assert_int_equal(v.outcome, GUARD_BAD_REQUEST);
	assert_true(v.has_event);
	assert_int_equal(v.event, SECEVENT_REQUEST_BAD_FORMAT);
	assert_slice_equal(v.account, "bob");
	assert_slice_equal(v.request_type, "INVITE");
	assert_string_equal(v.reason, "bad CSeq");
}

static void
test_domain_patterns(void **state)
{
	(void)state;
	char *saved = cfg.auth_domains[0];
	cfg.auth_domains[0] = "*.example.org";
	assert_true(guard_domain_allowed(g, S("sip.example.org")));
	assert_true(guard_domain_allowed(g, S("SIP.Example.ORG")));
	assert_false(guard_domain_allowed(g, S("example.org")));
	assert_false(guard_domain_allowed(g, S("evilexample.org")));
	cfg.auth_domains[0] = "*";
	assert_true(guard_domain_allowed(g, S("anything")));
	cfg.n_auth_domains = 0;
	assert_false(guard_domain_allowed(g, S("example.org")));
	cfg.n_auth_domains = 1;
	cfg.auth_domains[0] = saved;
}

/* The From user is %XX-decoded before any store is asked (RFC 3261
 * 19.1.4); a bad escape or %00 names nobody. */
static void
test_from_user_unescaped(void **state)
{
	(void)state;
	assert_true(guard_account_known(g, S("user1"), S("example.org")));
	assert_true(guard_account_known(g, S("%75ser1"), S("example.org")));
	assert_true(guard_account_known(g, S("user%31"), S("example.org")));
	assert_false(guard_account_known(g, S("user%00"), S("example.org")));
	assert_false(guard_account_known(g, S("user%3"), S("example.org")));
	assert_false(guard_account_known(g, S("user%zz1"), S("example.org")));
	/* user2 stores an MD5 A1 only: its challenge, asked as %75ser2, offers MD5 only. */
	struct guard_verdict v;
	struct guard_auth_request rq = { .user = S("%75ser2"), .domain = S("example.org"),
		.method = S("REGISTER"), .now = 1000000 };
	guard_authenticate(g, &rq, &v);
	assert_int_equal(v.outcome, GUARD_CHALLENGE);
	assert_int_equal(v.ch.nalgs, 1);
	assert_int_equal(v.ch.algs[0].algo, DIGEST_MD5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_follows_stored_hashes),
		cmocka_unit_test(test_all_seed_users_authenticate),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_replay_and_stale),
		cmocka_unit_test(test_shared_nonce_counts),
		cmocka_unit_test(test_strongest_is_verified_no_fallback),
		cmocka_unit_test(test_malformed_is_a_verdict_like_any_other),
		cmocka_unit_test(test_domain_patterns),
		cmocka_unit_test(test_from_user_unescaped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
