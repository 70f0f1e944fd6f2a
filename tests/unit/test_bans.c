/* CIDR keys, ACL groups and the ban engine, driven with a fake clock. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/config.h"
#include "guard/acl.h"
#include "guard/bans.h"

static struct ipkey
ip(const char *s)
{
	struct ipkey k;
	assert_true(ipkey_parse(S(s), &k));
	return k;
}

static struct cidr
net(const char *s)
{
	struct cidr c;
	const char *why;
	assert_true(cidr_parse(S(s), &c, &why));
	return c;
}

static bool
allows(const struct acl_group *g, const char *addr)
{
	struct ipkey k = ip(addr);
	return acl_allows(g, &k);
}

static void
test_cidr(void **state)
{
	struct cidr c;
	const char *why;
	char buf[IPKEY_STRLEN];
	(void)state;

	struct ipkey a = ip("192.0.2.7"), b = ip("2001:db8::7");
	assert_true(ipkey_is_v4(&a));
	assert_false(ipkey_is_v4(&b));
	assert_string_equal(ipkey_str(&a, buf, sizeof(buf)), "192.0.2.7");
	assert_string_equal(ipkey_str(&b, buf, sizeof(buf)), "2001:db8::7");

	c = net("192.0.2.0/24");
	assert_true(cidr_match(&c, &a));
	assert_false(cidr_match(&c, &b));
	struct ipkey outside = ip("192.0.3.1");
	assert_false(cidr_match(&c, &outside));
	c = net("0.0.0.0/0");		/* every IPv4, no IPv6 */
	assert_true(cidr_match(&c, &a));
	assert_false(cidr_match(&c, &b));
	c = net("::/0");		/* everything */
	assert_true(cidr_match(&c, &a) && cidr_match(&c, &b));
	c = net("2001:db8::/32");
	assert_true(cidr_match(&c, &b));
	assert_string_equal(cidr_str(&c, buf, sizeof(buf)), "2001:db8::/32");
	c = net("10.0.0.0/255.0.0.0");	/* Asterisk's netmask form */
	assert_int_equal(c.bits, 96 + 8);
	assert_string_equal(cidr_str(&c, buf, sizeof(buf)), "10.0.0.0/8");
	c = net("198.51.100.9");
	assert_int_equal(c.bits, 128);

	/* What the audit and the firewall ask of a network. */
	static const struct {
		const char *net;
		bool all, loop;
	} kinds[] = {
		{ "0.0.0.0/0", true, false }, { "::/0", true, false },
		{ "0.0.0.0/0.0.0.0", true, false }, { "::/96", false, false },
		{ "10.0.0.0/8", false, false }, { "127.0.0.0/8", false, true },
		{ "127.0.0.1", false, true }, { "::1", false, true }, { "::/127", false, false },
		{ "126.0.0.0/7", false, false },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		c = net(kinds[i].net);
		if (cidr_covers_all(&c) != kinds[i].all || cidr_is_loopback(&c) != kinds[i].loop)
			fail_msg("%s: covers all %d, loopback %d", kinds[i].net, cidr_covers_all(&c),
			    cidr_is_loopback(&c));
	}
	static const struct {
		const char *addr;
		bool loop;
	} hosts[] = { { "127.0.0.1:5060", true }, { "127.9.9.9:1", true }, { "[::1]:5060", true },
		{ "10.0.0.1:1", false }, { "[::2]:1", false }, { "0.0.0.0:1", false } };
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct addr ad;
		assert_true(addr_parse(slice_cstr(hosts[i].addr), &ad));
		if (addr_is_loopback(&ad) != hosts[i].loop)
			fail_msg("%s: loopback %d", hosts[i].addr, addr_is_loopback(&ad));
	}

	assert_false(cidr_parse(S("10.0.0.1/8"), &c, &why));
	assert_non_null(strstr(why, "host bits"));
	assert_false(cidr_parse(S("10.0.0.0/33"), &c, &why));
	assert_false(cidr_parse(S("10.0.0.0/255.0.255.0"), &c, &why));
	assert_false(cidr_parse(S("::1/129"), &c, &why));
	assert_false(cidr_parse(S("localhost"), &c, &why));
	assert_false(cidr_parse(S(""), &c, &why));
	assert_false(cidr_parse(S("10.0.0.0/"), &c, &why));

	/* An IPv4 peer on a dual-stack socket arrives v4-mapped: the same key. */
	struct addr m;
	assert_true(addr_parse(S("[::ffff:192.0.2.7]:5060"), &m));
	struct ipkey km;
	ipkey_from_addr(&m, &km);
	assert_true(ipkey_eq(&km, &a));
}

