/*
 * pbxguard audit --fix: the seed's "automatically fix invalid password".
 *
 * Never a half-written file, never a lost secret: every new file content
 * is made in memory first; then the new secrets go, whole and fsync'ed, to
 * a 0600 file that did not exist; then each file is replaced by rename
 * (core/atomicfile), its old inode kept as FILE.pbxguard-TIME.bak (made
 * 0600: it holds the weak secrets). Killed at any moment, every file is
 * the old one or the new one, and every secret that may be in force is in
 * the secrets file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/atomicfile.h"
#include "core/dbuf.h"
#include "store/astconf.h"
#include "store/htpasswd.h"
#include "store/userdb.h"
#include "tools/audit.h"

#define FIX_MAX_FILE (64u << 20)
#define SECRET_MAX 128

/* One file's rewrite: its text, and the new text of some of its lines. */
struct edit {
	unsigned line;
	char *text;		/* the whole new line, without newline */
};

struct rewrite {
	char path[PATH_MAX];
	char *data;
	size_t n;
	struct edit *e;
	size_t ne;
	char *out;
	size_t outn;
	int lock;		/* pbxguard's own files: the tools' lock */
};

static void
wipe_free(char *p, size_t n)
{
	if (p) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

/* [off, len) of line ln (1-based) in data, without its newline. */
static bool
find_line(const char *data, size_t n, unsigned ln, size_t *off, size_t *len)
{
	size_t i = 0;
	for (unsigned cur = 1; i <= n; cur++) {
		const char *nl = memchr(data + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - data) : n;
		if (cur == ln) {
			*off = i;
			*len = end - i;
			if (*len && data[end - 1] == '\r')
				(*len)--;
			return true;
		}
		if (!nl)
			return false;
		i = end + 1;
	}
	return false;
}

/*
 * Where the value is in an Asterisk line (store/astconf knows the syntax).
 * The key must be one of keys (or, with keys NULL, equal want_key). For a
 * PIN the span is the value's first comma field, after a "-" or "*".
 */
static bool
value_span(const char *l, size_t n, const char *const *keys, const char *want_key, bool pin,
    size_t *vs, size_t *ve)
{
	size_t k0, k1, s, e;

	if (!astconf_line_spans(l, n, &k0, &k1, &s, &e))
		return false;
	bool keyok = false;
	for (size_t j = 0; keys && keys[j]; j++)
		keyok |= strlen(keys[j]) == k1 - k0 && strncasecmp(l + k0, keys[j], k1 - k0) == 0;
	if (!keys)
		keyok = strlen(want_key) == k1 - k0 && strncmp(l + k0, want_key, k1 - k0) == 0;
	if (!keyok)
		return false;
	if (pin) {
		if (s < e && (l[s] == '-' || l[s] == '*'))
			s++;
		const char *comma = memchr(l + s, ',', e - s);
		if (comma)
			e = (size_t)(comma - l);
	}
	*vs = s;
	*ve = e;
	return true;
}

static struct rewrite *
rewrite_for(struct audit *a, struct rewrite **rw, size_t *nrw, const char *path, char *err,
    size_t errsz)
{
	for (size_t i = 0; i < *nrw; i++)
		if (strcmp((*rw)[i].path, path) == 0)
			return &(*rw)[i];
	struct rewrite *n = realloc(*rw, (*nrw + 1) * sizeof(**rw));
	if (!n) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	*rw = n;
	struct rewrite *r = &n[(*nrw)++];
	memset(r, 0, sizeof(*r));
	r->lock = -1;
	snprintf(r->path, sizeof(r->path), "%s", path);
	/* pbxguard's own stores: the lock `pbxguard userdb`/`htpasswd` take. */
	if ((strcmp(path, a->cfg->file_path) == 0 || strcmp(path, a->cfg->http.user_file) == 0) &&
	    (r->lock = atomicfile_lock(path, err, errsz)) < 0) {
		(*nrw)--;
		return NULL;
	}
	if (file_read_all(path, FIX_MAX_FILE, &r->data, &r->n, err, errsz) != 0) {
		atomicfile_unlock(r->lock);
		(*nrw)--;
		return NULL;
	}
	return r;
}

static struct edit *
edit_at(const struct rewrite *r, unsigned line)
{
	for (size_t i = 0; i < r->ne; i++)
		if (r->e[i].line == line)
			return &r->e[i];
	return NULL;
}

static bool
add_edit(struct rewrite *r, unsigned line, char *text)
{
	struct edit *n = realloc(r->e, (r->ne + 1) * sizeof(*n));
	if (!n)
		return false;
	r->e = n;
	r->e[r->ne++] = (struct edit){ line, text };
	return true;
}

/* The new line for finding f, and its new secret in secret. */
static char *
new_line(struct audit *a, const struct audit_finding *f, const char *l, size_t n, char *secret,
    char *err, size_t errsz)
{
	static const char *const secret_keys[] = { "secret", "password", NULL };
	struct pw_context who = { f->account, f->extension[0] ? f->extension : NULL,
		f->domain[0] ? f->domain : NULL, f->domain[0] ? f->domain : NULL };
	size_t vs, ve;
	char *out = NULL;

	if (f->kind == FIX_PIN ? !pwpolicy_generate_pin(a->pol, f->extension, secret, SECRET_MAX)
	    : !pwpolicy_generate(a->pol, &who, secret, SECRET_MAX)) {
		snprintf(err, errsz, "no generated secret passes the policy");
		return NULL;
	}
	if (f->kind == FIX_SECRET || f->kind == FIX_PIN) {
		if (!value_span(l, n, f->kind == FIX_PIN ? NULL : secret_keys, f->extension,
		    f->kind == FIX_PIN, &vs, &ve)) {
			snprintf(err, errsz, "the line no longer holds the value");
			return NULL;
		}
		if (asprintf(&out, "%.*s%s%.*s", (int)vs, l, secret, (int)(n - ve), l + ve) < 0)
			out = NULL;
	} else if (f->kind == FIX_USERDB) {
		char e2[256], *one = NULL;
		/* The line alone, as a file: the parser wants the header. */
		int k = asprintf(&one, "version:1\n%.*s\n", (int)n, l);
		struct userdb *db = k < 0 ? NULL : userdb_parse(one, (size_t)k, "line", e2,
		    sizeof(e2));
		if (one) {
			OPENSSL_cleanse(one, (size_t)k);
			free(one);
		}
		if (!db || db->n != 1) {
			snprintf(err, errsz, "the line no longer holds the entry");
			userdb_free(db);
			return NULL;
		}
		const struct userdb_entry *e = &db->e[0];
		char line[2100];
		if (userdb_format_line(slice_cstr(e->user), slice_cstr(e->domain), slice_cstr(secret),
		    e->clrtxt != NULL, e->userid, e->acl, line, sizeof(line))) {
			if (asprintf(&out, "%s%s%s", line, e->phone ? " " : "", e->phone ? e->phone :
			    "") < 0)
				out = NULL;
		}
		OPENSSL_cleanse(line, sizeof(line));
		userdb_free(db);
	} else if (f->kind == FIX_HTPASSWD) {
		char hash[HTP_MAX_HASH];
		const char *colon = memchr(l, ':', n);
		if (!colon || (size_t)(colon - l) != strlen(f->account) ||
		    strncmp(l, f->account, strlen(f->account)) != 0) {
			snprintf(err, errsz, "the line no longer holds the user");
			return NULL;
		}
		if (!htp_hash(HTP_BCRYPT, 10, 0, secret, strlen(secret), hash, sizeof(hash), err,
		    errsz))
			return NULL;
		if (asprintf(&out, "%s:%s", f->account, hash) < 0)
			out = NULL;
	}
	if (!out)
		snprintf(err, errsz, "out of memory");
	return out;
}

/* The whole new text: lines with an edit replaced, the rest byte for byte. */
static bool
assemble(struct rewrite *r)
{
	struct dbuf b;
	size_t i = 0;
	unsigned ln = 1;

	dbuf_init(&b, FIX_MAX_FILE * 2);
	while (i < r->n) {
		const char *nl = memchr(r->data + i, '\n', r->n - i);
		size_t end = nl ? (size_t)(nl - r->data) : r->n;
		const char *repl = NULL;
		for (size_t j = 0; j < r->ne; j++)
			if (r->e[j].line == ln)
				repl = r->e[j].text;
		if (repl) {
			bool cr = end > i && r->data[end - 1] == '\r';
			dbuf_puts(&b, repl);
			if (cr)
				dbuf_puts(&b, "\r");
		} else {
			dbuf_put(&b, (struct slice){ r->data + i, end - i });
		}
		if (nl)
			dbuf_puts(&b, "\n");
		i = end + 1;
		ln++;
	}
	if (b.failed) {
		dbuf_free(&b);
		return false;
	}
	r->out = b.p;
	r->outn = b.n;
	return true;
}

/*
 * FIX_SET on its line, or a "key = value" line added after the section's
 * header (several additions to one section pile up on that header's edit).
 */
static int
insert_or_set(struct audit *a, struct rewrite *r, const struct audit_finding *f, char *secret,
    char *err, size_t errsz)
{
	size_t off, len, vs, ve;
	char *text = NULL;

	if (f->kind == FIX_SET && f->line) {
		const char *keys[] = { f->key, NULL };
		if (edit_at(r, f->line) || !find_line(r->data, r->n, f->line, &off, &len) ||
		    !value_span(r->data + off, len, keys, NULL, false, &vs, &ve)) {
			snprintf(err, errsz, "line %u no longer holds %s", f->line, f->key);
			return -1;
		}
		const char *l = r->data + off;
		if (asprintf(&text, "%.*s%s%.*s", (int)vs, l, f->value, (int)(len - ve), l + ve) < 0 ||
		    !add_edit(r, f->line, text)) {
			free(text);
			snprintf(err, errsz, "out of memory");
			return -1;
		}
		return 0;
	}
	char add[SECRET_MAX + 80];
	if (f->kind == FIX_ADD_SECRET) {
		struct pw_context who = { f->account, f->extension[0] ? f->extension : NULL,
			f->domain[0] ? f->domain : NULL, f->domain[0] ? f->domain : NULL };
		if (!pwpolicy_generate(a->pol, &who, secret, SECRET_MAX)) {
			snprintf(err, errsz, "no generated secret passes the policy");
			return -1;
		}
		snprintf(add, sizeof(add), "secret = %s", secret);
	} else {
		snprintf(add, sizeof(add), "%s = %s", f->key, f->value);
	}
	struct edit *e = edit_at(r, f->at_line);
	int k;
	if (e)
		k = asprintf(&text, "%s\n%s", e->text, add);
	else if (find_line(r->data, r->n, f->at_line, &off, &len))
		k = asprintf(&text, "%.*s\n%s", (int)len, r->data + off, add);
	else
		k = -2;
	OPENSSL_cleanse(add, sizeof(add));
	if (k == -2) {
		snprintf(err, errsz, "line %u is gone", f->at_line);
		return -1;
	}
	if (k < 0 || (!e && !add_edit(r, f->at_line, text))) {
		free(text);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (e) {
		wipe_free(e->text, strlen(e->text));
		e->text = text;
	}
	return 0;
}

static int
open_secrets(const char *path, char *err, size_t errsz)
{
	mkdir_parent_of(path, 0700);	/* open() says what failed */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		snprintf(err, errsz, "cannot create the secrets file %s: %s", path, strerror(errno));
	return fd;
}

int
audit_fix(struct audit *a, const char *secrets_out, char *err, size_t errsz)
{
	struct rewrite *rw = NULL;
	size_t nrw = 0, nsecrets = 0;
	struct dbuf sec;
	char stamp[32], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd = -1, rc = -1;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	dbuf_init(&sec, 16u << 20);
	dbuf_printf(&sec, "# pbxguard audit --fix, %s: the new secrets, shown only here.\n"
	    "# Give each to its phone, user or mailbox owner, then delete this file.\n", when);

	/* 1. Every new content, in memory. */
	for (size_t i = 0; i < a->n; i++) {
		struct audit_finding *f = &a->f[i];
		char secret[SECRET_MAX], why[256];
		size_t off, len;
		if (f->kind == FIX_NONE || f->kind == FIX_MODE)
			continue;
		struct rewrite *r = rewrite_for(a, &rw, &nrw, f->file, why, sizeof(why));
		if (!r) {
			snprintf(f->fixed_how, sizeof(f->fixed_how), "not fixed: %s", why);
			continue;
		}
		unsigned line = f->line;
		if (f->kind == FIX_HTPASSWD) {
			/* The htpasswd finding names the user; its line is the first. */
			for (unsigned ln = 1; find_line(r->data, r->n, ln, &off, &len); ln++)
				if (len > strlen(f->account) && r->data[off + strlen(f->account)] == ':' &&
				    strncmp(r->data + off, f->account, strlen(f->account)) == 0) {
					line = ln;
					break;
				}
		}
		if (f->kind == FIX_SET || f->kind == FIX_ADD_SECRET) {
			if (insert_or_set(a, r, f, secret, why, sizeof(why)) < 0) {
				snprintf(f->fixed_how, sizeof(f->fixed_how), "not fixed: %s", why);
				continue;
			}
			f->fixed = true;
			if (f->kind == FIX_SET) {
				snprintf(f->fixed_how, sizeof(f->fixed_how), "%s = %s", f->key, f->value);
				continue;
			}
			dbuf_printf(&sec, "%s:%u %s: %s\n", f->file, f->at_line, f->account, secret);
			OPENSSL_cleanse(secret, sizeof(secret));
			nsecrets++;
			snprintf(f->fixed_how, sizeof(f->fixed_how), "new secret in %s", secrets_out);
			continue;
		}
		if (edit_at(r, line)) {	/* a template's secret, shared: made once */
			f->fixed = true;
			snprintf(f->fixed_how, sizeof(f->fixed_how), "fixed with line %u", line);
			continue;
		}
		if (!line || !find_line(r->data, r->n, line, &off, &len)) {
			snprintf(f->fixed_how, sizeof(f->fixed_how), "not fixed: line %u is gone", line);
			continue;
		}
		char *text = new_line(a, f, r->data + off, len, secret, why, sizeof(why));
		if (!text || !add_edit(r, line, text)) {
			snprintf(f->fixed_how, sizeof(f->fixed_how), "not fixed: %s",
			    text ? "out of memory" : why);
			wipe_free(text, text ? strlen(text) : 0);
			OPENSSL_cleanse(secret, sizeof(secret));
			continue;
		}
		dbuf_printf(&sec, "%s:%u %s: %s\n", f->file, line, f->account, secret);
		OPENSSL_cleanse(secret, sizeof(secret));
		nsecrets++;
		f->fixed = true;
		snprintf(f->fixed_how, sizeof(f->fixed_how), "new %s in %s",
		    f->kind == FIX_PIN ? "PIN" : "secret", secrets_out);
	}
	for (size_t i = 0; i < nrw; i++) {
		if (!assemble(&rw[i])) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
	}
	if (sec.failed) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}

	/* 2. The secrets, whole, before any file carries them. */
	if (nsecrets) {
		if ((fd = open_secrets(secrets_out, err, errsz)) < 0)
			goto out;
		if (fd_write_all(fd, sec.p, sec.n) < 0 || fsync(fd) != 0) {
			snprintf(err, errsz, "cannot write %s: %s", secrets_out, strerror(errno));
			goto out;
		}
	}

	/* 3. Each file replaced; the old inode stays as the backup. */
	size_t done = 0;
	for (size_t i = 0; i < nrw; i++) {
		struct rewrite *r = &rw[i];
		char bak[PATH_MAX + 48], why[512];
		if (!r->ne)
			continue;
		if ((size_t)snprintf(bak, sizeof(bak), "%s.pbxguard-%s.bak", r->path, stamp) >=
		    sizeof(bak) || link(r->path, bak) != 0) {
			snprintf(why, sizeof(why), "cannot keep a backup: %s", strerror(errno));
			goto file_failed;
		}
		if (atomicfile_write(r->path, r->out, r->outn, 0600, why, sizeof(why)) != 0) {
			unlink(bak);
			goto file_failed;
		}
		struct stat st;
		if (stat(bak, &st) == 0)
			chmod(bak, st.st_mode & 0600);
		done++;
		continue;
file_failed:
		for (size_t j = 0; j < a->n; j++)
			if (a->f[j].fixed && strcmp(a->f[j].file, r->path) == 0) {
				a->f[j].fixed = false;
				snprintf(a->f[j].fixed_how, sizeof(a->f[j].fixed_how), "not fixed: %s",
				    why);
			}
	}

	/* 4. Modes, after the contents (a rewrite keeps the old mode). */
	for (size_t i = 0; i < a->n; i++) {
		struct audit_finding *f = &a->f[i];
		if (f->kind != FIX_MODE)
			continue;
		if (chmod(f->file, f->mode) != 0) {
			snprintf(f->fixed_how, sizeof(f->fixed_how), "not fixed: chmod: %s",
			    strerror(errno));
			continue;
		}
		f->fixed = true;
		snprintf(f->fixed_how, sizeof(f->fixed_how), "chmod %03o", (unsigned)f->mode);
	}
	if (fd >= 0) {
		char tail[128];
		int k = snprintf(tail, sizeof(tail), "# complete: %zu file%s rewritten\n", done,
		    done == 1 ? "" : "s");
		if (fd_write_all(fd, tail, (size_t)k) < 0 || fsync(fd) != 0)
			fprintf(stderr, "pbxguard: cannot finish %s: %s\n", secrets_out,
			    strerror(errno));
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (sec.p)
		OPENSSL_cleanse(sec.p, sec.n);
	dbuf_free(&sec);
	for (size_t i = 0; i < nrw; i++) {
		for (size_t j = 0; j < rw[i].ne; j++)
			wipe_free(rw[i].e[j].text, strlen(rw[i].e[j].text));
		free(rw[i].e);
		wipe_free(rw[i].data, rw[i].n);
		wipe_free(rw[i].out, rw[i].outn);
		if (rw[i].lock >= 0)
			atomicfile_unlock(rw[i].lock);
	}
	free(rw);
	return rc;
}
