#include "core/slice.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static inline char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

struct slice
slice_cstr(const char *s)
{
	return (struct slice){ s, s ? strlen(s) : 0 };
}

struct slice
slice_sub(struct slice s, size_t off, size_t n)
{
	if (!s.p)
		return SLICE_NULL; /* no arithmetic on NULL, even + 0 */
	if (off > s.n)
		off = s.n;
	if (n > s.n - off)
		n = s.n - off;
	return (struct slice){ s.p + off, n };
}

static inline bool
is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct slice
slice_trim(struct slice s)
{
	while (s.n > 0 && is_lws(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_lws(s.p[s.n - 1]))
		s.n--;
	return s;
}

bool
slice_eq(struct slice a, struct slice b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool
slice_eq_cstr(struct slice a, const char *b)
{
	return slice_eq(a, slice_cstr(b));
}

bool
slice_caseeq(struct slice a, struct slice b)
{
	if (a.n != b.n)
		return false;
	for (size_t i = 0; i < a.n; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return false;
	return true;
}

bool
slice_caseeq_cstr(struct slice a, const char *b)
{
	return slice_caseeq(a, slice_cstr(b));
}

bool
slice_startswith_case(struct slice s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.n >= n && slice_caseeq(slice_sub(s, 0, n), slice_cstr(prefix));
}

long
slice_find(struct slice s, char c)
{
	const char *q = s.n ? memchr(s.p, c, s.n) : NULL;
	return q ? (long)(q - s.p) : -1;
}

struct slice
slice_cut(struct slice s, char c, struct slice *rest)
{
	long i = slice_find(s, c);
	if (i < 0) {
		if (rest)
			*rest = slice_sub(s, s.n, 0);
		return s;
	}
	if (rest)
		*rest = slice_sub(s, (size_t)i + 1, s.n);
	return slice_sub(s, 0, (size_t)i);
}

bool
slice_to_u64(struct slice s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0 || s.n > 20)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
slice_pct_decode(struct slice s, char *dst, size_t dstsz, const char **bad)
{
	size_t o = 0;

	for (size_t i = 0; i < s.n; i++) {
		if (o + 1 >= dstsz) {
			if (bad)
				*bad = s.p + i;
			return false;
		}
		if (s.p[i] != '%') {
			dst[o++] = s.p[i];
			continue;
		}
		int h = -1, l = -1;
		if (i + 2 < s.n) { /* needs two more characters */
			h = hex_digit(s.p[i + 1]);
			l = hex_digit(s.p[i + 2]);
		}
		if (h < 0 || l < 0 || (h == 0 && l == 0)) {
			if (bad)
				*bad = s.p + i;
			return false;
		}
		dst[o++] = (char)(h << 4 | l);
		i += 2;
	}
	if (o >= dstsz) { /* dstsz 0 */
		if (bad)
			*bad = s.p + s.n;
		return false;
	}
	dst[o] = '\0';
	return true;
}

bool
slice_copy_lower(struct slice s, char *dst, size_t dstsz)
{
	if (!slice_copy(s, dst, dstsz))
		return false;
	for (size_t i = 0; i < s.n; i++)
		dst[i] = lower(dst[i]);
	return true;
}

int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool
slice_is_hex(struct slice s)
{
	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (hex_digit(s.p[i]) < 0)
			return false;
	return true;
}

uint64_t
slice_hash(uint64_t h, struct slice s, bool fold_case)
{
	for (size_t i = 0; i < s.n; i++) {
		char c = fold_case ? lower(s.p[i]) : s.p[i];
		h = (h ^ (unsigned char)c) * UINT64_C(1099511628211);
	}
	return h;
}

bool
slice_hex_to_u64(struct slice s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0 || s.n > 16)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		int d = hex_digit(s.p[i]);
		if (d < 0)
			return false;
		v = (v << 4) | (uint64_t)d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool
slice_copy(struct slice s, char *dst, size_t dstsz)
{
	if (dstsz == 0 || s.n >= dstsz)
		return false;
	if (s.n)
		memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return true;
}

char *
slice_dup(struct slice s)
{
	char *d = malloc(s.n + 1);
	if (d && !slice_copy(s, d, s.n + 1)) {
		free(d);
		d = NULL;
	}
	return d;
}

bool
ct_equal(const void *a, size_t an, const void *b, size_t bn)
{
	/* The length of a digest is public (it follows from the algorithm). */
	if (an != bn)
		return false;
	return an == 0 || CRYPTO_memcmp(a, b, an) == 0;
}

bool
ct_hex_equal(struct slice a, struct slice b)
{
	unsigned diff = 0;

	if (a.n != b.n)
		return false;
	/*
	 * Folding with | 0x20 is branch-free and exact for hex digits; callers
	 * have checked both sides are hex of the digest's length.
	 */
	for (size_t i = 0; i < a.n; i++)
		diff |= (unsigned)(unsigned char)((a.p[i] | 0x20) ^ (b.p[i] | 0x20));
	return diff == 0;
}

void
hex_encode(const uint8_t *src, size_t n, char *dst)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

bool
hex_decode(struct slice s, uint8_t *dst, size_t n)
{
	if (s.n != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(s.p[2 * i]), lo = hex_digit(s.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		dst[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}
