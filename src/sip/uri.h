/*
 * Value-level SIP parsers: lists, name-addr, parameters, URIs, Via, CSeq.
 * All on slices, all bounded by their input.
 */
#ifndef PBX_SIP_URI_H
#define PBX_SIP_URI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/slice.h"

struct sip_uri {
	bool sips;
	struct slice user;	/* may be empty */
	struct slice host;	/* IPv6 without brackets */
	unsigned port;		/* 0 when absent */
	struct slice params;	/* ";a=b;c" after host[:port], without headers */
};

struct sip_via {
	struct slice transport;	/* "UDP", "TCP", ... */
	struct slice host;
	unsigned port;
	struct slice params;	/* ";branch=...;rport" */
};

/*
 * Takes the next comma-separated element of *list (commas inside quotes or
 * <...> do not count), trimmed. False when the list is exhausted.
 */
bool sip_list_next(struct slice *list, struct slice *item);

/* "Name" <uri>;params  |  <uri>;params  |  uri;params (params then belong
 * to the header, RFC 3261 20.10). False if malformed. */
bool sip_nameaddr(struct slice v, struct slice *uri, struct slice *params);

/* Finds ;name[=value] in params (case-insensitive name). */
bool sip_param(struct slice params, const char *name, struct slice *value);

bool sip_uri_parse(struct slice s, struct sip_uri *u);
bool sip_via_parse(struct slice s, struct sip_via *v);
bool sip_cseq_parse(struct slice s, uint32_t *num, struct slice *method);
/* No white space or control bytes (what a URI we store and echo may hold). */
bool sip_no_space_or_ctl(struct slice s);
/* RFC 3261 25.1 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]. */
bool sip_qvalue_ok(struct slice s);

#endif
