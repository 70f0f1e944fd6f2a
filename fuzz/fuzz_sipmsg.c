/*
 * The SIP parser in both framing modes, then the whole request handler
 * (URI, Via, CSeq, Contact, Authorization parsing, the guard, the registrar)
 * on whatever parsed, answering as the daemon would.
 */
#include "sipfuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sipfuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool bad;
	sipfuzz_stream((struct slice){ (const char *)data, size }, "TCP", NULL, &bad);
	struct sip_packet pkt = { { (const char *)data, size }, &sipfuzz_remote, &sipfuzz_local,
		"UDP", false, CONFIG_NO_ACL, NULL, NULL, 0, 0 };
	sip_handle_datagram(&sipfuzz_srv, &pkt, 1000000, &sipfuzz_out);
	if (sipfuzz_out.n > sizeof(sipfuzz_out.buf))
		abort();
	return 0;
}
