/*
 * The web door: HTTPS listeners (plain http: ones only redirect), Basic
 * authentication against an Apache htpasswd file as mod_auth_basic does it,
 * then the admin page, its JSON API, /metrics, or the PBX's own web GUI
 * behind the same door (proxy). Slow hashes run on worker threads.
 */
#ifndef PBX_HTTP_SERVER_H
#define PBX_HTTP_SERVER_H

#include <stdbool.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "core/config.h"
#include "core/dbuf.h"
#include "core/json.h"
#include "guard/guard.h"

/* What the page shows from the rest of the daemon (which this front end
 * may not include): members of the state object, and metric families. */
struct http_hooks {
	void *arg;
	void (*state)(void *arg, struct json *j);
	void (*metrics)(void *arg, struct dbuf *b);
};

struct http_server;

/* users: AuthDBDUserPWQuery's store, owned by the server from here on
 * even on failure; NULL: AuthUserFile. */
struct http_server *http_server_start(struct event_base *base, const struct config *cfg,
    struct guard *guard, SSL_CTX *tls, const struct http_hooks *hooks, struct store *users);
void http_server_stop(struct http_server *srv);
/* AuthDBDUserPWQuery's store, or NULL (AuthUserFile): for /metrics. */
struct store *http_server_users(const struct http_server *srv);
/* Re-read AuthUserFile and AuthGroupFile now; on an error the ones in force stay. */
bool http_server_reload(struct http_server *srv, char *why, size_t whysz);

#endif
