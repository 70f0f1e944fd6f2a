/* Prometheus text exposition format (version 0.0.4), onto a dbuf. */
#ifndef PBX_PROM_H
#define PBX_PROM_H

#include <stdint.h>

#include "core/dbuf.h"

/* "# HELP" and "# TYPE" lines; type is "counter" or "gauge". */
void prom_family(struct dbuf *b, const char *name, const char *type, const char *help);
/*
 * One sample. labels: NULL, or name, value, name, value..., NULL; the
 * values are escaped (backslash, quote, newline) as the format wants.
 */
void prom_sample(struct dbuf *b, const char *name, const char *const *labels, double v);

#endif
