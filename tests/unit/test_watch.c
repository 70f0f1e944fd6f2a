/*
 * [watch]: the sshd and Asterisk failure lines fail2ban's filters know,
 * what must not count (a key tried, another program's line, an address in
 * the attacker's own text), and the follower across rotation, truncation
 * and restarts.
 */
#include "testutil.h"

#include <sys/stat.h>

#include "watch/follow.h"
#include "watch/parse.h"

struct row {
	const char *line;
	const char *addr;	/* NULL: not a failure */
};

static void
check(bool (*parse)(struct slice, struct watch_hit *), const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct watch_hit h;
		char as[IPKEY_STRLEN];
		bool hit = parse(slice_cstr(rows[i].line), &h);
		if (!rows[i].addr) {
			if (hit)
				fail_msg("counted: %s (as %s)", rows[i].line,
				    ipkey_str(&h.addr, as, sizeof(as)));
			continue;
		}
		if (!hit)
			fail_msg("missed: %s", rows[i].line);
		ipkey_str(&h.addr, as, sizeof(as));
		if (strcmp(as, rows[i].addr) != 0)
			fail_msg("%s: got %s, want %s", rows[i].line, as, rows[i].addr);
	}
}

static void
test_sshd(void **state)
{
	(void)state;
	static const struct row rows[] = {
		/* sshd -E, as OpenSSH 9.2 writes it */
		{ "Invalid user nosuchuser from 127.0.0.5 port 38771", "127.0.0.5" },
		{ "Failed password for root from 203.0.113.9 port 22 ssh2", "203.0.113.9" },
		{ "Failed password for invalid user admin from 198.51.100.7 port 4242 ssh2",
		  "198.51.100.7" },
		{ "Failed keyboard-interactive/pam for invalid user x from 2001:db8::7 port 1 ssh2",
		  "2001:db8::7" },
		{ "maximum authentication attempts exceeded for root from 192.0.2.1 port 22 ssh2 "
		  "[preauth]", "192.0.2.1" },
		{ "Did not receive identification string from 192.0.2.44 port 5555", "192.0.2.44" },
		{ "User bob from 192.0.2.45 not allowed because not listed in AllowUsers",
		  "192.0.2.45" },
		/* /var/log/auth.log (rsyslog) */
		{ "Nov 22 10:00:00 pbx sshd[812]: Failed password for root from 10.1.2.3 port 22 ssh2",
		  "10.1.2.3" },
		{ "2026-11-22T10:00:00.123456+00:00 pbx sshd-session[99]: Invalid user oracle from "
		  "10.9.9.9 port 50000", "10.9.9.9" },
		/* not failures, or not sshd's */
		{ "Failed publickey for alice from 10.1.2.4 port 22 ssh2", NULL },
		{ "Accepted password for alice from 10.1.2.5 port 22 ssh2", NULL },
		{ "Nov 22 10:00:00 pbx mallory: Failed password for root from 10.6.6.6 port 22 ssh2",
		  NULL },
		{ "Connection closed by invalid user nosuchuser 127.0.0.5 port 38771 [preauth]", NULL },
		/* the user name is the attacker's: the address is sshd's, after it */
		{ "Invalid user x from 10.6.6.6 from 10.7.7.7 port 22", "10.7.7.7" },
		{ "Invalid user x from 10.6.6.6 port 1 junk", NULL },
		{ "Failed password for invalid user y from 10.6.6.6 port 2 from 10.8.8.8 port 3 ssh2",
		  "10.8.8.8" },
		{ "Invalid user no-address from nowhere port 1", NULL },
		{ "", NULL },
	};
	check(watch_parse_sshd, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_asterisk(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{ "[Nov 22 10:00:00] NOTICE[1234] chan_sip.c: Registration from '<sip:100@pbx>' failed "
		  "for '192.0.2.10:5060' - Wrong password", "192.0.2.10" },
		{ "[Nov 22 10:00:00] NOTICE[1234][C-0000001a] chan_sip.c: Registration from "
		  "'\"x\" <sip:1@pbx>' failed for '192.0.2.11' - No matching peer found", "192.0.2.11" },
		{ "[2026-11-22 10:00:00] NOTICE[77] res_pjsip/pjsip_distributor.c: Request 'INVITE' "
		  "from '<sip:1000@pbx>' failed for '192.0.2.12:5060' (callid: abc@1) - No matching "
		  "endpoint found", "192.0.2.12" },
		{ "[Nov 22 10:00:00] NOTICE[9] chan_iax2.c: Host 192.0.2.13 failed to authenticate as "
		  "'3001'", "192.0.2.13" },
		{ "[Nov 22 10:00:00] NOTICE[9] manager.c: 192.0.2.14 failed to authenticate as 'admin'",
		  "192.0.2.14" },
		{ "[Nov 22 10:00:00] NOTICE[9] chan_iax2.c: No registration for peer '3002' (from "
		  "192.0.2.15)", "192.0.2.15" },
		{ "[Nov 22 10:00:00] NOTICE[9][C-00000002] chan_sip.c: Call from '' (UDP:192.0.2.16:5060) "
		  "to extension '011972' rejected because extension not found in context 'public'.",
		  "192.0.2.16" },
		{ "[Nov 22 10:00:00] SECURITY[42] res_security_log.c: SecurityEvent=\"InvalidPassword\","
		  "EventTV=\"2026-11-22T10:00:00.0+0000\",Severity=\"Error\",Service=\"SIP\","
		  "EventVersion=\"2\",AccountID=\"1001\",SessionID=\"0x1\",LocalAddress=\"IPV4/UDP/"
		  "10.0.0.1/5060\",RemoteAddress=\"IPV4/UDP/192.0.2.17/5060\",Challenge=\"1\","
		  "ReceivedChallenge=\"1\",ReceivedHash=\"x\"", "192.0.2.17" },
		{ "[Nov 22 10:00:00] SECURITY[42] res_security_log.c: SecurityEvent=\"ChallengeResponse"
		  "Failed\",AccountID=\"x\",RemoteAddress=\"IPV6/UDP/2001:db8::17/5060\"", "2001:db8::17" },
		/* not failures */
		{ "[Nov 22 10:00:00] SECURITY[42] res_security_log.c: SecurityEvent=\"SuccessfulAuth\","
		  "AccountID=\"1001\",RemoteAddress=\"IPV4/UDP/192.0.2.18/5060\"", NULL },
		{ "[Nov 22 10:00:00] NOTICE[1] chan_sip.c: Registration from '<sip:1@pbx>' failed for "
		  "'192.0.2.19' - Something else", NULL },
		{ "[Nov 22 10:00:00] VERBOSE[1] pbx.c: -- Executing [100@internal:1] Dial", NULL },
		/* the attacker's text: the From and the call ID */
		{ "[Nov 22 10:00:00] NOTICE[1] chan_sip.c: Registration from '<sip:x@y>' failed for "
		  "'10.6.6.6:5060' - Wrong password' failed for '192.0.2.20:5060' - Wrong password",
		  "192.0.2.20" },
		{ "[Nov 22 10:00:00] NOTICE[1] res_pjsip/pjsip_distributor.c: Request 'INVITE' from "
		  "'<sip:a@b>' failed for '192.0.2.21:5060' (callid: x' failed for '10.6.6.6:5060' "
		  "(callid: y) - No matching endpoint found", NULL },
		{ "[Nov 22 10:00:00] SECURITY[42] res_security_log.c: SecurityEvent=\"InvalidPassword\","
		  "AccountID=\"a\",RemoteAddress=\"IPV4/UDP/10.6.6.6/1\"x\",RemoteAddress=\"IPV4/UDP/"
		  "192.0.2.22/5060\"", NULL },
	};
	check(watch_parse_asterisk, rows, sizeof(rows) / sizeof(rows[0]));
}

static char seen[64][256];
static size_t nseen;

static void
collect(void *arg, enum watch_kind kind, const char *path, struct slice line)
{
	(void)arg;
	(void)kind;
	(void)path;
	if (nseen < 64)
		slice_copy(slice_sub(line, 0, line.n > 255 ? 255 : line.n), seen[nseen++], 256);
}

static void
append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct follow *
start(struct config_watch *cw, const char *log, const char *state)
{
	char err[128];
	memset(cw, 0, sizeof(*cw));
	cw->n = 1;
	cw->src[0].kind = WATCH_SSHD;
	snprintf(cw->src[0].path, sizeof(cw->src[0].path), "%s", log);
	snprintf(cw->state, sizeof(cw->state), "%s", state);
	struct follow *f = follow_new(cw, err, sizeof(err));
	assert_non_null(f);
	return f;
}

static void
test_follow(void **state)
{
	(void)state;
	char dir[64], log[128], rot[140], st[128], err[128];
	struct config_watch cw;
	test_tmpdir(dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/auth.log", dir);
	snprintf(rot, sizeof(rot), "%s/auth.log.1", dir);
	snprintf(st, sizeof(st), "%s/watch.state", dir);

	/* A file seen first: its history is skipped; new lines are read,
	 * a partial line waits for its end. */
	write_file(log, "old 1\nold 2\n");
	struct follow *f = start(&cw, log, st);
	nseen = 0;
	assert_int_equal(follow_poll(f, 1 << 20, collect, NULL), 0);
	append(log, "new 1\nnew 2\npart");
	assert_int_equal(follow_poll(f, 1 << 20, collect, NULL), 2);
	assert_string_equal(seen[0], "new 1");
	append(log, "ial\n");
	assert_int_equal(follow_poll(f, 1 << 20, collect, NULL), 1);
	assert_string_equal(seen[2], "partial");
	assert_true(follow_save(f, err, sizeof(err)));
	follow_free(f);

	/* A restart: nothing twice, then what came while stopped. */
	append(log, "while down\n");
	f = start(&cw, log, st);
	nseen = 0;
	assert_int_equal(follow_poll(f, 1 << 20, collect, NULL), 1);
	assert_string_equal(seen[0], "while down");

	/* Rotation by rename: the old file's last lines, then the new file. */
	append(log, "before rotate\n");
	assert_int_equal(rename(log, rot), 0);
	write_file(log, "after rotate\n");
	nseen = 0;
	follow_poll(f, 1 << 20, collect, NULL);
	follow_poll(f, 1 << 20, collect, NULL);
	assert_int_equal(nseen, 2);
	assert_string_equal(seen[0], "before rotate");
	assert_string_equal(seen[1], "after rotate");

	/* copytruncate: from the start again. */
	assert_int_equal(truncate(log, 0), 0);
	append(log, "fresh\n");
	nseen = 0;
	follow_poll(f, 1 << 20, collect, NULL);
	assert_int_equal(nseen, 1);
	assert_string_equal(seen[0], "fresh");
	assert_true(follow_save(f, err, sizeof(err)));
	follow_free(f);

	/* Rotated while stopped: the rest of auth.log.1, then all the new one. */
	append(log, "late in old\n");
	unlink(rot);
	assert_int_equal(rename(log, rot), 0);
	write_file(log, "first of new\n");
	f = start(&cw, log, st);
	nseen = 0;
	follow_poll(f, 1 << 20, collect, NULL);
	assert_int_equal(nseen, 2);
	assert_string_equal(seen[0], "late in old");
	assert_string_equal(seen[1], "first of new");
	follow_free(f);

	unlink(log);
	unlink(rot);
	unlink(st);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sshd),
		cmocka_unit_test(test_asterisk),
		cmocka_unit_test(test_follow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
