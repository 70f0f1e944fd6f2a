/*
 * Building SIP responses (RFC 3261 8.2.6): the status line and the headers
 * a response copies from its request, with the top Via stamped with where
 * the request really came from. Shared by the registrar side and the proxy.
 */
#ifndef PBX_SIP_RESP_H
#define PBX_SIP_RESP_H

#include <stdint.h>

#include "core/addr.h"
#include "core/sbuf.h"
#include "sip/msg.h"

/* A keyed hash of several fields (0xff separated: it cannot occur in SIP). */
uint64_t sip_hash_slices(uint64_t seed, const struct slice *v, size_t n);

/* "Via: " + the first Via header line of a request, with received= and
 * rport= filled in from src (RFC 3261 18.2.1, RFC 3581), + CRLF. */
void sip_put_top_via(struct sbuf *b, struct slice via, const struct addr *src);

/* Status line, Vias, From, To (a To tag added above 100, stable per call leg
 * so retransmissions get the same), Call-ID and CSeq of request m. */
void sip_resp_start(struct sbuf *b, const struct sip_msg *m, const struct addr *src,
    uint64_t tag_seed, unsigned code, const char *reason);
/* The empty body. */
void sip_resp_end(struct sbuf *b);

#endif
