/*
 * The AMI listeners on libevent: one port that tells TLS from plain text by
 * the first bytes a client sends (the seed's sslclienthellotimeout), an
 * optional TLS-only port (Asterisk's tlsbindaddr), the session limits, and
 * the upstream's answers and events handed to the right sessions.
 */
#ifndef PBX_AMI_SERVER_H
#define PBX_AMI_SERVER_H

#include <stdbool.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "ami/session.h"
#include "core/config.h"
#include "guard/guard.h"

struct ami_server;

/*
 * NULL (with a logged reason) on failure. tls: the AMI's server context.
 * users: the users from SQL ([manager] soci-password-request), owned by
 * the server from here on even on failure; NULL: the users file.
 */
struct ami_server *ami_server_start(struct event_base *base, const struct config *cfg,
    struct guard *guard, SSL_CTX *tls, const struct ami_hooks *hooks, struct store *users);
void ami_server_stop(struct ami_server *srv);
/* Re-reads the users file (or forgets the SQL store's cached answers); on
 * an error the users in force stay. why: what happened, for the log and
 * the Reload action. */
bool ami_server_reload(struct ami_server *srv, char *why, size_t whysz);

/* The users' SQL store, or NULL (the users file): for /metrics. */
struct store *ami_server_users(const struct ami_server *srv);
/* For the admin page: the upstream's state (NULL: none) and the sessions. */
const char *ami_server_upstream(const struct ami_server *srv);
void ami_server_sessions(const struct ami_server *srv, unsigned *open, unsigned *unauth);

/* Is this first flight the start of a TLS handshake (16 03 00..04)? 1 yes,
 * 0 no, -1 not enough bytes to tell. */
int ami_looks_like_tls(const unsigned char *p, size_t n);

#endif
