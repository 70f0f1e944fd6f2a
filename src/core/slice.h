/*
 * Slices: a (pointer, length) view into bytes someone else owns.
 * Every parser in pbxguard works on slices; nothing here assumes a NUL.
 */
#ifndef PBX_SLICE_H
#define PBX_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slice {
	const char *p;
	size_t n;
};

#define SLICE_NULL ((struct slice){ NULL, 0 })
#define SLICE_LIT(s) ((struct slice){ (s), sizeof(s) - 1 })

struct slice slice_cstr(const char *s);
struct slice slice_sub(struct slice s, size_t off, size_t n);
struct slice slice_trim(struct slice s);
bool slice_eq(struct slice a, struct slice b);
bool slice_eq_cstr(struct slice a, const char *b);
bool slice_caseeq(struct slice a, struct slice b);
bool slice_caseeq_cstr(struct slice a, const char *b);
bool slice_startswith_case(struct slice s, const char *prefix);
/* Index of the first c in s, or -1. */
long slice_find(struct slice s, char c);
/* Split s at the first c: head before, *rest after (empty if no c). */
struct slice slice_cut(struct slice s, char c, struct slice *rest);

/*
 * Range-checked unsigned decimal: the whole slice must be digits, the
 * value within [min, max]. Returns false (and leaves *out alone) otherwise.
 */
bool slice_to_u64(struct slice s, uint64_t min, uint64_t max, uint64_t *out);
/* The same for hex digits (either case). */
bool slice_hex_to_u64(struct slice s, uint64_t max, uint64_t *out);

/* Copy into a NUL-terminated buffer; false if it does not fit. */
bool slice_copy(struct slice s, char *dst, size_t dstsz);
/* malloc'd NUL-terminated copy, or NULL. */
char *slice_dup(struct slice s);

/*
 * %XX-decodes s into dst, NUL-terminated. False on a bad escape, on %00
 * (it would cut a C string) or when it does not fit; *bad (if not NULL)
 * then points at the offending byte of s, or at its end.
 */
bool slice_pct_decode(struct slice s, char *dst, size_t dstsz, const char **bad);

/* Lower-cased (ASCII) copy, NUL-terminated; false if it does not fit. */
bool slice_copy_lower(struct slice s, char *dst, size_t dstsz);

/* Value of a hex digit (either case), or -1. */
int hex_digit(char c);
/* Non-empty and only hex digits. */
bool slice_is_hex(struct slice s);

/*
 * Seeded FNV-1a, chainable: h = slice_hash(SLICE_HASH_INIT(seed), a, false);
 * h = slice_hash(h, b, true); ... then slice_hash_final(h). For hash tables
 * and retransmission keys, not for anything an attacker must not forge.
 */
#define SLICE_HASH_INIT(seed) (UINT64_C(1469598103934665603) ^ (uint64_t)(seed))
uint64_t slice_hash(uint64_t h, struct slice s, bool fold_case);
static inline uint64_t
slice_hash_final(uint64_t h)
{
	return h ^ h >> 31;
}

/* Constant-time equality of two byte strings of possibly different length. */
bool ct_equal(const void *a, size_t an, const void *b, size_t bn);
/* Constant-time, case-insensitive equality for hex digests. */
bool ct_hex_equal(struct slice a, struct slice b);

/* Lowercase hex of n bytes into dst (2n+1 bytes). */
void hex_encode(const uint8_t *src, size_t n, char *dst);
/* Decode exactly 2*n hex digits; false on a bad digit or length. */
bool hex_decode(struct slice s, uint8_t *dst, size_t n);

#endif
