#include "guard/bans.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"

#define WAYS 8			/* source table: sets of 8, LRU within a set */
#define GOOD_MAX 8		/* known-good addresses kept per account */
#define MAX_BANS (1u << 20)
#define MAX_ACCOUNTS (1u << 20)

/* Timestamps of the latest failures, oldest first, at most cap of them. */
struct ring {
	time_t *t;
	uint32_t head, n;
};

struct src {
	struct ipkey k;
	bool used;
	time_t seen;
	time_t pike_start;
	uint32_t pike_n;
	struct ring fails;
};

struct ban {
	struct ban *next;
	struct ban_info i;
};

struct good {
	struct ipkey k;
	time_t t;
};

struct acct {
	struct acct *next;
	char *name;
	size_t len;
	struct ring fails;
	time_t locked_until;
	struct good good[GOOD_MAX];
	unsigned ngood;
};

struct bans {
	const struct config *cfg;
	uint64_t seed;
	struct src *src;
	size_t nsets;			/* power of two */
	struct ban **bt;
	size_t nbt, nbans;		/* buckets (power of two), entries */
	struct acct **at;
	size_t nat, naccts;
	bool dirty;
	time_t next_expiry;
	bans_hook hook;
	void *hook_arg;
};

const char *
ban_reason_name(enum ban_reason r)
{
	switch (r) {
	case BAN_FAILURES:
		return "failures";
	case BAN_FLOOD:
		return "flood";
	case BAN_MANUAL:
		return "manual";
	case BAN_SHARED:
		return "shared";
	}
	return "?";
}

static bool
reason_parse(struct slice s, enum ban_reason *r)
{
	for (int i = BAN_FAILURES; i <= BAN_SHARED; i++)
		if (slice_eq_cstr(s, ban_reason_name((enum ban_reason)i))) {
			*r = (enum ban_reason)i;
			return true;
		}
	return false;
}

/* ---- failure rings ---------------------------------------------------- */

/* Adds now, drops what fell out of window; true when cap are inside it. */
static bool
ring_add(struct ring *r, uint32_t cap, unsigned window, time_t now)
{
	if (!r->t && !(r->t = calloc(cap, sizeof(*r->t))))
		return false;
	r->t[r->head] = now;
	r->head = (r->head + 1) % cap;
	if (r->n < cap)
		r->n++;
	while (r->n > 0 && now - r->t[(r->head + cap - r->n) % cap] >= (time_t)window)
		r->n--;
	return r->n >= cap;
}

static void
ring_free(struct ring *r)
{
	free(r->t);
	memset(r, 0, sizeof(*r));
}

/* ---- construction ----------------------------------------------------- */

