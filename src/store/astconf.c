#include "store/astconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/stat.h>

#include "core/atomicfile.h"
#include "core/config.h"
#include "core/slice.h"

struct parser {
	struct astconf *c;
	const char *fname;
	unsigned line;
	bool in_block;		/* inside a ;-- ... --; comment */
	char *err;
	size_t errsz;
};

static bool __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	char buf[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errsz, "%s:%u: %s", p->fname, p->line, buf);
	return false;
}

/* The line without its comment, with "\;" made ';'. dst holds n+1 bytes. */
static struct slice
uncomment(struct parser *p, struct slice line, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < line.n; i++) {
		char ch = line.p[i];
		if (p->in_block) {
			if (ch == '-' && i + 2 < line.n + 0 && line.p[i + 1] == '-' &&
			    line.p[i + 2] == ';') {
				p->in_block = false;
				i += 2;
			}
			continue;
		}
		if (ch == '\\' && i + 1 < line.n && line.p[i + 1] == ';') {
			dst[o++] = ';';
			i++;
			continue;
		}
		if (ch == ';') {
			if (i + 2 < line.n && line.p[i + 1] == '-' && line.p[i + 2] == '-') {
				p->in_block = true;
				i += 2;
				continue;
			}
			break;
		}
		dst[o++] = ch;
	}
	dst[o] = '\0';
	return slice_trim((struct slice){ dst, o });
}

static struct astconf_section *
find_section(struct astconf *c, struct slice name)
{
	for (size_t i = 0; i < c->n; i++)
		if (slice_eq_cstr(name, c->s[i].name))
			return &c->s[i];
	return NULL;
}

static bool
add_var(struct parser *p, struct astconf_section *s, struct slice k, struct slice v,
    unsigned line)
{
	struct astconf_var *nv = realloc(s->vars, (s->n + 1) * sizeof(*nv));
	if (!nv)
		return fail(p, "out of memory");
	s->vars = nv;
	nv[s->n].key = slice_dup(k);
	nv[s->n].val = slice_dup(v);
	nv[s->n].line = line;
	if (!nv[s->n].key || !nv[s->n].val) {
		free(nv[s->n].key);
		free(nv[s->n].val);
		return fail(p, "out of memory");
	}
	s->n++;
	return true;
}

/* "[name]" or "[name](!)" or "[name](tmpl,...)"; t is trimmed and starts with '['. */
static bool
section_line(struct parser *p, struct slice t)
{
	struct astconf *c = p->c;
	long close = slice_find(t, ']');
	if (close < 0)
		return fail(p, "section name without ']'");
	struct slice name = slice_trim(slice_sub(t, 1, (size_t)close - 1));
	struct slice opts = slice_trim(slice_sub(t, (size_t)close + 1, t.n - (size_t)close - 1));
	if (name.n == 0 || name.n >= ASTCONF_MAX_NAME)
		return fail(p, "a section name is 1 to %d characters", ASTCONF_MAX_NAME - 1);
	if (find_section(c, name))
		return fail(p, "[%.*s] appears twice", (int)name.n, name.p);
	if (opts.n && (opts.p[0] != '(' || opts.p[opts.n - 1] != ')'))
		return fail(p, "after [%.*s] only (!) or (template,...) may follow", (int)name.n,
		    name.p);
	struct astconf_section *ns = realloc(c->s, (c->n + 1) * sizeof(*ns));
	if (!ns)
		return fail(p, "out of memory");
	c->s = ns;
	struct astconf_section *s = &c->s[c->n++];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, name.p, name.n);
	s->line = p->line;
	if (opts.n == 0)
		return true;
	struct slice list = slice_sub(opts, 1, opts.n - 2), rest;
	while (list.n) {
		struct slice o = slice_trim(slice_cut(list, ',', &rest));
		list = rest;
		if (slice_eq_cstr(o, "!")) {
			s->is_template = true;
			continue;
		}
		if (slice_eq_cstr(o, "+"))
			return fail(p, "[%s](+): adding to an earlier section is not supported; "
			    "merge the two", s->name);
		const struct astconf_section *tp = o.n ? find_section(c, o) : NULL;
		if (!tp || tp == s)
			return fail(p, "[%s]: no earlier template named '%.*s'", s->name, (int)o.n,
			    o.p);
		/* Only s->vars grows here, so tp stays where it is. */
		for (size_t i = 0; i < tp->n; i++)
			if (!add_var(p, s, slice_cstr(tp->vars[i].key), slice_cstr(tp->vars[i].val),
			    tp->vars[i].line))
				return false;
	}
	return true;
}

