/* The AMI front door without sockets: the seed's vectors, Asterisk's framing
 * and answers byte for byte, logins, permissions, the relay's rewriting. */
#include "testutil.h"

#include "ami/frame.h"
#include "ami/perm.h"
#include "ami/policy.h"
#include "ami/relay.h"
#include "ami/session.h"
#include "guard/guard.h"
#include "store/mgrusers.h"
#include "store/store.h"

static struct config cfg;
static struct store *st;
static struct guard *g;
static struct mgr_users *users;
static struct ami_ctx ctx;
static char out[65536];
static size_t nout;

static const char users_text[] =
	"[general]\n"
	"enabled = yes\n"
	"[tmpl](!)\n"
	"read = system,call,security\n"
	"[joebob](tmpl)\n"
	"secret = yoyodyne11\n"
	"write = system,call,originate   ; comment\n"
	"[reader]\n"
	"secret = r3ad\\;er\n"
	"read = call\n"
	"write = call\n"
	"[lan]\n"
	"secret = lanpass\n"
	"deny = 0.0.0.0/0.0.0.0\n"
	"permit = 192.168.1.77/255.255.255.0\n"
	"write = all\n"
	"[root]\n"
	"secret = rootpass\n"
	"read = all\n"
	"write = all,command\n";

static void
capture(void *conn, const char *p, size_t n)
{
	(void)conn;
	assert_true(nout + n < sizeof(out));
	memcpy(out + nout, p, n);
	nout += n;
	out[nout] = '\0';
}

static int
setup(void **state)
{
	char err[512];
	(void)state;
	test_config_example_org(&cfg);
	cfg.ami.enabled = true;
	cfg.bans_enabled = false;
	st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	assert_non_null(st);
	g = guard_new(&cfg, st);
	assert_non_null(g);
	users = mgr_users_parse(users_text, sizeof(users_text) - 1, "manager.conf", &cfg, err,
	    sizeof(err));
	assert_non_null(users);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	ctx.guard = g;
	ctx.users = users;
	ctx.started = ctx.reloaded = time(NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	mgr_users_free(users);
	guard_free(g);
	store_free(st);
	config_free(&cfg);
	return 0;
}

/* ---- the seed's MD5 login ------------------------------------------------ */

static void
test_seed_vector(void **state)
{
	char key[33];
	(void)state;
	/* seed 002: md5 -s 125065091yoyodyne11 */
	guard_ami_key(S("125065091"), S("yoyodyne11"), key);
	assert_string_equal(key, "e83a9e59e7c8d1bb6554982275d05016");

	/* and the shared vector file's line, made by another tool */
	FILE *f = fopen("tests/vectors/challenge-auth.txt", "r");
	assert_non_null(f);
	char line[512];
	bool seen = false;
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "ami-md5|", 8) != 0)
			continue;
		char *ch = line + 8, *sec = strchr(ch, '|'), *want = sec ? strchr(sec + 1, '|') : NULL;
		assert_non_null(want);
		*sec++ = '\0';
		*want++ = '\0';
		want[strcspn(want, "\r\n")] = '\0';
		guard_ami_key(S(ch), S(sec), key);
		assert_string_equal(key, want);
		seen = true;
	}
	fclose(f);
	assert_true(seen);
}

/* ---- framing ------------------------------------------------------------- */

