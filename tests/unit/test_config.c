#include "testutil.h"

#include "core/config.h"

static char dir[64], path[128];

static bool
load(const char *text, struct config *c, struct config_errors *e)
{
	write_file(path, text);
	memset(e, 0, sizeof(*e));
	return config_load(c, path, e);
}

static bool
has_error(const struct config_errors *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], needle))
			return true;
	return false;
}

static void
test_embedded_default(void **state)
{
	struct config c;
	struct config_errors e = { 0 };
	(void)state;
	assert_true(config_load(&c, NULL, &e));
	assert_int_equal(e.n, 0);
	assert_true(c.embedded);
	assert_int_equal(c.n_transports, 5);
	assert_int_equal(c.transports[4].proto, TP_TLS);
	for (size_t i = 0; i < c.n_transports; i++) { /* loopback only */
		char h[64];
		addr_host_str(&c.transports[i].addr, h, sizeof(h));
		assert_true(strcmp(h, "127.0.0.1") == 0 || strcmp(h, "::1") == 0);
	}
	assert_int_equal(c.n_algos, 2);
	assert_int_equal(c.algos[0].algo, DIGEST_SHA256);
	assert_non_null(strstr(c.file_path, "/userdb"));
	config_free(&c);
	config_errors_free(&e);
}

static void
test_flexisip_names(void **state)
{
	struct config c;
	struct config_errors e;
	(void)state;
	assert_true(load("[global]\nstatedir = /tmp/x\n"
	    "[module::Authentication]\n"
	    "enabled=true\n"
	    "auth-domains=example.com *.example2.org ; comment\n"
	    "available-algorithms=SHA-512-256 SHA-256 MD5\n"
	    "db-implementation=file\n"
	    "file-path=/etc/flexisip/userdb\n"
	    "nonce-expires=30\n"
	    "realm=sip.example.com\n"
	    "no-403=yes\n"
	    "disable-qop-auth=false\n"
	    "[module::Registrar]\nmax-expires=600\nmin-expires=30\ndefault-expires=300\n"
	    "[sip]\ntransports = udp:127.0.0.1:5060 tcp:[::1]:5070 sip:*:5080;transport=tcp\n",
	    &c, &e));
	assert_int_equal(c.n_auth_domains, 2);
	assert_string_equal(c.auth_domains[1], "*.example2.org");
	assert_int_equal(c.n_algos, 3);
	assert_int_equal(c.algos[0].algo, DIGEST_SHA512_256);
	assert_int_equal(c.nonce_expires, 30);
	assert_true(c.no_403);
	assert_string_equal(c.file_path, "/etc/flexisip/userdb");
	assert_string_equal(c.security_log, "/tmp/x/security.log");
	assert_int_equal(c.n_transports, 3);
	assert_int_equal(c.transports[1].proto, TP_TCP);
	assert_true(addr_is_v6(&c.transports[1].addr));
	assert_int_equal(addr_port(&c.transports[2].addr), 5080);
	assert_int_equal(e.nwarn, 1); /* realm set */
	config_free(&c);
	config_errors_free(&e);
}