static size_t
pow2_at_least(size_t n)
{
	size_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

struct bans *
bans_new(const struct config *cfg)
{
	struct bans *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cfg = cfg;
	rand_bytes(&b->seed, sizeof(b->seed));
	b->nsets = pow2_at_least((cfg->max_tracked + WAYS - 1) / WAYS);
	b->nbt = 256;
	b->nat = 256;
	b->src = calloc(b->nsets * WAYS, sizeof(*b->src));
	b->bt = calloc(b->nbt, sizeof(*b->bt));
	b->at = calloc(b->nat, sizeof(*b->at));
	if (!b->src || !b->bt || !b->at) {
		bans_free(b);
		return NULL;
	}
	return b;
}

void
bans_free(struct bans *b)
{
	if (!b)
		return;
	if (b->src)
		for (size_t i = 0; i < b->nsets * WAYS; i++)
			ring_free(&b->src[i].fails);
	for (size_t i = 0; b->bt && i < b->nbt; i++)
		for (struct ban *x = b->bt[i], *nx; x; x = nx) {
			nx = x->next;
			free(x);
		}
	for (size_t i = 0; b->at && i < b->nat; i++)
		for (struct acct *a = b->at[i], *na; a; a = na) {
			na = a->next;
			ring_free(&a->fails);
			free(a->name);
			free(a);
		}
	free(b->src);
	free(b->bt);
	free(b->at);
	free(b);
}

void
bans_set_hook(struct bans *b, bans_hook fn, void *arg)
{
	b->hook = fn;
	b->hook_arg = arg;
}

bool
bans_ignored(const struct bans *b, const struct ipkey *k)
{
	for (size_t i = 0; i < b->cfg->n_ignoreip; i++)
		if (cidr_match(&b->cfg->ignoreip[i], k))
			return true;
	return false;
}

/* ---- the source table ------------------------------------------------- */

/* The entry for k, made (evicting the set's least recently seen) if absent. */
static struct src *
src_get(struct bans *b, const struct ipkey *k, time_t now)
{
	struct src *set = &b->src[(ipkey_hash(k, b->seed) & (b->nsets - 1)) * WAYS];
	struct src *victim = &set[0];

	for (int i = 0; i < WAYS; i++) {
		if (set[i].used && ipkey_eq(&set[i].k, k)) {
			set[i].seen = now;
			return &set[i];
		}
		if (!set[i].used)
			victim = &set[i];
		else if (victim->used && set[i].seen < victim->seen)
			victim = &set[i];
	}
	ring_free(&victim->fails);
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	victim->k = *k;
	victim->seen = now;
	victim->pike_start = now;
	return victim;
}

/* ---- the ban map ------------------------------------------------------ */

static struct ban **
ban_slot(const struct bans *b, const struct ipkey *k)
{
	struct ban **pp = &b->bt[ipkey_hash(k, b->seed) & (b->nbt - 1)];
	while (*pp && !ipkey_eq(&(*pp)->i.addr, k))
		pp = &(*pp)->next;
	return pp;
}

static void
ban_grow(struct bans *b)
{
	size_t nn = b->nbt * 2;
	struct ban **nt = calloc(nn, sizeof(*nt));
	if (!nt)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < b->nbt; i++)
		for (struct ban *x = b->bt[i], *nx; x; x = nx) {
			nx = x->next;
			size_t h = ipkey_hash(&x->i.addr, b->seed) & (nn - 1);
			x->next = nt[h];
			nt[h] = x;
		}
	free(b->bt);
	b->bt = nt;
	b->nbt = nn;
}

/* History is kept long enough for bantime.increment to mean something. */
static bool
ban_forgotten(const struct bans *b, const struct ban_info *i, time_t now)
{
	time_t keep = (time_t)b->cfg->bantime_maxtime + 86400;
	return (i->until == 0 || i->until <= now) && now - i->last > keep;
}

static struct ban *
ban_get(struct bans *b, const struct ipkey *k, bool create)
{
	struct ban **pp = ban_slot(b, k);
	if (*pp || !create)
		return *pp;
	if (b->nbans >= MAX_BANS)
		return NULL;
	struct ban *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->i.addr = *k;
	*pp = x;
	if (++b->nbans > b->nbt)
		ban_grow(b);
	return x;
}

static unsigned
ban_length(const struct bans *b, unsigned count)
{
	const struct config *c = b->cfg;
	if (!c->bantime_increment || count <= 1)
		return c->bantime;
	unsigned shift = count - 1 > 20 ? 20 : count - 1;
	uint64_t secs = (uint64_t)c->bantime << shift;
	return secs > c->bantime_maxtime ? c->bantime_maxtime : (unsigned)secs;
}

bool
bans_ban(struct bans *b, const struct ipkey *k, unsigned seconds, enum ban_reason r,
    time_t now, struct ban_info *out)
{
	struct ban *x = ban_get(b, k, true);
	if (!x)
		return false;
	if (ban_forgotten(b, &x->i, now))
		x->i.count = 0;
	x->i.count++;
	if (seconds == 0)
		seconds = ban_length(b, x->i.count);
	x->i.until = now + (time_t)seconds;
	x->i.last = now;
	x->i.reason = r;
	x->i.hits = 0;
	if (b->next_expiry == 0 || x->i.until < b->next_expiry)
		b->next_expiry = x->i.until;
	b->dirty = true;
	if (out)
		*out = x->i;
	if (b->hook)
		b->hook(b->hook_arg, &x->i, BAN_STARTED, now, ban_reason_name(r));
	return true;
}

bool
bans_unban(struct bans *b, const struct ipkey *k, time_t now)
{
	struct ban *x = ban_get(b, k, false);
	if (!x || x->i.until <= now)
		return false;
	x->i.until = 0;
	b->dirty = true;
	if (b->hook)
		b->hook(b->hook_arg, &x->i, BAN_LIFTED, now, "manual");
	return true;
}

