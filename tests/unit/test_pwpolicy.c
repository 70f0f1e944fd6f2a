/*
 * The password policy matrix: NIST SP 800-63B defaults, the seed's
 * ScopTEL rules (8 characters, upper, lower, digit, special), voicemail
 * PINs; each refusal with its reason.
 */
#include "testutil.h"

#include "guard/pwpolicy.h"

static struct config cfg;

static struct pwpolicy *
policy(const char *conf_text)
{
	char dir[64], path[128], warn[256], err[256];
	struct config_errors e = { 0 };

	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/pbxguard.conf", dir);
	char text[2048];
	snprintf(text, sizeof(text), "[global]\nstatedir = %s\n[sip]\ntransports = udp:127.0.0.1:5060\n%s",
	    dir, conf_text);
	write_file(path, text);
	assert_true(config_load(&cfg, path, &e));
	config_errors_free(&e);
	struct pwpolicy *p = pwpolicy_new(&cfg.pw, &cfg.pin, warn, sizeof(warn), err, sizeof(err));
	assert_non_null(p);
	unlink(path);
	rmdir(dir);
	return p;
}

struct row {
	const char *pw;
	const char *reason;	/* NULL: accepted; else a substring of one reason */
};

static void
matrix(struct pwpolicy *p, const struct pw_context *who, const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pw_verdict v;
		char all[1024];
		bool ok = pwpolicy_check(p, rows[i].pw, strlen(rows[i].pw), who, &v);
		pw_verdict_str(&v, all, sizeof(all));
		if (!rows[i].reason) {
			if (!ok)
				fail_msg("'%s' refused: %s", rows[i].pw, all);
			continue;
		}
		if (ok)
			fail_msg("'%s' accepted, wanted '%s'", rows[i].pw, rows[i].reason);
		if (!strstr(all, rows[i].reason))
			fail_msg("'%s': wanted '%s', got '%s'", rows[i].pw, rows[i].reason, all);
		/* A reason never repeats the secret (reasons are logged); "password"
		 * is in "common passwords" itself. */
		if (strlen(rows[i].pw) >= 4 && strcmp(rows[i].pw, "password") != 0 &&
		    strstr(all, rows[i].pw))
			fail_msg("'%s': the reasons repeat it: %s", rows[i].pw, all);
	}
}

static void
test_nist_defaults(void **state)
{
	(void)state;
	struct pwpolicy *p = policy("");
	const struct pw_context who = { "alice", "1001", "example.org", "example.org" };
	static const struct row rows[] = {
		{ "", "empty" },
		{ "admin", "in the list of common passwords" },
		{ "admin", "too short: 5 characters, at least 15" },
		{ "alice", "equals the username" },
		{ "1001", "equals the extension" },
		{ "1001", "only digits" },
		{ "scopserv", "in the list of common passwords" },	/* the seed's root password */
		{ "amp111", "in the list of common passwords" },	/* FreePBX's AMI default */
		{ "password", "in the list of common passwords" },	/* john-data's list */
		{ "Password1234567!", "a common password with digits or symbols added" },
		{ "P4ssw0rdP4ssw0rd", "too easy to guess" },
		{ "correct-alice-horse-battery", "contains the username" },
		{ "ecila", "is the username reversed" },
		{ "my-1001-phone-is-long", "contains the extension" },
		{ "example.org-is-our-domain", "contains the domain" },
		{ "example-rocks-and-rolls", "contains the domain's name" },
		{ "aaaaaaaaaaaaaaaaaaaa", "repeats one character 20 times in a row" },
		{ "xyz-abcdefgh-Long-pw", "has a run of 8 ascending characters" },
		{ "98765-Zebra-Quilt-Mop", "has a run of 5 descending characters" },
		{ "123456789012345678", "only digits" },
		{ "qwertyuiopasdfgh", "too easy to guess" },
		{ "tab\there-and-long-enough", "contains a control character" },
		/* Accepted: long, not listed, no identity, no runs; no classes needed. */
		{ "correct horse battery staple", NULL },
		{ "Kx7-mavu-Qepo-lira", NULL },
		{ "tuesday lemon kettle violin", NULL },
	};
	matrix(p, &who, rows, sizeof(rows) / sizeof(rows[0]));
	pwpolicy_free(p);
	config_free(&cfg);
}

