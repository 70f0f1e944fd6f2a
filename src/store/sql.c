/* The engine-independent parts of the SQL store: see sql.h. */
#include "store/sql.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/sbuf.h"

static const char *const param_names[SQL_NPARAMS] = { "id", "domain", "authid" };

const struct sql_driver *
sql_driver_find(const char *backend)
{
	const struct sql_driver *all[] = { &sql_driver_postgresql, &sql_driver_mysql,
		&sql_driver_sqlite3 };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, backend) == 0)
			return all[i];
	return NULL;
}

static bool
ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool
ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void
put_char(struct sbuf *b, char c)
{
	sbuf_put(b, (struct slice){ &c, 1 });
}

/* Copies a quoted run ('...', "...", `...`) from s[i]; the index after it, or
 * 0 when it never closes. A doubled quote stays inside the run, and so does
 * a backslashed one (MySQL reads \' as a quote). */
static size_t
copy_quoted(const char *s, size_t i, struct sbuf *b)
{
	char q = s[i];
	put_char(b, s[i++]);
	for (;;) {
		if (!s[i])
			return 0;
		if (s[i] == '\\' && q != '`' && s[i + 1]) {
			put_char(b, s[i++]);
			put_char(b, s[i++]);
			continue;
		}
		if (s[i] == q) {
			put_char(b, s[i++]);
			if (s[i] != q)
				return i;
		}
		put_char(b, s[i++]);
	}
}

/* Copies a comment from s[i] (-- to the end of the line, or slash-star to
 * star-slash); the index after it, 0 when a block comment never closes. */
static size_t
copy_comment(const char *s, size_t i, struct sbuf *b)
{
	bool block = s[i] == '/';
	while (s[i]) {
		if (!block && s[i] == '\n')
			return i;
		if (block && s[i] == '*' && s[i + 1] == '/') {
			sbuf_puts(b, "*/");
			return i + 2;
		}
		put_char(b, s[i++]);
	}
	return block ? 0 : i;
}

/* Writes parameter p in the engine's style: a new bind the first time (every
 * time with '?', which cannot repeat a number). */
static bool
placeholder(struct sql_query *q, struct sbuf *b, enum sql_style style, int *number, int *next,
    enum sql_param p, const char *key, char *err, size_t errsz)
{
	if (style == SQL_STYLE_QMARK || !number[p]) {
		if (q->nbinds == SQL_MAX_BINDS) {
			snprintf(err, errsz, "%s: more than %d placeholders", key, SQL_MAX_BINDS);
			return false;
		}
		q->binds[q->nbinds++] = p;
		if (style != SQL_STYLE_QMARK)
			number[p] = (*next)++;
	}
	q->uses[p] = true;
	if (style == SQL_STYLE_QMARK)
		put_char(b, '?');
	else
		sbuf_printf(b, "%c%d", style == SQL_STYLE_DOLLAR ? '$' : '?', number[p]);
	return true;
}

int
sql_compile(const char *request, enum sql_style style, const char *key, struct sql_query *q,
    char *err, size_t errsz)
{
	int number[SQL_NPARAMS] = { 0, 0, 0 }, next = 1;
	struct sbuf b;
	size_t i = 0;

	memset(q, 0, sizeof(*q));
	sbuf_init(&b, q->text, sizeof(q->text) - 1);
	while (request[i]) {
		char c = request[i], d = request[i + 1];
		if (c == '\'' || c == '"' || c == '`') {
			if (!(i = copy_quoted(request, i, &b))) {
				snprintf(err, errsz, "%s: a quote is never closed", key);
				return -1;
			}
			continue;
		}
		if ((c == '-' && d == '-') || (c == '/' && d == '*')) {
			if (!(i = copy_comment(request, i, &b))) {
				snprintf(err, errsz, "%s: a comment is never closed", key);
				return -1;
			}
			continue;
		}
		if (c == ';') {
			size_t j = i + 1;
			while (isspace((unsigned char)request[j]))
				j++;
			if (request[j]) {
				snprintf(err, errsz, "%s: one statement only (text after ';')", key);
				return -1;
			}
			break; /* a trailing ';' is dropped: the engines prepare one statement */
		}
		/* The engines' own placeholders would take values we never bind. */
		if (c == '?' || (c == '$' && (isdigit((unsigned char)d) || ident_start(d))) ||
		    (style == SQL_STYLE_QNUM && c == '@' && ident_start(d))) {
			snprintf(err, errsz, "%s: '%c' is a placeholder of the engine; name the "
			    "values :id, :domain or :authid", key, c);
			return -1;
		}
		if (c == '%' && d == 's') {
			/* Apache's mod_authn_dbd placeholder: the user name, our :id. */
			if (!placeholder(q, &b, style, number, &next, SQL_P_ID, key, err, errsz))
				return -1;
			i += 2;
			continue;
		}
		if (c == ':' && d == ':') {
			sbuf_puts(&b, "::"); /* PostgreSQL's cast */
			i += 2;
			continue;
		}
		if (c == ':' && ident_start(d)) {
			size_t j = i + 1;
			while (ident_char(request[j]))
				j++;
			size_t n = j - i - 1;
			int p = -1;
			for (int k = 0; k < SQL_NPARAMS; k++)
				if (strlen(param_names[k]) == n &&
				    strncasecmp(request + i + 1, param_names[k], n) == 0)
					p = k;
			if (p < 0) {
				snprintf(err, errsz, "%s: unknown placeholder :%.*s (Flexisip's are :id, "
				    ":domain, :authid)", key, (int)(n > 40 ? 40 : n), request + i + 1);
				return -1;
			}
			if (!placeholder(q, &b, style, number, &next, (enum sql_param)p, key, err,
			    errsz))
				return -1;
			i = j;
			continue;
		}
		put_char(&b, c);
		i++;
	}
	if (b.overflow) {
		snprintf(err, errsz, "%s: too long", key);
		return -1;
	}
	q->text[b.n] = '\0';
	if (!q->uses[SQL_P_ID]) {
		snprintf(err, errsz, "%s: must use :id (the user name; SIP's is the From "
		    "header's, as Flexisip requires)", key);
		return -1;
	}
	return 0;
}

