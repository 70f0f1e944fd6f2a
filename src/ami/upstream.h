/*
 * The connection to Asterisk's own AMI behind us: one service login
 * (Challenge/MD5, never a plain secret), kept up and retried when lost.
 * Its ListCommands tells each action's classes, which is how a user's
 * write line is checked before anything reaches Asterisk.
 */
#ifndef PBX_AMI_UPSTREAM_H
#define PBX_AMI_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "ami/frame.h"
#include "core/slice.h"

struct ami_ctx;
struct ami_upstream;

/* What the upstream hands back to the sessions (ami/server.c). */
struct ami_upstream_sink {
	void *arg;
	void (*to_session)(void *arg, uint64_t sid, const struct ami_msg *m);
	void (*event)(void *arg, const struct ami_msg *m);
	/* up: logged in and ready, or lost (why says how). */
	void (*state)(void *arg, bool up, const char *why);
};

/* NULL (logged) on a bad TLS set-up; connecting starts at once. */
struct ami_upstream *ami_upstream_start(struct event_base *base, struct ami_ctx *ctx,
    const struct ami_upstream_sink *sink);
void ami_upstream_stop(struct ami_upstream *u);

bool ami_upstream_ready(const struct ami_upstream *u);
/* "connected", "connecting", "logging in", "down: why" */
const char *ami_upstream_status(const struct ami_upstream *u);
/* The action's classes as the upstream listed them; -1 if it did not. */
int ami_upstream_authority(const struct ami_upstream *u, struct slice action);
/* The i-th listed action: its name, its whole ListCommands line, its classes. */
bool ami_upstream_action(const struct ami_upstream *u, size_t i, struct slice *name,
    struct slice *line, int *authority);
/* Sends the action for session sid; false when the upstream is not ready. */
bool ami_upstream_send(struct ami_upstream *u, const struct ami_msg *m, uint64_t sid);

#endif
