/*
 * What a logged-in user may send on to Asterisk. Asterisk's own rule comes
 * first (the user's write classes must meet the action's, as the upstream's
 * ListCommands gave them), then pbxguard's: actions that reach a shell, the
 * file system or the configuration need their class named one by one in
 * the user's write line — "all" is not enough, so an old manager.conf with
 * "write = all" does not hand out a shell.
 */
#ifndef PBX_AMI_POLICY_H
#define PBX_AMI_POLICY_H

#include <stdbool.h>

#include "ami/frame.h"
#include "core/slice.h"

/*
 * authority: the action's classes as the upstream listed them (0: anyone),
 * or -1 when the upstream does not list it (Asterisk then answers for
 * itself). False with the reason in *why (for the log; the client gets
 * Asterisk's "Permission denied").
 */
bool ami_policy_allows(const struct ami_msg *m, struct slice action, int authority,
    int writeperm, int write_explicit, const char **why);
/* Actions that change the upstream session's own state: never relayed. */
bool ami_policy_session_action(struct slice action);

#endif
