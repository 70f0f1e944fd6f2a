/*
 * The proxy in memory, on a clock of its own: a phone and two upstreams
 * as flows, every message pbxguard sends captured. What the e2e test with
 * sipp cannot time: retransmissions, failover, Timer B, CANCEL ordering.
 */
#include "testutil.h"

#include "guard/digest.h"
#include "sip/fwd.h"
#include "sip/server.h"

#define MAXSENT 64

static struct config cfg;
static struct store *st;
static struct guard *g;
static struct sip_server srv;
static struct sip_reply out;
static struct sip_flow phone, up0, up1;
static char dir[64];
static const char *who = "user1";	/* the phone's account in invite() */

static struct {
	struct sip_flow to;
	char text[8192];
} sent[MAXSENT];
static size_t nsent;

static bool
capture(void *ctx, const struct sip_flow *f, const char *buf, size_t n)
{
	(void)ctx;
	assert_true(nsent < MAXSENT);
	sent[nsent].to = *f;
	assert_true(n < sizeof(sent[nsent].text));
	memcpy(sent[nsent].text, buf, n);
	sent[nsent].text[n] = '\0';
	nsent++;
	return true;
}

static int
setup(void **state)
{
	char path[128], err[256], text[1024];
	struct config_errors e = { 0 };
	(void)state;
	if (!digest_init())
		return -1;
	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/pbxguard.conf", dir);
	snprintf(text, sizeof(text),
	    "[global]\nstatedir = %s\n"
	    "[module::Authentication]\nauth-domains = example.org\nfile-path = tests/vectors/userdb\n"
	    "[bans]\nnftables = no\npike-limit = 0\n"
	    "[sip]\ntransports = udp:127.0.0.1:5060 tcp:127.0.0.1:5060\n"
	    "upstream = sip:127.0.0.1:5080;transport=udp 127.0.0.1:5081\nupstream-timeout = 1\n",
	    dir);
	write_file(path, text);
	if (!config_load(&cfg, path, &e))
		return -1;
	config_errors_free(&e);
	st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	g = guard_new(&cfg, st);
	if (!g || !sip_server_init(&srv, &cfg, g))
		return -1;
	sip_server_set_sender(&srv, &(struct sip_sender){ NULL, capture });
	phone = (struct sip_flow){ .proto = TP_UDP };
	addr_parse(S("127.0.0.9:40000"), &phone.remote);
	up0 = (struct sip_flow){ .proto = TP_UDP, .remote = cfg.upstreams[0].addr };
	up1 = (struct sip_flow){ .proto = TP_UDP, .remote = cfg.upstreams[1].addr };
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	sip_server_destroy(&srv);
	guard_free(g);
	store_free(st);
	config_free(&cfg);
	digest_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Delivers text as if it arrived on flow f at time ms; returns the direct
 * reply (the server's own answers: challenges), "" if none. */
static const char *
deliver(const struct sip_flow *f, const char *text, int64_t ms)
{
	static char copy[SIP_REPLY_MAX + 1];
	struct addr local;
	addr_parse(S("127.0.0.1:5060"), &local);
	struct sip_packet pkt = { S(text), &f->remote, &local, "UDP", false, CONFIG_NO_ACL, NULL,
		f, ms, 0 };
	sip_handle_datagram(&srv, &pkt, 1000000, &out);
	memcpy(copy, out.buf, out.n);
	copy[out.n] = '\0';
	return copy;
}

static void
tick(int64_t ms)
{
	sip_server_tick(&srv, ms);
}

static const char *
invite(const char *branch, const char *auth, const char *extra)
{
	static char msg[4096];
	snprintf(msg, sizeof(msg),
	    "INVITE sip:600@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=%s;rport\r\n"
	    "From: <sip:%s@example.org>;tag=ft\r\n"
	    "To: <sip:600@example.org>\r\n"
	    "Call-ID: call-1\r\n"
	    "CSeq: 2 INVITE\r\n"
	    "Contact: <sip:%s@10.1.1.1:5062>\r\n"
	    "%s%s"
	    "Content-Length: 0\r\n\r\n", branch, who, who, auth, extra);
	return msg;
}

/* Answers the 407 of a first INVITE: the Proxy-Authorization for user1. */
static const char *
authorize(void)
{
	char nonce[64];
	const char *r = deliver(&phone, invite("z9hG4bK-first", "", ""), 1000);
	assert_true(strncmp(r, "SIP/2.0 407 ", 12) == 0);
	const char *p = strstr(r, "nonce=\"");
	assert_non_null(p);
	p += 7;
	size_t k = strcspn(p, "\"");
	memcpy(nonce, p, k);
	nonce[k] = '\0';
	return test_digest_line("Proxy-Authorization", who, "secret", nonce, "00000001", "INVITE",
	    "sip:600@example.org");
}

/* The branch of our top Via in a message we sent. */
static const char *
our_branch(const char *text)
{
	static char b[64];
	const char *p = strstr(text, "branch=");
	assert_non_null(p);
	p += 7;
	size_t k = strcspn(p, ";\r");
	memcpy(b, p, k);
	b[k] = '\0';
	return b;
}

/* A response from an upstream (or anyone) to the request we forwarded. */
static const char *
answer(const char *branch, unsigned code, const char *reason, const char *method)
{
	static char msg[2048];
	snprintf(msg, sizeof(msg),
	    "SIP/2.0 %u %s\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\r\n"
	    "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-a;rport=40000;received=127.0.0.9\r\n"
	    "From: <sip:user1@example.org>;tag=ft\r\n"
	    "To: <sip:600@example.org>%s\r\n"
	    "Call-ID: call-1\r\n"
	    "CSeq: 2 %s\r\n"
	    "Content-Length: 0\r\n\r\n", code, reason, branch, code > 100 ? ";tag=pbx" : "",
	    method);
	return msg;
}

static size_t
count_to(const struct sip_flow *f, const char *prefix, size_t from)
{
	size_t n = 0;
	for (size_t i = from; i < nsent; i++)
		n += sip_flow_same(&sent[i].to, f) && strncmp(sent[i].text, prefix, strlen(prefix)) == 0;
	return n;
}

static const char *
last_to(const struct sip_flow *f)
{
	for (size_t i = nsent; i-- > 0;)
		if (sip_flow_same(&sent[i].to, f))
			return sent[i].text;
	fail_msg("nothing sent there");
	return NULL;
}

static void
test_forward_rewrites(void **state)
{
	(void)state;
	nsent = 0;
	const char *auth = authorize();
	char extra[1024];
	snprintf(extra, sizeof(extra), "Proxy-Authorization: Digest username=\"1001\", "
	    "realm=\"asterisk\", nonce=\"n\", uri=\"sip:600@example.org\", response=\"r\"\r\n"
	    "Route: <sip:10.9.9.9;lr>, <sip:127.0.0.1:5060;lr>\r\n"
	    "P-Asserted-Identity: <sip:boss@example.org>\r\nMax-Forwards: 10\r\n");
	assert_string_equal(deliver(&phone, invite("z9hG4bK-a", auth, extra), 1000), "");
	assert_int_equal(count_to(&phone, "SIP/2.0 100 Trying", 0), 1);
	assert_int_equal(count_to(&up0, "INVITE sip:600@example.org SIP/2.0", 0), 1);
	const char *f = last_to(&up0);
	assert_true(strncmp(strchr(f, '\n') + 1, "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKpg",
	    47) == 0);
	assert_non_null(strstr(f, "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-a;rport=40000;"
	    "received=127.0.0.9\r\n"));
	assert_non_null(strstr(f, "Record-Route: <sip:127.0.0.1:5060;lr>\r\n"));
	assert_non_null(strstr(f, "P-Asserted-Identity: <sip:user1@example.org>\r\n"));
	assert_null(strstr(f, "boss"));			/* the phone's claim is gone */
	assert_null(strstr(f, "realm=\"example.org\""));	/* our credentials are gone */
	assert_non_null(strstr(f, "realm=\"asterisk\""));	/* the PBX's pass */
	assert_null(strstr(f, "\nRoute:"));		/* preloaded routes dropped */
	assert_non_null(strstr(f, "Max-Forwards: 9\r\n"));
	assert_non_null(strstr(f, "Content-Length: 0\r\n\r\n"));

	/* A retransmission is absorbed: the 100 again, nothing new upstream. */
	size_t before = nsent;
	deliver(&phone, invite("z9hG4bK-a", auth, extra), 1100);
	assert_int_equal(count_to(&up0, "INVITE", before), 0);
	assert_int_equal(count_to(&phone, "SIP/2.0 100 Trying", before), 1);

	/* Only the upstream we asked may answer: a 200 from elsewhere is ignored. */
	struct sip_flow stranger = up0;
	addr_parse(S("127.0.0.66:5080"), &stranger.remote);
	before = nsent;
	deliver(&stranger, answer(our_branch(f), 200, "OK", "INVITE"), 1200);
	assert_int_equal(nsent, before);

	/* 180 and 200 go back to the phone without our Via. */
	deliver(&up0, answer(our_branch(f), 180, "Ringing", "INVITE"), 1300);
	deliver(&up0, answer(our_branch(f), 200, "OK", "INVITE"), 1400);
	assert_int_equal(count_to(&phone, "SIP/2.0 180 Ringing", before), 1);
	assert_int_equal(count_to(&phone, "SIP/2.0 200 OK", before), 1);
	assert_null(strstr(last_to(&phone), "127.0.0.1:5060;branch"));
	/* Forgotten T4 after the 2xx (see server_completed); the dialog stays. */
	tick(1400 + 5000);
	struct proxy_stats ps;
	size_t ntx, ndlg;
	proxy_stats(srv.proxy, &ps, &ntx, &ndlg);
	assert_int_equal(ntx, 0);
	assert_int_equal(ndlg, 1);
}

static void
test_retransmit_failover_timeout(void **state)
{
	(void)state;
	nsent = 0;
	const char *auth = authorize();
	deliver(&phone, invite("z9hG4bK-b", auth, ""), 100000);
	const char *first = last_to(&up0);
	char b0[64];
	snprintf(b0, sizeof(b0), "%s", our_branch(first));
	/* Timer A: the same request again after T1, then 2*T1. */
	tick(100500);
	tick(101000);
	assert_int_equal(count_to(&up0, "INVITE", 0), 2);
	/* upstream-timeout (1 s) without a word: the second upstream, new branch. */
	assert_int_equal(count_to(&up1, "INVITE", 0), 1);
	const char *second = last_to(&up1);
	assert_string_not_equal(our_branch(second), b0);
	/* While it is down, a new call goes to the other upstream first. */
	struct sip_flow other = phone;
	addr_parse(S("127.0.0.10:40000"), &other.remote);
	size_t mark = nsent;
	deliver(&other, invite("z9hG4bK-b2", authorize(), ""), 101200);
	assert_int_equal(count_to(&up1, "INVITE", mark), 1);
	assert_int_equal(count_to(&up0, "INVITE", mark), 0);
	/* The first upstream is down now: a late answer from it is ignored. */
	size_t before = nsent;
	deliver(&up0, answer(b0, 180, "Ringing", "INVITE"), 101100);
	assert_int_equal(nsent, before);
	/* Nobody answers: Timer B, 408 to the phone, retransmitted until its ACK. */
	tick(101000 + 32000);
	assert_int_equal(count_to(&phone, "SIP/2.0 408 Request Timeout", before), 1);
	assert_non_null(strstr(last_to(&phone), "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-b"));
	assert_null(strstr(last_to(&phone), "z9hG4bKpg"));
	tick(101000 + 32000 + 500);
	assert_int_equal(count_to(&phone, "SIP/2.0 408", before), 2);
	const char *ack = "ACK sip:600@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-b;rport\r\n"
	    "From: <sip:user1@example.org>;tag=ft\r\nTo: <sip:600@example.org>;tag=x\r\n"
	    "Call-ID: call-1\r\nCSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n";
	deliver(&phone, ack, 101000 + 32000 + 600);
	tick(101000 + 32000 + 4000);
	assert_int_equal(count_to(&phone, "SIP/2.0 408", before), 2);
}

static void
test_cancel_waits_for_provisional(void **state)
{
	(void)state;
	nsent = 0;
	const char *auth = authorize();
	/* Upstream 0 fell silent at 101 s (previous test); 30 s later it is
	 * first again. */
	deliver(&phone, invite("z9hG4bK-c", auth, ""), 150000);
	assert_int_equal(count_to(&up1, "INVITE", 0), 0);
	struct sip_flow *up = &up0;
	char br[64];
	snprintf(br, sizeof(br), "%s", our_branch(last_to(up)));
	const char *cancel = "CANCEL sip:600@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-c;rport\r\n"
	    "From: <sip:user1@example.org>;tag=ft\r\nTo: <sip:600@example.org>\r\n"
	    "Call-ID: call-1\r\nCSeq: 2 CANCEL\r\nContent-Length: 0\r\n\r\n";
	deliver(&phone, cancel, 150100);
	assert_int_equal(count_to(&phone, "SIP/2.0 200 OK", 0), 1);
	/* RFC 3261 9.1: no CANCEL before a provisional response. */
	assert_int_equal(count_to(up, "CANCEL", 0), 0);
	deliver(up, answer(br, 100, "Trying", "INVITE"), 150200);
	assert_int_equal(count_to(up, "CANCEL sip:600@example.org SIP/2.0", 0), 1);
	assert_non_null(strstr(last_to(up), br));
	deliver(up, answer(br, 200, "OK", "CANCEL"), 150300);
	size_t before = nsent;
	deliver(up, answer(br, 487, "Request Terminated", "INVITE"), 150400);
	assert_int_equal(count_to(up, "ACK sip:600@example.org SIP/2.0", before), 1);
	assert_int_equal(count_to(&phone, "SIP/2.0 487 Request Terminated", before), 1);
	/* A CANCEL for nothing: 481. */
	const char *stray = "CANCEL sip:600@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bK-none;rport\r\n"
	    "From: <sip:user1@example.org>;tag=ft\r\nTo: <sip:600@example.org>\r\n"
	    "Call-ID: call-9\r\nCSeq: 2 CANCEL\r\nContent-Length: 0\r\n\r\n";
	deliver(&phone, stray, 150500);
	assert_true(strncmp(last_to(&phone), "SIP/2.0 481 ", 12) == 0);
}

/* user1's dialog (Call-ID call-1, tag ft: confirmed by the first test) is
 * not user2's to take by sending an initial INVITE with the same ids. */
static void
test_dialog_not_taken_over(void **state)
{
	(void)state;
	nsent = 0;
	who = "user2";
	const char *auth = authorize();
	deliver(&phone, invite("z9hG4bK-d", auth, ""), 300000);
	who = "user1";
	assert_true(strncmp(last_to(&phone), "SIP/2.0 403 Forbidden (not a party", 34) == 0);
	assert_int_equal(count_to(&up0, "INVITE", 0) + count_to(&up1, "INVITE", 0), 0);
}

static void
test_fwd_response_pops_one_via(void **state)
{
	static struct sip_msg m;
	struct sip_limits lim = { 65535, 100, 8192 };
	const char *why;
	char buf[1024];
	struct sbuf b;
	(void)state;
	const char *r = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKpg1, "
	    "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@b>;tag=2\r\n"
	    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc";
	assert_int_equal(sip_parse(S(r), false, &lim, &m, &why), SIP_PARSE_OK);
	sbuf_init(&b, buf, sizeof(buf) - 1);
	assert_true(fwd_response(&m, &b));
	buf[b.n] = '\0';
	assert_string_equal(buf, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n"
	    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
	    "Content-Length: 3\r\n\r\nabc");
	/* Nothing under ours: not ours to relay. */
	const char *lone = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKpg1\r\n"
	    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
	assert_int_equal(sip_parse(S(lone), false, &lim, &m, &why), SIP_PARSE_OK);
	sbuf_init(&b, buf, sizeof(buf));
	assert_false(fwd_response(&m, &b));
	assert_slice_equal(fwd_cred_realm(S("Digest username=\"a\", realm=\"asterisk\", nonce=\"x\"")),
	    "asterisk");
	assert_int_equal(fwd_cred_realm(S("Basic YWJj")).n, 0);
}

static void
test_upstream_config_errors(void **state)
{
	static const struct {
		const char *upstream, *transports, *want;
	} cases[] = {
		{ "sips:127.0.0.1:5081", "udp:127.0.0.1:5060", "TLS to the upstream" },
		{ "sip:127.0.0.1:5080;transport=tcp", "udp:127.0.0.1:5060", "only transport=udp" },
		{ "sip:127.0.0.1:5060", "udp:127.0.0.1:5060", "one of our own listeners" },
		{ "sip:127.0.0.1:5080", "udp:0.0.0.0:5060", "needs a specific address" },
		{ "sip:[::1]:5080", "udp:127.0.0.1:5060", "no udp listener of the same address family" },
		{ "sip:pbx.example.org", "udp:127.0.0.1:5060", "numeric address" },
	};
	char path[128], text[512];
	(void)state;
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		struct config_errors e = { 0 };
		snprintf(text, sizeof(text), "[global]\nstatedir = %s\n[sip]\ntransports = %s\n"
		    "upstream = %s\n", dir, cases[i].transports, cases[i].upstream);
		write_file(path, text);
		assert_false(config_load(&c, path, &e));
		bool found = false;
		for (size_t k = 0; k < e.n; k++)
			found = found || strstr(e.msg[k], cases[i].want);
		if (!found)
			fail_msg("'%s': no error mentioning '%s'", cases[i].upstream, cases[i].want);
		config_errors_free(&e);
		config_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_rewrites),
		cmocka_unit_test(test_retransmit_failover_timeout),
		cmocka_unit_test(test_cancel_waits_for_provisional),
		cmocka_unit_test(test_dialog_not_taken_over),
		cmocka_unit_test(test_fwd_response_pops_one_via),
		cmocka_unit_test(test_upstream_config_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
