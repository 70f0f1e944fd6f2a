/* SIP over UDP, TCP and TLS on libevent: framing, limits, and nothing else. */
#ifndef PBX_SIP_TRANSPORT_H
#define PBX_SIP_TRANSPORT_H

#include <stdbool.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "core/config.h"
#include "sip/server.h"

struct sip_transports;

/* Binds every configured listener; NULL (with a logged reason) on failure.
 * tls: the server context of TLS listeners (NULL if there are none).
 * optional_v6: an IPv6 listener that cannot bind is a warning, not fatal. */
struct sip_transports *sip_transports_start(struct event_base *base,
    struct sip_server *srv, const struct config *cfg, SSL_CTX *tls, bool optional_v6);
void sip_transports_stop(struct sip_transports *t);

#endif
