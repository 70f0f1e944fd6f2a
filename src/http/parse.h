/*
 * HTTP/1.x message heads (RFC 9112), parsed in place from a slice: the
 * request line or status line, then header fields. Bounded (head size and
 * field count), strict where leniency lets two parsers disagree (a space
 * before ':', obsolete line folding, Content-Length with Transfer-Encoding,
 * two different Content-Lengths: all refused), and it tells "need more
 * bytes" apart from "malformed".
 */
#ifndef PBX_HTTP_PARSE_H
#define PBX_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

#define HTTP_MAX_FIELDS 100	/* Apache's LimitRequestFields */
#define HTTP_MAX_HEAD 16384	/* Apache's LimitRequestLine/FieldSize are 8190 each */

struct http_field {
	struct slice name, value;
};

struct http_head {
	/* request */
	struct slice method, target, path, query;
	/* response */
	unsigned status;
	struct slice reason;
	int minor;			/* HTTP/1.minor */
	struct http_field f[HTTP_MAX_FIELDS];
	size_t nf;
	/* fields looked at by name; .p NULL when absent */
	struct slice host, authorization, origin, sec_fetch_site, csrf_token, content_type;
	uint64_t content_length;
	bool has_length, chunked, close, keep_alive;
	size_t head_len;		/* bytes up to and including the blank line */
};

enum http_parse { HTTP_OK, HTTP_MORE, HTTP_BAD };

/*
 * A request head from the start of in. HTTP_BAD sets *status (400, 414,
 * 431, 501, 505) and *why; HTTP_MORE when the head is not complete yet
 * and still within max_head.
 */
enum http_parse http_parse_request(struct slice in, size_t max_head, struct http_head *h,
    unsigned *status, const char **why);
/* A response head (the proxy's upstream). */
enum http_parse http_parse_response(struct slice in, size_t max_head, struct http_head *h,
    const char **why);
/* A field's value by name (case-insensitive), or SLICE_NULL. */
struct slice http_field(const struct http_head *h, const char *name);
/* Does a comma-separated field value list hold token (case-insensitive)? */
bool http_list_has(struct slice value, const char *token);

#endif
