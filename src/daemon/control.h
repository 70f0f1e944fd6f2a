/*
 * The local control socket (`pbxguard ctl`): a Unix socket, mode 0600, and
 * only root or the daemon's own user may talk to it (SO_PEERCRED). One
 * command line in, the answer out, then the connection closes.
 */
#ifndef PBX_CONTROL_H
#define PBX_CONTROL_H

#include <event2/buffer.h>
#include <event2/event.h>

#include "guard/guard.h"

struct control;

/* NULL (with a logged reason) if the socket cannot be made, or another
 * pbxguard already answers on it. */
struct control *control_start(struct event_base *base, const char *path, struct guard *g);
void control_stop(struct control *c);

/*
 * Commands of other parts ("keys ..."): called with the whole line first;
 * true when it answered. Set once, after start.
 */
typedef bool (*control_hook)(void *arg, const char *line, struct evbuffer *out);
void control_set_hook(struct control *c, control_hook fn, void *arg);

/* Runs one command line; the answer ("ok ..." or "error: ...") goes to out. */
void control_run(struct guard *g, const char *line, struct evbuffer *out);

#endif
