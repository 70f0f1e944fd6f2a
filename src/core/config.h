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
#include "guard/digest.h"

enum transport_proto { TP_UDP, TP_TCP };

struct transport_spec {
	enum transport_proto proto;
	struct addr addr;
};

#define CONFIG_MAX_TRANSPORTS 16
#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_ALGOS 6

struct config {
	char source[PATH_MAX];		/* file name, or "(embedded default)" */
	bool embedded;

	/* [global] */
	char statedir[PATH_MAX];
	char security_log[PATH_MAX];	/* empty: <statedir>/security.log */
	int log_level;			/* enum log_level */

	/* [module::Authentication] */
	bool auth_enabled;
	char *auth_domains[CONFIG_MAX_DOMAINS];
	size_t n_auth_domains;
	struct digest_alg algos[CONFIG_MAX_ALGOS];
	size_t n_algos;
	char db_implementation[16];
	char file_path[PATH_MAX];	/* empty: <statedir>/userdb */
	unsigned nonce_expires;
	char realm[256];		/* empty: the From domain */
	bool no_403;
	bool disable_qop_auth;
	unsigned nonce_table;		/* nonce-count slots kept */

	/* [module::Registrar] */
	unsigned min_expires, max_expires, default_expires, max_contacts_by_aor;

	/* [sip] */
	struct transport_spec transports[CONFIG_MAX_TRANSPORTS];
	size_t n_transports;
	unsigned max_message_size;
	unsigned max_headers;
	unsigned idle_timeout;
	unsigned max_connections;
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
void config_errors_free(struct config_errors *e);

#endif
