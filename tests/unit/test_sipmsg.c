#include "testutil.h"

#include "sip/msg.h"
#include "sip/uri.h"

static const struct sip_limits lim = { 4096, 32, 1024 };

static enum sip_parse_result
parse(const char *text, bool stream, struct sip_msg *m, const char **why)
{
	return sip_parse(S(text), stream, &lim, m, why);
}

static void
test_register(void **state)
{
	static struct sip_msg m;
	const char *why;
	(void)state;
	const char *msg =
	    "REGISTER sip:example.org SIP/2.0\r\n"
	    "v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport\r\n"
	    "Via: SIP/2.0/TCP a.example.org, SIP/2.0/UDP b.example.org:5070\r\n"
	    "f: \"Al, ice\" <sip:alice@example.org>;tag=1\r\n"
	    "t: sip:alice@example.org\r\n"
	    "i: abc@host\r\n"
	    "CSeq: 7 REGISTER\r\n"
	    "Subject: folded\r\n"
	    "  over two\r\n"
	    "\tlines\r\n"
	    "m: <sip:alice@10.0.0.1:5060;transport=udp>;expires=60, <sip:alice@10.0.0.2>\r\n"
	    "l: 4\r\n"
	    "\r\n"
	    "body";
	assert_int_equal(parse(msg, false, &m, &why), SIP_PARSE_OK);
	assert_true(m.is_request);
	assert_slice_equal(m.method, "REGISTER");
	assert_slice_equal(m.ruri, "sip:example.org");
	assert_int_equal(sip_hdr_count(&m, SIP_H_VIA), 2);
	assert_slice_equal(sip_hdr_get(&m, SIP_H_CALL_ID), "abc@host");
	assert_slice_equal(m.body, "body");
	assert_slice_equal(m.hdrs[6].value, "folded\r\n  over two\r\n\tlines");

	struct slice uri, params, tag;
	assert_true(sip_nameaddr(sip_hdr_get(&m, SIP_H_FROM), &uri, &params));
	assert_slice_equal(uri, "sip:alice@example.org");
	assert_true(sip_param(params, "tag", &tag));
	assert_slice_equal(tag, "1");
	assert_true(sip_nameaddr(sip_hdr_get(&m, SIP_H_TO), &uri, &params));
	assert_slice_equal(uri, "sip:alice@example.org");

	struct slice list = sip_hdr_get(&m, SIP_H_CONTACT), item;
	int n = 0;
	while (sip_list_next(&list, &item))
		n++;
	assert_int_equal(n, 2);

	struct sip_via v;
	list = m.hdrs[m.first[SIP_H_VIA]].value;
	assert_true(sip_list_next(&list, &item));
	assert_true(sip_via_parse(item, &v));
	assert_slice_equal(v.transport, "UDP");
	assert_slice_equal(v.host, "10.0.0.1");
	assert_int_equal(v.port, 5060);
	assert_true(sip_param(v.params, "rport", &tag));
	assert_int_equal(tag.n, 0);
	assert_null(sip_check_request(&m));
}

static void
test_uri(void **state)
{
	struct sip_uri u;
	(void)state;
	assert_true(sip_uri_parse(S("sip:alice:pw@[2001:db8::1]:5070;transport=tcp?x=y"), &u));
	assert_slice_equal(u.user, "alice");
	assert_slice_equal(u.host, "2001:db8::1");
	assert_int_equal(u.port, 5070);
	assert_slice_equal(u.params, ";transport=tcp");
	assert_true(sip_uri_parse(S("sips:example.org"), &u));
	assert_true(u.sips);
	assert_int_equal(u.user.n, 0);
	assert_false(sip_uri_parse(S("tel:+331234"), &u));
	assert_false(sip_uri_parse(S("sip:@example.org"), &u));
	assert_false(sip_uri_parse(S("sip:a@example.org:0"), &u));
	assert_false(sip_uri_parse(S("sip:a@example.org:"), &u));
	assert_true(sip_uri_parse(S("sip:a@example.org"), &u));
	assert_int_equal(u.port, 0);
	assert_false(sip_uri_parse(S("sip:a@example.org:65536"), &u));
	assert_false(sip_uri_parse(S("sip:a@exa mple.org"), &u));
	assert_false(sip_uri_parse(S("sip:a@[::1"), &u));
	assert_true(sip_qvalue_ok(S("0")) && sip_qvalue_ok(S("0.5")) && sip_qvalue_ok(S("1.000")));
	assert_false(sip_qvalue_ok(S("1.5")) || sip_qvalue_ok(S("0.1234")) || sip_qvalue_ok(S("2")));
	assert_false(sip_qvalue_ok(S("")));
	assert_true(sip_qvalue_ok(S("0.")));  /* "0" "." 0*3DIGIT: zero digits allowed */
	assert_false(sip_qvalue_ok(S("0\r\n 5")));
	assert_true(sip_no_space_or_ctl(S("sip:a@b;x=y")));
	assert_false(sip_no_space_or_ctl(S("sip:a@b;x=\r\n y")));
	uint32_t n;
	struct slice meth;
	assert_true(sip_cseq_parse(S("  12 INVITE "), &n, &meth));
	assert_int_equal(n, 12);
	assert_false(sip_cseq_parse(S("2147483648 INVITE"), &n, &meth));
	assert_false(sip_cseq_parse(S("1"), &n, &meth));
}

