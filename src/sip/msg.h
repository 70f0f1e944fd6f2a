/*
 * SIP message parser (RFC 3261 section 7 and 25), zero-copy: every field is
 * a slice into the caller's buffer, which must outlive the sip_msg. Lines
 * may end in CRLF or bare LF; folded header lines stay inside the value
 * slice (value parsers treat CR/LF as white space). Sizes are capped.
 */
#ifndef PBX_SIP_MSG_H
#define PBX_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

enum sip_hdr_id {
	SIP_H_OTHER,
	SIP_H_VIA,
	SIP_H_FROM,
	SIP_H_TO,
	SIP_H_CALL_ID,
	SIP_H_CSEQ,
	SIP_H_CONTACT,
	SIP_H_CONTENT_LENGTH,
	SIP_H_CONTENT_TYPE,
	SIP_H_EXPIRES,
	SIP_H_MAX_FORWARDS,
	SIP_H_AUTHORIZATION,
	SIP_H_PROXY_AUTHORIZATION,
	SIP_H_USER_AGENT,
	SIP_H_ROUTE,
	SIP_H_REQUIRE,
	SIP_H_SUPPORTED,
	SIP_H_RECORD_ROUTE,
	SIP_H_P_ASSERTED_IDENTITY,
	SIP_H_P_PREFERRED_IDENTITY,
	SIP_H_PRIVACY,
	SIP_H_PATH,
	SIP_H__COUNT
};

struct sip_hdr {
	enum sip_hdr_id id;
	struct slice name, value;	/* value trimmed of outer white space */
};

#define SIP_MAX_HEADERS_CAP 256

struct sip_limits {
	size_t max_message;	/* whole message, headers + body */
	size_t max_headers;	/* header lines (<= SIP_MAX_HEADERS_CAP) */
	size_t max_line;	/* one header after unfolding */
};

struct sip_msg {
	bool is_request;
	struct slice method, ruri, version;	/* request line */
	unsigned status;			/* status line */
	struct slice reason;
	struct sip_hdr hdrs[SIP_MAX_HEADERS_CAP];
	size_t nhdrs;
	int first[SIP_H__COUNT];		/* index of first header, -1 */
	struct slice body;
	size_t len;				/* bytes of input this message used */
};

enum sip_parse_result {
	SIP_PARSE_OK,
	SIP_PARSE_NEED_MORE,	/* stream: the message is not complete yet */
	SIP_PARSE_BAD,		/* malformed; *why says how */
};

/*
 * stream: the input is a TCP byte stream (Content-Length frames the body,
 * NEED_MORE possible); otherwise one whole datagram.
 */
enum sip_parse_result sip_parse(struct slice in, bool stream, const struct sip_limits *lim,
    struct sip_msg *m, const char **why);

/* Value of the first header with this id, or an empty slice with .p NULL. */
struct slice sip_hdr_get(const struct sip_msg *m, enum sip_hdr_id id);
size_t sip_hdr_count(const struct sip_msg *m, enum sip_hdr_id id);

/* Mandatory request headers present and well-formed (RFC 3261 8.1.1)? */
const char *sip_check_request(const struct sip_msg *m);

/* Bytes of leading CRLF keep-alives (RFC 5626 4.4.1) at the start of in. */
size_t sip_keepalive_len(struct slice in);

#endif
