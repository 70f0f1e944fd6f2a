/*
 * The upstream carries every session's actions on one service login, so
 * each relayed action's ActionID is made unique ("pbxg-<session>-" before
 * the client's own), and whatever comes back with such an ActionID goes to
 * that session alone, its ActionID as the client wrote it. Everything else
 * from the upstream is an event for whoever may read it.
 */
#ifndef PBX_AMI_RELAY_H
#define PBX_AMI_RELAY_H

#include <stdint.h>

#include "ami/frame.h"
#include "core/dbuf.h"

#define AMI_RELAY_PREFIX "pbxg-"
#define AMI_INTERNAL_PREFIX "pbxguard-"	/* the service login's own actions */

enum ami_route { AMI_ROUTE_EVENT, AMI_ROUTE_SESSION, AMI_ROUTE_INTERNAL };

/* The action as the upstream gets it: the client's lines, one ActionID. */
void ami_relay_action(const struct ami_msg *m, uint64_t sid, struct dbuf *out);
enum ami_route ami_relay_route(const struct ami_msg *m, uint64_t *sid);
/* A routed message as its session sees it. */
void ami_relay_restore(const struct ami_msg *m, struct dbuf *out);
/* The message as text again (lines and the blank line). */
void ami_relay_text(const struct ami_msg *m, struct dbuf *out);
/* An event's classes from its Privilege line; all of them when it has none. */
int ami_relay_category(const struct ami_msg *m);

#endif
