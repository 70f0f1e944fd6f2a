#include "core/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/config_int.h"
#include "core/log.h"

const char config_embedded_default[] =
	"; pbxguard embedded default: loopback only, demo account in the state\n"
	"; directory. Copy to a file and pass it with -c to change anything.\n"
	"[module::Authentication]\n"
	"enabled = true\n"
	"auth-domains = localhost 127.0.0.1\n"
	"available-algorithms = SHA-256 MD5\n"
	"db-implementation = file\n"
	"nonce-expires = 3600\n"
	"\n"
	"[sip]\n"
	"transports = udp:127.0.0.1:5060 tcp:127.0.0.1:5060 udp:[::1]:5060 tcp:[::1]:5060 "
	"tls:127.0.0.1:5061\n"
	"\n"
	"[http]\n"
	"listen = https:127.0.0.1:8443\n";


static void
vnote(struct cfg_ctx *x, bool warn, const char *fmt, va_list ap)
{
	char buf[512], full[640];
	char ***v = warn ? &x->errs->warn : &x->errs->msg;
	size_t *n = warn ? &x->errs->nwarn : &x->errs->n;
	char **nv;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	snprintf(full, sizeof(full), "%s:%u: %s%s", x->fname, x->line,
	    warn ? "warning: " : "", buf);
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return;
	*v = nv;
	if ((nv[*n] = strdup(full)))
		(*n)++;
}

void
cfg_error(struct cfg_ctx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vnote(x, false, fmt, ap);
	va_end(ap);
}

void
cfg_warning(struct cfg_ctx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vnote(x, true, fmt, ap);
	va_end(ap);
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	cfg_hard_defaults(c);
	c->log_level = LOG_INFO;
	c->auth_enabled = true;
	c->algos[0] = (struct digest_alg){ DIGEST_MD5, false };
	c->n_algos = 1;
	snprintf(c->db_implementation, sizeof(c->db_implementation), "file");
	snprintf(c->sql_backend, sizeof(c->sql_backend), "mysql");
	snprintf(c->sql_request, sizeof(c->sql_request), "%s", CONFIG_SQL_REQUEST);
	c->sql_poolsize = 4;
	c->sql_max_queue = 1000;
	c->cache_expire = 1800;
	c->nonce_expires = 3600;
	c->nonce_table = 65536;
	c->min_expires = 60;
	c->max_expires = 86400;
	c->default_expires = 3600;
	c->max_contacts_by_aor = 15;
	c->max_message_size = 65535;
	c->max_headers = 100;
	c->idle_timeout = 300;
	c->max_connections = 1024;
	c->header_timeout = 30;
	c->tls_handshake_timeout = 10;
	c->tls_max_handshakes = 8;
	c->upstream_timeout = 2;
	c->max_transactions = 32768;
	c->max_dialogs = 16384;
	c->dialog_timeout = 43200;	/* Kamailio dialog's default_timeout */

	/* fail2ban's [asterisk] jail; sshguard-like growth up to a week. */
	c->bans_enabled = true;
	c->maxretry = 10;
	c->findtime = 600;
	c->bantime = 600;
	c->bantime_increment = true;
	c->bantime_maxtime = 7 * 86400;
	c->account_maxretry = 20;
	c->account_findtime = 3600;
	c->account_locktime = 3600;
	/* Kamailio pike's defaults: 30 requests per 2 s sampling unit. */
	c->pike_limit = 30;
	c->pike_window = 2;
	c->pike_bantime = 120;
	c->max_tracked = 65536;
	c->nftables = NFT_AUTO;

	/* Asterisk's manager.conf defaults, the seed's TLS ones, loopback. */
	addr_parse(slice_cstr("127.0.0.1:5038"), &c->ami.bind);
	addr_parse(slice_cstr("127.0.0.1:5039"), &c->ami.tls_bind);
	c->ami.hello_timeout_ms = 500;
	c->ami.accept_encrypted = true;
	c->ami.accept_unencrypted = true;
	c->ami.authtimeout = 30;
	c->ami.authlimit = 50;
	c->ami.max_sessions = 256;
	c->ami.displayconnects = true;
	c->ami.allowmultiplelogin = true;
	snprintf(c->ami.version, sizeof(c->ami.version), "%s", CONFIG_AMI_VERSION);
	c->ami.acl = CONFIG_NO_ACL;
	c->ami.upstream_verify = true;

	/* chan_iax2's defaults, on loopback like every other door here. */
	addr_parse(slice_cstr("127.0.0.1:4569"), &c->iax2.bind);
	c->iax2.token_expiration = 10;
	c->iax2.maxcallnumbers = 2048;
	c->iax2.maxcallnumbers_nonvalidated = 8192;
	c->iax2.authtimeout = 10;
	c->iax2.delayreject = true;
	c->iax2.minregexpire = 60;
	c->iax2.maxregexpire = 3600;
	c->iax2.defaultexpire = 60;
	c->iax2.acl = CONFIG_NO_ACL;
	/* Apache's defaults where it has one; a cache as mod_authn_socache's. */
	snprintf(c->http.auth_name, sizeof(c->http.auth_name), "pbxguard");
	c->http.cache_timeout = 300;
	c->http.cache_entries = 1024;
	c->http.max_connections = 256;
	c->http.request_timeout = 20;
	c->http.keepalive_timeout = 5;
	c->http.acl = CONFIG_NO_ACL;
}

/* Scanners that name themselves; a User-Agent is only ever a hint. */
static const char *const default_scanners[] = { "friendly-scanner", "sipvicious", "sipcli",
	"VaxSIPUserAgent", "pplsip", "sundayddr", "iWar", "sip-scan", "SIVuS", "smap", NULL };

static void
free_agents(struct config *c)
{
	for (size_t i = 0; i < c->n_scanner_agents; i++)
		free(c->scanner_agents[i]);
	c->n_scanner_agents = 0;
}

static void
free_domains(struct config *c)
{
	for (size_t i = 0; i < c->n_auth_domains; i++)
		free(c->auth_domains[i]);
	c->n_auth_domains = 0;
}

static void
free_trusted(struct config *c)
{
	for (size_t i = 0; i < c->n_trusted_certs; i++)
		free(c->trusted_certs[i]);
	c->n_trusted_certs = 0;
}

void
config_free(struct config *c)
{
	free_domains(c);
	free_trusted(c);
	free_agents(c);
	for (size_t i = 0; i < c->n_acls; i++)
		free(c->acls[i].rules);
	c->n_acls = 0;
}

