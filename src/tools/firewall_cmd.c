/*
 * pbxguard firewall [-c CONF] [--check | --apply]
 *
 * The seed's firewall wizard as an nftables ruleset: loopback, the allowed
 * hosts and established traffic pass, the banned are dropped everywhere,
 * then only the ports of what is enabled open, SIP over UDP rate-limited
 * per source; everything else is dropped. It all lives in the chain
 * "firewall" of table inet pbxguard, next to the daemon's ban sets: no
 * other table or chain is touched. Without an option the ruleset is
 * printed; --check has the kernel parse it (nft -c) without applying;
 * --apply installs it in one transaction.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "core/cidr.h"
#include "core/config.h"
#include "core/ports.h"
#include "daemon/cmds.h"
#include "daemon/nft.h"

static void
put_allowed(FILE *f, const struct config *c, bool v6)
{
	bool first = true;
	for (size_t i = 0; i < c->fw.n_allowed; i++) {
		char s[IPKEY_STRLEN + 8];
		const struct cidr *a = &c->fw.allowed[i];
		if (ipkey_is_v4(&a->net) == v6)
			continue;
		cidr_str(a, s, sizeof(s));
		fprintf(f, "%s%s", first ? "" : ", ", s);
		first = false;
	}
}

static bool
has_allowed(const struct config *c, bool v6)
{
	for (size_t i = 0; i < c->fw.n_allowed; i++)
		if (ipkey_is_v4(&c->fw.allowed[i].net) != v6)
			return true;
	return false;
}

/*
 * The whole transaction. The chain and the sets only it uses are declared,
 * deleted and made anew (so a second --apply replaces, never appends); the
 * ban sets are only declared, since the daemon fills them.
 */
static char *
render(const struct config *c, FILE *say)
{
	struct port_use use[PORTS_MAX];
	size_t n = ports_firewall(c, use, PORTS_MAX);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "# pbxguard firewall: made from %s\n"
	    "add table inet pbxguard\n"
	    "add set inet pbxguard " NFT_SET_BANNED4 "\n"
	    "add set inet pbxguard " NFT_SET_BANNED6 "\n"
	    "add chain inet pbxguard firewall\n"
	    "delete chain inet pbxguard firewall\n", c->source);
	/* The sets only the firewall uses: each declared exactly as it is
	 * made (an "add" that differs from the set in place is an error). */
	static const char *const own_sets[] = {
		"allowed4 { type ipv4_addr; flags interval; }",
		"allowed6 { type ipv6_addr; flags interval; }",
		"siprate4 { type ipv4_addr; flags dynamic; timeout 1m; size 65536; }",
		"siprate6 { type ipv6_addr; flags dynamic; timeout 1m; size 65536; }",
	};
	for (size_t i = 0; i < 4; i++)
		fprintf(f, "add set inet pbxguard %s\ndelete set inet pbxguard %.8s\n"
		    "add set inet pbxguard %s\n", own_sets[i], own_sets[i], own_sets[i]);
	for (int v6 = 0; v6 < 2; v6++)
		if (has_allowed(c, v6)) {
			fprintf(f, "add element inet pbxguard allowed%c { ", v6 ? '6' : '4');
			put_allowed(f, c, v6);
			fputs(" }\n", f);
		}
	fputs("table inet pbxguard {\n"
	    "  chain firewall {\n"
	    "    type filter hook input priority filter; policy drop;\n"
	    "    iif \"lo\" accept\n"
	    "    ip saddr @allowed4 accept comment \"allowed-hosts\"\n"
	    "    ip6 saddr @allowed6 accept comment \"allowed-hosts\"\n"
	    "    ip saddr @banned4 counter drop comment \"banned by pbxguard\"\n"
	    "    ip6 saddr @banned6 counter drop comment \"banned by pbxguard\"\n"
	    "    ct state established,related accept\n"
	    "    ct state invalid drop\n"
	    "    icmp type { echo-request, destination-unreachable, time-exceeded } "
	    "limit rate 20/second accept\n"
	    "    icmpv6 type { echo-request, destination-unreachable, packet-too-big, "
	    "time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, "
	    "nd-neighbor-advert } accept\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct port_use *u = &use[i];
		const char *proto = u->r.proto == TP_UDP ? "udp" : "tcp";
		char ports[16];
		if (u->r.lo == u->r.hi)
			snprintf(ports, sizeof(ports), "%u", u->r.lo);
		else
			snprintf(ports, sizeof(ports), "%u-%u", u->r.lo, u->r.hi);
		if (u->loopback) {
			fprintf(say, "not opened: %s/%s, %s: loopback only\n", ports, proto, u->why);
			continue;
		}
		/* SIP over UDP: a scanner's flood from one source is cut in the
		 * kernel, before it costs pbxguard a parse. */
		if (u->r.proto == TP_UDP && c->fw.sip_udp_rate && u->sip) {
			for (int v6 = 0; v6 < 2; v6++)
				fprintf(f, "    udp dport %s update @siprate%c { %s saddr limit rate over "
				    "%u/second burst %u packets } counter drop comment \"SIP flood\"\n",
				    ports, v6 ? '6' : '4', v6 ? "ip6" : "ip", c->fw.sip_udp_rate,
				    c->fw.sip_udp_rate * 2);
			fprintf(say, "rate limit: %s/udp above %u packets/s from one source is "
			    "dropped\n", ports, c->fw.sip_udp_rate);
		}
		fprintf(f, "    %s dport %s accept comment \"%s\"\n", proto, ports, u->why);
		fprintf(say, "opened: %s/%s for %s\n", ports, proto, u->why);
	}
	fputs("  }\n}\n", f);
	if (has_allowed(c, false) || has_allowed(c, true)) {
		fputs("always passes: ", say);
		put_allowed(say, c, false);
		if (has_allowed(c, false) && has_allowed(c, true))
			fputs(", ", say);
		put_allowed(say, c, true);
		fputs(" (allowed-hosts)\n", say);
	}
	fputs("dropped: everything else, and every address pbxguard bans\n", say);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int
