#include "store/htpasswd.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/atomicfile.h"
#include "core/msglist.h"
#include "core/rand.h"

#define HTP_MAX_FILE (64u << 20)

static const char itoa64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
to64(char *s, unsigned long v, int n)
{
	while (--n >= 0) {
		*s++ = itoa64[v & 0x3f];
		v >>= 6;
	}
}

/*
 * APR's "$apr1$" MD5: Poul-Henning Kamp's MD5-crypt with another magic
 * string, which is why libxcrypt does not know it. out: 37 bytes at least.
 */
static bool
apr1(const char *pw, size_t pwlen, const char *salt, size_t saltlen, char *out, size_t outsz)
{
	static const char magic[] = "$apr1$";
	unsigned char fin[16];
	unsigned int len;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *ctx1 = EVP_MD_CTX_new();
	bool ok = false;

	if (saltlen > 8)
		saltlen = 8;
	if (!ctx || !ctx1 || outsz < sizeof(magic) + saltlen + 1 + 22 ||
	    !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) || !EVP_DigestInit_ex(ctx1, EVP_md5(), NULL))
		goto out;
	EVP_DigestUpdate(ctx, pw, pwlen);
	EVP_DigestUpdate(ctx, magic, sizeof(magic) - 1);
	EVP_DigestUpdate(ctx, salt, saltlen);
	EVP_DigestUpdate(ctx1, pw, pwlen);
	EVP_DigestUpdate(ctx1, salt, saltlen);
	EVP_DigestUpdate(ctx1, pw, pwlen);
	EVP_DigestFinal_ex(ctx1, fin, &len);
	for (size_t pl = pwlen; pl > 0; pl -= pl > 16 ? 16 : pl)
		EVP_DigestUpdate(ctx, fin, pl > 16 ? 16 : pl);
	memset(fin, 0, sizeof(fin));
	for (size_t i = pwlen; i; i >>= 1)
		EVP_DigestUpdate(ctx, (i & 1) ? (const void *)fin : (const void *)pw, 1);
	EVP_DigestFinal_ex(ctx, fin, &len);
	for (int i = 0; i < 1000; i++) {
		if (!EVP_DigestInit_ex(ctx1, EVP_md5(), NULL))
			goto out;
		if (i & 1)
			EVP_DigestUpdate(ctx1, pw, pwlen);
		else
			EVP_DigestUpdate(ctx1, fin, 16);
		if (i % 3)
			EVP_DigestUpdate(ctx1, salt, saltlen);
		if (i % 7)
			EVP_DigestUpdate(ctx1, pw, pwlen);
		if (i & 1)
			EVP_DigestUpdate(ctx1, fin, 16);
		else
			EVP_DigestUpdate(ctx1, pw, pwlen);
		EVP_DigestFinal_ex(ctx1, fin, &len);
	}
	char *p = out + snprintf(out, outsz, "%s%.*s$", magic, (int)saltlen, salt);
	to64(p, ((unsigned long)fin[0] << 16) | ((unsigned long)fin[6] << 8) | fin[12], 4);
	to64(p + 4, ((unsigned long)fin[1] << 16) | ((unsigned long)fin[7] << 8) | fin[13], 4);
	to64(p + 8, ((unsigned long)fin[2] << 16) | ((unsigned long)fin[8] << 8) | fin[14], 4);
	to64(p + 12, ((unsigned long)fin[3] << 16) | ((unsigned long)fin[9] << 8) | fin[15], 4);
	to64(p + 16, ((unsigned long)fin[4] << 16) | ((unsigned long)fin[10] << 8) | fin[5], 4);
	to64(p + 20, fin[11], 2);
	p[22] = '\0';
	ok = true;
out:
	OPENSSL_cleanse(fin, sizeof(fin));
	EVP_MD_CTX_free(ctx);
	EVP_MD_CTX_free(ctx1);
	return ok;
}

