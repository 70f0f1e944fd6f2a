/* pbxguard.conf through libinih and our key table, via a memfd. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct config_errors e = { 0 };
	char path[64];
	int fd = memfd_create("conf", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	bool ok = config_load(&c, path, &e);
	if (ok && e.n)
		abort();
	if (!ok && e.n == 0)
		abort(); /* a refusal always says why */
	config_free(&c);
	config_errors_free(&e);
	close(fd);
	return 0;
}
