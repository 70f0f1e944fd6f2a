/*
 * The proxy: a conversation of messages from four peers (two phones, the
 * upstream PBX, a stranger) with time passing between them, so transactions,
 * dialogs, CANCELs, timers and failover all run. Authentication is off here
 * (the guard is fuzzed elsewhere) so phones' requests reach the proxy.
 *
 * Input: records of [peer+time byte][length, 2 bytes][message]. "%BR%" in a
 * message is replaced by the last branch the proxy sent, so responses can
 * match its transactions. Everything the proxy sends must parse again.
 */
#include <stdio.h>
#include <unistd.h>

#include "core/log.h"
#include "sip/server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct sip_server srv;
static struct sip_reply out;
static struct sip_flow peers[4];
static char branch[64] = "z9hG4bKpg";
static int64_t now = 1000;

static bool
sink(void *ctx, const struct sip_flow *f, const char *buf, size_t n)
{
	static struct sip_msg m;
	struct sip_limits lim = { 65535, SIP_MAX_HEADERS_CAP, 65535 };
	const char *why;
	(void)ctx;
	(void)f;
	if (sip_parse((struct slice){ buf, n }, false, &lim, &m, &why) != SIP_PARSE_OK) {
		fprintf(stderr, "the proxy sent a message it cannot parse (%s):\n%.*s\n", why,
		    (int)n, buf);
		abort();
	}
	const char *b = memmem(buf, n, "branch=z9hG4bKpg", 16);
	if (b && (size_t)(buf + n - b) > 7 + 33)
		memcpy(branch, b + 7, 33);
	return true;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_errors e = { 0 };
	char path[] = "/tmp/pbxguard-fuzz-proxy-XXXXXX";
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	digest_init();
	int fd = mkstemp(path);
	const char text[] = "[global]\nstatedir = /tmp\n"
	    "[module::Authentication]\nenabled = false\nauth-domains = example.org\n"
	    "[bans]\nenabled = false\nnftables = no\n"
	    "[sip]\ntransports = udp:127.0.0.1:5060 tcp:127.0.0.1:5060\n"
	    "upstream = sip:127.0.0.1:5080 sip:127.0.0.1:5081\nmax-transactions = 64\n"
	    "max-dialogs = 64\n";
	if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1)
		abort();
	close(fd);
	if (!config_load(&cfg, path, &e))
		abort();
	unlink(path);
	config_errors_free(&e);
	char err[256];
	struct store *st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	struct guard *g = st ? guard_new(&cfg, st) : NULL; /* run from the project root */
	if (!g || !sip_server_init(&srv, &cfg, g))
		abort();
	sip_server_set_sender(&srv, &(struct sip_sender){ NULL, sink });
	const char *addrs[4] = { "127.0.0.9:40000", "127.0.0.10:40001", "127.0.0.1:5080",
		"127.0.0.66:5080" };
	for (int i = 0; i < 4; i++) {
		peers[i] = (struct sip_flow){ i == 1 ? TP_TCP : TP_UDP, i == 1 ? 1 : 0,
			i == 1 ? 7 : 0, .remote = { .len = 0 } };
		addr_parse(slice_cstr(addrs[i]), &peers[i].remote);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char msg[65536];
	struct addr local;
	addr_parse(slice_cstr("127.0.0.1:5060"), &local);

	while (size >= 3) {
		unsigned sel = data[0], len = (unsigned)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = (unsigned)size;
		/* Substitute the last branch we sent for each %BR%. */
		size_t n = 0;
		for (size_t i = 0; i < len && n + 40 < sizeof(msg); i++) {
			if (i + 4 <= len && memcmp(data + i, "%BR%", 4) == 0) {
				memcpy(msg + n, branch, 33);
				n += 33;
				i += 3;
			} else {
				msg[n++] = (char)data[i];
			}
		}
		data += len;
		size -= len;
		/* Time passes: up to 63 steps of 600 ms, timers run. */
		now += (int64_t)(sel >> 2) * 600;
		sip_server_tick(&srv, now);
		const struct sip_flow *f = &peers[sel & 3];
		struct sip_packet pkt = { { msg, n }, &f->remote, &local,
			f->proto == TP_UDP ? "UDP" : "TCP", false, CONFIG_NO_ACL, NULL, f, now, 0 };
		sip_handle_datagram(&srv, &pkt, 1000000, &out);
	}
	/* Let every transaction end, so state does not pile up across inputs. */
	now += 10 * 60 * 1000;
	sip_server_tick(&srv, now);
	return 0;
}
