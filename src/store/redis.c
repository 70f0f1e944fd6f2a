/* Shared bans, nonces and registrations in Redis: see redis.h. */
#include "store/redis.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "core/log.h"
#include "core/rand.h"
#include "core/slice.h"

#define RETRY_MS 1000
#define CONNECT_TIMEOUT 5	/* s a connection may stay half-made */
#define RESYNC_TICKS 5		/* retry ticks between two reads of the whole set */

/* A nonce count: taken (0), the same request again (1) or already used (2),
 * compared and set at once so that two nodes cannot both take it. */
static const char nc_script[] =
	"local v = redis.call('GET', KEYS[1]) "
	"local nc = tonumber(ARGV[1]) "
	"if v then "
	"  local sp = string.find(v, ' ', 1, true) "
	"  local old = tonumber(string.sub(v, 1, sp - 1)) "
	"  if nc < old then return 2 end "
	"  if nc == old then "
	"    if string.sub(v, sp + 1) == ARGV[2] then return 1 end "
	"    return 2 "
	"  end "
	"end "
	"redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[3]) "
	"return 0";

/* Our registration gone: the field is removed only while it is still ours. */
static const char unreg_script[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1]) "
	"if v and string.sub(v, 1, string.len(ARGV[2]) + 1) == ARGV[2] .. ' ' then "
	"  redis.call('HDEL', KEYS[1], ARGV[1]) "
	"end "
	"return 0";

/* Every registration in force; the ended ones are removed on the way
 * (fields have no expiry of their own). */
static const char regs_script[] =
	"local t = redis.call('HGETALL', KEYS[1]) "
	"local out = {} "
	"local now = tonumber(ARGV[1]) "
	"for i = 1, #t, 2 do "
	"  local u = tonumber(string.match(t[i + 1], '^%S+ %S+ (%d+)')) "
	"  if u == nil or u <= now then "
	"    redis.call('HDEL', KEYS[1], t[i]) "
	"  else "
	"    out[#out + 1] = t[i] "
	"    out[#out + 1] = t[i + 1] "
	"  end "
	"end "
	"return out";

struct rstate {
	struct redis_url url;
	struct event_base *base;
	struct rstate_hooks hooks;
	redisAsyncContext *cmd, *sub;	/* NULL: not connected */
	/* redis-sentinel://: the sentinel asked, which one, and what it said. */
	redisAsyncContext *sen;
	size_t sen_i;
	bool asking, master_known;
	time_t asked;			/* when the question went out */
	time_t cmd_started, sub_started;
	bool up, cmd_ready;
	bool said;			/* the first state was logged */
	time_t since;
	char node[17];			/* ours, to skip our own messages */
	char channel[48], key[48];
	char nonce_key[48], regs_key[48];
	struct event *retry;
	unsigned ticks;
	unsigned long long published, received, outages, nc_checks;
	bool closing;
};

/* host[:port] in [p, end), [v6] in brackets; port as given or dflt. */
static bool
parse_hostport(const char *p, const char *end, unsigned dflt, struct redis_hostport *hp,
    char *err, size_t errsz)
{
	const char *hend, *portp = NULL;

	if (*p == '[') {
		if (!(hend = memchr(p, ']', (size_t)(end - p)))) {
			snprintf(err, errsz, "state: '[' without ']'");
			return false;
		}
		p++;
		if (hend + 1 < end) {
			if (hend[1] != ':') {
				snprintf(err, errsz, "state: expected ':' after ']'");
				return false;
			}
			portp = hend + 2;
		}
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (hend)
			portp = hend + 1;
		else
			hend = end;
	}
	if (hend == p || (size_t)(hend - p) >= sizeof(hp->host)) {
		snprintf(err, errsz, "state: no host, or a host too long");
		return false;
	}
	memcpy(hp->host, p, (size_t)(hend - p));
	hp->host[hend - p] = '\0';
	uint64_t v = dflt;
	if (portp && !slice_to_u64((struct slice){ portp, (size_t)(end - portp) }, 1, 65535, &v)) {
		snprintf(err, errsz, "state: bad port");
		return false;
	}
	hp->port = (unsigned)v;
	return true;
}

