#include "sip/dialog.h"

#include <stdlib.h>
#include <string.h>

#include "sip/resp.h"

struct dialogs {
	struct dialog **buckets;
	size_t nbuckets, n, max;
	uint64_t seed;
};

struct dialogs *
dialogs_new(size_t max, uint64_t seed)
{
	struct dialogs *d = calloc(1, sizeof(*d));
	size_t nb = 64;

	while (nb < max)
		nb <<= 1;
	if (!d || !(d->buckets = calloc(nb, sizeof(*d->buckets)))) {
		free(d);
		return NULL;
	}
	d->nbuckets = nb;
	d->max = max;
	d->seed = seed;
	return d;
}

void
dialogs_free(struct dialogs *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nbuckets; i++)
		while (d->buckets[i]) {
			struct dialog *dl = d->buckets[i];
			d->buckets[i] = dl->next;
			free(dl);
		}
	free(d->buckets);
	free(d);
}

uint64_t
dialog_key(const struct dialogs *d, struct slice callid, struct slice caller_tag)
{
	struct slice v[2] = { callid, caller_tag };
	return sip_hash_slices(d->seed, v, 2) | 1; /* never 0: 0 means "none" */
}

struct dialog *
dialog_get(struct dialogs *d, uint64_t key)
{
	for (struct dialog *dl = d->buckets[key & (d->nbuckets - 1)]; dl; dl = dl->next)
		if (dl->key == key)
			return dl;
	return NULL;
}

static struct dialog *
match(struct dialogs *d, struct slice callid, struct slice caller, struct slice callee,
    int64_t now)
{
	struct dialog *dl = dialog_get(d, dialog_key(d, callid, caller));
	if (!dl || dl->expires <= now || !slice_eq_cstr(callid, dl->callid) ||
	    !slice_eq_cstr(caller, dl->caller_tag))
		return NULL;
	if (dl->confirmed && !slice_eq_cstr(callee, dl->callee_tag))
		return NULL;
	return dl;
}

struct dialog *
dialog_find(struct dialogs *d, struct slice callid, struct slice from_tag,
    struct slice to_tag, int64_t now)
{
	struct dialog *dl = match(d, callid, from_tag, to_tag, now);
	return dl ? dl : match(d, callid, to_tag, from_tag, now);
}

struct dialog *
dialog_add(struct dialogs *d, struct slice callid, struct slice caller_tag, int64_t expires)
{
	uint64_t key = dialog_key(d, callid, caller_tag);
	struct dialog *dl = dialog_get(d, key);

	if (dl)
		return dl;
	if (d->n >= d->max || callid.n >= DIALOG_CALLID_MAX || caller_tag.n >= DIALOG_TAG_MAX ||
	    !(dl = calloc(1, sizeof(*dl))))
		return NULL;
	dl->key = key;
	slice_copy(callid, dl->callid, sizeof(dl->callid));
	slice_copy(caller_tag, dl->caller_tag, sizeof(dl->caller_tag));
	dl->expires = expires;
	dl->next = d->buckets[key & (d->nbuckets - 1)];
	d->buckets[key & (d->nbuckets - 1)] = dl;
	d->n++;
	return dl;
}

bool
dialog_confirm(struct dialog *dl, struct slice callee_tag, int64_t expires)
{
	if (!slice_copy(callee_tag, dl->callee_tag, sizeof(dl->callee_tag)))
		return false;
	dl->confirmed = true;
	dl->expires = expires;
	return true;
}

void
dialog_del(struct dialogs *d, struct dialog *dl)
{
	struct dialog **pp = &d->buckets[dl->key & (d->nbuckets - 1)];
	while (*pp && *pp != dl)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	*pp = dl->next;
	d->n--;
	free(dl);
}

size_t
dialogs_sweep(struct dialogs *d, int64_t now)
{
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct dialog **pp = &d->buckets[i];
		while (*pp) {
			if ((*pp)->expires <= now) {
				struct dialog *dl = *pp;
				*pp = dl->next;
				d->n--;
				free(dl);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
	return d->n;
}

size_t
dialogs_count(const struct dialogs *d)
{
	return d->n;
}
