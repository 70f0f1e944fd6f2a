#include "sip/msg.h"

#include <string.h>

static const struct {
	const char *name;
	char compact;
	enum sip_hdr_id id;
} known[] = {
	{ "Via", 'v', SIP_H_VIA },
	{ "From", 'f', SIP_H_FROM },
	{ "To", 't', SIP_H_TO },
	{ "Call-ID", 'i', SIP_H_CALL_ID },
	{ "CSeq", 0, SIP_H_CSEQ },
	{ "Contact", 'm', SIP_H_CONTACT },
	{ "Content-Length", 'l', SIP_H_CONTENT_LENGTH },
	{ "Content-Type", 'c', SIP_H_CONTENT_TYPE },
	{ "Expires", 0, SIP_H_EXPIRES },
	{ "Max-Forwards", 0, SIP_H_MAX_FORWARDS },
	{ "Authorization", 0, SIP_H_AUTHORIZATION },
	{ "Proxy-Authorization", 0, SIP_H_PROXY_AUTHORIZATION },
	{ "User-Agent", 0, SIP_H_USER_AGENT },
	{ "Route", 0, SIP_H_ROUTE },
	{ "Require", 0, SIP_H_REQUIRE },
	{ "Supported", 'k', SIP_H_SUPPORTED },
	{ "Record-Route", 0, SIP_H_RECORD_ROUTE },
	{ "P-Asserted-Identity", 0, SIP_H_P_ASSERTED_IDENTITY },
	{ "P-Preferred-Identity", 0, SIP_H_P_PREFERRED_IDENTITY },
	{ "Privacy", 0, SIP_H_PRIVACY },
	{ "Path", 0, SIP_H_PATH },
};

