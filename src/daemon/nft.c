#include "daemon/nft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "core/log.h"
#include "core/ports.h"

struct nft {
	struct nft_ctx *ctx;
	bool keep;
};

#define NFT_SCRIPT_MAX (1u << 20)

/* Runs one nft script (one transaction); the error text in err. */
static bool
run(struct nft_ctx *ctx, const char *script, char *err, size_t errsz)
{
	int rc = nft_run_cmd_from_buffer(ctx, script);
	const char *e = nft_ctx_get_error_buffer(ctx);
	if (rc != 0 && err) {
		/* First line of nft's message is enough for a log. */
		size_t n = e ? strcspn(e, "\n") : 0;
		snprintf(err, errsz, "%.*s", (int)n, e ? e : "unknown error");
	}
	return rc == 0;
}

static const char *
set_of(const struct ipkey *k)
{
	return ipkey_is_v4(k) ? "banned4" : "banned6";
}

/* The ports a banned address may not reach, of one protocol, as an nft
 * set body ("5060, 10000-20000"); false when there are none. */
static bool
put_ports(FILE *f, const struct config *cfg, enum transport_proto proto)
{
	struct port_use use[PORTS_MAX];
	struct port_range r[PORTS_MAX + CONFIG_MAX_PORTS + 1];
	size_t n = 0, nu = ports_listeners(cfg, use, PORTS_MAX);
	bool sshd = false, ast = false;

	for (size_t i = 0; i < nu; i++)
		r[n++] = use[i].r;
	for (size_t i = 0; i < cfg->watch.n; i++) {
		sshd |= cfg->watch.src[i].kind == WATCH_SSHD;
		ast |= cfg->watch.src[i].kind == WATCH_ASTERISK;
	}
	unsigned ssh = sshd ? ports_ssh(cfg) : 0;
	if (ssh)
		r[n++] = (struct port_range){ TP_TCP, ssh, ssh };
	for (size_t i = 0; ast && i < cfg->watch.n_asterisk_ports; i++)
		r[n++] = cfg->watch.asterisk_ports[i];
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		bool dup = r[i].proto != proto;
		for (size_t j = 0; j < i && !dup; j++)
			dup = r[j].proto == proto && r[j].lo <= r[i].lo && r[i].hi <= r[j].hi;
		if (dup)
			continue;
		fprintf(f, r[i].lo == r[i].hi ? "%s%u" : "%s%u-%u", first ? "" : ", ", r[i].lo,
		    r[i].hi);
		first = false;
	}
	return !first;
}