static void
test_frame(void **state)
{
	struct ami_reader r;
	size_t used;
	bool oom;
	const struct ami_msg *m;
	(void)state;

	assert_true(ami_reader_init(&r, AMI_MAX_LINE, AMI_MAX_HEADERS));
	/* CRLF and a bare LF, split anywhere */
	m = ami_reader_feed(&r, S("Action: Ping\r\nActionID:x1\n"), &used, &oom);
	assert_null(m);
	m = ami_reader_feed(&r, S("\r"), &used, &oom);
	assert_null(m);
	m = ami_reader_feed(&r, S("\nAction: Next"), &used, &oom);
	assert_non_null(m);
	assert_int_equal(used, 1);
	assert_int_equal(m->n, 2);
	assert_int_equal(m->status, AMI_MSG_OK);
	assert_slice_equal(ami_get(m, "action"), "Ping");
	assert_slice_equal(ami_get(m, "ActionID"), "x1");
	assert_slice_equal(ami_get(m, "Missing"), "");

	/* Asterisk keeps 1024 bytes: a line with its CRLF must fit in them */
	char line[1100];
	memset(line, 'a', sizeof(line));
	memcpy(line, "Action: ", 8);
	memcpy(line + 1022, "\r\n\r\n", 4);
	m = ami_reader_feed(&r, (struct slice){ line, 1026 }, &used, &oom);
	assert_non_null(m);
	assert_int_equal(m->status, AMI_MSG_OK);
	memset(line, 'a', sizeof(line));
	memcpy(line + 1023, "\r\n\r\n", 4);
	m = ami_reader_feed(&r, (struct slice){ line, 1027 }, &used, &oom);
	assert_non_null(m);
	assert_int_equal(m->status, AMI_MSG_LINE_TOO_LONG);
	/* ...and the connection goes on: the next message is fine */
	memset(line, 'b', sizeof(line));
	m = ami_reader_feed(&r, (struct slice){ line, sizeof(line) }, &used, &oom);
	assert_null(m);
	m = ami_reader_feed(&r, S("tail of the long line\r\nActionID: 7\r\n\r\n"), &used, &oom);
	assert_non_null(m);
	assert_int_equal(m->status, AMI_MSG_LINE_TOO_LONG);
	assert_slice_equal(ami_get(m, "ActionID"), "7");
	m = ami_reader_feed(&r, S("Action: Ping\r\n\r\n"), &used, &oom);
	assert_non_null(m);
	assert_int_equal(m->status, AMI_MSG_OK);

	/* 128 lines pass, the 129th marks the message */
	char many[129 * 8 + 4];
	size_t o = 0;
	for (int i = 0; i < 129; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "K%03d: v\n", i);
	memcpy(many + o, "\r\n", 2);
	m = ami_reader_feed(&r, (struct slice){ many, o + 2 }, &used, &oom);
	assert_non_null(m);
	assert_int_equal(m->status, AMI_MSG_TOO_MANY);
	assert_int_equal(m->n, 128);
	m = ami_reader_feed(&r, (struct slice){ many + 8, o + 2 - 8 }, &used, &oom);
	assert_non_null(m);
	assert_int_equal(m->status, AMI_MSG_OK);

	ami_reader_free(&r);
}

static void
test_frame_nul(void **state)
{
	struct ami_reader r;
	size_t used;
	bool oom;
	(void)state;
	assert_true(ami_reader_init(&r, AMI_MAX_LINE, 8));
	const struct ami_msg *m = ami_reader_feed(&r, (struct slice){ "Action: x\0y\r\n\r\n", 15 },
	    &used, &oom);
	assert_non_null(m);
	assert_int_equal(m->status, AMI_MSG_BAD_BYTES);
	ami_reader_free(&r);
}

/* ---- classes --------------------------------------------------------------- */

static void
test_perm(void **state)
{
	char buf[256], unknown[64];
	int expl;
	(void)state;
	assert_int_equal(ami_perm_parse(S("system,call"), &expl, NULL, 0), AMI_SYSTEM | AMI_CALL);
	assert_int_equal(expl, AMI_SYSTEM | AMI_CALL);
	assert_int_equal(ami_perm_parse(S("all"), &expl, NULL, 0), AMI_ALL);
	assert_int_equal(expl, 0); /* "all" names nothing one by one */
	assert_int_equal(ami_perm_parse(S("none"), NULL, NULL, 0), 0);
	assert_int_equal(ami_perm_parse(S("call, bogus,log"), NULL, unknown, sizeof(unknown)),
	    AMI_CALL | AMI_LOG);
	assert_string_equal(unknown, "bogus");
	assert_int_equal(ami_perm_mask(S("on")), AMI_ALL);
	assert_int_equal(ami_perm_mask(S("off")), 0);
	assert_int_equal(ami_perm_mask(S("6")), 6);
	assert_int_equal(ami_perm_mask(S("")), -1);
	ami_perm_str(AMI_SYSTEM | AMI_CALL, buf, sizeof(buf));
	assert_string_equal(buf, "system,call,all");
	ami_perm_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "<none>");
}

