#include "http/parse.h"

#include <string.h>

/* RFC 9110 tchar */
static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the head: the index just past the blank line, or 0. */
static size_t
head_end(struct slice in)
{
	for (size_t i = 0; i < in.n; i++) {
		if (in.p[i] != '\n')
			continue;
		if (i + 1 < in.n && in.p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < in.n && in.p[i + 1] == '\r' && in.p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The next line (CRLF or LF, which RFC 9112 lets a recipient accept). */
static struct slice
next_line(struct slice *rest)
{
	long nl = slice_find(*rest, '\n');
	size_t len = nl < 0 ? rest->n : (size_t)nl;
	struct slice line = { rest->p, len };
	*rest = slice_sub(*rest, len + 1, rest->n);
	if (line.n && line.p[line.n - 1] == '\r')
		line.n--;
	return line;
}

static bool
parse_version(struct slice v, int *minor)
{
	if (v.n != 8 || memcmp(v.p, "HTTP/1.", 7) != 0 || v.p[7] < '0' || v.p[7] > '9')
		return false;
	*minor = v.p[7] - '0';
	return true;
}

static const char *
parse_fields(struct slice rest, struct http_head *h)
{
	for (;;) {
		struct slice line = next_line(&rest);
		if (line.n == 0)
			return NULL; /* the blank line */
		if (line.p[0] == ' ' || line.p[0] == '\t')
			return "obsolete line folding";
		long colon = slice_find(line, ':');
		if (colon <= 0)
			return "a header field without a name and ':'";
		struct slice name = { line.p, (size_t)colon };
		for (size_t i = 0; i < name.n; i++)
			if (!is_tchar((unsigned char)name.p[i]))
				return "a header field name with a space or a forbidden character";
		struct slice value = slice_trim(slice_sub(line, (size_t)colon + 1, line.n));
		for (size_t i = 0; i < value.n; i++) {
			unsigned char c = (unsigned char)value.p[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return "a control character in a header field";
		}
		if (h->nf == HTTP_MAX_FIELDS)
			return "too many header fields";
		h->f[h->nf++] = (struct http_field){ name, value };
		if (slice_caseeq_cstr(name, "Content-Length")) {
			uint64_t n;
			if (!slice_to_u64(value, 0, UINT64_MAX / 2, &n))
				return "a Content-Length that is not a number";
			if (h->has_length && n != h->content_length)
				return "two different Content-Lengths";
			h->content_length = n;
			h->has_length = true;
		} else if (slice_caseeq_cstr(name, "Transfer-Encoding")) {
			h->chunked = true; /* checked below: only "chunked" is known */
		} else if (slice_caseeq_cstr(name, "Connection")) {
			h->close |= http_list_has(value, "close");
			h->keep_alive |= http_list_has(value, "keep-alive");
		} else if (slice_caseeq_cstr(name, "Host")) {
			if (h->host.p)
				return "two Host fields";
			h->host = value;
		} else if (slice_caseeq_cstr(name, "Authorization")) {
			if (h->authorization.p)
				return "two Authorization fields";
			h->authorization = value;
		} else if (slice_caseeq_cstr(name, "Origin")) {
			h->origin = value;
		} else if (slice_caseeq_cstr(name, "Sec-Fetch-Site")) {
			h->sec_fetch_site = value;
		} else if (slice_caseeq_cstr(name, "X-CSRF-Token")) {
			h->csrf_token = value;
		} else if (slice_caseeq_cstr(name, "Content-Type")) {
			h->content_type = value;
		}
	}
}

enum http_parse
http_parse_request(struct slice in, size_t max_head, struct http_head *h, unsigned *status,
    const char **why)
{
	memset(h, 0, sizeof(*h));
	*status = 400;
	size_t end = head_end(in);
	if (end == 0 || end > max_head) {
		if (in.n < max_head && end == 0) {
			/* A request line already too long is 414, not a wait for more. */
			long nl = slice_find(in, '\n');
			if (nl < 0 && in.n > 8190) {
				*status = 414;
				*why = "request line too long";
				return HTTP_BAD;
			}
			/* Leading blank lines (RFC 9112 2.2) are skipped by the caller. */
			return HTTP_MORE;
		}
		long nl = slice_find(slice_sub(in, 0, max_head), '\n');
		*status = nl < 0 ? 414 : 431;
		*why = nl < 0 ? "request line too long" : "request header fields too large";
		return HTTP_BAD;
	}
	struct slice rest = { in.p, end };
	struct slice line = next_line(&rest), r;
	h->method = slice_cut(line, ' ', &r);
	h->target = slice_cut(r, ' ', &r);
	if (!h->method.n || h->method.n > 16 || !h->target.n) {
		*why = "a malformed request line";
		return HTTP_BAD;
	}
	for (size_t i = 0; i < h->method.n; i++)
		if (!is_tchar((unsigned char)h->method.p[i])) {
			*why = "a malformed method";
			return HTTP_BAD;
		}
	if (!parse_version(r, &h->minor)) {
		*status = slice_startswith_case(r, "HTTP/") ? 505 : 400;
		*why = "not HTTP/1.0 or HTTP/1.1";
		return HTTP_BAD;
	}
	for (size_t i = 0; i < h->target.n; i++) {
		unsigned char c = (unsigned char)h->target.p[i];
		if (c <= 0x20 || c >= 0x7f) {
			*why = "a control character or a raw non-ASCII byte in the target";
			return HTTP_BAD;
		}
	}
	if (h->target.p[0] != '/') {
		*why = "only origin-form targets (\"/path\") are served";
		return HTTP_BAD;
	}
	h->path = slice_cut(h->target, '?', &h->query);
	const char *e = parse_fields(rest, h);
	if (e) {
		*why = e;
		*status = strcmp(e, "too many header fields") == 0 ? 431 : 400;
		return HTTP_BAD;
	}
	if (h->minor >= 1 && !h->host.p) {
		*why = "HTTP/1.1 without Host";
		return HTTP_BAD;
	}
	if (h->chunked) {
		struct slice te = http_field(h, "Transfer-Encoding");
		if (h->has_length) {
			*why = "both Content-Length and Transfer-Encoding";
			return HTTP_BAD;
		}
		if (!slice_caseeq_cstr(slice_trim(te), "chunked")) {
			*status = 501;
			*why = "a Transfer-Encoding other than chunked";
			return HTTP_BAD;
		}
	}
	h->head_len = end;
	return HTTP_OK;
}

enum http_parse
http_parse_response(struct slice in, size_t max_head, struct http_head *h, const char **why)
{
	memset(h, 0, sizeof(*h));
	size_t end = head_end(in);
	if (end == 0 || end > max_head) {
		if (end == 0 && in.n < max_head)
			return HTTP_MORE;
		*why = "response head too large";
		return HTTP_BAD;
	}
	struct slice rest = { in.p, end }, r;
	struct slice line = next_line(&rest);
	struct slice v = slice_cut(line, ' ', &r);
	uint64_t code;
	struct slice num = slice_cut(r, ' ', &h->reason);
	if (!parse_version(v, &h->minor) || num.n != 3 || !slice_to_u64(num, 100, 999, &code)) {
		*why = "a malformed status line";
		return HTTP_BAD;
	}
	h->status = (unsigned)code;
	const char *e = parse_fields(rest, h);
	if (e) {
		*why = e;
		return HTTP_BAD;
	}
	if (h->chunked && h->has_length)
		h->has_length = false; /* RFC 9112 6.3: Transfer-Encoding wins */
	h->head_len = end;
	return HTTP_OK;
}

struct slice
http_field(const struct http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nf; i++)
		if (slice_caseeq_cstr(h->f[i].name, name))
			return h->f[i].value;
	return SLICE_NULL;
}

bool
http_list_has(struct slice value, const char *token)
{
	struct slice rest = value;
	while (rest.n) {
		struct slice item = slice_trim(slice_cut(rest, ',', &rest));
		if (slice_caseeq_cstr(item, token))
			return true;
	}
	return false;
}