int
sql_conninfo_next(const char **pos, char *key, size_t keysz, char *val, size_t valsz,
    char *err, size_t errsz)
{
	const char *s = *pos;
	size_t k = 0, v = 0;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s) {
		*pos = s;
		return 0;
	}
	while (*s && *s != '=' && !isspace((unsigned char)*s)) {
		if (k + 1 >= keysz)
			goto toolong;
		key[k++] = *s++;
	}
	key[k] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '=' || k == 0) {
		snprintf(err, errsz, "soci-connection-string: expected key=value near '%.20s'",
		    *pos);
		return -1;
	}
	s++;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\'') {
		for (s++;; s++) {
			if (!*s) {
				snprintf(err, errsz, "soci-connection-string: %s: a quote is never "
				    "closed", key);
				return -1;
			}
			if ((*s == '\\' && s[1]) || (*s == '\'' && s[1] == '\''))
				s++;
			else if (*s == '\'')
				break;
			if (v + 1 >= valsz)
				goto toolong;
			val[v++] = *s;
		}
		s++;
	} else {
		while (*s && !isspace((unsigned char)*s)) {
			if (v + 1 >= valsz)
				goto toolong;
			val[v++] = *s++;
		}
	}
	val[v] = '\0';
	*pos = s;
	return 1;
toolong:
	snprintf(err, errsz, "soci-connection-string: a key or value is too long");
	return -1;
}

/* A clear-text password or an htpasswd hash, whole: not empty, no NUL, fits. */
static bool
take_secret(const char *v, size_t n, char *dst, size_t dstsz, bool *has, const char **why)
{
	if (n == 0 || n >= dstsz || memchr(v, '\0', n)) {
		*why = n ? "the password is too long or holds a NUL" : "the password is empty";
		return false;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	*has = true;
	return true;
}

bool
sql_row_to_account(const char *pw, size_t npw, const char *algo, size_t nalgo,
    bool has_algo, struct account *a, const char **why)
{
	static const struct { const char *name; enum digest_algo a; } algos[] = {
		{ "MD5", DIGEST_MD5 }, { "SHA-256", DIGEST_SHA256 },
		{ "SHA-512-256", DIGEST_SHA512_256 },
	};

	if (!pw) {
		*why = "the password column is NULL";
		return false;
	}
	if (has_algo && !algo) {
		*why = "the algorithm column is NULL";
		return false;
	}
	if (!has_algo) {
		algo = "MD5"; /* Flexisip: a lone column is an MD5 A1 */
		nalgo = 3;
	}
	if (nalgo == 6 && strncasecmp(algo, "CLRTXT", 6) == 0)
		return take_secret(pw, npw, a->clrtxt, sizeof(a->clrtxt), &a->has_clrtxt, why);
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
		if (strlen(algos[i].name) != nalgo || strncasecmp(algo, algos[i].name, nalgo) != 0)
			continue;
		enum digest_algo d = algos[i].a;
		if (npw != digest_hex_len(d)) {
			*why = "the hash has the wrong length for its algorithm";
			return false;
		}
		for (size_t j = 0; j < npw; j++)
			if (!isxdigit((unsigned char)pw[j])) {
				*why = "the hash is not hexadecimal";
				return false;
			}
		for (size_t j = 0; j < npw; j++)
			a->ha1[d][j] = (char)tolower((unsigned char)pw[j]);
		a->ha1[d][npw] = '\0';
		a->has_ha1[d] = true;
		return true;
	}
	*why = "unknown algorithm (CLRTXT, MD5, SHA-256 or SHA-512-256)";
	return false;
}

bool
sql_row_attrs(const struct sql_row *r, int first, struct account *a, const char **why)
{
	struct sbuf b;

	sbuf_init(&b, a->attrs, sizeof(a->attrs) - 1);
	for (int i = first; i < r->ncols; i++) {
		const char *name = r->name[i], *v = r->val[i];
		if (!v)
			continue; /* NULL: the key is not set, as in Asterisk's realtime */
		size_t nn = name ? strlen(name) : 0;
		if (nn == 0 || nn > 40 || strpbrk(name, "=\r\n")) {
			*why = "a column has no usable name (name it: SELECT ... AS read)";
			return false;
		}
		if (memchr(v, '\0', r->len[i]) || memchr(v, '\n', r->len[i]) ||
		    memchr(v, '\r', r->len[i])) {
			*why = "a column's value holds a line break or a NUL";
			return false;
		}
		sbuf_printf(&b, "%s=%.*s\n", name, (int)r->len[i], v);
	}
	if (b.overflow) {
		*why = "the extra columns are too long together";
		a->attrs[0] = '\0';
		return false;
	}
	a->attrs[b.n] = '\0';
	return true;
}

bool
sql_row_hash(const struct sql_row *r, struct account *a, const char **why)
{
	const char *h = r->ncols > 0 ? r->val[0] : NULL;
	size_t n = h ? r->len[0] : 0;

	if (!h) {
		*why = "the password column is NULL";
		return false;
	}
	return take_secret(h, n, a->hash, sizeof(a->hash), &a->has_hash, why);
}
