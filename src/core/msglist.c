#include "core/msglist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

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

void
msglist_log(const char *prefix, char *const *list, size_t n)
{
	char esc[LOG_ESCAPED_SIZE(512)];

	for (size_t i = 0; i < n; i++)
		log_warn("%s: %s", prefix, log_escape(slice_cstr(list[i]), esc, sizeof(esc)));
}
