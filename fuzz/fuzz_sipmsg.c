/*
 * The SIP parser in both framing modes, then the whole request handler
 * (URI, Via, CSeq, Contact, Authorization parsing, the guard, the registrar)
 * on whatever parsed, answering as the daemon would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/server.h"

static struct config cfg;
static struct sip_server srv;
static struct sip_reply out;
static struct addr local, remote;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_errors e = { 0 };
	char err[256];
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	digest_init();
	config_load(&cfg, NULL, &e);
	config_errors_free(&e);
	for (size_t i = 0; i < cfg.n_auth_domains; i++) /* replace the default domains */
		free(cfg.auth_domains[i]);
	cfg.auth_domains[0] = strdup("example.org");
	cfg.n_auth_domains = 1;
	struct store *st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	if (!st)
		abort(); /* run from the project root */
	struct guard *g = guard_new(&cfg, st);
	sip_server_init(&srv, &cfg, g);
	addr_parse(slice_cstr("127.0.0.1:5060"), &local);
	addr_parse(slice_cstr("127.0.0.2:5070"), &remote);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m;
	struct slice in = { (const char *)data, size };
	const char *why;

	/* Stream mode: frame message after message, like the TCP reader. */
	while (in.n > 0) {
		size_t ka = sip_keepalive_len(in);
		in = slice_sub(in, ka, in.n);
		if (in.n == 0 || sip_parse(in, true, &srv.lim, &m, &why) != SIP_PARSE_OK)
			break;
		struct sip_packet pkt = { in, &remote, &local, "TCP", true, CONFIG_NO_ACL, NULL };
		sip_handle_msg(&srv, &m, &pkt, 1000000, &out);
		if (m.len == 0 || m.len > in.n)
			abort(); /* framing must always make progress */
		in = slice_sub(in, m.len, in.n);
	}
	struct sip_packet pkt = { { (const char *)data, size }, &remote, &local, "UDP", false,
		CONFIG_NO_ACL, NULL };
	sip_handle_datagram(&srv, &pkt, 1000000, &out);
	if (out.n > sizeof(out.buf))
		abort();
	return 0;
}
