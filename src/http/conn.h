/* Inside the web door: one connection, shared by server.c, admin.c, proxy.c. */
#ifndef PBX_HTTP_CONN_H
#define PBX_HTTP_CONN_H

#include <event2/bufferevent.h>

#include "core/addr.h"
#include "core/workq.h"
#include "guard/guard.h"
#include "http/parse.h"
#include "http/server.h"

#define HTTP_MAX_BODY (8u << 20)	/* a proxied upload */
#define HTTP_MAX_API_BODY 4096		/* our own actions */

struct http_listener {
	struct http_server *srv;
	struct evconnlistener *lev;
	struct addr local;
	bool tls;
};

struct http_proxy;

struct hconn {
	struct hconn *prev, *next;
	struct http_server *srv;
	struct http_listener *l;
	struct addr remote;
	struct bufferevent *bev;
	struct event *timer;
	char *head;			/* this request's head, owned (h points into it) */
	struct http_head h;
	char *body;			/* its body, once read */
	size_t body_n;
	char user[256];			/* authenticated as */
	struct auth_job *job;		/* a hash running for this request */
	struct auth_job *parked;	/* waiting for the SQL store's answer */
	struct http_proxy *proxy;	/* relaying to the PBX's GUI */
	bool busy;			/* a request is being answered */
	bool want_body;			/* authenticated, its body still coming */
	bool closing;
	bool linger;			/* refused mid-request: read on a moment, then close */
	bool keep;			/* keep the connection after this answer */
	unsigned requests;
};

struct http_server {
	struct event_base *base;
	const struct config *cfg;
	struct guard *guard;
	SSL_CTX *tls;
	struct http_hooks hooks;
	struct http_listener l[CONFIG_MAX_HTTP_LISTEN];
	size_t nl;
	struct hconn *conns;
	size_t nconns;
	struct workq *wq;
	struct htp_users *users;	/* AuthUserFile, or NULL with */
	struct store *store;		/* AuthDBDUserPWQuery's users */
	struct htp_groups *groups;
	time_t checked;			/* files last looked at */
	uint8_t csrf_key[32];
	time_t started;
	/* counted for /metrics */
	uint64_t n_requests, n_status[6], n_auth_ok, n_auth_fail, n_busy, n_proxied;
};

/* A complete answer. extra: more header lines, each ending in CRLF, or NULL. */
void http_respond(struct hconn *c, unsigned status, const char *ctype, const char *extra,
    const void *body, size_t n);
/* Done with this request: next one, or close. */
void http_request_done(struct hconn *c);
void http_conn_close(struct hconn *c);

/* admin.c: /pbxguard/... and /metrics; false when the path is not ours. */
bool admin_route(struct hconn *c);
/* proxy.c: hand the request to the PBX's GUI. */
void webproxy_start(struct hconn *c);
void webproxy_free(struct http_proxy *p);

#endif
