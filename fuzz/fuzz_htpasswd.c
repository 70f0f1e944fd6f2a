/* Apache's htpasswd and group files: parsed, every user found again by
 * name, every hash classified; verification on short inputs (the hashes
 * themselves cost too much to run on every input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/htpasswd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct htp_users *u = htp_parse((const char *)data, size, "fuzz", err, sizeof(err));

	if (!u)
		abort(); /* only memory can fail */
	for (size_t i = 0; i < u->n; i++) {
		const struct htp_user *e = htp_find(u, slice_cstr(u->u[i].name));
		if (!e || strcmp(e->name, u->u[i].name) != 0 || !htp_kind(e->hash))
			abort();
		/* Cheap formats only: {SHA} and apr1 checks run in microseconds. */
		if ((strncmp(e->hash, "{SHA}", 5) == 0 || strncmp(e->hash, "$apr1$", 6) == 0) &&
		    htp_verify(e->hash, e->name, strlen(e->name)) && !htp_usable(e->hash))
			abort();
	}
	htp_free(u);
	struct htp_groups *g = htp_groups_parse((const char *)data, size, err, sizeof(err));
	if (!g)
		abort();
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < g->g[i].n; k++)
			if (!htp_in_group(g, g->g[i].name, slice_cstr(g->g[i].members[k])))
				abort();
	htp_groups_free(g);
	return 0;
}