static void
test_stream_framing(void **state)
{
	static struct sip_msg m;
	const char *why;
	(void)state;
	const char *two =
	    "OPTIONS sip:x SIP/2.0\r\nContent-Length: 3\r\n\r\nabc"
	    "OPTIONS sip:y SIP/2.0\r\nl: 0\r\n\r\n";
	assert_int_equal(parse(two, true, &m, &why), SIP_PARSE_OK);
	assert_slice_equal(m.body, "abc");
	assert_int_equal(m.len, strlen("OPTIONS sip:x SIP/2.0\r\nContent-Length: 3\r\n\r\nabc"));
	assert_int_equal(parse(two + m.len, true, &m, &why), SIP_PARSE_OK);
	assert_slice_equal(m.ruri, "sip:y");

	/* Every strict prefix of a message is "need more", never "bad". */
	const char *one = "REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nl: 5\r\n\r\nhello";
	for (size_t k = 0; k < strlen(one); k++)
		assert_int_equal(sip_parse((struct slice){ one, k }, true, &lim, &m, &why),
		    SIP_PARSE_NEED_MORE);
	/* A stream that never ends its headers is cut at the cap. */
	char *big = malloc(8192);
	strcpy(big, "REGISTER sip:x SIP/2.0\r\n");
	for (size_t k = strlen(big); k < 8000; k += 10)
		memcpy(big + k, "X-A: 1234\n", 10);
	big[8000] = '\0';
	assert_int_equal(parse(big, true, &m, &why), SIP_PARSE_BAD);
	free(big);
	assert_int_equal(sip_keepalive_len(S("\r\n\r\nREGISTER")), 4);
}

/*
 * Hostile inputs in the spirit of RFC 4475: each must give the listed
 * result, and never crash (ASan watches).
 */
