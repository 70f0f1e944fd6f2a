/* The stores' parsers on any bytes: soci-password-request (each engine's
 * placeholder style), soci-connection-string pairs, rows into an account,
 * the state = redis:// URL and the messages the nodes send each other
 * through Redis, and an AMI / IAX2 row's named columns into that user's
 * keys. The translated request never holds a ':' name we did not bind, a
 * row never overruns the account, a column never becomes two keys, and a
 * message is one of four kinds with its fields filled. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "store/iaxusers.h"
#include "store/mgrusers.h"
#include "store/redis.h"
#include "store/sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[4096], err[256], k[32], v[512];
	struct sql_query q;
	struct account a;
	const char *why;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (int style = SQL_STYLE_DOLLAR; style <= SQL_STYLE_QMARK; style++) {
		if (sql_compile(text, (enum sql_style)style, "soci-password-request", &q, err, sizeof(err)) < 0) {
			if (!err[0])
				abort();
			continue;
		}
		if (!q.uses[SQL_P_ID] || q.nbinds == 0 || q.nbinds > SQL_MAX_BINDS ||
		    strlen(q.text) >= sizeof(q.text))
			abort();
		for (size_t i = 0; i < q.nbinds; i++)
			if (q.binds[i] >= SQL_NPARAMS || !q.uses[q.binds[i]])
				abort();
	}
	const char *pos = text;
	int r, guard = 0;
	while ((r = sql_conninfo_next(&pos, k, sizeof(k), v, sizeof(v), err, sizeof(err))) > 0)
		if (strlen(k) >= sizeof(k) || strlen(v) >= sizeof(v) || ++guard > (int)size + 1)
			abort();
	/* A row: the first byte splits the input into password and algorithm. */
	if (size > 1) {
		size_t cut = data[0] % size;
		memset(&a, 0, sizeof(a));
		bool ok = sql_row_to_account(text + 1, cut, text + 1 + cut, size - 1 - cut,
		    data[0] & 1, &a, &why);
		if (ok && !a.has_clrtxt && !a.has_ha1[0] && !a.has_ha1[1] && !a.has_ha1[2])
			abort();
		if (a.has_clrtxt && strlen(a.clrtxt) >= sizeof(a.clrtxt))
			abort();
	}
	/* Named columns: "name\x01value\x01name\x01value..." after two. */
	struct sql_row row = { .ncols = 2 };
	char *p = text;
	while (row.ncols < SQL_MAX_COLS && *p) {
		char *sep = strchr(p, '\x01');
		if (!sep)
			break;
		*sep = '\0';
		row.name[row.ncols] = p;
		char *val = sep + 1, *end = strchr(val, '\x01');
		row.val[row.ncols] = val;
		row.len[row.ncols] = end ? (size_t)(end - val) : strlen(val);
		row.ncols++;
		if (!end)
			break;
		p = end + 1;
	}
	memset(&a, 0, sizeof(a));
	if (sql_row_attrs(&row, 2, &a, &why)) {
		size_t at = 0, lines = 0;
		while (account_attr_next(&a, &at, k, sizeof(k), v, sizeof(v)))
			if (strchr(k, '\n') || strchr(v, '\n') || ++lines > (size_t)row.ncols - 2)
				abort();
		static struct config cfg;
		static int once;
		if (!once++)
			config_defaults(&cfg);
		snprintf(a.clrtxt, sizeof(a.clrtxt), "secret");
		a.has_clrtxt = true;
		mgr_users_free(mgr_users_from_account(SLICE_LIT("u"), &a, "fuzz", &cfg, err,
		    sizeof(err)));
		iax_users_free(iax_users_from_account(SLICE_LIT("u"), &a, "fuzz", &cfg, err,
		    sizeof(err)));
	}
	memcpy(text, data, size); /* the columns cut it up */
	text[size] = '\0';
	struct redis_url u;
	if (redis_url_parse(text, &u, err, sizeof(err))) {
		if (u.db > 1023)
			abort();
		if (!u.sentinel && (!u.host[0] || u.port == 0 || u.port > 65535))
			abort();
		if (u.sentinel && (!u.master[0] || u.nsentinels == 0 ||
		    u.nsentinels > REDIS_MAX_SENTINELS))
			abort();
		for (size_t i = 0; u.sentinel && i < u.nsentinels; i++)
			if (!u.sentinels[i].host[0] || u.sentinels[i].port == 0)
				abort();
	}
	struct rstate_msg m;
	if (rstate_msg_parse((const char *)data, size, &m)) {
		if (!m.node[0] || m.kind > RSTATE_UNREG)
			abort();
		if ((m.kind == RSTATE_REG || m.kind == RSTATE_UNREG) && !m.aor[0])
			abort();
		if (m.kind == RSTATE_REG && (!m.where[0] || m.until <= 0))
			abort();
		if (m.kind == RSTATE_BAN && m.until <= 0)
			abort();
	}
	return 0;
}
