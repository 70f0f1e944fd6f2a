/*
 * Where a SIP message came from and how to reach that peer again: the
 * listener, and for TCP/TLS the very connection it opened (a phone behind
 * NAT can only be reached over the connection it made).
 */
#ifndef PBX_SIP_FLOW_H
#define PBX_SIP_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/slice.h"
#include "core/tls.h"

struct sip_flow {
	enum transport_proto proto;
	unsigned listener;	/* index into cfg->transports */
	uint64_t conn;		/* TCP/TLS: the connection's id (never reused); UDP: 0 */
	struct addr remote;
};

/* One received message and everything known about its arrival. */
struct sip_packet {
	struct slice data;
	const struct addr *remote, *local;
	const char *transport;	/* "UDP", "TCP", "TLS" */
	bool stream;
	int acl;		/* the listener's ACL group, or CONFIG_NO_ACL */
	const struct tls_subjects *peer;	/* TLS: a verified client certificate */
	const struct sip_flow *flow;	/* NULL: unknown (no proxying possible) */
	int64_t at_ms;		/* arrival, monotonic ms (proxy timers) */
	time_t parked;		/* when first parked for the credential store; 0: new */
};

/* The transports' side of sending: queue one whole message on a flow.
 * False when the flow is gone (the connection closed) or the send failed. */
struct sip_sender {
	void *ctx;
	bool (*send)(void *ctx, const struct sip_flow *f, const char *buf, size_t n);
};

static inline bool
sip_flow_same(const struct sip_flow *a, const struct sip_flow *b)
{
	return a->proto == b->proto && a->listener == b->listener && a->conn == b->conn &&
	    addr_equal(&a->remote, &b->remote);
}

static inline const char *
sip_flow_transport(const struct sip_flow *f)
{
	return f->proto == TP_UDP ? "UDP" : f->proto == TP_TCP ? "TCP" : "TLS";
}

#endif
