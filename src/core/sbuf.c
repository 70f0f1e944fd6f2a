#include "core/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
sbuf_put(struct sbuf *b, struct slice s)
{
	if (b->overflow || s.n > b->cap - b->n) {
		b->overflow = true;
		return;
	}
	if (s.n)
		memcpy(b->p + b->n, s.p, s.n);
	b->n += s.n;
}

void
sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_put(b, slice_cstr(s));
}

void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= b->cap - b->n) {
		b->overflow = true;
		return;
	}
	b->n += (size_t)k;
}
