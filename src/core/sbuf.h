/* A bounded output buffer: appends never overrun, overflow is sticky. */
#ifndef PBX_SBUF_H
#define PBX_SBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

struct sbuf {
	char *p;
	size_t n, cap;
	bool overflow;
};

static inline void
sbuf_init(struct sbuf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->n = 0;
	b->cap = cap;
	b->overflow = false;
}

void sbuf_put(struct sbuf *b, struct slice s);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
