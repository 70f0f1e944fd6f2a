/*
 * The IAX2 door fed hostile datagrams: the input is a sequence of frames
 * ([source byte][2-byte length][bytes]...) played into a fresh door from a
 * few loopback sources, so calls get created, answered, acknowledged and
 * torn down with whatever sequence and call numbers the input says. The
 * frame and IE parsers, and the iax.conf reader, see the bytes too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "iax2/frame.h"
#include "iax2/server.h"
#include "store/iaxusers.h"
#include "store/keys.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct guard *g;
static struct event_base *base;
static struct keyring *keys;

static void
init(void)
{
	struct config_errors e = { 0 };
	char err[256], users[] = "/tmp/pbxguard-fuzz-iax2-XXXXXX";
	static const char u[] = "[alice]\ntype = friend\nsecret = s3cret\nhost = dynamic\n"
	    "[trunk]\ntype = user\nauth = md5,plaintext,rsa\nsecret = pw\ninkeys = k\n";

	log_set_level(LOG_ERR);
	config_load(&cfg, NULL, &e);
	config_errors_free(&e);
	int fd = mkstemp(users);
	if (fd < 0 || write(fd, u, sizeof(u) - 1) != (ssize_t)(sizeof(u) - 1))
		abort();
	close(fd);
	cfg.iax2.enabled = true;
	addr_parse(slice_cstr("127.0.0.1:0"), &cfg.iax2.bind);
	snprintf(cfg.iax2.users, sizeof(cfg.iax2.users), "%s", users);
	/* Loopback needs no token, so the input reaches every state. */
	cidr_parse(slice_cstr("127.0.0.0/8"), &cfg.iax2.token_optional[0], &(const char *){ 0 });
	cfg.iax2.n_token_optional = 1;
	cfg.iax2.has_upstream = true;
	addr_parse(slice_cstr("127.0.0.4:4569"), &cfg.iax2.upstream);
	snprintf(cfg.iax2.upstream_secret, sizeof(cfg.iax2.upstream_secret), "pw");
	cfg.iax2.delayreject = false;
	cfg.bans_enabled = false;
	struct store *st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	if (!st || !(g = guard_new(&cfg, st)) || !(base = event_base_new()) ||
	    !(keys = keyring_load("/nonexistent", err, sizeof(err))))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct iax_frame f;
	struct iax_ies ies;
	const char *why;
	char err[256];

	if (!ready) {
		init();
		ready = true;
	}
	if (iax_frame_parse(data, size, &f) && f.kind == IAX_FULL)
		iax_ies_parse(f.data, &ies, &why);
	struct iax_users *u = iax_users_parse((const char *)data, size, "fuzz", &cfg, err,
	    sizeof(err));
	iax_users_free(u);

	struct iax_server *s = iax_server_start(base, &cfg, g, keys, NULL);
	if (!s)
		abort();
	uint8_t buf[IAX_MAX_FRAME];
	for (size_t off = 0; off + 3 <= size;) {
		uint8_t sel = data[off];
		size_t n = (size_t)(data[off + 1] << 8 | data[off + 2]) % (IAX_MAX_FRAME + 1);
		off += 3;
		if (n > size - off)
			n = size - off;
		memcpy(buf, data + off, n);
		off += n;
		/* Four hosts, two ports each; host 4 is the PBX. */
		char from[32];
		snprintf(from, sizeof(from), "127.0.0.%u:%u", 1 + sel % 4, 4569 + (sel >> 2) % 2);
		struct addr a;
		addr_parse(slice_cstr(from), &a);
		iax_server_input(s, &a, buf, n);
	}
	struct iax_stats st;
	iax_server_stats(s, &st);
	if (st.legs > 2 * 32767)
		abort();
	iax_server_stop(s);
	return 0;
}