static void
test_torture(void **state)
{
	static const struct {
		const char *name, *msg;
		enum sip_parse_result want;
		const char *why;
	} cases[] = {
		{ "empty", "", SIP_PARSE_BAD, NULL },
		{ "just CRLF", "\r\n", SIP_PARSE_BAD, NULL },
		{ "no version", "INVITE sip:x\r\n\r\n", SIP_PARSE_BAD, "malformed first line" },
		{ "bad method", "INV<ITE sip:x SIP/2.0\r\n\r\n", SIP_PARSE_BAD, "bad method" },
		{ "extra token", "INVITE sip:x SIP/2.0 junk\r\n\r\n", SIP_PARSE_BAD, NULL },
		{ "status 99", "SIP/2.0 99 Odd\r\n\r\n", SIP_PARSE_BAD, "bad status code" },
		{ "status 1000", "SIP/2.0 1000 Odd\r\n\r\n", SIP_PARSE_BAD, "bad status code" },
		{ "no colon", "INVITE sip:x SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n", SIP_PARSE_BAD,
		    "header line without a name and ':'" },
		{ "empty name", "INVITE sip:x SIP/2.0\r\n: v\r\n\r\n", SIP_PARSE_BAD, NULL },
		{ "space in name", "INVITE sip:x SIP/2.0\r\nVi a: v\r\n\r\n", SIP_PARSE_BAD,
		    "bad header name" },
		{ "fold first", "INVITE sip:x SIP/2.0\r\n folded\r\n\r\n", SIP_PARSE_BAD,
		    "continuation line before any header" },
		{ "neg length", "INVITE sip:x SIP/2.0\r\nContent-Length: -5\r\n\r\n",
		    SIP_PARSE_BAD, "bad Content-Length" },
		{ "huge length", "INVITE sip:x SIP/2.0\r\nl: 99999999999999999999\r\n\r\n",
		    SIP_PARSE_BAD, "bad Content-Length" },
		{ "length > cap", "INVITE sip:x SIP/2.0\r\nl: 5000\r\n\r\n", SIP_PARSE_BAD, NULL },
		{ "length > datagram", "INVITE sip:x SIP/2.0\r\nl: 10\r\n\r\nabc", SIP_PARSE_BAD,
		    "Content-Length larger than the datagram" },
		{ "two lengths", "INVITE sip:x SIP/2.0\r\nl: 0\r\nContent-Length: 0\r\n\r\n",
		    SIP_PARSE_BAD, "more than one Content-Length" },
		{ "unterminated", "INVITE sip:x SIP/2.0\r\nVia: x\r\n", SIP_PARSE_BAD,
		    "headers not terminated by an empty line" },
		{ "CR in request line", "INVITE sip:x\r SIP/2.0\r\n\r\n", SIP_PARSE_BAD, NULL },
		{ "bare LF ok", "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP h\n\n", SIP_PARSE_OK, NULL },
		{ "body ignored past length", "OPTIONS sip:x SIP/2.0\r\nl: 1\r\n\r\nab",
		    SIP_PARSE_OK, NULL },
		{ "odd but legal header", "OPTIONS sip:x SIP/2.0\r\nX-%!*: \r\n\r\n", SIP_PARSE_OK,
		    NULL },
		{ "response", "SIP/2.0 180 Ringing\r\n\r\n", SIP_PARSE_OK, NULL },
	};
	static struct sip_msg m;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		enum sip_parse_result r = parse(cases[i].msg, false, &m, &why);
		if (r != cases[i].want)
			fail_msg("%s: result %d, want %d (%s)", cases[i].name, r, cases[i].want,
			    why ? why : "-");
		if (cases[i].why && (!why || strcmp(why, cases[i].why) != 0))
			fail_msg("%s: why '%s', want '%s'", cases[i].name, why ? why : "(null)",
			    cases[i].why);
	}

	/* Embedded NUL, too many headers, over-long line. */
	const char nul[] = "OPTIONS sip:x SIP/2.0\r\nVia: a\0b\r\n\r\n";
	const char *why;
	assert_int_equal(sip_parse((struct slice){ nul, sizeof(nul) - 1 }, false, &lim, &m, &why),
	    SIP_PARSE_BAD);
	char many[4096] = "OPTIONS sip:x SIP/2.0\r\n";
	for (int k = 0; k < 40; k++)
		strcat(many, "X: y\r\n");
	strcat(many, "\r\n");
	assert_int_equal(parse(many, false, &m, &why), SIP_PARSE_BAD);
	assert_string_equal(why, "too many headers");
	char longl[3000] = "OPTIONS sip:x SIP/2.0\r\nX: ";
	memset(longl + strlen(longl), 'a', 1100);
	strcat(longl, "\r\n\r\n");
	assert_int_equal(parse(longl, false, &m, &why), SIP_PARSE_BAD);
	assert_string_equal(why, "header line too long");
	/* Folding cannot be used to smuggle a line past the cap. */
	char fold[4000] = "OPTIONS sip:x SIP/2.0\r\nX: a\r\n";
	for (int k = 0; k < 30; k++) {
		strcat(fold, " ");
		memset(fold + strlen(fold), 'b', 60);
		fold[strlen(fold) + 0] = '\0';
		strcat(fold, "\r\n");
	}
	strcat(fold, "\r\n");
	assert_int_equal(parse(fold, false, &m, &why), SIP_PARSE_BAD);
	assert_string_equal(why, "header line too long");

	/* Mandatory headers. */
	assert_int_equal(parse("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", false, &m,
	    &why), SIP_PARSE_OK);
	assert_string_equal(sip_check_request(&m), "missing From");
	assert_int_equal(parse("OPTIONS sip:x SIP/2.0\r\nVia: v\r\nFrom: a\r\nTo: b\r\n"
	    "Call-ID: c\r\nCSeq: 1 OPTIONS\r\nCall-ID: d\r\n\r\n", false, &m, &why), SIP_PARSE_OK);
	assert_non_null(sip_check_request(&m));
}

static void
test_list_quotes(void **state)
{
	struct slice list = S(" \"a, b\" <sip:x@y;p=1,2>;q=0.5 ,, <sip:z@w> "), item;
	(void)state;
	assert_true(sip_list_next(&list, &item));
	assert_slice_equal(item, "\"a, b\" <sip:x@y;p=1,2>;q=0.5");
	assert_true(sip_list_next(&list, &item));
	assert_slice_equal(item, "<sip:z@w>");
	assert_false(sip_list_next(&list, &item));
	struct slice uri, params;
	assert_false(sip_nameaddr(S("\"unterminated <sip:x@y>"), &uri, &params));
	assert_false(sip_nameaddr(S("<sip:x@y"), &uri, &params));
	assert_false(sip_nameaddr(S("\"name\" sip:x@y"), &uri, &params));
	assert_true(sip_nameaddr(S("\"a \\\" b\" <sip:x@y>;tag=9"), &uri, &params));
	assert_slice_equal(uri, "sip:x@y");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_stream_framing),
		cmocka_unit_test(test_torture),
		cmocka_unit_test(test_list_quotes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
