/* The SIP front end end to end in memory: bytes in, bytes out. */
#include "testutil.h"

#include "sip/server.h"

static struct config cfg;
static struct store *st;
static struct guard *g;
static struct sip_server srv;
static struct sip_reply out;
static struct addr local, remote;

static int
setup(void **state)
{
	char err[256];
	(void)state;
	if (!digest_init())
		return -1;
	test_config_example_org(&cfg);
	st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	g = guard_new(&cfg, st);
	addr_parse(S("127.0.0.1:5060"), &local);
	addr_parse(S("127.0.0.9:40000"), &remote);
	return g && sip_server_init(&srv, &cfg, g) ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	sip_server_destroy(&srv);
	guard_free(g);
	store_free(st);
	config_free(&cfg);
	digest_shutdown();
	return 0;
}

static const char *
send_text(const char *text)
{
	static char copy[SIP_REPLY_MAX + 1];
	struct sip_packet pkt = { S(text), &remote, &local, "UDP", false, CONFIG_NO_ACL, NULL,
		NULL, 0, 0 };
	sip_handle_datagram(&srv, &pkt, 1000000, &out);
	memcpy(copy, out.buf, out.n);
	copy[out.n] = '\0';
	return copy;
}

static const char *
reg(const char *user, int cseq, const char *auth, const char *contact_extra)
{
	static char msg[4096];
	snprintf(msg, sizeof(msg),
	    "REGISTER sip:example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-%d;rport\r\n"
	    "From: <sip:%s@example.org>;tag=ft\r\n"
	    "To: <sip:%s@example.org>\r\n"
	    "Call-ID: call-%s\r\n"
	    "CSeq: %d REGISTER\r\n"
	    "Contact: <sip:%s@10.1.1.1:5062>%s\r\n"
	    "%s"
	    "Max-Forwards: 70\r\n"
	    "Content-Length: 0\r\n\r\n",
	    cseq, user, user, user, cseq, user, contact_extra, auth);
	return send_text(msg);
}

static void
extract(const char *resp, const char *key, char *dst, size_t n)
{
	const char *p = strstr(resp, key);
	assert_non_null(p);
	p += strlen(key);
	size_t k = strcspn(p, "\"");
	assert_true(k < n);
	memcpy(dst, p, k);
	dst[k] = '\0';
}

static const char *
auth_header(const char *user, const char *pw, const char *nonce, const char *nc)
{
	return test_digest_line("Authorization", user, pw, nonce, nc, "REGISTER",
	    "sip:127.0.0.1:5060");
}

static void
test_register_flow(void **state)
{
	char nonce[64];
	(void)state;
	const char *r = reg("user1", 1, "", "");
	assert_true(strncmp(r, "SIP/2.0 401 Unauthorized\r\n", 26) == 0);
	assert_non_null(strstr(r, "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-1;rport=40000;"
	    "received=127.0.0.9\r\n"));
	assert_non_null(strstr(r, "To: <sip:user1@example.org>;tag="));
	assert_non_null(strstr(r, "WWW-Authenticate: Digest realm=\"example.org\", nonce=\""));
	assert_non_null(strstr(r, "algorithm=MD5, qop=\"auth\"\r\n"));
	assert_null(strstr(r, "Server:"));
	assert_null(strstr(r, "User-Agent:"));
	extract(r, "nonce=\"", nonce, sizeof(nonce));

	r = reg("user1", 2, auth_header("user1", "secret", nonce, "00000001"), ";expires=120");
	assert_true(strncmp(r, "SIP/2.0 200 OK\r\n", 16) == 0);
	assert_non_null(strstr(r, "Contact: <sip:user1@10.1.1.1:5062>;expires=120\r\n"));

	/* Query (no Contact) with the next nc lists the binding. */
	r = reg("user1", 3, auth_header("user1", "secret", nonce, "00000002"), ";expires=0");
	assert_true(strncmp(r, "SIP/2.0 200 OK\r\n", 16) == 0);
	assert_null(strstr(r, "Contact:"));

	/* Wrong password: 403. */
	r = reg("user1", 4, auth_header("user1", "nope", nonce, "00000003"), "");
	assert_true(strncmp(r, "SIP/2.0 403 Forbidden\r\n", 23) == 0);
}

