/*
 * Inside the configuration reader: the parse state and the value parsers
 * that config.c and config_hard.c share. Not for the rest of pbxguard.
 */
#ifndef PBX_CONFIG_INT_H
#define PBX_CONFIG_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "core/slice.h"

struct cfg_ctx {
	struct config *c;
	struct config_errors *errs;
	const char *fname;
	unsigned line;
	bool line_too_long;
	FILE *f;
	const char *mem;	/* embedded text instead of f */
	size_t mempos;
	bool agents_set;	/* scanner-user-agents given, even empty */
	bool manager_seen;	/* a [manager] key was read */
	bool http_seen;
	bool iax2_seen;
	bool allowed_set;	/* [firewall] allowed-hosts given, even empty */
	enum watch_kind watch_kind;	/* [watch]: the key being read */
};

void cfg_error(struct cfg_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cfg_warning(struct cfg_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool cfg_bool(struct cfg_ctx *x, const char *key, const char *v, bool *out);
bool cfg_uint(struct cfg_ctx *x, const char *key, const char *v, unsigned min, unsigned max,
    unsigned *out);
bool cfg_str(struct cfg_ctx *x, const char *key, const char *v, char *dst, size_t dstsz);
void cfg_duration(struct cfg_ctx *x, const char *key, const char *v, unsigned min,
    unsigned *out);
/* fn for each word of v (separated by spaces, tabs or commas). */
void cfg_words(struct cfg_ctx *x, const char *v, void (*fn)(struct cfg_ctx *, struct slice));
/* A statedir-relative default: dst = statedir/name when dst is empty. */
void cfg_state_path(struct cfg_ctx *x, char *dst, size_t dstsz, const char *name);

/* config_hard.c: [password-policy], [voicemail-policy], [firewall], [watch]. */
void cfg_hard_defaults(struct config *c);
/* False when section is none of them. */
bool cfg_hard_set(struct cfg_ctx *x, const char *section, const char *k, const char *v);
void cfg_hard_finish(struct cfg_ctx *x);

#endif