run(const char *text, bool dry)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		fprintf(stderr, "pbxguard: firewall: cannot start libnftables\n");
		return 1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	nft_ctx_set_dry_run(ctx, dry);
	int rc = nft_run_cmd_from_buffer(ctx, text);
	if (rc != 0)
		fprintf(stderr, "pbxguard: firewall: the kernel refuses the ruleset:\n%s",
		    nft_ctx_get_error_buffer(ctx));
	nft_ctx_free(ctx);
	return rc == 0 ? 0 : 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pbxguard firewall [-c CONF] [--check | --apply]\n"
	    "Prints the nftables ruleset for what CONF enables (to stdout; what it opens\n"
	    "and why to stderr). --check: the kernel parses it, nothing changes.\n"
	    "--apply: installed in one transaction, in table inet pbxguard only.\n");
}

int
cmd_firewall(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "apply", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	bool check = false, apply = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'k': check = true; break;
		case 'a': apply = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (check && apply)) {
		usage(stderr);
		return 2;
	}
	struct config cfg;
	if (tool_load_config(conf, &cfg) < 0)
		return 2;
	char *text = render(&cfg, stderr);
	int rc = 1;
	if (!text) {
		fprintf(stderr, "pbxguard: firewall: out of memory\n");
	} else if (check) {
		if ((rc = run(text, true)) == 0)
			fprintf(stderr, "the kernel accepts the ruleset (nothing applied)\n");
	} else if (apply) {
		if ((rc = run(text, false)) == 0)
			fprintf(stderr, "applied: chain firewall of table inet pbxguard\n");
	} else {
		fputs(text, stdout);
		rc = 0;
	}
	free(text);
	config_free(&cfg);
	return rc;
}