struct nft *
nft_start(const struct config *cfg, const struct ban_info *bans, size_t nbans, time_t now,
    bool *fatal)
{
	struct nft *n = NULL;
	char *script = NULL, err[512], as[IPKEY_STRLEN];
	size_t len;

	*fatal = false;
	if (cfg->nftables == NFT_NO)
		return NULL;
	FILE *f = open_memstream(&script, &len);
	if (!f)
		goto fail_mem;
	/* Our chain declared, deleted and made anew, the sets emptied: one
	 * transaction, so never half a table; the firewall's chain (and the
	 * sets it refers to) stay. */
	fputs("add table inet pbxguard\n"
	    "add set inet pbxguard " NFT_SET_BANNED4 "\n"
	    "add set inet pbxguard " NFT_SET_BANNED6 "\n"
	    "flush set inet pbxguard banned4\nflush set inet pbxguard banned6\n"
	    "add chain inet pbxguard input\ndelete chain inet pbxguard input\n"
	    "table inet pbxguard {\n"
	    "  chain input {\n"
	    "    type filter hook input priority filter - 10; policy accept;\n", f);
	for (int v6 = 0; v6 < 2; v6++)
		for (int tcp = 0; tcp < 2; tcp++) {
			/* The set body goes to a second stream: a protocol without
			 * ports gets no rule. */
			char *body = NULL;
			size_t blen = 0;
			FILE *g = open_memstream(&body, &blen);
			bool any = g && put_ports(g, cfg, tcp ? TP_TCP : TP_UDP);
			if (g)
				fclose(g);
			if (any)
				fprintf(f, "    %s dport { %s } %s saddr @%s counter drop\n",
				    tcp ? "tcp" : "udp", body, v6 ? "ip6" : "ip",
				    v6 ? "banned6" : "banned4");
			free(body);
		}
	fputs("  }\n}\n", f);
	for (size_t i = 0; i < nbans; i++)
		if (bans[i].until > now)
			fprintf(f, "add element inet pbxguard %s { %s timeout %llds }\n",
			    set_of(&bans[i].addr), ipkey_str(&bans[i].addr, as, sizeof(as)),
			    (long long)(bans[i].until - now));
	if (fclose(f) != 0)
		goto fail_mem;
	if (!(n = calloc(1, sizeof(*n))) || !(n->ctx = nft_ctx_new(NFT_CTX_DEFAULT)))
		goto fail_mem;
	nft_ctx_buffer_output(n->ctx);
	nft_ctx_buffer_error(n->ctx);
	n->keep = cfg->nftables_keep;
	if (!run(n->ctx, script, err, sizeof(err))) {
		if (cfg->nftables == NFT_YES) {
			log_err("nftables = yes, but table inet pbxguard cannot be made: %s", err);
			*fatal = true;
		} else {
			log_warn("nftables: cannot make table inet pbxguard (%s): bans are enforced "
			    "in pbxguard only; run with CAP_NET_ADMIN for kernel bans, or set "
			    "[bans] nftables = no to silence this", err);
		}
		goto fail;
	}
	log_notice("nftables: table inet pbxguard in place, %zu ban%s loaded", nbans,
	    nbans == 1 ? "" : "s");
	free(script);
	return n;
fail_mem:
	log_err("nftables: out of memory");
	*fatal = cfg->nftables == NFT_YES;
fail:
	free(script);
	if (n && n->ctx)
		nft_ctx_free(n->ctx);
	free(n);
	return NULL;
}

void
nft_on_ban(void *arg, const struct ban_info *bi, enum ban_change what, time_t now,
    const char *why)
{
	struct nft *n = arg;
	char cmd[256], as[IPKEY_STRLEN], err[512];
	(void)why;

	ipkey_str(&bi->addr, as, sizeof(as));
	/* An element that is there (a ban renewed) must go first: "add" would
	 * keep its old timeout. Its absence is not an error. */
	snprintf(cmd, sizeof(cmd), "delete element inet pbxguard %s { %s }", set_of(&bi->addr),
	    as);
	run(n->ctx, cmd, NULL, 0);
	if (what != BAN_STARTED || bi->until <= now)
		return;
	snprintf(cmd, sizeof(cmd), "add element inet pbxguard %s { %s timeout %llds }",
	    set_of(&bi->addr), as, (long long)(bi->until - now));
	if (!run(n->ctx, cmd, err, sizeof(err)))
		log_warn("nftables: cannot add %s to the ban set (%s): banned in pbxguard only",
		    as, err);
}

void
nft_stop(struct nft *n)
{
	if (!n)
		return;
	if (!n->keep) {
		char err[512];
		/* With the firewall's chain in the table, only ours goes (its
		 * chain still drops the banned until their time is up). */
		if (run(n->ctx, "list chain inet pbxguard firewall", NULL, 0)) {
			if (run(n->ctx, "delete chain inet pbxguard input", err, sizeof(err)))
				log_notice("nftables: chain input of table inet pbxguard removed "
				    "(the firewall's chain stays)");
			else
				log_warn("nftables: cannot remove chain inet pbxguard input: %s", err);
		} else if (run(n->ctx, "delete table inet pbxguard", err, sizeof(err))) {
			log_notice("nftables: table inet pbxguard removed");
		} else {
			log_warn("nftables: cannot remove table inet pbxguard: %s", err);
		}
	}
	nft_ctx_free(n->ctx);
	free(n);
}
