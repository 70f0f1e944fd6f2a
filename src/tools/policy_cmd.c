/*
 * The password policy at the command line: the gate every tool that sets
 * a secret passes through (userdb, htpasswd, import), its --force-weak
 * trail, and `pbxguard policy check` for scripts and provisioning systems.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/atomicfile.h"
#include "core/config.h"
#include "core/log.h"
#include "daemon/cmds.h"
#include "guard/pwpolicy.h"

#define SYSTEM_CONFIG "/etc/pbxguard/pbxguard.conf"

int
tool_load_config(const char *path, struct config *cfg)
{
	struct config_errors errs = { 0 };
	const char *env = getenv("PBXGUARD_CONFIG");
	int rc = 0;

	if (!path && env && *env)
		path = env;
	if (!path && access(SYSTEM_CONFIG, F_OK) == 0)
		path = SYSTEM_CONFIG;
	if (!config_load(cfg, path, &errs)) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "pbxguard: %s\n", errs.msg[i]);
		config_free(cfg);
		rc = -1;
	}
	config_errors_free(&errs);
	return rc;
}

struct pwpolicy *
tool_policy(const struct config *cfg)
{
	char warn[512], err[512];
	struct pwpolicy *p = pwpolicy_new(&cfg->pw, &cfg->pin, warn, sizeof(warn), err,
	    sizeof(err));
	if (!p)
		fprintf(stderr, "pbxguard: %s\n", err);
	else if (warn[0])
		fprintf(stderr, "pbxguard: warning: %s\n", warn);
	return p;
}

/* Appends one line to the override log: when, who, what, why. */
static int
trail(const struct config *cfg, const char *cmd, const char *file, const char *account,
    const char *why)
{
	char when[32], line[2048], su[LOG_ESCAPED_SIZE(32)], fe[LOG_ESCAPED_SIZE(256)];
	char ae[LOG_ESCAPED_SIZE(128)];
	time_t now = time(NULL);
	struct tm tm;
	const struct passwd *pw = getpwuid(getuid());
	const char *sudo = getenv("SUDO_USER");

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* The file, the account and $SUDO_USER come from whoever runs the
	 * tool: escaped, so one change is one line the audit reads back. */
	if (sudo)
		log_escape(slice_cstr(sudo), su, sizeof(su));
	log_escape(slice_cstr(file ? file : "-"), fe, sizeof(fe));
	log_escape(slice_cstr(account), ae, sizeof(ae));
	int n = snprintf(line, sizeof(line), "%s uid=%u user=%s%s%s cmd=\"%s\" file=\"%s\" "
	    "account=\"%s\" reasons=\"%s\"\n", when, (unsigned)getuid(), pw ? pw->pw_name : "?",
	    sudo ? " sudo_user=" : "", sudo ? su : "", cmd, fe, ae, why);
	if (n < 0 || (size_t)n >= sizeof(line)) {	/* cut, but still one whole line */
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	mkdir_parent_of(cfg->pw.override_log, 0700);
	int fd = open(cfg->pw.override_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fd_write_all(fd, line, (size_t)n) < 0 || fsync(fd) != 0) {
		fprintf(stderr, "pbxguard: cannot write the override log %s: %s\n",
		    cfg->pw.override_log, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
tool_policy_gate(const struct config *cfg, const struct pwpolicy *p, const char *secret,
    const struct pw_context *who, bool force_weak, const char *cmd, const char *file,
    const char *account)
{
	struct pw_verdict v;
	char why[1024];

	if (pwpolicy_check(p, secret, strlen(secret), who, &v))
		return 0;
	pw_verdict_str(&v, why, sizeof(why));
	if (!pwpolicy_enforced(p)) {
		fprintf(stderr, "pbxguard: warning: the password policy advises against this "
		    "password for %s: %s\n", account, why);
		return 0;
	}
	if (!force_weak) {
		fprintf(stderr, "pbxguard: password refused for %s:\n", account);
		for (size_t i = 0; i < v.n; i++)
			fprintf(stderr, "  - %s\n", v.why[i]);
		fprintf(stderr, "pbxguard: choose another ([password-policy] in pbxguard.conf(5)), "
		    "or pass --force-weak to set it anyway (logged to %s)\n",
		    cfg->pw.override_log);
		return -1;
	}
	if (trail(cfg, cmd, file, account, why) < 0)
		return -1;	/* no override without its trace */
	fprintf(stderr, "pbxguard: warning: weak password set for %s with --force-weak (%s); "
	    "logged to %s\n", account, why, cfg->pw.override_log);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pbxguard policy check [-c FILE] [--pin] [--user U] [--extension E]\n"
	    "                             [--domain D] [--realm R] [--mailbox M]\n"
	    "Reads one secret per line from stdin and says, for each, \"ok\" or every\n"
	    "reason it is refused. Exit 0 when all were acceptable, 1 otherwise.\n");
}

int
cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin", no_argument, NULL, 'P' },
		{ "user", required_argument, NULL, 'u' },
		{ "extension", required_argument, NULL, 'e' },
		{ "domain", required_argument, NULL, 'd' },
		{ "realm", required_argument, NULL, 'r' },
		{ "mailbox", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pw_context who = { 0 };
	const char *conf = NULL, *mailbox = NULL;
	bool pin = false;
	int c, rc = 0;

	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'P': pin = true; break;
		case 'u': who.user = optarg; break;
		case 'e': who.extension = optarg; break;
		case 'd': who.domain = optarg; break;
		case 'r': who.realm = optarg; break;
		case 'm': mailbox = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	struct config cfg;
	if (tool_load_config(conf, &cfg) < 0)
		return 2;
	struct pwpolicy *p = tool_policy(&cfg);
	if (!p) {
		config_free(&cfg);
		return 2;
	}
	char line[4200];
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strcspn(line, "\r\n");
		struct pw_verdict v;
		char why[1024];
		line[n] = '\0';
		bool ok = pin ? pwpolicy_check_pin(p, line, n, mailbox, &v) :
		    pwpolicy_check(p, line, n, &who, &v);
		if (ok) {
			printf("ok\n");
		} else {
			printf("refused: %s\n", pw_verdict_str(&v, why, sizeof(why)));
			rc = 1;
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	pwpolicy_free(p);
	config_free(&cfg);
	return rc;
}
