#include "store/userdb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/rand.h"
#include "core/sbuf.h"
#include "store/store.h"

/* Names as Flexisip writes them; index = enum digest_algo. */
static const char *const algo_names[DIGEST_NALGOS] = { "md5", "sha256", "sha512-256" };

struct parser {
	const char *fname;
	char *err;
	size_t errsz;
	unsigned line;
	const char *linestart;
};

static void
fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errsz, "%s:%u:%ld: %s", ps->fname, ps->line,
	    at ? (long)(at - ps->linestart) + 1 : 1L, msg);
}

/* %XX-decodes s into a fresh string; NULL with *bad set on a bad escape. */
static char *
unescape(struct slice s, const char **bad)
{
	char *out = malloc(s.n + 1);

	if (!out) {
		*bad = s.p;
		return NULL;
	}
	if (!slice_pct_decode(s, out, s.n + 1, bad)) {
		free(out);
		return NULL;
	}
	return out;
}

static void
entry_free(struct userdb_entry *e)
{
	free(e->user);
	free(e->domain);
	free(e->userid);
	free(e->phone);
	if (e->clrtxt) {
		OPENSSL_cleanse(e->clrtxt, strlen(e->clrtxt));
		free(e->clrtxt);
	}
	OPENSSL_cleanse(e->ha1, sizeof(e->ha1));
}

void
userdb_free(struct userdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++)
		entry_free(&db->e[i]);
	free(db->e);
	free(db->index);
	free(db);
}

static uint64_t
key_hash(uint64_t seed, struct slice user, struct slice domain)
{
	uint64_t h = slice_hash(SLICE_HASH_INIT(seed), user, false);
	h = slice_hash(h, SLICE_LIT("@"), false);
	return slice_hash_final(slice_hash(h, domain, true)); /* domains fold case */
}

static bool
entry_matches(const struct userdb_entry *e, struct slice user, struct slice domain)
{
	return slice_eq(slice_cstr(e->user), user) && slice_caseeq(slice_cstr(e->domain), domain);
}

const struct userdb_entry *
userdb_find(const struct userdb *db, struct slice user, struct slice domain)
{
	size_t mask = db->nindex - 1;
	size_t i = (size_t)key_hash(db->seed, user, domain) & mask;

	for (;; i = (i + 1) & mask) {
		size_t k = db->index[i];
		if (k == 0)
			return NULL;
		if (entry_matches(&db->e[k - 1], user, domain))
			return &db->e[k - 1];
	}
}

