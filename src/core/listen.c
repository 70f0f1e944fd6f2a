#include "core/listen.h"

struct evconnlistener *
tcp_listen(struct event_base *base, evconnlistener_cb cb, void *arg, const struct addr *a,
    int backlog)
{
	return evconnlistener_new_bind(base, cb, arg,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, backlog,
	    (const struct sockaddr *)&a->ss, (int)a->len);
}