static void
test_acl_last_match_wins(void **state)
{
	struct acl_rule r1[] = { { false, net("0.0.0.0/0") }, { true, net("10.0.0.0/8") },
		{ false, net("10.9.0.0/16") } };
	struct acl_group g = { "Office", r1, 3 };
	(void)state;
	assert_true(allows(&g, "10.1.2.3"));
	assert_false(allows(&g, "10.9.2.3"));
	assert_false(allows(&g, "192.0.2.1"));
	/* IPv6 matched no rule: the opposite of the first rule (deny) = allow. */
	assert_true(allows(&g, "2001:db8::1"));

	/* Only permits: only what is permitted (the seed's "Local" group). */
	struct acl_rule r2[] = { { true, net("127.0.0.2") } };
	struct acl_group local = { "Local", r2, 1 };
	assert_true(allows(&local, "127.0.0.2"));
	assert_false(allows(&local, "127.0.0.3"));
	assert_false(allows(&local, "::1"));
}

static struct config cfg;
static int nadded, nlifted;
static struct ban_info last;
static enum ban_change last_what;

static void
hook(void *arg, const struct ban_info *bi, enum ban_change what, time_t now, const char *why)
{
	(void)arg;
	(void)now;
	(void)why;
	last_what = what;
	if (what == BAN_STARTED)
		nadded++;
	else
		nlifted++;
	last = *bi;
}

static struct bans *
fresh(void)
{
	config_defaults(&cfg);
	cfg.maxretry = 3;
	cfg.findtime = 60;
	cfg.bantime = 100;
	cfg.bantime_maxtime = 350;
	cfg.pike_limit = 5;
	cfg.pike_window = 2;
	cfg.pike_bantime = 30;
	cfg.account_maxretry = 4;
	cfg.account_findtime = 600;
	cfg.account_locktime = 900;
	cfg.max_tracked = 64;
	cfg.ignoreip[0] = net("192.0.2.0/24");
	cfg.n_ignoreip = 1;
	nadded = nlifted = 0;
	struct bans *b = bans_new(&cfg);
	assert_non_null(b);
	bans_set_hook(b, hook, NULL);
	return b;
}

static void
test_ban_after_maxretry_within_findtime(void **state)
{
	struct bans *b = fresh();
	struct ipkey a = ip("198.51.100.1");
	time_t t = 1000;
	(void)state;

	/* Two failures, then a pause longer than findtime: no ban. */
	assert_false(bans_fail(b, &a, t));
	assert_false(bans_fail(b, &a, t + 10));
	assert_false(bans_fail(b, &a, t + 80));	/* the first two fell out */
	assert_false(bans_check(b, &a, t + 80));
	assert_false(bans_fail(b, &a, t + 81));
	assert_true(bans_fail(b, &a, t + 82));	/* 3 within 60 s */
	assert_int_equal(nadded, 1);
	assert_true(bans_check(b, &a, t + 83));
	assert_int_equal(last.until, t + 82 + 100);
	assert_int_equal(last.reason, BAN_FAILURES);

	/* Another address is untouched. */
	struct ipkey o = ip("198.51.100.2");
	assert_false(bans_check(b, &o, t + 83));

	/* Expiry: lifted by the sweep, hook told. */
	assert_true(bans_check(b, &a, t + 181));
	assert_false(bans_check(b, &a, t + 182));
	bans_sweep(b, t + 182);
	assert_int_equal(nlifted, 1);
	assert_int_equal(last_what, BAN_EXPIRED);
	struct ban_info bi[4];
	assert_int_equal(bans_list(b, t + 182, bi, 4), 0);
	bans_free(b);
}