/* Unknown and known users get the same 401 but for the user and the nonce. */
static void
test_no_enumeration(void **state)
{
	char a[4096], b[4096], na[64], nb[64];
	(void)state;
	strcpy(a, reg("user1", 1, "", ""));
	strcpy(b, reg("ghost", 1, "", ""));
	extract(a, "nonce=\"", na, sizeof(na));
	extract(b, "nonce=\"", nb, sizeof(nb));
	assert_string_not_equal(na, nb);
	assert_int_equal(strlen(na), strlen(nb));
	/* Normalise the user name, the nonce and the tag (per Call-ID). */
	char *subst[2] = { a, b };
	for (int k = 0; k < 2; k++) {
		char *p;
		while ((p = strstr(subst[k], "user1")))
			memcpy(p, "ghost", 5);
		for (p = strstr(subst[k], "nonce=\""); p; p = strstr(p, "nonce=\"")) {
			p += 7;
			memset(p, 'N', strlen(na));
		}
		p = strstr(subst[k], ";tag=") ;
		p = strstr(p + 1, ";tag=") + 5;
		memset(p, 'T', 16);
	}
	assert_string_equal(a, b);

	/* And the same 403 after answering. */
	strcpy(a, reg("user1", 2, auth_header("user1", "bad", na, "00000001"), ""));
	strcpy(b, reg("ghost", 2, auth_header("ghost", "bad", nb, "00000001"), ""));
	assert_true(strncmp(a, "SIP/2.0 403 Forbidden\r\n", 23) == 0);
	assert_true(strncmp(b, "SIP/2.0 403 Forbidden\r\n", 23) == 0);
}

static void
test_methods(void **state)
{
	(void)state;
	const char *opt = "OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKo\r\n"
	    "From: <sip:a@example.org>;tag=1\r\nTo: <sip:example.org>\r\nCall-ID: o1\r\n"
	    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	assert_true(strncmp(send_text(opt), "SIP/2.0 200 OK\r\n", 16) == 0);

	const char *inv = "INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKi\r\n"
	    "From: <sip:user1@example.org>;tag=1\r\nTo: <sip:bob@example.org>\r\nCall-ID: i1\r\n"
	    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	const char *r = send_text(inv);
	assert_true(strncmp(r, "SIP/2.0 407 Proxy Authentication Required\r\n", 43) == 0);
	assert_non_null(strstr(r, "Proxy-Authenticate: Digest realm=\"example.org\""));

	const char *ack = "ACK sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKi\r\n"
	    "From: <sip:user1@example.org>;tag=1\r\nTo: <sip:bob@example.org>;tag=x\r\n"
	    "Call-ID: i1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
	send_text(ack);
	assert_int_equal(out.n, 0);

	const char *can = "CANCEL sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKi\r\n"
	    "From: <sip:user1@example.org>;tag=1\r\nTo: <sip:bob@example.org>\r\n"
	    "Call-ID: i1\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
	assert_true(strncmp(send_text(can), "SIP/2.0 481 ", 12) == 0);

	const char *foreign = "REGISTER sip:evil.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKf\r\n"
	    "From: <sip:a@evil.org>;tag=1\r\nTo: <sip:a@evil.org>\r\nCall-ID: f1\r\n"
	    "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
	r = send_text(foreign);
	assert_true(strncmp(r, "SIP/2.0 403 Domain forbidden\r\n", 30) == 0);
	assert_null(strstr(r, "WWW-Authenticate"));

	const char *ver = "REGISTER sip:example.org SIP/3.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKv\r\n"
	    "From: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\nCall-ID: v1\r\n"
	    "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
	assert_true(strncmp(send_text(ver), "SIP/2.0 505 ", 12) == 0);

	/* Wrong version and no To: nothing to address, no response, no crash. */
	send_text("REGISTER sip:example.org SIP/1.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKq\r\n"
	    "From: <sip:a@example.org>;tag=1\r\nCall-ID: q1\r\nCSeq: 1 REGISTER\r\n\r\n");
	assert_int_equal(out.n, 0);

	const char *tel = "INVITE tel:+3312 SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKt\r\n"
	    "From: <sip:a@example.org>;tag=1\r\nTo: <tel:+3312>\r\nCall-ID: t1\r\n"
	    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	r = send_text(tel);
	assert_true(strncmp(r, "SIP/2.0 400 ", 12) == 0); /* To is not a SIP URI */
}

