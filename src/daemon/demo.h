/* The embedded default's first run: state directory and a demo account. */
#ifndef PBX_DEMO_H
#define PBX_DEMO_H

#include "core/config.h"

/* Creates statedir (0700) and, if absent, a userdb with one demo account
 * whose random password is printed once. Never overwrites. 0 or -1. */
int demo_prepare(const struct config *cfg);

/*
 * The web admin page's first user: when AuthUserFile does not exist yet,
 * "admin" with a random password (bcrypt), printed once. Never admin/admin.
 */
int web_admin_prepare(const struct config *cfg);

#endif
