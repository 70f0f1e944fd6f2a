/*
 * Asterisk's configuration syntax, for the files an Asterisk administrator
 * already has (manager.conf now, iax.conf later): [section] headers,
 * "key = value" or "key => value", ';' comments ("\;" is a literal ';'),
 * templates "[name](!)" and inheritance "[name](tmpl1,tmpl2)" (the
 * templates' keys come first, so the section's own lines add to them).
 * #include and #exec are refused with a clear error rather than ignored:
 * a file that silently loses half its users is worse than one that stops.
 */
#ifndef PBX_ASTCONF_H
#define PBX_ASTCONF_H

#include <stdbool.h>
#include <stddef.h>

#define ASTCONF_MAX_NAME 80
#define ASTCONF_MAX_LINE 4096

struct astconf_var {
	char *key, *val;
	unsigned line;
};

struct astconf_section {
	char name[ASTCONF_MAX_NAME];
	bool is_template;
	unsigned line;
	struct astconf_var *vars;
	size_t n;
};

struct astconf {
	struct astconf_section *s;
	size_t n;
};

/* All or nothing: on error *out is left empty and err says file:line: why. */
bool astconf_parse(const char *text, size_t len, const char *fname, struct astconf *out,
    char *err, size_t errsz);
void astconf_free(struct astconf *c);

/*
 * A credentials file in Asterisk's syntax, read whole for its loader: 1 when
 * it does not exist (no users: not an error), 0 with *data (the caller wipes
 * and frees it), -1 with err. loose gets the warning to give when others may
 * read the file, or "".
 */
int astconf_read_secrets(const char *path, size_t maxsz, char **data, size_t *n, char *loose,
    size_t loosesz, char *err, size_t errsz);

/*
 * A whole file read and parsed (at most maxsz bytes; the text is wiped
 * after). 1: no such file (*out empty), 0: parsed, -1: err says why.
 */
int astconf_load(const char *path, size_t maxsz, struct astconf *out, char *err, size_t errsz);
/* The last line of key in s (a later line wins, as in Asterisk), or NULL. */
const struct astconf_var *astconf_var(const struct astconf_section *s, const char *key);
/*
 * One raw "key = value ; comment" (or "key => value") line, as written: the
 * key's span [*k0, *k1) and the value's [*v0, *v1), without its comment and
 * trailing blanks, a "\;" inside it kept as written. False when the line is
 * not a key and a value (a header, a comment, a #directive).
 */
bool astconf_line_spans(const char *l, size_t n, size_t *k0, size_t *k1, size_t *v0,
    size_t *v1);

/* Asterisk's ast_true / ast_false: 1, 0, or -1 for neither. */
int astconf_yes_no(const char *v);
/* A permit/deny line (CIDR or Asterisk's ADDR/NETMASK) appended to g;
 * where ("file:line: [name]") prefixes the error. */
struct acl_group;
bool astconf_add_rule(struct acl_group *g, bool permit, const char *v, const char *where,
    char *err, size_t errsz);

#endif
