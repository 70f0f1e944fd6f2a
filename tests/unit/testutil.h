/* Shared by the cmocka unit tests; they run from the project root. */
#ifndef PBX_TESTUTIL_H
#define PBX_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/slice.h"
#include "guard/digest.h"

#define S(lit) slice_cstr(lit)

static inline void
assert_slice_equal(struct slice a, const char *b)
{
	char buf[1024];
	slice_copy(slice_sub(a, 0, sizeof(buf) - 1), buf, sizeof(buf));
	assert_string_equal(buf, b);
}

/* A fresh private temporary directory (mkdtemp). */
static inline char *
test_tmpdir(char *buf, size_t n)
{
	snprintf(buf, n, "/tmp/pbxguard-test-XXXXXX");
	assert_non_null(mkdtemp(buf));
	return buf;
}

static inline void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The embedded default, serving only example.org: what the guard tests share. */
static inline void
test_config_example_org(struct config *cfg)
{
	struct config_errors e = { 0 };
	assert_true(config_load(cfg, NULL, &e));
	config_errors_free(&e);
	/* replace the default domains */
	for (size_t i = 0; i < cfg->n_auth_domains; i++)
		free(cfg->auth_domains[i]);
	cfg->auth_domains[0] = strdup("example.org");
	cfg->n_auth_domains = 1;
}

/* A header line "HDR: Digest ...\r\n" answering nonce for user@example.org
 * (MD5, qop=auth, cnonce "abc"), into a static buffer. */
static inline const char *
test_digest_line(const char *hdr, const char *user, const char *pw, const char *nonce,
    const char *nc, const char *method, const char *uri)
{
	static char h[1024];
	char ha1[DIGEST_MAX_HEX + 1], resp[DIGEST_MAX_HEX + 1];
	digest_ha1(DIGEST_MD5, S(user), S("example.org"), S(pw), ha1);
	struct digest_input in = { .alg = { DIGEST_MD5, false }, .ha1 = S(ha1),
		.nonce = S(nonce), .cnonce = S("abc"), .nc = S(nc), .qop = S("auth"),
		.method = S(method), .uri = S(uri) };
	digest_response(&in, resp);
	snprintf(h, sizeof(h), "%s: Digest username=\"%s\", realm=\"example.org\", "
	    "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, "
	    "cnonce=\"abc\", nc=%s, qop=auth\r\n", hdr, user, nonce, uri, resp, nc);
	return h;
}

#endif
