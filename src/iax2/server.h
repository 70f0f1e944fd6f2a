/*
 * The IAX2 front door: one UDP socket ([iax2] bindaddr:bindport). Call
 * tokens first (stateless), then per-source and global call-number limits,
 * then REGREQ/REGAUTH/REGACK and NEW/AUTHREQ/AUTHREP/ACCEPT with the
 * methods each account allows, every verdict through the guard. An
 * authenticated call is relayed to the PBX ([iax2] upstream) with its own
 * call numbers on each side; a call from the PBX to a peer registered here
 * is relayed to that peer.
 */
#ifndef PBX_IAX2_SERVER_H
#define PBX_IAX2_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "core/config.h"
#include "guard/guard.h"
#include "store/keys.h"

struct iax_server;

struct iax_stats {
	uint64_t frames, bad, tokens_sent, token_refused, limit_refused;
	uint64_t reg_ok, reg_fail, call_ok, call_fail, relayed_calls, media_frames;
	size_t legs, unvalidated, registrations;
};

/* keys: the key directory, owned by the caller and kept while we run.
 * users: [iax2] soci-password-request's store, owned from here on even on
 * failure; NULL: the users file. */
struct iax_server *iax_server_start(struct event_base *base, const struct config *cfg,
    struct guard *g, struct keyring *keys, struct store *users);
void iax_server_stop(struct iax_server *s);
/* SIGHUP: the users file again (all or nothing), and the keys. */
bool iax_server_reload(struct iax_server *s, struct keyring *keys, char *msg, size_t msgsz);
void iax_server_stats(const struct iax_server *s, struct iax_stats *out);
/* The accounts' SQL store, or NULL (the users file): for /metrics. */
struct store *iax_server_users(const struct iax_server *s);

/* One datagram as if it came from the socket (the fuzz target and unit
 * tests drive the door with this). */
void iax_server_input(struct iax_server *s, const struct addr *from, uint8_t *buf, size_t n);

/* Registrations, for the AMI and the admin page. */
typedef void (*iax_reg_fn)(void *arg, const char *name, const struct addr *a, time_t expires);
size_t iax_server_each_reg(struct iax_server *s, time_t now, iax_reg_fn fn, void *arg);

#endif
