/* Listening sockets with the options every pbxguard listener wants
 * (non-blocking, close-on-exec, address reuse after a restart, a v6
 * socket for v6 only). */
#ifndef PBX_LISTEN_H
#define PBX_LISTEN_H

#include <event2/listener.h>

#include "core/addr.h"

/* NULL with errno set when the address cannot be bound. */
struct evconnlistener *tcp_listen(struct event_base *base, evconnlistener_cb cb, void *arg,
    const struct addr *a, int backlog);

/* A bound UDP socket, or -1 with errno set. */
int udp_bind(const struct addr *a);

#endif