bool
redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errsz)
{
	static const char plain[] = "redis://", sentinel[] = "redis-sentinel://";
	const char *p = url, *at, *end, *frag;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, sentinel, sizeof(sentinel) - 1) == 0) {
		out->sentinel = true;
		p += sizeof(sentinel) - 1;
	} else if (strncmp(p, plain, sizeof(plain) - 1) == 0) {
		p += sizeof(plain) - 1;
	} else {
		snprintf(err, errsz, "state: expected redis://host:port/db or "
		    "redis-sentinel://host:port,host:port/db#master");
		return false;
	}
	frag = p + strcspn(p, "#");
	end = p + strcspn(p, "/#");
	/* RFC 3986 userinfo: an '@', ':' or '/' inside it comes %XX-encoded. */
	if ((at = memchr(p, '@', (size_t)(end - p)))) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		struct slice user = { p, colon ? (size_t)(colon - p) : 0 };
		struct slice pass = colon ? (struct slice){ colon + 1, (size_t)(at - colon - 1) }
		    : (struct slice){ p, (size_t)(at - p) };
		if (!slice_pct_decode(user, out->user, sizeof(out->user), NULL) ||
		    !slice_pct_decode(pass, out->password, sizeof(out->password), NULL)) {
			snprintf(err, errsz, "state: user or password too long, or a bad %%XX in it");
			return false;
		}
		p = at + 1;
	}
	/* One server, or the sentinels, comma-separated. */
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		struct redis_hostport hp;
		if (!parse_hostport(p, e, out->sentinel ? 26379 : 6379, &hp, err, errsz))
			return false;
		if (!out->sentinel) {
			if (comma) {
				snprintf(err, errsz, "state: several hosts need redis-sentinel://");
				return false;
			}
			snprintf(out->host, sizeof(out->host), "%s", hp.host);
			out->port = hp.port;
			break;
		}
		if (out->nsentinels == REDIS_MAX_SENTINELS) {
			snprintf(err, errsz, "state: more than %d sentinels", REDIS_MAX_SENTINELS);
			return false;
		}
		out->sentinels[out->nsentinels++] = hp;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (*end == '/' && end + 1 < frag) {
		uint64_t v;
		if (!slice_to_u64((struct slice){ end + 1, (size_t)(frag - end - 1) }, 0, 1023, &v)) {
			snprintf(err, errsz, "state: bad database number '%.*s'",
			    (int)(frag - end - 1 > 20 ? 20 : frag - end - 1), end + 1);
			return false;
		}
		out->db = (unsigned)v;
	}
	if (out->sentinel) {
		size_t n = *frag ? strlen(frag + 1) : 0;
		if (n == 0 || n >= sizeof(out->master) || strpbrk(frag + 1, " \r\n")) {
			snprintf(err, errsz, "state: redis-sentinel:// needs #master (the name the "
			    "sentinels monitor)");
			return false;
		}
		memcpy(out->master, frag + 1, n + 1);
	} else if (*frag) {
		snprintf(err, errsz, "state: '#' belongs to redis-sentinel:// URLs");
		return false;
	}
	return true;
}

/* For logs and the admin page: "host:port/db", and with sentinels the
 * master's name too. */
static const char *
where(const struct rstate *rs, char *buf, size_t bufsz)
{
	if (!rs->url.sentinel)
		snprintf(buf, bufsz, "%s:%u/%u", rs->url.host, rs->url.port, rs->url.db);
	else if (rs->master_known)
		snprintf(buf, bufsz, "%s:%u/%u (sentinel master %s)", rs->url.host, rs->url.port,
		    rs->url.db, rs->url.master);
	else
		snprintf(buf, bufsz, "sentinel master %s/%u", rs->url.master, rs->url.db);
	return buf;
}

static void
set_up(struct rstate *rs, bool up, const char *why)
{
	char at[sizeof(rs->url.host) + sizeof(rs->url.master) + 48];

	/* Each change is said once; so is the first word, up or not. */
	if (rs->up == up && rs->said)
		return;
	if (rs->up && !up)
		rs->outages++;
	if (!up && rs->hooks.nonce_key)
		rs->hooks.nonce_key(rs->hooks.arg, NULL);
	rs->up = up;
	rs->said = true;
	rs->since = time(NULL);
	if (up) {
		log_notice("state: redis %s connected; bans, nonces and registrations are shared",
		    where(rs, at, sizeof(at)));
	} else {
		log_err("state: redis %s unreachable (%s); going on with this node's own bans, "
		    "nonces and registrations, retrying every second", where(rs, at, sizeof(at)),
		    why);
	}
}