time_t
bans_until(const struct bans *b, const struct ipkey *k, time_t now)
{
	const struct ban *x = ban_get((struct bans *)b, k, false);
	return x && x->i.until > now ? x->i.until : 0;
}

bool
bans_check(struct bans *b, const struct ipkey *k, time_t now)
{
	if (b->nbans == 0)
		return false;
	struct ban *x = *ban_slot(b, k);
	if (!x || x->i.until <= now)
		return false;
	x->i.hits++;
	return true;
}

size_t
bans_list(const struct bans *b, time_t now, struct ban_info *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < b->nbt; i++)
		for (const struct ban *x = b->bt[i]; x; x = x->next)
			if (x->i.until > now) {
				if (n < max)
					out[n] = x->i;
				n++;
			}
	return n;
}

void
bans_sweep(struct bans *b, time_t now)
{
	if (b->next_expiry == 0 || b->next_expiry > now)
		return;
	b->next_expiry = 0;
	for (size_t i = 0; i < b->nbt; i++) {
		struct ban **pp = &b->bt[i];
		while (*pp) {
			struct ban *x = *pp;
			if (x->i.until != 0 && x->i.until <= now) {
				time_t was = x->i.until;
				x->i.until = 0;
				b->dirty = true;
				if (b->hook)
					b->hook(b->hook_arg, &x->i, BAN_EXPIRED, was, "expired");
			} else if (x->i.until > now &&
			    (b->next_expiry == 0 || x->i.until < b->next_expiry)) {
				b->next_expiry = x->i.until;
			}
			if (ban_forgotten(b, &x->i, now)) {
				*pp = x->next;
				free(x);
				b->nbans--;
				b->dirty = true;
				continue;
			}
			pp = &x->next;
		}
	}
	if (b->next_expiry == 0 && b->nbans > 0)
		b->next_expiry = now + 3600; /* look at the history now and then */
}

/* ---- counting --------------------------------------------------------- */

bool
bans_request(struct bans *b, const struct ipkey *k, time_t now)
{
	const struct config *c = b->cfg;
	if (c->pike_limit == 0)
		return false;
	struct src *s = src_get(b, k, now);
	if (now - s->pike_start >= (time_t)c->pike_window) {
		s->pike_start = now;
		s->pike_n = 0;
	}
	if (++s->pike_n <= c->pike_limit)
		return false;
	s->pike_n = 0;
	return bans_ban(b, k, c->pike_bantime, BAN_FLOOD, now, NULL);
}

bool
bans_fail(struct bans *b, const struct ipkey *k, time_t now)
{
	struct src *s = src_get(b, k, now);
	if (!ring_add(&s->fails, b->cfg->maxretry, b->cfg->findtime, now))
		return false;
	s->fails.n = 0;
	return bans_ban(b, k, 0, BAN_FAILURES, now, NULL);
}

/* ---- accounts --------------------------------------------------------- */

static struct acct **
acct_slot(const struct bans *b, struct slice name)
{
	uint64_t h = slice_hash_final(slice_hash(SLICE_HASH_INIT(b->seed), name, false));
	struct acct **pp = &b->at[h & (b->nat - 1)];
	while (*pp && !slice_eq((struct slice){ (*pp)->name, (*pp)->len }, name))
		pp = &(*pp)->next;
	return pp;
}

static void
acct_grow(struct bans *b)
{
	size_t nn = b->nat * 2;
	struct acct **nt = calloc(nn, sizeof(*nt));
	if (!nt)
		return;
	for (size_t i = 0; i < b->nat; i++)
		for (struct acct *a = b->at[i], *na; a; a = na) {
			na = a->next;
			uint64_t h = slice_hash_final(slice_hash(SLICE_HASH_INIT(b->seed),
			    (struct slice){ a->name, a->len }, false));
			a->next = nt[h & (nn - 1)];
			nt[h & (nn - 1)] = a;
		}
	free(b->at);
	b->at = nt;
	b->nat = nn;
}

static struct acct *
acct_get(struct bans *b, struct slice name, bool create)
{
	struct acct **pp = acct_slot(b, name);
	if (*pp || !create || name.n == 0 || b->naccts >= MAX_ACCOUNTS)
		return *pp;
	struct acct *a = calloc(1, sizeof(*a));
	if (!a || !(a->name = slice_dup(name))) {
		free(a);
		return NULL;
	}
	a->len = name.n;
	*pp = a;
	if (++b->naccts > b->nat)
		acct_grow(b);
	return a;
}

