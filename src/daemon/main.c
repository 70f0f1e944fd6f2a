/* pbxguard: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "daemon/cmds.h"
#include "guard/digest.h"

#ifndef PBXGUARD_VERSION
#define PBXGUARD_VERSION "0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pbxguard COMMAND [ARGS]\n"
	    "\n"
	    "  serve [-c FILE] [--check] [-i] [-v]\n"
	    "                                    run the daemon in the foreground; with no -c\n"
	    "                                    it runs on its embedded, loopback-only default\n"
	    "  userdb add|passwd|del|list|verify FILE user@domain\n"
	    "                                    manage a Flexisip userdb file\n"
	    "  ctl [-c FILE] bans list|ban ADDR [TIME]|unban ADDR\n"
	    "                                    bans of the running daemon\n"
	    "  cert ca|server|client ...         make a CA, server and phone certificates\n"
	    "  htpasswd [-cimB25dsDv] [-C cost] [-r rounds] [--force] FILE user [password]\n"
	    "                                    Apache's htpasswd, with atomic rewrites\n"
	    "  keygen [-q] [-n] [-b BITS] NAME   an RSA key pair for IAX2, as astgenkey\n"
	    "  keys [-c FILE] show|init          the IAX2 keys of the running daemon\n"
	    "  audit [-c FILE] [--asterisk DIR] [--json] [--fix]\n"
	    "                                    weak secrets, loose files, risky settings\n"
	    "  firewall [-c FILE] [--check|--apply]\n"
	    "                                    the nftables ruleset for what is enabled\n"
	    "  import asterisk [-c FILE] [-o DIR] DIR\n"
	    "                                    userdb, iax.conf, manager.conf from Asterisk's\n"
	    "  policy check [-c FILE] [--pin] [--user U] ...\n"
	    "                                    test secrets (stdin) against the password policy\n"
	    "  help                              this text\n"
	    "  version                           print the version\n"
	    "\n"
	    "See pbxguard(8) and pbxguard.conf(5).\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {
		{ "serve", cmd_serve },
		{ "userdb", cmd_userdb },
		{ "ctl", cmd_ctl },
		{ "cert", cmd_cert },
		{ "htpasswd", cmd_htpasswd },
		{ "keygen", cmd_keygen },
		{ "keys", cmd_keys },
		{ "policy", cmd_policy },
		{ "audit", cmd_audit },
		{ "import", cmd_import },
		{ "firewall", cmd_firewall },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		/* Every command hashes: fetch the OpenSSL methods once, here. */
		if (!digest_init()) {
			fprintf(stderr, "pbxguard: OpenSSL lacks MD5, SHA-256 or SHA-512/256\n");
			return 1;
		}
		int rc = cmds[i].run(argc - 1, argv + 1);
		digest_shutdown();
		return rc;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("pbxguard %s\n", PBXGUARD_VERSION);
		return 0;
	}
	fprintf(stderr, "pbxguard: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