/* Frees a connection without its callbacks reaching us. */
static void
drop(redisAsyncContext **c)
{
	if (*c) {
		redisAsyncContext *x = *c;
		*c = NULL;
		x->data = NULL;
		redisAsyncFree(x);
	}
}

/* A reply that is an error, or none at all: the connection is no use. */
static bool
failed(struct rstate *rs, redisReply *r, const char *what)
{
	if (r && r->type != REDIS_REPLY_ERROR)
		return false;
	/* Redis's error text may quote a key or value, and those hold AORs
	 * that came off the wire. */
	char why[LOG_ESCAPED_SIZE(200) + 64], esc[LOG_ESCAPED_SIZE(200)];
	snprintf(why, sizeof(why), "%s: %s", what, r ? log_escape((struct slice){ r->str,
	    r->len < 200 ? r->len : 200 }, esc, sizeof(esc)) : "no reply");
	set_up(rs, false, why);
	/* An error on a live connection (a wrong password, say): close it, so
	 * the retry timer makes a new one rather than leaving us down for good. */
	if (r && rs->cmd)
		redisAsyncDisconnect(rs->cmd);
	return true;
}

/* The bans in force in the set: each goes to the owner (who keeps the
 * longest). True when the reply was one. */
static bool
take_bans(struct rstate *rs, redisReply *r)
{
	time_t now = time(NULL);

	if (rs->closing || failed(rs, r, "ZRANGEBYSCORE") || r->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		struct ipkey k;
		uint64_t until;
		redisReply *m = r->element[i], *s = r->element[i + 1];
		if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
		    !ipkey_parse((struct slice){ m->str, m->len }, &k) ||
		    !slice_to_u64((struct slice){ s->str, s->len }, 0, UINT32_MAX * 2ull, &until))
			continue;
		if ((time_t)until > now)
			rs->hooks.ban(rs->hooks.arg, &k, (time_t)until);
	}
	return true;
}

/* The registrations in force, from the regs script: each other node's to
 * the hook. */
static void
on_regs(redisAsyncContext *c, void *reply, void *arg)
{
	struct rstate *rs = arg;
	redisReply *r = reply;
	(void)c;
	if (rs->closing || failed(rs, r, "registrations") || r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		redisReply *f = r->element[i], *v = r->element[i + 1];
		char line[RSTATE_MSG_MAX];
		struct rstate_msg m;
		/* The stored value and its field read as the message announcing them. */
		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		int n = snprintf(line, sizeof(line), "reg %.*s %.*s", (int)v->len, v->str,
		    (int)f->len, f->str);
		if (n > 0 && (size_t)n < sizeof(line) && rstate_msg_parse(line, (size_t)n, &m) &&
		    m.kind == RSTATE_REG && strcmp(m.node, rs->node) != 0 &&
		    strlen(m.aor) == f->len)
			rs->hooks.reg(rs->hooks.arg, m.aor, m.node, m.where, m.until, m.at);
	}
}

static void
ask_regs(struct rstate *rs)
{
	if (rs->hooks.reg)
		redisAsyncCommand(rs->cmd, on_regs, rs, "EVAL %s 1 %s %lld", regs_script,
		    rs->regs_key, (long long)time(NULL));
}

/* The nonce key, as the first node to connect made it. */
static void
on_nonce_key(redisAsyncContext *c, void *reply, void *arg)
{
	struct rstate *rs = arg;
	redisReply *r = reply;
	uint8_t key[32];
	(void)c;
	if (rs->closing || failed(rs, r, "GET nonce-key"))
		return;
	if (r->type != REDIS_REPLY_STRING || r->len != 64 ||
	    !hex_decode((struct slice){ r->str, r->len }, key, sizeof(key))) {
		log_err("state: %s in redis is not 64 hex digits; nonces stay this node's own",
		    rs->nonce_key);
		return;
	}
	if (rs->hooks.nonce_key)
		rs->hooks.nonce_key(rs->hooks.arg, key);
	OPENSSL_cleanse(key, sizeof(key));
}

