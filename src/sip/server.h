/*
 * The SIP front end's request handling, independent of sockets: one framed
 * message in, at most one response out. Transports (transport.c) own I/O.
 */
#ifndef PBX_SIP_SERVER_H
#define PBX_SIP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/tls.h"
#include "guard/guard.h"
#include "sip/flow.h"
#include "sip/msg.h"
#include "sip/proxy.h"
#include "sip/registrar.h"

#define SIP_REPLY_MAX 65535
#define SIP_MAX_CREDENTIALS 8
#define SIP_AUTH_SCRATCH 4096

struct sip_reply {
	char buf[SIP_REPLY_MAX];
	size_t n;		/* 0: nothing to send */
	bool close;		/* stream framing lost: close after sending */
};

/* A request waiting for the credential store (an SQL lookup). */
struct sip_parked;

#define SIP_MAX_PARKED 1024
#define SIP_PARK_SECONDS 10

struct sip_server {
	const struct config *cfg;
	struct guard *guard;
	struct registrar *reg;
	struct proxy *proxy;	/* NULL without [sip] upstream */
	struct sip_limits lim;
	uint64_t tag_seed;
	/* Counters for the log and, later, metrics. */
	uint64_t n_requests, n_bad, n_auth_ok, n_auth_fail, n_challenges;
	uint64_t n_dropped;	/* packets and connections refused by guard_admit */
	uint64_t n_parked, n_unavailable;	/* waited for the store; answered 503 */
	/* Requests parked until the store answers, oldest first, and how their
	 * responses leave (the transports' sender). */
	struct sip_parked *parked, *parked_last;
	size_t nparked;
	struct sip_sender out;
	struct sip_reply *resume_reply;
};

bool sip_server_init(struct sip_server *s, const struct config *cfg, struct guard *g);
void sip_server_destroy(struct sip_server *s);
/* How the proxy reaches flows other than the one a request came on. */
void sip_server_set_sender(struct sip_server *s, const struct sip_sender *out);
/* Proxy timers: run what is due at now (monotonic ms); the next due time or -1. */
void sip_server_tick(struct sip_server *s, int64_t now_ms);
int64_t sip_server_next_timer(const struct sip_server *s);

/* Parses and handles whatever message starts pkt->data (datagram mode) or a
 * complete framed message (stream mode, already framed by the caller). */
void sip_handle_msg(struct sip_server *s, const struct sip_msg *m,
    const struct sip_packet *pkt, time_t now, struct sip_reply *out);
/* A message that failed to parse: 400 with the reason, if we can address it. */
void sip_handle_bad(struct sip_server *s, const struct sip_msg *m,
    const struct sip_packet *pkt, const char *why, struct sip_reply *out);
/* The credential store has answers: handle the parked requests again
 * (set as the store's ready callback). */
void sip_server_resume(void *server);

/* Datagram convenience: parse + handle. */
void sip_handle_datagram(struct sip_server *s, const struct sip_packet *pkt, time_t now,
    struct sip_reply *out);

#endif