/* Builds the index; false (with *dup set) if an identity appears twice. */
static bool
build_index(struct userdb *db, const struct userdb_entry **dup)
{
	size_t n = 16;
	while (n < db->n * 2)
		n <<= 1;
	db->index = calloc(n, sizeof(*db->index));
	if (!db->index)
		return false;
	db->nindex = n;
	for (size_t k = 0; k < db->n; k++) {
		struct slice u = slice_cstr(db->e[k].user), d = slice_cstr(db->e[k].domain);
		size_t i = (size_t)key_hash(db->seed, u, d) & (n - 1);
		for (; db->index[i]; i = (i + 1) & (n - 1)) {
			if (entry_matches(&db->e[db->index[i] - 1], u, d)) {
				*dup = &db->e[k];
				return false;
			}
		}
		db->index[i] = k + 1;
	}
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Next space-separated token of *s, advancing it; empty at the end. */
static struct slice
next_token(struct slice *s)
{
	size_t i = 0, j;
	while (i < s->n && is_space(s->p[i]))
		i++;
	j = i;
	while (j < s->n && !is_space(s->p[j]))
		j++;
	struct slice tok = slice_sub(*s, i, j - i);
	*s = slice_sub(*s, j, s->n);
	return tok;
}

static bool
parse_entry(struct parser *ps, struct slice line, struct userdb_entry *e)
{
	struct slice rest, creds, tail, tok;
	const char *bad = NULL;
	long semi = slice_find(line, ';');

	if (semi < 0) {
		fail(ps, line.p + line.n, "missing ';' after the passwords");
		return false;
	}
	creds = slice_sub(line, 0, (size_t)semi);
	tail = slice_sub(line, (size_t)semi + 1, line.n);

	rest = creds;
	tok = next_token(&rest);
	long at = -1;
	for (size_t i = 0; i < tok.n; i++)
		if (tok.p[i] == '@')
			at = (long)i;
	if (at <= 0 || (size_t)at + 1 >= tok.n) {
		fail(ps, tok.p, "expected user@domain");
		return false;
	}
	if (!(e->user = unescape(slice_sub(tok, 0, (size_t)at), &bad)) ||
	    !(e->domain = unescape(slice_sub(tok, (size_t)at + 1, tok.n), &bad))) {
		fail(ps, bad, "bad %%-escape in the identity");
		return false;
	}
	if (!userdb_valid_identity(slice_cstr(e->user), slice_cstr(e->domain))) {
		fail(ps, tok.p, "invalid identity");
		return false;
	}

	bool any = false;
	while ((tok = next_token(&rest)).n > 0) {
		struct slice val, name = slice_cut(tok, ':', &val);
		if (name.n == tok.n) {
			fail(ps, tok.p, "expected ALGORITHM:VALUE, got no ':'");
			return false;
		}
		if (slice_eq_cstr(name, "clrtxt")) {
			if (e->clrtxt) {
				fail(ps, tok.p, "clrtxt given twice");
				return false;
			}
			if (!(e->clrtxt = unescape(val, &bad))) {
				fail(ps, bad, "bad %%-escape in the password");
				return false;
			}
			if (strlen(e->clrtxt) >= ACCOUNT_SECRET_MAX) {
				fail(ps, val.p, "password longer than %d bytes",
				    ACCOUNT_SECRET_MAX - 1);
				return false;
			}
			any = true;
			continue;
		}
		if (slice_eq_cstr(name, "acl")) {
			if (e->acl[0]) {
				fail(ps, tok.p, "acl given twice");
				return false;
			}
			if (!val.n || !slice_copy(val, e->acl, sizeof(e->acl)) ||
			    slice_find(val, '%') >= 0) {
				fail(ps, val.p, "acl: a group name of 1 to %zu characters",
				    sizeof(e->acl) - 1);
				return false;
			}
			continue;
		}
		int a = -1;
		for (int k = 0; k < DIGEST_NALGOS; k++)
			if (slice_eq_cstr(name, algo_names[k]))
				a = k;
		if (a < 0) {
			fail(ps, tok.p, "unknown algorithm '%.*s' (expected clrtxt, md5, sha256, "
			    "sha512-256 or acl)", (int)(name.n > 32 ? 32 : name.n), name.p);
			return false;
		}
		if (e->has[a]) {
			fail(ps, tok.p, "%s given twice", algo_names[a]);
			return false;
		}
		size_t want = digest_hex_len((enum digest_algo)a);
		if (val.n != want || !slice_is_hex(val)) {
			fail(ps, val.p, "%s needs %zu hex digits", algo_names[a], want);
			return false;
		}
		for (size_t i = 0; i < val.n; i++)
			e->ha1[a][i] = (char)(val.p[i] | 0x20);
		e->ha1[a][val.n] = '\0';
		e->has[a] = true;
		any = true;
	}
	if (!any) {
		fail(ps, line.p + semi, "no password before ';'");
		return false;
	}

	rest = tail;
	if ((tok = next_token(&rest)).n > 0) {
		if (!(e->userid = unescape(tok, &bad)) || strlen(e->userid) >= ACCOUNT_USERID_MAX ||
		    !*e->userid) {
			fail(ps, bad ? bad : tok.p, "bad auth user id");
			return false;
		}
		if ((tok = next_token(&rest)).n > 0) {
			if (!(e->phone = slice_dup(tok))) {
				fail(ps, tok.p, "out of memory");
				return false;
			}
			if ((tok = next_token(&rest)).n > 0) {
				fail(ps, tok.p, "unexpected text after the phone number");
				return false;
			}
		}
	}
	return true;
}

struct userdb *
userdb_parse(const char *data, size_t n, const char *fname, char *err, size_t errsz)
{
	struct parser ps = { fname, err, errsz, 0, data };
	struct userdb *db = calloc(1, sizeof(*db));
	const struct userdb_entry *dup = NULL;
	bool have_version = false;
	size_t pos = 0;

	if (!db) {
		snprintf(err, errsz, "%s: out of memory", fname);
		return NULL;
	}
	rand_bytes(&db->seed, sizeof(db->seed));
	if (n > USERDB_MAX_SIZE) {
		snprintf(err, errsz, "%s: larger than %u bytes", fname, USERDB_MAX_SIZE);
		goto bad;
	}
	if (n >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) /* editors add BOMs */
		pos = 3;
	while (pos < n) {
		const char *nl = memchr(data + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - data) : n;
		struct slice raw = { data + pos, end - pos };

		ps.line++;
		ps.linestart = raw.p;
		if (raw.n > USERDB_MAX_LINE) {
			fail(&ps, raw.p + USERDB_MAX_LINE, "line longer than %d bytes",
			    USERDB_MAX_LINE);
			goto bad;
		}
		if (memchr(raw.p, '\0', raw.n)) {
			fail(&ps, memchr(raw.p, '\0', raw.n), "NUL byte");
			goto bad;
		}
		struct slice line = raw;
		if (line.n && line.p[line.n - 1] == '\r')
			line.n--;
		struct slice t = slice_trim(line);
		pos = end + 1;
		if (t.n == 0 || t.p[0] == '#')
			continue;
		if (!have_version) {
			if (!slice_startswith_case(t, "version:")) {
				fail(&ps, t.p, "expected 'version:1' as the first line");
				goto bad;
			}
			if (!slice_eq_cstr(slice_sub(t, 8, t.n), "1")) {
				fail(&ps, t.p + 8, "unsupported userdb version (only 1 is known)");
				goto bad;
			}
			have_version = true;
			continue;
		}
		if (db->n == db->cap) {
			size_t cap = db->cap ? db->cap * 2 : 64;
			struct userdb_entry *ne = realloc(db->e, cap * sizeof(*ne));
			if (!ne) {
				fail(&ps, NULL, "out of memory");
				goto bad;
			}
			db->e = ne;
			db->cap = cap;
		}
		struct userdb_entry *e = &db->e[db->n];
		memset(e, 0, sizeof(*e));
		e->off = (size_t)(raw.p - data);
		e->len = line.n;
		e->line = ps.line;
		db->n++; /* counted first so a failure frees what it allocated */
		if (!parse_entry(&ps, line, e))
			goto bad;
	}
	if (!have_version) {
		snprintf(err, errsz, "%s:1:1: missing 'version:1' header", fname);
		goto bad;
	}
	if (!build_index(db, &dup)) {
		if (dup)
			snprintf(err, errsz, "%s:%u:1: %s@%s appears twice", fname, dup->line,
			    dup->user, dup->domain);
		else
			snprintf(err, errsz, "%s: out of memory", fname);
		goto bad;
	}
	return db;
bad:
	userdb_free(db);
	return NULL;
}

bool
userdb_valid_identity(struct slice user, struct slice domain)
{
	if (user.n == 0 || user.n >= 128 || domain.n == 0 || domain.n >= 256)
		return false;
	for (size_t i = 0; i < domain.n; i++) {
		char c = domain.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == ':' ||
		    c == '[' || c == ']'))
			return false;
	}
	for (size_t i = 0; i < user.n; i++)
		if ((unsigned char)user.p[i] < 0x20 || user.p[i] == 0x7f)
			return false;
	return true;
}

