/* A TCP listening socket on libevent, with the options every pbxguard
 * listener wants (close-on-exec, address reuse after a restart). */
#ifndef PBX_LISTEN_H
#define PBX_LISTEN_H

#include <event2/listener.h>

#include "core/addr.h"

/* NULL with errno set when the address cannot be bound. */
struct evconnlistener *tcp_listen(struct event_base *base, evconnlistener_cb cb, void *arg,
    const struct addr *a, int backlog);

#endif
