#include "testutil.h"

#include "guard/nonce.h"

static void
test_roundtrip(void **state)
{
	struct nonce_ctx c;
	char n[NONCE_STR_LEN + 1], n2[NONCE_STR_LEN + 1];
	int64_t issued;
	uint64_t id;
	(void)state;

	assert_true(nonce_ctx_init(&c, NULL, 60, 1024));
	nonce_make(&c, 1000, S("example.org"), n);
	assert_int_equal(strlen(n), NONCE_STR_LEN);
	nonce_make(&c, 1000, S("example.org"), n2);
	assert_string_not_equal(n, n2); /* same second, still distinct */
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(n), &issued, &id), NONCE_OK);
	assert_int_equal(issued, 1000);
	assert_int_equal(nonce_check(&c, 1060, S("example.org"), S(n), &issued, &id), NONCE_OK);
	assert_int_equal(nonce_check(&c, 1061, S("example.org"), S(n), &issued, &id),
	    NONCE_EXPIRED);
	/* Bound to the realm. */
	assert_int_equal(nonce_check(&c, 1000, S("example.com"), S(n), &issued, &id),
	    NONCE_INVALID);
	/* Any flipped character breaks the tag (or the encoding). */
	for (size_t i = 0; i < NONCE_STR_LEN; i++) {
		char t[NONCE_STR_LEN + 1];
		memcpy(t, n, sizeof(t));
		t[i] = t[i] == 'A' ? 'B' : 'A';
		assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(t), &issued, &id),
		    NONCE_INVALID);
	}
	/* Issued in the future (beyond 5 s of skew): refused. */
	nonce_make(&c, 2000, S("example.org"), n);
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(n), &issued, &id),
	    NONCE_INVALID);
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S("short"), &issued, &id),
	    NONCE_INVALID);

	/* Another process key: not ours. */
	struct nonce_ctx other;
	assert_true(nonce_ctx_init(&other, NULL, 60, 64));
	nonce_make(&other, 1000, S("example.org"), n);
	assert_int_equal(nonce_check(&c, 1000, S("example.org"), S(n), &issued, &id),
	    NONCE_INVALID);
	nonce_ctx_free(&other);
	nonce_ctx_free(&c);
}

static void
test_nonce_count(void **state)
{
	struct nonce_ctx c;
	(void)state;

	assert_true(nonce_ctx_init(&c, NULL, 60, 64));
	assert_int_equal(nonce_use(&c, 100, 11, 100, 1, 0xaa), NC_OK);
	assert_int_equal(nonce_use(&c, 100, 11, 100, 1, 0xaa), NC_RETRANSMIT);
	assert_int_equal(nonce_use(&c, 100, 11, 100, 1, 0xbb), NC_REPLAY);
	assert_int_equal(nonce_use(&c, 100, 11, 100, 2, 0xbb), NC_OK);
	assert_int_equal(nonce_use(&c, 100, 11, 100, 2, 0xcc), NC_REPLAY);
	assert_int_equal(nonce_use(&c, 100, 11, 100, 1, 0xcc), NC_REPLAY);
	/* Without qop (count 0) a nonce is single-use. */
	assert_int_equal(nonce_use(&c, 100, 13, 100, 0, 0x1), NC_OK);
	assert_int_equal(nonce_use(&c, 100, 13, 100, 0, 0x2), NC_REPLAY);
	nonce_ctx_free(&c);
}

static void
test_bounded_memory_never_forgets_into_a_replay(void **state)
{
	struct nonce_ctx c;
	(void)state;

	/* 64 slots, 10000 live nonces: old entries are pushed out... */
	assert_true(nonce_ctx_init(&c, NULL, 3600, 64));
	assert_int_equal(c.nslots, 64);
	for (uint64_t i = 1; i <= 10000; i++)
		assert_int_not_equal(nonce_use(&c, 5000, i * 2654435761u, (int64_t)i, 1, i),
		    NC_REPLAY);
	/* ...and a replay of a pushed-out one is never accepted as new. */
	enum nc_status st = nonce_use(&c, 5000, 1 * 2654435761u, 1, 1, 1);
	assert_true(st == NC_FORGOTTEN || st == NC_RETRANSMIT);
	st = nonce_use(&c, 5000, 1 * 2654435761u, 1, 1, 999);
	assert_true(st == NC_FORGOTTEN || st == NC_REPLAY);
	nonce_ctx_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_nonce_count),
		cmocka_unit_test(test_bounded_memory_never_forgets_into_a_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
