/*
 * Shared by the SIP fuzz targets: a request handler set up as the daemon
 * sets it up (tests/vectors/userdb, domain example.org), and the stream
 * framing loop of the TCP/TLS reader.
 */
#ifndef PBX_SIPFUZZ_H
#define PBX_SIPFUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/server.h"

static struct config sipfuzz_cfg;
static struct sip_server sipfuzz_srv;
static struct sip_reply sipfuzz_out;
static struct addr sipfuzz_local, sipfuzz_remote;

static void
sipfuzz_init(void)
{
	struct config_errors e = { 0 };
	char err[256];

	log_set_level(LOG_ERR);
	digest_init();
	config_load(&sipfuzz_cfg, NULL, &e);
	config_errors_free(&e);
	for (size_t i = 0; i < sipfuzz_cfg.n_auth_domains; i++) /* replace the default domains */
		free(sipfuzz_cfg.auth_domains[i]);
	sipfuzz_cfg.auth_domains[0] = strdup("example.org");
	sipfuzz_cfg.n_auth_domains = 1;
	struct store *st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	if (!st)
		abort(); /* run from the project root */
	struct guard *g = guard_new(&sipfuzz_cfg, st);
	sip_server_init(&sipfuzz_srv, &sipfuzz_cfg, g);
	addr_parse(slice_cstr("127.0.0.1:5060"), &sipfuzz_local);
	addr_parse(slice_cstr("127.0.0.2:5070"), &sipfuzz_remote);
}

/* Frames message after message, like the stream reader; returns the
 * incomplete tail, or sets *bad when framing is lost (the reader closes). */
static struct slice
sipfuzz_stream(struct slice in, const char *transport, const struct tls_subjects *peer,
    bool *bad)
{
	static struct sip_msg m;
	const char *why;

	*bad = false;
	while (in.n > 0) {
		size_t ka = sip_keepalive_len(in);
		in = slice_sub(in, ka, in.n);
		if (in.n == 0)
			break;
		enum sip_parse_result r = sip_parse(in, true, &sipfuzz_srv.lim, &m, &why);
		if (r != SIP_PARSE_OK) {
			*bad = r == SIP_PARSE_BAD;
			break;
		}
		struct sip_packet pkt = { in, &sipfuzz_remote, &sipfuzz_local, transport, true,
			CONFIG_NO_ACL, peer, NULL, 0, 0 };
		sip_handle_msg(&sipfuzz_srv, &m, &pkt, 1000000, &sipfuzz_out);
		if (m.len == 0 || m.len > in.n)
			abort(); /* framing must always make progress */
		if (sipfuzz_out.n > sizeof(sipfuzz_out.buf))
			abort();
		in = slice_sub(in, m.len, in.n);
	}
	return in;
}

#endif
