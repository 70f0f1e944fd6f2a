/*
 * pbxguard.conf: one INI file, parsed by libinih. Every problem is
 * collected with its file and line so `serve --check` can list them all.
 * Names follow the anchors: Flexisip's in [module::Authentication] and
 * [module::Registrar], ours in [global] and [sip].
 */
#ifndef PBX_CONFIG_H
#define PBX_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"
#include "core/cidr.h"
#include "guard/digest.h"

enum transport_proto { TP_UDP, TP_TCP, TP_TLS };

#define CONFIG_NO_ACL (-1)

struct transport_spec {
	enum transport_proto proto;
	struct addr addr;
	int acl;			/* index into acls, or CONFIG_NO_ACL */
	char acl_name[32];		/* as written; resolved when the file is read */
	bool require_peer_cert;		/* TLS: ;require-peer-certificate=1 */
};

/* [acl:NAME]: permit/deny rules in file order; the last match wins. */
struct acl_rule {
	bool permit;
	struct cidr net;
};

struct acl_group {
	char name[32];
	struct acl_rule *rules;
	size_t n;
};

enum nft_mode { NFT_AUTO, NFT_YES, NFT_NO };

#define CONFIG_MAX_TRANSPORTS 16
#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_ALGOS 6
/* Flexisip's default soci-password-request. */
#define CONFIG_SQL_REQUEST \
	"select password, 'MD5' from accounts where login = :id and domain = :domain"
#define CONFIG_MAX_ACLS 64
#define CONFIG_MAX_CIDRS 256
#define CONFIG_MAX_AGENTS 32
#define CONFIG_MAX_UPSTREAMS 8
#define CONFIG_MAX_NODES 32
/* The AMI greeting's version when no upstream gave its own: Asterisk 20's. */
#define CONFIG_AMI_VERSION "9.0.0"
#define CONFIG_MAX_HTTP_LISTEN 8
#define CONFIG_MAX_REQUIRE 8
#define CONFIG_MAX_PORTS 16
#define CONFIG_MAX_WATCH 8

/* Debian's john-data: Openwall's list of the most common passwords. */
#define CONFIG_DEFAULT_BLOCKLIST "/usr/share/john/password.lst"

/* Character classes of [password-policy] character-classes. */
#define PW_CLASS_UPPER 1u
#define PW_CLASS_LOWER 2u
#define PW_CLASS_DIGIT 4u
#define PW_CLASS_SPECIAL 8u

/* A port or a range of one protocol: "udp:5060", "tcp:5060-5061". */
struct port_range {
	enum transport_proto proto;	/* TP_UDP or TP_TCP */
	unsigned lo, hi;
};

/* [sip] upstream: the PBX behind us, reached over UDP (failover in order). */
struct upstream_spec {
	struct addr addr;
	enum transport_proto proto;
};

struct config {
	char source[PATH_MAX];		/* file name, or "(embedded default)" */
	bool embedded;

	/* [global] */
	char statedir[PATH_MAX];
	char state_url[512];		/* state = redis://...; empty: in memory */
	/* [cluster] nodes (Flexisip's name): the addresses the nodes send SIP
	 * from; their requests are routed like the upstream's, unchallenged */
	struct ipkey cluster_nodes[CONFIG_MAX_NODES];
	size_t n_cluster_nodes;
	char security_log[PATH_MAX];	/* empty: <statedir>/security.log */
	int log_level;			/* enum log_level */

