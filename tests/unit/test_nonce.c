#include "testutil.h"

#include "guard/nonce.h"

static void
test_roundtrip(void **state)
{
	struct nonce_ctx c;
	char n[NONCE_STR_LEN + 1], n2[NONCE_STR_LEN + 1];
	struct nonce_info ni;
	(void)state;

	assert_true(nonce_ctx_init(&c, NULL, 60, 1024));
	nonce_make(&c, 1000, S("example.org"), n);
	assert_int_equal(strlen(n), NONCE_STR_LEN);
	nonce_make(&c, 1000, S("example.org"), n2);
	assert_string_not_equal(n, n2); /* same second, still distinct */
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(n), &ni), NONCE_OK);
	assert_int_equal(ni.issued, 1000);
	assert_int_equal(nonce_check(&c, 1060, S("example.org"), S(n), &ni), NONCE_OK);
	assert_int_equal(nonce_check(&c, 1061, S("example.org"), S(n), &ni),
	    NONCE_EXPIRED);
	/* Bound to the realm. */
	assert_int_equal(nonce_check(&c, 1000, S("example.com"), S(n), &ni),
	    NONCE_INVALID);
	/* Any flipped character breaks the tag (or the encoding). */
	for (size_t i = 0; i < NONCE_STR_LEN; i++) {
		char t[NONCE_STR_LEN + 1];
		memcpy(t, n, sizeof(t));
		t[i] = t[i] == 'A' ? 'B' : 'A';
		assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(t), &ni),
		    NONCE_INVALID);
	}
	/* Issued in the future (beyond 5 s of skew): refused. */
	nonce_make(&c, 2000, S("example.org"), n);
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(n), &ni),
	    NONCE_INVALID);
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S("short"), &ni),
	    NONCE_INVALID);

	/* Another process key: not ours. */
	struct nonce_ctx other;
	assert_true(nonce_ctx_init(&other, NULL, 60, 64));
	nonce_make(&other, 1000, S("example.org"), n);
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(n), &ni),
	    NONCE_INVALID);
	nonce_ctx_free(&other);
	nonce_ctx_free(&c);
}

/* Two nodes with their own keys and one shared key: each accepts the
 * other's shared nonces (marked shared), never the other's own ones; with
 * the shared key off, new nonces are a node's own again while the shared
 * ones it made are still recognised (to be answered stale). */
static void
test_shared_key(void **state)
{
	struct nonce_ctx a, b;
	uint8_t key[NONCE_KEY_LEN];
	char n[NONCE_STR_LEN + 1], own[NONCE_STR_LEN + 1];
	struct nonce_info ni;
	(void)state;

	memset(key, 0x5a, sizeof(key));
	assert_true(nonce_ctx_init(&a, NULL, 60, 64));
	assert_true(nonce_ctx_init(&b, NULL, 60, 64));
	nonce_make(&a, 1000, S("example.org"), own);
	nonce_set_shared(&a, key);
	nonce_set_shared(&b, key);
	nonce_make(&a, 1000, S("example.org"), n);
	assert_int_equal(nonce_check(&b, 1000, S("example.org"), S(n), &ni), NONCE_OK);
	assert_true(ni.shared);
	assert_int_equal(nonce_check(&a, 1000, S("example.org"), S(n), &ni), NONCE_OK);
	assert_true(ni.shared);
	/* A's own nonce (made before the key came): A's alone, and not shared. */
	assert_int_equal(nonce_check(&a, 1000, S("example.org"), S(own), &ni), NONCE_OK);
	assert_false(ni.shared);
	assert_int_equal(nonce_check(&b, 1000, S("example.org"), S(own), &ni), NONCE_INVALID);
	/* Still realm-bound and still expiring. */
	assert_int_equal(nonce_check(&b, 1000, S("example.com"), S(n), &ni), NONCE_INVALID);
	assert_int_equal(nonce_check(&b, 1061, S("example.org"), S(n), &ni), NONCE_EXPIRED);
	/* The shared state goes away: A's new nonces are its own again. */
	nonce_set_shared(&a, NULL);
	nonce_make(&a, 1000, S("example.org"), own);
	assert_int_equal(nonce_check(&b, 1000, S("example.org"), S(own), &ni), NONCE_INVALID);
	assert_int_equal(nonce_check(&a, 1000, S("example.org"), S(own), &ni), NONCE_OK);
	assert_false(ni.shared);
	assert_int_equal(nonce_check(&a, 1000, S("example.org"), S(n), &ni), NONCE_OK);
	assert_true(ni.shared);
	/* A node that never had the key knows nothing of shared nonces. */
	struct nonce_ctx c;
	assert_true(nonce_ctx_init(&c, NULL, 60, 64));
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(n), &ni), NONCE_INVALID);
	nonce_ctx_free(&c);
	nonce_ctx_free(&a);
	nonce_ctx_free(&b);
}

static struct nonce_info
info(uint64_t id, uint64_t seq)
{
	return (struct nonce_info){ .issued = 100, .seq = seq, .id = id };
}

static void
test_nonce_count(void **state)
{
	struct nonce_ctx c;
	(void)state;

	assert_true(nonce_ctx_init(&c, NULL, 60, 64));
	struct nonce_info a = info(11, 1), b = info(13, 2);
	assert_int_equal(nonce_use(&c, 100, &a, 1, 0xaa), NC_OK);
	assert_int_equal(nonce_use(&c, 100, &a, 1, 0xaa), NC_RETRANSMIT);
	assert_int_equal(nonce_use(&c, 100, &a, 1, 0xbb), NC_REPLAY);
	assert_int_equal(nonce_use(&c, 100, &a, 2, 0xbb), NC_OK);
	assert_int_equal(nonce_use(&c, 100, &a, 2, 0xcc), NC_REPLAY);
	assert_int_equal(nonce_use(&c, 100, &a, 1, 0xcc), NC_REPLAY);
	/* Without qop (count 0) a nonce is single-use. */
	assert_int_equal(nonce_use(&c, 100, &b, 0, 0x1), NC_OK);
	assert_int_equal(nonce_use(&c, 100, &b, 0, 0x2), NC_REPLAY);
	nonce_ctx_free(&c);
}

static void
test_bounded_memory_never_forgets_into_a_replay(void **state)
{
	struct nonce_ctx c;
	(void)state;

	/*
	 * 64 slots, 10000 nonces all issued in the same second and each used
	 * right away (a burst): every first use is accepted...
	 */
	assert_true(nonce_ctx_init(&c, NULL, 3600, 64));
	assert_int_equal(c.nslots, 64);
	for (uint64_t i = 1; i <= 10000; i++) {
		struct nonce_info ni = info(i * 2654435761u, i);
		assert_int_equal(nonce_use(&c, 150, &ni, 1, i), NC_OK);
	}
	/* ...and a replay of a pushed-out one is never accepted as new. */
	struct nonce_info old = info(1 * 2654435761u, 1);
	assert_int_equal(nonce_use(&c, 150, &old, 1, 1), NC_FORGOTTEN);
	assert_int_equal(nonce_use(&c, 150, &old, 2, 999), NC_FORGOTTEN);
	/* Expired entries make room without forgetting anything. */
	struct nonce_info late = info(77777, 10001);
	assert_int_equal(nonce_use(&c, 100 + 3601, &late, 1, 1), NC_OK);
	nonce_ctx_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_shared_key),
		cmocka_unit_test(test_nonce_count),
		cmocka_unit_test(test_bounded_memory_never_forgets_into_a_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