/* "{SHA}" + base64(SHA-1(pw)): no salt, as Apache writes it. */
static bool
sha1_b64(const char *pw, size_t pwlen, char *out, size_t outsz)
{
	unsigned char md[20];
	unsigned int len;

	if (outsz < 5 + 29 || !EVP_Digest(pw, pwlen, md, &len, EVP_sha1(), NULL))
		return false;
	memcpy(out, "{SHA}", 5);
	EVP_EncodeBlock((unsigned char *)out + 5, md, 20);
	return true;
}

bool
htp_hash(enum htp_alg alg, unsigned cost, unsigned rounds, const char *pw, size_t pwlen,
    char *out, size_t outsz, char *err, size_t errsz)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], salt[9];
	const char *prefix;
	unsigned long count = 0;

	if (memchr(pw, '\0', pwlen)) {
		snprintf(err, errsz, "a password cannot hold a NUL byte");
		return false;
	}
	switch (alg) {
	case HTP_APR1: {
		unsigned char r[8];
		rand_bytes(r, sizeof(r));
		for (int i = 0; i < 8; i++)
			salt[i] = itoa64[r[i] & 0x3f];
		if (!apr1(pw, pwlen, salt, 8, out, outsz)) {
			snprintf(err, errsz, "Unable to encode with MD5");
			return false;
		}
		return true;
	}
	case HTP_SHA1:
		if (!sha1_b64(pw, pwlen, out, outsz)) {
			snprintf(err, errsz, "Unable to encode with SHA-1");
			return false;
		}
		return true;
	case HTP_BCRYPT:
		if (cost < 4 || cost > 17) {
			snprintf(err, errsz, "Unable to encode with bcrypt: Invalid argument "
			    "(the cost -C is 4 to 17)");
			return false;
		}
		prefix = "$2y$";
		count = cost;
		break;
	case HTP_SHA256:
		prefix = "$5$";
		count = rounds;
		break;
	case HTP_SHA512:
		prefix = "$6$";
		count = rounds;
		break;
	case HTP_CRYPT:
		prefix = ""; /* libxcrypt's traditional DES */
		break;
	default:
		snprintf(err, errsz, "unknown hash");
		return false;
	}
	if (!crypt_gensalt_rn(prefix, count, NULL, 0, setting, sizeof(setting))) {
		snprintf(err, errsz, "Unable to generate a salt: %s", strerror(errno));
		return false;
	}
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd) {
		snprintf(err, errsz, "out of memory");
		return false;
	}
	char pwz[HTP_MAX_PASSWORD + 1];
	bool ok = false;
	if (pwlen > HTP_MAX_PASSWORD) {
		snprintf(err, errsz, "password too long (> %d)", HTP_MAX_PASSWORD);
		goto out;
	}
	memcpy(pwz, pw, pwlen);
	pwz[pwlen] = '\0';
	const char *h = crypt_rn(pwz, setting, cd, sizeof(*cd));
	/* crypt_rn returns NULL on failure, but guard against a "*" token too. */
	if (!h || h[0] == '*') {
		snprintf(err, errsz, "Unable to encode with %s: %s", alg == HTP_BCRYPT ? "bcrypt" :
		    "crypt", strerror(errno ? errno : EINVAL));
		goto out;
	}
	if ((size_t)snprintf(out, outsz, "%s", h) >= outsz) {
		snprintf(err, errsz, "hash too long");
		goto out;
	}
	ok = true;
out:
	OPENSSL_cleanse(pwz, sizeof(pwz));
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Characters of crypt's salt and hash alphabet, and '$' '=' ',' of settings. */
static bool
crypt_chars(const char *s)
{
	for (; *s; s++)
		if (!strchr(itoa64, *s) && *s != '$' && *s != '=' && *s != ',')
			return false;
	return true;
}

bool
htp_usable(const char *hash)
{
	size_t n = strlen(hash);

	if (strncmp(hash, "$apr1$", 6) == 0)
		return n > 6 + 22 && n <= 6 + 8 + 1 + 22;
	if (strncmp(hash, "{SHA}", 5) == 0)
		return n == 5 + 28;
	if (n == 13)
		return crypt_chars(hash); /* DES */
	if (hash[0] != '$' && hash[0] != '_')
		return false;	/* plain text, "*0", "!"... */
	return crypt_chars(hash);
}