static void
test_bad_requests_get_400_with_reason(void **state)
{
	(void)state;
	const char *nocseq = "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKb\r\n"
	    "From: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\nCall-ID: b1\r\n"
	    "CSeq: x REGISTER\r\nContent-Length: 0\r\n\r\n";
	assert_true(strncmp(send_text(nocseq), "SIP/2.0 400 Bad Request (bad CSeq)\r\n", 36) == 0);
	const char *badcl = "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKb\r\n"
	    "From: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\nCall-ID: b1\r\n"
	    "CSeq: 1 REGISTER\r\nContent-Length: 99\r\n\r\n";
	assert_true(strncmp(send_text(badcl),
	    "SIP/2.0 400 Bad Request (Content-Length larger than the datagram)\r\n", 66) == 0);
	const char *badauth = "REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bKb\r\n"
	    "From: <sip:a@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\nCall-ID: b1\r\n"
	    "CSeq: 1 REGISTER\r\nAuthorization: Digest username=\"a\r\nContent-Length: 0\r\n\r\n";
	assert_true(strncmp(send_text(badauth),
	    "SIP/2.0 400 Bad Request (unterminated quoted string)\r\n", 53) == 0);
	/* Garbage gets nothing (no Via to answer to); the server goes on. */
	send_text("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
	assert_int_equal(out.n, 0);
	assert_true(strncmp(reg("user1", 1, "", ""), "SIP/2.0 401 ", 12) == 0);
}

static void
test_registrar_rules(void **state)
{
	char nonce[64];
	(void)state;
	const char *r = reg("user2", 1, "", "");
	extract(r, "nonce=\"", nonce, sizeof(nonce));
	r = reg("user2", 2, auth_header("user2", "secret", nonce, "00000001"), ";expires=5");
	assert_true(strncmp(r, "SIP/2.0 423 Interval Too Brief\r\n", 32) == 0);
	assert_non_null(strstr(r, "Min-Expires: 60\r\n"));
	r = reg("user2", 3, auth_header("user2", "secret", nonce, "00000002"), ";expires=999999");
	assert_non_null(strstr(r, ";expires=86400\r\n")); /* clamped to max-expires */
	/* A contact we would store and echo must be clean. */
	r = reg("user2", 4, auth_header("user2", "secret", nonce, "00000003"), ";q=0.5\r\n 7");
	assert_true(strncmp(r, "SIP/2.0 400 Bad Request (bad Contact q)\r\n", 40) == 0);
	r = reg("user2", 5, auth_header("user2", "secret", nonce, "00000004"), ";q=0.5");
	assert_non_null(strstr(r, ";expires=3600;q=0.5\r\n")); /* default-expires */
	/* Out of order CSeq in the same Call-ID changes nothing. */
	r = reg("user2", 2, auth_header("user2", "secret", nonce, "00000005"), ";expires=0");
	assert_true(strncmp(r, "SIP/2.0 500 ", 12) == 0);

	/* Third-party registration is refused. */
	char msg[2048];
	snprintf(msg, sizeof(msg), "REGISTER sip:example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-tp\r\n"
	    "From: <sip:user2@example.org>;tag=ft\r\nTo: <sip:user1@example.org>\r\n"
	    "Call-ID: call-user2\r\nCSeq: 9 REGISTER\r\nContact: <sip:x@10.1.1.1>\r\n%s"
	    "Content-Length: 0\r\n\r\n", auth_header("user2", "secret", nonce, "00000006"));
	r = send_text(msg);
	assert_true(strncmp(r, "SIP/2.0 403 Third-party registration forbidden\r\n", 48) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_flow),
		cmocka_unit_test(test_no_enumeration),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_bad_requests_get_400_with_reason),
		cmocka_unit_test(test_registrar_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
