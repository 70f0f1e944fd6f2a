/* The audit's findings list, and the checks every file kind shares. */
#include "tools/audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *
audit_sev_name(enum audit_sev s)
{
	static const char *const names[] = { "critical", "high", "medium", "low" };
	return s < SEV_N ? names[s] : "?";
}

struct audit_finding *
audit_add(struct audit *a, enum audit_sev sev, const char *check, const char *file,
    unsigned line, const char *fix, const char *fmt, ...)
{
	va_list ap;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct audit_finding *f = realloc(a->f, cap * sizeof(*f));
		if (!f) {
			a->oom = true;
			return NULL;
		}
		a->f = f;
		a->cap = cap;
	}
	struct audit_finding *f = &a->f[a->n++];
	memset(f, 0, sizeof(*f));
	f->sev = sev;
	snprintf(f->check, sizeof(f->check), "%s", check);
	snprintf(f->file, sizeof(f->file), "%s", file ? file : "");
	f->line = line;
	snprintf(f->fix, sizeof(f->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
	return f;
}

void
audit_secret(struct audit *a, enum audit_sev sev, const char *file, unsigned line,
    enum audit_fixkind kind, const char *secret, const char *account, const char *extension,
    const char *domain, const char *label)
{
	struct pw_verdict v;
	char why[1024];
	bool ok;

	if (kind == FIX_PIN) {
		ok = pwpolicy_check_pin(a->pol, secret, strlen(secret), extension, &v);
	} else {
		struct pw_context who = { account, extension, domain, domain };
		ok = pwpolicy_check(a->pol, secret, strlen(secret), &who, &v);
	}
	if (ok)
		return;
	/* What a scanner tries first (empty, the name, the list) is critical. */
	if (v.first_guess)
		sev = SEV_CRITICAL;
	pw_verdict_str(&v, why, sizeof(why));
	struct audit_finding *f = audit_add(a, sev, kind == FIX_PIN ? "weak-pin" : "weak-secret",
	    file, line, kind == FIX_NONE ? "choose a new one that passes `pbxguard policy check`" :
	    "a new generated one (pbxguard audit --fix)", "%s: %s", label, why);
	if (!f)
		return;
	f->kind = kind;
	snprintf(f->account, sizeof(f->account), "%s", account ? account : "");
	snprintf(f->extension, sizeof(f->extension), "%s", extension ? extension : "");
	snprintf(f->domain, sizeof(f->domain), "%s", domain ? domain : "");
}

void
audit_secret_file_mode(struct audit *a, const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return;
	a->files++;
	if (!(st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)))
		return;
	/* The seed's advice: 640 at most, the group being the reader's. */
	mode_t want = st.st_mode & 0750 & ~(mode_t)S_IWGRP;
	struct audit_finding *f = audit_add(a, (st.st_mode & S_IROTH) ? SEV_HIGH : SEV_MEDIUM,
	    "file-mode", path, 0, "chmod o-rwx,g-w (pbxguard audit --fix does it)",
	    "%s is mode %03o: %s", what, (unsigned)(st.st_mode & 07777),
	    (st.st_mode & S_IROTH) ? "every local user can read the secrets" :
	    "others can change it");
	if (f) {
		f->kind = FIX_MODE;
		f->mode = want;
	}
}

void
audit_fix_set(struct audit_finding *f, const char *key, const char *value, unsigned at_line)
{
	if (!f)
		return;
	f->kind = FIX_SET;
	snprintf(f->key, sizeof(f->key), "%s", key);
	snprintf(f->value, sizeof(f->value), "%s", value);
	f->at_line = at_line;
	snprintf(f->fix, sizeof(f->fix), "%s = %s (pbxguard audit --fix does it)", key, value);
}
