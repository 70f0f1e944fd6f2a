/* A growing output buffer with a ceiling: appends past it (or past memory)
 * set a sticky failure flag instead of failing one by one. */
#ifndef PBX_DBUF_H
#define PBX_DBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

struct dbuf {
	char *p;
	size_t n, cap, max;
	bool failed;
};

static inline void
dbuf_init(struct dbuf *b, size_t max)
{
	b->p = NULL;
	b->n = b->cap = 0;
	b->max = max;
	b->failed = false;
}

void dbuf_free(struct dbuf *b);
void dbuf_put(struct dbuf *b, struct slice s);
void dbuf_puts(struct dbuf *b, const char *s);
void dbuf_printf(struct dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
