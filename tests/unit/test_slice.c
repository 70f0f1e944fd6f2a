#include "testutil.h"

#include "core/log.h"

static void
test_u64_ranges(void **state)
{
	uint64_t v = 7;
	(void)state;
	assert_true(slice_to_u64(S("0"), 0, 10, &v) && v == 0);
	assert_true(slice_to_u64(S("65535"), 1, 65535, &v) && v == 65535);
	assert_false(slice_to_u64(S("65536"), 1, 65535, &v));
	assert_false(slice_to_u64(S(""), 0, 10, &v));
	assert_false(slice_to_u64(S("-1"), 0, 10, &v));
	assert_false(slice_to_u64(S("+1"), 0, 10, &v));
	assert_false(slice_to_u64(S(" 1"), 0, 10, &v));
	assert_false(slice_to_u64(S("1x"), 0, 10, &v));
	assert_false(slice_to_u64(S("18446744073709551616"), 0, UINT64_MAX, &v));
	assert_true(slice_to_u64(S("18446744073709551615"), 0, UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	assert_true(slice_hex_to_u64(S("0000000A"), UINT32_MAX, &v) && v == 10);
	assert_false(slice_hex_to_u64(S("1ffffffff"), UINT32_MAX, &v));
	assert_false(slice_hex_to_u64(S("0g"), UINT32_MAX, &v));
}

static void
test_cut_trim(void **state)
{
	struct slice rest, head;
	(void)state;
	head = slice_cut(S("a=b=c"), '=', &rest);
	assert_slice_equal(head, "a");
	assert_slice_equal(rest, "b=c");
	head = slice_cut(S("abc"), '=', &rest);
	assert_slice_equal(head, "abc");
	assert_int_equal(rest.n, 0);
	assert_slice_equal(slice_trim(S(" \t\r\n x y \r\n")), "x y");
	assert_int_equal(slice_trim(S("   ")).n, 0);
	assert_true(slice_caseeq(S("Call-ID"), S("call-id")));
	assert_false(slice_caseeq(S("Call-ID"), S("call-i")));
	assert_slice_equal(slice_sub(S("abc"), 2, 99), "c");
	/* Total on the empty NULL slice (a missing header): no UB, empty results. */
	assert_null(slice_sub(SLICE_NULL, 0, 0).p);
	head = slice_cut(SLICE_NULL, ';', &rest);
	assert_int_equal(head.n + rest.n, 0);
	assert_int_equal(slice_trim(SLICE_NULL).n, 0);
	assert_int_equal(slice_sub(S("abc"), 9, 1).n, 0);
}

static void
test_ct_hex(void **state)
{
	(void)state;
	assert_true(ct_hex_equal(S("abcdef0123"), S("ABCDEF0123")));
	assert_false(ct_hex_equal(S("abcdef0123"), S("abcdef0124")));
	assert_false(ct_hex_equal(S("abcdef0123"), S("abcdef012")));
	assert_true(ct_equal("x", 1, "x", 1));
	assert_false(ct_equal("x", 1, "xy", 2));
	uint8_t b[3];
	assert_true(hex_decode(S("0aFf10"), b, 3));
	assert_int_equal(b[1], 0xff);
	assert_false(hex_decode(S("0aFf1"), b, 3));
	char h[7];
	hex_encode(b, 3, h);
	assert_string_equal(h, "0aff10");
}

static void
test_lower_hex_hash(void **state)
{
	char buf[8];
	(void)state;
	assert_true(slice_copy_lower(S("ExAmPle"), buf, sizeof(buf)));
	assert_string_equal(buf, "example");
	assert_false(slice_copy_lower(S("example"), buf, 7));
	assert_int_equal(hex_digit('F'), 15);
	assert_int_equal(hex_digit('g'), -1);
	assert_true(slice_is_hex(S("00aF")));
	assert_false(slice_is_hex(S("")));
	assert_false(slice_is_hex(S("0x1")));
	uint64_t a = slice_hash(SLICE_HASH_INIT(7), S("Example.ORG"), true);
	assert_true(a == slice_hash(SLICE_HASH_INIT(7), S("example.org"), true));
	assert_true(a != slice_hash(SLICE_HASH_INIT(7), S("Example.ORG"), false));
	assert_true(a != slice_hash(SLICE_HASH_INIT(8), S("example.org"), true));
	/* Chaining equals hashing the concatenation. */
	assert_true(slice_hash(slice_hash(SLICE_HASH_INIT(1), S("ab"), false), S("cd"), false) ==
	    slice_hash(SLICE_HASH_INIT(1), S("abcd"), false));
}

static void
test_log_escape(void **state)
{
	char buf[64];
	(void)state;
	assert_string_equal(log_escape(S("bob"), buf, sizeof(buf)), "bob");
	assert_string_equal(log_escape(S("a\"b\\c\n"), buf, sizeof(buf)), "a\\x22b\\x5cc\\x0a");
	assert_string_equal(log_escape((struct slice){ "\xff\x00", 2 }, buf, sizeof(buf)),
	    "\\xff\\x00");
	/* Truncation keeps the buffer bounded and says so. */
	char small[10];
	log_escape(S("abcdefghijklmnop"), small, sizeof(small));
	assert_string_equal(small, "abcdef...");
	log_escape(S("\"\"\"\"\""), small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_null(strchr(small, '"'));
}

static void
test_pct_decode(void **state)
{
	(void)state;
	char out[16];
	const char *bad = NULL;
	struct slice in = S("a%20b%2Fc");
	assert_true(slice_pct_decode(in, out, sizeof(out), &bad));
	assert_string_equal(out, "a b/c");
	assert_true(slice_pct_decode(S(""), out, sizeof(out), NULL));
	assert_string_equal(out, "");
	static const char *const refused[] = { "a%", "a%2", "a%zz", "%00x", "a%0G" };
	for (size_t i = 0; i < 5; i++) {
		in = S(refused[i]);
		bad = NULL;
		assert_false(slice_pct_decode(in, out, sizeof(out), &bad));
		assert_ptr_equal(bad, in.p + 1 + (i == 3 ? -1 : 0));
	}
	/* Room for the NUL too: 15 characters fit 16 bytes, 16 do not. */
	assert_true(slice_pct_decode(S("123456789012345"), out, sizeof(out), NULL));
	assert_false(slice_pct_decode(S("1234567890123456"), out, sizeof(out), NULL));
	assert_true(slice_pct_decode(S("12345678901234%41"), out, sizeof(out), NULL));
	assert_false(slice_pct_decode(S("x"), out, 0, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_ranges),
		cmocka_unit_test(test_cut_trim),
		cmocka_unit_test(test_ct_hex),
		cmocka_unit_test(test_lower_hex_hash),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_pct_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