/* ---- manager.conf --------------------------------------------------------- */

static void
test_users_file(void **state)
{
	char err[512];
	(void)state;
	assert_int_equal(users->n, 4); /* [general] and the template are no users */
	const struct mgr_user *u = mgr_users_find(users, "JOEBOB", 6);
	assert_non_null(u);
	assert_string_equal(u->secret, "yoyodyne11");
	assert_string_equal(u->read, "system,call,security"); /* from the template */
	assert_string_equal(u->write, "system,call,originate");
	assert_string_equal(mgr_users_find(users, "reader", 6)->secret, "r3ad;er");
	/* Asterisk masks the host bits of permit=209.16.236.73/255.255.255.0 */
	const struct mgr_user *lan = mgr_users_find(users, "lan", 3);
	assert_int_equal(lan->ha.n, 2);
	assert_int_equal(lan->ha.rules[1].net.bits, 96 + 24);

	static const struct { const char *text, *why; } bad[] = {
		{ "[a]\nsecret = x\n[a]\n", "manager.conf:3: [a] appears twice" },
		{ "secret = x\n", "manager.conf:1: 'secret' before any [section]" },
		{ "[a]\npermit = 10.0.0.300\n", "manager.conf:2: [a]: permit = 10.0.0.300" },
		{ "[a]\n#include other.conf\n", "manager.conf:2: #include other.conf: not supported" },
		{ "[a](nothere)\n", "manager.conf:1: [a]: no earlier template named 'nothere'" },
		{ "[a]\nacl = office\n", "manager.conf:2: [a]: acl = office: no [acl:office]" },
		{ "[a]\ndisplayconnects = maybe\n", "expected yes or no" },
		{ "[A]\nsecret = 1\n[a]\nsecret = 2\n", "a user of that name (in another case)" },
		{ "[a\n", "manager.conf:1: section name without ']'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mgr_users *u2 = mgr_users_parse(bad[i].text, strlen(bad[i].text),
		    "manager.conf", &cfg, err, sizeof(err));
		assert_null(u2);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: got '%s'", bad[i].why, err);
	}
	struct mgr_users *w = mgr_users_parse("[a]\nsetvar = X=1\n", 16, "m.conf", &cfg, err,
	    sizeof(err));
	assert_non_null(w);
	assert_int_equal(w->nwarn, 2); /* setvar ignored, and no secret */
	mgr_users_free(w);
}

/* ---- sessions --------------------------------------------------------------- */

static struct addr remote, local;

static void
start(struct ami_session *s, bool tls)
{
	addr_parse(S("127.0.0.1:40000"), &remote);
	addr_parse(S("127.0.0.1:5038"), &local);
	nout = 0;
	ctx.unauth++;
	assert_true(ami_session_init(s, &ctx, 7, &remote, &local, tls, capture, NULL));
}

static enum ami_next
say(struct ami_session *s, const char *text)
{
	size_t used;
	nout = 0;
	out[0] = '\0';
	enum ami_next n = ami_session_input(s, S(text), &used);
	if (n == AMI_CONTINUE)
		assert_int_equal(used, strlen(text));
	return n;
}

