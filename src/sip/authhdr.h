/*
 * Authorization / Proxy-Authorization: Digest credentials (RFC 7616 3.4,
 * RFC 3261 25.1). Quoted strings may carry backslash escapes; those values
 * are unescaped into the caller's scratch buffer, others stay zero-copy.
 */
#ifndef PBX_SIP_AUTHHDR_H
#define PBX_SIP_AUTHHDR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"
#include "guard/guard.h"

#define SIP_AUTH_MAX_PARAM 512	/* per value, before authentication */

/*
 * false with *why on malformed input; a scheme other than Digest sets
 * *why = NULL and returns false (not ours to judge).
 */
bool sip_authhdr_parse(struct slice value, struct guard_proof *out, char *scratch,
    size_t scratchsz, size_t *used, const char **why);

#endif
