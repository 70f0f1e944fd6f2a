/* The stores' parsers on any bytes: soci-password-request (each engine's
 * placeholder style), soci-connection-string pairs, rows into an account,
 * the state = redis:// URL and the messages the nodes send each other
 * through Redis. The translated request never holds a ':' name we did not
 * bind, a row never overruns the account, and a message is one of four
 * kinds with its fields filled. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
		if (sql_compile(text, (enum sql_style)style, &q, err, sizeof(err)) < 0) {
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
	struct redis_url u;
	if (redis_url_parse(text, &u, err, sizeof(err)) &&
	    (!u.host[0] || u.port == 0 || u.port > 65535 || u.db > 1023))
		abort();
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
