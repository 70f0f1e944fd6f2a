#include "sip/uri.h"

#include <string.h>

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool
sip_list_next(struct slice *list, struct slice *item)
{
	bool quoted = false;
	int angle = 0;
	size_t i;

	*list = slice_trim(*list);
	while (list->n && list->p[0] == ',') { /* empty elements are skipped */
		*list = slice_trim(slice_sub(*list, 1, list->n));
	}
	if (list->n == 0)
		return false;
	for (i = 0; i < list->n; i++) {
		char c = list->p[i];
		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == '<') {
			angle++;
		} else if (c == '>' && angle > 0) {
			angle--;
		} else if (c == ',' && angle == 0) {
			break;
		}
	}
	if (i > list->n)
		i = list->n;
	*item = slice_trim(slice_sub(*list, 0, i));
	*list = slice_sub(*list, i < list->n ? i + 1 : i, list->n);
	return true;
}

bool
sip_nameaddr(struct slice v, struct slice *uri, struct slice *params)
{
	size_t i = 0;

	v = slice_trim(v);
	if (v.n && v.p[0] == '"') { /* quoted display name */
		for (i = 1; i < v.n; i++) {
			if (v.p[i] == '\\')
				i++;
			else if (v.p[i] == '"')
				break;
		}
		if (i >= v.n)
			return false;
		i++;
	}
	long lt = slice_find(slice_sub(v, i, v.n), '<');
	if (lt >= 0) {
		size_t start = i + (size_t)lt + 1;
		long gt = slice_find(slice_sub(v, start, v.n), '>');
		if (gt < 0)
			return false;
		*uri = slice_sub(v, start, (size_t)gt);
		*params = slice_trim(slice_sub(v, start + (size_t)gt + 1, v.n));
		return uri->n > 0;
	}
	if (i > 0)
		return false; /* a display name needs <...> */
	long semi = slice_find(v, ';');
	if (semi < 0) {
		*uri = v;
		*params = SLICE_NULL;
	} else {
		*uri = slice_trim(slice_sub(v, 0, (size_t)semi));
		*params = slice_sub(v, (size_t)semi, v.n);
	}
	return uri->n > 0;
}

bool
sip_param(struct slice params, const char *name, struct slice *value)
{
	struct slice rest = params, p;

	while (rest.n) {
		p = slice_cut(rest, ';', &rest);
		struct slice val, key = slice_trim(slice_cut(p, '=', &val));
		if (slice_caseeq_cstr(key, name)) {
			*value = slice_find(p, '=') >= 0 ? slice_trim(val) : SLICE_NULL;
			return true;
		}
	}
	return false;
}

static bool
parse_hostport(struct slice hp, struct slice *host, unsigned *port)
{
	struct slice portpart = SLICE_NULL;
	uint64_t pn;

	if (hp.n && hp.p[0] == '[') {
		long close = slice_find(hp, ']');
		if (close < 2)
			return false;
		*host = slice_sub(hp, 1, (size_t)close - 1);
		portpart = slice_sub(hp, (size_t)close + 1, hp.n);
		if (portpart.n && portpart.p[0] != ':')
			return false;
		if (portpart.n)
			portpart = slice_sub(portpart, 1, portpart.n);
		else
			portpart = SLICE_NULL;
	} else {
		long colon = slice_find(hp, ':');
		if (colon < 0) {
			*host = hp;
		} else {
			*host = slice_sub(hp, 0, (size_t)colon);
			portpart = slice_sub(hp, (size_t)colon + 1, hp.n);
			if (portpart.n == 0)
				return false; /* "host:" */
		}
	}
	if (host->n == 0 || host->n > 255)
		return false;
	for (size_t i = 0; i < host->n; i++) {
		char c = host->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == ':' || c == '_'))
			return false;
	}
	*port = 0;
	if (portpart.p) {
		if (!slice_to_u64(portpart, 1, 65535, &pn))
			return false;
		*port = (unsigned)pn;
	}
	return true;
}