/* After (re)connecting: theirs to us, then ours to them. */
static void
on_reconciled(redisAsyncContext *c, void *reply, void *arg)
{
	struct rstate *rs = arg;
	(void)c;
	if (!take_bans(rs, reply))
		return;
	set_up(rs, true, NULL);
	rs->hooks.up(rs->hooks.arg);
}

/*
 * Every few seconds while up: a ban published while our subscription was
 * being made again (both nodes reconnecting at once) is still learnt.
 */
static void
on_resync(redisAsyncContext *c, void *reply, void *arg)
{
	(void)c;
	take_bans(arg, reply);
}

static void
on_checked(redisAsyncContext *c, void *reply, void *arg)
{
	(void)c;
	struct rstate *rs = arg;
	if (!rs->closing)
		failed(rs, reply, "command");
}

static void
on_cmd_connect(const redisAsyncContext *c, int status)
{
	struct rstate *rs = c->data;
	if (!rs)
		return;
	if (status != REDIS_OK) {
		rs->cmd = NULL; /* hiredis frees it */
		set_up(rs, false, c->errstr);
		return;
	}
	rs->cmd_ready = true;
}

static void
on_cmd_disconnect(const redisAsyncContext *c, int status)
{
	struct rstate *rs = c->data;
	(void)status;
	if (!rs)
		return;
	rs->cmd = NULL;
	rs->cmd_ready = false;
	rs->master_known = false; /* with sentinels: ask again where it is */
	set_up(rs, false, c->errstr[0] ? c->errstr : "connection closed");
}

static void
on_sub_connect(const redisAsyncContext *c, int status)
{
	struct rstate *rs = c->data;
	if (rs && status != REDIS_OK) {
		rs->sub = NULL;
		set_up(rs, false, c->errstr);
	}
}

static void
on_sub_disconnect(const redisAsyncContext *c, int status)
{
	struct rstate *rs = c->data;
	(void)status;
	if (!rs)
		return;
	rs->sub = NULL;
	set_up(rs, false, c->errstr[0] ? c->errstr : "connection closed");
}

bool
rstate_msg_parse(const char *text, size_t n, struct rstate_msg *m)
{
	char msg[RSTATE_MSG_MAX], *f[6], *save = NULL;
	size_t nf = 0;
	uint64_t until = 0, at = 0;

	memset(m, 0, sizeof(*m));
	if (n >= sizeof(msg) || memchr(text, '\0', n))
		return false;
	memcpy(msg, text, n);
	msg[n] = '\0';
	bool reg = strncmp(msg, "reg ", 4) == 0, unreg = strncmp(msg, "unreg ", 6) == 0;
	size_t want = reg ? 5 : unreg ? 2 : 4; /* words before the AOR */
	/* No more words than wanted are cut: the AOR is what remains after them. */
	for (char *t; nf < want && (t = strtok_r(nf ? NULL : msg, " ", &save));)
		f[nf++] = t;
	if ((reg || unreg) && nf == want && save && *save)
		f[nf++] = save; /* the AOR: the rest, whatever it holds */
	else if (!reg && !unreg && nf == want && strtok_r(NULL, " ", &save))
		return false; /* a ban has four words, no more */
	if (nf < 3 || strlen(f[1]) >= sizeof(m->node))
		return false;
	snprintf(m->node, sizeof(m->node), "%s", f[1]);
	if (reg) {
		if (nf != 6 || strlen(f[2]) >= sizeof(m->where) ||
		    !slice_to_u64(slice_cstr(f[3]), 1, UINT32_MAX * 2ull, &until) ||
		    !slice_to_u64(slice_cstr(f[4]), 0, UINT32_MAX * 2ull, &at))
			return false;
		m->kind = RSTATE_REG;
		snprintf(m->where, sizeof(m->where), "%s", f[2]);
		snprintf(m->aor, sizeof(m->aor), "%s", f[5]);
	} else if (unreg) {
		if (nf != 3)
			return false;
		m->kind = RSTATE_UNREG;
		snprintf(m->aor, sizeof(m->aor), "%s", f[2]);
	} else if (strcmp(f[0], "ban") == 0 && nf == 4 &&
	    slice_to_u64(slice_cstr(f[3]), 1, UINT32_MAX * 2ull, &until)) {
		m->kind = RSTATE_BAN;
	} else if (strcmp(f[0], "unban") == 0 && nf == 3) {
		m->kind = RSTATE_UNBAN;
	} else {
		return false;
	}
	if ((m->kind == RSTATE_BAN || m->kind == RSTATE_UNBAN) &&
	    !ipkey_parse(slice_cstr(f[2]), &m->addr))
		return false;
	m->until = (time_t)until;
	m->at = (time_t)at;
	return true;
}

