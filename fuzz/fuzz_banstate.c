/* The ban state file parser, then a save and reload of what it accepted:
 * whatever was read must come back identical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "guard/bans.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static bool init;
	char err[512];
	size_t n1, n2;
	const time_t now = 1700000000;

	if (!init) {
		config_defaults(&cfg);
		cfg.max_tracked = 64;
		init = true;
	}
	struct bans *a = bans_new(&cfg), *b = bans_new(&cfg);
	if (!a || !b)
		abort();
	size_t bad = bans_load_text(a, (const char *)data, size, "fuzz", now, err, sizeof(err));
	if (bad && strncmp(err, "fuzz:", 5) != 0)
		abort(); /* every error names the file and line */
	char *t1 = bans_serialize(a, now, &n1);
	if (!t1 || bans_load_text(b, t1, n1, "again", now, err, sizeof(err)) != 0)
		abort(); /* what we write, we read */
	char *t2 = bans_serialize(b, now, &n2);
	if (!t2 || n1 != n2)
		abort();
	free(t1);
	free(t2);
	bans_free(a);
	bans_free(b);
	return 0;
}
