/* [global] state = redis://...: the URL forms we read and the ones refused. */
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
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct redis_url u;
		char err[128] = "";
		if (redis_url_parse(bad[i], &u, err, sizeof(err)))
			fail_msg("%s accepted (host %s port %u db %u)", bad[i], u.host, u.port, u.db);
		assert_true(strncmp(err, "state: ", 7) == 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
