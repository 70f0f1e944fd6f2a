#include "core/rand.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/rand.h>

#include "core/slice.h"

void
rand_bytes(void *buf, size_t n)
{
	if (n > 0 && RAND_bytes(buf, (int)n) != 1) {
		fprintf(stderr, "pbxguard: the system random generator failed\n");
		abort();
	}
}

void
rand_hex(char *dst, size_t nbytes)
{
	uint8_t tmp[64];

	while (nbytes > 0) {
		size_t k = nbytes < sizeof(tmp) ? nbytes : sizeof(tmp);
		rand_bytes(tmp, k);
		hex_encode(tmp, k, dst);
		dst += 2 * k;
		nbytes -= k;
	}
}