static bool
acct_known_at(const struct acct *a, const struct ipkey *k)
{
	for (unsigned i = 0; i < a->ngood; i++)
		if (ipkey_eq(&a->good[i].k, k))
			return true;
	return false;
}

bool
bans_account_locked(struct bans *b, struct slice account, const struct ipkey *k, time_t now)
{
	struct acct *a = b->naccts ? acct_get(b, account, false) : NULL;
	return a && a->locked_until > now && !acct_known_at(a, k);
}

bool
bans_account_fail(struct bans *b, struct slice account, const struct ipkey *k, time_t now)
{
	const struct config *c = b->cfg;
	struct acct *a = acct_get(b, account, true);
	if (!a || acct_known_at(a, k))
		return false;
	if (!ring_add(&a->fails, c->account_maxretry, c->account_findtime, now))
		return false;
	a->fails.n = 0;
	bool fresh = a->locked_until <= now;
	a->locked_until = now + (time_t)c->account_locktime;
	b->dirty = true;
	return fresh;
}

static void
good_add(struct acct *a, const struct ipkey *k, time_t t)
{
	unsigned i, oldest = 0;
	for (i = 0; i < a->ngood; i++) {
		if (ipkey_eq(&a->good[i].k, k))
			break;
		if (a->good[i].t < a->good[oldest].t)
			oldest = i;
	}
	if (i == a->ngood) {
		if (a->ngood < GOOD_MAX)
			a->ngood++;
		else
			i = oldest;
		a->good[i].k = *k;
	}
	a->good[i].t = t;
}

void
bans_account_ok(struct bans *b, struct slice account, const struct ipkey *k, time_t now)
{
	struct acct *a = acct_get(b, account, true);
	if (!a)
		return;
	/* Written at most hourly per address: a re-REGISTER is not news. */
	for (unsigned i = 0; i < a->ngood; i++)
		if (ipkey_eq(&a->good[i].k, k) && now - a->good[i].t < 3600)
			return;
	good_add(a, k, now);
	b->dirty = true;
}

/* ---- the state file --------------------------------------------------- */

bool
bans_dirty(const struct bans *b)
{
	return b->dirty;
}

/* Account names are %XX-escaped so a line always splits into its fields. */
static void
put_escaped(FILE *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '%')
			fprintf(o, "%%%02X", ch);
		else
			fputc(ch, o);
	}
}

