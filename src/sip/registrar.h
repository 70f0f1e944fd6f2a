/*
 * Registrar bindings (RFC 3261 section 10.3), in memory. Only accounts that
 * authenticated can register, and each keeps at most max-contacts-by-aor
 * bindings, so memory is bounded by the credential store.
 */
#ifndef PBX_SIP_REGISTRAR_H
#define PBX_SIP_REGISTRAR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/slice.h"
#include "sip/flow.h"

struct reg_binding {
	char *contact;		/* the URI, without <> */
	char *callid;
	uint32_t cseq;
	int64_t expires_at;
	char q[8];		/* as given, empty if none */
	struct sip_flow flow;	/* where the REGISTER came from: the way back (NAT) */
	uint64_t stamp;		/* higher: refreshed more recently */
	int64_t at;		/* when it was last refreshed (wall s) */
};

struct reg_contact {
	struct slice uri;
	unsigned expires;	/* resolved: contact param, Expires, or default */
	struct slice q;
};

#define REG_MAX_CONTACTS_PER_REQUEST 32
/* An address of record, "user@domain", with its NUL: longer is refused. */
#define REG_AOR_MAX 400

struct reg_request {
	struct slice callid;
	uint32_t cseq;
	bool star;		/* Contact: * (Expires must be 0) */
	struct reg_contact contacts[REG_MAX_CONTACTS_PER_REQUEST];
	size_t ncontacts;
	const struct sip_flow *flow;	/* NULL: unknown (tests) */
};

enum reg_result { REG_OK, REG_OUT_OF_ORDER, REG_NO_MEMORY };

struct registrar;

struct registrar *registrar_new(const struct config *cfg);
void registrar_free(struct registrar *r);

/* Applies rq to aor ("user@domain") atomically. */
enum reg_result registrar_update(struct registrar *r, struct slice aor,
    const struct reg_request *rq, int64_t now);
/* Told of every aor a successful update touched (shared state). */
typedef void (*registrar_hook)(void *arg, const char *aor);
void registrar_set_hook(struct registrar *r, registrar_hook fn, void *arg);
/* Current bindings of aor (expired ones dropped); valid until the next update. */
const struct reg_binding *registrar_lookup(struct registrar *r, struct slice aor,
    int64_t now, size_t *n);
/* Drops expired bindings everywhere; returns how many AORs remain. */
size_t registrar_sweep(struct registrar *r, int64_t now);
size_t registrar_count(const struct registrar *r);
/* The binding a request for aor goes to: highest q, then the most recently
 * refreshed (pbxguard does not fork). NULL if none. */
const struct reg_binding *registrar_pick(struct registrar *r, struct slice aor, int64_t now);
/* Every binding in force, in no particular order; returns how many. */
size_t registrar_each(struct registrar *r, int64_t now,
    void (*fn)(void *arg, const char *aor, const struct reg_binding *b), void *arg);

#endif