static void
on_message(redisAsyncContext *c, void *reply, void *arg)
{
	struct rstate *rs = arg;
	redisReply *r = reply;
	struct rstate_msg m;
	(void)c;

	if (rs->closing || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0 ||
	    r->element[2]->type != REDIS_REPLY_STRING ||
	    !rstate_msg_parse(r->element[2]->str, r->element[2]->len, &m) ||
	    strcmp(m.node, rs->node) == 0) /* ours, echoed back */
		return;
	if ((m.kind == RSTATE_REG || m.kind == RSTATE_UNREG) && !rs->hooks.reg)
		return;
	rs->received++;
	switch (m.kind) {
	case RSTATE_BAN:
		rs->hooks.ban(rs->hooks.arg, &m.addr, m.until);
		break;
	case RSTATE_UNBAN:
		rs->hooks.ban(rs->hooks.arg, &m.addr, 0);
		break;
	case RSTATE_REG:
		rs->hooks.reg(rs->hooks.arg, m.aor, m.node, m.where, m.until, m.at);
		break;
	case RSTATE_UNREG:
		rs->hooks.reg(rs->hooks.arg, m.aor, m.node, "", 0, 0);
		break;
	}
}

static redisAsyncContext *
connect_one(struct rstate *rs, void (*on_conn)(const redisAsyncContext *, int),
    void (*on_disc)(const redisAsyncContext *, int))
{
	redisAsyncContext *c = redisAsyncConnect(rs->url.host, (int)rs->url.port);
	if (!c)
		return NULL;
	if (c->err) {
		set_up(rs, false, c->errstr);
		redisAsyncFree(c);
		return NULL;
	}
	c->data = rs;
	redisLibeventAttach(c, rs->base);
	redisAsyncSetConnectCallback(c, on_conn);
	redisAsyncSetDisconnectCallback(c, on_disc);
	if (rs->url.user[0])
		redisAsyncCommand(c, on_checked, rs, "AUTH %s %s", rs->url.user, rs->url.password);
	else if (rs->url.password[0])
		redisAsyncCommand(c, on_checked, rs, "AUTH %s", rs->url.password);
	return c;
}

/* ---- Sentinel: where the master is ------------------------------------- */

static void reconnect(struct rstate *rs);

static void
on_sen_connect(const redisAsyncContext *c, int status)
{
	struct rstate *rs = c->data;
	if (rs && status != REDIS_OK)
		rs->sen = NULL; /* hiredis frees it; on_master hears NULL and moves on */
}

static void
on_sen_disconnect(const redisAsyncContext *c, int status)
{
	struct rstate *rs = c->data;
	(void)status;
	if (rs)
		rs->sen = NULL;
}

/* A host name or address as a sentinel gives it: it is logged and
 * connected to, so nothing else (no blank, no control byte) gets through. */
static bool
host_ok(struct slice h)
{
	if (h.n == 0 || h.n >= sizeof(((struct redis_url *)0)->host))
		return false;
	for (size_t i = 0; i < h.n; i++)
		if (!isalnum((unsigned char)h.p[i]) && !memchr(".-_:%", h.p[i], 5))
			return false;
	return true;
}

/*
 * SENTINEL get-master-addr-by-name answered: ["host", "port"]. A new
 * address (the first, or after a failover) drops the connections to the
 * old one and makes them again; no answer tries the next sentinel.
 */