static void
test_greeting_and_prelogin(void **state)
{
	struct ami_session s;
	(void)state;
	start(&s, false);
	/* no blank line after the greeting */
	assert_string_equal(out, "Asterisk Call Manager/" CONFIG_AMI_VERSION "\r\n");
	assert_int_equal(say(&s, "Action: Ping\r\nActionID: 42\r\n\r\n"), AMI_CONTINUE);
	assert_string_equal(out, "Response: Error\r\nActionID: 42\r\nMessage: Permission denied\r\n\r\n");
	say(&s, "\r\n");
	assert_string_equal(out, "Response: Error\r\nMessage: Missing action in request\r\n\r\n");
	say(&s, "Action: Challenge\r\nActionID: c\r\n\r\n");
	assert_string_equal(out, "Response: Error\r\nActionID: c\r\nMessage: Must specify AuthType\r\n\r\n");
	/* before login, 32 lines at most */
	char many[40 * 8 + 3] = "";
	for (int i = 0; i < 40; i++)
		strcat(many, "X: abc\r\n");
	strcat(many, "\r\n");
	say(&s, many);
	assert_string_equal(out, "Response: Error\r\nMessage: Too many lines in message or "
	    "allocation failure\r\n\r\n");
	assert_int_equal(say(&s, "Action: Logoff\r\n\r\n"), AMI_CLOSE);
	assert_string_equal(out, "Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n");
	ami_session_destroy(&s);
	ctx.unauth--;

	/* A stranger gets AMI_PREAUTH_ERRORS refusals, then the door closes. */
	start(&s, false);
	for (int i = 1; i < AMI_PREAUTH_ERRORS; i++)
		assert_int_equal(say(&s, "Action: Ping\r\n\r\n"), AMI_CONTINUE);
	assert_int_equal(say(&s, "Action: Ping\r\n\r\n"), AMI_CLOSE);
	assert_string_equal(out, "Response: Error\r\nMessage: Permission denied\r\n\r\n");
	ami_session_destroy(&s);
	ctx.unauth--;
}

/* The seed's transcript: the challenge it shows and the key it computes. */
static void
test_seed_login(void **state)
{
	struct ami_session s;
	(void)state;
	start(&s, false);
	say(&s, "Action: Challenge\r\nAuthType: MD5\r\n\r\n");
	assert_int_equal(strncmp(out, "Response: Success\r\nChallenge: ", 30), 0);
	char first[32];
	snprintf(first, sizeof(first), "%s", s.challenge);
	assert_true(strlen(first) >= 9);
	say(&s, "Action: Challenge\r\nAuthType: md5\r\n\r\n");
	assert_string_equal(s.challenge, first); /* once per session */
	snprintf(s.challenge, sizeof(s.challenge), "125065091");
	assert_int_equal(say(&s, "Action: Login\r\nAuthType: MD5\r\nUsername: joebob\r\n"
	    "Key: e83a9e59e7c8d1bb6554982275d05016\r\nActionID: L\r\n\r\n"), AMI_CONTINUE);
	assert_int_equal(strncmp(out, "Response: Success\r\nActionID: L\r\nMessage: Authentication "
	    "accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\n", 107), 0);
	assert_true(s.authenticated);
	assert_int_equal(s.readperm, AMI_SYSTEM | AMI_CALL | AMI_SECURITY);
	say(&s, "Action: Login\r\n\r\n");
	assert_string_equal(out, "Response: Success\r\nMessage: Already authenticated\r\n\r\n");
	say(&s, "Action: Ping\r\nActionID: p\r\n\r\n");
	assert_int_equal(strncmp(out, "Response: Success\r\nActionID: p\r\nPing: Pong\r\nTimestamp: ", 55), 0);
	/* no upstream: Asterisk's words for an unknown action */
	say(&s, "Action: Originate\r\n\r\n");
	assert_string_equal(out, "Response: Error\r\nMessage: Invalid/unknown command: Originate. "
	    "Use Action: ListCommands to show available commands.\r\n\r\n");
	/* events: every class of the event must be readable */
	nout = 0;
	ami_session_event(&s, AMI_CALL, S("Event: Newchannel\r\n\r\n"));
	assert_int_equal(nout, 21);
	nout = 0;
	ami_session_event(&s, AMI_CALL | AMI_AGENT, S("Event: AgentCalled\r\n\r\n"));
	assert_int_equal(nout, 0);
	say(&s, "Action: Events\r\nEventMask: off\r\n\r\n");
	assert_string_equal(out, "Response: Success\r\nEvents: Off\r\n\r\n");
	nout = 0;
	ami_session_event(&s, AMI_CALL, S("Event: Newchannel\r\n\r\n"));
	assert_int_equal(nout, 0);
	ami_session_destroy(&s);
}