static enum sip_hdr_id
classify(struct slice name)
{
	if (name.n == 1) {
		char c = (char)(name.p[0] | 0x20);
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (known[i].compact == c)
				return known[i].id;
		return SIP_H_OTHER;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (slice_caseeq_cstr(name, known[i].name))
			return known[i].id;
	return SIP_H_OTHER;
}

/* RFC 3261 token characters. */
static bool
is_token(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-.!%*_+`'~", c) != NULL;
}

static bool
all_token(struct slice s)
{
	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (!is_token(s.p[i]))
			return false;
	return true;
}

/* End of the line starting at i (index of '\n', or n), and the text length. */
static size_t
line_end(struct slice in, size_t i, size_t *textlen)
{
	const char *nl = memchr(in.p + i, '\n', in.n - i);
	size_t e = nl ? (size_t)(nl - in.p) : in.n;
	size_t t = e;
	if (t > i && in.p[t - 1] == '\r')
		t--;
	*textlen = t - i;
	return e;
}

size_t
sip_keepalive_len(struct slice in)
{
	size_t i = 0;
	while (i < in.n && (in.p[i] == '\r' || in.p[i] == '\n'))
		i++;
	return i;
}

static bool
parse_first_line(struct slice line, struct sip_msg *m, const char **why)
{
	struct slice a, b, c, rest;

	if (memchr(line.p, '\0', line.n) || slice_find(line, '\r') >= 0) {
		*why = "control character in the first line";
		return false;
	}
	a = slice_cut(line, ' ', &rest);
	b = slice_cut(rest, ' ', &c);
	if (a.n == 0 || b.n == 0 || c.n == 0) {
		*why = "malformed first line";
		return false;
	}
	if (slice_startswith_case(a, "SIP/")) {
		uint64_t code;
		m->is_request = false;
		m->version = a;
		if (b.n != 3 || !slice_to_u64(b, 100, 699, &code)) {
			*why = "bad status code";
			return false;
		}
		m->status = (unsigned)code;
		m->reason = c;
		return true;
	}
	m->is_request = true;
	m->method = a;
	m->ruri = b;
	m->version = c;
	if (!all_token(a)) {
		*why = "bad method";
		return false;
	}
	if (slice_find(c, ' ') >= 0 || !slice_startswith_case(c, "SIP/")) {
		*why = "malformed request line";
		return false;
	}
	return true;
}

enum sip_parse_result
sip_parse(struct slice in, bool stream, const struct sip_limits *lim, struct sip_msg *m,
    const char **why)
{
	size_t i = 0, e, tl, maxh = lim->max_headers;
	bool has_cl = false;
	uint64_t cl = 0;

	*why = NULL;
	m->nhdrs = 0;
	m->body = SLICE_NULL;
	for (int k = 0; k < SIP_H__COUNT; k++)
		m->first[k] = -1;
	if (maxh > SIP_MAX_HEADERS_CAP)
		maxh = SIP_MAX_HEADERS_CAP;

	/* Headers must end within the cap; otherwise wait (stream) or refuse. */
	size_t scan = in.n < lim->max_message ? in.n : lim->max_message;
	e = line_end(in, 0, &tl);
	if (e == in.n && stream) {
		if (in.n >= lim->max_message)
			goto too_big;
		return SIP_PARSE_NEED_MORE;
	}
	if (tl > lim->max_line) {
		*why = "first line too long";
		return SIP_PARSE_BAD;
	}
	if (!parse_first_line(slice_sub(in, 0, tl), m, why))
		return SIP_PARSE_BAD;
	i = e + 1;

	for (;;) {
		if (i >= scan) {
			if (stream && in.n < lim->max_message)
				return SIP_PARSE_NEED_MORE;
			if (in.n >= lim->max_message)
				goto too_big;
			*why = "headers not terminated by an empty line";
			return SIP_PARSE_BAD;
		}
		e = line_end(in, i, &tl);
		if (e == in.n && stream) {
			if (in.n >= lim->max_message)
				goto too_big;
			return SIP_PARSE_NEED_MORE;
		}
		if (tl == 0) { /* the empty line */
			i = e + 1;
			break;
		}
		struct slice line = slice_sub(in, i, tl);
		if (line.p[0] == ' ' || line.p[0] == '\t') {
			/* Folded continuation: extend the previous header's value. */
			if (m->nhdrs == 0) {
				*why = "continuation line before any header";
				return SIP_PARSE_BAD;
			}
			struct sip_hdr *h = &m->hdrs[m->nhdrs - 1];
			struct slice t = slice_trim(line);
			if (t.n) {
				size_t start = h->value.n ? (size_t)(h->value.p - in.p)
							  : (size_t)(t.p - in.p);
				h->value = slice_sub(in, start, (size_t)(t.p + t.n - in.p) - start);
			}
			if (h->value.n + h->name.n > lim->max_line) {
				*why = "header line too long";
				return SIP_PARSE_BAD;
			}
			i = e + 1;
			continue;
		}
		if (tl > lim->max_line) {
			*why = "header line too long";
			return SIP_PARSE_BAD;
		}
		if (m->nhdrs == maxh) {
			*why = "too many headers";
			return SIP_PARSE_BAD;
		}
		long colon = slice_find(line, ':');
		if (colon <= 0) {
			*why = "header line without a name and ':'";
			return SIP_PARSE_BAD;
		}
		struct slice name = slice_sub(line, 0, (size_t)colon);
		while (name.n && (name.p[name.n - 1] == ' ' || name.p[name.n - 1] == '\t'))
			name.n--;
		if (!all_token(name)) {
			*why = "bad header name";
			return SIP_PARSE_BAD;
		}
		if (memchr(line.p, '\0', line.n)) {
			*why = "NUL byte in a header";
			return SIP_PARSE_BAD;
		}
		struct sip_hdr *h = &m->hdrs[m->nhdrs];
		h->name = name;
		h->value = slice_trim(slice_sub(line, (size_t)colon + 1, line.n));
		h->id = classify(name);
		if (m->first[h->id] < 0)
			m->first[h->id] = (int)m->nhdrs;
		m->nhdrs++;
		i = e + 1;
	}

	/* Content-Length frames the body; exactly one value, digits only. */
	if (m->first[SIP_H_CONTENT_LENGTH] >= 0) {
		if (sip_hdr_count(m, SIP_H_CONTENT_LENGTH) > 1) {
			*why = "more than one Content-Length";
			return SIP_PARSE_BAD;
		}
		if (!slice_to_u64(sip_hdr_get(m, SIP_H_CONTENT_LENGTH), 0, lim->max_message, &cl)) {
			*why = "bad Content-Length";
			return SIP_PARSE_BAD;
		}
		has_cl = true;
	}
	if (stream) {
		if (i + cl > lim->max_message)
			goto too_big;
		if (in.n - i < cl)
			return SIP_PARSE_NEED_MORE;
		m->body = slice_sub(in, i, cl);
		m->len = i + cl;
		return SIP_PARSE_OK;
	}
	if (in.n > lim->max_message)
		goto too_big;
	if (has_cl) {
		if (cl > in.n - i) {
			*why = "Content-Length larger than the datagram";
			return SIP_PARSE_BAD;
		}
		m->body = slice_sub(in, i, cl); /* RFC 3261 18.3: ignore what follows */
	} else {
		m->body = slice_sub(in, i, in.n - i);
	}
	m->len = in.n;
	return SIP_PARSE_OK;
too_big:
	*why = "message too large";
	return SIP_PARSE_BAD;
}

struct slice
sip_hdr_get(const struct sip_msg *m, enum sip_hdr_id id)
{
	int k = m->first[id];
	return k < 0 ? SLICE_NULL : m->hdrs[k].value;
}

size_t
sip_hdr_count(const struct sip_msg *m, enum sip_hdr_id id)
{
	size_t n = 0;
	if (m->first[id] < 0)
		return 0;
	for (size_t i = (size_t)m->first[id]; i < m->nhdrs; i++)
		n += m->hdrs[i].id == id;
	return n;
}

const char *
sip_check_request(const struct sip_msg *m)
{
	static const struct {
		enum sip_hdr_id id;
		const char *why;
	} need[] = {
		{ SIP_H_VIA, "missing Via" },
		{ SIP_H_FROM, "missing From" },
		{ SIP_H_TO, "missing To" },
		{ SIP_H_CALL_ID, "missing Call-ID" },
		{ SIP_H_CSEQ, "missing CSeq" },
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (m->first[need[i].id] < 0 || sip_hdr_get(m, need[i].id).n == 0)
			return need[i].why;
	}
	static const enum sip_hdr_id single[] = { SIP_H_FROM, SIP_H_TO, SIP_H_CALL_ID,
		SIP_H_CSEQ, SIP_H_MAX_FORWARDS };
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (sip_hdr_count(m, single[i]) > 1)
			return "duplicate From, To, Call-ID, CSeq or Max-Forwards";
	return NULL;
}
