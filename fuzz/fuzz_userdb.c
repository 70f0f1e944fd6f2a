/* The Flexisip userdb parser, and lookups of everything it accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/userdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct userdb *db = userdb_parse((const char *)data, size, "fuzz", err, sizeof(err));

	if (!db) {
		if (strncmp(err, "fuzz", 4) != 0)
			abort(); /* every error names the file */
		return 0;
	}
	for (size_t i = 0; i < db->n; i++) {
		const struct userdb_entry *e = &db->e[i];
		if (userdb_find(db, slice_cstr(e->user), slice_cstr(e->domain)) != e)
			abort();
		if (e->off + e->len > size)
			abort();
	}
	userdb_free(db);
	return 0;
}