static void
test_bantime_increment(void **state)
{
	struct bans *b = fresh();
	struct ipkey a = ip("2001:db8::66");
	time_t t = 5000;
	unsigned want[] = { 100, 200, 350, 350 }; /* doubled, capped at maxtime */
	(void)state;

	for (int round = 0; round < 4; round++) {
		for (unsigned i = 0; i < cfg.maxretry; i++)
			bans_fail(b, &a, t + i);
		assert_int_equal(nadded, round + 1);
		assert_int_equal(last.count, round + 1);
		assert_int_equal(last.until - last.last, want[round]);
		t = last.until + 1;
		bans_sweep(b, t);
	}
	/* Without increment: always bantime. */
	cfg.bantime_increment = false;
	for (unsigned i = 0; i < cfg.maxretry; i++)
		bans_fail(b, &a, t + i);
	assert_int_equal(last.until - last.last, 100);
	cfg.bantime_increment = true;

	/* History is forgotten after bantime.maxtime + a day: back to bantime. */
	t = last.until + 350 + 86400 + 10;
	bans_sweep(b, t);
	for (unsigned i = 0; i < cfg.maxretry; i++)
		bans_fail(b, &a, t + i);
	assert_int_equal(last.count, 1);
	assert_int_equal(last.until - last.last, 100);
	bans_free(b);
}

static void
test_pike_and_ignore(void **state)
{
	struct bans *b = fresh();
	struct ipkey a = ip("203.0.113.5"), ok = ip("192.0.2.44");
	time_t t = 100;
	(void)state;

	assert_true(bans_ignored(b, &ok));
	assert_false(bans_ignored(b, &a));
	/* 5 per 2 s are fine, window after window. */
	for (int w = 0; w < 3; w++)
		for (int i = 0; i < 5; i++)
			assert_false(bans_request(b, &a, t + 2 * w));
	/* The 6th in one window: a flood ban of pike-bantime. */
	t += 6;
	for (int i = 0; i < 5; i++)
		assert_false(bans_request(b, &a, t));
	assert_true(bans_request(b, &a, t));
	assert_int_equal(last.reason, BAN_FLOOD);
	assert_int_equal(last.until, t + 30);
	assert_true(bans_check(b, &a, t + 1));
	/* Hits are counted while banned. */
	bans_check(b, &a, t + 2);
	struct ban_info bi[2];
	assert_int_equal(bans_list(b, t + 2, bi, 2), 1);
	assert_int_equal(bi[0].hits, 2);

	/* Manual unban lifts it at once. */
	assert_true(bans_unban(b, &a, t + 3));
	assert_int_equal(last_what, BAN_LIFTED); /* by hand: the cluster tells the others */
	assert_false(bans_check(b, &a, t + 3));
	assert_false(bans_unban(b, &a, t + 3));
	bans_free(b);
}

static void
test_table_is_bounded(void **state)
{
	struct bans *b = fresh();
	(void)state;
	/* Ten thousand sources through a 64-entry table: no growth, no crash,
	 * and a source seen just now still has its counters. */
	for (unsigned i = 0; i < 10000; i++) {
		struct ipkey k = ip("10.0.0.0");
		k.b[14] = (uint8_t)(i >> 8);
		k.b[15] = (uint8_t)i;
		bans_fail(b, &k, 1000);
	}
	struct ipkey a = ip("198.51.100.200");
	bans_fail(b, &a, 2000);
	bans_fail(b, &a, 2001);
	assert_true(bans_fail(b, &a, 2002));
	bans_free(b);
}