static void
test_first_guess(void **state)
{
	(void)state;
	struct pwpolicy *p = policy("");
	const struct pw_context who = { "alice", "1001", "example.org", NULL };
	static const struct {
		const char *pw;
		bool first;
	} rows[] = {
		{ "", true }, { "alice", true }, { "1001", true }, { "password", true },
		{ "Password1234567!", false }, { "correct-alice-horse-battery", false },
		{ "aaaaaaaaaaaaaaaaaaaa", false },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pw_verdict v;
		assert_false(pwpolicy_check(p, rows[i].pw, strlen(rows[i].pw), &who, &v));
		if (v.first_guess != rows[i].first)
			fail_msg("'%s': first_guess %d", rows[i].pw, v.first_guess);
	}
	struct pw_verdict v;
	assert_false(pwpolicy_check_pin(p, "123456", 6, "300", &v));
	assert_true(v.first_guess);	/* a trivial PIN */
	assert_false(pwpolicy_check_pin(p, "4711", 4, "300", &v));
	assert_false(v.first_guess);	/* only short */
	pwpolicy_free(p);
	config_free(&cfg);
}

static void
test_seed_rules(void **state)
{
	(void)state;
	/* ScopTEL's: at least 8, upper and lower, letters and digits, special. */
	struct pwpolicy *p = policy("[password-policy]\nmin-length = 8\n"
	    "character-classes = upper lower digit special\nmin-zxcvbn-score = 2\n");
	const struct pw_context who = { "bob", "2002", "pbx.test", NULL };
	static const struct row rows[] = {
		{ "Short1!", "too short: 7 characters, at least 8" },
		{ "alllower1!x", "no upper-case letter" },
		{ "ALLUPPER1!X", "no lower-case letter" },
		{ "NoDigits!!x", "no digit" },
		{ "NoSpecial12x", "no special character" },
		{ "Bob-2002-Pass!", "contains the username" },
		{ "Welcome1!", "a common password with digits or symbols added" },
		{ "P@ssw0rd", "a common password in leetspeak" },
		{ "Pa$$w0rd!", "a common password in leetspeak, with digits or symbols added" },
		{ "Tz8!mqvk", NULL },
		{ "Hv3$kd9Lp", NULL },
	};
	matrix(p, &who, rows, sizeof(rows) / sizeof(rows[0]));
	pwpolicy_free(p);
	config_free(&cfg);
}

static void
test_advise_mode_and_blocklist(void **state)
{
	(void)state;
	char dir[64], list[128], warn[256], err[256];
	test_tmpdir(dir, sizeof(dir));
	snprintf(list, sizeof(list), "%s/words", dir);
	write_file(list, "#!comment: a list\nZebraCrossing77\r\nhunter2\n");
	char conf[512];
	snprintf(conf, sizeof(conf), "[password-policy]\nmode = advise\nmin-length = 8\n"
	    "blocklist = %s\nmin-zxcvbn-score = 0\n", list);
	struct pwpolicy *p = policy(conf);
	assert_false(pwpolicy_enforced(p));
	static const struct row rows[] = {
		{ "zebracrossing77", "in the list of common passwords" },	/* case folded */
		{ "admin12345", "a common password with digits or symbols added" }, /* embedded */
		{ "#!comment: a list", NULL },
		{ "sunshine", NULL },	/* John's list is replaced by this one */
	};
	matrix(p, NULL, rows, sizeof(rows) / sizeof(rows[0]));
	pwpolicy_free(p);
	config_free(&cfg);

	/* A named list that is not there is an error, not a silent gap. */
	struct config_pwpolicy pw = cfg.pw;
	snprintf(pw.blocklist, sizeof(pw.blocklist), "%s/none", dir);
	assert_null(pwpolicy_new(&pw, &cfg.pin, warn, sizeof(warn), err, sizeof(err)));
	assert_non_null(strstr(err, "blocklist"));
	unlink(list);
	rmdir(dir);
}

