/* The web door without sockets: the request parser's limits and refusals,
 * Basic decoding, the JSON and Prometheus writers' escaping, the credential
 * cache, and the guard's two-step web login with Require. */
#include "testutil.h"

#include "core/json.h"
#include "core/prom.h"
#include "guard/credcache.h"
#include "guard/guard.h"
#include "http/basic.h"
#include "http/parse.h"
#include "store/htpasswd.h"

static enum http_parse
req(const char *text, struct http_head *h, unsigned *status, const char **why)
{
	return http_parse_request(slice_cstr(text), HTTP_MAX_HEAD, h, status, why);
}

static void
test_parse_request(void **state)
{
	struct http_head h;
	unsigned st;
	const char *why;
	(void)state;

	assert_int_equal(req("GET /pbxguard/api/state?x=1 HTTP/1.1\r\nHost: a:1\r\n"
	    "authorization:  Basic YTpi \r\nConnection: keep-alive, close\r\n\r\nrest", &h, &st,
	    &why), HTTP_OK);
	assert_slice_equal(h.method, "GET");
	assert_slice_equal(h.path, "/pbxguard/api/state");
	assert_slice_equal(h.query, "x=1");
	assert_slice_equal(h.host, "a:1");
	assert_slice_equal(h.authorization, "Basic YTpi");
	assert_true(h.close && h.keep_alive);
	assert_int_equal(h.minor, 1);
	assert_int_equal(h.head_len, strlen("GET /pbxguard/api/state?x=1 HTTP/1.1\r\nHost: a:1\r\n"
	    "authorization:  Basic YTpi \r\nConnection: keep-alive, close\r\n\r\n"));
	/* Bare LF lines and HTTP/1.0 without Host. */
	assert_int_equal(req("GET / HTTP/1.0\n\n", &h, &st, &why), HTTP_OK);
	/* Not yet complete: more, not malformed. */
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: x\r\n", &h, &st, &why), HTTP_MORE);
	assert_int_equal(req("GET / HT", &h, &st, &why), HTTP_MORE);

	static const struct {
		const char *text;
		unsigned status;
	} bad[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 400 },				/* no Host */
		{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
		{ "GET / FTP/1.0\r\n\r\n", 400 },
		{ "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400 },		/* absolute form */
		{ "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },		/* space before ':' */
		{ "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\x01\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (req(bad[i].text, &h, &st, &why) != HTTP_BAD || st != bad[i].status)
			fail_msg("case %zu: status %u (%s)", i, st, why ? why : "accepted");
	}
	/* Sizes: 100 fields pass, 101 are 431; a head over the cap is 431. */
	char big[HTTP_MAX_HEAD + 64];
	int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 99; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "X-%d: y\r\n", i);
	snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
	assert_int_equal(req(big, &h, &st, &why), HTTP_OK);
	snprintf(big + n, sizeof(big) - (size_t)n, "X-Last: y\r\n\r\n");
	assert_int_equal(req(big, &h, &st, &why), HTTP_BAD);
	assert_int_equal(st, 431);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "GET /", 5);
	assert_int_equal(req(big, &h, &st, &why), HTTP_BAD);
	assert_int_equal(st, 414);
}

static void
test_parse_response(void **state)
{
	struct http_head h;
	const char *why;
	(void)state;

	static const char r[] = "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(http_parse_response(slice_cstr(r), HTTP_MAX_HEAD, &h, &why), HTTP_OK);
	assert_int_equal(h.status, 302);
	assert_slice_equal(h.reason, "Found");
	assert_false(h.has_length); /* Transfer-Encoding wins */
	assert_slice_equal(http_field(&h, "location"), "/x");
	assert_int_equal(http_parse_response(slice_cstr("HTTP/1.1 20 OK\r\n\r\n"), HTTP_MAX_HEAD,
	    &h, &why), HTTP_BAD);
}

static void
test_basic(void **state)
{
	char buf[BASIC_MAX];
	struct slice u, p;
	(void)state;

	/* RFC 7617's example: Aladdin:open sesame. */
	assert_int_equal(basic_decode(S("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), buf, &u, &p),
	    BASIC_OK);
	assert_slice_equal(u, "Aladdin");
	assert_slice_equal(p, "open sesame");
	/* The scheme is case-insensitive; a password may hold ':'. */
	assert_int_equal(basic_decode(S("basic YTpiOmM="), buf, &u, &p), BASIC_OK);
	assert_slice_equal(u, "a");
	assert_slice_equal(p, "b:c");
	/* Unpadded base64 is read too. */
	assert_int_equal(basic_decode(S("Basic YTpiOmM"), buf, &u, &p), BASIC_OK);
	assert_int_equal(basic_decode(S("Digest username=\"a\""), buf, &u, &p),
	    BASIC_OTHER_SCHEME);
	assert_int_equal(basic_decode(S("Basic"), buf, &u, &p), BASIC_MALFORMED);
	assert_int_equal(basic_decode(S("Basic !!!!"), buf, &u, &p), BASIC_MALFORMED);
	assert_int_equal(basic_decode(S("Basic YWJj"), buf, &u, &p), BASIC_MALFORMED); /* no ':' */
	assert_int_equal(basic_decode(S("Basic YTpi=A=="), buf, &u, &p), BASIC_MALFORMED);
	assert_int_equal(basic_decode(S("Basic YQo6Yg=="), buf, &u, &p), BASIC_MALFORMED); /* LF */
}

static void
test_json_and_prom(void **state)
{
	struct dbuf b;
	struct json j;
	(void)state;

	dbuf_init(&b, 4096);
	json_init(&j, &b);
	json_obj(&j, NULL);
	json_str(&j, "a", (struct slice){ "<script>\"x\\\x01\xff\xc3\xa9", 15 });
	json_arr(&j, "n");
	json_int(&j, NULL, -1);
	json_uint(&j, NULL, 2);
	json_end_arr(&j);
	json_bool(&j, "t", true);
	json_end_obj(&j);
	assert_false(b.failed);
	assert_memory_equal(b.p, "{\"a\":\"\\u003cscript\\u003e\\\"x\\\\\\u0001\\ufffd\xc3\xa9\","
	    "\"n\":[-1,2],\"t\":true}", b.n);
	dbuf_free(&b);

	dbuf_init(&b, 4096);
	prom_family(&b, "x_total", "counter", "Things.");
	prom_sample(&b, "x_total", (const char *const[]){ "a", "q\"\\\n", "b", "2", NULL }, 3);
	prom_sample(&b, "x_total", NULL, 0.5);
	assert_memory_equal(b.p, "# HELP x_total Things.\n# TYPE x_total counter\n"
	    "x_total{a=\"q\\\"\\\\\\n\",b=\"2\"} 3\nx_total 0.5\n", b.n);
	dbuf_free(&b);
}

static void
test_credcache(void **state)
{
	uint8_t k1[32], k2[32], k3[32];
	(void)state;

	assert_null(credcache_new(0, 300));
	assert_null(credcache_new(16, 0));
	struct credcache *c = credcache_new(4, 10);
	assert_non_null(c);
	credcache_key(c, S("ab"), S("c"), k1);
	credcache_key(c, S("a"), S("bc"), k2);
	assert_memory_not_equal(k1, k2, 32); /* the split matters */
	assert_false(credcache_hit(c, k1, 100));
	credcache_put(c, k1, 100);
	assert_true(credcache_hit(c, k1, 109));
	assert_false(credcache_hit(c, k1, 110)); /* expired */
	credcache_put(c, k1, 200);
	credcache_flush(c);
	assert_false(credcache_hit(c, k1, 201));
	/* Bounded: more keys than slots never grows it, and fresh keys win. */
	for (int i = 0; i < 50; i++) {
		char pw[16];
		snprintf(pw, sizeof(pw), "p%d", i);
		credcache_key(c, S("u"), slice_cstr(pw), k3);
		credcache_put(c, k3, 300 + i);
	}
	assert_true(credcache_hit(c, k3, 350));
	size_t live;
	uint64_t hits, misses;
	credcache_stats(c, 350, &live, &hits, &misses);
	assert_true(live <= 4);
	/* Another cache (another start) keys the same credentials differently. */
	struct credcache *c2 = credcache_new(4, 10);
	credcache_key(c2, S("ab"), S("c"), k2);
	assert_memory_not_equal(k1, k2, 32);
	credcache_free(c2);
	credcache_free(c);
}

static void
test_guard_web(void **state)
{
	struct config cfg;
	struct guard_verdict v;
	struct guard_web_job job;
	char err[256], hash[HTP_MAX_HASH], text[2 * HTP_MAX_HASH + 32];
	(void)state;

	test_config_example_org(&cfg);
	cfg.bans_enabled = true;
	cfg.account_maxretry = 3;
	cfg.http.enabled = true;
	cfg.http.nrequire = 1;
	cfg.http.require[0].kind = REQUIRE_USER;
	snprintf(cfg.http.require[0].words, sizeof(cfg.http.require[0].words), "rbowen sungo");
	struct guard *g = guard_new(&cfg, NULL);
	assert_non_null(g);
	assert_true(htp_hash(HTP_SHA512, 0, 0, "mypassword", 10, hash, sizeof(hash), err,
	    sizeof(err)));
	snprintf(text, sizeof(text), "rbowen:%s\nother:%s\n", hash, hash);
	struct htp_users *u = htp_parse(text, strlen(text), "t", err, sizeof(err));
	assert_non_null(u);
	struct addr a;
	addr_parse(S("127.0.0.1:5000"), &a);
	struct guard_source src = { &a, &a, "TLS", "HTTP", CONFIG_NO_ACL };
	struct guard_web_login rq = { &src, u, NULL, S("rbowen"), S("mypassword"), 1000 };

	guard_web_prepare(g, &rq, &job);
	assert_false(job.cached);
	assert_string_equal(job.hash, hash);
	assert_true(guard_web_login(g, &rq, &job, htp_verify(job.hash, "mypassword", 10), &v));
	assert_true(v.has_event && v.event == SECEVENT_SUCCESSFUL_AUTH);
	/* Now cached: no hash to run, no second login event. */
	guard_web_prepare(g, &rq, &job);
	assert_true(job.cached);
	assert_true(guard_web_login(g, &rq, &job, false, &v));
	assert_false(v.has_event);
	/* Wrong password: a strike. Unknown user: the same hash cost, a strike. */
	rq.password = S("nope");
	guard_web_prepare(g, &rq, &job);
	assert_false(job.cached);
	assert_false(guard_web_login(g, &rq, &job, htp_verify(job.hash, "nope", 4), &v));
	assert_int_equal(v.event, SECEVENT_INVALID_PASSWORD);
	assert_true(v.strike);
	rq.username = S("ghost");
	guard_web_prepare(g, &rq, &job);
	assert_string_equal(job.hash, hash); /* a real user's: same algorithm, same cost */
	assert_false(guard_web_login(g, &rq, &job, false, &v));
	assert_int_equal(v.event, SECEVENT_INVALID_ACCOUNT_ID);
	assert_true(v.strike);
	/* Right password, but Require leaves the user out: refused, no strike. */
	rq.username = S("other");
	rq.password = S("mypassword");
	guard_web_prepare(g, &rq, &job);
	assert_false(guard_web_login(g, &rq, &job, htp_verify(job.hash, "mypassword", 10), &v));
	assert_int_equal(v.event, SECEVENT_REQUEST_NOT_ALLOWED);
	assert_false(v.strike);
	/* Reported from many addresses, it never locks the account either. */
	for (int i = 0; i < 10; i++) {
		char as[32];
		struct addr from;
		snprintf(as, sizeof(as), "10.0.0.%d:5000", i + 1);
		addr_parse(slice_cstr(as), &from);
		struct guard_source s2 = { &from, &a, "TLS", "HTTP", CONFIG_NO_ACL };
		rq.src = &s2;
		guard_web_prepare(g, &rq, &job);
		assert_false(guard_web_login(g, &rq, &job, true, &v));
		assert_int_equal(v.event, SECEVENT_REQUEST_NOT_ALLOWED);
		guard_report(g, &s2, SLICE_NULL, &v);
	}
	rq.src = &src;
	/* A flushed cache (the file changed) forgets rbowen. */
	guard_web_flush(g);
	rq.username = S("rbowen");
	guard_web_prepare(g, &rq, &job);
	assert_false(job.cached);
	/* Users one at a time (AuthDBDUserPWQuery): a name the database does not
	 * know comes with an empty table, and is checked against the last known
	 * user's hash, not against nothing. */
	struct htp_users empty = { 0 };
	rq.users = &empty;
	rq.username = S("nobody");
	guard_web_prepare(g, &rq, &job);
	assert_string_equal(job.hash, hash);
	assert_false(guard_web_login(g, &rq, &job, true, &v));
	assert_int_equal(v.event, SECEVENT_INVALID_ACCOUNT_ID);
	htp_free(u);
	guard_free(g);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test(test_parse_response),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_json_and_prom),
		cmocka_unit_test(test_credcache),
		cmocka_unit_test(test_guard_web),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
