/*
 * A JSON writer onto a dbuf. Strings are escaped for JSON and for HTML
 * (< > & ' as \u00XX, so a value can never close a <script> or start a
 * tag), and bytes that are not UTF-8 become U+FFFD: whatever a peer sent
 * us, the document stays valid and inert.
 */
#ifndef PBX_JSON_H
#define PBX_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dbuf.h"
#include "core/slice.h"

#define JSON_MAX_DEPTH 16

struct json {
	struct dbuf *b;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, struct dbuf *b);
/* key NULL inside arrays and for the outermost value. */
void json_obj(struct json *j, const char *key);
void json_arr(struct json *j, const char *key);
void json_end_obj(struct json *j);
void json_end_arr(struct json *j);
void json_str(struct json *j, const char *key, struct slice v);
void json_cstr(struct json *j, const char *key, const char *v);
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* The escaped text of s, quotes included. */
void json_escape(struct dbuf *b, struct slice s);

#endif