static void
test_pins(void **state)
{
	(void)state;
	struct pwpolicy *p = policy("");
	static const struct {
		const char *pin, *mailbox, *reason;
	} rows[] = {
		{ "", "100", "empty" },
		{ "12a456", "100", "not only digits" },
		{ "4711", "100", "too short: 4 digits, at least 6" },
		{ "521000", "521000", "equals the mailbox number" },
		{ "910042", "1004", "contains the mailbox number" },
		{ "000", NULL, "repeats one digit 3 times" },
		{ "123456", NULL, "has a run of 6 ascending digits" },
		{ "987654", NULL, "has a run of 6 descending digits" },
		{ "789012", NULL, "has a run of 6 ascending digits" },
		{ "121212", NULL, "one short pattern repeated" },
		{ "123123", NULL, "in the list of trivial PINs" },
		{ "147258", NULL, "in the list of trivial PINs" },
		{ "4242", NULL, "in the list of trivial PINs" },
		{ "759318", "100", NULL },
		{ "30571946", "1001", NULL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pw_verdict v;
		char all[1024];
		bool ok = pwpolicy_check_pin(p, rows[i].pin, strlen(rows[i].pin), rows[i].mailbox,
		    &v);
		pw_verdict_str(&v, all, sizeof(all));
		if (!rows[i].reason && !ok)
			fail_msg("PIN '%s' refused: %s", rows[i].pin, all);
		if (rows[i].reason && (ok || !strstr(all, rows[i].reason)))
			fail_msg("PIN '%s': wanted '%s', got '%s'", rows[i].pin, rows[i].reason, all);
	}
	pwpolicy_free(p);
	config_free(&cfg);

	/* With min-length 4, the issue's trivial list still says no. */
	p = policy("[voicemail-policy]\nmin-length = 4\n");
	static const char *const trivial[] = { "0000", "1234", "1111", "4321", "123456", "2580" };
	for (size_t i = 0; i < sizeof(trivial) / sizeof(trivial[0]); i++) {
		struct pw_verdict v;
		assert_false(pwpolicy_check_pin(p, trivial[i], strlen(trivial[i]), "300", &v));
	}
	struct pw_verdict v;
	assert_true(pwpolicy_check_pin(p, "8305", 4, "300", &v));
	pwpolicy_free(p);
	config_free(&cfg);
}

static void
test_generate(void **state)
{
	(void)state;
	struct pwpolicy *p = policy("[password-policy]\ncharacter-classes = upper lower digit "
	    "special\n");
	const struct pw_context who = { "carol", "3003", "example.org", NULL };
	char a[80], b[80], pin[40];
	struct pw_verdict v;
	for (int i = 0; i < 50; i++) {
		assert_true(pwpolicy_generate(p, &who, a, sizeof(a)));
		assert_int_equal(strlen(a), 20);
		assert_true(pwpolicy_check(p, a, strlen(a), &who, &v));
		/* Safe in every format pbxguard writes. */
		assert_int_equal(strcspn(a, " ;#:\"'\\,=%@"), strlen(a));
		assert_true(pwpolicy_generate_pin(p, "3003", pin, sizeof(pin)));
		assert_int_equal(strlen(pin), 6);
		assert_true(pwpolicy_check_pin(p, pin, strlen(pin), "3003", &v));
	}
	assert_true(pwpolicy_generate(p, &who, b, sizeof(b)));
	assert_string_not_equal(a, b);
	assert_false(pwpolicy_generate(p, &who, b, 10));	/* no room: no secret */
	pwpolicy_free(p);
	config_free(&cfg);
}

static void
test_config_errors(void **state)
{
	(void)state;
	char dir[64], path[128];
	struct config c;
	struct config_errors e = { 0 };
	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	write_file(path, "[sip]\ntransports = udp:127.0.0.1:5060\n"
	    "[password-policy]\nmin-length = 0\ncharacter-classes = upper emoji\n"
	    "min-zxcvbn-score = 5\nmode = maybe\ncolour = red\n"
	    "[voicemail-policy]\nmin-length = 3\n"
	    "[firewall]\nopen = 5555\nrtp-ports = tcp:1-2\nallowed-hosts = 10.0.0.0/33\n"
	    "[watch]\nasterisk = journal\nsshd = relative.log\nasterisk-ports = udp:70000\n");
	assert_false(config_load(&c, path, &e));
	static const char *const want[] = {
		":4: min-length: expected a whole number from 1 to 128",
		":5: character-classes: 'emoji' is not upper, lower, digit, special or none",
		":6: min-zxcvbn-score: expected a whole number from 0 to 4",
		":7: mode: expected enforce or advise",
		":8: [password-policy]: unknown key 'colour'",
		":10: min-length: expected a whole number from 4 to 32",
		":12: open: '5555': write tcp:PORT or udp:PORT",
		":13: rtp-ports: expected a UDP range",
		":14: allowed-hosts: '10.0.0.0/33'",
		":16: asterisk: journal: reading journald is not in this version",
		":17: sshd: 'relative.log': expected an absolute path",
		":18: asterisk-ports: 'udp:70000'",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < e.n; j++)
			found |= strstr(e.msg[j], want[i]) != NULL;
		if (!found)
			fail_msg("missing error: %s", want[i]);
	}
	config_free(&c);
	config_errors_free(&e);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_defaults),
		cmocka_unit_test(test_first_guess),
		cmocka_unit_test(test_seed_rules),
		cmocka_unit_test(test_advise_mode_and_blocklist),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