static void
test_bans_and_acls(void **state)
{
	struct config c;
	struct config_errors e;
	(void)state;
	assert_true(load("[bans]\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\n"
	    "bantime.maxtime = 1w\nignoreip = 192.0.2.0/24, 2001:db8::/32 10.1.2.3\n"
	    "scanner-user-agents = evil-scanner\nnftables = no\nnftables-on-exit = keep\n"
	    "[acl:Local]\ndeny = 0.0.0.0/0.0.0.0\npermit = 10.0.0.0/255.0.0.0\npermit = ::1\n"
	    "[sip]\ntransports = udp:127.0.0.1:5060;acl=Local tcp:127.0.0.1:5060\n", &c, &e));
	assert_int_equal(c.maxretry, 3);
	assert_int_equal(c.findtime, 600);
	assert_int_equal(c.bantime, 3600);
	assert_int_equal(c.bantime_maxtime, 604800);
	assert_int_equal(c.n_ignoreip, 3);
	assert_int_equal(c.n_scanner_agents, 1);
	assert_string_equal(c.scanner_agents[0], "evil-scanner");
	assert_int_equal(c.nftables, NFT_NO);
	assert_true(c.nftables_keep);
	assert_int_equal(c.n_acls, 1);
	assert_int_equal(c.acls[0].n, 3);
	assert_false(c.acls[0].rules[0].permit);
	assert_int_equal(c.acls[0].rules[1].net.bits, 96 + 8);
	assert_int_equal(c.transports[0].acl, 0);
	assert_int_equal(c.transports[1].acl, CONFIG_NO_ACL);
	config_free(&c);
	config_errors_free(&e);

	/* Defaults: fail2ban's asterisk jail, and the stock scanner names. */
	assert_true(load("[sip]\ntransports = udp:127.0.0.1:5060\n", &c, &e));
	assert_int_equal(c.maxretry, 10);
	assert_int_equal(c.bantime, 600);
	assert_true(c.n_scanner_agents >= 5);
	assert_string_equal(c.scanner_agents[0], "friendly-scanner");
	config_free(&c);
	config_errors_free(&e);

	assert_false(load("[bans]\nbantime = 10x\nignoreip = 10.0.0.1/8 example.com\n"
	    "bantime.maxtime = 60\n[acl:Bad]\npermit = 300.1.1.1\nallow = 10.0.0.0/8\n"
	    "[sip]\ntransports = udp:127.0.0.1:5060;acl=Nowhere\n", &c, &e));
	assert_true(has_error(&e, ":2: bantime: expected a time"));
	assert_true(has_error(&e, ":3: ignoreip: '10.0.0.1/8': host bits set"));
	assert_true(has_error(&e, ":3: ignoreip: 'example.com': not a numeric"));
	assert_true(has_error(&e, ":6: permit: '300.1.1.1': not a numeric"));
	assert_true(has_error(&e, ":7: [acl:Bad]: unknown key 'allow'"));
	assert_true(has_error(&e, ":0: transports: acl=Nowhere: no [acl:Nowhere] section"));
	config_free(&c);
	config_errors_free(&e);
}

static void
test_every_error_with_line(void **state)
{
	struct config c;
	struct config_errors e;
	(void)state;
	assert_false(load("[module::Authentication]\n"		/* 1 */
	    "nonce-expires = 0\n"				/* 2 */
	    "available-algorithms = MD5 SHA-1\n"		/* 3 */
	    "no-403 = maybe\n"					/* 4 */
	    "colour = blue\n"					/* 5 */
	    "this line has no equals sign\n"			/* 6 */
	    "[sip]\n"						/* 7 */
	    "transports = udp:localhost:5060 tls:127.0.0.1:5061;x=1 tcp:127.0.0.1:99999\n" /* 8 */
	    "[watch]\n"						/* 9 */
	    "sshd = auth.log\n"				/* 10 */
	    "[nonsense\n"					/* 11 */
	    "[nowhere]\n"					/* 12 */
	    "x = 1\n",						/* 13 */
	    &c, &e));
	assert_true(has_error(&e, ":2: nonce-expires: expected a whole number from 5 to 86400"));
	assert_true(has_error(&e, ":3: available-algorithms: unknown algorithm 'SHA-1'"));
	assert_true(has_error(&e, ":4: no-403: expected true or false"));
	assert_true(has_error(&e, ":5: [module::Authentication]: unknown or unsupported key 'colour'"));
	assert_true(has_error(&e, ":6: syntax error"));
	assert_true(has_error(&e, ":8: transports: 'udp:localhost:5060'"));
	assert_true(has_error(&e, ":8: transports: 'tls:127.0.0.1:5061;x=1': unsupported parameter 'x=1'"));
	assert_true(has_error(&e, ":8: transports: 'tcp:127.0.0.1:99999'"));
	assert_true(has_error(&e, ":10: sshd: 'auth.log': expected an absolute path"));
	assert_true(has_error(&e, ":11: syntax error: section name without ']'"));
	assert_true(has_error(&e, ":13: unknown section [nowhere]"));
	assert_true(has_error(&e, ":0: no listener configured: give [sip] transports, a "
	    "[manager], an [http] or an [iax2] section"));
	for (size_t i = 0; i < e.n; i++)
		assert_true(strncmp(e.msg[i], path, strlen(path)) == 0);
	config_free(&c);
	config_errors_free(&e);

	char longline[400] = "[sip]\nmax-headers = ";
	memset(longline + strlen(longline), '1', 300);
	strcat(longline, "\n");
	assert_false(load(longline, &c, &e));
	assert_true(has_error(&e, ":2: line longer than"));
	config_free(&c);
	config_errors_free(&e);

	memset(&e, 0, sizeof(e));
	assert_false(config_load(&c, "/nonexistent/pbxguard.conf", &e));
	assert_true(has_error(&e, "/nonexistent/pbxguard.conf:0: cannot open"));
	config_errors_free(&e);
}

