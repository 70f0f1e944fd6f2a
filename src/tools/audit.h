/*
 * pbxguard audit: findings about pbxguard's own configuration, stores,
 * keys and certificates and about an Asterisk configuration directory,
 * each with its severity, place and fix; and the fixes --fix can make.
 */
#ifndef PBX_AUDIT_H
#define PBX_AUDIT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/config.h"
#include "guard/pwpolicy.h"

enum audit_sev { SEV_CRITICAL, SEV_HIGH, SEV_MEDIUM, SEV_LOW, SEV_N };

/* What --fix can do about a finding. */
enum audit_fixkind {
	FIX_NONE,
	FIX_SECRET,		/* a new secret for the value on line (Asterisk syntax) */
	FIX_PIN,		/* a new PIN: the first field of a voicemail.conf value */
	FIX_USERDB,		/* a new password for a userdb entry (same hash forms) */
	FIX_HTPASSWD,		/* a new password for an htpasswd user (bcrypt) */
	FIX_MODE,		/* chmod to mode */
	FIX_SET,		/* key = value: on line, or added after the header at_line */
	FIX_ADD_SECRET,		/* secret = <new> added after the header at_line */
};

struct audit_finding {
	enum audit_sev sev;
	char check[32];		/* a stable name: weak-secret, file-mode, ... */
	char file[PATH_MAX];
	unsigned line;		/* 0: the whole file */
	char what[512];
	char fix[256];
	/* For --fix */
	enum audit_fixkind kind;
	char account[128];	/* whose secret; the policy's user */
	char extension[80];	/* the policy's extension (or the mailbox) */
	char domain[128];	/* the policy's domain / realm */
	mode_t mode;		/* FIX_MODE */
	char key[32], value[64];	/* FIX_SET */
	unsigned at_line;	/* FIX_SET with line 0, FIX_ADD_SECRET: the [section] line */
	bool fixed;
	char fixed_how[PATH_MAX + 640];
};

struct audit {
	const struct config *cfg;
	const struct pwpolicy *pol;
	struct audit_finding *f;
	size_t n, cap;
	unsigned files;		/* files read */
	bool oom;
};

/* Adds a finding; the returned one may be filled further (NULL: no memory). */
struct audit_finding *audit_add(struct audit *a, enum audit_sev sev, const char *check,
    const char *file, unsigned line, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
const char *audit_sev_name(enum audit_sev s);

/* Makes f fixable by setting key = value (on f->line, or added after the
 * section header at_line when f->line is 0). */
void audit_fix_set(struct audit_finding *f, const char *key, const char *value,
    unsigned at_line);

/* A secret through the policy: a finding (weak-secret) when it fails. */
void audit_secret(struct audit *a, enum audit_sev sev, const char *file, unsigned line,
    enum audit_fixkind kind, const char *secret, const char *account, const char *extension,
    const char *domain, const char *label);
/* A file that holds secrets: readable by others (or group-writable). */
void audit_secret_file_mode(struct audit *a, const char *path, const char *what);

/* audit_own.c: pbxguard's own configuration, stores, keys and certificates. */
void audit_own(struct audit *a);
/* audit_ast.c: an Asterisk configuration directory. iax.conf and
 * manager.conf parts are also used for pbxguard's files in those formats. */
void audit_asterisk(struct audit *a, const char *dir);
void audit_manager_conf(struct audit *a, const char *path, bool own);
void audit_iax_conf(struct audit *a, const char *path, bool own);

/*
 * audit_fix.c: every fixable finding fixed, file by file: new contents made
 * in memory, the new secrets written once to secrets_out (0600, never over
 * an existing file), then each file renamed over (its old inode kept as
 * FILE.pbxguard-TIME.bak). -1 with err when nothing could start.
 */
int audit_fix(struct audit *a, const char *secrets_out, char *err, size_t errsz);

#endif