bool
config_parse_duration(struct slice s, unsigned *secs)
{
	static const struct { char unit; unsigned mult; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	unsigned mult = 1;
	uint64_t n;

	s = slice_trim(s);
	/* One unit at most: "5hm" or "dm" is no duration (the loop once went on
	 * matching after a unit was cut, down to reading before the value). */
	if (s.n > 1)
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if ((s.p[s.n - 1] | 0x20) == units[i].unit) {
				mult = units[i].mult;
				s.n--;
				break;
			}
	if (!slice_to_u64(s, 0, UINT32_MAX / mult, &n))
		return false;
	*secs = (unsigned)n * mult;
	return true;
}

int
config_find_acl(const struct config *c, struct slice name)
{
	for (size_t i = 0; i < c->n_acls; i++)
		if (slice_eq_cstr(name, c->acls[i].name))
			return (int)i;
	return CONFIG_NO_ACL;
}

void
config_errors_free(struct config_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	for (size_t i = 0; i < e->nwarn; i++)
		free(e->warn[i]);
	free(e->msg);
	free(e->warn);
	memset(e, 0, sizeof(*e));
}

/* ---- value parsers ---------------------------------------------------- */

bool
cfg_bool(struct cfg_ctx *x, const char *key, const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on", NULL };
	static const char *const no[] = { "false", "no", "0", "off", NULL };
	for (int i = 0; yes[i]; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	cfg_error(x, "%s: expected true or false, got '%s'", key, v);
	return false;
}

bool
cfg_uint(struct cfg_ctx *x, const char *key, const char *v, unsigned min, unsigned max,
    unsigned *out)
{
	uint64_t n;
	if (!slice_to_u64(slice_cstr(v), min, max, &n)) {
		cfg_error(x, "%s: expected a whole number from %u to %u, got '%s'", key, min, max, v);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

bool
cfg_str(struct cfg_ctx *x, const char *key, const char *v, char *dst, size_t dstsz)
{
	if ((size_t)snprintf(dst, dstsz, "%s", v) >= dstsz) {
		cfg_error(x, "%s: longer than %zu characters", key, dstsz - 1);
		return false;
	}
	return true;
}

void
cfg_duration(struct cfg_ctx *x, const char *key, const char *v, unsigned min, unsigned *out)
{
	unsigned secs;
	if (!config_parse_duration(slice_cstr(v), &secs) || secs < min)
		cfg_error(x, "%s: expected a time of at least %u s, like 600, 10m, 1h, 1d or 1w, "
		    "got '%s'", key, min, v);
	else
		*out = secs;
}

/* Calls fn for each space-separated word of v. */
void
cfg_words(struct cfg_ctx *x, const char *v, void (*fn)(struct cfg_ctx *, struct slice))
{
	struct slice s = slice_cstr(v);
	size_t i = 0;
	while (i < s.n) {
		while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == ','))
			i++;
		size_t j = i;
		while (j < s.n && s.p[j] != ' ' && s.p[j] != '\t' && s.p[j] != ',')
			j++;
		if (j > i)
			fn(x, slice_sub(s, i, j - i));
		i = j;
	}
}

static void
add_domain(struct cfg_ctx *x, struct slice w)
{
	struct config *c = x->c;
	if (c->n_auth_domains == CONFIG_MAX_DOMAINS) {
		cfg_error(x, "auth-domains: more than %d domains", CONFIG_MAX_DOMAINS);
		return;
	}
	char *d = slice_dup(w);
	if (d)
		c->auth_domains[c->n_auth_domains++] = d;
}

static void
add_trusted(struct cfg_ctx *x, struct slice w)
{
	struct config *c = x->c;
	if (c->n_trusted_certs == CONFIG_MAX_DOMAINS) {
		cfg_error(x, "trusted-client-certificates: more than %d", CONFIG_MAX_DOMAINS);
		return;
	}
	char *d = slice_dup(w);
	if (d)
		c->trusted_certs[c->n_trusted_certs++] = d;
}

static void
add_algo(struct cfg_ctx *x, struct slice w)
{
	struct config *c = x->c;
	struct digest_alg a;
	if (!digest_alg_parse(w, &a)) {
		cfg_error(x, "available-algorithms: unknown algorithm '%.*s' (expected MD5, "
		    "SHA-256 or SHA-512-256)", (int)(w.n > 40 ? 40 : w.n), w.p);
		return;
	}
	for (size_t i = 0; i < c->n_algos; i++)
		if (c->algos[i].algo == a.algo && c->algos[i].sess == a.sess) {
			cfg_error(x, "available-algorithms: %s listed twice", digest_alg_name(a));
			return;
		}
	if (c->n_algos == CONFIG_MAX_ALGOS) {
		cfg_error(x, "available-algorithms: too many algorithms");
		return;
	}
	c->algos[c->n_algos++] = a;
}

static void
add_transport_one(struct cfg_ctx *x, enum transport_proto p, const struct addr *a,
    struct slice acl)
{
	struct config *c = x->c;
	if (c->n_transports == CONFIG_MAX_TRANSPORTS) {
		cfg_error(x, "transports: more than %d listeners", CONFIG_MAX_TRANSPORTS);
		return;
	}
	struct transport_spec *t = &c->transports[c->n_transports++];
	*t = (struct transport_spec){ p, *a, CONFIG_NO_ACL, "", false };
	slice_copy(acl, t->acl_name, sizeof(t->acl_name));
}

/*
 * udp:ADDR:PORT | tcp:ADDR:PORT | tls:ADDR:PORT, or Flexisip's
 * sip:ADDR:PORT[;transport=udp|tcp] (both UDP and TCP when no transport is
 * given) and sips:ADDR:PORT. ADDR may be * or [::]. Parameters: acl=NAME,
 * and for TLS require-peer-certificate=0|1.
 */
static void
add_transport(struct cfg_ctx *x, struct slice w)
{
	struct slice rest, scheme = slice_cut(w, ':', &rest), params, hostport, acl = SLICE_NULL;
	bool udp = false, tcp = false, tls = false, peer = false;
	struct addr a;

	hostport = slice_cut(rest, ';', &params);
	if (slice_caseeq_cstr(scheme, "udp")) {
		udp = true;
	} else if (slice_caseeq_cstr(scheme, "tcp")) {
		tcp = true;
	} else if (slice_caseeq_cstr(scheme, "sip")) {
		udp = tcp = true;
	} else if (slice_caseeq_cstr(scheme, "tls") || slice_caseeq_cstr(scheme, "sips")) {
		tls = true;
	} else {
		cfg_error(x, "transports: '%.*s': expected udp:ADDR:PORT, tcp:ADDR:PORT, "
		    "tls:ADDR:PORT, sip:ADDR:PORT or sips:ADDR:PORT", (int)w.n, w.p);
		return;
	}
	while (params.n) {
		struct slice p = slice_cut(params, ';', &params);
		struct slice v, k = slice_cut(p, '=', &v);
		if (slice_caseeq_cstr(k, "transport") && slice_caseeq_cstr(scheme, "sip") &&
		    (slice_caseeq_cstr(v, "udp") || slice_caseeq_cstr(v, "tcp"))) {
			udp = slice_caseeq_cstr(v, "udp");
			tcp = !udp;
		} else if (slice_caseeq_cstr(k, "acl") && v.n > 0 && v.n < 32) {
			acl = v;
		} else if (tls && slice_caseeq_cstr(k, "require-peer-certificate") &&
		    (slice_eq_cstr(v, "0") || slice_eq_cstr(v, "1"))) {
			peer = slice_eq_cstr(v, "1");
		} else {
			cfg_error(x, "transports: '%.*s': unsupported parameter '%.*s'", (int)w.n, w.p,
			    (int)p.n, p.p);
			return;
		}
	}
	char buf[128];
	if (hostport.n >= 2 && hostport.p[0] == '*' && hostport.p[1] == ':') {
		snprintf(buf, sizeof(buf), "0.0.0.0%.*s", (int)hostport.n - 1, hostport.p + 1);
		hostport = slice_cstr(buf);
	}
	if (!addr_parse(hostport, &a) || addr_port(&a) == 0) {
		cfg_error(x, "transports: '%.*s': expected a numeric address and a port "
		    "(IPv6 in brackets: [::1]:5060)", (int)w.n, w.p);
		return;
	}
	if (udp)
		add_transport_one(x, TP_UDP, &a, acl);
	if (tcp)
		add_transport_one(x, TP_TCP, &a, acl);
	if (tls) {
		add_transport_one(x, TP_TLS, &a, acl);
		if (x->c->n_transports)
			x->c->transports[x->c->n_transports - 1].require_peer_cert = peer;
	}
}

/*
 * [sip] upstream: sip:ADDR[:PORT][;transport=udp], or ADDR:PORT. Only UDP:
 * the PBX sits beside us, and UDP keeps its source address and port stable,
 * which is what marks it as trusted.
 */
static void
add_upstream(struct cfg_ctx *x, struct slice w)
{
	struct config *c = x->c;
	struct slice rest = w, params, hostport;
	struct addr a;
	char buf[128];

	if (slice_startswith_case(rest, "sip:"))
		rest = slice_sub(rest, 4, rest.n - 4);
	else if (slice_startswith_case(rest, "sips:")) {
		cfg_error(x, "upstream: '%.*s': TLS to the upstream is not supported; use "
		    "sip:ADDR:PORT;transport=udp", (int)w.n, w.p);
		return;
	}
	hostport = slice_cut(rest, ';', &params);
	while (params.n) {
		struct slice p = slice_cut(params, ';', &params);
		struct slice v, k = slice_cut(p, '=', &v);
		if (slice_caseeq_cstr(k, "transport") && slice_caseeq_cstr(v, "udp"))
			continue;
		if (slice_caseeq_cstr(k, "lr") && v.n == 0)
			continue;
		if (slice_caseeq_cstr(k, "transport"))
			cfg_error(x, "upstream: '%.*s': only transport=udp is supported (phones may "
			    "still use TCP or TLS: pbxguard bridges them)", (int)w.n, w.p);
		else
			cfg_error(x, "upstream: '%.*s': unsupported parameter '%.*s'", (int)w.n, w.p,
			    (int)p.n, p.p);
		return;
	}
	if (!addr_parse(hostport, &a)) {
		/* No port: SIP's default. */
		if ((size_t)snprintf(buf, sizeof(buf), "%.*s:5060", (int)hostport.n,
		    hostport.p) >= sizeof(buf) || !addr_parse(slice_cstr(buf), &a)) {
			cfg_error(x, "upstream: '%.*s': expected sip:ADDR:PORT with a numeric address "
			    "(IPv6 in brackets)", (int)w.n, w.p);
			return;
		}
	}
	if (addr_port(&a) == 0) {
		cfg_error(x, "upstream: '%.*s': port 0", (int)w.n, w.p);
		return;
	}
	if (c->n_upstreams == CONFIG_MAX_UPSTREAMS) {
		cfg_error(x, "upstream: more than %d upstreams", CONFIG_MAX_UPSTREAMS);
		return;
	}
	c->upstreams[c->n_upstreams++] = (struct upstream_spec){ a, TP_UDP };
}

static void
add_node(struct cfg_ctx *x, struct slice w)
{
	struct config *c = x->c;
	if (c->n_cluster_nodes == CONFIG_MAX_NODES) {
		cfg_error(x, "nodes: more than %d nodes", CONFIG_MAX_NODES);
		return;
	}
	if (!ipkey_parse(w, &c->cluster_nodes[c->n_cluster_nodes])) {
		cfg_error(x, "nodes: '%.*s': expected an IP address", (int)(w.n > 64 ? 64 : w.n),
		    w.p);
		return;
	}
	c->n_cluster_nodes++;
}

/* ---- the key table ---------------------------------------------------- */

static void
set_global(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config *c = x->c;
	if (strcmp(k, "statedir") == 0) {
		cfg_str(x, k, v, c->statedir, sizeof(c->statedir));
	} else if (strcmp(k, "state") == 0) {
		if (strcmp(v, "memory") == 0)
			c->state_url[0] = '\0';
		else if (strncmp(v, "redis://", 8) != 0 && strncmp(v, "redis-sentinel://", 17) != 0)
			cfg_error(x, "state: expected memory, redis://host:port/db or "
			    "redis-sentinel://host:port,host:port/db#master, not '%s'", v);
		else
			cfg_str(x, k, v, c->state_url, sizeof(c->state_url));
	} else if (strcmp(k, "security-log") == 0) {
		cfg_str(x, k, v, c->security_log, sizeof(c->security_log));
	} else if (strcmp(k, "require-peer-certificate") == 0) {
		cfg_bool(x, k, v, &c->require_peer_cert);
	} else if (strcmp(k, "control-socket") == 0) {
		cfg_str(x, k, v, c->control_socket, sizeof(c->control_socket));
	} else if (strcmp(k, "log-level") == 0) {
		static const char *const lv[] = { "error", "warning", "notice", "info", "debug" };
		for (int i = 0; i < 5; i++)
			if (strcasecmp(v, lv[i]) == 0) {
				c->log_level = i;
				return;
			}
		cfg_error(x, "log-level: expected error, warning, notice, info or debug");
	} else {
		cfg_error(x, "[global]: unknown key '%s'", k);
	}
}

static void
set_auth(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config *c = x->c;
	if (strcmp(k, "enabled") == 0) {
		cfg_bool(x, k, v, &c->auth_enabled);
	} else if (strcmp(k, "auth-domains") == 0) {
		free_domains(c);
		cfg_words(x, v, add_domain);
	} else if (strcmp(k, "available-algorithms") == 0) {
		c->n_algos = 0;
		cfg_words(x, v, add_algo);
		if (c->n_algos == 0)
			cfg_error(x, "available-algorithms: needs at least one algorithm");
	} else if (strcmp(k, "db-implementation") == 0) {
		/* soci is Flexisip's name for it; what runs is each engine's own client. */
		if (strcmp(v, "file") == 0 || strcmp(v, "sql") == 0)
			cfg_str(x, k, v, c->db_implementation, sizeof(c->db_implementation));
		else if (strcmp(v, "soci") == 0)
			cfg_str(x, k, "sql", c->db_implementation, sizeof(c->db_implementation));
		else
			cfg_error(x, "db-implementation: '%s' is not one of file, soci, sql", v);
	} else if (strcmp(k, "soci-backend") == 0) {
		if (strcmp(v, "postgresql") == 0 || strcmp(v, "mysql") == 0 ||
		    strcmp(v, "sqlite3") == 0)
			cfg_str(x, k, v, c->sql_backend, sizeof(c->sql_backend));
		else if (strcmp(v, "mariadb") == 0)
			cfg_str(x, k, "mysql", c->sql_backend, sizeof(c->sql_backend));
		else
			cfg_error(x, "soci-backend: '%s' is not one of postgresql, mysql, sqlite3", v);
	} else if (strcmp(k, "soci-connection-string") == 0) {
		cfg_str(x, k, v, c->sql_conninfo, sizeof(c->sql_conninfo));
	} else if (strcmp(k, "soci-password-request") == 0) {
		cfg_str(x, k, v, c->sql_request, sizeof(c->sql_request));
	} else if (strcmp(k, "soci-poolsize") == 0) {
		cfg_uint(x, k, v, 1, 64, &c->sql_poolsize);
	} else if (strcmp(k, "soci-max-queue-size") == 0) {
		cfg_uint(x, k, v, 1, 100000, &c->sql_max_queue);
	} else if (strcmp(k, "cache-expire") == 0) {
		cfg_uint(x, k, v, 0, 86400 * 7, &c->cache_expire);
	} else if (strcmp(k, "file-path") == 0 || strcmp(k, "datasource") == 0) {
		cfg_str(x, k, v, c->file_path, sizeof(c->file_path));
	} else if (strcmp(k, "nonce-expires") == 0) {
		cfg_uint(x, k, v, 5, 86400, &c->nonce_expires);
	} else if (strcmp(k, "realm") == 0) {
		cfg_str(x, k, v, c->realm, sizeof(c->realm));
		if (strchr(c->realm, '"') || strchr(c->realm, '\\'))
			cfg_error(x, "realm: must not contain '\"' or '\\'");
	} else if (strcmp(k, "no-403") == 0) {
		cfg_bool(x, k, v, &c->no_403);
	} else if (strcmp(k, "disable-qop-auth") == 0) {
		cfg_bool(x, k, v, &c->disable_qop_auth);
	} else if (strcmp(k, "nonce-count-table") == 0) {
		cfg_uint(x, k, v, 64, 1u << 24, &c->nonce_table);
	} else if (strcmp(k, "trusted-client-certificates") == 0) {
		free_trusted(c);
		cfg_words(x, v, add_trusted);
	} else if (strcmp(k, "reject-wrong-client-certificates") == 0) {
		cfg_bool(x, k, v, &c->reject_wrong_certs);
	} else if (strcmp(k, "trust-domain-certificates") == 0) {
		cfg_bool(x, k, v, &c->trust_domain_certs);
	} else if (strcmp(k, "tls-client-certificate-required-subject") == 0) {
		if (cfg_str(x, k, v, c->cert_subject_regex, sizeof(c->cert_subject_regex))) {
			int ecode;
			PCRE2_SIZE eoff;
			pcre2_code *re = pcre2_compile((PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED, 0,
			    &ecode, &eoff, NULL);
			if (!re) {
				PCRE2_UCHAR msg[128];
				pcre2_get_error_message(ecode, msg, sizeof(msg));
				cfg_error(x, "%s: at offset %zu: %s", k, (size_t)eoff, (char *)msg);
			}
			pcre2_code_free(re);
		}
	} else {
		cfg_error(x, "[module::Authentication]: unknown or unsupported key '%s'", k);
	}
}

static void
set_registrar(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config *c = x->c;
	if (strcmp(k, "min-expires") == 0)
		cfg_uint(x, k, v, 1, 86400, &c->min_expires);
	else if (strcmp(k, "max-expires") == 0)
		cfg_uint(x, k, v, 1, 31536000, &c->max_expires);
	else if (strcmp(k, "default-expires") == 0)
		cfg_uint(x, k, v, 1, 31536000, &c->default_expires);
	else if (strcmp(k, "max-contacts-by-aor") == 0)
		cfg_uint(x, k, v, 1, 1000, &c->max_contacts_by_aor);
	else
		cfg_error(x, "[module::Registrar]: unknown key '%s'", k);
}

static void
set_sip(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config *c = x->c;
	if (strcmp(k, "transports") == 0) {
		c->n_transports = 0;
		cfg_words(x, v, add_transport);
	} else if (strcmp(k, "max-message-size") == 0) {
		cfg_uint(x, k, v, 1024, 65535, &c->max_message_size);
	} else if (strcmp(k, "max-headers") == 0) {
		cfg_uint(x, k, v, 8, 256, &c->max_headers);
	} else if (strcmp(k, "idle-timeout") == 0) {
		cfg_uint(x, k, v, 5, 86400, &c->idle_timeout);
	} else if (strcmp(k, "max-connections") == 0) {
		cfg_uint(x, k, v, 1, 65536, &c->max_connections);
	} else if (strcmp(k, "header-timeout") == 0) {
		cfg_uint(x, k, v, 1, 3600, &c->header_timeout);
	} else if (strcmp(k, "tlscertfile") == 0) {
		cfg_str(x, k, v, c->tls_cert, sizeof(c->tls_cert));
	} else if (strcmp(k, "tlsprivatekey") == 0) {
		cfg_str(x, k, v, c->tls_key, sizeof(c->tls_key));
	} else if (strcmp(k, "tlscafile") == 0) {
		cfg_str(x, k, v, c->tls_ca, sizeof(c->tls_ca));
	} else if (strcmp(k, "tlscipher") == 0) {
		cfg_str(x, k, v, c->tls_cipher, sizeof(c->tls_cipher));
	} else if (strcmp(k, "tlskeytype") == 0) {
		if (strcasecmp(v, "ec") == 0 || strcasecmp(v, "ecdsa") == 0 ||
		    strcasecmp(v, "rsa") == 0)
			c->tls_rsa = strcasecmp(v, "rsa") == 0;
		else
			cfg_error(x, "tlskeytype: expected ec or rsa, got '%s'", v);
	} else if (strcmp(k, "tls-handshake-timeout") == 0) {
		cfg_uint(x, k, v, 1, 300, &c->tls_handshake_timeout);
	} else if (strcmp(k, "tls-max-handshakes") == 0) {
		cfg_uint(x, k, v, 1, 10000, &c->tls_max_handshakes);
	} else if (strcmp(k, "upstream") == 0) {
		c->n_upstreams = 0;
		cfg_words(x, v, add_upstream);
	} else if (strcmp(k, "register") == 0) {
		if (strcasecmp(v, "local") == 0 || strcasecmp(v, "forward") == 0)
			c->register_forward = strcasecmp(v, "forward") == 0;
		else
			cfg_error(x, "register: expected local or forward, got '%s'", v);
	} else if (strcmp(k, "upstream-timeout") == 0) {
		cfg_uint(x, k, v, 1, 32, &c->upstream_timeout);
	} else if (strcmp(k, "max-transactions") == 0) {
		cfg_uint(x, k, v, 16, 1000000, &c->max_transactions);
	} else if (strcmp(k, "max-dialogs") == 0) {
		cfg_uint(x, k, v, 16, 1000000, &c->max_dialogs);
	} else if (strcmp(k, "dialog-timeout") == 0) {
		cfg_duration(x, k, v, 60, &c->dialog_timeout);
	} else {
		cfg_error(x, "[sip]: unknown key '%s'", k);
	}
}

static void
add_ignoreip(struct cfg_ctx *x, struct slice w)
{
	struct config *c = x->c;
	const char *why;
	if (c->n_ignoreip == CONFIG_MAX_CIDRS) {
		cfg_error(x, "ignoreip: more than %d networks", CONFIG_MAX_CIDRS);
		return;
	}
	if (!cidr_parse(w, &c->ignoreip[c->n_ignoreip], &why)) {
		cfg_error(x, "ignoreip: '%.*s': %s", (int)(w.n > 64 ? 64 : w.n), w.p, why);
		return;
	}
	c->n_ignoreip++;
}

static void
add_agent(struct cfg_ctx *x, struct slice w)
{
	struct config *c = x->c;
	if (c->n_scanner_agents == CONFIG_MAX_AGENTS) {
		cfg_error(x, "scanner-user-agents: more than %d names", CONFIG_MAX_AGENTS);
		return;
	}
	char *a = slice_dup(w);
	if (a)
		c->scanner_agents[c->n_scanner_agents++] = a;
}

static void
set_bans(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config *c = x->c;
	if (strcmp(k, "enabled") == 0) {
		cfg_bool(x, k, v, &c->bans_enabled);
	} else if (strcmp(k, "maxretry") == 0) {
		cfg_uint(x, k, v, 1, 1000, &c->maxretry);
	} else if (strcmp(k, "findtime") == 0) {
		cfg_duration(x, k, v, 1, &c->findtime);
	} else if (strcmp(k, "bantime") == 0) {
		cfg_duration(x, k, v, 1, &c->bantime);
	} else if (strcmp(k, "bantime.increment") == 0) {
		cfg_bool(x, k, v, &c->bantime_increment);
	} else if (strcmp(k, "bantime.maxtime") == 0) {
		cfg_duration(x, k, v, 1, &c->bantime_maxtime);
	} else if (strcmp(k, "ignoreip") == 0) {
		c->n_ignoreip = 0;
		cfg_words(x, v, add_ignoreip);
	} else if (strcmp(k, "account-maxretry") == 0) {
		cfg_uint(x, k, v, 1, 100000, &c->account_maxretry);
	} else if (strcmp(k, "account-findtime") == 0) {
		cfg_duration(x, k, v, 1, &c->account_findtime);
	} else if (strcmp(k, "account-locktime") == 0) {
		cfg_duration(x, k, v, 1, &c->account_locktime);
	} else if (strcmp(k, "pike-limit") == 0) {
		cfg_uint(x, k, v, 0, 10000000, &c->pike_limit);
	} else if (strcmp(k, "pike-window") == 0) {
		cfg_duration(x, k, v, 1, &c->pike_window);
	} else if (strcmp(k, "pike-bantime") == 0) {
		cfg_duration(x, k, v, 1, &c->pike_bantime);
	} else if (strcmp(k, "scanner-user-agents") == 0) {
		free_agents(c);
		x->agents_set = true;
		cfg_words(x, v, add_agent);
	} else if (strcmp(k, "max-tracked") == 0) {
		cfg_uint(x, k, v, 64, 1u << 24, &c->max_tracked);
	} else if (strcmp(k, "nftables") == 0) {
		bool b;
		if (strcasecmp(v, "auto") == 0)
			c->nftables = NFT_AUTO;
		else if (cfg_bool(x, k, v, &b))
			c->nftables = b ? NFT_YES : NFT_NO;
	} else if (strcmp(k, "nftables-on-exit") == 0) {
		if (strcmp(v, "delete") == 0 || strcmp(v, "keep") == 0)
			c->nftables_keep = strcmp(v, "keep") == 0;
		else
			cfg_error(x, "nftables-on-exit: expected delete or keep, got '%s'", v);
	} else {
		cfg_error(x, "[bans]: unknown key '%s'", k);
	}
}

static void
set_acl(struct cfg_ctx *x, const char *section, const char *k, const char *v)
{
	struct config *c = x->c;
	const char *name = section + 4, *why;
	struct acl_group *g = NULL;
	struct acl_rule r;

	if (!*name || strlen(name) >= sizeof(g->name) || strchr(name, ' ')) {
		cfg_error(x, "[%s]: an ACL name is 1 to %zu characters without spaces", section,
		    sizeof(g->name) - 1);
		return;
	}
	int i = config_find_acl(c, slice_cstr(name));
	if (i != CONFIG_NO_ACL) {
		g = &c->acls[i];
	} else if (c->n_acls == CONFIG_MAX_ACLS) {
		cfg_error(x, "more than %d ACL groups", CONFIG_MAX_ACLS);
		return;
	} else {
		g = &c->acls[c->n_acls++];
		memset(g, 0, sizeof(*g));
		snprintf(g->name, sizeof(g->name), "%s", name);
	}
	if (strcmp(k, "permit") == 0 || strcmp(k, "deny") == 0) {
		r.permit = k[0] == 'p';
	} else {
		cfg_error(x, "[%s]: unknown key '%s' (expected permit or deny)", section, k);
		return;
	}
	if (!cidr_parse(slice_cstr(v), &r.net, &why)) {
		cfg_error(x, "%s: '%s': %s", k, v, why);
		return;
	}
	struct acl_rule *nr = realloc(g->rules, (g->n + 1) * sizeof(*nr));
	if (!nr) {
		cfg_error(x, "out of memory");
		return;
	}
	g->rules = nr;
	g->rules[g->n++] = r;
}

/* "HOST:PORT" or Asterisk's bindaddr with the port given apart. */
static bool
parse_manager_addr(struct cfg_ctx *x, const char *k, const char *v, unsigned port, struct addr *a)
{
	struct slice s = slice_trim(slice_cstr(v));
	if (addr_parse(s, a))
		return true;
	if (s.n && s.p[0] == '[' && s.p[s.n - 1] == ']')
		s = slice_sub(s, 1, s.n - 2);
	if (addr_from_host(s, port, a))
		return true;
	cfg_error(x, "%s: expected a numeric address, optionally with :PORT, got '%s'", k, v);
	return false;
}

static void
set_manager(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_manager *m = &x->c->ami;
	unsigned port;

	if (strcmp(k, "enabled") == 0) {
		cfg_bool(x, k, v, &m->enabled);
	} else if (strcmp(k, "port") == 0) {
		if (cfg_uint(x, k, v, 1, 65535, &port))
			addr_from_host(slice_cstr(addr_host_str(&m->bind, (char[ADDR_STRLEN]){ 0 },
			    ADDR_STRLEN)), port, &m->bind);
	} else if (strcmp(k, "bindaddr") == 0) {
		parse_manager_addr(x, k, v, addr_port(&m->bind), &m->bind);
	} else if (strcmp(k, "tlsenable") == 0) {
		cfg_bool(x, k, v, &m->tls_only_listener);
	} else if (strcmp(k, "tlsbindaddr") == 0) {
		parse_manager_addr(x, k, v, 5039, &m->tls_bind);
	} else if (strcmp(k, "sslclienthellotimeout") == 0) {
		cfg_uint(x, k, v, 0, 60000, &m->hello_timeout_ms);
	} else if (strcmp(k, "acceptencryptedconnection") == 0) {
		cfg_bool(x, k, v, &m->accept_encrypted);
	} else if (strcmp(k, "acceptunencryptedconnection") == 0) {
		cfg_bool(x, k, v, &m->accept_unencrypted);
	} else if (strcmp(k, "allowplaintextlogin") == 0) {
		cfg_bool(x, k, v, &m->plaintext_login);
	} else if (strcmp(k, "certfile") == 0 || strcmp(k, "tlscertfile") == 0 ||
	    strcmp(k, "certdir") == 0) {
		/* certdir: the seed's name, which holds the path of server.pem */
		cfg_str(x, k, v, m->cert, sizeof(m->cert));
	} else if (strcmp(k, "tlsprivatekey") == 0) {
		cfg_str(x, k, v, m->key, sizeof(m->key));
	} else if (strcmp(k, "users") == 0) {
		cfg_str(x, k, v, m->users, sizeof(m->users));
	} else if (strcmp(k, "soci-password-request") == 0) {
		cfg_str(x, k, v, m->sql_request, sizeof(m->sql_request));
	} else if (strcmp(k, "authtimeout") == 0) {
		cfg_uint(x, k, v, 1, 3600, &m->authtimeout);
	} else if (strcmp(k, "authlimit") == 0) {
		cfg_uint(x, k, v, 1, 100000, &m->authlimit);
	} else if (strcmp(k, "max-sessions") == 0) {
		cfg_uint(x, k, v, 1, 100000, &m->max_sessions);
	} else if (strcmp(k, "displayconnects") == 0) {
		cfg_bool(x, k, v, &m->displayconnects);
	} else if (strcmp(k, "allowmultiplelogin") == 0) {
		cfg_bool(x, k, v, &m->allowmultiplelogin);
	} else if (strcmp(k, "version") == 0) {
		if (cfg_str(x, k, v, m->version, sizeof(m->version)) &&
		    (!*v || strpbrk(v, " \t\r\n")))
			cfg_error(x, "version: expected one word, like 9.0.0, got '%s'", v);
	} else if (strcmp(k, "acl") == 0) {
		cfg_str(x, k, v, m->acl_name, sizeof(m->acl_name));
	} else if (strcmp(k, "upstream") == 0) {
		struct slice s = slice_trim(slice_cstr(v));
		m->has_upstream = false;
		if (s.n == 0)
			return;
		m->upstream_tls = slice_startswith_case(s, "tls:");
		if (m->upstream_tls || slice_startswith_case(s, "tcp:"))
			s = slice_sub(s, 4, s.n - 4);
		if (!addr_parse(s, &m->upstream) || addr_port(&m->upstream) == 0)
			cfg_error(x, "upstream: expected [tcp:|tls:]ADDR:PORT with a numeric address "
			    "(Asterisk's AMI), got '%s'", v);
		else
			m->has_upstream = true;
	} else if (strcmp(k, "upstream-username") == 0) {
		cfg_str(x, k, v, m->upstream_user, sizeof(m->upstream_user));
	} else if (strcmp(k, "upstream-secret") == 0) {
		cfg_str(x, k, v, m->upstream_secret, sizeof(m->upstream_secret));
	} else if (strcmp(k, "upstream-cafile") == 0) {
		cfg_str(x, k, v, m->upstream_ca, sizeof(m->upstream_ca));
	} else if (strcmp(k, "upstream-tls-verify") == 0) {
		cfg_bool(x, k, v, &m->upstream_verify);
	} else {
		cfg_error(x, "[manager]: unknown key '%s'", k);
	}
}

static void
add_http_listen(struct cfg_ctx *x, struct slice w)
{
	struct config_http *h = &x->c->http;
	bool tls = slice_startswith_case(w, "https:");
	struct slice a = w;

	if (tls)
		a = slice_sub(w, 6, w.n);
	else if (slice_startswith_case(w, "http:"))
		a = slice_sub(w, 5, w.n);
	else {
		cfg_error(x, "listen: '%.*s': expected https:ADDR:PORT or http:ADDR:PORT", (int)w.n, w.p);
		return;
	}
	if (h->nlisten == CONFIG_MAX_HTTP_LISTEN) {
		cfg_error(x, "listen: more than %d listeners", CONFIG_MAX_HTTP_LISTEN);
		return;
	}
	struct http_listen *l = &h->listen[h->nlisten];
	if (!addr_parse(a, &l->addr) || addr_port(&l->addr) == 0) {
		cfg_error(x, "listen: '%.*s': expected a numeric address and a port", (int)w.n, w.p);
		return;
	}
	l->tls = tls;
	h->nlisten++;
}

/* "http://ADDR:PORT/PATH": the PBX's own web GUI, on loopback or a LAN. */
static void
parse_proxy(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_http *h = &x->c->http;
	struct slice s = slice_trim(slice_cstr(v)), rest;

	h->has_proxy = false;
	if (s.n == 0)
		return;
	if (!slice_startswith_case(s, "http://")) {
		cfg_error(x, "%s: expected http://ADDR:PORT/ (the PBX's web GUI, over plain HTTP "
		    "on a trusted network), got '%s'", k, v);
		return;
	}
	s = slice_sub(s, 7, s.n);
	struct slice host = slice_cut(s, '/', &rest);
	bool has_path = (size_t)(host.p + host.n - s.p) < s.n;
	if (!addr_parse(host, &h->proxy) &&
	    !addr_from_host(host, 80, &h->proxy)) {
		cfg_error(x, "%s: '%.*s': expected a numeric address, optionally with :PORT", k,
		    (int)host.n, host.p);
		return;
	}
	if (addr_port(&h->proxy) == 0) {
		cfg_error(x, "%s: port 0", k);
		return;
	}
	char path[256];
	if (!has_path)
		rest = SLICE_NULL;
	if ((size_t)snprintf(path, sizeof(path), "/%.*s", (int)rest.n, rest.n ? rest.p : "") >=
	    sizeof(path) || strpbrk(path, " \t\r\n?#")) {
		cfg_error(x, "%s: the path must be short and hold no blank, '?' or '#'", k);
		return;
	}
	/* "/" and "/gui/" both mean: put this before the client's path, minus its "/". */
	size_t n = strlen(path);
	if (n > 1 && path[n - 1] == '/')
		path[n - 1] = '\0';
	snprintf(h->proxy_path, sizeof(h->proxy_path), "%s", strcmp(path, "/") == 0 ? "" : path);
	h->has_proxy = true;
}

static void
add_require(struct cfg_ctx *x, const char *v)
{
	struct config_http *h = &x->c->http;
	struct slice rest, w = slice_cut(slice_trim(slice_cstr(v)), ' ', &rest);

	rest = slice_trim(rest);
	if (h->nrequire == CONFIG_MAX_REQUIRE) {
		cfg_error(x, "Require: more than %d lines", CONFIG_MAX_REQUIRE);
		return;
	}
	struct http_require *r = &h->require[h->nrequire];
	if (slice_caseeq_cstr(w, "valid-user") && rest.n == 0)
		r->kind = REQUIRE_VALID_USER;
	else if (slice_caseeq_cstr(w, "user") && rest.n)
		r->kind = REQUIRE_USER;
	else if (slice_caseeq_cstr(w, "group") && rest.n)
		r->kind = REQUIRE_GROUP;
	else {
		cfg_error(x, "Require: expected valid-user, user NAME... or group NAME..., got '%s'", v);
		return;
	}
	if (!slice_copy(rest, r->words, sizeof(r->words))) {
		cfg_error(x, "Require: too many names on one line");
		return;
	}
	h->nrequire++;
}

static void
set_http(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_http *h = &x->c->http;

	/* Apache's directives are case-insensitive; so are these. */
	if (strcasecmp(k, "enabled") == 0) {
		cfg_bool(x, k, v, &h->enabled);
	} else if (strcasecmp(k, "listen") == 0) {
		h->nlisten = 0;
		cfg_words(x, v, add_http_listen);
	} else if (strcasecmp(k, "AuthType") == 0) {
		if (strcasecmp(v, "Basic") != 0)
			cfg_error(x, "AuthType: only Basic (over TLS) is served, got '%s'", v);
	} else if (strcasecmp(k, "AuthName") == 0) {
		struct slice s = slice_trim(slice_cstr(v));
		if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"')
			s = slice_sub(s, 1, s.n - 2); /* Apache's quotes */
		if (!slice_copy(s, h->auth_name, sizeof(h->auth_name)) || s.n == 0 ||
		    slice_find(s, '"') >= 0 || slice_find(s, '\\') >= 0)
			cfg_error(x, "AuthName: 1 to %zu characters, no '\"' or '\\'",
			    sizeof(h->auth_name) - 1);
		for (size_t i = 0; i < s.n; i++)
			if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f) {
				cfg_error(x, "AuthName: no control characters");
				break;
			}
	} else if (strcasecmp(k, "AuthUserFile") == 0) {
		cfg_str(x, k, v, h->user_file, sizeof(h->user_file));
	} else if (strcasecmp(k, "AuthDBDUserPWQuery") == 0) {
		cfg_str(x, k, v, h->sql_request, sizeof(h->sql_request));
	} else if (strcasecmp(k, "AuthGroupFile") == 0) {
		cfg_str(x, k, v, h->group_file, sizeof(h->group_file));
	} else if (strcasecmp(k, "Require") == 0) {
		add_require(x, v);
	} else if (strcasecmp(k, "SSLCertificateFile") == 0) {
		cfg_str(x, k, v, h->cert, sizeof(h->cert));
	} else if (strcasecmp(k, "SSLCertificateKeyFile") == 0) {
		cfg_str(x, k, v, h->key, sizeof(h->key));
	} else if (strcasecmp(k, "proxy") == 0) {
		parse_proxy(x, k, v);
	} else if (strcasecmp(k, "AuthnCacheTimeout") == 0) {
		cfg_uint(x, k, v, 0, 86400, &h->cache_timeout);
	} else if (strcasecmp(k, "authn-cache-entries") == 0) {
		cfg_uint(x, k, v, 1, 1000000, &h->cache_entries);
	} else if (strcasecmp(k, "max-connections") == 0) {
		cfg_uint(x, k, v, 1, 65536, &h->max_connections);
	} else if (strcasecmp(k, "RequestReadTimeout") == 0) {
		cfg_uint(x, k, v, 1, 3600, &h->request_timeout);
	} else if (strcasecmp(k, "KeepAliveTimeout") == 0) {
		cfg_uint(x, k, v, 1, 3600, &h->keepalive_timeout);
	} else if (strcasecmp(k, "acl") == 0) {
		cfg_str(x, k, v, h->acl_name, sizeof(h->acl_name));
	} else {
		cfg_error(x, "[http]: unknown key '%s'", k);
	}
}

static void
add_token_optional(struct cfg_ctx *x, struct slice w)
{
	struct config_iax2 *i = &x->c->iax2;
	const char *why;

	if (i->n_token_optional == CONFIG_MAX_CIDRS) {
		cfg_error(x, "calltokenoptional: more than %d networks", CONFIG_MAX_CIDRS);
		return;
	}
	if (!cidr_parse_masked(w, &i->token_optional[i->n_token_optional], &why)) {
		cfg_error(x, "calltokenoptional: '%.*s': %s", (int)w.n, w.p, why);
		return;
	}
	i->n_token_optional++;
}

static void
set_iax2(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_iax2 *i = &x->c->iax2;
	unsigned port;

	if (strcmp(k, "enabled") == 0) {
		cfg_bool(x, k, v, &i->enabled);
	} else if (strcmp(k, "bindport") == 0) {
		if (cfg_uint(x, k, v, 1, 65535, &port))
			addr_from_host(slice_cstr(addr_host_str(&i->bind, (char[ADDR_STRLEN]){ 0 },
			    ADDR_STRLEN)), port, &i->bind);
	} else if (strcmp(k, "bindaddr") == 0) {
		parse_manager_addr(x, k, v, addr_port(&i->bind), &i->bind);
	} else if (strcmp(k, "calltokenoptional") == 0) {
		/* Several lines add up, as in iax.conf; empty is allowed (the seed's). */
		cfg_words(x, v, add_token_optional);
	} else if (strcmp(k, "calltokenexpiration") == 0) {
		cfg_uint(x, k, v, 1, 3600, &i->token_expiration);
	} else if (strcmp(k, "maxcallnumbers") == 0) {
		cfg_uint(x, k, v, 1, 32767, &i->maxcallnumbers);
	} else if (strcmp(k, "maxcallnumbers_nonvalidated") == 0) {
		cfg_uint(x, k, v, 1, 32767, &i->maxcallnumbers_nonvalidated);
	} else if (strcmp(k, "authtimeout") == 0) {
		cfg_uint(x, k, v, 1, 300, &i->authtimeout);
	} else if (strcmp(k, "delayreject") == 0) {
		cfg_bool(x, k, v, &i->delayreject);
	} else if (strcmp(k, "minregexpire") == 0) {
		cfg_uint(x, k, v, 1, 86400, &i->minregexpire);
	} else if (strcmp(k, "maxregexpire") == 0) {
		cfg_uint(x, k, v, 1, 86400, &i->maxregexpire);
	} else if (strcmp(k, "users") == 0) {
		cfg_str(x, k, v, i->users, sizeof(i->users));
	} else if (strcmp(k, "soci-password-request") == 0) {
		cfg_str(x, k, v, i->sql_request, sizeof(i->sql_request));
	} else if (strcmp(k, "keydir") == 0) {
		cfg_str(x, k, v, i->keydir, sizeof(i->keydir));
	} else if (strcmp(k, "acl") == 0) {
		cfg_str(x, k, v, i->acl_name, sizeof(i->acl_name));
	} else if (strcmp(k, "upstream") == 0) {
		struct slice s = slice_trim(slice_cstr(v));
		i->has_upstream = false;
		if (s.n == 0)
			return;
		if (!addr_parse(s, &i->upstream) && !addr_from_host(s, 4569, &i->upstream))
			cfg_error(x, "upstream: expected ADDR[:PORT] with a numeric address (the PBX's "
			    "chan_iax2), got '%s'", v);
		else
			i->has_upstream = true;
	} else if (strcmp(k, "upstream-username") == 0) {
		cfg_str(x, k, v, i->upstream_user, sizeof(i->upstream_user));
	} else if (strcmp(k, "upstream-secret") == 0) {
		cfg_str(x, k, v, i->upstream_secret, sizeof(i->upstream_secret));
	} else if (strcmp(k, "outkey") == 0) {
		cfg_str(x, k, v, i->outkey, sizeof(i->outkey));
	} else {
		cfg_error(x, "[iax2]: unknown key '%s'", k);
	}
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_ctx *x = user;

	if (x->line_too_long)
		return 1; /* already reported; the pieces inih made are not keys */
	if (strcmp(section, "global") == 0) {
		set_global(x, name, value);
	} else if (strcmp(section, "module::Authentication") == 0) {
		set_auth(x, name, value);
	} else if (strcmp(section, "module::Registrar") == 0) {
		set_registrar(x, name, value);
	} else if (strcmp(section, "sip") == 0) {
		set_sip(x, name, value);
	} else if (strcmp(section, "bans") == 0) {
		set_bans(x, name, value);
	} else if (strcmp(section, "cluster") == 0) {
		if (strcmp(name, "nodes") == 0) {
			x->c->n_cluster_nodes = 0;
			cfg_words(x, value, add_node);
		} else {
			cfg_error(x, "[cluster]: unknown key '%s' (expected nodes)", name);
		}
	} else if (strncmp(section, "acl:", 4) == 0) {
		set_acl(x, section, name, value);
	} else if (strcmp(section, "manager") == 0) {
		set_manager(x, name, value);
	} else if (strcmp(section, "http") == 0) {
		if (!x->http_seen) {
			x->http_seen = true;
			x->c->http.enabled = true;
		}
		set_http(x, name, value);
	} else if (strcmp(section, "iax2") == 0) {
		if (!x->iax2_seen) {
			x->iax2_seen = true;
			x->c->iax2.enabled = true;
		}
		set_iax2(x, name, value);
	} else if (!cfg_hard_set(x, section, name, value)) {
		cfg_error(x, "unknown section [%s]", section);
	}
	return 1;
}

/* inih only reports its first syntax error; we want every one. */
static void
check_syntax(struct cfg_ctx *x, const char *line)
{
	struct slice t = slice_trim(slice_cstr(line));

	if (x->line_too_long || t.n == 0 || t.p[0] == ';' || t.p[0] == '#')
		return;
	if (line[0] == ' ' || line[0] == '\t')
		return; /* a continuation line, which inih allows */
	if (t.p[0] == '[') {
		if (slice_find(t, ']') < 0)
			cfg_error(x, "syntax error: section name without ']'");
		/* inih calls nothing for a section without keys: "[manager]" alone
		 * is Asterisk's defaults, and on. */
		if (slice_eq_cstr(t, "[manager]") && !x->manager_seen) {
			x->manager_seen = true;
			x->c->ami.enabled = true;
		}
		if (slice_eq_cstr(t, "[http]") && !x->http_seen) {
			x->http_seen = true;
			x->c->http.enabled = true; /* then "listen is required" says what is missing */
		}
		if (slice_eq_cstr(t, "[iax2]") && !x->iax2_seen) {
			x->iax2_seen = true;
			x->c->iax2.enabled = true; /* chan_iax2's defaults */
		}
		return;
	}
	if (slice_find(t, '=') < 0 && slice_find(t, ':') < 0)
		cfg_error(x, "syntax error: expected [section] or key = value");
}

/*
 * inih reads through this so we know the line of every callback and can
 * refuse over-long lines instead of letting inih split them silently.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct cfg_ctx *x = stream;
	size_t n = 0;
	int ch;

	x->line++;
	x->line_too_long = false;
	for (;;) {
		if (x->mem)
			ch = x->mem[x->mempos] ? (unsigned char)x->mem[x->mempos++] : EOF;
		else
			ch = fgetc(x->f);
		if (ch == EOF) {
			if (n == 0)
				return NULL;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 2 < (size_t)num) {
			str[n++] = (char)ch;
		} else if (!x->line_too_long) {
			x->line_too_long = true;
			cfg_error(x, "line longer than %d characters", num - 2);
		}
	}
	str[n] = '\0';
	check_syntax(x, str);
	str[n++] = '\n';
	str[n] = '\0';
	return str;
}

int
config_upstream_listener(const struct config *c)
{
	if (c->n_upstreams == 0)
		return -1;
	sa_family_t fam = c->upstreams[0].addr.ss.ss_family;
	for (size_t i = 0; i < c->n_transports; i++)
		if (c->transports[i].proto == TP_UDP && c->transports[i].addr.ss.ss_family == fam)
			return (int)i;
	return -1;
}

/* Listeners go into Via and Record-Route, so each needs an address a peer
 * can send to; the upstream is reached from the first UDP listener of its
 * family, so every upstream must share that family (failover keeps the Via). */
static void
check_upstreams(struct cfg_ctx *x)
{
	struct config *c = x->c;
	char as[ADDR_STRLEN];

	if (c->n_upstreams == 0) {
		if (c->register_forward)
			cfg_error(x, "[sip] register = forward needs an upstream");
		return;
	}
	for (size_t i = 0; i < c->n_transports; i++)
		if (addr_is_any(&c->transports[i].addr))
			cfg_error(x, "transports: %s: with an upstream every listener needs a specific "
			    "address (it is written into Via and Record-Route)",
			    addr_str(&c->transports[i].addr, as, sizeof(as)));
	for (size_t i = 0; i < c->n_upstreams; i++) {
		const struct addr *u = &c->upstreams[i].addr;
		if (u->ss.ss_family != c->upstreams[0].addr.ss.ss_family)
			cfg_error(x, "upstream: %s: every upstream must be of the same address family",
			    addr_str(u, as, sizeof(as)));
		for (size_t j = 0; j < c->n_transports; j++)
			if (addr_equal(u, &c->transports[j].addr))
				cfg_error(x, "upstream: %s is one of our own listeners: every request "
				    "would loop", addr_str(u, as, sizeof(as)));
	}
	if (config_upstream_listener(c) < 0)
		cfg_error(x, "upstream: %s: no udp listener of the same address family to reach it "
		    "from", addr_str(&c->upstreams[0].addr, as, sizeof(as)));
}

static void
check_manager(struct cfg_ctx *x)
{
	struct config_manager *m = &x->c->ami;
	char as[ADDR_STRLEN];

	if (!m->enabled)
		return;
	if (!m->accept_encrypted && !m->accept_unencrypted)
		cfg_error(x, "[manager]: acceptencryptedconnection and acceptunencryptedconnection are "
		    "both no: no client could connect");
	if (m->tls_only_listener && addr_equal(&m->tls_bind, &m->bind))
		cfg_error(x, "[manager] tlsbindaddr %s is the plain listener's address",
		    addr_str(&m->tls_bind, as, sizeof(as)));
	if (m->acl_name[0] &&
	    (m->acl = config_find_acl(x->c, slice_cstr(m->acl_name))) == CONFIG_NO_ACL)
		cfg_error(x, "[manager] acl=%s: no [acl:%s] section", m->acl_name, m->acl_name);
	if (m->has_upstream) {
		if (!m->upstream_user[0] || !m->upstream_secret[0])
			cfg_error(x, "[manager] upstream needs upstream-username and upstream-secret "
			    "(an account in Asterisk's manager.conf, read = all, write = all)");
		if (addr_equal(&m->upstream, &m->bind) ||
		    (m->tls_only_listener && addr_equal(&m->upstream, &m->tls_bind)))
			cfg_error(x, "[manager] upstream %s is our own listener: it would loop",
			    addr_str(&m->upstream, as, sizeof(as)));
		if (m->upstream_tls && m->upstream_verify && !m->upstream_ca[0])
			cfg_error(x, "[manager] upstream over tls needs upstream-cafile (the CA or the "
			    "certificate of Asterisk's AMI) or upstream-tls-verify = no");
	}
	if (m->authlimit > m->max_sessions)
		cfg_warning(x, "[manager] authlimit %u is above max-sessions %u", m->authlimit,
		    m->max_sessions);
}

static void
check_http(struct cfg_ctx *x)
{
	struct config_http *h = &x->c->http;
	char as[ADDR_STRLEN];
	bool tls = false;

	if (!h->enabled)
		return;
	for (size_t i = 0; i < h->nlisten; i++) {
		tls |= h->listen[i].tls;
		for (size_t k = 0; k < i; k++)
			if (addr_equal(&h->listen[i].addr, &h->listen[k].addr))
				cfg_error(x, "[http] listen: %s given twice",
				    addr_str(&h->listen[i].addr, as, sizeof(as)));
	}
	if (h->nlisten == 0)
		cfg_error(x, "[http]: listen is required (https:127.0.0.1:8443, say)");
	else if (!tls)
		cfg_error(x, "[http] listen: no https: listener; Basic authentication sends the "
		    "password itself, so it is served over TLS only (an http: listener only "
		    "redirects to https)");
	if (h->acl_name[0] &&
	    (h->acl = config_find_acl(x->c, slice_cstr(h->acl_name))) == CONFIG_NO_ACL)
		cfg_error(x, "[http] acl=%s: no [acl:%s] section", h->acl_name, h->acl_name);
	for (size_t i = 0; i < h->nrequire; i++)
		if (h->require[i].kind == REQUIRE_GROUP && !h->group_file[0])
			cfg_error(x, "[http] Require group needs an AuthGroupFile");
	/* A listener on 0.0.0.0 or :: with the proxy's port takes its address too. */
	for (size_t i = 0; h->has_proxy && i < h->nlisten; i++)
		if (addr_equal(&h->proxy, &h->listen[i].addr) ||
		    (addr_is_any(&h->listen[i].addr) &&
		    addr_port(&h->listen[i].addr) == addr_port(&h->proxy) &&
		    addr_is_v6(&h->listen[i].addr) == addr_is_v6(&h->proxy)))
			cfg_error(x, "[http] proxy %s is our own listener: it would loop",
			    addr_str(&h->proxy, as, sizeof(as)));
}

static void
check_iax2(struct cfg_ctx *x)
{
	struct config_iax2 *i = &x->c->iax2;
	char as[ADDR_STRLEN];

	if (!i->enabled)
		return;
	if (i->acl_name[0] &&
	    (i->acl = config_find_acl(x->c, slice_cstr(i->acl_name))) == CONFIG_NO_ACL)
		cfg_error(x, "[iax2] acl=%s: no [acl:%s] section", i->acl_name, i->acl_name);
	if (i->minregexpire > i->maxregexpire)
		cfg_error(x, "[iax2] minregexpire is above maxregexpire");
	i->defaultexpire = i->minregexpire > 60 ? i->minregexpire : 60;
	if (i->defaultexpire > i->maxregexpire)
		i->defaultexpire = i->maxregexpire;
	if (i->has_upstream && addr_equal(&i->upstream, &i->bind))
		cfg_error(x, "[iax2] upstream %s is our own listener: it would loop",
		    addr_str(&i->upstream, as, sizeof(as)));
	if (i->has_upstream && addr_is_v6(&i->upstream) != addr_is_v6(&i->bind))
		cfg_error(x, "[iax2] upstream %s: the listener %s is of the other address family",
		    addr_str(&i->upstream, as, sizeof(as)),
		    addr_str(&i->bind, (char[ADDR_STRLEN]){ 0 }, ADDR_STRLEN));
	if (i->upstream_secret[0] && i->outkey[0])
		cfg_error(x, "[iax2] give upstream-secret or outkey, not both");
}

static void
finish(struct cfg_ctx *x)
{
	struct config *c = x->c;

	x->line = 0;
	if (c->n_transports == 0 && !c->ami.enabled && !c->http.enabled && !c->iax2.enabled)
		cfg_error(x, "no listener configured: give [sip] transports, a [manager], an [http] or "
		    "an [iax2] section");
	check_manager(x);
	check_http(x);
	check_iax2(x);
	if (c->n_auth_domains == 0 && c->auth_enabled)
		cfg_warning(x, "auth-domains is empty: every request will be rejected");
	if (!c->auth_enabled)
		cfg_warning(x, "[module::Authentication] enabled=false: requests are NOT "
		    "authenticated");
	if (c->min_expires > c->max_expires)
		cfg_error(x, "[module::Registrar] min-expires is above max-expires");
	if (c->default_expires < c->min_expires || c->default_expires > c->max_expires)
		cfg_error(x, "[module::Registrar] default-expires is outside min/max-expires");
	for (size_t i = 0; i < c->n_transports; i++) {
		struct transport_spec *t = &c->transports[i];
		if (t->proto == TP_TLS && c->require_peer_cert)
			t->require_peer_cert = true;
		if (t->proto == TP_TLS && t->require_peer_cert && !c->tls_ca[0])
			cfg_error(x, "transports: require-peer-certificate needs [sip] tlscafile (the "
			    "CA that signs the phones' certificates)");
		if (!t->acl_name[0])
			continue;
		if ((t->acl = config_find_acl(c, slice_cstr(t->acl_name))) == CONFIG_NO_ACL)
			cfg_error(x, "transports: acl=%s: no [acl:%s] section", t->acl_name,
			    t->acl_name);
	}
	check_upstreams(x);
	if (c->n_cluster_nodes && (!c->state_url[0] || !c->n_upstreams))
		cfg_error(x, "[cluster] nodes needs [global] state = redis://... (where the nodes "
		    "share registrations) and a [sip] upstream (whose calls they route)");
	if (!x->agents_set)
		for (size_t i = 0; default_scanners[i]; i++)
			add_agent(x, slice_cstr(default_scanners[i]));
	if (c->bantime > c->bantime_maxtime)
		cfg_error(x, "[bans] bantime is above bantime.maxtime");
	if (strcmp(c->db_implementation, "sql") == 0 && !c->sql_conninfo[0])
		cfg_error(x, "db-implementation = %s needs soci-connection-string",
		    c->db_implementation);
	/* AMI, IAX2 and web users come from the database [module::Authentication]
	 * names, whether SIP's accounts do (db-implementation = soci) or not. */
	const struct { const char *key, *req; } sqlusers[] = {
		{ "[manager] soci-password-request", c->ami.sql_request },
		{ "[iax2] soci-password-request", c->iax2.sql_request },
		{ "[http] AuthDBDUserPWQuery", c->http.sql_request },
	};
	for (size_t i = 0; i < sizeof(sqlusers) / sizeof(sqlusers[0]); i++)
		if (sqlusers[i].req[0] && !c->sql_conninfo[0])
			cfg_error(x, "%s needs [module::Authentication] soci-connection-string "
			    "(and soci-backend): the database it asks", sqlusers[i].key);
	if (c->realm[0] && c->n_auth_domains)
		cfg_warning(x, "realm is set: stored md5/sha256 hashes only verify if they were "
		    "made with realm '%s'", c->realm);
	if (!c->statedir[0]) {
		const char *home = getenv("HOME"), *env = getenv("PBXGUARD_STATEDIR");
		if (env && *env)
			snprintf(c->statedir, sizeof(c->statedir), "%s", env);
		else if (geteuid() == 0 || !home)
			snprintf(c->statedir, sizeof(c->statedir), "/var/lib/pbxguard");
		else
			snprintf(c->statedir, sizeof(c->statedir), "%s/.local/state/pbxguard", home);
	}
	if (!c->file_path[0] &&
	    (size_t)snprintf(c->file_path, sizeof(c->file_path), "%s/userdb", c->statedir) >=
	    sizeof(c->file_path))
		cfg_error(x, "statedir: path too long");
	if (!c->tls_cert[0] &&
	    (size_t)snprintf(c->tls_cert, sizeof(c->tls_cert), "%s/tls/cert.pem", c->statedir) >=
	    sizeof(c->tls_cert))
		cfg_error(x, "statedir: path too long");
	if (!c->tls_key[0] &&
	    (size_t)snprintf(c->tls_key, sizeof(c->tls_key), "%s/tls/key.pem", c->statedir) >=
	    sizeof(c->tls_key))
		cfg_error(x, "statedir: path too long");
	if (!c->ban_state[0] &&
	    (size_t)snprintf(c->ban_state, sizeof(c->ban_state), "%s/bans.state", c->statedir) >=
	    sizeof(c->ban_state))
		cfg_error(x, "statedir: path too long");
	if (!c->control_socket[0] &&
	    (size_t)snprintf(c->control_socket, sizeof(c->control_socket), "%s/control.sock",
	    c->statedir) >= sizeof(c->control_socket))
		cfg_error(x, "statedir: path too long");
	if (!c->ami.users[0] &&
	    (size_t)snprintf(c->ami.users, sizeof(c->ami.users), "%s/manager.conf", c->statedir) >=
	    sizeof(c->ami.users))
		cfg_error(x, "statedir: path too long");
	/* The AMI shares the SIP certificate unless told otherwise; a certfile
	 * alone is Asterisk's combined PEM (its tlsprivatekey defaults to it). */
	if (!c->ami.cert[0]) {
		snprintf(c->ami.cert, sizeof(c->ami.cert), "%s", c->tls_cert);
		if (!c->ami.key[0])
			snprintf(c->ami.key, sizeof(c->ami.key), "%s", c->tls_key);
	} else if (!c->ami.key[0]) {
		snprintf(c->ami.key, sizeof(c->ami.key), "%s", c->ami.cert);
	}
	if (!c->http.user_file[0] &&
	    (size_t)snprintf(c->http.user_file, sizeof(c->http.user_file), "%s/htpasswd",
	    c->statedir) >= sizeof(c->http.user_file))
		cfg_error(x, "statedir: path too long");
	if (!c->http.cert[0]) {
		snprintf(c->http.cert, sizeof(c->http.cert), "%s", c->tls_cert);
		if (!c->http.key[0])
			snprintf(c->http.key, sizeof(c->http.key), "%s", c->tls_key);
	} else if (!c->http.key[0]) {
		snprintf(c->http.key, sizeof(c->http.key), "%s", c->http.cert);
	}
	if (!c->iax2.users[0] &&
	    (size_t)snprintf(c->iax2.users, sizeof(c->iax2.users), "%s/iax.conf", c->statedir) >=
	    sizeof(c->iax2.users))
		cfg_error(x, "statedir: path too long");
	if (!c->iax2.keydir[0] &&
	    (size_t)snprintf(c->iax2.keydir, sizeof(c->iax2.keydir), "%s/keys", c->statedir) >=
	    sizeof(c->iax2.keydir))
		cfg_error(x, "statedir: path too long");
	if (!c->security_log[0] &&
	    (size_t)snprintf(c->security_log, sizeof(c->security_log), "%s/security.log",
	    c->statedir) >= sizeof(c->security_log))
		cfg_error(x, "statedir: path too long");
	cfg_hard_finish(x);
}

void
cfg_state_path(struct cfg_ctx *x, char *dst, size_t dstsz, const char *name)
{
	if (!dst[0] && (size_t)snprintf(dst, dstsz, "%s/%s", x->c->statedir, name) >= dstsz)
		cfg_error(x, "statedir: path too long");
}

bool
config_load(struct config *c, const char *path, struct config_errors *errs)
{
	struct cfg_ctx x = { .c = c, .errs = errs };
	int rc;

	config_defaults(c);
	if (path) {
		snprintf(c->source, sizeof(c->source), "%s", path);
		x.fname = path;
		x.f = fopen(path, "re");
		if (!x.f) {
			cfg_error(&x, "cannot open: %m");
			return false;
		}
	} else {
		snprintf(c->source, sizeof(c->source), "(embedded default)");
		c->embedded = true;
		x.fname = c->source;
		x.mem = config_embedded_default;
	}
	rc = ini_parse_stream(reader, &x, handler, &x);
	if (x.f)
		fclose(x.f);
	if (rc < 0) {
		cfg_error(&x, "cannot read the file");
	}
	finish(&x);
	return errs->n == 0;
}
