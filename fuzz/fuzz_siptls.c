/*
 * The TLS framing path: the input is written by a TLS client into a real
 * OpenSSL session with our server context (tls_server_ctx, the daemon's
 * policy), read back decrypted by the server side, and framed and handled
 * as the TLS listener does — with a verified client certificate's subjects,
 * so the certificate rules run too. One session serves every input, as one
 * long-lived phone connection would: leftovers carry over.
 */
#include <stdio.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/tls.h"
#include "sipfuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static SSL *cli, *srv;
static char carry[65536 * 2];
static size_t ncarry;
static const struct tls_subjects peer = { 2, { "sip:user1@example.org", "example.org" } };

/* Moves every pending byte between the two ends; false if nothing moved. */
static bool
pump(BIO *a, BIO *b)
{
	char buf[16384];
	bool moved = false;
	int n;
	while ((n = BIO_read(a, buf, sizeof(buf))) > 0) {
		if (BIO_write(b, buf, n) != n)
			abort();
		moved = true;
	}
	return moved;
}

static BIO *cnet, *snet; /* the "network" ends of the two BIO pairs */

static void
shuttle(void)
{
	for (;;) {
		bool up = pump(cnet, snet), down = pump(snet, cnet);
		if (!up && !down)
			break;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/pbxguard-fuzz-tls.XXXXXX", cert[64], key[64], err[512];
	(void)argc;
	(void)argv;
	sipfuzz_init();
	if (!mkdtemp(dir))
		abort();
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	const char *names[] = { "localhost" };
	struct tls_files f = { cert, key, "", "", false, names, 1 };
	SSL_CTX *sctx;
	if (tls_prepare(&f, err, sizeof(err)) < 0 || !(sctx = tls_server_ctx(&f, err, sizeof(err))))
		abort();
	unlink(cert);
	unlink(key);
	rmdir(dir);
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	BIO *cint, *sint;
	if (!cctx || !BIO_new_bio_pair(&cint, 65536, &cnet, 65536) ||
	    !BIO_new_bio_pair(&sint, 65536, &snet, 65536))
		abort();
	cli = SSL_new(cctx);
	srv = SSL_new(sctx);
	SSL_set_bio(cli, cint, cint);
	SSL_set_bio(srv, sint, sint);
	SSL_set_connect_state(cli);
	SSL_set_accept_state(srv);
	for (int i = 0; i < 100 && !(SSL_is_init_finished(cli) && SSL_is_init_finished(srv)); i++) {
		SSL_do_handshake(cli);
		SSL_do_handshake(srv);
		shuttle();
	}
	if (!SSL_is_init_finished(srv))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		size_t chunk = size - off > 8192 ? 8192 : size - off;
		if (SSL_write(cli, data + off, (int)chunk) != (int)chunk)
			abort();
		off += chunk;
		shuttle();
		int n;
		while ((n = SSL_read(srv, carry + ncarry, (int)(sizeof(carry) - ncarry))) > 0) {
			ncarry += (size_t)n;
			bool bad;
			struct slice left = sipfuzz_stream((struct slice){ carry, ncarry }, "TLS", &peer,
			    &bad);
			/* Lost framing closes the connection: the next input starts afresh,
			 * as a new connection would. An incomplete tail waits for more. */
			ncarry = bad || left.n > sizeof(carry) / 2 ? 0 : left.n;
			memmove(carry, left.p, ncarry);
		}
		/* Answers travel back and are read, so the pipes never fill. */
		if (sipfuzz_out.n)
			SSL_write(srv, sipfuzz_out.buf, (int)sipfuzz_out.n);
		shuttle();
		char sink[16384];
		while (SSL_read(cli, sink, sizeof(sink)) > 0)
			;
	}
	return 0;
}
