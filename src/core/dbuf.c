#include "core/dbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
dbuf_free(struct dbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

static bool
reserve(struct dbuf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->n > b->max || more > b->max - b->n) {
		b->failed = true;
		return false;
	}
	if (b->n + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void
dbuf_put(struct dbuf *b, struct slice s)
{
	if (!reserve(b, s.n))
		return;
	if (s.n)
		memcpy(b->p + b->n, s.p, s.n);
	b->n += s.n;
	b->p[b->n] = '\0';
}

void
dbuf_puts(struct dbuf *b, const char *s)
{
	dbuf_put(b, slice_cstr(s));
}

void
dbuf_printf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int k = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (k < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)k < sizeof(small)) {
		dbuf_put(b, (struct slice){ small, (size_t)k });
		return;
	}
	if (!reserve(b, (size_t)k))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}