	/* [module::Authentication] */
	bool auth_enabled;
	char *auth_domains[CONFIG_MAX_DOMAINS];
	size_t n_auth_domains;
	struct digest_alg algos[CONFIG_MAX_ALGOS];
	size_t n_algos;
	char db_implementation[16];	/* "file" or "sql" ("soci" is read as "sql") */
	char file_path[PATH_MAX];	/* empty: <statedir>/userdb */
	/* db-implementation = soci|sql: Flexisip's names */
	char sql_backend[16];		/* soci-backend: postgresql, mysql, sqlite3 */
	char sql_conninfo[1024];	/* soci-connection-string */
	char sql_request[2048];		/* soci-password-request */
	unsigned sql_poolsize;		/* soci-poolsize: connections = worker threads */
	unsigned sql_max_queue;		/* soci-max-queue-size */
	unsigned cache_expire;		/* cache-expire: s a looked-up account is kept */
	unsigned nonce_expires;
	char realm[256];		/* empty: the From domain */
	bool no_403;
	bool disable_qop_auth;
	unsigned nonce_table;		/* nonce-count slots kept */
	/* TLS client certificates, Flexisip's names */
	char *trusted_certs[CONFIG_MAX_DOMAINS];	/* trusted-client-certificates */
	size_t n_trusted_certs;
	bool reject_wrong_certs;	/* reject-wrong-client-certificates */
	bool trust_domain_certs;	/* trust-domain-certificates */
	char cert_subject_regex[512];	/* tls-client-certificate-required-subject */

	/* [module::Registrar] */
	unsigned min_expires, max_expires, default_expires, max_contacts_by_aor;

	/* [sip] */
	struct transport_spec transports[CONFIG_MAX_TRANSPORTS];
	size_t n_transports;
	unsigned max_message_size;
	unsigned max_headers;
	unsigned idle_timeout;
	unsigned max_connections;
	unsigned header_timeout;	/* a started message must be complete by then */
	char tls_cert[PATH_MAX];	/* tlscertfile; empty: <statedir>/tls/cert.pem */
	char tls_key[PATH_MAX];		/* tlsprivatekey; empty: <statedir>/tls/key.pem */
	char tls_ca[PATH_MAX];		/* tlscafile: CAs of client certificates */
	char tls_cipher[512];		/* tlscipher */
	bool tls_rsa;			/* tlskeytype = rsa for a made key */
	unsigned tls_handshake_timeout;
	unsigned tls_max_handshakes;	/* concurrent handshakes per source */
	/* Proxying to the PBX (none configured: authenticated requests get 501). */
	struct upstream_spec upstreams[CONFIG_MAX_UPSTREAMS];
	size_t n_upstreams;
	bool register_forward;		/* register = forward: the PBX sees REGISTERs too */
	unsigned upstream_timeout;	/* s without any answer before the next upstream */
	unsigned max_transactions, max_dialogs;
	unsigned dialog_timeout;	/* s a confirmed dialog lives without traffic */

	/* [global] (Flexisip's) */
	bool require_peer_cert;

	/* [bans]: fail2ban's names and its asterisk jail's defaults */
	bool bans_enabled;
	unsigned maxretry, findtime, bantime, bantime_maxtime;
	bool bantime_increment;
	struct cidr ignoreip[CONFIG_MAX_CIDRS];
	size_t n_ignoreip;
	unsigned account_maxretry, account_findtime, account_locktime;
	unsigned pike_limit, pike_window, pike_bantime;
	char *scanner_agents[CONFIG_MAX_AGENTS];
	size_t n_scanner_agents;
	unsigned max_tracked;		/* source addresses with counters */
	enum nft_mode nftables;
	bool nftables_keep;		/* leave the table when stopping */
	char ban_state[PATH_MAX];	/* empty: <statedir>/bans.state */
	char control_socket[PATH_MAX];	/* empty: <statedir>/control.sock */

	struct acl_group acls[CONFIG_MAX_ACLS];
	size_t n_acls;