static bool
parse_line(struct parser *p, struct slice line)
{
	char buf[ASTCONF_MAX_LINE + 1];

	if (line.n > ASTCONF_MAX_LINE)
		return fail(p, "line longer than %d characters", ASTCONF_MAX_LINE);
	struct slice t = uncomment(p, line, buf);
	if (t.n == 0)
		return true;
	if (t.p[0] == '#')
		return fail(p, "%.*s: not supported here; put the lines in this file", (int)t.n,
		    t.p);
	if (t.p[0] == '[')
		return section_line(p, t);
	long eq = slice_find(t, '=');
	if (eq <= 0)
		return fail(p, "expected [section] or key = value");
	struct slice k = slice_trim(slice_sub(t, 0, (size_t)eq));
	struct slice v = slice_sub(t, (size_t)eq + 1, t.n - (size_t)eq - 1);
	if (v.n && v.p[0] == '>')
		v = slice_sub(v, 1, v.n - 1);
	if (p->c->n == 0)
		return fail(p, "'%.*s' before any [section]", (int)k.n, k.p);
	return add_var(p, &p->c->s[p->c->n - 1], k, slice_trim(v), p->line);
}

bool
astconf_parse(const char *text, size_t len, const char *fname, struct astconf *out,
    char *err, size_t errsz)
{
	struct astconf c = { 0 };
	struct parser p = { &c, fname, 0, false, err, errsz };
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		struct slice line = { text + i, j - i };
		if (line.n && line.p[line.n - 1] == '\r')
			line.n--;
		p.line++;
		if (memchr(line.p, '\0', line.n)) {
			fail(&p, "a NUL byte: this is not a text file");
			goto bad;
		}
		if (!parse_line(&p, line))
			goto bad;
		i = j + 1;
	}
	*out = c;
	return true;
bad:
	astconf_free(&c);
	return false;
}

void
astconf_free(struct astconf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		for (size_t j = 0; j < c->s[i].n; j++) {
			free(c->s[i].vars[j].key);
			free(c->s[i].vars[j].val);
		}
		free(c->s[i].vars);
	}
	free(c->s);
	memset(c, 0, sizeof(*c));
}

int
astconf_yes_no(const char *v)
{
	static const char *const yes[] = { "yes", "true", "y", "t", "1", "on", NULL };
	static const char *const no[] = { "no", "false", "n", "f", "0", "off", NULL };
	for (int i = 0; yes[i]; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

bool
astconf_add_rule(struct acl_group *g, bool permit, const char *v, const char *where, char *err,
    size_t errsz)
{
	struct acl_rule r = { .permit = permit };
	const char *why;

	if (!cidr_parse_masked(slice_cstr(v), &r.net, &why)) {
		snprintf(err, errsz, "%s: %s = %s: %s", where, permit ? "permit" : "deny", v, why);
		return false;
	}
	struct acl_rule *nr = realloc(g->rules, (g->n + 1) * sizeof(*nr));
	if (!nr) {
		snprintf(err, errsz, "%s: out of memory", where);
		return false;
	}
	g->rules = nr;
	g->rules[g->n++] = r;
	return true;
}

int
astconf_read_secrets(const char *path, size_t maxsz, char **data, size_t *n, char *loose,
    size_t loosesz, char *err, size_t errsz)
{
	struct stat st;

	loose[0] = '\0';
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 1;
	if (file_read_all(path, maxsz, data, n, err, errsz) < 0)
		return -1;
	if (st.st_mode & 077)
		snprintf(loose, loosesz, "%s holds secrets and is readable by others (mode %03o): "
		    "chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
	return 0;
}

int
astconf_load(const char *path, size_t maxsz, struct astconf *out, char *err, size_t errsz)
{
	char *data = NULL;
	size_t n = 0;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 1;
	if (file_read_all(path, maxsz, &data, &n, err, errsz) < 0)
		return -1;
	bool ok = astconf_parse(data, n, path, out, err, errsz);
	explicit_bzero(data, n);
	free(data);
	return ok ? 0 : -1;
}

const struct astconf_var *
astconf_var(const struct astconf_section *s, const char *key)
{
	const struct astconf_var *v = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(s->vars[i].key, key) == 0)
			v = &s->vars[i];
	return v;
}

bool
astconf_line_spans(const char *l, size_t n, size_t *k0, size_t *k1, size_t *v0, size_t *v1)
{
	size_t i = 0;

	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	*k0 = i;
	while (i < n && l[i] != '=' && l[i] != ' ' && l[i] != '\t' && l[i] != ';')
		i++;
	*k1 = i;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (*k1 == *k0 || i == n || l[i] != '=' || l[*k0] == '[' || l[*k0] == '#')
		return false;
	i++;
	if (i < n && l[i] == '>')
		i++;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	size_t e = i;
	while (e < n && l[e] != ';')
		e += l[e] == '\\' && e + 1 < n ? 2 : 1;
	while (e > i && (l[e - 1] == ' ' || l[e - 1] == '\t'))
		e--;
	*v0 = i;
	*v1 = e;
	return true;
}
