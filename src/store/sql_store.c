/*
 * The SQL store: lookups never block the loop. A lookup answers from the
 * cache, or starts one query on a worker (soci-poolsize threads, one
 * connection each, soci-max-queue-size jobs at most) and says PENDING;
 * when the answer comes the store's ready callback runs and the front end
 * asks again. A full queue or a database that cannot answer is
 * UNAVAILABLE — a temporary error, never "not found" and never "found".
 *
 * Cache (Flexisip's cache-expire): answers found are kept cache-expire
 * seconds, "no such account" 10 s at most (a scanner's names cost one
 * query each, not one per retransmission), a failure 1 s (the requests
 * parked for it see it, and the next one tries again). SIGHUP empties it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/rand.h"
#include "core/workq.h"
#include "store/sql.h"

#define SQL_CACHE_MAX 65536
#define SQL_NEG_TTL 10
#define SQL_ERR_TTL 1
#define SQL_MIN_TTL 2		/* cache-expire = 0 still serves the request that asked */
/* Rows one account may have: one per algorithm and a few to spare. More is
 * a request that does not select one account (a WHERE missing), whose rows
 * would mix several accounts' passwords into one: refused. */
#define SQL_MAX_ROWS 8

enum entry_state { E_PENDING, E_FOUND, E_NOT_FOUND, E_ERROR };

struct entry {
	struct entry *hnext;		/* hash chain */
	struct entry *newer, *older;	/* age list: pending entries are never evicted */
	enum entry_state state;
	int64_t expires;		/* monotonic ms */
	uint64_t hash;
	size_t klen;
	char *key;			/* id \0 realm \0 authid, as bound */
	struct account acct;
};

struct sql_store {
	struct store *self;
	const struct sql_driver *drv;
	struct sql_query q;
	enum store_rows rows;
	char service[64];		/* for the log: who gets temporary errors */
	char *conninfo;
	struct workq *wq;
	unsigned cache_expire;

	pthread_mutex_t mu;		/* guards conns only: workers share nothing else */
	struct sql_conn **conns;
	bool *busy;
	unsigned nconns;

	struct entry **buckets;
	size_t nbuckets, nentries;
	struct entry *newest, *oldest;
	uint64_t seed;
	bool closing;

	/* Seen by logs and metrics. */
	bool down;
	unsigned long long queries, failures, hits, refused;
};

struct job {
	struct sql_store *st;
	struct entry *e;
	const char *vals[SQL_MAX_BINDS];
	size_t lens[SQL_MAX_BINDS];
	enum entry_state result;
	struct account acct;
	char userid[ACCOUNT_USERID_MAX];	/* the name the credentials must carry */
	unsigned rows, bad_rows;
	const char *why;		/* of the last refused row */
	char err[256];
};

/* ---- the cache ---------------------------------------------------------- */