/* [cluster] nodes: addresses only, and only with a shared state and an
 * upstream to route for. */
static void
test_cluster(void **state)
{
	struct config c;
	struct config_errors e;
	struct ipkey k;
	(void)state;
	assert_true(load("[global]\nstate = redis://127.0.0.1:6379/2\n"
	    "[sip]\ntransports = udp:127.0.0.11:5060\nupstream = sip:127.0.0.1:5080\n"
	    "[cluster]\nnodes = 127.0.0.11 127.0.0.12 ::1\n", &c, &e));
	assert_int_equal(c.n_cluster_nodes, 3);
	assert_true(ipkey_parse(S("127.0.0.12"), &k) && ipkey_eq(&k, &c.cluster_nodes[1]));
	config_free(&c);
	config_errors_free(&e);

	assert_false(load("[sip]\ntransports = udp:127.0.0.11:5060\n"	/* 1, 2 */
	    "[cluster]\n"					/* 3 */
	    "nodes = 127.0.0.11 node-b 10.0.0.0/8\n"		/* 4 */
	    "peers = 127.0.0.12\n", &c, &e));			/* 5 */
	assert_true(has_error(&e, ":4: nodes: 'node-b': expected an IP address"));
	assert_true(has_error(&e, ":4: nodes: '10.0.0.0/8': expected an IP address"));
	assert_true(has_error(&e, ":5: [cluster]: unknown key 'peers'"));
	assert_true(has_error(&e, "[cluster] nodes needs [global] state = redis://"));
	config_free(&c);
	config_errors_free(&e);
}

/* AMI, IAX2 and web users from SQL ask [module::Authentication]'s database,
 * whether SIP's accounts come from it or from the file. */
