/* [watch]: any line, as sshd's and as Asterisk's. A hit always names an
 * address, and the user it names lies inside the line. The same bytes go
 * through the password policy (as a secret and as a PIN): it must give a
 * verdict, with reasons that never repeat the secret, for anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "guard/pwpolicy.h"
#include "watch/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pwpolicy *pol;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice line = { (const char *)data, size };
	struct watch_hit h;

	for (int kind = 0; kind < 2; kind++) {
		bool hit = kind ? watch_parse_asterisk(line, &h) : watch_parse_sshd(line, &h);
		if (!hit)
			continue;
		if (h.user.n && (h.user.p < line.p || h.user.p + h.user.n > line.p + line.n))
			abort();
		if (!h.what[0])
			abort();
	}
	if (!pol) {
		struct config c;
		char warn[256], err[256];
		config_defaults(&c);
		c.pw.blocklist[0] = '\0';	/* the embedded list: no file in the fuzzer */
		if (!(pol = pwpolicy_new(&c.pw, &c.pin, warn, sizeof(warn), err, sizeof(err))))
			abort();
	}
	if (size > 300)
		return 0;
	struct pw_verdict v;
	struct pw_context who = { "alice", "1001", "example.org", NULL };
	bool ok = pwpolicy_check(pol, (const char *)data, size, &who, &v);
	if (ok != (v.n == 0) || v.n > PW_MAX_REASONS)
		abort();
	ok = pwpolicy_check_pin(pol, (const char *)data, size, "1001", &v);
	if (ok != (v.n == 0))
		abort();
	return 0;
}
