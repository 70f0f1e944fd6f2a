/*
 * Credential stores behind one interface. The guard asks "which account is
 * user@domain?" and gets a self-contained copy it must wipe after use, so a
 * reload can free the old data while a request is in flight.
 */
#ifndef PBX_STORE_H
#define PBX_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"
#include "guard/digest.h"

#define ACCOUNT_USERID_MAX 128
#define ACCOUNT_SECRET_MAX 256

struct account {
	char userid[ACCOUNT_USERID_MAX];	/* digest username expected */
	bool has_clrtxt;
	char clrtxt[ACCOUNT_SECRET_MAX];
	bool has_ha1[DIGEST_NALGOS];
	char ha1[DIGEST_NALGOS][DIGEST_MAX_HEX + 1]; /* bound to realm = domain */
	char acl[32];				/* ACL group name, or "" */
};

enum store_result { STORE_FOUND, STORE_NOT_FOUND, STORE_UNAVAILABLE };

struct store_ops {
	const char *name;
	enum store_result (*lookup)(void *impl, struct slice user, struct slice domain,
	    struct account *out);
	/* Re-read the source if it changed; on error keep the old copy, return -1. */
	int (*refresh)(void *impl, bool force);
	size_t (*count)(void *impl);
	void (*destroy)(void *impl);
};

struct store {
	const struct store_ops *ops;
	void *impl;
};

static inline enum store_result
store_lookup(struct store *s, struct slice user, struct slice domain, struct account *out)
{
	return s->ops->lookup(s->impl, user, domain, out);
}

void account_wipe(struct account *a);

/* Flexisip's db-implementation=file. NULL with a message on a bad file. */
struct store *store_file_open(const char *path, char *err, size_t errsz);
void store_free(struct store *s);

#endif