	/* [manager]: the AMI front door, Asterisk's manager.conf names */
	struct config_manager {
		bool enabled;			/* the section is there (enabled = no: off) */
		struct addr bind;		/* bindaddr + port */
		bool tls_only_listener;		/* tlsenable: a second, TLS-only port */
		struct addr tls_bind;		/* tlsbindaddr (port 5039 if not given) */
		unsigned hello_timeout_ms;	/* sslclienthellotimeout */
		bool accept_encrypted;		/* acceptencryptedconnection */
		bool accept_unencrypted;	/* acceptunencryptedconnection */
		bool plaintext_login;		/* allowplaintextlogin: Secret over TCP */
		char cert[PATH_MAX];		/* certfile (tlscertfile); empty: [sip]'s */
		char key[PATH_MAX];		/* tlsprivatekey; empty: certfile's or [sip]'s */
		char users[PATH_MAX];		/* manager.conf-style; empty: <statedir>/manager.conf */
		char sql_request[2048];		/* soci-password-request: users from SQL instead */
		unsigned authtimeout;		/* s to log in */
		unsigned authlimit;		/* unauthenticated sessions at once */
		unsigned max_sessions;		/* sessions at once, logged in or not */
		bool displayconnects;
		bool allowmultiplelogin;
		char version[32];		/* greeting when no upstream said its own */
		int acl;			/* the listener's [acl:NAME], or CONFIG_NO_ACL */
		char acl_name[32];
		/* upstream: Asterisk's AMI, reached with a service account */
		bool has_upstream;
		struct addr upstream;
		bool upstream_tls;
		char upstream_user[80];
		char upstream_secret[256];
		char upstream_ca[PATH_MAX];	/* verifies Asterisk's certificate (TLS) */
		bool upstream_verify;		/* upstream-tls-verify */
	} ami;

	struct config_http {
		bool enabled;			/* the section is there */
		struct http_listen {
			struct addr addr;
			bool tls;		/* https:ADDR:PORT; http: only redirects */
		} listen[CONFIG_MAX_HTTP_LISTEN];
		size_t nlisten;
		char auth_name[128];		/* AuthName: the Basic realm */
		char user_file[PATH_MAX];	/* AuthUserFile; empty: <statedir>/htpasswd */
		char sql_request[2048];		/* AuthDBDUserPWQuery: users from SQL instead */
		char group_file[PATH_MAX];	/* AuthGroupFile; empty: none */
		struct http_require {
			enum { REQUIRE_VALID_USER, REQUIRE_USER, REQUIRE_GROUP } kind;
			char words[480];	/* the names after "user"/"group", as written */
		} require[CONFIG_MAX_REQUIRE];	/* any one satisfied lets in (RequireAny) */
		size_t nrequire;		/* none: valid-user */
		char cert[PATH_MAX];		/* SSLCertificateFile; empty: [sip]'s */
		char key[PATH_MAX];		/* SSLCertificateKeyFile */
		bool has_proxy;			/* proxy = http://ADDR:PORT/PATH */
		struct addr proxy;
		char proxy_path[256];		/* prefix put before every proxied path */
		unsigned cache_timeout;		/* AuthnCacheTimeout, s (0: no cache) */
		unsigned cache_entries;		/* authn-cache-entries */
		unsigned max_connections;
		unsigned request_timeout;	/* s to send a request's head */
		unsigned keepalive_timeout;	/* KeepAliveTimeout, s */
		int acl;			/* the listener's [acl:NAME], or CONFIG_NO_ACL */
		char acl_name[32];
	} http;

	/* [iax2]: the IAX2 front door, chan_iax2's names */
	struct config_iax2 {
		bool enabled;			/* the section is there */
		struct addr bind;		/* bindaddr + bindport */
		struct cidr token_optional[CONFIG_MAX_CIDRS];	/* calltokenoptional */
		size_t n_token_optional;
		unsigned token_expiration;	/* calltokenexpiration, s */
		unsigned maxcallnumbers;	/* call numbers per source address */
		unsigned maxcallnumbers_nonvalidated;	/* all sources without a token */
		unsigned authtimeout;		/* s from NEW/REGREQ to a verdict */
		bool delayreject;		/* refusals wait 1 s */
		unsigned minregexpire, maxregexpire, defaultexpire;
		char users[PATH_MAX];		/* iax.conf-style; empty: <statedir>/iax.conf */
		char sql_request[2048];		/* soci-password-request: users from SQL instead */
		char keydir[PATH_MAX];		/* empty: <statedir>/keys */
		int acl;			/* the listener's [acl:NAME], or CONFIG_NO_ACL */
		char acl_name[32];
		/* upstream: the PBX's chan_iax2 that authenticated calls go on to */
		bool has_upstream;
		struct addr upstream;
		char upstream_user[80];		/* USERNAME sent there; empty: the caller's */
		char upstream_secret[256];	/* for its MD5 challenge */
		char outkey[80];		/* or for its RSA challenge */
	} iax2;

