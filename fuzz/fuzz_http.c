/* The HTTP head parsers (request and response) and the Basic credentials
 * decoder, on the same bytes: every slice they hand back stays inside the
 * input, and a complete head is never longer than what was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/basic.h"
#include "http/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(struct slice s, const char *p, size_t n)
{
	if (s.p && (s.p < p || s.p + s.n > p + n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct http_head h;
	unsigned status;
	const char *why;
	char buf[BASIC_MAX];
	struct slice user, pw;

	enum http_parse r = http_parse_request((struct slice){ p, size }, HTTP_MAX_HEAD, &h,
	    &status, &why);
	if (r == HTTP_OK) {
		if (h.head_len > size || h.nf > HTTP_MAX_FIELDS || h.path.n == 0 || h.path.p[0] != '/')
			abort();
		inside(h.method, p, size);
		inside(h.target, p, size);
		inside(h.query, p, size);
		for (size_t i = 0; i < h.nf; i++) {
			inside(h.f[i].name, p, h.head_len);
			inside(h.f[i].value, p, h.head_len);
			if (h.f[i].name.n == 0)
				abort();
		}
		if (h.authorization.p &&
		    basic_decode(h.authorization, buf, &user, &pw) == BASIC_OK &&
		    (user.n + pw.n + 1 > BASIC_MAX || memchr(user.p, ':', user.n)))
			abort();
	} else if (r == HTTP_BAD && (status < 400 || status > 505 || !why)) {
		abort();
	}
	if (http_parse_response((struct slice){ p, size }, HTTP_MAX_HEAD, &h, &why) == HTTP_OK &&
	    (h.head_len > size || h.status < 100 || h.status > 999))
		abort();
	/* The decoder alone, on the whole input as a field value. */
	if (basic_decode((struct slice){ p, size }, buf, &user, &pw) == BASIC_OK)
		inside(user, buf, BASIC_MAX);
	return 0;
}