const char *
htp_kind(const char *hash)
{
	static const struct {
		const char *prefix, *name;
	} k[] = {
		{ "$apr1$", "apr1 (MD5)" }, { "$2y$", "bcrypt" }, { "$2b$", "bcrypt" },
		{ "$2a$", "bcrypt" }, { "$5$", "SHA-256-crypt" }, { "$6$", "SHA-512-crypt" },
		{ "$1$", "MD5-crypt" }, { "$y$", "yescrypt" }, { "$7$", "scrypt" },
		{ "$gy$", "gost-yescrypt" }, { "{SHA}", "SHA-1" }, { "_", "BSDi crypt" },
	};
	if (!htp_usable(hash))
		return hash[0] == '*' || hash[0] == '!' ? "unusable (a locked or failed hash)"
		    : "plain text (never verifies)";
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strncmp(hash, k[i].prefix, strlen(k[i].prefix)) == 0)
			return k[i].name;
	return strlen(hash) == 13 ? "DES crypt" : "crypt";
}

bool
htp_verify(const char *hash, const char *pw, size_t pwlen)
{
	char calc[HTP_MAX_HASH], pwz[HTP_MAX_PASSWORD + 1];
	size_t hn = strlen(hash);
	bool ok = false;

	if (!htp_usable(hash) || pwlen > HTP_MAX_PASSWORD || memchr(pw, '\0', pwlen) ||
	    hn >= sizeof(calc))
		return false;
	if (strncmp(hash, "$apr1$", 6) == 0) {
		const char *salt = hash + 6, *end = strchr(salt, '$');
		if (!end || !apr1(pw, pwlen, salt, (size_t)(end - salt), calc, sizeof(calc)))
			return false;
	} else if (strncmp(hash, "{SHA}", 5) == 0) {
		if (!sha1_b64(pw, pwlen, calc, sizeof(calc)))
			return false;
	} else {
		struct crypt_data *cd = calloc(1, sizeof(*cd));
		if (!cd)
			return false;
		memcpy(pwz, pw, pwlen);
		pwz[pwlen] = '\0';
		const char *h = crypt_rn(pwz, hash, cd, sizeof(*cd));
		bool got = h && h[0] != '*' && strlen(h) < sizeof(calc);
		if (got)
			memcpy(calc, h, strlen(h) + 1);
		OPENSSL_cleanse(pwz, sizeof(pwz));
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
		if (!got)
			return false;
	}
	ok = strlen(calc) == hn && CRYPTO_memcmp(calc, hash, hn) == 0;
	OPENSSL_cleanse(calc, sizeof(calc));
	return ok;
}

/* ---- the files ---------------------------------------------------------- */

static bool
stamp(const char *path, struct htp_stamp *st)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return false;
	*st = (struct htp_stamp){ sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim };
	return true;
}

static bool
stamp_differs(const char *path, const struct htp_stamp *was)
{
	struct htp_stamp now;
	if (!stamp(path, &now))
		return true;
	return now.dev != was->dev || now.ino != was->ino || now.size != was->size ||
	    now.mtime.tv_sec != was->mtime.tv_sec || now.mtime.tv_nsec != was->mtime.tv_nsec;
}

/* The whole file and its stamp (taken first: a change during the read is
 * then seen as a change at the next look). what: "AuthUserFile"... */
