#include "http/basic.h"

#include <string.h>

static int
b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum basic_result
basic_decode(struct slice value, char buf[BASIC_MAX], struct slice *user, struct slice *password)
{
	struct slice rest, scheme = slice_cut(slice_trim(value), ' ', &rest);
	size_t n = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (!slice_caseeq_cstr(scheme, "Basic"))
		return BASIC_OTHER_SCHEME;
	rest = slice_trim(rest);
	if (rest.n == 0)
		return BASIC_MALFORMED;
	for (size_t i = 0; i < rest.n; i++) {
		unsigned char c = (unsigned char)rest.p[i];
		if (c == '=') {
			pad++;
			continue;
		}
		int d = b64(c);
		if (d < 0 || pad)
			return BASIC_MALFORMED; /* a stray byte, or data after padding */
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == BASIC_MAX)
				return BASIC_MALFORMED;
			buf[n++] = (char)(acc >> bits & 0xff);
		}
	}
	/* Padding, when given, must be what the length calls for. */
	if (pad > 2 || (pad && (rest.n % 4) != 0) || bits >= 6)
		return BASIC_MALFORMED;
	struct slice all = { buf, n };
	long colon = slice_find(all, ':');
	if (colon < 0)
		return BASIC_MALFORMED;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return BASIC_MALFORMED;
	*user = slice_sub(all, 0, (size_t)colon);
	*password = slice_sub(all, (size_t)colon + 1, n);
	return BASIC_OK;
}
