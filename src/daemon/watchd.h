/*
 * [watch] in the daemon: once a second, the lines other programs appended
 * to their logs (sshd, Asterisk) are read, their failures become strikes
 * toward the same bans as pbxguard's own doors, and the read position is
 * saved so that a restart never reads a line twice.
 */
#ifndef PBX_WATCHD_H
#define PBX_WATCHD_H

#include <event2/event.h>

#include "core/config.h"
#include "guard/guard.h"

struct watchd;

/* NULL without [watch] sources; *fatal when they cannot be followed. */
struct watchd *watchd_start(const struct config *cfg, struct event_base *base,
    struct guard *g, bool *fatal);
void watchd_stop(struct watchd *w);

#endif