static char *
read_stamped(const char *path, const char *what, struct htp_stamp *st, size_t *n, char *err,
    size_t errsz)
{
	char *data = NULL;
	if (!stamp(path, st)) {
		snprintf(err, errsz, "%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (file_read_all(path, HTP_MAX_FILE, &data, n, err, errsz) < 0)
		return NULL;
	return data;
}

/* The next line of text (without its CR LF); false at the end. */
static bool
next_line(struct slice *rest, struct slice *line)
{
	if (rest->n == 0)
		return false;
	long nl = slice_find(*rest, '\n');
	size_t len = nl < 0 ? rest->n : (size_t)nl;
	*line = (struct slice){ rest->p, len };
	*rest = slice_sub(*rest, nl < 0 ? rest->n : len + 1, rest->n - (nl < 0 ? rest->n : len + 1));
	if (line->n && line->p[line->n - 1] == '\r')
		line->n--;
	return true;
}

static void
add_warn(struct htp_users *u, const char *fname, unsigned lineno, const char *what)
{
	msglist_addf(&u->warn, &u->nwarn, "%s:%u: %s", fname, lineno, what);
}

/* The next word of s (blank-separated); false when none is left. */
static bool
next_word(struct slice *s, struct slice *w)
{
	*s = slice_trim(*s);
	if (s->n == 0)
		return false;
	size_t i = 0;
	while (i < s->n && s->p[i] != ' ' && s->p[i] != '\t')
		i++;
	*w = (struct slice){ s->p, i };
	*s = slice_sub(*s, i, s->n - i);
	return true;
}

struct htp_users *
htp_parse(const char *text, size_t len, const char *fname, char *err, size_t errsz)
{
	struct htp_users *u = calloc(1, sizeof(*u));
	struct slice rest = { text, len }, line;
	size_t cap = 0;
	unsigned lineno = 0;

	if (!u)
		goto nomem;
	while (next_line(&rest, &line)) {
		lineno++;
		struct slice t = slice_trim(line);
		if (t.n == 0 || t.p[0] == '#')
			continue;
		long colon = slice_find(line, ':');
		if (colon <= 0) {
			add_warn(u, fname, lineno, colon == 0 ? "an empty user name: ignored" :
			    "no ':' (not user:hash): ignored");
			continue;
		}
		struct slice name = { line.p, (size_t)colon };
		struct slice hash = slice_sub(line, (size_t)colon + 1, line.n - (size_t)colon - 1);
		if (memchr(line.p, '\0', line.n) || name.n > HTP_MAX_USER ||
		    hash.n >= HTP_MAX_HASH) {
			add_warn(u, fname, lineno, "too long or a NUL byte: ignored");
			continue;
		}
		if (htp_find(u, name))
			continue; /* the first line wins, as in mod_authn_file */
		if (u->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct htp_user *nu = realloc(u->u, ncap * sizeof(*nu));
			if (!nu)
				goto nomem;
			u->u = nu;
			cap = ncap;
		}
		struct htp_user *e = &u->u[u->n];
		if (!(e->name = slice_dup(name)))
			goto nomem;
		if (!(e->hash = slice_dup(hash))) {
			free(e->name);
			goto nomem;
		}
		u->n++;
		if (!htp_usable(e->hash)) {
			char why[512];
			snprintf(why, sizeof(why), "user '%.255s' can never log in: the hash is %s",
			    e->name, htp_kind(e->hash));
			add_warn(u, fname, lineno, why);
		}
	}
	return u;
nomem:
	snprintf(err, errsz, "%s: out of memory", fname);
	htp_free(u);
	return NULL;
}

struct htp_users *
htp_load(const char *path, char *err, size_t errsz)
{
	struct htp_stamp st;
	size_t n = 0;
	char *data = read_stamped(path, "AuthUserFile", &st, &n, err, errsz);

	if (!data)
		return NULL;
	struct htp_users *u = htp_parse(data, n, path, err, errsz);
	free(data);
	if (u)
		u->stamp = st;
	return u;
}

void
htp_free(struct htp_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++) {
		free(u->u[i].name);
		OPENSSL_cleanse(u->u[i].hash, strlen(u->u[i].hash));
		free(u->u[i].hash);
	}
	msglist_free(u->warn, u->nwarn);
	free(u->u);
	free(u);
}

struct htp_users *
htp_one(struct slice name, const char *hash)
{
	struct htp_users *u = calloc(1, sizeof(*u));

	if (!u || !(u->u = calloc(1, sizeof(*u->u))))
		goto bad;
	if (!(u->u[0].name = strndup(name.p, name.n)) || !(u->u[0].hash = strdup(hash))) {
		free(u->u[0].name);
		goto bad;
	}
	u->n = 1;
	return u;
bad:
	if (u)
		free(u->u);
	free(u);
	return NULL;
}

const struct htp_user *
htp_find(const struct htp_users *u, struct slice name)
{
	for (size_t i = 0; u && i < u->n; i++)
		if (strlen(u->u[i].name) == name.n && memcmp(u->u[i].name, name.p, name.n) == 0)
			return &u->u[i];
	return NULL;
}

bool
htp_changed(const struct htp_users *u, const char *path)
{
	return stamp_differs(path, &u->stamp);
}

/* ---- AuthGroupFile ------------------------------------------------------ */

static struct htp_group *
group_get(struct htp_groups *g, struct slice name, size_t *cap)
{
	for (size_t i = 0; i < g->n; i++)
		if (slice_eq_cstr(name, g->g[i].name))
			return &g->g[i];
	if (g->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct htp_group *ng = realloc(g->g, ncap * sizeof(*ng));
		if (!ng)
			return NULL;
		g->g = ng;
		*cap = ncap;
	}
	struct htp_group *e = &g->g[g->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = slice_dup(name)))
		return NULL;
	g->n++;
	return e;
}

