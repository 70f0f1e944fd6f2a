#include "testutil.h"

#include "core/secevent.h"

static void
test_format_and_escaping(void **state)
{
	struct addr l, r;
	char line[2048];
	(void)state;
	assert_true(addr_parse(S("127.0.0.1:5060"), &l));
	assert_true(addr_parse(S("[::1]:40000"), &r));
	/* A user name crafted to forge another RemoteAddress field. */
	struct secevent ev = {
		.type = SECEVENT_CHALLENGE_RESPONSE_FAILED, .service = "SIP", .transport = "UDP",
		.local = &l, .remote = &r,
		.account = S("x\",RemoteAddress=\"IPV4/UDP/10.9.9.9/5060"),
		.session = S("call\r\nid"), .challenge = S("n1"), .received_challenge = S("n1"),
		.received_hash = S("abc"),
	};
	secevent_format(&ev, line, sizeof(line));
	assert_non_null(strstr(line, "] SECURITY["));
	assert_non_null(strstr(line, "SecurityEvent=\"ChallengeResponseFailed\""));
	assert_non_null(strstr(line, ",Service=\"SIP\""));
	assert_non_null(strstr(line, ",Severity=\"Error\""));
	assert_non_null(strstr(line, ",RemoteAddress=\"IPV6/UDP/::1/40000\""));
	assert_non_null(strstr(line, ",LocalAddress=\"IPV4/UDP/127.0.0.1/5060\""));
	/* Exactly one RemoteAddress field: the real one. */
	const char *first = strstr(line, ",RemoteAddress=\"");
	assert_non_null(first);
	assert_null(strstr(first + 1, ",RemoteAddress=\""));
	assert_non_null(strstr(line, "AccountID=\"x\\x22,RemoteAddress=\\x22IPV4"));
	assert_null(strchr(line, '\n'));
	assert_non_null(strstr(line, "SessionID=\"call\\x0d\\x0aid\""));

	ev.type = SECEVENT_SUCCESSFUL_AUTH;
	ev.account = S("alice");
	secevent_format(&ev, line, sizeof(line));
	assert_non_null(strstr(line, "Severity=\"Informational\""));
	assert_null(strstr(line, "ReceivedHash"));
}

/* The AMI form: one "Key: value" line per field, the blank line at the end
 * even when a crafted account name fills the buffer. */
static void
test_ami_form(void **state)
{
	struct addr l, r;
	char text[2048], big[1200];
	(void)state;
	assert_true(addr_parse(S("127.0.0.1:5038"), &l));
	assert_true(addr_parse(S("127.0.0.9:40000"), &r));
	struct secevent ev = {
		.type = SECEVENT_INVALID_PASSWORD, .service = "AMI", .transport = "TCP",
		.local = &l, .remote = &r, .account = S("joe\r\nEvent: Forged"),
		.session = S("0x1"),
	};
	size_t n = secevent_format_ami(&ev, text, sizeof(text));
	assert_int_equal(n, strlen(text));
	assert_int_equal(strncmp(text, "Event: InvalidPassword\r\nPrivilege: security,all\r\nEventTV: ",
	    58), 0);
	assert_non_null(strstr(text, "\r\nService: AMI\r\n"));
	assert_non_null(strstr(text, "\r\nAccountID: joe\\x0d\\x0aEvent: Forged\r\n"));
	assert_non_null(strstr(text, "\r\nRemoteAddress: IPV4/TCP/127.0.0.9/40000\r\n\r\n"));
	assert_int_equal((size_t)(strstr(text, "\r\n\r\n") - text), n - 4); /* one blank line, last */

	/* Cut short: still whole lines and one blank line, at the very end. */
	memset(big, 'A', sizeof(big));
	ev.account = (struct slice){ big, sizeof(big) };
	ev.session = (struct slice){ big, sizeof(big) };
	n = secevent_format_ami(&ev, text, 400);
	assert_true(n < 400);
	assert_int_equal(memcmp(text + n - 4, "\r\n\r\n", 4), 0);
	assert_int_equal((size_t)(strstr(text, "\r\n\r\n") - text), n - 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_escaping),
		cmocka_unit_test(test_ami_form),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
