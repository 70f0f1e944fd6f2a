/* [global] state = redis://...: the URL forms we read and the ones refused,
 * and the messages the nodes send each other. */
#include "testutil.h"

#include "store/redis.h"

static void
test_url(void **state)
{
	(void)state;
	static const struct {
		const char *url, *host, *user, *password;
		unsigned port, db;
	} good[] = {
		{ "redis://127.0.0.1", "127.0.0.1", "", "", 6379, 0 },
		{ "redis://127.0.0.1:6380/3", "127.0.0.1", "", "", 6380, 3 },
		{ "redis://redis.example.org/", "redis.example.org", "", "", 6379, 0 },
		{ "redis://:s3cret@10.0.0.5:7000/1", "10.0.0.5", "", "s3cret", 7000, 1 },
		{ "redis://pbx:s3cret@10.0.0.5", "10.0.0.5", "pbx", "s3cret", 6379, 0 },
		{ "redis://[::1]:6390/2", "::1", "", "", 6390, 2 },
		{ "redis://[fd00::7]", "fd00::7", "", "", 6379, 0 },
		{ "redis://p%40x:a%40b%2Fc%3Ad@h/4", "h", "p@x", "a@b/c:d", 6379, 4 },
	};
	static const char *const bad[] = {
		"http://127.0.0.1", "redis://", "redis://:pw@", "redis://h:0", "redis://h:65536",
		"redis://h:x/1", "redis://h/db", "redis://h/1024", "redis://[::1", "redis://[::1]x", "redis://:a%zz@h", "redis://:a%00@h",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct redis_url u;
		char err[128];
		if (!redis_url_parse(good[i].url, &u, err, sizeof(err)))
			fail_msg("%s refused: %s", good[i].url, err);
		assert_string_equal(u.host, good[i].host);
		assert_string_equal(u.user, good[i].user);
		assert_string_equal(u.password, good[i].password);
		assert_int_equal(u.port, good[i].port);
		assert_int_equal(u.db, good[i].db);
	}
	/* Lettuce's Sentinel form: the sentinels, the database, #the master's name. */
	struct redis_url u;
	char err[160];
	assert_true(redis_url_parse("redis-sentinel://:pw@10.0.0.1,10.0.0.2:26380,[::1]/3#mymaster",
	    &u, err, sizeof(err)));
	assert_true(u.sentinel);
	assert_int_equal(u.nsentinels, 3);
	assert_string_equal(u.sentinels[0].host, "10.0.0.1");
	assert_int_equal(u.sentinels[0].port, 26379);
	assert_int_equal(u.sentinels[1].port, 26380);
	assert_string_equal(u.sentinels[2].host, "::1");
	assert_string_equal(u.master, "mymaster");
	assert_string_equal(u.password, "pw");
	assert_string_equal(u.host, ""); /* asked at run time */
	assert_int_equal(u.db, 3);
	assert_true(redis_url_parse("redis-sentinel://s1#m", &u, err, sizeof(err)));
	assert_int_equal(u.db, 0);
	static const char *const bad_sentinel[] = {
		"redis-sentinel://s1/3", "redis-sentinel://s1/3#", "redis-sentinel://#m",
		"redis-sentinel://s1,,s2#m", "redis-sentinel://s1:0#m", "redis://h1,h2",
		"redis://h#m", "redis-sentinel://a,b,c,d,e,f,g,h,i#m",
	};
	for (size_t i = 0; i < sizeof(bad_sentinel) / sizeof(bad_sentinel[0]); i++)
		if (redis_url_parse(bad_sentinel[i], &u, err, sizeof(err)))
			fail_msg("%s accepted", bad_sentinel[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (redis_url_parse(bad[i], &u, err, sizeof(err)))
			fail_msg("%s accepted (host %s port %u db %u)", bad[i], u.host, u.port, u.db);
		assert_true(strncmp(err, "state: ", 7) == 0);
	}
}

/* What the nodes say to each other on the channel. */
static void
test_messages(void **state)
{
	struct rstate_msg m;
	char as[IPKEY_STRLEN];
	(void)state;
#define P(text) rstate_msg_parse(text, strlen(text), &m)
	assert_true(P("ban 0123456789abcdef 127.0.0.66 1795397779"));
	assert_int_equal(m.kind, RSTATE_BAN);
	assert_string_equal(m.node, "0123456789abcdef");
	assert_string_equal(ipkey_str(&m.addr, as, sizeof(as)), "127.0.0.66");
	assert_int_equal(m.until, 1795397779);
	assert_true(P("unban 0123456789abcdef 2001:db8::1"));
	assert_int_equal(m.kind, RSTATE_UNBAN);
	/* The AOR is the rest of the message, spaces and all. */
	assert_true(P("reg n1 127.0.0.11:5060 1795397779 1795394179 a b@example.org"));
	assert_int_equal(m.kind, RSTATE_REG);
	assert_string_equal(m.where, "127.0.0.11:5060");
	assert_int_equal(m.until, 1795397779);
	assert_int_equal(m.at, 1795394179);
	assert_string_equal(m.aor, "a b@example.org");
	assert_true(P("unreg n1 u1@example.org"));
	assert_int_equal(m.kind, RSTATE_UNREG);
	assert_string_equal(m.aor, "u1@example.org");
	/* Refused: unknown words, missing or bad fields, a NUL, too long. */
	const char *bad[] = { "", "ban", "ban n1 127.0.0.66", "ban n1 127.0.0.66 0",
		"ban n1 not-an-address 5", "ban n1 127.0.0.66 5 extra", "unban n1 10.0.0.0/8",
		"reg n1 127.0.0.1:5060 5 6", "reg n1 127.0.0.1:5060 0 6 aor", "reg n1 h 5 x aor",
		"unreg n1", "unreg n1 ", "kick n1 127.0.0.66",
		"ban 0123456789abcdef0 127.0.0.66 5" /* a node id too long */ };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(P(bad[i]));
	assert_false(rstate_msg_parse("unreg n1 a\0b", 12, &m));
	char big[RSTATE_MSG_MAX + 8];
	memset(big, 'a', sizeof(big));
	memcpy(big, "unreg n1 ", 9);
	assert_false(rstate_msg_parse(big, sizeof(big), &m));
#undef P
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
