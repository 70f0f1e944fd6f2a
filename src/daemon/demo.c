#include "daemon/demo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "core/atomicfile.h"
#include "core/log.h"
#include "core/rand.h"
#include "store/userdb.h"

#define DEMO_USER "1000"
#define DEMO_DOMAIN "localhost"

int
demo_prepare(const struct config *cfg)
{
	char pass[17], line[1024], text[1200], err[512];
	struct stat st;

	if (stat(cfg->file_path, &st) == 0)
		return 0; /* never overwrite: the demo account was made before */
	rand_hex(pass, 8);
	if (!userdb_format_line(slice_cstr(DEMO_USER), slice_cstr(DEMO_DOMAIN), slice_cstr(pass),
	    false, NULL, NULL, line, sizeof(line))) {
		log_err("cannot format the demo account");
		return -1;
	}
	snprintf(text, sizeof(text),
	    "version:1\n"
	    "# Created by pbxguard's embedded default. Manage with: pbxguard userdb\n"
	    "%s\n", line);
	if (atomicfile_write(cfg->file_path, text, strlen(text), 0600, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return -1;
	}
	/* Printed once, to the terminal only: the file keeps hashes. */
	printf("pbxguard: created %s with a demo account (shown only now):\n"
	    "    user %s@%s  password %s\n", cfg->file_path, DEMO_USER, DEMO_DOMAIN, pass);
	fflush(stdout);
	OPENSSL_cleanse(pass, sizeof(pass));
	return 0;
}
