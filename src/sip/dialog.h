/*
 * Dialogs that went through us (RFC 3261 12), so in-dialog requests can pass
 * without a fresh challenge only inside them and reach the phone over the
 * flow it used. Bounded (max-dialogs) and expiring (dialog-timeout).
 */
#ifndef PBX_SIP_DIALOG_H
#define PBX_SIP_DIALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/slice.h"
#include "sip/flow.h"

#define DIALOG_TAG_MAX 128
#define DIALOG_CALLID_MAX 256
#define DIALOG_OWNER_MAX 320

struct dialog {
	struct dialog *next;		/* hash chain */
	uint64_t key;			/* keyed hash of Call-ID and the caller's tag */
	char callid[DIALOG_CALLID_MAX];
	char caller_tag[DIALOG_TAG_MAX], callee_tag[DIALOG_TAG_MAX];
	bool confirmed;			/* a 2xx passed: callee_tag is set */
	bool phone_is_caller;
	struct sip_flow phone;		/* the phone's side (or the node it is on) */
	struct sip_flow pbx;		/* the PBX's side: an upstream, or a node */
	int upstream;			/* which upstream; -1: through a node */
	char owner[DIALOG_OWNER_MAX];	/* the phone's account, user@domain */
	int64_t expires;		/* ms, monotonic */
};

struct dialogs;

struct dialogs *dialogs_new(size_t max, uint64_t seed);
void dialogs_free(struct dialogs *d);

uint64_t dialog_key(const struct dialogs *d, struct slice callid, struct slice caller_tag);
/* The dialog an in-dialog request (Call-ID, From tag, To tag) belongs to, in
 * either direction; once confirmed, both tags must match. */
struct dialog *dialog_find(struct dialogs *d, struct slice callid, struct slice from_tag,
    struct slice to_tag, int64_t now);
struct dialog *dialog_get(struct dialogs *d, uint64_t key);
/* A new early dialog, or the existing one with this key. NULL when full or
 * a field is too long. */
struct dialog *dialog_add(struct dialogs *d, struct slice callid, struct slice caller_tag,
    int64_t expires);
bool dialog_confirm(struct dialog *dl, struct slice callee_tag, int64_t expires);
void dialog_del(struct dialogs *d, struct dialog *dl);
/* Drops expired dialogs; returns how many remain. */
size_t dialogs_sweep(struct dialogs *d, int64_t now);
size_t dialogs_count(const struct dialogs *d);

#endif