static void
test_account_lock_spares_the_owner(void **state)
{
	struct bans *b = fresh();
	struct slice acct = S("1001@example.org");
	struct ipkey owner = ip("198.51.100.10"), other = ip("198.51.100.99");
	time_t t = 10000;
	(void)state;

	bans_account_ok(b, acct, &owner, t);
	/* The owner mistyping does not count. */
	for (int i = 0; i < 10; i++)
		assert_false(bans_account_fail(b, acct, &owner, t + i));
	/* Four failures from four new addresses: locked. */
	for (int i = 0; i < 4; i++) {
		struct ipkey k = ip("203.0.113.0");
		k.b[15] = (uint8_t)(i + 1);
		assert_int_equal(bans_account_fail(b, acct, &k, t + 100 + i), i == 3);
	}
	assert_true(bans_account_locked(b, acct, &other, t + 200));
	assert_false(bans_account_locked(b, acct, &owner, t + 200));
	assert_false(bans_account_locked(b, S("1002@example.org"), &other, t + 200));
	/* The lock ends after account-locktime. */
	assert_false(bans_account_locked(b, acct, &other, t + 103 + 900));
	bans_free(b);
}

static void
test_state_roundtrip_and_corruption(void **state)
{
	struct bans *b = fresh();
	struct ipkey a = ip("198.51.100.1"), v6 = ip("2001:db8::1");
	struct ban_info bi[4];
	time_t t = 50000;
	char err[256];
	size_t n;
	(void)state;

	assert_true(bans_ban(b, &a, 0, BAN_MANUAL, t, NULL));
	assert_true(bans_ban(b, &v6, 500, BAN_FAILURES, t, NULL));
	bans_account_ok(b, S("we ird%@example.org"), &a, t);
	for (int i = 0; i < 4; i++) {
		struct ipkey k = ip("203.0.113.0");
		k.b[15] = (uint8_t)(i + 1);
		bans_account_fail(b, S("we ird%@example.org"), &k, t);
	}
	assert_true(bans_dirty(b));
	char *text = bans_serialize(b, t, &n);
	assert_non_null(text);
	assert_false(bans_dirty(b));
	assert_non_null(strstr(text, "we%20ird%25@example.org"));
	bans_free(b);

	b = fresh();
	assert_int_equal(bans_load_text(b, text, n, "state", t + 10, err, sizeof(err)), 0);
	assert_int_equal(bans_list(b, t + 10, bi, 4), 2);
	assert_true(bans_check(b, &v6, t + 499));
	assert_false(bans_check(b, &v6, t + 500));
	assert_true(bans_account_locked(b, S("we ird%@example.org"), &v6, t + 10));
	assert_false(bans_account_locked(b, S("we ird%@example.org"), &a, t + 10));
	/* History survives: the next ban of a is its second, twice as long. */
	bans_sweep(b, t + 1000);
	assert_true(bans_ban(b, &a, 0, BAN_MANUAL, t + 1000, &bi[0]));
	assert_int_equal(bi[0].count, 2);
	assert_int_equal(bi[0].until - bi[0].last, 200);
	bans_free(b);
	free(text);

	/* Damaged lines are skipped and reported; good ones are kept. */
	b = fresh();
	const char *bad = "version 1\n"
	    "ban 198.51.100.7 99999999 50000 1 failures 0\n"
	    "ban not-an-address 1 1 1 failures 0\n"
	    "ban 198.51.100.8 99999999\n"
	    "good %zz 1.2.3.4 5\n"
	    "frobnicate\n"
	    "lock a@b 99999999 extra\n";
	assert_int_equal(bans_load_text(b, bad, strlen(bad), "state", t, err, sizeof(err)), 5);
	assert_string_equal(err, "state:3: not an IP address");
	assert_int_equal(bans_list(b, t, bi, 4), 1);
	bans_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_acl_last_match_wins),
		cmocka_unit_test(test_ban_after_maxretry_within_findtime),
		cmocka_unit_test(test_bantime_increment),
		cmocka_unit_test(test_pike_and_ignore),
		cmocka_unit_test(test_table_is_bounded),
		cmocka_unit_test(test_account_lock_spares_the_owner),
		cmocka_unit_test(test_state_roundtrip_and_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
