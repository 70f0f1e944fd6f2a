#include "core/json.h"

#include <inttypes.h>
#include <string.h>

void
json_init(struct json *j, struct dbuf *b)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void
json_escape(struct dbuf *b, struct slice s)
{
	dbuf_puts(b, "\"");
	for (size_t i = 0; i < s.n;) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '"' || c == '\\') {
			dbuf_printf(b, "\\%c", c);
			i++;
		} else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&' || c == '\'') {
			dbuf_printf(b, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			dbuf_put(b, (struct slice){ s.p + i, 1 });
			i++;
		} else {
			size_t len = utf8_len((const unsigned char *)s.p + i, s.n - i);
			if (len) {
				dbuf_put(b, (struct slice){ s.p + i, len });
				i += len;
			} else {
				dbuf_puts(b, "\\ufffd");
				i++;
			}
		}
	}
	dbuf_puts(b, "\"");
}

static void
member(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		dbuf_puts(j->b, ",");
	j->need_comma[j->depth] = true;
	if (key) {
		json_escape(j->b, slice_cstr(key));
		dbuf_puts(j->b, ":");
	}
}

static void
open_(struct json *j, const char *key, const char *brace)
{
	member(j, key);
	dbuf_puts(j->b, brace);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->need_comma[++j->depth] = false;
	else
		j->b->failed = true; /* deeper than we ever write: a bug, not input */
}

void
json_obj(struct json *j, const char *key)
{
	open_(j, key, "{");
}

void
json_arr(struct json *j, const char *key)
{
	open_(j, key, "[");
}

void
json_end_obj(struct json *j)
{
	if (j->depth > 0)
		j->depth--;
	dbuf_puts(j->b, "}");
}

void
json_end_arr(struct json *j)
{
	if (j->depth > 0)
		j->depth--;
	dbuf_puts(j->b, "]");
}

void
json_str(struct json *j, const char *key, struct slice v)
{
	member(j, key);
	json_escape(j->b, v);
}

void
json_cstr(struct json *j, const char *key, const char *v)
{
	if (!v) {
		json_null(j, key);
		return;
	}
	json_str(j, key, slice_cstr(v));
}

void
json_int(struct json *j, const char *key, int64_t v)
{
	member(j, key);
	dbuf_printf(j->b, "%" PRId64, v);
}

void
json_uint(struct json *j, const char *key, uint64_t v)
{
	member(j, key);
	dbuf_printf(j->b, "%" PRIu64, v);
}

void
json_bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	dbuf_puts(j->b, v ? "true" : "false");
}

void
json_null(struct json *j, const char *key)
{
	member(j, key);
	dbuf_puts(j->b, "null");
}
