#include "core/prom.h"

void
prom_family(struct dbuf *b, const char *name, const char *type, const char *help)
{
	/* HELP text escapes only backslash and newline; ours are literals. */
	dbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
prom_sample(struct dbuf *b, const char *name, const char *const *labels, double v)
{
	dbuf_puts(b, name);
	for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		dbuf_printf(b, "%s%s=\"", i ? "," : "{", labels[i]);
		for (const char *p = labels[i + 1]; *p; p++) {
			if (*p == '\\' || *p == '"')
				dbuf_printf(b, "\\%c", *p);
			else if (*p == '\n')
				dbuf_puts(b, "\\n");
			else
				dbuf_put(b, (struct slice){ p, 1 });
		}
		dbuf_puts(b, "\"");
		if (!labels[i + 2])
			dbuf_puts(b, "}");
	}
	if (v == (double)(int64_t)v)
		dbuf_printf(b, " %lld\n", (long long)v);
	else
		dbuf_printf(b, " %.6g\n", v);
}
