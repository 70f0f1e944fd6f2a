#include "daemon/demo.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "core/atomicfile.h"
#include "core/log.h"
#include "core/rand.h"
#include "store/htpasswd.h"
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

int
web_admin_prepare(const struct config *cfg)
{
	char pass[25], hash[HTP_MAX_HASH], text[HTP_MAX_HASH + PATH_MAX + 200], err[512];
	struct stat st;

	if (!cfg->http.enabled || stat(cfg->http.user_file, &st) == 0)
		return 0; /* never overwrite: an admin was made, or the file is the operator's */
	if (errno != ENOENT) {
		log_err("AuthUserFile %s: %s", cfg->http.user_file, strerror(errno));
		return -1;
	}
	/* 96 bits, in characters every keyboard has (no admin/admin, ever). */
	rand_hex(pass, 12);
	if (!htp_hash(HTP_BCRYPT, 10, 0, pass, strlen(pass), hash, sizeof(hash), err,
	    sizeof(err))) {
		log_err("cannot hash the first admin's password: %s", err);
		return -1;
	}
	snprintf(text, sizeof(text), "# Made by pbxguard at its first start. Manage with: "
	    "pbxguard htpasswd %s USER\nadmin:%s\n", cfg->http.user_file, hash);
	if (atomicfile_write(cfg->http.user_file, text, strlen(text), 0600, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return -1;
	}
	printf("pbxguard: created %s with the web admin (shown only now):\n"
	    "    user admin  password %s\n"
	    "    change it with: pbxguard htpasswd %s admin\n", cfg->http.user_file, pass,
	    cfg->http.user_file);
	fflush(stdout);
	OPENSSL_cleanse(pass, sizeof(pass));
	return 0;
}