static void
test_failed_logins(void **state)
{
	struct ami_session s;
	(void)state;
	static const char *const tries[] = {
		/* wrong key, unknown user, key without a challenge, wrong secret */
		"Action: Login\r\nAuthType: MD5\r\nUsername: joebob\r\nKey: 00000000000000000000000000000000\r\n\r\n",
		"Action: Login\r\nAuthType: MD5\r\nUsername: nobody\r\nKey: e83a9e59e7c8d1bb6554982275d05016\r\n\r\n",
		"Action: Login\r\nUsername: reader\r\nSecret: wrong\r\nActionID: w\r\n\r\n",
		"Action: Login\r\nUsername: nobody\r\nSecret: wrong\r\nActionID: w\r\n\r\n",
	};
	for (size_t i = 0; i < 4; i++) {
		start(&s, true);
		if (i < 2)
			snprintf(s.challenge, sizeof(s.challenge), "125065091");
		assert_int_equal(say(&s, tries[i]), AMI_CLOSE_LATER);
		assert_int_equal(nout, 0); /* nothing until the second is over */
		ami_session_deferred(&s);
		assert_non_null(strstr(out, "Response: Error\r\n"));
		assert_non_null(strstr(out, "Message: Authentication failed\r\n\r\n"));
		assert_false(s.authenticated);
		ami_session_destroy(&s);
		ctx.unauth--;
	}
	/* a plain secret over TCP, right or wrong, is refused the same way */
	start(&s, false);
	assert_int_equal(say(&s, "Action: Login\r\nUsername: reader\r\nSecret: r3ad;er\r\n\r\n"),
	    AMI_CLOSE_LATER);
	ami_session_deferred(&s);
	assert_string_equal(out, "Response: Error\r\nMessage: Authentication failed\r\n\r\n");
	ami_session_destroy(&s);
	ctx.unauth--;
	/* ...unless allowplaintextlogin says so */
	cfg.ami.plaintext_login = true;
	start(&s, false);
	assert_int_equal(say(&s, "Action: Login\r\nUsername: reader\r\nSecret: r3ad;er\r\n\r\n"),
	    AMI_CONTINUE);
	assert_true(s.authenticated);
	ami_session_destroy(&s);
	cfg.ami.plaintext_login = false;
	/* permit/deny: lan may only come from 192.168.1.0/24 */
	start(&s, true);
	assert_int_equal(say(&s, "Action: Login\r\nUsername: lan\r\nSecret: lanpass\r\n\r\n"),
	    AMI_CLOSE_LATER);
	ami_session_destroy(&s);
	ctx.unauth--;
}

static void
test_permissions(void **state)
{
	struct ami_session s;
	(void)state;
	start(&s, true);
	say(&s, "Action: Login\r\nUsername: reader\r\nSecret: r3ad;er\r\n\r\n");
	assert_true(s.authenticated);
	say(&s, "Action: Bans\r\nActionID: 9\r\n\r\n");
	assert_string_equal(out, "Response: Error\r\nActionID: 9\r\nMessage: Permission denied\r\n\r\n");
	say(&s, "Action: Ban\r\nAddress: 192.0.2.1\r\n\r\n");
	assert_string_equal(out, "Response: Error\r\nMessage: Permission denied\r\n\r\n");
	say(&s, "Action: ListCommands\r\n\r\n");
	assert_null(strstr(out, "Bans:"));
	assert_non_null(strstr(out, "Ping: Keepalive command. (Priv: <none>)\r\n"));
	/* a security event is not for a user without read = security */
	nout = 0;
	ami_session_event(&s, AMI_SECURITY, S("Event: InvalidPassword\r\n\r\n"));
	assert_int_equal(nout, 0);
	ami_session_destroy(&s);

	start(&s, true);
	say(&s, "Action: Login\r\nUsername: root\r\nSecret: rootpass\r\nEvents: call\r\n\r\n");
	assert_true(s.authenticated);
	assert_int_equal(s.send_events, AMI_CALL);
	say(&s, "Action: Bans\r\nActionID: 9\r\n\r\n");
	assert_int_equal(strncmp(out, "Response: Success\r\nActionID: 9\r\nEventList: start\r\n"
	    "Message: Ban list will follow\r\n\r\nEvent: BanListComplete\r\nActionID: 9\r\n"
	    "EventList: Complete\r\nListItems: 0\r\n\r\n", 160), 0);
	ami_session_destroy(&s);
}