struct htp_groups *
htp_groups_parse(const char *text, size_t len, char *err, size_t errsz)
{
	struct htp_groups *g = calloc(1, sizeof(*g));
	struct slice rest = { text, len }, line;
	size_t cap = 0;

	if (!g)
		goto nomem;
	while (next_line(&rest, &line)) {
		struct slice t = slice_trim(line);
		if (t.n == 0 || t.p[0] == '#')
			continue;
		long colon = slice_find(t, ':');
		if (colon <= 0)
			continue; /* mod_authz_groupfile skips what it cannot read */
		struct htp_group *e = group_get(g, slice_trim((struct slice){ t.p, (size_t)colon }),
		    &cap);
		if (!e)
			goto nomem;
		struct slice m = slice_sub(t, (size_t)colon + 1, t.n - (size_t)colon - 1), w;
		while (next_word(&m, &w)) {
			char **nm = realloc(e->members, (e->n + 1) * sizeof(*nm));
			if (!nm)
				goto nomem;
			e->members = nm;
			if (!(e->members[e->n] = slice_dup(w)))
				goto nomem;
			e->n++;
		}
	}
	return g;
nomem:
	snprintf(err, errsz, "out of memory");
	htp_groups_free(g);
	return NULL;
}

struct htp_groups *
htp_groups_load(const char *path, char *err, size_t errsz)
{
	struct htp_stamp st;
	size_t n = 0;
	char *data = read_stamped(path, "AuthGroupFile", &st, &n, err, errsz);

	if (!data)
		return NULL;
	struct htp_groups *g = htp_groups_parse(data, n, err, errsz);
	free(data);
	if (g)
		g->stamp = st;
	return g;
}

void
htp_groups_free(struct htp_groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		for (size_t k = 0; k < g->g[i].n; k++)
			free(g->g[i].members[k]);
		free(g->g[i].members);
		free(g->g[i].name);
	}
	free(g->g);
	free(g);
}

bool
htp_in_group(const struct htp_groups *g, const char *group, struct slice user)
{
	for (size_t i = 0; g && i < g->n; i++) {
		if (strcmp(g->g[i].name, group) != 0)
			continue;
		for (size_t k = 0; k < g->g[i].n; k++)
			if (slice_eq_cstr(user, g->g[i].members[k]))
				return true;
	}
	return false;
}

bool
htp_groups_changed(const struct htp_groups *g, const char *path)
{
	return stamp_differs(path, &g->stamp);
}