	/* [password-policy]: every secret pbxguard sets, and the audit */
	struct config_pwpolicy {
		bool enforce;			/* mode = enforce (or advise: warn only) */
		unsigned min_length;		/* NIST SP 800-63B-4: 15 for a password alone */
		unsigned max_length;
		unsigned classes;		/* character-classes: PW_CLASS_* bits */
		char blocklist[PATH_MAX];	/* "" : the embedded list only */
		unsigned min_score;		/* min-zxcvbn-score, 0 to 4 */
		unsigned max_repeat;		/* the same character this many times in a row */
		unsigned max_sequence;		/* abcd, 4321: runs this long */
		bool digits_only;		/* allow-digits-only */
		unsigned generated_length;	/* what audit --fix makes */
		char override_log[PATH_MAX];	/* --force-weak's trail; empty: <statedir>/... */
	} pw;

	/* [voicemail-policy]: voicemail PINs */
	struct config_pinpolicy {
		unsigned min_length, max_length;
		unsigned max_repeat;		/* 000 with 2 */
		unsigned max_sequence;		/* 1234 and 9876 with 3 */
	} pin;

	/* [firewall]: what `pbxguard firewall` renders */
	struct config_firewall {
		struct cidr allowed[CONFIG_MAX_CIDRS];	/* allowed-hosts: always pass */
		size_t n_allowed;
		int ssh_port;			/* 0: none; -1: sshd_config's (or 22) */
		struct port_range rtp;		/* rtp-ports; hi 0: none */
		unsigned sip_udp_rate;		/* packets/s per source (0: no limit) */
		struct port_range open[CONFIG_MAX_PORTS];	/* open = tcp:5555 ... */
		size_t n_open;
	} fw;

	/* [watch]: other programs' logs that feed the bans */
	struct config_watch {
		struct watch_source {
			enum watch_kind { WATCH_SSHD, WATCH_ASTERISK } kind;
			char path[PATH_MAX];	/* "journal": journald */
		} src[CONFIG_MAX_WATCH];
		size_t n;
		struct port_range asterisk_ports[CONFIG_MAX_PORTS];	/* kernel bans cover them */
		size_t n_asterisk_ports;
		char state[PATH_MAX];		/* empty: <statedir>/watch.state */
	} watch;
};

struct config_errors {
	char **msg;
	size_t n;
	size_t nwarn;
	char **warn;
};

/* The configuration used when `serve` is given no -c. */
extern const char config_embedded_default[];

void config_defaults(struct config *c);
/*
 * Parse a file (path) or, with path NULL, the embedded default. Returns
 * true when there were no errors; warnings and errors land in errs either
 * way. Paths left empty are filled from statedir after a successful parse.
 */
bool config_load(struct config *c, const char *path, struct config_errors *errs);
void config_free(struct config *c);
/* Index of the listener the upstream is reached from (the first UDP one of
 * its address family), or -1 without an upstream. */
int config_upstream_listener(const struct config *c);
/* "600", "10m", "1h", "2d", "1w" (fail2ban's units) to seconds. */
bool config_parse_duration(struct slice s, unsigned *secs);
/* The ACL group called name, or CONFIG_NO_ACL. */
int config_find_acl(const struct config *c, struct slice name);
void config_errors_free(struct config_errors *e);
/* "udp:5060" or "tcp:10000-20000" (a bare "10000-20000" is proto dflt). */
bool config_parse_ports(struct slice s, enum transport_proto dflt, struct port_range *out);

#endif
