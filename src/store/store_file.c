/* db-implementation=file: a Flexisip userdb, re-read when it changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "core/atomicfile.h"
#include "core/log.h"
#include "store/store.h"
#include "store/userdb.h"

struct file_store {
	char *path;
	struct userdb *db;
	struct stat st;		/* of the copy in db */
};

void
account_wipe(struct account *a)
{
	OPENSSL_cleanse(a, sizeof(*a));
}

bool
account_attr_next(const struct account *a, size_t *pos, char *name, size_t namesz, char *val,
    size_t valsz)
{
	const char *line = a->attrs + *pos;
	const char *eq = strchr(line, '='), *nl = strchr(line, '\n');

	if (!*line || !eq || !nl || eq > nl)
		return false;
	struct slice k = { line, (size_t)(eq - line) }, v = { eq + 1, (size_t)(nl - eq - 1) };
	if (!slice_copy(k, name, namesz) || !slice_copy(v, val, valsz))
		return false;
	*pos = (size_t)(nl + 1 - a->attrs);
	return true;
}

static enum store_result
file_lookup(void *impl, const struct store_query *q, struct account *out)
{
	struct file_store *fs = impl;
	const struct userdb_entry *e = userdb_find(fs->db, q->user, q->domain);

	memset(out, 0, sizeof(*out));
	if (!e)
		return STORE_NOT_FOUND;
	snprintf(out->userid, sizeof(out->userid), "%s", e->userid ? e->userid : e->user);
	snprintf(out->acl, sizeof(out->acl), "%s", e->acl);
	if (e->clrtxt) {
		out->has_clrtxt = true;
		snprintf(out->clrtxt, sizeof(out->clrtxt), "%s", e->clrtxt);
	}
	for (int a = 0; a < DIGEST_NALGOS; a++) {
		out->has_ha1[a] = e->has[a];
		if (e->has[a])
			memcpy(out->ha1[a], e->ha1[a], sizeof(out->ha1[a]));
	}
	return STORE_FOUND;
}

static int
load(struct file_store *fs, char *err, size_t errsz)
{
	struct userdb *db;
	struct stat st;
	char *data = NULL;
	size_t n = 0;

	if (stat(fs->path, &st) < 0) {
		snprintf(err, errsz, "%s: %s", fs->path, strerror(errno));
		return -1;
	}
	if (file_read_all(fs->path, USERDB_MAX_SIZE, &data, &n, err, errsz) < 0)
		return -1;
	db = userdb_parse(data, n, fs->path, err, errsz);
	OPENSSL_cleanse(data, n);
	free(data);
	if (!db)
		return -1;
	userdb_free(fs->db);
	fs->db = db;
	fs->st = st;
	return 0;
}

static int
file_refresh(void *impl, bool force)
{
	struct file_store *fs = impl;
	char err[512];
	struct stat st;

	if (stat(fs->path, &st) < 0) {
		log_warn("userdb %s: %s; keeping the %zu accounts loaded", fs->path,
		    strerror(errno), fs->db->n);
		return -1;
	}
	if (!force && st.st_ino == fs->st.st_ino && st.st_size == fs->st.st_size &&
	    st.st_mtim.tv_sec == fs->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == fs->st.st_mtim.tv_nsec)
		return 0;
	if (load(fs, err, sizeof(err)) < 0) {
		/* Remember the bad version so the warning is not repeated each tick. */
		fs->st = st;
		log_err("%s", err);
		log_warn("userdb not reloaded; keeping the previous %zu accounts", fs->db->n);
		return -1;
	}
	log_notice("userdb %s reloaded: %zu accounts", fs->path, fs->db->n);
	return 0;
}

static size_t
file_count(void *impl)
{
	return ((struct file_store *)impl)->db->n;
}

static void
file_destroy(void *impl)
{
	struct file_store *fs = impl;
	userdb_free(fs->db);
	free(fs->path);
	free(fs);
}

static const struct store_ops file_ops = {
	.name = "file",
	.lookup = file_lookup,
	.refresh = file_refresh,
	.count = file_count,
	.destroy = file_destroy,
};

struct store *
store_file_open(const char *path, char *err, size_t errsz)
{
	struct file_store *fs = calloc(1, sizeof(*fs));
	struct store *s = calloc(1, sizeof(*s));

	if (!fs || !s || !(fs->path = strdup(path))) {
		snprintf(err, errsz, "out of memory");
		goto bad;
	}
	if (load(fs, err, errsz) < 0)
		goto bad;
	s->ops = &file_ops;
	s->impl = fs;
	s->where = fs->path;
	return s;
bad:
	if (fs)
		free(fs->path);
	free(fs);
	free(s);
	return NULL;
}

void
store_free(struct store *s)
{
	if (!s)
		return;
	s->ops->destroy(s->impl);
	free(s);
}