static void
unlink_age(struct sql_store *st, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		st->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		st->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
push_newest(struct sql_store *st, struct entry *e)
{
	e->older = st->newest;
	e->newer = NULL;
	if (st->newest)
		st->newest->newer = e;
	else
		st->oldest = e;
	st->newest = e;
}

static void
entry_free(struct sql_store *st, struct entry *e)
{
	struct entry **pp = &st->buckets[e->hash & (st->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	unlink_age(st, e);
	st->nentries--;
	OPENSSL_cleanse(&e->acct, sizeof(e->acct));
	OPENSSL_clear_free(e->key, e->klen);
	free(e);
}

static struct entry *
entry_find(struct sql_store *st, const char *key, size_t klen, uint64_t h)
{
	for (struct entry *e = st->buckets[h & (st->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

/* Room for one more: the oldest answers go first, pending ones never. */
static bool
make_room(struct sql_store *st)
{
	struct entry *e = st->oldest;
	while (st->nentries >= SQL_CACHE_MAX && e) {
		struct entry *next = e->newer;
		if (e->state != E_PENDING)
			entry_free(st, e);
		e = next;
	}
	return st->nentries < SQL_CACHE_MAX;
}

/* ---- the workers' side -------------------------------------------------- */

/*
 * A free slot and its connection (NULL: not made yet, or dropped). There
 * are as many slots as workers, so one is always free for the job that
 * asks; the slot number is ours until give_conn().
 */
static unsigned
take_conn(struct sql_store *st, struct sql_conn **c)
{
	unsigned i;
	pthread_mutex_lock(&st->mu);
	for (i = 0; i < st->nconns && st->busy[i]; i++)
		;
	if (i < st->nconns) {
		st->busy[i] = true;
		*c = st->conns[i];
	}
	pthread_mutex_unlock(&st->mu);
	return i;
}

static void
give_conn(struct sql_store *st, unsigned slot, struct sql_conn *c)
{
	pthread_mutex_lock(&st->mu);
	st->conns[slot] = c;
	st->busy[slot] = false;
	pthread_mutex_unlock(&st->mu);
}

static void
on_row(void *arg, const struct sql_row *r)
{
	struct job *j = arg;
	const char *why = NULL;
	bool ok;

	j->rows++;
	/* A row refused adds nothing: not its password, not half its settings. */
	struct account before = j->acct;
	if (r->truncated) {
		why = "a value is longer than the driver reads";
		ok = false;
	} else if (j->st->rows == STORE_ROWS_HASH) {
		ok = sql_row_hash(r, &j->acct, &why);
	} else {
		ok = sql_row_to_account(r->val[0], r->len[0], r->ncols > 1 ? r->val[1] : NULL,
		    r->ncols > 1 ? r->len[1] : 0, r->ncols > 1, &j->acct, &why);
		/* The settings come from the first row that has them. */
		if (ok && j->st->rows == STORE_ROWS_SETTINGS && !j->acct.attrs[0])
			ok = sql_row_attrs(r, 2, &j->acct, &why);
	}
	if (!ok) {
		j->acct = before;
		j->bad_rows++;
		j->why = why;
	}
	OPENSSL_cleanse(&before, sizeof(before));
}

static void
job_work(void *arg)
{
	struct job *j = arg;
	struct sql_store *st = j->st;
	struct sql_conn *c = NULL;
	unsigned slot = take_conn(st, &c);
	bool broken = false;

	if (slot == st->nconns) { /* cannot happen: a slot per worker */
		snprintf(j->err, sizeof(j->err), "%s: no connection free", st->drv->name);
		j->result = E_ERROR;
		return;
	}

	/* Two tries: a connection the server dropped (a restart) fails once. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!c && !(c = st->drv->connect(st->conninfo, &st->q, j->err, sizeof(j->err))))
			break;
		j->rows = j->bad_rows = 0;
		memset(&j->acct, 0, sizeof(j->acct));
		if (st->drv->run(c, j->vals, j->lens, st->q.nbinds, on_row, j, &broken, j->err,
		    sizeof(j->err)) == 0) {
			bool any = j->acct.has_clrtxt || j->acct.has_hash;
			for (int a = 0; a < DIGEST_NALGOS; a++)
				any |= j->acct.has_ha1[a];
			if (j->rows > SQL_MAX_ROWS) {
				any = false;
				j->bad_rows = j->rows;
				j->why = "more rows than one account has: does the request select "
				    "one account?";
			}
			j->result = any ? E_FOUND : E_NOT_FOUND;
			give_conn(st, slot, c);
			return;
		}
		if (!broken)
			break;
		st->drv->close(c);
		c = NULL;
	}
	j->result = E_ERROR;
	give_conn(st, slot, c);
}

/* ---- back on the loop --------------------------------------------------- */

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < SQL_MAX_BINDS; i++)
		free((void *)j->vals[i]);
	OPENSSL_cleanse(&j->acct, sizeof(j->acct));
	free(j);
}

static void
job_done(void *arg)
{
	struct job *j = arg;
	struct sql_store *st = j->st;
	struct entry *e = j->e;

	if (st->closing) {
		job_free(j);
		return;
	}
	int64_t now = mono_ms();
	unsigned ttl;
	switch (j->result) {
	case E_FOUND:
		ttl = st->cache_expire;
		break;
	case E_NOT_FOUND:
		ttl = st->cache_expire < SQL_NEG_TTL ? st->cache_expire : SQL_NEG_TTL;
		break;
	default:
		ttl = SQL_ERR_TTL;
		st->failures++;
		break;
	}
	if (j->result != E_ERROR && ttl < SQL_MIN_TTL)
		ttl = SQL_MIN_TTL;
	e->state = j->result;
	e->expires = now + (int64_t)ttl * 1000;
	if (j->result == E_FOUND) {
		memcpy(&e->acct, &j->acct, sizeof(e->acct));
		memcpy(e->acct.userid, j->userid, sizeof(e->acct.userid));
	}
	if (j->bad_rows)
		log_warn("%s: %u of %u rows for one account refused: %s", st->drv->name,
		    j->bad_rows, j->rows, j->why);
	if (j->result == E_ERROR && !st->down) {
		/* Engines quote the bound values in some errors: those came off the wire. */
		char esc[LOG_ESCAPED_SIZE(256)];
		st->down = true;
		log_err("%s; %s until it answers", log_escape(slice_cstr(j->err), esc, sizeof(esc)),
		    st->service);
	} else if (j->result != E_ERROR && st->down) {
		st->down = false;
		log_notice("%s: answering again", st->drv->name);
	}
	job_free(j);
	if (st->self->ready)
		st->self->ready(st->self->ready_arg);
}

/* ---- the store's interface ---------------------------------------------- */

static enum store_result
sql_lookup(void *impl, const struct store_query *q, struct account *out)
{
	struct sql_store *st = impl;
	char key[3 * 256 + 3];
	size_t k = 0, part[SQL_NPARAMS][2];
	struct slice src[SQL_NPARAMS] = { q->user, q->realm, q->authid };

	memset(out, 0, sizeof(*out));
	/* The key holds only what the request binds: one account, one entry. */
	for (int p = 0; p < SQL_NPARAMS; p++) {
		part[p][0] = k;
		if (st->q.uses[p] || p == SQL_P_ID) {
			if (src[p].n > 255 || memchr(src[p].p, '\0', src[p].n))
				return STORE_NOT_FOUND; /* no account has such a name */
			memcpy(key + k, src[p].p, src[p].n);
			k += src[p].n;
		}
		part[p][1] = k - part[p][0];
		key[k++] = '\0';
	}
	uint64_t h = slice_hash_final(slice_hash(SLICE_HASH_INIT(st->seed),
	    (struct slice){ key, k }, false));
	int64_t now = mono_ms();
	struct entry *e = entry_find(st, key, k, h);

	if (e && e->state != E_PENDING && e->expires <= now) {
		entry_free(st, e);
		e = NULL;
	}
	if (e) {
		switch (e->state) {
		case E_PENDING:
			return STORE_PENDING;
		case E_ERROR:
			return STORE_UNAVAILABLE;
		case E_NOT_FOUND:
			st->hits++;
			return STORE_NOT_FOUND;
		case E_FOUND:
			st->hits++;
			memcpy(out, &e->acct, sizeof(*out));
			return STORE_FOUND;
		}
	}
	if (!st->wq || !make_room(st)) {
		st->refused++;
		return STORE_UNAVAILABLE;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (!(e = calloc(1, sizeof(*e))) || !j || !(e->key = malloc(k)))
		goto nomem;
	memcpy(e->key, key, k);
	e->klen = k;
	e->hash = h;
	e->state = E_PENDING;
	j->st = st;
	j->e = e;
	/* :authid when the request chose by it, else the From user (Flexisip). */
	enum sql_param who = st->q.uses[SQL_P_AUTHID] ? SQL_P_AUTHID : SQL_P_ID;
	snprintf(j->userid, sizeof(j->userid), "%.*s", (int)part[who][1], key + part[who][0]);
	for (size_t i = 0; i < st->q.nbinds; i++) {
		enum sql_param p = st->q.binds[i];
		char *v = malloc(part[p][1] + 1);
		if (!v)
			goto nomem;
		memcpy(v, key + part[p][0], part[p][1]);
		v[part[p][1]] = '\0';
		j->vals[i] = v;
		j->lens[i] = part[p][1];
	}
	if (!workq_submit(st->wq, job_work, job_done, j)) {
		st->refused++;
		goto refused;
	}
	e->hnext = st->buckets[h & (st->nbuckets - 1)];
	st->buckets[h & (st->nbuckets - 1)] = e;
	push_newest(st, e);
	st->nentries++;
	st->queries++;
	OPENSSL_cleanse(key, sizeof(key));
	return STORE_PENDING;
nomem:
	log_warn("%s: out of memory for a lookup", st->drv->name);
refused:
	if (j)
		job_free(j);
	if (e)
		free(e->key);
	free(e);
	OPENSSL_cleanse(key, sizeof(key));
	return STORE_UNAVAILABLE;
}

/* SIGHUP: forget every answer (a password changed in the database). */
static int
sql_refresh(void *impl, bool force)
{
	struct sql_store *st = impl;
	if (!force)
		return 0;
	struct entry *e = st->oldest;
	while (e) {
		struct entry *next = e->newer;
		if (e->state != E_PENDING)
			entry_free(st, e);
		e = next;
	}
	return 0;
}

static size_t
sql_count(void *impl)
{
	(void)impl;
	return 0; /* the database knows; we never list it */
}

static void
sql_destroy(void *impl)
{
	struct sql_store *st = impl;
	st->closing = true;
	workq_free(st->wq);
	while (st->oldest)
		entry_free(st, st->oldest);
	for (unsigned i = 0; i < st->nconns; i++)
		if (st->conns[i])
			st->drv->close(st->conns[i]);
	pthread_mutex_destroy(&st->mu);
	free(st->conns);
	free(st->busy);
	free(st->buckets);
	OPENSSL_clear_free(st->conninfo, strlen(st->conninfo));
	free(st);
}

static void
sql_stats(void *impl, struct store_stats *out)
{
	const struct sql_store *st = impl;
	*out = (struct store_stats){ st->queries, st->hits, st->failures, st->refused, st->down };
}

static const struct store_ops sql_ops = {
	.name = "sql",
	.stats = sql_stats,
	.lookup = sql_lookup,
	.refresh = sql_refresh,
	.count = sql_count,
	.destroy = sql_destroy,
};

struct store *
store_sql_open(const struct config *cfg, const struct store_sql_spec *spec,
    struct event_base *base, char *err, size_t errsz)
{
	const struct sql_driver *drv = sql_driver_find(cfg->sql_backend);
	struct sql_store *st = NULL;
	struct store *s = NULL;

	if (!drv) {
		snprintf(err, errsz, "soci-backend: '%s' is not one of postgresql, mysql, sqlite3",
		    cfg->sql_backend);
		return NULL;
	}
	if (!(st = calloc(1, sizeof(*st))) || !(s = calloc(1, sizeof(*s))))
		goto nomem;
	pthread_mutex_init(&st->mu, NULL);
	st->drv = drv;
	st->self = s;
	st->cache_expire = cfg->cache_expire;
	st->nconns = spec->poolsize ? spec->poolsize : cfg->sql_poolsize;
	st->rows = spec->rows;
	snprintf(st->service, sizeof(st->service), "%s", spec->temporary);
	st->nbuckets = SQL_CACHE_MAX;
	rand_bytes(&st->seed, sizeof(st->seed));
	if (!(st->conninfo = strdup(cfg->sql_conninfo)) ||
	    !(st->conns = calloc(st->nconns, sizeof(*st->conns))) ||
	    !(st->busy = calloc(st->nconns, sizeof(*st->busy))) ||
	    !(st->buckets = calloc(st->nbuckets, sizeof(*st->buckets))))
		goto nomem;
	s->ops = &sql_ops;
	s->impl = st;
	s->where = drv->name;
	if (sql_compile(spec->request, drv->style, spec->key, &st->q, err, errsz) < 0 ||
	    !drv->global_init(err, errsz))
		goto bad;
	/* One connection now: a wrong request or password shows at start. A
	 * server that is down is only a warning: we answer 503 until it is up. */
	char cerr[512];
	st->conns[0] = drv->connect(st->conninfo, &st->q, cerr, sizeof(cerr));
	if (!st->conns[0]) {
		if (!base) {
			snprintf(err, errsz, "%s", cerr);
			goto bad;
		}
		st->down = true;
		log_err("%s; %s until it answers", cerr, st->service);
	}
	if (base && !(st->wq = workq_new(base, st->nconns, cfg->sql_max_queue))) {
		snprintf(err, errsz, "%s: cannot start %u worker threads", drv->name, st->nconns);
		goto bad;
	}
	return s;
nomem:
	snprintf(err, errsz, "out of memory");
bad:
	if (st && st->conninfo && st->conns && st->busy && st->buckets)
		sql_destroy(st);
	else if (st) {
		free(st->conninfo);
		free(st->conns);
		free(st->busy);
		free(st->buckets);
		free(st);
	}
	free(s);
	return NULL;
}
