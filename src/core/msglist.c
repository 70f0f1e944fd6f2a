#include "core/msglist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
msglist_vaddf(char ***list, size_t *n, const char *fmt, va_list ap)
{
	char buf[768];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	char *m = strdup(buf);
	char **nl = m ? realloc(*list, (*n + 1) * sizeof(*nl)) : NULL;
	if (!nl) {
		free(m);
		return;
	}
	*list = nl;
	nl[(*n)++] = m;
}

void
msglist_addf(char ***list, size_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msglist_vaddf(list, n, fmt, ap);
	va_end(ap);
}

void
msglist_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
