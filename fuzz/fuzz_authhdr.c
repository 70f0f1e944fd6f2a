/* Authorization / Proxy-Authorization Digest credentials. */
#include <stdint.h>
#include <stdlib.h>

#include "sip/authhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char scratch[4096];
	struct guard_proof p;
	const char *why;
	size_t used = 0;

	if (sip_authhdr_parse((struct slice){ (const char *)data, size }, &p, scratch,
	    sizeof(scratch), &used, &why)) {
		/* Every field found must lie in the input or in the scratch space. */
		const struct slice *f = &p.username;
		for (size_t i = 0; i < sizeof(p) / sizeof(*f); i++) {
			if (!f[i].p || f[i].n == 0)
				continue;
			const char *s = f[i].p;
			int in_data = s >= (const char *)data && s + f[i].n <= (const char *)data + size;
			int in_scratch = s >= scratch && s + f[i].n <= scratch + used;
			if (!in_data && !in_scratch)
				abort();
		}
	}
	if (used > sizeof(scratch))
		abort();
	return 0;
}