static bool
unescape(struct slice s, char *dst, size_t dstsz, size_t *n)
{
	size_t o = 0;
	for (size_t i = 0; i < s.n; i++) {
		char ch = s.p[i];
		if (ch == '%') {
			int hi = i + 2 < s.n ? hex_digit(s.p[i + 1]) : -1;
			int lo = i + 2 < s.n ? hex_digit(s.p[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return false;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= dstsz)
			return false;
		dst[o++] = ch;
	}
	dst[o] = '\0';
	*n = o;
	return o > 0;
}

char *
bans_serialize(struct bans *b, time_t now, size_t *n)
{
	char as[IPKEY_STRLEN], *text = NULL;
	FILE *o = open_memstream(&text, n);

	if (!o)
		return NULL;
	fprintf(o, "# pbxguard ban state, rewritten by the daemon (times: Unix seconds)\n"
	    "version 1\n");
	for (size_t i = 0; i < b->nbt; i++)
		for (const struct ban *x = b->bt[i]; x; x = x->next)
			fprintf(o, "ban %s %lld %lld %u %s %llu\n",
			    ipkey_str(&x->i.addr, as, sizeof(as)),
			    (long long)(x->i.until > now ? x->i.until : 0), (long long)x->i.last,
			    x->i.count, ban_reason_name(x->i.reason),
			    (unsigned long long)x->i.hits);
	for (size_t i = 0; i < b->nat; i++)
		for (const struct acct *a = b->at[i]; a; a = a->next) {
			if (a->locked_until > now) {
				fputs("lock ", o);
				put_escaped(o, a->name, a->len);
				fprintf(o, " %lld\n", (long long)a->locked_until);
			}
			for (unsigned g = 0; g < a->ngood; g++) {
				fputs("good ", o);
				put_escaped(o, a->name, a->len);
				fprintf(o, " %s %lld\n", ipkey_str(&a->good[g].k, as, sizeof(as)),
				    (long long)a->good[g].t);
			}
		}
	if (ferror(o) | (fclose(o) != 0)) {
		free(text);
		return NULL;
	}
	b->dirty = false;
	return text;
}

#define MAX_FIELDS 8

static size_t
split_fields(struct slice line, struct slice *f)
{
	size_t nf = 0, i = 0;
	while (i < line.n) {
		while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
			i++;
		size_t j = i;
		while (j < line.n && line.p[j] != ' ' && line.p[j] != '\t')
			j++;
		if (j > i) {
			if (nf == MAX_FIELDS)
				return MAX_FIELDS + 1;
			f[nf++] = slice_sub(line, i, j - i);
		}
		i = j;
	}
	return nf;
}

static bool
get_time(struct slice s, time_t *t)
{
	uint64_t v;
	if (!slice_to_u64(s, 0, (uint64_t)INT32_MAX * 4, &v))
		return false;
	*t = (time_t)v;
	return true;
}

/* One line of the state file; NULL if taken, else why not. */
static const char *
load_line(struct bans *b, struct slice *f, size_t nf, time_t now)
{
	struct ipkey k;
	time_t until, last;
	uint64_t count, hits;
	char name[512];
	size_t nlen;

	if (slice_eq_cstr(f[0], "version"))
		return nf == 2 && slice_eq_cstr(f[1], "1") ? NULL : "unsupported version";
	if (slice_eq_cstr(f[0], "ban")) {
		enum ban_reason r;
		if (nf != 7)
			return "a ban line has 6 fields: ADDR UNTIL LAST COUNT REASON HITS";
		if (!ipkey_parse(f[1], &k))
			return "not an IP address";
		if (!get_time(f[2], &until) || !get_time(f[3], &last) ||
		    !slice_to_u64(f[4], 0, 1000000, &count) || !reason_parse(f[5], &r) ||
		    !slice_to_u64(f[6], 0, UINT64_MAX, &hits))
			return "bad number or reason";
		struct ban *x = ban_get(b, &k, true);
		if (!x)
			return "too many bans";
		x->i = (struct ban_info){ k, until > now ? until : 0, last, (unsigned)count, r, hits };
		if (x->i.until && (b->next_expiry == 0 || x->i.until < b->next_expiry))
			b->next_expiry = x->i.until;
		return NULL;
	}
	if (slice_eq_cstr(f[0], "lock") || slice_eq_cstr(f[0], "good")) {
		bool lock = f[0].p[0] == 'l';
		if (nf != (lock ? 3u : 4u))
			return lock ? "a lock line has 2 fields: ACCOUNT UNTIL"
			    : "a good line has 3 fields: ACCOUNT ADDR TIME";
		if (!unescape(f[1], name, sizeof(name), &nlen))
			return "bad account name";
		if (lock ? !get_time(f[2], &until) : !ipkey_parse(f[2], &k) || !get_time(f[3], &last))
			return "bad address or time";
		struct acct *a = acct_get(b, (struct slice){ name, nlen }, true);
		if (!a)
			return "too many accounts";
		if (lock)
			a->locked_until = until;
		else
			good_add(a, &k, last);
		return NULL;
	}
	return "unknown record (expected version, ban, lock or good)";
}

size_t
bans_load_text(struct bans *b, const char *data, size_t n, const char *fname, time_t now,
    char *err, size_t errsz)
{
	struct slice rest = { data, n }, f[MAX_FIELDS + 1];
	size_t bad = 0;
	unsigned lineno = 0;

	if (errsz)
		err[0] = '\0';
	while (rest.n) {
		struct slice line = slice_cut(rest, '\n', &rest);
		lineno++;
		line = slice_trim(line);
		if (line.n == 0 || line.p[0] == '#')
			continue;
		size_t nf = split_fields(line, f);
		const char *why = nf > MAX_FIELDS ? "too many fields" : load_line(b, f, nf, now);
		if (why && bad++ == 0 && errsz)
			snprintf(err, errsz, "%s:%u: %s", fname, lineno, why);
	}
	return bad;
}
