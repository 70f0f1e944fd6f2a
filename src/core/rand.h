/* The one source of unpredictable bytes: OpenSSL's CSPRNG, fail-closed. */
#ifndef PBX_RAND_H
#define PBX_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf or aborts: running on without randomness would be worse. */
void rand_bytes(void *buf, size_t n);
/* n random bytes as 2n lowercase hex characters plus NUL. */
void rand_hex(char *dst, size_t nbytes);

#endif