bool
userdb_escape(struct slice s, bool is_user, char *dst, size_t dstsz)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		bool plain = c > 0x20 && c < 0x7f && c != '%' && c != ';' && c != '#' &&
		    !(is_user && c == '@');
		if (o + (plain ? 1 : 3) + 1 > dstsz)
			return false;
		if (plain) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '%';
			dst[o++] = hx[c >> 4];
			dst[o++] = hx[c & 15];
		}
	}
	if (o + 1 > dstsz)
		return false;
	dst[o] = '\0';
	return true;
}

bool
userdb_format_line(struct slice user, struct slice domain, struct slice password,
    bool clrtxt, const char *userid, const char *acl, char *dst, size_t dstsz)
{
	char eu[512], ed[512], ep[3 * ACCOUNT_SECRET_MAX + 1], eid[3 * ACCOUNT_USERID_MAX + 1];
	struct sbuf b;
	bool ok;

	if (!userdb_escape(user, true, eu, sizeof(eu)) ||
	    !userdb_escape(domain, false, ed, sizeof(ed)) ||
	    (userid && !userdb_escape(slice_cstr(userid), false, eid, sizeof(eid))))
		return false;
	sbuf_init(&b, dst, dstsz);
	sbuf_printf(&b, "%s@%s", eu, ed);
	if (clrtxt) {
		ok = userdb_escape(password, false, ep, sizeof(ep));
		sbuf_printf(&b, " clrtxt:%s", ep);
		OPENSSL_cleanse(ep, sizeof(ep));
		if (!ok)
			return false;
	} else {
		struct slice authid = userid ? slice_cstr(userid) : user;
		for (int a = 0; a < DIGEST_NALGOS; a++) {
			char ha1[DIGEST_MAX_HEX + 1];
			digest_ha1((enum digest_algo)a, authid, domain, password, ha1);
			sbuf_printf(&b, " %s:%s", algo_names[a], ha1);
		}
	}
	if (acl && *acl)
		sbuf_printf(&b, " acl:%s", acl);
	sbuf_puts(&b, " ;");
	if (userid)
		sbuf_printf(&b, " %s", eid);
	if (b.overflow || b.n >= dstsz)
		return false;
	dst[b.n] = '\0';
	return true;
}