static void
on_master(redisAsyncContext *c, void *reply, void *arg)
{
	struct rstate *rs = arg;
	redisReply *r = reply;
	struct redis_hostport *sen;
	uint64_t port;
	(void)c;

	if (rs->closing)
		return;
	rs->asking = false;
	sen = &rs->url.sentinels[rs->sen_i];
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
	    !host_ok((struct slice){ r->element[0]->str, r->element[0]->len }) ||
	    !slice_to_u64((struct slice){ r->element[1]->str, r->element[1]->len }, 1, 65535,
	    &port)) {
		char why[LOG_ESCAPED_SIZE(120) + 400], esc[LOG_ESCAPED_SIZE(120)];
		snprintf(why, sizeof(why), "sentinel %s:%u: %s", sen->host, sen->port,
		    !r ? "no answer" : r->type == REDIS_REPLY_NIL ? "does not know that master"
		    : r->type == REDIS_REPLY_ERROR ? log_escape((struct slice){ r->str,
		    r->len < 120 ? r->len : 120 }, esc, sizeof(esc)) : "an answer that is no address");
		drop(&rs->sen);
		rs->sen_i = (rs->sen_i + 1) % rs->url.nsentinels;
		if (!rs->master_known)
			set_up(rs, false, why);
		return;
	}
	const char *host = r->element[0]->str;
	if (rs->master_known && strcmp(host, rs->url.host) == 0 && port == rs->url.port)
		return;
	if (rs->master_known || rs->cmd || rs->sub)
		log_notice("state: sentinel %s:%u: master %s is now %s:%llu (was %s:%u)", sen->host,
		    sen->port, rs->url.master, host, (unsigned long long)port, rs->url.host,
		    rs->url.port);
	else
		log_info("state: sentinel %s:%u: master %s is %s:%llu", sen->host, sen->port,
		    rs->url.master, host, (unsigned long long)port);
	bool was_up = rs->up;
	drop(&rs->cmd);
	drop(&rs->sub);
	rs->cmd_ready = false;
	if (was_up)
		set_up(rs, false, "the sentinels moved the master");
	snprintf(rs->url.host, sizeof(rs->url.host), "%s", host);
	rs->url.port = (unsigned)port;
	rs->master_known = true;
	reconnect(rs);
}

/* Once a second with sentinels: a failover is noticed within it. */
static void
ask_sentinel(struct rstate *rs)
{
	/* A sentinel that neither answers nor refuses (a host gone): the next. */
	if (rs->asking && time(NULL) - rs->asked > CONNECT_TIMEOUT)
		drop(&rs->sen); /* on_master hears NULL, and moves on */
	if (rs->asking)
		return;
	if (!rs->sen) {
		struct redis_hostport *sen = &rs->url.sentinels[rs->sen_i];
		redisAsyncContext *c = redisAsyncConnect(sen->host, (int)sen->port);
		if (!c)
			return;
		if (c->err) {
			redisAsyncFree(c);
			rs->sen_i = (rs->sen_i + 1) % rs->url.nsentinels;
			return;
		}
		c->data = rs;
		redisLibeventAttach(c, rs->base);
		redisAsyncSetConnectCallback(c, on_sen_connect);
		redisAsyncSetDisconnectCallback(c, on_sen_disconnect);
		rs->sen = c;
	}
	if (redisAsyncCommand(rs->sen, on_master, rs, "SENTINEL get-master-addr-by-name %s",
	    rs->url.master) == REDIS_OK) {
		rs->asking = true;
		rs->asked = time(NULL);
	}
}

