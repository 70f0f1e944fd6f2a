/*
 * pbxguard audit [-c CONF] [--asterisk DIR] [--json] [--fix [--secrets-out F]]
 *
 * Findings grouped by severity, each with its place and its fix; --json
 * for machines. Exit 0: nothing critical or high (left); 1: something is;
 * 2: the audit itself could not run.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/json.h"
#include "daemon/cmds.h"
#include "tools/audit.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pbxguard audit [-c CONF] [--asterisk DIR] [--json] [--fix [--secrets-out FILE]]\n"
	    "  -c, --config CONF   pbxguard's configuration (default: $PBXGUARD_CONFIG,\n"
	    "                      /etc/pbxguard/pbxguard.conf, or the embedded default)\n"
	    "  --asterisk DIR      also audit Asterisk's sip.conf, pjsip.conf, iax.conf,\n"
	    "                      manager.conf, voicemail.conf and http.conf in DIR\n"
	    "  --json              findings as JSON on stdout\n"
	    "  --fix               replace every weak secret and PIN by a generated one and\n"
	    "                      tighten file modes; each file rewritten atomically, the old\n"
	    "                      one kept as FILE.pbxguard-TIME.bak\n"
	    "  --secrets-out FILE  where --fix writes the new secrets, once, mode 0600\n"
	    "                      (default: STATEDIR/audit-fix-TIME.secrets)\n"
	    "Exit status: 0 nothing critical or high (left), 1 something is, 2 error.\n");
}

static bool
serious_left(const struct audit *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->f[i].sev <= SEV_HIGH && !a->f[i].fixed)
			return true;
	return false;
}

static void
print_people(const struct audit *a, bool fixing)
{
	size_t count[SEV_N] = { 0 };
	for (size_t i = 0; i < a->n; i++)
		count[a->f[i].sev]++;
	printf("pbxguard audit: %u file%s read: %zu critical, %zu high, %zu medium, %zu low\n",
	    a->files, a->files == 1 ? "" : "s", count[SEV_CRITICAL], count[SEV_HIGH],
	    count[SEV_MEDIUM], count[SEV_LOW]);
	for (int s = 0; s < SEV_N; s++) {
		if (!count[s])
			continue;
		char name[16];
		snprintf(name, sizeof(name), "%s", audit_sev_name((enum audit_sev)s));
		for (char *p = name; *p; p++)
			*p = (char)(*p - 'a' + 'A');
		printf("\n%s\n", name);
		for (size_t i = 0; i < a->n; i++) {
			const struct audit_finding *f = &a->f[i];
			if ((int)f->sev != s)
				continue;
			if (f->line)
				printf("  %s:%u: %s\n", f->file, f->line, f->what);
			else
				printf("  %s: %s\n", f->file, f->what);
			if (fixing && f->fixed_how[0])
				printf("      %s: %s\n", f->fixed ? "fixed" : "left", f->fixed_how);
			else
				printf("      fix: %s\n", f->fix);
		}
	}
	if (a->n == 0)
		printf("nothing found\n");
}

static void
print_json(const struct audit *a, const char *secrets)
{
	struct dbuf b;
	struct json j;
	size_t count[SEV_N] = { 0 };

	for (size_t i = 0; i < a->n; i++)
		count[a->f[i].sev]++;
	dbuf_init(&b, 64u << 20);
	json_init(&j, &b);
	json_obj(&j, NULL);
	json_uint(&j, "files", a->files);
	json_obj(&j, "counts");
	for (int s = 0; s < SEV_N; s++)
		json_uint(&j, audit_sev_name((enum audit_sev)s), count[s]);
	json_end_obj(&j);
	json_bool(&j, "serious", serious_left(a));
	if (secrets)
		json_cstr(&j, "secrets_file", secrets);
	json_arr(&j, "findings");
	for (size_t i = 0; i < a->n; i++) {
		const struct audit_finding *f = &a->f[i];
		json_obj(&j, NULL);
		json_cstr(&j, "severity", audit_sev_name(f->sev));
		json_cstr(&j, "check", f->check);
		json_cstr(&j, "file", f->file);
		json_uint(&j, "line", f->line);
		json_cstr(&j, "what", f->what);
		json_cstr(&j, "fix", f->fix);
		json_bool(&j, "fixable", f->kind != FIX_NONE);
		json_bool(&j, "fixed", f->fixed);
		if (f->fixed_how[0])
			json_cstr(&j, "result", f->fixed_how);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	json_end_obj(&j);
	if (!b.failed)
		printf("%.*s\n", (int)b.n, b.p);
	dbuf_free(&b);
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "asterisk", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "fix", no_argument, NULL, 'f' },
		{ "secrets-out", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *astdir = NULL, *secrets = NULL;
	bool json = false, fix = false;
	char secrets_buf[PATH_MAX + 64], err[512];
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'a': astdir = optarg; break;
		case 'j': json = true; break;
		case 'f': fix = true; break;
		case 's': secrets = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (secrets && !fix)) {
		usage(stderr);
		return 2;
	}
	struct config cfg;
	if (tool_load_config(conf, &cfg) < 0)
		return 2;
	struct pwpolicy *pol = tool_policy(&cfg);
	struct audit a = { .cfg = &cfg, .pol = pol };
	if (!pol)
		goto out;
	audit_own(&a);
	if (astdir)
		audit_asterisk(&a, astdir);
	if (a.oom) {
		fprintf(stderr, "pbxguard: out of memory\n");
		goto out;
	}
	if (fix) {
		if (!secrets) {
			char stamp[32];
			time_t now = time(NULL);
			struct tm tm;
			gmtime_r(&now, &tm);
			strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
			snprintf(secrets_buf, sizeof(secrets_buf), "%s/audit-fix-%s.secrets",
			    cfg.statedir, stamp);
			secrets = secrets_buf;
		}
		if (audit_fix(&a, secrets, err, sizeof(err)) < 0) {
			fprintf(stderr, "pbxguard: audit --fix: %s; no file was changed\n", err);
			goto out;
		}
	}
	if (json)
		print_json(&a, fix ? secrets : NULL);
	else
		print_people(&a, fix);
	if (fix && !json) {
		size_t fixed = 0;
		for (size_t i = 0; i < a.n; i++)
			fixed += a.f[i].fixed;
		printf("\n%zu fixed.", fixed);
		if (access(secrets, F_OK) == 0)
			printf(" The new secrets are in %s (mode 0600).", secrets);
		printf("\nReload what reads these files: kill -HUP pbxguard; "
		    "asterisk -rx 'core reload'\n");
	}
	rc = serious_left(&a) ? 1 : 0;
out:
	free(a.f);
	pwpolicy_free(pol);
	config_free(&cfg);
	return rc;
}