static long
forged_registrations(void *arg, ami_emit_fn emit, void (*done)(void *), void *ectx, char *why,
    size_t whysz)
{
	(void)arg;
	(void)why;
	(void)whysz;
	emit(ectx, "AOR", "alice@example.org");
	emit(ectx, "Contact", "sip:a@b\r\nEvent: Forged");
	done(ectx);
	return 1;
}

/* What the rest of the daemon hands to a list never breaks the framing. */
static void
test_list_values_escaped(void **state)
{
	struct ami_session s;
	(void)state;
	ctx.hooks.registrations = forged_registrations;
	start(&s, true);
	say(&s, "Action: Login\r\nUsername: root\r\nSecret: rootpass\r\n\r\n");
	say(&s, "Action: SIPRegistrations\r\nActionID: r\r\n\r\n");
	assert_non_null(strstr(out, "Event: SIPRegistration\r\nActionID: r\r\nAOR: alice@example.org\r\n"
	    "Contact: sip:a@b\\x0d\\x0aEvent: Forged\r\n\r\n"));
	assert_non_null(strstr(out, "Event: SIPRegistrationsComplete\r\nActionID: r\r\n"
	    "EventList: Complete\r\nListItems: 1\r\n\r\n"));
	ami_session_destroy(&s);
	ctx.hooks.registrations = NULL;
}

/* ---- what may go to Asterisk ---------------------------------------------- */

static const struct ami_msg *
parse(struct ami_reader *r, const char *text)
{
	size_t used;
	bool oom;
	const struct ami_msg *m = ami_reader_feed(r, S(text), &used, &oom);
	assert_non_null(m);
	return m;
}

static void
test_policy(void **state)
{
	struct ami_reader r;
	const char *why;
	int wall = AMI_ALL, wexpl = 0;
	(void)state;
	assert_true(ami_reader_init(&r, AMI_MAX_LINE, AMI_MAX_HEADERS));
	/* write = all is not enough for a shell */
	assert_false(ami_policy_allows(parse(&r, "Action: Command\r\nCommand: core show version\r\n\r\n"),
	    S("Command"), AMI_COMMAND, wall, wexpl, &why));
	assert_true(ami_policy_allows(parse(&r, "Action: Command\r\n\r\n"), S("command"),
	    AMI_COMMAND, wall, AMI_COMMAND, &why));
	/* Originate is fine, until it reaches a shell */
	assert_true(ami_policy_allows(parse(&r, "Action: Originate\r\nChannel: PJSIP/100\r\n"
	    "Application: Playback\r\nData: hello-world\r\n\r\n"), S("Originate"), AMI_ORIGINATE,
	    wall, wexpl, &why));
	assert_false(ami_policy_allows(parse(&r, "Action: Originate\r\nChannel: PJSIP/100\r\n"
	    "Application: System\r\nData: rm -rf /\r\n\r\n"), S("Originate"), AMI_ORIGINATE, wall,
	    wexpl, &why));
	assert_false(ami_policy_allows(parse(&r, "Action: Originate\r\nApplication: NoOp\r\n"
	    "Data: ${SHELL(id)}\r\n\r\n"), S("Originate"), AMI_ORIGINATE, wall, wexpl, &why));
	assert_false(ami_policy_allows(parse(&r, "Action: Originate\r\nApplication: Wait\r\n"
	    "Variable: A=1\r\nVariable: B=${EVAL(x)}\r\n\r\n"), S("Originate"), AMI_ORIGINATE,
	    wall, wexpl, &why));
	assert_false(ami_policy_allows(parse(&r, "Action: Getvar\r\nVariable: FILE(/etc/shadow)\r\n\r\n"),
	    S("Getvar"), AMI_CALL, wall, wexpl, &why));
	assert_true(ami_policy_allows(parse(&r, "Action: Getvar\r\nVariable: CALLERID\r\n\r\n"),
	    S("Getvar"), AMI_CALL, wall, wexpl, &why));
	assert_false(ami_policy_allows(parse(&r, "Action: GetConfig\r\nFilename: sip.conf\r\n\r\n"),
	    S("GetConfig"), AMI_SYSTEM | AMI_CONFIG, wall, wexpl, &why));
	assert_true(ami_policy_allows(parse(&r, "Action: GetConfig\r\n\r\n"), S("GetConfig"),
	    AMI_SYSTEM | AMI_CONFIG, AMI_CONFIG, AMI_CONFIG, &why));
	/* Asterisk's own rule: the write classes must meet the action's */
	assert_false(ami_policy_allows(parse(&r, "Action: Hangup\r\n\r\n"), S("Hangup"),
	    AMI_SYSTEM | AMI_CALL, AMI_USER, AMI_USER, &why));
	assert_true(ami_policy_allows(parse(&r, "Action: CoreStatus\r\n\r\n"), S("CoreStatus"), 0,
	    0, 0, &why));
	assert_true(ami_policy_session_action(S("events")));
	ami_reader_free(&r);
}

