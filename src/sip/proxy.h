/*
 * The proxy toward the PBX ([sip] upstream): transaction-stateful, without
 * forking (RFC 3261 16). Phones' authenticated requests go to the upstream
 * with our Via and Record-Route, our credentials removed and the verified
 * identity asserted; the upstream's requests go to the binding a phone
 * registered, over the flow it registered from; in-dialog requests pass
 * only inside dialogs that went through us. Socket-free: messages leave
 * through the transports' sip_sender, time comes in as monotonic ms.
 */
#ifndef PBX_SIP_PROXY_H
#define PBX_SIP_PROXY_H

#include <stdint.h>

#include "core/config.h"
#include "guard/guard.h"
#include "sip/flow.h"
#include "sip/msg.h"
#include "sip/registrar.h"

/* Vias a request may carry to be forwarded: more cannot come from a real
 * path (each hop also spends Max-Forwards) and would overflow the replies. */
#define PROXY_MAX_VIA 16
/* How long an upstream that did not answer is tried last. */
#define PROXY_DOWN_MS 30000

struct proxy_stats {
	uint64_t forwarded;	/* requests passed on, either way */
	uint64_t relayed;	/* responses passed back */
	uint64_t loops, too_many_hops, no_dialog, not_yours;
	uint64_t timeouts, failovers, unreachable;
	uint64_t to_node;	/* requests sent to the node a phone is on */
};

struct proxy;

/* NULL without an upstream in cfg (or out of memory: logged). */
struct proxy *proxy_new(const struct config *cfg, struct guard *g, struct registrar *reg,
    uint64_t seed);
void proxy_free(struct proxy *p);
void proxy_set_sender(struct proxy *p, const struct sip_sender *out);

enum proxy_step {
	PROXY_DONE,	/* handled: answered, forwarded or dropped */
	PROXY_AUTH,	/* authenticate it, then call proxy_route() */
};

/*
 * A parsed, well-formed request, before authentication: retransmissions,
 * ACK and CANCEL of our transactions, loops, Max-Forwards, requests from
 * the upstream, and in-dialog requests from the phone of a dialog.
 */
enum proxy_step proxy_request(struct proxy *p, const struct sip_msg *m,
    const struct sip_packet *pkt);
/* An authenticated request from acct ("user@domain"): to the upstream (or
 * inside its dialog). extra: further header lines (REGISTER's Path), or NULL. */
void proxy_route(struct proxy *p, const struct sip_msg *m, const struct sip_packet *pkt,
    const char *acct, const char *extra);
/* A response: back along the Via path, if it answers one of our requests. */
void proxy_response(struct proxy *p, const struct sip_msg *m, const struct sip_packet *pkt);
/* The Path header value for forwarded REGISTERs: "<sip:OURS;lr>". */
const char *proxy_path(const struct proxy *p);

/*
 * [cluster]: where a phone registered on another node is reached (the
 * address that node takes SIP from its peers at, and when the phone last
 * registered there). A request of the upstream's goes where the AOR was
 * registered last, here or there; requests from a node are routed like the
 * upstream's.
 */
typedef bool proxy_locate_fn(void *arg, const char *aor, struct addr *node, int64_t *at);
void proxy_set_cluster(struct proxy *p, proxy_locate_fn *locate, void *arg);

/* Timers: run what is due; the next deadline (ms) or -1. */
void proxy_tick(struct proxy *p, int64_t now);
int64_t proxy_next(const struct proxy *p);
void proxy_stats(const struct proxy *p, struct proxy_stats *st, size_t *txns, size_t *dialogs);

#endif
