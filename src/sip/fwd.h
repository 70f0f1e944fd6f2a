/*
 * Rewriting messages a proxy passes on (RFC 3261 16.6, 16.7): pure
 * functions from a parsed message to new bytes. No state, no sockets.
 */
#ifndef PBX_SIP_FWD_H
#define PBX_SIP_FWD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"
#include "core/sbuf.h"
#include "sip/msg.h"

struct fwd_req {
	struct slice ruri;	/* new Request-URI; .p NULL keeps the old one */
	const char *via;	/* our Via value, pushed on top */
	const char *rr[2];	/* Record-Route values to add on top, NULL when unused */
	const char *pai;	/* P-Asserted-Identity value that replaces the peer's
				 * P-Asserted/P-Preferred-Identity; NULL keeps them */
	bool strip_routes;	/* drop every Route (a phone's preloaded route set) */
	size_t pop_routes;	/* drop this many leading Route entries (ours) */
	struct slice realm;	/* drop Authorization/Proxy-Authorization of this realm */
	const struct addr *src;	/* stamps received/rport on the sender's Via */
	bool privacy_id;	/* drop P-Asserted-Identity if Privacy: id (RFC 3325 5) */
	const char *extra;	/* further header lines, each ending in CRLF; or NULL */
};

/* Number of Via entries (comma-separated ones counted apart). */
size_t fwd_via_count(const struct sip_msg *m);

/* The request m as forwarded with f: our Via on top, Max-Forwards decremented
 * (70 when absent, RFC 3261 16.6 step 3), Content-Length recomputed. The
 * caller has checked that Max-Forwards is above 0. False if out overflowed. */
bool fwd_request(const struct sip_msg *m, const struct fwd_req *f, struct sbuf *out);

/* The response m without its top Via (RFC 3261 16.7 step 3). False if m has
 * no Via left after that, or out overflowed. */
bool fwd_response(const struct sip_msg *m, struct sbuf *out);

/* A hop-by-hop request built from the request we forwarded (inv): CANCEL
 * (RFC 3261 9.1) or the ACK of a non-2xx final response (17.1.1.3, with
 * the response's To). Same Request-URI, top Via, Call-ID, From, CSeq
 * number and Route as inv. */
bool fwd_hop_request(const struct sip_msg *inv, const char *method, struct slice to,
    struct sbuf *out);

/* The realm of a Digest credential, or an empty slice. */
struct slice fwd_cred_realm(struct slice value);

#endif