static void
reconnect(struct rstate *rs)
{
	time_t now = time(NULL);

	if (rs->url.sentinel && !rs->master_known) {
		ask_sentinel(rs); /* on_master connects */
		return;
	}

	/* A connection neither made nor refused for this long is given up. */
	if (rs->cmd && !rs->cmd_ready && now - rs->cmd_started > CONNECT_TIMEOUT) {
		drop(&rs->cmd);
		set_up(rs, false, "connect timed out");
	}
	if (!rs->sub && (rs->sub = connect_one(rs, on_sub_connect, on_sub_disconnect))) {
		rs->sub_started = now;
		redisAsyncCommand(rs->sub, on_message, rs, "SUBSCRIBE %s", rs->channel);
	}
	if (!rs->cmd && (rs->cmd = connect_one(rs, on_cmd_connect, on_cmd_disconnect))) {
		rs->cmd_started = now;
		rs->cmd_ready = false;
		redisAsyncCommand(rs->cmd, on_checked, rs, "SELECT %u", rs->url.db);
		if (rs->hooks.nonce_key) {
			uint8_t key[32];
			char hex[65];
			rand_bytes(key, sizeof(key));
			hex_encode(key, sizeof(key), hex);
			redisAsyncCommand(rs->cmd, on_checked, rs, "SET %s %s NX", rs->nonce_key, hex);
			redisAsyncCommand(rs->cmd, on_nonce_key, rs, "GET %s", rs->nonce_key);
			OPENSSL_cleanse(key, sizeof(key));
			OPENSSL_cleanse(hex, sizeof(hex));
		}
		ask_regs(rs);
		redisAsyncCommand(rs->cmd, on_checked, rs, "ZREMRANGEBYSCORE %s -inf %lld", rs->key,
		    (long long)now);
		redisAsyncCommand(rs->cmd, on_reconciled, rs, "ZRANGEBYSCORE %s (%lld +inf WITHSCORES",
		    rs->key, (long long)now);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct rstate *rs = arg;
	(void)fd;
	(void)what;
	if (rs->url.sentinel)
		ask_sentinel(rs);
	reconnect(rs);
	if (rs->up && rs->cmd && ++rs->ticks % RESYNC_TICKS == 0) {
		redisAsyncCommand(rs->cmd, on_resync, rs, "ZRANGEBYSCORE %s (%lld +inf WITHSCORES",
		    rs->key, (long long)time(NULL));
		ask_regs(rs);
	}
}

struct rstate *
rstate_new(const char *url, struct event_base *base, const struct rstate_hooks *hooks,
    char *err, size_t errsz)
{
	struct rstate *rs = calloc(1, sizeof(*rs));
	uint8_t id[8];

	if (!rs) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (!redis_url_parse(url, &rs->url, err, errsz))
		goto bad;
	rs->base = base;
	rs->hooks = *hooks;
	rs->since = time(NULL);
	rand_bytes(id, sizeof(id));
	hex_encode(id, sizeof(id), rs->node);
	/* Channels are not per database in Redis: the number keeps clusters apart. */
	snprintf(rs->channel, sizeof(rs->channel), "pbxguard:%u:bans", rs->url.db);
	snprintf(rs->key, sizeof(rs->key), "pbxguard:bans");
	snprintf(rs->nonce_key, sizeof(rs->nonce_key), "pbxguard:nonce-key");
	snprintf(rs->regs_key, sizeof(rs->regs_key), "pbxguard:regs");
	struct timeval every = { RETRY_MS / 1000, (RETRY_MS % 1000) * 1000 };
	if (!(rs->retry = event_new(base, -1, EV_PERSIST, on_retry, rs)) ||
	    event_add(rs->retry, &every) < 0) {
		snprintf(err, errsz, "out of memory");
		goto bad;
	}
	reconnect(rs);
	return rs;
bad:
	if (rs->retry)
		event_free(rs->retry);
	free(rs);
	return NULL;
}

void
rstate_free(struct rstate *rs)
{
	if (!rs)
		return;
	rs->closing = true;
	drop(&rs->cmd);
	drop(&rs->sub);
	drop(&rs->sen);
	event_free(rs->retry);
	free(rs);
}

void
rstate_ban(struct rstate *rs, const struct ipkey *k, time_t until)
{
	char as[IPKEY_STRLEN], msg[160];
	if (!rs->up || !rs->cmd)
		return; /* the up hook sends it when Redis is back */
	ipkey_str(k, as, sizeof(as));
	snprintf(msg, sizeof(msg), "ban %s %s %lld", rs->node, as, (long long)until);
	redisAsyncCommand(rs->cmd, on_checked, rs, "ZADD %s GT %lld %s", rs->key,
	    (long long)until, as);
	redisAsyncCommand(rs->cmd, on_checked, rs, "PUBLISH %s %s", rs->channel, msg);
	rs->published++;
}

void
rstate_unban(struct rstate *rs, const struct ipkey *k)
{
	char as[IPKEY_STRLEN], msg[160];
	if (!rs->up || !rs->cmd)
		return; /* lost: the others keep the ban until it ends (fail closed) */
	ipkey_str(k, as, sizeof(as));
	snprintf(msg, sizeof(msg), "unban %s %s", rs->node, as);
	redisAsyncCommand(rs->cmd, on_checked, rs, "ZREM %s %s", rs->key, as);
	redisAsyncCommand(rs->cmd, on_checked, rs, "PUBLISH %s %s", rs->channel, msg);
	rs->published++;
}

void
rstate_reg(struct rstate *rs, const char *aor, const char *where, time_t until, time_t at)
{
	char val[RSTATE_MSG_MAX], msg[RSTATE_MSG_MAX];
	if (!rs->up || !rs->cmd)
		return; /* the up hook sends every registration again */
	if (until) {
		snprintf(val, sizeof(val), "%s %s %lld %lld", rs->node, where, (long long)until,
		    (long long)at);
		if ((size_t)snprintf(msg, sizeof(msg), "reg %s %s %lld %lld %s", rs->node, where,
		    (long long)until, (long long)at, aor) >= sizeof(msg))
			return;
		redisAsyncCommand(rs->cmd, on_checked, rs, "HSET %s %s %s", rs->regs_key, aor, val);
	} else {
		if ((size_t)snprintf(msg, sizeof(msg), "unreg %s %s", rs->node, aor) >= sizeof(msg))
			return;
		redisAsyncCommand(rs->cmd, on_checked, rs, "EVAL %s 1 %s %s %s", unreg_script,
		    rs->regs_key, aor, rs->node);
	}
	redisAsyncCommand(rs->cmd, on_checked, rs, "PUBLISH %s %s", rs->channel, msg);
	rs->published++;
}

/* One nonce count asked: who to tell. */
struct nc_ask {
	struct rstate *rs;
	rstate_nc_cb *cb;
	void *arg;
	uint64_t token;
};

static void
on_nc(redisAsyncContext *c, void *reply, void *priv)
{
	struct nc_ask *a = priv;
	redisReply *r = reply;
	(void)c;
	/* Freed connections answer NULL; a closing rstate tells nobody. */
	if (!a->rs->closing) {
		int res = r && r->type == REDIS_REPLY_INTEGER && r->integer >= 0 &&
		    r->integer <= 2 ? (int)r->integer : -1;
		if (r && r->type == REDIS_REPLY_ERROR)
			failed(a->rs, r, "nonce count");
		a->cb(a->arg, a->token, res);
	}
	free(a);
}

bool
rstate_nc_use(struct rstate *rs, uint64_t id, uint32_t nc, uint64_t reqhash, time_t until,
    rstate_nc_cb *cb, void *arg, uint64_t token)
{
	char key[64], rh[17];
	long long ttl = (long long)(until - time(NULL));
	struct nc_ask *a;

	if (!rs->up || !rs->cmd || !(a = malloc(sizeof(*a))))
		return false;
	*a = (struct nc_ask){ rs, cb, arg, token };
	snprintf(key, sizeof(key), "pbxguard:nc:%016llx", (unsigned long long)id);
	snprintf(rh, sizeof(rh), "%016llx", (unsigned long long)reqhash);
	if (redisAsyncCommand(rs->cmd, on_nc, a, "EVAL %s 1 %s %u %s %lld", nc_script, key,
	    (unsigned)nc, rh, ttl > 0 ? ttl : 1) != REDIS_OK) {
		free(a);
		return false;
	}
	rs->nc_checks++;
	return true;
}

void
rstate_status(const struct rstate *rs, struct rstate_status *out)
{
	memset(out, 0, sizeof(*out));
	out->up = rs->up;
	out->since = rs->since;
	out->published = rs->published;
	out->received = rs->received;
	out->outages = rs->outages;
	out->nc_checks = rs->nc_checks;
	where(rs, out->where, sizeof(out->where));
}