/* fail2ban's durations: one unit at most, never a second one read before it. */
static void
test_durations(void **state)
{
	(void)state;
	static const struct { const char *text; bool ok; unsigned secs; } rows[] = {
		{ "600", true, 600 }, { "10m", true, 600 }, { "1H", true, 3600 },
		{ "2d", true, 172800 }, { "1w", true, 604800 }, { " 5s ", true, 5 },
		{ "5hm", false, 0 }, { "dm", false, 0 }, { "ms", false, 0 }, { "m", false, 0 },
		{ "", false, 0 }, { "7102w", false, 0 }, { "-1s", false, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned secs = 0;
		bool ok = config_parse_duration(slice_cstr(rows[i].text), &secs);
		if (ok != rows[i].ok || (ok && secs != rows[i].secs))
			fail_msg("'%s': %s %u", rows[i].text, ok ? "accepted" : "refused", secs);
	}
}

static void
test_sql_users(void **state)
{
	struct config c;
	struct config_errors e;
	(void)state;
	assert_true(load("[module::Authentication]\nsoci-backend = sqlite3\n"
	    "soci-connection-string = db=/tmp/x.db\n"
	    "[sip]\ntransports = udp:127.0.0.1:5060\n"
	    "[manager]\nsoci-password-request = select s, 'CLRTXT' from m where n = :id\n"
	    "[iax2]\nsoci-password-request = select s, 'CLRTXT' from i where n = :id\n"
	    "[http]\nlisten = https:127.0.0.1:8443\n"
	    "AuthDBDUserPWQuery = select h from w where n = %s\n", &c, &e));
	assert_string_equal(c.db_implementation, "file");
	assert_string_equal(c.http.sql_request, "select h from w where n = %s");
	assert_string_equal(c.iax2.sql_request, "select s, 'CLRTXT' from i where n = :id");
	config_free(&c);
	config_errors_free(&e);

	assert_false(load("[sip]\ntransports = udp:127.0.0.1:5060\n"
	    "[manager]\nsoci-password-request = select s from m where n = :id\n", &c, &e));
	assert_true(has_error(&e, "[manager] soci-password-request needs "
	    "[module::Authentication] soci-connection-string"));
	config_free(&c);
	config_errors_free(&e);
}

static void
test_warnings(void **state)
{
	struct config c;
	struct config_errors e;
	(void)state;
	assert_true(load("[module::Authentication]\nauth-domains =\nenabled = false\n"
	    "[sip]\ntransports = udp:127.0.0.1:5060\n", &c, &e));
	assert_int_equal(e.nwarn, 1);
	assert_non_null(strstr(e.warn[0], "NOT authenticated"));
	config_free(&c);
	config_errors_free(&e);
	assert_true(load("[sip]\ntransports = udp:127.0.0.1:5060\n", &c, &e));
	assert_non_null(strstr(e.warn[0], "every request will be rejected"));
	config_free(&c);
	config_errors_free(&e);
}

/* [manager]: Asterisk's names, the seed's TLS keys, and what would not work. */
static void
test_manager(void **state)
{
	struct config c;
	struct config_errors e;
	char as[ADDR_STRLEN];
	(void)state;

	assert_true(load("[manager]\n"
	    "bindaddr = 127.0.0.2\nport = 6038\n"
	    "sslclienthellotimeout = 250\nacceptunencryptedconnection = no\n"
	    "tlsenable = yes\ntlsbindaddr = 127.0.0.2\n"
	    "certfile = /etc/pbxguard/ami.pem\n"
	    "authtimeout = 5\nauthlimit = 3\n"
	    "upstream = tls:127.0.0.1:5039\nupstream-username = pg\nupstream-secret = s\n"
	    "upstream-cafile = /etc/ssl/ast.pem\n", &c, &e));
	assert_true(c.ami.enabled);
	assert_string_equal(addr_str(&c.ami.bind, as, sizeof(as)), "127.0.0.2:6038");
	assert_string_equal(addr_str(&c.ami.tls_bind, as, sizeof(as)), "127.0.0.2:5039");
	assert_int_equal(c.ami.hello_timeout_ms, 250);
	assert_false(c.ami.accept_unencrypted);
	assert_true(c.ami.accept_encrypted);
	assert_false(c.ami.plaintext_login);
	/* Asterisk's rule: tlsprivatekey defaults to the certfile (one PEM). */
	assert_string_equal(c.ami.key, "/etc/pbxguard/ami.pem");
	assert_true(c.ami.has_upstream && c.ami.upstream_tls);
	assert_int_equal(c.ami.authlimit, 3);
	config_free(&c);
	config_errors_free(&e);

	/* No [sip] at all is fine with a [manager]; without either, nothing listens. */
	assert_true(load("[manager]\n", &c, &e));
	assert_string_equal(c.ami.version, CONFIG_AMI_VERSION);
	assert_string_equal(c.ami.cert, c.tls_cert); /* shares [sip]'s certificate */
	config_free(&c);
	config_errors_free(&e);

	assert_false(load("[manager]\n"			/* 1 */
	    "acceptencryptedconnection = no\n"			/* 2 */
	    "acceptunencryptedconnection = no\n"		/* 3 */
	    "port = 0\n"					/* 4 */
	    "upstream = 127.0.0.1:5038\n"			/* 5 */
	    "acl = nowhere\n"					/* 6 */
	    "colour = blue\n"					/* 7 */
	    "version = two words\n", &c, &e));		/* 8 */
	assert_true(has_error(&e, ":4: port: expected a whole number from 1 to 65535"));
	assert_true(has_error(&e, ":7: [manager]: unknown key 'colour'"));
	assert_true(has_error(&e, ":8: version: expected one word"));
	assert_true(has_error(&e, "both no: no client could connect"));
	assert_true(has_error(&e, "upstream 127.0.0.1:5038 is our own listener"));
	assert_true(has_error(&e, "upstream needs upstream-username and upstream-secret"));
	assert_true(has_error(&e, "acl=nowhere: no [acl:nowhere] section"));
	config_free(&c);
	config_errors_free(&e);

	assert_false(load("[manager]\nupstream = tls:127.0.0.1:5039\nupstream-username = a\n"
	    "upstream-secret = b\n", &c, &e));
	assert_true(has_error(&e, "upstream over tls needs upstream-cafile"));
	config_free(&c);
	config_errors_free(&e);
}

/* [http]: Apache's directive names, and what would not be safe. */
static void
test_iax2(void **state)
{
	struct config c;
	struct config_errors e;
	char as[ADDR_STRLEN];
	struct ipkey k;
	(void)state;

	/* "[iax2]" alone: chan_iax2's defaults on loopback, a listener by itself. */
	assert_true(load("[iax2]\n", &c, &e));
	assert_true(c.iax2.enabled);
	assert_string_equal(addr_str(&c.iax2.bind, as, sizeof(as)), "127.0.0.1:4569");
	assert_int_equal(c.iax2.token_expiration, 10);
	assert_int_equal(c.iax2.maxcallnumbers, 2048);
	assert_int_equal(c.iax2.maxcallnumbers_nonvalidated, 8192);
	assert_int_equal(c.iax2.n_token_optional, 0);
	assert_true(strstr(c.iax2.users, "/iax.conf") != NULL);
	assert_true(strstr(c.iax2.keydir, "/keys") != NULL);
	config_free(&c);
	config_errors_free(&e);

	/* The seed's fix, in Asterisk's netmask form too; several lines add up. */
	assert_true(load("[iax2]\nbindaddr = 0.0.0.0\nbindport = 4570\n"
	    "calltokenoptional = 209.16.236.73/255.255.255.0\n"
	    "calltokenoptional = 10.0.0.0/8 2001:db8::/32\ncalltokenexpiration = 30\n"
	    "upstream = 127.0.0.1\nupstream-username = door\noutkey = door\n", &c, &e));
	assert_string_equal(addr_str(&c.iax2.bind, as, sizeof(as)), "0.0.0.0:4570");
	assert_int_equal(c.iax2.n_token_optional, 3);
	assert_true(ipkey_parse(slice_cstr("209.16.236.200"), &k));
	assert_true(cidr_match(&c.iax2.token_optional[0], &k));
	assert_int_equal(c.iax2.token_expiration, 30);
	assert_string_equal(addr_str(&c.iax2.upstream, as, sizeof(as)), "127.0.0.1:4569");
	config_free(&c);
	config_errors_free(&e);

	assert_false(load("[iax2]\nbindport = 0\ncalltokenoptional = example.com\n"
	    "upstream = 127.0.0.1:4569\nupstream-secret = x\noutkey = y\nacl = Nope\n"
	    "trunk = yes\n", &c, &e));
	assert_true(has_error(&e, ":2: bindport: expected a whole number from 1 to 65535"));
	assert_true(has_error(&e, ":3: calltokenoptional: 'example.com'"));
	assert_true(has_error(&e, ":8: [iax2]: unknown key 'trunk'"));
	assert_true(has_error(&e, "upstream 127.0.0.1:4569 is our own listener"));
	assert_true(has_error(&e, "give upstream-secret or outkey, not both"));
	assert_true(has_error(&e, "[iax2] acl=Nope: no [acl:Nope] section"));
	config_free(&c);
	config_errors_free(&e);
}

static void
test_http(void **state)
{
	struct config c;
	struct config_errors e;
	char as[ADDR_STRLEN];
	(void)state;

	assert_true(load("[http]\n"
	    "listen = https:127.0.0.1:8443 http:127.0.0.1:8080\n"
	    "AuthType = Basic\n"
	    "AuthName = \"By Invitation Only\"\n"
	    "AuthUserFile = /usr/local/apache/passwd/passwords\n"
	    "AuthGroupFile = /usr/local/apache/passwd/groups\n"
	    "Require = user rbowen sungo\n"
	    "require = group admins\n"
	    "proxy = http://127.0.0.1:80/gui/\n", &c, &e));
	assert_true(c.http.enabled);
	assert_int_equal(c.http.nlisten, 2);
	assert_true(c.http.listen[0].tls);
	assert_false(c.http.listen[1].tls);
	assert_string_equal(addr_str(&c.http.listen[1].addr, as, sizeof(as)), "127.0.0.1:8080");
	assert_string_equal(c.http.auth_name, "By Invitation Only");
	assert_string_equal(c.http.user_file, "/usr/local/apache/passwd/passwords");
	assert_int_equal(c.http.nrequire, 2);
	assert_int_equal(c.http.require[0].kind, REQUIRE_USER);
	assert_string_equal(c.http.require[0].words, "rbowen sungo");
	assert_int_equal(c.http.require[1].kind, REQUIRE_GROUP);
	assert_true(c.http.has_proxy);
	assert_string_equal(addr_str(&c.http.proxy, as, sizeof(as)), "127.0.0.1:80");
	assert_string_equal(c.http.proxy_path, "/gui");
	assert_string_equal(c.http.cert, c.tls_cert); /* [sip]'s certificate by default */
	config_free(&c);
	config_errors_free(&e);

	/* The embedded default serves the admin page on loopback, over TLS. */
	assert_true(config_load(&c, NULL, &e));
	assert_true(c.http.enabled && c.http.nlisten == 1 && c.http.listen[0].tls);
	assert_string_equal(addr_str(&c.http.listen[0].addr, as, sizeof(as)), "127.0.0.1:8443");
	config_free(&c);
	config_errors_free(&e);

	assert_false(load("[http]\n"				/* 1 */
	    "listen = http:127.0.0.1:8080\n"			/* 2 */
	    "AuthType = Digest\n"				/* 3 */
	    "Require = everyone\n"				/* 4 */
	    "Require = group ops\n"				/* 5 */
	    "proxy = https://10.0.0.1/\n"			/* 6 */
	    "AuthName = \"say \"hi\"\"\n", &c, &e));		/* 7 */
	assert_true(has_error(&e, "no https: listener"));
	assert_true(has_error(&e, ":3: AuthType: only Basic"));
	assert_true(has_error(&e, ":4: Require: expected valid-user"));
	assert_true(has_error(&e, "Require group needs an AuthGroupFile"));
	assert_true(has_error(&e, ":6: proxy: expected http://"));
	assert_true(has_error(&e, ":7: AuthName: 1 to"));
	config_free(&c);
	config_errors_free(&e);

	/* The seed's PBX GUI on port 80 and our redirect on 0.0.0.0:80: a loop. */
	assert_false(load("[http]\nlisten = https:0.0.0.0:443 http:0.0.0.0:80\n"
	    "proxy = http://127.0.0.1:80/\n", &c, &e));
	assert_true(has_error(&e, "proxy 127.0.0.1:80 is our own listener"));
	config_free(&c);
	config_errors_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_default),
		cmocka_unit_test(test_flexisip_names),
		cmocka_unit_test(test_every_error_with_line),
		cmocka_unit_test(test_bans_and_acls),
		cmocka_unit_test(test_manager),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_iax2),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_sql_users),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_warnings),
	};
	snprintf(path, sizeof(path), "%s/pbxguard.conf", test_tmpdir(dir, sizeof(dir)));
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	rmdir(dir);
	return rc;
}