static void
test_relay(void **state)
{
	struct ami_reader r;
	struct dbuf b;
	uint64_t sid;
	(void)state;
	assert_true(ami_reader_init(&r, AMI_MAX_LINE, AMI_MAX_HEADERS));
	dbuf_init(&b, 4096);
	ami_relay_action(parse(&r, "Action: Status\r\nActionID: abc\r\nChannel: x\r\n\r\n"),
	    0x1234, &b);
	assert_string_equal(b.p, "Action: Status\r\nChannel: x\r\nActionID: pbxg-0000000000001234-abc\r\n\r\n");
	const struct ami_msg *m = parse(&r, "Response: Success\r\nActionID: pbxg-0000000000001234-abc\r\n"
	    "Message: Channel status will follow\r\n\r\n");
	assert_int_equal(ami_relay_route(m, &sid), AMI_ROUTE_SESSION);
	assert_int_equal(sid, 0x1234);
	b.n = 0;
	ami_relay_restore(m, &b);
	assert_string_equal(b.p, "Response: Success\r\nActionID: abc\r\nMessage: Channel status will follow\r\n\r\n");
	/* no ActionID from the client: none back */
	m = parse(&r, "Response: Success\r\nActionID: pbxg-0000000000000009-\r\nPing: Pong\r\n\r\n");
	assert_int_equal(ami_relay_route(m, &sid), AMI_ROUTE_SESSION);
	b.n = 0;
	ami_relay_restore(m, &b);
	assert_string_equal(b.p, "Response: Success\r\nPing: Pong\r\n\r\n");
	m = parse(&r, "Event: Newchannel\r\nPrivilege: call,all\r\n\r\n");
	assert_int_equal(ami_relay_route(m, &sid), AMI_ROUTE_EVENT);
	assert_int_equal(ami_relay_category(m), AMI_CALL);
	m = parse(&r, "Event: X\r\nActionID: pbxg-zz\r\n\r\n");
	assert_int_equal(ami_relay_route(m, &sid), AMI_ROUTE_EVENT);
	dbuf_free(&b);
	ami_reader_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_vector),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_frame_nul),
		cmocka_unit_test(test_perm),
		cmocka_unit_test(test_users_file),
		cmocka_unit_test(test_greeting_and_prelogin),
		cmocka_unit_test(test_seed_login),
		cmocka_unit_test(test_failed_logins),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_list_values_escaped),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_relay),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