bool
sip_uri_parse(struct slice s, struct sip_uri *u)
{
	struct slice rest, hp;

	memset(u, 0, sizeof(*u));
	s = slice_trim(s);
	if (slice_startswith_case(s, "sip:")) {
		rest = slice_sub(s, 4, s.n);
	} else if (slice_startswith_case(s, "sips:")) {
		u->sips = true;
		rest = slice_sub(s, 5, s.n);
	} else {
		return false;
	}
	rest = slice_cut(rest, '?', NULL); /* drop URI headers */
	long at = -1;
	for (size_t i = 0; i < rest.n && rest.p[i] != ';'; i++) /* '@' before params */
		if (rest.p[i] == '@')
			at = (long)i;
	if (at >= 0) {
		struct slice userinfo = slice_sub(rest, 0, (size_t)at);
		u->user = slice_cut(userinfo, ':', NULL); /* never keep a password */
		rest = slice_sub(rest, (size_t)at + 1, rest.n);
		if (u->user.n == 0)
			return false;
		for (size_t i = 0; i < u->user.n; i++)
			if ((unsigned char)u->user.p[i] <= 0x20 || u->user.p[i] == '<' ||
			    u->user.p[i] == '>' || u->user.p[i] == '"')
				return false;
	}
	long semi = slice_find(rest, ';');
	hp = semi < 0 ? rest : slice_sub(rest, 0, (size_t)semi);
	u->params = semi < 0 ? SLICE_NULL : slice_sub(rest, (size_t)semi, rest.n);
	return parse_hostport(hp, &u->host, &u->port);
}

bool
sip_via_parse(struct slice s, struct sip_via *v)
{
	struct slice rest, proto, ver, tp, sentby;
	size_t i = 0;

	memset(v, 0, sizeof(*v));
	s = slice_trim(s);
	/* SIP / 2.0 / UDP, white space allowed around the slashes */
	proto = slice_trim(slice_cut(s, '/', &rest));
	ver = slice_trim(slice_cut(rest, '/', &rest));
	if (!slice_caseeq_cstr(proto, "SIP") || !slice_eq_cstr(ver, "2.0"))
		return false;
	rest = slice_trim(rest);
	while (i < rest.n && !is_ws(rest.p[i]))
		i++;
	tp = slice_sub(rest, 0, i);
	if (tp.n == 0)
		return false;
	rest = slice_trim(slice_sub(rest, i, rest.n));
	long semi = slice_find(rest, ';');
	sentby = slice_trim(semi < 0 ? rest : slice_sub(rest, 0, (size_t)semi));
	v->params = semi < 0 ? SLICE_NULL : slice_sub(rest, (size_t)semi, rest.n);
	v->transport = tp;
	return parse_hostport(sentby, &v->host, &v->port);
}

bool
sip_cseq_parse(struct slice s, uint32_t *num, struct slice *method)
{
	struct slice rest, n = slice_cut(slice_trim(s), ' ', &rest);
	uint64_t v;

	if (!slice_to_u64(n, 0, 0x7fffffffu, &v)) /* RFC 3261 8.1.1.5: < 2**31 */
		return false;
	*num = (uint32_t)v;
	*method = slice_trim(rest);
	return method->n > 0;
}

bool
sip_no_space_or_ctl(struct slice s)
{
	for (size_t i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] <= 0x20 || s.p[i] == 0x7f)
			return false;
	return true;
}

bool
sip_qvalue_ok(struct slice s)
{
	if (s.n == 0 || (s.p[0] != '0' && s.p[0] != '1'))
		return false;
	if (s.n == 1)
		return true;
	if (s.p[1] != '.' || s.n > 5)
		return false;
	for (size_t i = 2; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9' || (s.p[0] == '1' && s.p[i] != '0'))
			return false;
	return true;
}
