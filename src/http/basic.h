/* RFC 7617 Basic credentials: "Basic" SP base64(user ":" password). */
#ifndef PBX_HTTP_BASIC_H
#define PBX_HTTP_BASIC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

#define BASIC_MAX 1024	/* decoded bytes: a user and a password, with room */

enum basic_result { BASIC_OK, BASIC_OTHER_SCHEME, BASIC_MALFORMED };

/*
 * Decodes value (an Authorization field) into buf; user and password point
 * into it. BASIC_OTHER_SCHEME: not Basic (answered with the challenge, as
 * Apache does); BASIC_MALFORMED: bad base64, no ':', or a control byte.
 */
enum basic_result basic_decode(struct slice value, char buf[BASIC_MAX], struct slice *user,
    struct slice *password);

#endif
