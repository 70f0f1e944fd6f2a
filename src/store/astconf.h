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

/* Asterisk's ast_true / ast_false: 1, 0, or -1 for neither. */
int astconf_yes_no(const char *v);
/* A permit/deny line (CIDR or Asterisk's ADDR/NETMASK) appended to g;
 * where ("file:line: [name]") prefixes the error. */
struct acl_group;
bool astconf_add_rule(struct acl_group *g, bool permit, const char *v, const char *where,
    char *err, size_t errsz);

#endif
